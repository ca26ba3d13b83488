"""Match incoming bank transfers to open receivables, with a confidence and the rule that matched.

Rules, strongest first:

1. ``reference``: a payment reference ("CB-7K4Q-2") of an open receivable anywhere in the transfer's texts.
2. ``invoice_number`` / ``order_number``: the receivable's invoice or order number in the texts, checked
   against the amount (and the payer's name or IBAN where the amount differs).
3. ``amount_iban`` / ``amount_name``: no number at all; the amount (equal, short by bank fees, slightly over,
   or a part) together with an IBAN this buyer paid from before (in an earlier statement, or earlier in this
   run in a transfer that named the buyer's receivable), or the payer's name resembling the debtor's
   (umlauts folded, "Schmidt, Anna" = "Anna Schmidt", titles and company forms dropped, typos tolerated).
4. ``sum_of_open``: one buyer's open receivables that add up to the amount.

Several receivables mentioned in one transfer share its amount (equal to their sum: all settled; less:
oldest due first). Every proposal says how it allocates the money, how sure it is (0-1) and why. A
proposal is automatic when its confidence reaches the threshold and it is not ambiguous: when two
receivables (or two readings of the transfer) are about equally likely, the text mentions a reference
that is no longer open (a double payment), or the text names one receivable while the payer (name or known
IBAN) and the exact amount fit another open receivable (conflicting evidence), a person decides.

The run is order-aware: automatic allocations reduce what is left open, so a second transfer for an invoice
that the first already settled is not applied again. Transfers that mention a receivable are matched before
the rest, so a name-and-amount guess never takes an invoice that another transfer names. Amounts are handled
in cents (two decimal places, as for EUR).

Every lookup goes through an index (reference, number, IBAN, exact amount, name word with its amounts in
sorted order), so a run costs about O(transactions x candidates), never O(transactions x receivables).
"""

from __future__ import annotations

import bisect
import itertools
import sys
from array import array
from collections.abc import Collection, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar

from rapidfuzz import fuzz

from backend.payments.references import NumberFinder, find_references
from backend.payments.statements import BankTransaction
from backend.risk.identity import fold

ReceivableId = Hashable
K = TypeVar("K")

# Words that say nothing about who paid: salutations, titles, legal forms, joiners.
_NAME_NOISE = frozenset(
    [
        "herr",
        "frau",
        "hr",
        "fr",
        "dr",
        "prof",
        "dipl",
        "ing",
        "und",
        "and",
        "firma",
        "fa",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "ug",
        "ohg",
        "gbr",
        "ek",
        "ev",
        "eg",
        "co",
        "kgaa",
        "se",
        "partg",
        "haftungsbeschraenkt",
        "ltd",
        "limited",
        "inc",
        "llc",
        "plc",
        "sarl",
        "sas",
        "srl",
        "spa",
        "bv",
        "nv",
    ]
)
# "Müller" is folded to "mueller" on one side and arrives as "MULLER" on the other: compare a skeleton.
_SKELETON = (("ae", "a"), ("oe", "o"), ("ue", "u"), ("ss", "s"))

STRONG_NAME = 92
GOOD_NAME = 85
WEAK_NAME = 75
_TIE_MARGIN = 0.05
_MAX_IBAN_OWNERS = 20  # an IBAN shared by more buyers is a payment provider's, not a buyer's
_MAX_AMOUNT_SCAN = 64  # receivables of one amount checked on amount alone
_MAX_WINDOW_SCAN = 200  # receivables per name word inside the amount window
_MAX_BUYER_SCAN = 64  # receivables per name word read for partial payments and sums
_MAX_SUM_PARTS = 12
_MAX_ALTERNATIVES = 5
_GOOD_LEVEL = 2  # ``_name_level`` of a GOOD_NAME
_IBAN_LEVEL = 4  # a candidate's payer level when its buyer paid from the IBAN before


class MatchRule(StrEnum):
    """The rule a proposal rests on."""

    REFERENCE = "reference"
    INVOICE_NUMBER = "invoice_number"
    ORDER_NUMBER = "order_number"
    AMOUNT_IBAN = "amount_iban"
    AMOUNT_NAME = "amount_name"
    SUM_OF_OPEN = "sum_of_open"
    UNMATCHED = "unmatched"


