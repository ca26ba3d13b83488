"""What a debtor owes on a given day under German law: default, interest, fees and payments. Pure, no I/O.

Interpretation of dates (all are Europe/Berlin calendar days; callers convert timestamps first):

- **Receipt.** The invoice is taken as received ``invoice_receipt_days`` (default 3) after its date, as for
  a letter; pass ``invoice_received_on`` when the real date is known. A notice is taken as received
  ``notice_receipt_days`` (default 1) after it was sent: an e-mail arrives at once, but one sent outside
  business hours is legally received only the next business day, so one day never claims too early.
  ``DunningNotice.received_on`` overrides that per notice.
- **Payment deadline (§193 BGB).** A due date or the last day of a period that falls on a Saturday, a
  Sunday or a public holiday (nationwide, plus those of ``Claim.land``) moves to the next working day
  (``law.next_working_day``).
- **Mahnung route (§286(1)).** Any notice sent after the (shifted) due date that asks for payment is a
  Mahnung, whatever the merchant calls it: a friendly *Zahlungserinnerung* after the due date counts.
  Without a deadline the debtor is in default from its receipt; by §187(1) BGB the day of receipt itself
  does not count, so ``default_start`` is the day after receipt. A Mahnung that sets a deadline ("pay by
  07.04.") grants time: default starts the day after the deadline (08.04.), never before the day after
  receipt. A notice sent on or before the due date has no effect.
- **30-day route (§286(3)).** 30 days after the later of due date and invoice receipt, counted from the
  next day (§187(1)), ending on the 30th day (§188(1)), shifted by §193; default starts the day after.
  For a consumer only when the invoice expressly pointed this out (``invoice_has_default_notice``).
- **The earlier route wins.** ``default_start`` is the first day of default, and the first day interest is
  charged for; §187 is applied once, there. A candidate day by which the principal was already paid off
  has no effect (a later Mahnung, e.g. after a chargeback, still can).
- **Bookings** (payments, credit notes, refunds) take effect at the start of their day: no interest is
  charged for the day a payment arrives on the amount it paid off, which never over-claims.

Money:

- Default interest (§288(1)/(2)): base rate + 5 points for consumers, + 9 points for businesses, on the
  outstanding principal only (§289: no interest on interest or on costs). Never below zero.
- Day count actual/365, also in leap years (the common German practice for default interest).
- Interest is computed per segment: consecutive days with one base rate and one principal; a segment ends at
  each 1 January/1 July and before each booking. Each segment is computed exactly and rounded to cents with
  ROUND_HALF_UP once, at its end; the interest total is the sum of the rounded segments.
- Payments are credited by §367(1): costs first, then interest, then principal. Costs arise in date order.
- Businesses owe a €40 flat fee (§288(5)) from default start. It is credited against costs of pursuing the
  claim (§288(5) sentence 3), which include dunning fees: a business pays dunning fees only beyond €40.
- Dunning fees: only the actual cost of a letter (§§280(1), (2), 286 BGB: damage caused by default; no
  staff or overhead costs), so only for notices sent as a letter (``Channel.LETTER``) while the debtor was
  already in default (never on the notice that creates default), at most ``MAX_DUNNING_FEE`` each. An
  e-mail or a reminder the shop sends costs nothing: a fee stated on one is never charged.
- Credit notes (returns, partial cancellations) reduce the principal; beyond it they become an overpayment
  owed back. Refunds first use up an overpayment; beyond it they are treated as a reversed payment (e.g. a
  chargeback) and re-open the principal.
- Only euro claims: the flat fee and the fee cap are euro amounts.

Limitation (§§195, 199, 212(1) No. 1, 193; ``law.limitation_date``): three years from the end of the year in
which the claim fell due, restarted by each payment (a partial payment acknowledges the claim), §193 applied
to the last day. After that day the debtor can refuse to pay (§214); while that defence exists the debtor is
not in default, so a time-barred claim carries no interest, no fees and no flat fee (``time_barred``); the
caller sends no notice and proposes no handover for it.

Unknown base rates: interest is charged only for days whose half-year has a known base rate. Days after the
table's last half-year are not charged (``interest_unpaid_from`` says from when); a rate is never guessed,
and claiming less interest is lawful where claiming more is not. A gap inside the table raises
``UnknownBaseRate``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from backend.dunning import law
from backend.dunning.base_rates import BaseRateTable
from backend.dunning.law import DebtorKind
from backend.receivables.bookings import Booking, BookingKind, require_money

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAY_COUNT_BASIS = 365
CONSUMER_POINTS = Decimal("5")
BUSINESS_POINTS = Decimal("9")
BUSINESS_FLAT_FEE = Decimal("40.00")
MAX_DUNNING_FEE = Decimal("2.50")
DEFAULT_INVOICE_RECEIPT_DAYS = 3
DEFAULT_NOTICE_RECEIPT_DAYS = 1
SECTION_286_3_DAYS = 30
SUPPORTED_CURRENCY = "EUR"


class Channel(enum.StrEnum):
    """How a notice reaches the debtor; only a letter has costs the debtor must reimburse."""

    EMAIL = "email"
    SHOP = "shop"
    LETTER = "letter"
    NONE = "none"


FEE_CHANNELS = frozenset({Channel.LETTER})


class NoticeKind(enum.StrEnum):
    """The kinds of dunning notice; every kind sent after the due date is legally a Mahnung."""

    REMINDER = "reminder"
    DUNNING = "dunning"
    FINAL_NOTICE = "final_notice"


class FeeReason(enum.StrEnum):
    """Why a notice's fee was charged in full, in part or not at all."""

    CHARGED = "charged"
    CAPPED = "capped"
    NOT_IN_DEFAULT = "not_in_default"
    NO_COSTS = "no_costs"
    TIME_BARRED = "time_barred"
    CREDITED_TO_FLAT_FEE = "credited_to_flat_fee"


