"""The built-in agency behind the ``CollectionAgency`` interface, so the handover worker treats it like any other.

It reads and writes the ``agency_cases`` tables in the caller's database session: the case is filed in the
same transaction that records the handover as submitted, so a crash leaves neither or both.
"""

from __future__ import annotations

from datetime import UTC

from backend.cases import services
from backend.cases.models import AgencyCase
from backend.extensions import db
from connectors.agencies.base import (
    Balance,
    CaseRef,
    CaseRejected,
    CaseStatus,
    CollectedPayment,
    CollectionAgency,
    DebtorPayment,
    HandoverCase,
    LegalStage,
    PaymentState,
    ProcessingState,
    SubmissionState,
)

AGENCY = "builtin"


class BuiltinAgency(CollectionAgency):
    """One merchant's inbox at the built-in agency."""

    agency = AGENCY

    def __init__(self, merchant_id: int) -> None:
        self.merchant_id = merchant_id

    def _ref(self, case: AgencyCase) -> CaseRef:
        return CaseRef(agency=self.agency, case_id=str(case.id), your_reference=case.your_reference)

    def _case(self, case_ref: CaseRef) -> AgencyCase:
        return services.get_case(self.merchant_id, int(case_ref.case_id))

    def find_case(self, your_reference: str) -> CaseRef | None:
        """Return the case filed under ``your_reference``, or None."""
        case = services.find_case(self.merchant_id, your_reference)
        return None if case is None else self._ref(case)

    def submit_case(self, case: HandoverCase) -> CaseRef:
        """File the case (once); the built-in agency accepts every case with a debtor address."""
        if case.debtor.address is None:
            raise CaseRejected(
                "the debtor has no postal address", field_errors={"debtor.address": ["required"]}
            )
        return self._ref(services.receive_case(self.merchant_id, case))

    def get_status(self, case_ref: CaseRef) -> CaseStatus:
        """Return the case as staff last reported it."""
        case = self._case(case_ref)
        rejected = case.submission_state == "rejected"
        balance = services.open_balance(case)
        return CaseStatus(
            ref=case_ref,
            submission=SubmissionState.REJECTED if rejected else SubmissionState.ACCEPTED,
            legal_stage=None if rejected else LegalStage(case.legal_stage),
            processing_state=None if rejected else ProcessingState(case.processing_state),
            payment_state=PaymentState(case.payment_state),
            balance=Balance(
                principal=balance["principal"],
                interest=balance["interest"],
                costs=balance["costs"],
                total=balance["total"],
            ),
            collected_payments=tuple(
                CollectedPayment(id=payment.reference, amount=payment.amount, value_date=payment.value_date)
                for payment in services.payments_of(case, "collected")
            ),
            rejection_reason=case.rejection_reason,
            agency_reference=f"CB-{case.id}",
            last_update=case.last_update,
            updated_at=case.updated_at.astimezone(UTC),
        )

    def report_direct_payment(self, case_ref: CaseRef, payment: DebtorPayment) -> None:
        """Book a payment the merchant received; a repeated key is a no-op."""
        case = self._case(case_ref)
        services.add_payment(
            case,
            source="direct",
            reference=payment.key,
            amount=payment.amount,
            value_date=payment.value_date,
            actor="merchant",
        )
        if case.payment_state != "fully_paid":
            case.payment_state = (
                "fully_paid" if services.open_balance(case)["total"] <= 0 else "partially_paid"
            )

    def withdraw(self, case_ref: CaseRef, reason: str) -> None:
        """Take the case back (idempotent)."""
        services.withdraw_case(self._case(case_ref), reason, actor="merchant")

    def close(self) -> None:
        """Flush what this adapter wrote; the caller's transaction commits it."""
        db.session.flush()
