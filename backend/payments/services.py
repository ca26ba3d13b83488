"""Bank statements settle receivables: import, match, review, apply, and tell the shop.

Import (``import_statement``) parses camt.053 or MT940, keeps incoming payments only and inserts those whose
(merchant, transaction id) is not stored yet (a clash is skipped), so a re-import (or a concurrent one) adds
nothing and matches nothing again. The merchant row is locked for the run, so two imports of one merchant never
match against the same open amounts. New transfers are matched with ``PaymentMatcher`` against the merchant's
receivables that still have a balance; proposals at or above the merchant's threshold are applied at once,
the others wait for review (``confirm_match`` / ``reject_match``).

Applying a match, in the caller's transaction: the ledger (``backend.receivables.ledger.record_payment``,
idempotent by the match) raises the receivable's paid amount and its state follows
(open/partially_paid become partially_paid or paid; in_collection stays, so the handover mirror reports a
direct payment to the agency; disputed becomes paid only once nothing is left); its ``payment`` event carries
amount, booking date and source ``bank_statement`` (the claim dates the payment by it); a pending (proposed or
approved) handover is withdrawn once nothing is owed; the buyer's IBAN is learned from a confirmed or
reference/number match; the shop's order gets the payment state and a note through the shop outbox
(``ShopUpdate`` rows keyed by the match, sent by ``backend.handovers.shop_updates.process_shop_updates``).
Dunning needs nothing: the due selection and the send step's re-check read state and balance.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, BinaryIO, TypeVar

import sqlalchemy as sa

from backend.audit.services import record_event, record_events
from backend.background import BackgroundJob
from backend.collector import collector_paused
from backend.errors import ConflictError, NotFoundError, UserValueError
from backend.extensions import (
    db,
    dialect_insert,
    insert_rare_clashes,
    insert_rows,
    keep_statistics,
    one_of,
    reserve_ids,
    update_rows,
    utcnow,
)
from backend.handovers.models import Handover, HandoverStatus, ShopUpdateKind
from backend.handovers.shop_updates import queue_shop_update
from backend.merchants.models import Merchant, ShopConnection
from backend.payments.matching import (
    EXPLICIT_RULES,
    MatchProposal,
    MatchRule,
    MatchSettings,
    OpenReceivable,
    PaymentMatcher,
    Transfer,
)
from backend.payments.models import (
    BankTransactionRecord,
    ImportedStatement,
    KnownPayerIban,
    MatchStatus,
    PaymentMatch,
    TransactionStatus,
)
from backend.payments.statements import BankTransaction, StatementError, parse_statement
from backend.receivables import ledger
from backend.receivables.ledger import MoneySource
from backend.receivables.models import Receivable
from backend.receivables.payment_references import ReferenceMaker
from backend.receivables.states import State

ACTOR = "payment-matching"
DEFAULT_THRESHOLD = 0.9
MATCHABLE_STATES = (State.OPEN, State.PARTIALLY_PAID, State.IN_COLLECTION, State.DISPUTED)
SHOP_PLATFORMS = ("shopware", "woocommerce")
PENDING_HANDOVER = (HandoverStatus.PROPOSED.value, HandoverStatus.APPROVED.value)
INSERT_BATCH = 1000
# The columns by which a batch's stored transfers are looked up. On PostgreSQL their statistics are kept while
# the import grows the table (``keep_statistics``): without any, the planner took the merchant's transfers for a
# handful, read all of them for each batch and compared each with every id of the batch (once psycopg
# prepared the lookup, its generic plan could not hash the array): 100,000 transfers took minutes.
TRANSFER_KEY = ("merchant_id", "transaction_id")
STORE_BATCH = 1000  # proposals stored and applied per set of statements (their rows are the transient peak)
DIGEST_CHUNK = 1 << 20
T = TypeVar("T")
Parse = Callable[[bytes | BinaryIO | str | os.PathLike[str]], Iterator[BankTransaction]]
OPEN_RECEIVABLES_BATCH = 2000


# -- settings ------------------------------------------------------------------------------------------------


def matching_threshold(merchant: Merchant) -> float:
    """Return the confidence from which a match is applied without review (default 0.9)."""
    return float(
        (merchant.settings or {}).get("payment_matching", {}).get("auto_threshold", DEFAULT_THRESHOLD)
    )


def update_matching_threshold(merchant: Merchant, threshold: float, *, actor: str) -> float:
    """Set the merchant's threshold for automatic matches."""
    previous = matching_threshold(merchant)
    settings = dict(merchant.settings or {})
    settings["payment_matching"] = {**settings.get("payment_matching", {}), "auto_threshold": threshold}
    merchant.settings = settings  # a new dict: JSON columns do not track in-place changes
    record_event(
        "payment_matching.settings_updated",
        actor=actor,
        merchant_id=merchant.id,
        target_type="merchant",
        target_id=merchant.id,
        details={"auto_threshold": [previous, threshold]},
    )
    return threshold