@dataclass(frozen=True)
class DunningNotice:
    """A notice sent to the debtor: how, the fee it stated, and the payment deadline it set (if any)."""

    kind: NoticeKind
    sent_on: date
    fee: Decimal = ZERO
    received_on: date | None = None
    deadline_on: date | None = None
    channel: Channel = Channel.EMAIL

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", NoticeKind(self.kind))
        object.__setattr__(self, "channel", Channel(self.channel))
        require_money("fee", self.fee, positive=False)
        if self.received_on is not None and self.received_on < self.sent_on:
            raise ValueError(f"received_on: {self.received_on} is before sent_on {self.sent_on}")
        if self.deadline_on is not None and self.deadline_on < self.sent_on:
            raise ValueError(f"deadline_on: {self.deadline_on} is before sent_on {self.sent_on}")


@dataclass(frozen=True)
class Claim:
    """An invoice receivable with everything that happened to it."""

    principal: Decimal
    invoice_date: date
    due_date: date
    debtor_kind: DebtorKind
    currency: str = SUPPORTED_CURRENCY
    invoice_has_default_notice: bool = False
    notices: Sequence[DunningNotice] = ()
    bookings: Sequence[Booking] = ()
    invoice_receipt_days: int = DEFAULT_INVOICE_RECEIPT_DAYS
    invoice_received_on: date | None = None
    notice_receipt_days: int = DEFAULT_NOTICE_RECEIPT_DAYS
    land: str | None = None

    def __post_init__(self) -> None:
        require_money("principal", self.principal, positive=True)
        object.__setattr__(self, "debtor_kind", DebtorKind(self.debtor_kind))
        object.__setattr__(self, "notices", tuple(self.notices))
        object.__setattr__(self, "bookings", tuple(self.bookings))
        if self.currency != SUPPORTED_CURRENCY:
            raise ValueError(f"currency: only {SUPPORTED_CURRENCY} is supported, not {self.currency!r}")
        if self.due_date < self.invoice_date:
            raise ValueError(f"due_date: {self.due_date} is before invoice_date {self.invoice_date}")
        if self.invoice_receipt_days < 0 or self.notice_receipt_days < 0:
            raise ValueError("invoice_receipt_days and notice_receipt_days must be zero or more")
        if self.invoice_received_on is not None and self.invoice_received_on < self.invoice_date:
            raise ValueError(f"invoice_received_on: {self.invoice_received_on} is before the invoice date")
        object.__setattr__(self, "land", law.check_land(self.land))

    @property
    def received_on(self) -> date:
        """Return the day the invoice is taken as received."""
        if self.invoice_received_on is not None:
            return self.invoice_received_on
        return self.invoice_date + timedelta(days=self.invoice_receipt_days)

    def notice_received_on(self, notice: DunningNotice) -> date:
        """Return the day ``notice`` is taken as received."""
        if notice.received_on is not None:
            return notice.received_on
        return notice.sent_on + timedelta(days=self.notice_receipt_days)

    @property
    def payment_deadline(self) -> date:
        """Return the last day to pay without a Mahnung being possible: the due date, §193 applied."""
        return law.next_working_day(self.due_date, self.land)

    def limitation_date(self) -> date:
        """Return the last day before the claim is time-barred, restarted by each payment (§212(1) No. 1)."""
        payments = (b.booked_on for b in self.bookings if b.kind is BookingKind.PAYMENT)
        return law.limitation_date(self.due_date, payments, self.land)


