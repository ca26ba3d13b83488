"""The ``CollectionAgency`` interface and the agency-neutral handover case and case status.

``HandoverCase`` carries everything §13a RDG obliges an agency to tell the debtor (see
../shared/protocols/collection.md): creditor, debtor identity and address, what the contract was and when,
invoice number and dates, principal, interest with rate and period, every other charge by type and reason,
payments already made, order lines, the dunning history and the invoice document.

``CaseStatus`` mirrors the agency's view on three independent axes (``legal_stage``, ``processing_state``,
``payment_state``) plus where the submission stands (``submission``: an agency reviews a released case before
it accepts or rejects it, asynchronously), the open balance and the payments the agency collected.

Exactly once: ``claim.your_reference`` is ClaimBridge's idempotency key for the handover. Implementations
look the case up by it before creating anything, and ``submit_case`` resumes a case an earlier attempt left
half-done instead of creating a second one. A refusal by the agency raises ``CaseRejected`` (never retried);
transport problems raise the typed errors of ``connectors.errors``.

Money is ``Decimal``; calendar dates are ``date`` (Europe/Berlin days); instants are aware UTC datetimes.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class DebtorKind(StrEnum):
    """Whether the debtor bought as a consumer or as a business (§13/§14 BGB)."""

    CONSUMER = "consumer"
    BUSINESS = "business"


class ChargeType(StrEnum):
    """Kinds of additional charges ClaimBridge hands over next to the principal."""

    DUNNING_FEE = "dunning_fee"
    FLAT_FEE = "flat_fee"  # the €40 default lump sum for businesses, §288(5) BGB
    INTEREST = "interest"  # default interest, §288(1)/(2) BGB


class SubmissionState(StrEnum):
    """Where the handover stands before the agency runs the case."""

    DRAFT = "draft"  # created at the agency but not released (an attempt died half-way)
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class LegalStage(StrEnum):
    """The legal stage of a running case."""

    EXTRAJUDICIAL = "extrajudicial"
    JUDICIAL_DUNNING = "judicial_dunning"
    FORECLOSURE = "foreclosure"
    LONG_TERM_MONITORING = "long_term_monitoring"
    ENDED = "ended"


class ProcessingState(StrEnum):
    """Whether the agency is working on the case."""

    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    CANCELED_BY_CLIENT = "canceled_by_client"
    CANCELED_BY_SERVICE_PROVIDER = "canceled_by_service_provider"
    ENDED = "ended"


class PaymentState(StrEnum):
    """How much of the case the debtor has paid."""

    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    FULLY_PAID = "fully_paid"


CLOSED_PROCESSING_STATES = frozenset(
    {ProcessingState.CANCELED_BY_CLIENT, ProcessingState.CANCELED_BY_SERVICE_PROVIDER, ProcessingState.ENDED}
)


class CaseRejected(Exception):
    """The agency refused the case (e.g. below its minimum, address missing); resubmitting will not help."""

    def __init__(
        self,
        reason: str,
        *,
        field_errors: Mapping[str, list[str]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field_errors: dict[str, list[str]] = dict(field_errors or {})
        self.status = status


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """A postal address; ``country`` is ISO 3166-1 alpha-2."""

    street: str
    postal_code: str
    city: str
    country: str = "DE"
    house_number: str | None = None

    @property
    def street_line(self) -> str:
        """Return street and house number as one line."""
        return f"{self.street} {self.house_number}" if self.house_number else self.street


@dataclass(frozen=True, slots=True)
class Creditor:
    """The merchant the claim belongs to."""

    name: str
    address: PostalAddress


@dataclass(frozen=True, slots=True)
class Debtor:
    """The buyer; a business names its ``organization``, a consumer their first and last name."""

    kind: DebtorKind
    address: PostalAddress | None
    last_name: str | None = None
    first_name: str | None = None
    salutation: str | None = None
    organization: str | None = None
    birth_date: date | None = None
    email: str | None = None
    phone: str | None = None

    @property
    def display_name(self) -> str:
        """Return the name the agency will address."""
        person = " ".join(part for part in (self.first_name, self.last_name) if part)
        return self.organization or person


@dataclass(frozen=True, slots=True)
class Charge:
    """An additional charge with its reason; interest also names its rate (% p.a.) and period."""

    type: ChargeType
    amount: Decimal
    reason: str
    charged_on: date | None = None
    rate: Decimal | None = None
    period_start: date | None = None
    period_end: date | None = None

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("a charge must be positive")
        if self.type is ChargeType.INTEREST and None in (self.rate, self.period_start, self.period_end):
            raise ValueError("interest needs its rate and period (§13a RDG)")


@dataclass(frozen=True, slots=True)
class DebtorPayment:
    """A payment the debtor made to the merchant; ``key`` identifies it for deduplication."""

    key: str
    amount: Decimal
    value_date: date

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("a payment must be positive")


@dataclass(frozen=True, slots=True)
class LineItem:
    """One order line; ``amount`` is the gross line total."""

    description: str
    quantity: int
    amount: Decimal
    unit: str = "pcs"


@dataclass(frozen=True, slots=True)
class Claim:
    """The receivable: references, dates, principal, charges, payments already made and order lines."""

    your_reference: str
    invoice_number: str
    subject_matter: str
    order_date: date
    invoice_date: date
    due_date: date
    principal: Decimal
    reminder_date: date | None = None  # first real Mahnung, not a Zahlungserinnerung
    delay_date: date | None = None  # start of default (Verzug)
    charges: tuple[Charge, ...] = ()
    payments: tuple[DebtorPayment, ...] = ()
    items: tuple[LineItem, ...] = ()
    disputed: bool = False
    currency: str = "EUR"

    @property
    def charges_total(self) -> Decimal:
        """Return the sum of all additional charges."""
        return sum((charge.amount for charge in self.charges), Decimal("0"))

    @property
    def paid_total(self) -> Decimal:
        """Return the sum of the payments made before handover."""
        return sum((payment.amount for payment in self.payments), Decimal("0"))

    @property
    def total(self) -> Decimal:
        """Return the open amount: principal plus charges minus payments already made."""
        return self.principal + self.charges_total - self.paid_total


@dataclass(frozen=True, slots=True)
class DunningNotice:
    """One reminder or Mahnung that went out, with its fee and payment deadline."""

    stage: str
    sent_at: datetime
    deadline: date | None = None
    fee: Decimal = Decimal("0")


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """The invoice as sent to the buyer."""

    content: bytes
    filename: str
    mime_type: str = "application/pdf"


@dataclass(frozen=True, slots=True)
class HandoverCase:
    """Everything an agency needs to take over one receivable."""

    creditor: Creditor
    debtor: Debtor
    claim: Claim
    dunning_history: tuple[DunningNotice, ...] = ()
    document: InvoiceDocument | None = None

    @property
    def your_reference(self) -> str:
        """Return ClaimBridge's idempotency key, used as the agency reference."""
        return self.claim.your_reference