# -- import --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """What one statement import did, counted in transfers."""

    new: int
    already_known: int
    applied: int
    review: int
    unmatched: int
    not_incoming: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _record_row(merchant_id: int, transaction: BankTransaction, actor: str, now: datetime) -> dict[str, Any]:
    return {
        "merchant_id": merchant_id,
        "transaction_id": transaction.transaction_id,
        "account": transaction.account[:64],
        "statement_id": transaction.statement_id[:100],
        "bank_reference": transaction.bank_reference[:100],
        "booking_date": transaction.booking_date,
        "value_date": transaction.value_date,
        "amount": transaction.amount,
        "currency": transaction.currency,
        "counterparty_name": transaction.counterparty_name[:200],
        "counterparty_iban": transaction.counterparty_iban[:34],
        "remittance": transaction.remittance,
        "end_to_end_id": transaction.end_to_end_id[:100],
        "status": TransactionStatus.UNMATCHED.value,
        "imported_by": actor,
        "imported_at": now,
    }


def _insert_new(merchant_id: int, transactions: list[BankTransaction], actor: str) -> dict[str, int]:
    """Insert transfers not stored yet; return the new ones' ids by transaction id.

    The transfers stored already are looked up first and the rest inserted as one set, skipping a clash on
    (merchant, transaction id). A clash is rare: on PostgreSQL the caller holds the merchant's row locked, so
    the rows go straight in by COPY (``conflicts_rare``). SQLite has no row locks: an import of the same
    statement that commits between this lookup and the insert clashes, and its transfers count as known.
    """
    table = BankTransactionRecord.__table__
    inserted: dict[str, int] = {}
    # One timestamp per batch: its rows' values are converted once for all (``execute_many``).
    now, actor = utcnow(), actor[:300]
    for start in range(0, len(transactions), INSERT_BATCH):
        batch = transactions[start : start + INSERT_BATCH]
        stored = set(
            db.session.scalars(
                sa.select(table.c.transaction_id).where(
                    table.c.merchant_id == merchant_id,
                    one_of(table.c.transaction_id, [t.transaction_id for t in batch]),
                )
            )
        )
        rows = [_record_row(merchant_id, t, actor, now) for t in batch if t.transaction_id not in stored]
        for row, record_id in zip(rows, reserve_ids(table, len(rows)), strict=True):
            row["id"] = record_id
        stored_now = insert_rare_clashes(table, rows, unique=("merchant_id", "transaction_id"))
        inserted.update((row["transaction_id"], row["id"]) for row in rows if row["id"] in stored_now)
    return inserted


def parse_statement_file(
    source: bytes | BinaryIO | str | os.PathLike[str], parse: Parse = parse_statement
) -> Iterator[BankTransaction]:
    """Stream a statement's transactions (bytes, a binary file or a path); unreadable is a 422 saying where.

    The error may come after transactions were yielded: the caller's transaction is rolled back then, so
    nothing of a bad file is kept. ``parse`` is ``parse_statement`` or ``parse_statement_apart``.
    """
    try:
        yield from parse(source)
    except StatementError as error:
        raise UserValueError(
            f"The statement cannot be read: {error.message}",
            details={"file": [str(error)], "location": error.location},
        ) from None