@dataclass(frozen=True)
class InterestSegment:
    """Interest for consecutive days with one rate on one principal, rounded to cents."""

    first_day: date
    last_day: date
    principal: Decimal
    base_rate: Decimal
    points: Decimal
    amount: Decimal

    @property
    def days(self) -> int:
        """Return the number of days charged, both ends included."""
        return (self.last_day - self.first_day).days + 1

    @property
    def rate(self) -> Decimal:
        """Return the annual interest rate in percent (base rate + points, never below zero)."""
        return max(self.base_rate + self.points, Decimal(0))


@dataclass(frozen=True)
class FeeLine:
    """A fee a notice stated and how much of it is charged."""

    notice_kind: NoticeKind
    sent_on: date
    stated: Decimal
    charged: Decimal
    reason: FeeReason


@dataclass(frozen=True)
class PaymentAllocation:
    """How one payment was credited under §367 BGB."""

    booked_on: date
    amount: Decimal
    to_costs: Decimal
    to_interest: Decimal
    to_principal: Decimal
    to_overpayment: Decimal


@dataclass(frozen=True)
class ClaimBreakdown:
    """The claim on ``as_of``: what arose, what was paid, what is outstanding.

    ``total_outstanding - overpaid == principal - credits + refunds + dunning_fees + flat_fee + interest
    - payments_total`` always holds.
    """

    as_of: date
    currency: str
    debtor_kind: DebtorKind
    principal: Decimal
    credits: Decimal
    refunds: Decimal
    payments: tuple[PaymentAllocation, ...]
    fees: tuple[FeeLine, ...]
    dunning_fees: Decimal
    flat_fee: Decimal
    interest_segments: tuple[InterestSegment, ...]
    interest: Decimal
    principal_outstanding: Decimal
    costs_outstanding: Decimal
    interest_outstanding: Decimal
    overpaid: Decimal
    default_start: date | None
    first_dunning_notice_on: date | None
    limitation_date: date
    days_overdue: int
    time_barred: bool = False
    interest_unpaid_from: date | None = None

    @property
    def payments_total(self) -> Decimal:
        """Return the sum of all payments received."""
        return sum((p.amount for p in self.payments), ZERO)

    @property
    def total_outstanding(self) -> Decimal:
        """Return principal, costs and interest still owed."""
        return self.principal_outstanding + self.costs_outstanding + self.interest_outstanding

    @property
    def balance(self) -> Decimal:
        """Return what is owed net of any overpayment (negative when the merchant owes money back)."""
        return self.total_outstanding - self.overpaid


def interest_points(debtor_kind: DebtorKind) -> Decimal:
    """Return the points above the base rate for default interest (§288(1) and (2) BGB)."""
    return BUSINESS_POINTS if debtor_kind is DebtorKind.BUSINESS else CONSUMER_POINTS


def _mahnungen(claim: Claim) -> list[DunningNotice]:
    """Return the notices sent after the payment deadline: each one is a Mahnung in law."""
    deadline = claim.payment_deadline
    return [notice for notice in claim.notices if notice.sent_on > deadline]


def first_dunning_notice(claim: Claim, as_of: date) -> DunningNotice | None:
    """Return the first notice sent after the due date and by ``as_of`` (the agencies' ``reminder_date``)."""
    sent = [notice for notice in _mahnungen(claim) if notice.sent_on <= as_of]
    return min(sent, key=lambda notice: notice.sent_on, default=None)


def mahnung_default_start(claim: Claim, notice: DunningNotice) -> date:
    """Return the first day of default a Mahnung brings: after receipt, and after the deadline it set."""
    start = claim.notice_received_on(notice) + timedelta(days=1)
    if notice.deadline_on is not None:
        start = max(start, notice.deadline_on + timedelta(days=1))
    return start


def thirty_day_default_start(claim: Claim) -> date | None:
    """Return the first day of default under §286(3), or None where it does not apply (consumer, no notice)."""
    if claim.debtor_kind is DebtorKind.CONSUMER and not claim.invoice_has_default_notice:
        return None
    period_start = max(claim.due_date, claim.received_on)
    last_day = law.next_working_day(period_start + timedelta(days=SECTION_286_3_DAYS), claim.land)
    return last_day + timedelta(days=1)