@dataclass(frozen=True, slots=True)
class CaseRef:
    """How to find a case at its agency again; store ``case_id`` with the handover."""

    agency: str
    case_id: str
    your_reference: str


@dataclass(frozen=True, slots=True)
class Balance:
    """What the debtor still owes, split the way agencies report it."""

    principal: Decimal
    interest: Decimal
    costs: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class CollectedPayment:
    """A payment the agency collected from the debtor."""

    id: str
    amount: Decimal
    value_date: date


@dataclass(frozen=True, slots=True)
class CaseStatus:
    """The agency's view of a case; the three axes are None until the agency accepted it."""

    ref: CaseRef
    submission: SubmissionState
    legal_stage: LegalStage | None = None
    processing_state: ProcessingState | None = None
    payment_state: PaymentState = PaymentState.UNPAID
    balance: Balance | None = None
    collected_payments: tuple[CollectedPayment, ...] = ()
    rejection_reason: str | None = None
    agency_reference: str | None = None  # the agency's file number (Aktenzeichen)
    last_update: str | None = None  # the title of the agency's latest status update
    updated_at: datetime | None = None

    @property
    def collected_total(self) -> Decimal:
        """Return the sum of the payments the agency collected."""
        return sum((payment.amount for payment in self.collected_payments), Decimal("0"))

    @property
    def closed(self) -> bool:
        """Tell whether the agency will do nothing more on this case."""
        return (
            self.submission is SubmissionState.REJECTED
            or self.legal_stage is LegalStage.ENDED
            or self.processing_state in CLOSED_PROCESSING_STATES
        )


class CollectionAgency(abc.ABC):
    """A collection agency that takes over receivables and reports back on them."""

    agency: str

    @abc.abstractmethod
    def find_case(self, your_reference: str) -> CaseRef | None:
        """Return the case filed under ``your_reference`` (in any state), or None."""

    @abc.abstractmethod
    def submit_case(self, case: HandoverCase) -> CaseRef:
        """Create, complete and release the case once; resume a half-done earlier attempt.

        Raise ``CaseRejected`` when the agency refuses the case.
        """

    @abc.abstractmethod
    def get_status(self, case_ref: CaseRef) -> CaseStatus:
        """Return the case's current status."""

    @abc.abstractmethod
    def report_direct_payment(self, case_ref: CaseRef, payment: DebtorPayment) -> None:
        """Tell the agency about a payment the debtor made to the merchant; a repeat of ``payment.key`` is a no-op."""

    @abc.abstractmethod
    def withdraw(self, case_ref: CaseRef, reason: str) -> None:
        """Take the case back from the agency; withdrawing twice is a no-op."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release network resources."""
