"""Mirroring submitted cases back: agency status, collected payments, shop payments reported to the agency.

``poll_submitted_handovers`` reads each submitted case's status, records changes and the agency's payments
(once per payment id), raises the receivable's paid amount (``paid`` once nothing is left; the receivable stays
``in_collection`` while the case runs), and queues shop updates. It also notices payments the shop reported
after handover (the receivable's paid amount grew beyond what handover and agency explain) and reports them
to the agency with a stable key.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import sqlalchemy as sa

from backend.audit.services import record_event
from backend.dates import berlin_date, berlin_today
from backend.extensions import db, utcnow
from backend.handovers.agencies import agency_for
from backend.handovers.models import (
    Handover,
    HandoverPayment,
    HandoverStatus,
    HandoverStatusUpdate,
    PaymentSource,
)
from backend.handovers.shop_updates import queue_case_fields, queue_order_note, queue_shop_payment
from backend.handovers.states import check_transition
from backend.handovers.submission import reject_by_agency
from backend.receivables import ledger
from backend.receivables.ledger import EventKind, MoneySource
from backend.receivables.models import Receivable
from backend.receivables.states import State
from connectors.agencies.base import CaseRef, CaseStatus, DebtorPayment, PaymentState, SubmissionState
from connectors.errors import ConnectorError

logger = logging.getLogger(__name__)


def poll_submitted_handovers(limit: int = 200) -> str:
    """Read the agency status of submitted cases and mirror it; report shop payments; commits per handover."""
    rows = db.session.scalars(
        sa.select(Handover.id)
        .where(Handover.status == HandoverStatus.SUBMITTED.value)
        .order_by(sa.func.coalesce(Handover.last_polled_at, Handover.submitted_at), Handover.id)
        .limit(limit)
    ).all()
    db.session.commit()
    counts: Counter[str] = Counter()
    for handover_id in rows:
        try:
            counts[_poll_one(handover_id)] += 1
        except ConnectorError as error:
            db.session.rollback()
            logger.warning("handover %s: agency status unavailable: %s", handover_id, type(error).__name__)
            counts["unavailable"] += 1
        except Exception:
            db.session.rollback()
            logger.exception("handover %s: mirroring failed", handover_id)
            counts["failed"] += 1
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "nothing to poll"


def _poll_one(handover_id: int) -> str:
    handover = db.session.get(Handover, handover_id)
    ref = CaseRef(
        agency=handover.agency or "", case_id=handover.case_id or "", your_reference=handover.idempotency_key
    )
    agency = agency_for(handover.merchant_id)
    try:
        _record_shop_payments(handover)
        db.session.commit()
        _report_shop_payments(handover, ref, agency)
        status = agency.get_status(ref)
    finally:
        agency.close()
    handover = db.session.scalar(sa.select(Handover).filter_by(id=handover_id).with_for_update())
    if handover.status != HandoverStatus.SUBMITTED.value:
        db.session.rollback()
        return "skipped"
    outcome = apply_status(handover, status)
    db.session.commit()
    return outcome


def _record_shop_payments(handover: Handover) -> None:
    """Record growth of the receivable's paid amount that handover and agency do not explain: the shop's."""
    receivable = db.session.scalar(
        sa.select(Receivable).filter_by(id=handover.receivable_id).with_for_update()
    )
    explained = handover.paid_at_handover + handover.collected_total + handover.direct_total
    extra = receivable.paid_amount - explained
    if extra <= 0:
        return
    db.session.add(
        HandoverPayment(
            handover_id=handover.id,
            source=PaymentSource.SHOP.value,
            external_id=f"{handover.idempotency_key}:shop:{receivable.paid_amount}",
            amount=extra,
            # The shop's own date; one after today (a typo) is taken as today: interest runs up to it.
            value_date=min(berlin_date(receivable.paid_at or utcnow()), berlin_today()),
        )
    )
    handover.direct_total += extra
    ledger.record_history(
        receivable.id,
        EventKind.DIRECT_PAYMENT_AFTER_HANDOVER,
        actor="worker",
        data={"handover": handover.id, "amount": str(extra)},
    )


def _report_shop_payments(handover: Handover, ref: CaseRef, agency: Any) -> None:
    """Tell the agency about shop payments not reported yet; each carries its stable key."""
    pending = db.session.scalars(
        sa.select(HandoverPayment)
        .filter_by(handover_id=handover.id, source=PaymentSource.SHOP.value, reported_at=None)
        .order_by(HandoverPayment.id)
    ).all()
    for payment in pending:
        agency.report_direct_payment(
            ref, DebtorPayment(payment.external_id, payment.amount, payment.value_date)
        )
        payment.reported_at = utcnow()
        record_event(
            "handover.direct_payment_reported",
            actor="worker",
            merchant_id=handover.merchant_id,
            target_type="handover",
            target_id=handover.id,
            details={"amount": str(payment.amount), "key": payment.external_id},
        )
        db.session.commit()


def apply_status(handover: Handover, status: CaseStatus) -> str:
    """Record what changed at the agency: status history, collected payments, the receivable, shop updates."""
    now = utcnow()
    handover.last_polled_at = now
    snapshot = {
        "submission_state": status.submission.value,
        "legal_stage": status.legal_stage.value if status.legal_stage else None,
        "processing_state": status.processing_state.value if status.processing_state else None,
        "payment_state": status.payment_state.value,
        "balance_total": status.balance.total if status.balance else None,
    }
    changed = any(getattr(handover, name) != value for name, value in snapshot.items())
    if changed:
        for name, value in snapshot.items():
            setattr(handover, name, value)
        handover.agency_reference = status.agency_reference or handover.agency_reference
        db.session.add(HandoverStatusUpdate(handover_id=handover.id, title=status.last_update, **snapshot))
    receivable = handover.receivable
    new_payments = record_agency_payments(handover, receivable, status)
    if status.submission is SubmissionState.REJECTED:
        reject_by_agency(handover, status.rejection_reason or "rejected by the agency", {})
        return "rejected by agency"
    fully_paid = status.payment_state is PaymentState.FULLY_PAID or (
        status.balance is not None and status.balance.total <= 0 and status.collected_payments
    )
    if fully_paid and receivable.state == State.IN_COLLECTION.value:
        ledger.move_to(
            receivable, State.PAID, reason="the agency reports it paid", actor=f"agency:{handover.agency}"
        )
    if new_payments:
        queue_shop_payment(handover, receivable)
    if changed:
        number = db.session.scalar(
            sa.select(sa.func.count()).select_from(HandoverStatusUpdate).filter_by(handover_id=handover.id)
        )
        queue_case_fields(handover, f"status:{number}")
        queue_order_note(
            handover,
            f"Collection case: {snapshot['legal_stage'] or snapshot['submission_state']}, "
            f"{snapshot['processing_state'] or '-'}, {snapshot['payment_state']}"
            + (f" ({status.last_update})" if status.last_update else ""),
            f"status:{number}",
        )
    if status.closed:
        check_transition(handover.status, HandoverStatus.CLOSED)
        handover.status = HandoverStatus.CLOSED.value
        handover.closed_at = now
        if receivable.state == State.IN_COLLECTION.value:
            ledger.reopen(receivable, reason="the agency closed the case", actor=f"agency:{handover.agency}")
        record_event(
            "handover.closed",
            actor=f"agency:{handover.agency}",
            merchant_id=handover.merchant_id,
            target_type="handover",
            target_id=handover.id,
            details=snapshot | {"balance_total": str(snapshot["balance_total"])},
        )
        queue_case_fields(handover, "closed")
        return "closed"
    return "changed" if changed or new_payments else "unchanged"


def record_agency_payments(handover: Handover, receivable: Receivable, status: CaseStatus) -> int:
    """Book the agency's collected payments not recorded yet (once per payment id); return how many."""
    known = set(
        db.session.scalars(
            sa.select(HandoverPayment.external_id).filter_by(
                handover_id=handover.id, source=PaymentSource.AGENCY.value
            )
        )
    )
    added = 0
    for payment in status.collected_payments:
        if payment.id in known:
            continue
        db.session.add(
            HandoverPayment(
                handover_id=handover.id,
                source=PaymentSource.AGENCY.value,
                external_id=payment.id,
                amount=payment.amount,
                value_date=payment.value_date,
            )
        )
        handover.collected_total += payment.amount
        ledger.record_payment(
            receivable,
            payment.amount,
            payment.value_date,
            MoneySource.AGENCY,
            external_id=f"{handover.idempotency_key}:agency:{payment.id}",
            actor=f"agency:{handover.agency}",
            details={"handover": handover.id},
        )
        added += 1
    return added