def _principal_settled_by(claim: Claim, day: date) -> bool:
    """Return True when bookings up to and including ``day`` left no principal (no costs arise before)."""
    open_principal = claim.principal
    for booking in sorted(claim.bookings, key=lambda b: (b.booked_on, _BOOKING_ORDER[b.kind])):
        if booking.booked_on > day:
            break
        if booking.kind is BookingKind.REFUND:
            open_principal += booking.amount
        else:
            open_principal -= booking.amount
    return open_principal <= 0


def default_start(claim: Claim, as_of: date) -> date | None:
    """Return the first day of default (the first interest day) if it is on or before ``as_of``, else None.

    Each Mahnung and the 30-day rule give a candidate day; the earliest one on which principal is still
    open wins (a Mahnung answered by full payment has no effect, a later one after a chargeback does).
    """
    if as_of > claim.limitation_date():
        return None
    candidates = [
        *(mahnung_default_start(claim, n) for n in _mahnungen(claim)),
        thirty_day_default_start(claim),
    ]
    for start in sorted(c for c in candidates if c is not None and c <= as_of):
        if not _principal_settled_by(claim, start):
            return start
    return None


def accrue_interest(
    principal: Decimal,
    first_day: date,
    last_day: date,
    rates: BaseRateTable,
    debtor_kind: DebtorKind,
) -> tuple[InterestSegment, ...]:
    """Return default interest on ``principal`` for ``first_day``..``last_day`` in base-rate segments."""
    points = interest_points(debtor_kind)
    segments = []
    for rate_segment in rates.segments(first_day, last_day):
        base = rate_segment.base_rate.percent
        rate = max(base + points, Decimal(0))
        exact = principal * rate * rate_segment.days / (100 * DAY_COUNT_BASIS)
        amount = exact.quantize(CENT, rounding=ROUND_HALF_UP)
        segments.append(
            InterestSegment(rate_segment.first_day, rate_segment.last_day, principal, base, points, amount)
        )
    return tuple(segments)


# Same-day order: costs arise first, then credit notes, payments and refunds, so a payment made on the day a
# fee arises pays that fee (§367), and a refund can only use up an overpayment that exists.
_BOOKING_ORDER = {BookingKind.CREDIT: 1, BookingKind.PAYMENT: 2, BookingKind.REFUND: 3}
_COSTS_ORDER = 0


@dataclass
class _Ledger:
    """Running balances while replaying a claim day by day."""

    claim: Claim
    rates: BaseRateTable
    start: date | None
    principal: Decimal
    costs: Decimal = ZERO
    interest: Decimal = ZERO
    overpaid: Decimal = ZERO
    flat_fee_charged: bool = False
    flat_fee_credit_left: Decimal = ZERO
    accrued_through: date | None = None
    unpaid_from: date | None = None
    segments: list[InterestSegment] = field(default_factory=list)
    fee_lines: list[FeeLine] = field(default_factory=list)
    allocations: list[PaymentAllocation] = field(default_factory=list)

    def accrue_until(self, last_day: date) -> None:
        """Charge interest on the current principal up to and including ``last_day``."""
        if self.start is None:
            return
        first_day = self.start if self.accrued_through is None else self.accrued_through + timedelta(days=1)
        if last_day < first_day:
            return
        covered_until = self.rates.covered_until
        charged_until = last_day if covered_until is None else min(last_day, covered_until)
        if charged_until < last_day and self.principal > 0 and self.unpaid_from is None:
            self.unpaid_from = max(first_day, charged_until + timedelta(days=1))
        if self.principal > 0 and charged_until >= first_day:
            new = accrue_interest(
                self.principal, first_day, charged_until, self.rates, self.claim.debtor_kind
            )
            self.segments.extend(new)
            self.interest += sum((s.amount for s in new), ZERO)
        self.accrued_through = last_day

    def add_flat_fee(self) -> None:
        self.costs += BUSINESS_FLAT_FEE
        self.flat_fee_charged = True
        self.flat_fee_credit_left = BUSINESS_FLAT_FEE

    def add_notice_fee(self, notice: DunningNotice, time_barred: bool) -> None:
        if notice.fee == 0:
            return
        unowed = (
            FeeReason.TIME_BARRED
            if time_barred
            else FeeReason.NO_COSTS
            if notice.channel not in FEE_CHANNELS
            else FeeReason.NOT_IN_DEFAULT
            if self.start is None or notice.sent_on < self.start
            else None
        )
        if unowed is not None:
            self.fee_lines.append(FeeLine(notice.kind, notice.sent_on, notice.fee, ZERO, unowed))
            return
        recoverable = min(notice.fee, MAX_DUNNING_FEE)
        credited = min(recoverable, self.flat_fee_credit_left)
        self.flat_fee_credit_left -= credited
        charged = recoverable - credited
        if credited:
            reason = FeeReason.CREDITED_TO_FLAT_FEE
        elif recoverable < notice.fee:
            reason = FeeReason.CAPPED
        else:
            reason = FeeReason.CHARGED
        self.costs += charged
        self.fee_lines.append(FeeLine(notice.kind, notice.sent_on, notice.fee, charged, reason))

    def book(self, booking: Booking) -> None:
        self.accrue_until(booking.booked_on - timedelta(days=1))
        amount = booking.amount
        if booking.kind is BookingKind.CREDIT:
            to_principal = min(amount, self.principal)
            self.principal -= to_principal
            self.overpaid += amount - to_principal
        elif booking.kind is BookingKind.REFUND:
            from_overpaid = min(amount, self.overpaid)
            self.overpaid -= from_overpaid
            self.principal += amount - from_overpaid
        else:
            self.allocations.append(self._pay(booking.booked_on, amount))

    def _pay(self, booked_on: date, amount: Decimal) -> PaymentAllocation:
        """Credit a payment to costs, then interest, then principal (§367(1) BGB)."""
        rest = amount
        to_costs = min(rest, self.costs)
        rest -= to_costs
        to_interest = min(rest, self.interest)
        rest -= to_interest
        to_principal = min(rest, self.principal)
        rest -= to_principal
        self.costs -= to_costs
        self.interest -= to_interest
        self.principal -= to_principal
        self.overpaid += rest
        return PaymentAllocation(booked_on, amount, to_costs, to_interest, to_principal, rest)


