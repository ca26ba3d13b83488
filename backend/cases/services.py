"""The built-in agency: storing handed-over cases and recording what staff report on them.

Staff report status changes on the three axes of collection.md (legal stage, processing state, payment
state), payments the agency collected, and a refusal. A payment without an explicit payment state moves the
payment state to ``partially_paid`` or ``fully_paid`` by what is still open. Open amounts are allocated
costs → interest → principal (§367(1) BGB), as an agency reports them.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from backend.cases.models import AgencyCase, AgencyCaseEvent, AgencyCasePayment
from backend.dates import berlin_today
from backend.errors import ConflictError, NotFoundError, UserValueError
from backend.extensions import db, utcnow
from connectors.agencies.base import ChargeType, HandoverCase

ZERO = Decimal("0.00")
CLOSED_PROCESSING = ("canceled_by_client", "canceled_by_service_provider", "ended")


def case_document(value: Any) -> Any:
    """Return a handover case (or any part of it) as JSON-ready data: money and dates as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: case_document(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [case_document(item) for item in value]
    if isinstance(value, bytes):
        return {"size": len(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal | date | datetime):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    return value


def find_case(merchant_id: int, your_reference: str) -> AgencyCase | None:
    """Return the merchant's case filed under ``your_reference``."""
    return db.session.scalar(
        sa.select(AgencyCase).filter_by(merchant_id=merchant_id, your_reference=your_reference)
    )


def receive_case(merchant_id: int, case: HandoverCase) -> AgencyCase:
    """File a handed-over case once; a repeat with the same reference returns the first one."""
    existing = find_case(merchant_id, case.your_reference)
    if existing is not None:
        return existing
    claim = case.claim
    interest = sum((c.amount for c in claim.charges if c.type is ChargeType.INTEREST), ZERO)
    row = AgencyCase(
        merchant_id=merchant_id,
        your_reference=case.your_reference,
        data=case_document(case),
        debtor_name=case.debtor.display_name[:300],
        invoice_number=claim.invoice_number,
        currency=claim.currency,
        principal=claim.principal,
        interest=interest,
        costs=claim.charges_total - interest,
        paid_before=claim.paid_total,
    )
    if case.document is not None:
        row.document_content = case.document.content
        row.document_filename = case.document.filename
        row.document_mime_type = case.document.mime_type
    db.session.add(row)
    db.session.flush()
    _event(row, "received", "agency:builtin", {"total": str(claim.total)}, None)
    return row


def _event(case: AgencyCase, kind: str, actor: str, data: dict[str, Any], note: str | None) -> None:
    db.session.add(AgencyCaseEvent(case_id=case.id, kind=kind, actor=actor, data=data, note=note))


def payments_of(case: AgencyCase, source: str | None = None) -> list[AgencyCasePayment]:
    """Return the case's payments (of one source), oldest first."""
    query = sa.select(AgencyCasePayment).filter_by(case_id=case.id).order_by(AgencyCasePayment.id)
    if source is not None:
        query = query.filter_by(source=source)
    return list(db.session.scalars(query))


def open_balance(case: AgencyCase) -> dict[str, Decimal]:
    """Return what is still open as principal, interest and costs, payments credited costs first (§367)."""
    paid = sum((p.amount for p in payments_of(case)), ZERO)
    parts = {"costs": case.costs, "interest": case.interest, "principal": case.principal - case.paid_before}
    for name, amount in parts.items():
        credited = min(amount, paid)
        parts[name] = amount - credited
        paid -= credited
    parts["total"] = parts["costs"] + parts["interest"] + parts["principal"]
    return parts


def add_payment(
    case: AgencyCase, *, source: str, reference: str, amount: Decimal, value_date: date, actor: str
) -> bool:
    """Book a payment once per (source, reference); return False when it was booked before."""
    if amount <= 0:
        raise UserValueError(
            "A payment must be positive.", details={"/payment/amount": ["Must be positive."]}
        )
    exists = db.session.scalar(
        sa.select(AgencyCasePayment.id).filter_by(case_id=case.id, source=source, reference=reference)
    )
    if exists is not None:
        return False
    db.session.add(
        AgencyCasePayment(
            case_id=case.id,
            source=source,
            reference=reference,
            amount=amount,
            value_date=value_date,
            actor=actor,
        )
    )
    db.session.flush()
    _event(case, "payment", actor, {"source": source, "amount": str(amount), "reference": reference}, None)
    return True


def _derived_payment_state(case: AgencyCase) -> str:
    if open_balance(case)["total"] <= 0:
        return "fully_paid"
    return "partially_paid" if payments_of(case) else "unpaid"


def list_cases(merchant_id: int | None, *, page: int = 1, per_page: int = 50) -> tuple[list[AgencyCase], int]:
    """Return one page of cases (of one merchant, or every merchant for staff) and the total count."""
    conditions = [] if merchant_id is None else [AgencyCase.merchant_id == merchant_id]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(AgencyCase).where(*conditions)) or 0
    rows = db.session.scalars(
        sa.select(AgencyCase)
        .where(*conditions)
        .order_by(AgencyCase.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


def get_case(merchant_id: int | None, case_id: int, *, for_update: bool = False) -> AgencyCase:
    """Return one case; another merchant's case is not found."""
    query = sa.select(AgencyCase).filter_by(id=case_id)
    if merchant_id is not None:
        query = query.filter_by(merchant_id=merchant_id)
    if for_update:
        query = query.with_for_update()
    case = db.session.scalar(query)
    if case is None:
        raise NotFoundError(f"case {case_id} not found")
    return case


def record_case_event(case: AgencyCase, values: dict[str, Any], *, actor: str) -> AgencyCase:
    """Apply what staff report: new status axes, a payment collected, a refusal, a note.

    Interest is owed up to a payment's value date, so a reported one after today would claim more than the
    debtor owes (a day of the reporting clock ahead is allowed); it is refused before anything changes.
    """
    if case.submission_state == "rejected":
        raise ConflictError(f"case {case.id} was rejected; nothing more can be recorded on it")
    payment = values.get("payment")
    value_date = (payment.get("value_date") or berlin_today()) if payment is not None else None
    if value_date is not None and value_date > berlin_today() + timedelta(days=1):
        raise UserValueError(
            "A payment cannot have been received after today.",
            details={"/payment/value_date": ["Must not be after today."]},
        )
    changes: dict[str, Any] = {}
    for axis in ("legal_stage", "processing_state", "payment_state"):
        value = values.get(axis)
        if value is not None and value != getattr(case, axis):
            changes[axis] = [getattr(case, axis), value]
            setattr(case, axis, value)
    if values.get("rejection_reason"):
        changes["submission_state"] = [case.submission_state, "rejected"]
        case.submission_state = "rejected"
        case.rejection_reason = values["rejection_reason"]
    if payment is not None and value_date is not None:
        reference = payment.get("reference") or f"builtin-{uuid.uuid4().hex}"
        add_payment(
            case,
            source="collected",
            reference=reference,
            amount=payment["amount"],
            value_date=value_date,
            actor=actor,
        )
        if values.get("payment_state") is None:
            case.payment_state = _derived_payment_state(case)
    if changes:
        _event(case, "status", actor, changes, values.get("note"))
    elif values.get("note") and payment is None:
        _event(case, "note", actor, {}, values["note"])
    case.last_update = values.get("note") or case.last_update
    case.updated_at = utcnow()
    db.session.flush()
    return case


def withdraw_case(case: AgencyCase, reason: str, *, actor: str) -> None:
    """Stop working the case for the merchant (idempotent)."""
    if case.processing_state in CLOSED_PROCESSING or case.submission_state == "rejected":
        return
    case.processing_state = "canceled_by_client"
    case.updated_at = utcnow()
    _event(case, "withdrawn", actor, {}, reason)