def statement_digest(source: bytes | BinaryIO | str | os.PathLike[str]) -> str:
    """Return the SHA-256 of a statement's bytes (a file is read in chunks and rewound)."""
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as stream:
            return statement_digest(stream)
    digest = hashlib.sha256()
    for chunk in iter(lambda: source.read(DIGEST_CHUNK), b""):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


def import_statement(
    merchant_id: int,
    source: bytes | BinaryIO | str | os.PathLike[str],
    *,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
    parse: Parse = parse_statement,
) -> ImportResult:
    """Import a camt.053 or MT940 statement, match its new incoming payments and apply the sure ones.

    A file imported before (the same bytes) is answered from what its first import counted, without reading
    it again: its transfers are all known, so importing it would change nothing. ``parse`` reads the file
    (``parse_statement_apart`` in a process that may fork). A merchant that does not exist is a NotFoundError.
    """
    digest = statement_digest(source)
    # One import per merchant at a time: matching reads open amounts that applying changes.
    if db.session.scalar(sa.select(Merchant.id).where(Merchant.id == merchant_id).with_for_update()) is None:
        raise NotFoundError(f"merchant {merchant_id} does not exist")
    known = db.session.scalar(sa.select(ImportedStatement).filter_by(merchant_id=merchant_id, sha256=digest))
    if known is not None:
        result = ImportResult(
            new=0,
            already_known=known.incoming,
            applied=0,
            review=0,
            unmatched=0,
            not_incoming=known.not_incoming,
        )
        _record_import(merchant_id, result, actor)
        return result
    result = import_transactions(
        merchant_id, parse_statement_file(source, parse), actor=actor, progress=progress
    )
    db.session.execute(
        dialect_insert(ImportedStatement)
        .values(
            merchant_id=merchant_id,
            sha256=digest,
            incoming=result.new + result.already_known,
            not_incoming=result.not_incoming,
            imported_by=actor[:300],
            imported_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["merchant_id", "sha256"])
    )
    return result


def _record_import(merchant_id: int, result: ImportResult, actor: str) -> None:
    record_event(
        "bank_statement.imported",
        actor=actor,
        merchant_id=merchant_id,
        target_type="merchant",
        target_id=merchant_id,
        details=result.to_dict(),
    )