def claim_breakdown(claim: Claim, as_of: date, rates: BaseRateTable) -> ClaimBreakdown:
    """Return the claim on ``as_of`` (inclusive); raise ``UnknownBaseRate`` when a needed rate is missing."""
    limitation = claim.limitation_date()
    time_barred = as_of > limitation
    start = default_start(claim, as_of)
    ledger = _Ledger(claim=claim, rates=rates, start=start, principal=claim.principal)

    events: list[tuple[date, int, int, object]] = []
    if start is not None and claim.debtor_kind is DebtorKind.BUSINESS:
        events.append((start, _COSTS_ORDER, 0, None))
    for index, notice in enumerate(claim.notices, start=1):
        if notice.sent_on <= as_of:
            events.append((notice.sent_on, _COSTS_ORDER, index, notice))
    for index, booking in enumerate(claim.bookings):
        if booking.booked_on <= as_of:
            events.append((booking.booked_on, _BOOKING_ORDER[booking.kind], index, booking))
    events.sort(key=lambda event: event[:3])

    for _day, _order, _index, item in events:
        if item is None:
            ledger.add_flat_fee()
        elif isinstance(item, DunningNotice):
            ledger.add_notice_fee(item, time_barred)
        else:
            assert isinstance(item, Booking)
            ledger.book(item)
    ledger.accrue_until(as_of)

    outstanding = ledger.principal + ledger.costs + ledger.interest
    first_notice = first_dunning_notice(claim, as_of)
    return ClaimBreakdown(
        as_of=as_of,
        currency=claim.currency,
        debtor_kind=claim.debtor_kind,
        principal=claim.principal,
        credits=_booked(claim, BookingKind.CREDIT, as_of),
        refunds=_booked(claim, BookingKind.REFUND, as_of),
        payments=tuple(ledger.allocations),
        fees=tuple(ledger.fee_lines),
        dunning_fees=sum((line.charged for line in ledger.fee_lines), ZERO),
        flat_fee=BUSINESS_FLAT_FEE if ledger.flat_fee_charged else ZERO,
        interest_segments=tuple(ledger.segments),
        interest=sum((s.amount for s in ledger.segments), ZERO),
        principal_outstanding=ledger.principal,
        costs_outstanding=ledger.costs,
        interest_outstanding=ledger.interest,
        overpaid=ledger.overpaid,
        default_start=start,
        first_dunning_notice_on=first_notice.sent_on if first_notice else None,
        limitation_date=limitation,
        days_overdue=max(0, (as_of - claim.due_date).days) if outstanding > 0 else 0,
        time_barred=time_barred,
        interest_unpaid_from=ledger.unpaid_from,
    )


def _booked(claim: Claim, kind: BookingKind, as_of: date) -> Decimal:
    return sum((b.amount for b in claim.bookings if b.kind is kind and b.booked_on <= as_of), ZERO)