EXPLICIT_RULES = frozenset({MatchRule.REFERENCE, MatchRule.INVOICE_NUMBER, MatchRule.ORDER_NUMBER})


class _Fit(StrEnum):
    """How a transfer's amount relates to what is open."""

    EQUAL = "equal"
    SHORT = "short by bank fees"
    OVER_SLIGHTLY = "slightly over"
    PART = "part payment"
    OVER = "over"


@dataclass(frozen=True, slots=True)
class OpenReceivable:
    """What the matcher needs to know about one open receivable."""

    id: ReceivableId
    payment_reference: str
    invoice_number: str
    order_number: str
    open_amount: Decimal
    currency: str
    debtor_names: tuple[str, ...]
    known_ibans: frozenset[str] = frozenset()
    due_date: date | None = None
    buyer: str = ""  # the buyer's key (receivables of one buyer share it); "" when unknown


@dataclass(frozen=True, slots=True)
class Allocation:
    """Money of one transfer credited to one receivable."""

    receivable_id: ReceivableId
    amount: Decimal


@dataclass(frozen=True, slots=True)
class MatchProposal:
    """What to do with one incoming transfer."""

    transaction_id: str
    rule: MatchRule
    confidence: float
    allocations: tuple[Allocation, ...]
    unallocated: Decimal
    explanation: str
    ambiguous: bool
    automatic: bool
    alternatives: tuple[ReceivableId, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """Tolerances and the merchant's threshold for applying a match without review."""

    auto_threshold: float = 0.9
    fee_tolerance: Decimal = Decimal("15.00")  # an underpayment up to this is "full amount less bank fees"
    fee_share: Decimal = Decimal("0.10")  # ... and at most this share of the open amount
    overpayment_tolerance: Decimal = Decimal("1.00")  # rounding up ("100.00" for 99.95)


def _cents(amount: Decimal) -> int:
    return int(amount.scaleb(2).to_integral_value())


def _euros(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


# A buyer's receivables come together and few payers' names repeat: a cache of every name held 40 MiB per 100,000.
@lru_cache(maxsize=4096)
def comparable_name(name: str) -> str:
    """Return the comparable words of a person's or company's name, sorted and joined by single spaces."""
    words = []
    for word in fold(name).split():
        if len(word) < 2 or word in _NAME_NOISE:
            continue
        for written, plain in _SKELETON:
            word = word.replace(written, plain)
        words.append(word)
    return " ".join(sorted(words))


def name_similarity(first: str, second: str) -> float:
    """Score two ``comparable_name``s from 0 to 100, word order and extra words tolerated."""
    if not first or not second:
        return 0.0
    # Their words are sorted already (and ASCII, as ``fold`` leaves them): their ratio is the token sort ratio.
    score = fuzz.ratio(first, second)
    if " " in first and " " in second:
        # "Anna Maria Schmidt" is "Anna Schmidt"; needs two words each so "Schmidt" is not "Hans Schmidt".
        score = max(score, fuzz.token_set_ratio(first, second))
    return score


@dataclass(slots=True)
class _Candidate:
    index: int
    confidence: float
    rule: MatchRule
    fit: _Fit
    payer: int  # how well the payer fits: name level 0-3, 4 for an IBAN paid from before
    name: float  # the payer's name similarity
    remaining: int  # cents open when scored


@dataclass(slots=True)
class _Result:
    rule: MatchRule
    confidence: float
    parts: list[int]  # receivable indexes
    reason: str
    ambiguous: bool = False
    alternatives: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Transfer:
    """An incoming payment as the matcher keeps it between reading and proposing: what matching and booking
    it need (its texts are read once and dropped, so a whole statement's transfers fit in memory)."""

    position: int
    transaction_id: str
    booking_date: date
    currency: str
    counterparty_name: str
    counterparty_iban: str
    cents: int
    name: str  # the payer's ``comparable_name``
    references: tuple[int, ...]
    dead_references: tuple[str, ...]
    numbers: tuple[tuple[int, MatchRule], ...]

    @property
    def mentions(self) -> bool:
        """Tell whether the texts name a receivable (such transfers are matched first)."""
        return bool(self.references or self.numbers or self.dead_references)


class PaymentMatcher:
    """Index open receivables once, then propose matches for incoming transfers."""

    def __init__(self, receivables: Iterable[OpenReceivable], settings: MatchSettings | None = None) -> None:
        self.settings = settings or MatchSettings()
        self._overpayment_cents = _cents(self.settings.overpayment_tolerance)
        self._fee_cents = _cents(self.settings.fee_tolerance)
        # Column by column, not the receivables themselves: a hundred thousand of them must fit in memory
        # beside a statement's transfers (issue 19), so only what matching reads is kept, once.
        self._receivable_ids: list[ReceivableId] = []
        self._references: list[str] = []
        self._invoice_numbers: list[str] = []
        self._order_numbers: list[str] = []
        self._currencies: list[str] = []
        self._due_dates: list[date | None] = []
        self._names: list[tuple[str, ...]] = []  # each receivable's debtor names as ``comparable_name``
        self._remaining: list[int] = []
        # Each receivable's buyer as a number (-1: unknown), and the receivables of buyers with several.
        self._buyers = array("q")
        by_buyer: dict[int, int | list[int]] = {}
        # The open receivables of buyers an IBAN paid by reference or number in this run, by IBAN (see ``_post``).
        self._learned: dict[str, int | list[int]] = {}
        self._by_reference: dict[str, int] = {}
        # A number's receivables: the receivable's index for its invoice number, ``~index`` for its order number.
        # Nearly every number names one, kept as that int; a tuple only for several (two tuples per number
        # cost 20 MiB per 100,000).
        self._by_number: dict[str, int | tuple[int, ...]] = {}
        # Most IBANs and amounts belong to one receivable: its index alone, a list only for several.
        self._by_iban: dict[str, int | list[int]] = {}
        self._by_cents: dict[int, int | list[int]] = {}
        by_word: dict[str, list[int]] = {}
        days: dict[date | None, date | None] = {}  # one object per due date, not one per receivable
        buyers: dict[str, int] = {}
        for index, receivable in enumerate(receivables):
            self._receivable_ids.append(receivable.id)
            self._references.append(receivable.payment_reference)
            self._invoice_numbers.append(receivable.invoice_number)
            self._order_numbers.append(receivable.order_number)
            self._currencies.append(sys.intern(receivable.currency))
            self._due_dates.append(days.setdefault(receivable.due_date, receivable.due_date))
            names = tuple(comparable_name(name) for name in receivable.debtor_names)
            self._names.append(names)
            cents = _cents(receivable.open_amount)
            self._remaining.append(cents)
            buyer = buyers.setdefault(receivable.buyer, len(buyers)) if receivable.buyer else -1
            self._buyers.append(buyer)
            if buyer >= 0:
                _post(by_buyer, buyer, index)
            if receivable.payment_reference:
                self._by_reference[receivable.payment_reference] = index
            for owner, number in ((index, receivable.invoice_number), (~index, receivable.order_number)):
                if number:
                    known = self._by_number.get(number)
                    if known is None:
                        self._by_number[number] = owner
                    else:
                        self._by_number[number] = (*(known if isinstance(known, tuple) else (known,)), owner)
            for iban in receivable.known_ibans:
                _post(self._by_iban, iban, index)
            _post(self._by_cents, cents, index)
            for word in {word for name in names for word in name.split()}:
                by_word.setdefault(word, []).append(index)
        self._numbers = NumberFinder(self._by_number)
        self._by_buyer = {buyer: indexes for buyer, indexes in by_buyer.items() if isinstance(indexes, list)}
        del by_buyer
        # Per name word its receivables by open amount (then index, as they were added), for amount windows.
        self._word_cents: dict[str, tuple[list[int], list[int]]] = {}
        remaining = self._remaining
        for word, indexes in by_word.items():
            indexes.sort(key=remaining.__getitem__)
            self._word_cents[word] = ([remaining[index] for index in indexes], indexes)

    def match(self, transactions: Iterable[BankTransaction]) -> list[MatchProposal]:
        """Propose a match for every incoming payment, in input order; other bookings are skipped."""
        transfers = [
            self.read(position, transaction)
            for position, transaction in enumerate(transactions)
            if transaction.is_incoming_payment
        ]
        proposals = {transfer.position: proposal for transfer, proposal in self.propose(transfers)}
        return [proposals[transfer.position] for transfer in transfers]

    def propose(self, transfers: Iterable[Transfer]) -> Iterator[tuple[Transfer, MatchProposal]]:
        """Propose matches for transfers ``read`` before, in the order matching takes them (see the module)."""
        mentioning, others = [], []
        for transfer in transfers:
            (mentioning if transfer.mentions else others).append(transfer)
        del transfers  # a caller that drops its list as well lets each transfer go once it is proposed
        ordered = sorted(mentioning, key=_booking_order) + sorted(others, key=_booking_order)
        del mentioning, others
        ordered.reverse()
        while ordered:
            transfer = ordered.pop()
            yield transfer, self._propose(transfer)

    # reading a transfer ----------------------------------------------------------------------------------

    def read(self, position: int, transaction: BankTransaction) -> Transfer:
        """Read what an incoming payment's texts mention; ``position`` orders transfers of one booking day."""
        texts = [
            transaction.remittance,
            transaction.end_to_end_id,
            transaction.creditor_reference,
            transaction.additional_info,
        ]
        references: list[int] = []
        dead: list[str] = []
        searched = " \n".join([*texts, transaction.counterparty_name])
        for mention in find_references(searched):
            found = [
                (self._by_reference[r], end)
                for r, end in zip(mention.readings, mention.ends, strict=True)
                if r in self._by_reference
            ]
            if found:
                references.extend(index for index, _ in found if index not in references)
            elif mention.word_start:  # inside a word it is more likely chance than a reference
                dead.append(mention.readings[0])
            # A reference's digits must not be read again as an invoice or order number.
            end = found[0][1] if found else mention.ends[0]
            searched = searched[: mention.start] + " " * (end - mention.start) + searched[end:]
        numbers = [
            (index, rule)
            for number in sorted(self._numbers.find(searched))
            for index, rule in self._number_owners(number)
            if index not in references
        ]
        return Transfer(
            position=position,
            transaction_id=transaction.transaction_id,
            booking_date=transaction.booking_date,
            currency=sys.intern(transaction.currency),
            counterparty_name=transaction.counterparty_name,
            counterparty_iban=transaction.counterparty_iban,
            cents=_cents(transaction.amount),
            name=comparable_name(transaction.counterparty_name),
            references=tuple(references),
            dead_references=tuple(dead),
            numbers=tuple(numbers),
        )

    def _number_owners(self, number: str) -> Iterator[tuple[int, MatchRule]]:
        """Yield the receivables (index, invoice or order number rule) a known number belongs to."""
        owners = self._by_number[number]
        for owner in owners if isinstance(owners, tuple) else (owners,):
            yield (owner, MatchRule.INVOICE_NUMBER) if owner >= 0 else (~owner, MatchRule.ORDER_NUMBER)

    # deciding ---------------------------------------------------------------------------------------------

    def _propose(self, transfer: Transfer) -> MatchProposal:
        explicit = self._explicit(transfer)
        result = explicit
        if explicit is None or explicit.confidence < self.settings.auto_threshold:
            implicit = self._implicit(transfer)
            if explicit is None:
                result = implicit
            elif implicit is not None and set(implicit.parts) != set(explicit.parts):
                if implicit.confidence > explicit.confidence:
                    result = implicit
                    result.reason += f"; but the text points to {self._ids(explicit.parts)}"
                else:
                    result.reason += f"; but amount and payer point to {self._ids(implicit.parts)}"
                # Text and money disagree: only a plausible rival makes it a question for a person.
                result.ambiguous |= implicit.confidence >= explicit.confidence - 2 * _TIE_MARGIN
                result.alternatives = [*explicit.parts, *implicit.parts]
        elif (rival := self._payer_elsewhere(transfer, explicit)) is not None:
            # The text names one receivable, the payer and the exact amount another: applying it to the named
            # one would leave the real payer dunned for a paid invoice. A person decides.
            result.ambiguous = True
            result.reason += (
                f"; but payer and exact amount point to {self._ids([rival.index])} ({self._reason(rival)})"
            )
            result.alternatives = [*result.alternatives, rival.index]
        if result is None:
            return self._proposal(transfer, _Result(MatchRule.UNMATCHED, 0.0, [], "no open receivable fits"))
        settled = [self._references[i] for i in transfer.references if self._remaining[i] <= 0]
        not_open = [*transfer.dead_references, *settled]
        if not_open and not any(self._remaining[i] > 0 for i in transfer.references):
            # The payer named a receivable that is paid or gone (a double payment?): never guess another.
            result.ambiguous = True
            result.reason += f"; the text names {', '.join(not_open)}, which is not open"
        return self._proposal(transfer, result)

    def _explicit(self, transfer: Transfer) -> _Result | None:
        mentioned: dict[int, MatchRule] = {index: MatchRule.REFERENCE for index in transfer.references}
        for index, rule in transfer.numbers:
            mentioned.setdefault(index, rule)
        mentioned = {
            index: rule
            for index, rule in mentioned.items()
            if self._remaining[index] > 0 and self._currency_fits(index, transfer)
        }
        if not mentioned:
            return None
        indexes = self._by_due_date(mentioned)
        rule = min(mentioned.values(), key=list(MatchRule).index)
        only_references = all(kind is MatchRule.REFERENCE for kind in mentioned.values())
        if len(indexes) == 1:
            index = indexes[0]
            fit = self._fit(self._remaining[index], transfer.cents)
            confidence = self._explicit_single_confidence(mentioned[index], fit, transfer, index)
            return _Result(mentioned[index], confidence, [index], f"{self._mention(index, mentioned)}, {fit}")
        total = sum(self._remaining[index] for index in indexes)
        fit = self._fit(total, transfer.cents)
        mentions = "; ".join(self._mention(index, mentioned) for index in indexes)
        if fit in (_Fit.EQUAL, _Fit.SHORT, _Fit.OVER_SLIGHTLY):
            confidence = 0.99 if only_references else 0.95
            return _Result(rule, confidence, indexes, f"{mentions}; sum of open amounts {fit}")
        subsets = self._exact_subsets(indexes, transfer.cents)
        if len(subsets) == 1:
            parts = subsets[0]
            # The payer named more than was paid: a number may be a stray one, a reference hardly.
            dropped_reference = any(
                mentioned[index] is MatchRule.REFERENCE for index in indexes if index not in parts
            )
            confidence = 0.85 if dropped_reference else 0.93
            return _Result(
                min((mentioned[index] for index in parts), key=list(MatchRule).index),
                confidence,
                parts,
                f"{mentions}; the amount equals the open amounts of {self._ids(parts)}",
            )
        if len(subsets) > 1:
            return _Result(rule, 0.5, subsets[0], f"{mentions}; several of them add up to the amount", True)
        confidence = 0.85 if fit is _Fit.PART and only_references else 0.6
        return _Result(rule, confidence, indexes, f"{mentions}; amount is {fit} of their sum")

    def _payer_elsewhere(self, transfer: Transfer, explicit: _Result) -> _Candidate | None:
        """Return another receivable whose debtor paid exactly its open amount, when the named one's did not."""
        if any(
            self._iban_known(transfer, index) or self._name_score(transfer, index) >= WEAK_NAME
            for index in explicit.parts
        ):
            return None  # the payer is (or resembles) the debtor the text names: no conflict
        for candidate in self._scored_candidates(transfer, exact=True):
            if candidate.index not in explicit.parts and candidate.payer >= _GOOD_LEVEL:
                return candidate
        return None

    def _explicit_single_confidence(
        self, rule: MatchRule, fit: _Fit, transfer: Transfer, index: int
    ) -> float:
        if rule is MatchRule.REFERENCE:
            return {_Fit.EQUAL: 0.99, _Fit.SHORT: 0.96, _Fit.OVER_SLIGHTLY: 0.96, _Fit.PART: 0.95}.get(
                fit, 0.75
            )
        if fit is _Fit.EQUAL:
            return 0.96
        payer_known = self._iban_known(transfer, index) or self._name_score(transfer, index) >= GOOD_NAME
        if fit in (_Fit.SHORT, _Fit.OVER_SLIGHTLY, _Fit.PART):
            return 0.92 if payer_known else 0.7
        return 0.6

    def _implicit(self, transfer: Transfer) -> _Result | None:
        candidates = self._scored_candidates(transfer)
        best = candidates[0] if candidates else None
        if best is None or best.confidence < self.settings.auto_threshold:
            summed = self._sum_of_open(transfer)
            if summed is not None and (best is None or summed.confidence > best.confidence):
                return summed
        if best is None:
            return None
        result = _Result(best.rule, best.confidence, [best.index], self._reason(best))
        rivals = [c for c in candidates[1:] if c.confidence >= best.confidence - _TIE_MARGIN]
        if best.fit is not _Fit.EQUAL:
            # Paid near, not exactly, this amount: a part of another open receivable of the same payer is as
            # likely ("Erste Rate" of 394.75 paying 197.38 beside an open 197.16).
            rivals += [
                c for c in candidates[1:] if c.fit is _Fit.PART and c.payer >= best.payer and c not in rivals
            ]
        if rivals:
            result.ambiguous = True
            result.reason += f"; {self._ids([c.index for c in rivals])} fit as well"
        if best.fit is not _Fit.EQUAL and (summed := self._sum_of_open(transfer)) is not None:
            # ... and so is the exact sum of several of the payer's open receivables (636.73 paying three of
            # them, beside an open 644.39 of a namesake that a bank fee would explain as well).
            result.ambiguous = True
            result.reason += f"; the sum of open {self._ids(summed.parts)} of this payer fits exactly"
        result.alternatives = [c.index for c in candidates[1 : 1 + _MAX_ALTERNATIVES]]
        return result

    def _scored_candidates(self, transfer: Transfer, *, exact: bool = False) -> list[_Candidate]:
        """Score the receivables amount and payer point to, surest first; ``exact``: those open for the amount."""
        scored = []
        payers = self._payers(transfer)
        remaining_of, currencies, currency = self._remaining, self._currencies, transfer.currency
        for index in self._candidate_indexes(transfer):
            remaining = remaining_of[index]
            if remaining <= 0 or currencies[index] != currency or (exact and remaining != transfer.cents):
                continue
            fit = self._fit(remaining, transfer.cents)
            iban_known = index in payers
            name = self._name_score(transfer, index)
            name_level = _name_level(name)
            confidence = _implicit_confidence(fit, iban_known, name_level)
            if confidence <= 0:
                continue
            rule = MatchRule.AMOUNT_IBAN if iban_known else MatchRule.AMOUNT_NAME
            payer = _IBAN_LEVEL if iban_known else name_level
            scored.append(_Candidate(index, confidence, rule, fit, payer, name, remaining))
        scored.sort(key=lambda candidate: (-candidate.confidence, candidate.index))
        return scored

    def _reason(self, candidate: _Candidate) -> str:
        """Say why a candidate fits (its amount when scored, and the payer)."""
        if candidate.payer == _IBAN_LEVEL:
            evidence = "IBAN paid from before"
        else:
            evidence = f"payer name {candidate.name:.0f}% alike"
        receivable_id = self._receivable_ids[candidate.index]
        return f"amount {candidate.fit} open {_euros(candidate.remaining)} of {receivable_id!r}; {evidence}"

    def _candidate_indexes(self, transfer: Transfer) -> set[int]:
        indexes = set(self._iban_owners(transfer))
        same_amount = _postings(self._by_cents, transfer.cents)
        if len(same_amount) <= _MAX_AMOUNT_SCAN:
            indexes.update(same_amount)
        low = transfer.cents - self._overpayment_cents
        high = transfer.cents + self._fee_cents
        for word in transfer.name.split():
            cents, owners = self._word_cents.get(word, ((), ()))
            start, end = bisect.bisect_left(cents, low), bisect.bisect_right(cents, high)
            indexes.update(owners[start : min(end, start + _MAX_WINDOW_SCAN)])
        indexes.update(self._buyer_scan(transfer))
        return indexes

    def _buyer_scan(self, transfer: Transfer) -> list[int]:
        """Return all receivables under the payer's rarest name word, if that word is rare enough."""
        postings = [self._word_cents[word][1] for word in transfer.name.split() if word in self._word_cents]
        rarest = min(postings, key=len, default=[])
        return rarest if len(rarest) <= _MAX_BUYER_SCAN else []

    def _sum_of_open(self, transfer: Transfer) -> _Result | None:
        """Find a unique set of one buyer's open receivables that adds up to the amount."""
        buyer = [
            index
            for index in {*self._iban_owners(transfer), *self._buyer_scan(transfer)}
            if self._remaining[index] > 0
            and self._currency_fits(index, transfer)
            and (self._iban_known(transfer, index) or self._name_score(transfer, index) >= STRONG_NAME)
        ]
        if not 2 <= len(buyer) <= _MAX_SUM_PARTS:
            return None
        subsets = [subset for subset in self._exact_subsets(sorted(buyer), transfer.cents) if len(subset) > 1]
        if not subsets:
            return None
        iban_known = all(self._iban_known(transfer, index) for index in subsets[0])
        confidence = 0.9 if iban_known else 0.85
        reason = f"amount equals the sum of open {self._ids(subsets[0])} of this payer"
        return _Result(
            MatchRule.SUM_OF_OPEN, confidence, self._by_due_date(subsets[0]), reason, len(subsets) > 1
        )

    # helpers ------------------------------------------------------------------------------------------

    def _fit(self, open_cents: int, paid_cents: int) -> _Fit:
        difference = open_cents - paid_cents
        if difference == 0:
            return _Fit.EQUAL
        if difference < 0:
            return _Fit.OVER_SLIGHTLY if -difference <= self._overpayment_cents else _Fit.OVER
        short = difference <= self._fee_cents and difference <= int(open_cents * self.settings.fee_share)
        return _Fit.SHORT if short else _Fit.PART

    def _exact_subsets(self, indexes: list[int], cents: int) -> list[list[int]]:
        if len(indexes) > _MAX_SUM_PARTS:
            return []
        return [
            list(subset)
            for size in range(1, len(indexes) + 1)
            for subset in itertools.combinations(indexes, size)
            if sum(self._remaining[index] for index in subset) == cents
        ]

    def _iban_owners(self, transfer: Transfer) -> Sequence[int]:
        owners = _postings(self._by_iban, transfer.counterparty_iban)
        learned = _postings(self._learned, transfer.counterparty_iban)
        if learned:
            owners = [*dict.fromkeys([*owners, *learned])]
        return owners if len(owners) <= _MAX_IBAN_OWNERS else ()

    def _payers(self, transfer: Transfer) -> Collection[int]:
        """Return the receivables whose buyers paid from the transfer's IBAN before (none for a shared IBAN)."""
        return self._iban_owners(transfer) if transfer.counterparty_iban else ()

    def _iban_known(self, transfer: Transfer, index: int) -> bool:
        return index in self._payers(transfer)

    def _learn_iban(self, transfer: Transfer, indexes: Iterable[int]) -> None:
        """Remember that the transfer's IBAN paid these receivables' buyers, as booking the match will.

        A buyer's later transfer in the same statement is then "from an IBAN paid from before", as it would be in
        the next statement (``services._learn_ibans`` learns from the same matches: by reference or number).
        """
        iban = transfer.counterparty_iban
        for index in indexes:
            if len(_postings(self._learned, iban)) > _MAX_IBAN_OWNERS:
                return  # an IBAN paying for many buyers (a payment service): _iban_owners ignores it anyway
            buyer = self._buyers[index]
            if not iban or buyer < 0:
                continue
            # Only what is still open: a settled receivable is never matched again, and most buyers have none.
            for owned in self._by_buyer.get(buyer, (index,)):
                if self._remaining[owned] > 0 and owned not in _postings(self._learned, iban):
                    _post(self._learned, iban, owned)

    def _name_score(self, transfer: Transfer, index: int) -> float:
        return max((name_similarity(transfer.name, name) for name in self._names[index]), default=0.0)

    def _currency_fits(self, index: int, transfer: Transfer) -> bool:
        return self._currencies[index] == transfer.currency

    def _by_due_date(self, indexes: Iterable[int]) -> list[int]:
        return sorted(indexes, key=lambda index: (self._due_dates[index] or date.max, index))

    def _ids(self, indexes: Iterable[int]) -> str:
        return ", ".join(repr(self._receivable_ids[index]) for index in indexes)

    def _mention(self, index: int, mentioned: dict[int, MatchRule]) -> str:
        label = {
            MatchRule.REFERENCE: f"reference {self._references[index]}",
            MatchRule.INVOICE_NUMBER: f"invoice number {self._invoice_numbers[index]}",
            MatchRule.ORDER_NUMBER: f"order number {self._order_numbers[index]}",
        }[mentioned[index]]
        return f"{label} of {self._receivable_ids[index]!r} (open {_euros(self._remaining[index])})"

    def _proposal(self, transfer: Transfer, result: _Result) -> MatchProposal:
        left = transfer.cents
        allocations = []
        for index in result.parts:
            share = min(left, self._remaining[index])
            if share > 0:
                allocations.append((index, share))
                left -= share
        confidence = round(result.confidence, 3)
        # Money left over belongs to no receivable here (paid twice, for costs, or for something untracked):
        # a person decides where it goes, so it never drops out of every queue as an automatic match would.
        automatic = (
            bool(allocations)
            and left == 0
            and not result.ambiguous
            and confidence >= self.settings.auto_threshold
        )
        if automatic:
            for index, share in allocations:
                self._remaining[index] -= share
            if result.rule in EXPLICIT_RULES:
                self._learn_iban(transfer, (index for index, _ in allocations))
        alternatives = dict.fromkeys(i for i in result.alternatives if i not in result.parts)
        return MatchProposal(
            transaction_id=transfer.transaction_id,
            rule=result.rule,
            confidence=confidence,
            allocations=tuple(Allocation(self._receivable_ids[i], _euros(share)) for i, share in allocations),
            unallocated=_euros(left),
            explanation=result.reason,
            ambiguous=result.ambiguous,
            automatic=automatic,
            alternatives=tuple(self._receivable_ids[i] for i in list(alternatives)[:_MAX_ALTERNATIVES]),
        )


def _post(index: dict[K, int | list[int]], key: K, value: int) -> None:
    """File ``value`` under ``key``: as itself while it is the only one, else in a list."""
    known = index.get(key)
    if known is None:
        index[key] = value
    elif isinstance(known, int):
        index[key] = [known, value]
    else:
        known.append(value)


def _postings(index: dict[K, int | list[int]], key: K) -> Sequence[int]:
    """Return what is filed under ``key`` (see ``_post``)."""
    known = index.get(key)
    return () if known is None else (known,) if isinstance(known, int) else known


def _name_level(name: float) -> int:
    """Grade a name similarity: 3 strong, 2 good, 1 weak, 0 none."""
    return 3 if name >= STRONG_NAME else 2 if name >= GOOD_NAME else 1 if name >= WEAK_NAME else 0


# Over by up to 1.00 stays below the threshold even with a good name (0.89): a buyer paying an already paid
# invoice again, or something we do not track, lands close to another open amount as often.
_IBAN_CONFIDENCE = {
    _Fit.EQUAL: 0.97,
    _Fit.SHORT: 0.92,
    _Fit.OVER_SLIGHTLY: 0.88,
    _Fit.PART: 0.8,
    _Fit.OVER: 0.5,
}
_NAME_CONFIDENCE = {  # by name level
    _Fit.EQUAL: (0.35, 0.75, 0.88, 0.93),
    _Fit.SHORT: (0.0, 0.6, 0.82, 0.88),
    _Fit.OVER_SLIGHTLY: (0.0, 0.6, 0.82, 0.88),
    _Fit.PART: (0.0, 0.0, 0.5, 0.6),
    _Fit.OVER: (0.0, 0.0, 0.3, 0.4),
}


def _implicit_confidence(fit: _Fit, iban_known: bool, name_level: int) -> float:
    """Confidence of a match on amount plus payer, without any number in the text."""
    if iban_known:
        return _IBAN_CONFIDENCE[fit] + (0.01 if name_level >= _GOOD_LEVEL else 0.0)
    return _NAME_CONFIDENCE[fit][name_level]


def _booking_order(transfer: Transfer) -> tuple[date, int]:
    return transfer.booking_date, transfer.position


def match_payments(
    transactions: Iterable[BankTransaction],
    receivables: Iterable[OpenReceivable],
    settings: MatchSettings | None = None,
) -> list[MatchProposal]:
    """Propose matches of incoming payments to open receivables (see ``PaymentMatcher``)."""
    return PaymentMatcher(receivables, settings).match(transactions)