def import_transactions(
    merchant_id: int,
    transactions: Iterable[BankTransaction],
    *,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Store a statement's new incoming payments, match them and apply the sure ones.

    Transactions are streamed: each ``INSERT_BATCH`` is stored and its new transfers read by the matcher (which
    keeps what matching needs, not their texts); on PostgreSQL a batch is read in a thread while the next is
    parsed and stored, which mostly waits for the server, elsewhere before it. Matching sees the whole statement
    (it is order-aware); its proposals are stored and applied ``STORE_BATCH`` at a time, in the order they
    were made, with set-based statements; ``progress`` hears (done, new transfers) after each batch.
    """
    # One import per merchant at a time: matching reads open amounts that applying changes.
    db.session.execute(sa.select(Merchant.id).where(Merchant.id == merchant_id).with_for_update())
    matcher: PaymentMatcher | None = None
    transfers: list[Transfer] = []
    record_ids = array("q")  # the stored id of each new transfer, by its position (8 bytes each)
    seen = incoming = 0
    on_postgresql = db.session.get_bind().dialect.name == "postgresql"
    with BackgroundJob[list[Transfer]](threaded=on_postgresql, name="statement-reading") as reading:
        for batch in _batches(transactions, INSERT_BATCH):
            seen += len(batch)
            payments = [transaction for transaction in batch if transaction.is_incoming_payment]
            incoming += len(payments)
            inserted = _insert_new(merchant_id, payments, actor)
            new = [transaction for transaction in payments if transaction.transaction_id in inserted]
            first = len(record_ids)
            record_ids.extend(inserted[transaction.transaction_id] for transaction in new)
            if new:
                keep_statistics(BankTransactionRecord.__table__, TRANSFER_KEY, added=len(record_ids))
                matcher = matcher or _matcher(merchant_id)
                transfers.extend(reading.wait() or [])
                reading.start(functools.partial(_read, matcher, new, first))
        transfers.extend(reading.wait() or [])
    outcomes: Counter[str] = Counter()
    new_transfers = len(transfers)
    if matcher is not None:
        done = 0
        proposals = matcher.propose(transfers)
        del transfers  # the matcher holds them until each is proposed
        batches = _batches(proposals, STORE_BATCH)
        if on_postgresql:
            batches = _made_ahead(batches)
        for batch in batches:
            outcomes += _store_proposals(merchant_id, batch, record_ids)
            done += len(batch)
            if progress is not None:
                progress(done, new_transfers)
    result = ImportResult(
        new=new_transfers,
        already_known=incoming - new_transfers,
        applied=outcomes[TransactionStatus.MATCHED.value],
        review=outcomes[TransactionStatus.REVIEW.value],
        unmatched=new_transfers - outcomes.total(),
        not_incoming=seen - incoming,
    )
    _record_import(merchant_id, result, actor)
    return result


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield lists of up to ``size`` items, reading ``items`` one batch at a time."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _read(matcher: PaymentMatcher, new: list[BankTransaction], first: int) -> list[Transfer]:
    """Read new transfers as the matcher keeps them, their positions counted from ``first``."""
    return [matcher.read(position, transaction) for position, transaction in enumerate(new, first)]


def _made_ahead(batches: Iterator[list[T]]) -> Iterator[list[T]]:
    """Yield ``batches``, each made in a thread while the caller handles the one before.

    For PostgreSQL: storing a batch of proposals mostly waits for the server, time in which the next batch is
    matched (in Python, without the database). Not on SQLite (see ``BackgroundJob``).
    """
    with BackgroundJob[list[T]](threaded=True, name="statement-matching") as making:
        making.start(functools.partial(next, batches, None))
        while (batch := making.wait()) is not None:
            making.start(functools.partial(next, batches, None))
            yield batch


def _matcher(merchant_id: int) -> PaymentMatcher:
    """Return a matcher over the merchant's open receivables with the merchant's threshold."""
    merchant = db.session.get(Merchant, merchant_id)
    settings = MatchSettings(auto_threshold=matching_threshold(merchant))
    with collector_paused():
        return PaymentMatcher(_open_receivables(merchant_id), settings)


# The buyer's and the billing address's name fields, read by the database out of their JSON documents: the
# documents themselves (addresses, contact data) were decoded in Python for every open receivable.
_PARTY_NAMES = [
    getattr(Receivable, party)[field].as_string()
    for party in ("buyer", "billing_address")
    for field in ("first_name", "last_name", "company")
]


def _debtor_names(row: Sequence[Any]) -> tuple[str, ...]:
    """Return the names a payer may use: the buyer's and the billing address's (as ``_PARTY_NAMES`` reads them)."""
    names = []
    for first, last, company in (row[-6:-3], row[-3:]):
        full = " ".join(filter(None, [first, last]))
        names.extend(name for name in (full, company) if name)
    return tuple(dict.fromkeys(names))


def _known_ibans(merchant_id: int) -> dict[str, frozenset[str]]:
    rows = db.session.execute(
        sa.select(KnownPayerIban.email_key, KnownPayerIban.iban).filter_by(merchant_id=merchant_id)
    )
    known: dict[str, set[str]] = {}
    for email_key, iban in rows:
        known.setdefault(email_key, set()).add(iban)
    return {email_key: frozenset(ibans) for email_key, ibans in known.items()}


def _open_receivables(merchant_id: int) -> Iterator[OpenReceivable]:
    """Yield the merchant's receivables that still have a balance, as the matcher sees them.

    Read as plain rows in batches (no ORM objects, and never a hundred thousand rows at once); references
    missing so far are made and, once all are read, stored in one statement.
    """
    known = _known_ibans(merchant_id)
    references = ReferenceMaker(merchant_id)
    balance = Receivable.total_amount - Receivable.paid_amount - Receivable.credited_amount
    rows = db.session.execute(
        sa.select(
            Receivable.id,
            Receivable.payment_reference,
            Receivable.number,
            Receivable.external_id,
            Receivable.total_amount,
            Receivable.paid_amount,
            Receivable.credited_amount,
            Receivable.currency,
            Receivable.email_key,
            Receivable.due_date,
            *_PARTY_NAMES,
        )
        .where(
            Receivable.merchant_id == merchant_id,
            Receivable.state.in_([state.value for state in MATCHABLE_STATES]),
            balance > 0,
        )
        .order_by(Receivable.id)
        .execution_options(yield_per=OPEN_RECEIVABLES_BATCH)
    )
    for row in rows:
        yield OpenReceivable(
            id=row.id,
            payment_reference=row.payment_reference or references.make(row.id),
            invoice_number=row.number,
            order_number=row.external_id if row.external_id != row.number else "",
            open_amount=row.total_amount - row.paid_amount - row.credited_amount,
            currency=row.currency,
            debtor_names=_debtor_names(row),
            known_ibans=known.get(row.email_key or "", frozenset()),
            due_date=row.due_date,
            buyer=row.email_key or "",
        )
    ledger.store_payment_references(references.made)


def _store_proposals(
    merchant_id: int, proposals: Sequence[tuple[Transfer, MatchProposal]], record_ids: Sequence[int]
) -> Counter[str]:
    """Store proposals as matches with one INSERT, apply the automatic ones; count transfers by new status."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    outcomes: Counter[str] = Counter()
    transfers: dict[int, Transfer] = {}
    for transfer, proposal in proposals:
        if not proposal.allocations:
            continue  # stored as unmatched
        explanation = proposal.explanation
        if proposal.unallocated > 0:
            explanation += f"; {proposal.unallocated} left unallocated"
        if proposal.alternatives:
            explanation += f"; alternatives: {', '.join(str(i) for i in proposal.alternatives)}"
        status = MatchStatus.AUTO_APPLIED if proposal.automatic else MatchStatus.REVIEW
        record_id = record_ids[transfer.position]
        transfers[record_id] = transfer
        rows.extend(
            {
                "merchant_id": merchant_id,
                "transaction_id": record_id,
                "receivable_id": allocation.receivable_id,
                "amount": allocation.amount,
                "rule": proposal.rule.value,
                "confidence": Decimal(str(proposal.confidence)),
                "status": status.value,
                "explanation": explanation[:1000],
                "decided_by": ACTOR if proposal.automatic else None,
                "decided_at": now if proposal.automatic else None,
                "created_at": now,
            }
            for allocation in proposal.allocations
        )
        transfer_status = TransactionStatus.MATCHED if proposal.automatic else TransactionStatus.REVIEW
        statuses.append({"id": record_id, "status": transfer_status.value})
        outcomes[transfer_status.value] += 1
    if not rows:
        return outcomes
    matches = PaymentMatch.__table__
    for row, match_id in zip(rows, reserve_ids(matches, len(rows)), strict=True):
        row["id"] = match_id
    insert_rows(matches, rows)
    match_ids = {(row["transaction_id"], row["receivable_id"]): row["id"] for row in rows}
    update_rows(BankTransactionRecord.__table__, statuses, key="id")
    _apply_matches(
        merchant_id,
        [
            _Application(
                match_id=match_ids[(row["transaction_id"], row["receivable_id"])],
                receivable_id=row["receivable_id"],
                amount=row["amount"],
                rule=row["rule"],
                confidence=row["confidence"],
                status=row["status"],
                transfer=transfers[row["transaction_id"]],
            )
            for row in rows
            if row["status"] == MatchStatus.AUTO_APPLIED.value
        ],
        actor=ACTOR,
    )
    return outcomes


# -- applying ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Application:
    """A match to apply: its row's values and the transfer it allocates (parsed or stored, same fields)."""

    match_id: int
    receivable_id: int
    amount: Decimal
    rule: str
    confidence: Decimal
    status: str
    transfer: Transfer | BankTransactionRecord


def _apply_matches(merchant_id: int, applications: list[_Application], *, actor: str) -> None:
    """Credit matches to their receivables with every effect (module docstring), set-based, in order."""
    if not applications:
        return
    booked = ledger.record_payments(
        [
            ledger.Payment(
                receivable_id=application.receivable_id,
                amount=application.amount,
                booked_on=application.transfer.booking_date,
                external_id=f"payment_match:{application.match_id}",
                details={
                    "bank_transaction": application.transfer.transaction_id,
                    "payment_match": application.match_id,
                    "rule": application.rule,
                    "confidence": str(application.confidence),
                },
            )
            for application in applications
        ],
        MoneySource.BANK_STATEMENT,
        actor=actor,
    )
    receivables = booked.receivables
    record_events(
        {
            "action": "payment_match.applied",
            "actor": actor,
            "merchant_id": receivables[application.receivable_id].merchant_id,
            "target_type": "receivable",
            "target_id": application.receivable_id,
            "details": {
                "payment_match": application.match_id,
                "bank_transaction": application.transfer.transaction_id,
                "amount": str(application.amount),
                "rule": application.rule,
                "confidence": str(application.confidence),
                "status": application.status,
            },
        }
        for application in applications
    )
    _learn_ibans(
        (receivables[application.receivable_id], application.transfer.counterparty_iban)
        for application in applications
        if application.status == MatchStatus.CONFIRMED.value or MatchRule(application.rule) in EXPLICIT_RULES
    )
    settled_by = {
        application.receivable_id: application.transfer
        for application in applications
        if receivables[application.receivable_id].balance <= 0
    }
    _withdraw_pending_handovers(merchant_id, settled_by)
    _queue_shop_updates(applications, booked)


def _learn_ibans(payers: Iterable[tuple[ledger.Settled, str]]) -> None:
    """Remember the IBANs buyers paid from (one INSERT; IBANs known already are skipped)."""
    now = utcnow()
    rows = {
        (receivable.email_key, iban): {
            "merchant_id": receivable.merchant_id,
            "email_key": receivable.email_key,
            "iban": iban,
            "learned_at": now,
        }
        for receivable, iban in payers
        if iban and receivable.email_key
    }
    if rows:
        insert_rows(
            KnownPayerIban.__table__,
            list(rows.values()),
            skip_conflicts_on=["merchant_id", "email_key", "iban"],
        )


def _withdraw_pending_handovers(merchant_id: int, settled_by: dict[int, Any]) -> None:
    """Withdraw proposed or approved handovers of receivables nothing is owed on any more."""
    if not settled_by:
        return
    pending = db.session.execute(
        sa.select(Handover.id, Handover.receivable_id)
        .where(
            Handover.merchant_id == merchant_id,
            one_of(Handover.receivable_id, list(settled_by)),
            Handover.status.in_(PENDING_HANDOVER),
        )
        .order_by(Handover.id)
    ).all()
    if not pending:
        return
    # Here, not at the top: deciding handovers brings the agencies, claims and mirroring (a sixth of the
    # statement import's start-up), and an import seldom settles a receivable that is up for handover.
    from backend.handovers.decisions import decide_handover

    for handover_id, receivable_id in pending:
        decide_handover(
            merchant_id,
            handover_id,
            "withdraw",
            actor=ACTOR,
            note=f"paid by bank transfer of {settled_by[receivable_id].booking_date.isoformat()}",
        )


# -- review --------------------------------------------------------------------------------------------------


def list_matches(merchant_id: int, status: str | None) -> list[PaymentMatch]:
    """Return the merchant's matches (optionally of one status), oldest first."""
    query = sa.select(PaymentMatch).filter_by(merchant_id=merchant_id).order_by(PaymentMatch.id)
    if status:
        query = query.filter_by(status=status)
    return list(db.session.scalars(query))


def _decide(
    merchant_id: int, match_id: int, decision: MatchStatus, *, actor: str
) -> tuple[PaymentMatch, bool]:
    """Record ``decision`` on a match still in review; return the match and whether this call decided it.

    One conditional UPDATE decides, on the row as it is when the write lock is held: SQLite ignores FOR UPDATE,
    and a confirm and a reject sent together both read "review" and both went on (a payment booked on a match
    left rejected). Repeating the decision taken is a no-op; the other decision is a 409.
    """
    decided = db.session.execute(
        sa.update(PaymentMatch)
        .where(
            PaymentMatch.id == match_id,
            PaymentMatch.merchant_id == merchant_id,
            PaymentMatch.status == MatchStatus.REVIEW.value,
        )
        .values(status=decision.value, decided_by=actor[:300], decided_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    match = db.session.scalar(
        sa.select(PaymentMatch)
        .filter_by(id=match_id, merchant_id=merchant_id)
        .execution_options(populate_existing=True)
    )
    if match is None:
        raise NotFoundError("payment match not found")
    if decided or match.status == decision.value:
        return match, bool(decided)
    raise ConflictError(
        f"payment match {match.id} is {match.status}, not in review", details={"status": match.status}
    )


def confirm_match(merchant_id: int, match_id: int, *, actor: str) -> PaymentMatch:
    """Apply a match a person confirmed."""
    match, decided = _decide(merchant_id, match_id, MatchStatus.CONFIRMED, actor=actor)
    if decided:
        record = db.session.get(BankTransactionRecord, match.transaction_id)
        _apply_matches(
            merchant_id,
            [
                _Application(
                    match_id=match.id,
                    receivable_id=match.receivable_id,
                    amount=match.amount,
                    rule=match.rule,
                    confidence=match.confidence,
                    status=match.status,
                    transfer=record,
                )
            ],
            actor=actor,
        )
        record.status = TransactionStatus.MATCHED.value
    return match


def reject_match(merchant_id: int, match_id: int, *, actor: str) -> PaymentMatch:
    """Reject a proposed match; a transfer none of whose matches stands is unmatched again."""
    match, decided = _decide(merchant_id, match_id, MatchStatus.REJECTED, actor=actor)
    if decided:
        record = db.session.get(BankTransactionRecord, match.transaction_id)
        standing = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(PaymentMatch)
            .where(
                PaymentMatch.transaction_id == record.id,
                PaymentMatch.status != MatchStatus.REJECTED.value,
            )
        )
        if not standing:
            record.status = TransactionStatus.UNMATCHED.value
        record_event(
            "payment_match.rejected",
            actor=actor,
            merchant_id=merchant_id,
            target_type="receivable",
            target_id=match.receivable_id,
            details={"payment_match": match.id, "bank_transaction": record.transaction_id},
        )
    return match


# -- telling the shop ----------------------------------------------------------------------------------------


def payment_note(
    amount: Decimal,
    rule: str,
    transfer: Transfer | BankTransactionRecord,
    reference: str | None,
    balance: Decimal,
    currency: str,
) -> str:
    """Return the order note that tells shop staff about a bank transfer."""
    return (
        f"ClaimBridge: bank transfer of {amount} {transfer.currency} booked {transfer.booking_date.isoformat()}"
        f" from {transfer.counterparty_name or 'unknown payer'} applied ({rule}, reference"
        f" {reference}); open balance {balance} {currency}."
    )


def _queue_shop_updates(applications: list[_Application], booked: ledger.PaymentsBooked) -> None:
    """Queue the payment state and a note for each order's shop, once per match (the shop outbox sends them)."""
    connection_ids = {booked.receivables[a.receivable_id].connection_id for a in applications}
    shops = set(
        db.session.scalars(
            sa.select(ShopConnection.id).where(
                ShopConnection.id.in_(connection_ids), ShopConnection.platform.in_(SHOP_PLATFORMS)
            )
        )
    )
    for application in applications:
        receivable = booked.receivables[application.receivable_id]
        external_id = f"payment_match:{application.match_id}"
        if receivable.connection_id not in shops:
            continue
        balance = booked.balance_after.get(external_id, receivable.balance)
        note = payment_note(
            application.amount,
            application.rule,
            application.transfer,
            receivable.payment_reference,
            balance,
            receivable.currency,
        )
        for kind, payload in ((ShopUpdateKind.PAYMENT, {}), (ShopUpdateKind.NOTE, {"text": note})):
            queue_shop_update(
                merchant_id=receivable.merchant_id,
                connection_id=receivable.connection_id,
                external_order_id=receivable.external_id,
                kind=kind,
                key=f"{external_id}:{kind.value}",
                payload=payload,
            )


def transactions_of(merchant_id: int, ids: Iterable[int]) -> dict[int, BankTransactionRecord]:
    """Return the merchant's stored transfers by id."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = db.session.scalars(
        sa.select(BankTransactionRecord).where(
            BankTransactionRecord.merchant_id == merchant_id, BankTransactionRecord.id.in_(wanted)
        )
    )
    return {row.id: row for row in rows}
