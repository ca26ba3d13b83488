"""The merchant's side of handovers: listing them, approving, rejecting and withdrawing them."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from backend.audit.services import record_event
from backend.errors import NotFoundError
from backend.extensions import db, utcnow
from backend.handovers.agencies import agency_for
from backend.handovers.errors import AgencyRefusedError, AgencyUnavailableError, HandoverStateError
from backend.handovers.mirroring import record_agency_payments
from backend.handovers.models import Handover, HandoverPayment, HandoverStatus, HandoverStatusUpdate
from backend.handovers.shop_updates import queue_case_fields, queue_order_note, queue_shop_payment
from backend.handovers.states import check_transition
from backend.receivables import ledger
from backend.receivables.ledger import EventKind
from backend.receivables.models import Receivable
from backend.receivables.states import State
from connectors.agencies.base import CaseRef, CaseStatus
from connectors.errors import ClientError, ConnectorError
from connectors.errors import ConflictError as AgencyConflict
from connectors.errors import NotFoundError as AgencyNotFound

logger = logging.getLogger(__name__)

DECISIONS = {"approve": HandoverStatus.APPROVED, "reject": HandoverStatus.REJECTED}


def list_handovers(
    merchant_id: int, *, status: str | None, page: int, per_page: int, search: str | None = None
) -> tuple[list[Handover], int]:
    """Return one page of the merchant's handovers (newest first) and the total count.

    ``search`` matches words of the order number, the buyer's name, company or e-mail (case-insensitive).
    """
    conditions: list[sa.ColumnElement[bool]] = [Handover.merchant_id == merchant_id]
    if status is not None:
        conditions.append(Handover.status == status)
    words = (search or "").split()[:5]
    if words:
        # Every word must appear in the order number or the buyer's data (first and last name are separate).
        matches = [
            sa.or_(
                Receivable.number.icontains(word, autoescape=True),
                *(
                    sa.cast(column, sa.String).icontains(word, autoescape=True)
                    for column in (Receivable.buyer, Receivable.billing_address)
                ),
            )
            for word in words
        ]
        conditions.append(
            Handover.receivable_id.in_(
                sa.select(Receivable.id).where(Receivable.merchant_id == merchant_id, *matches)
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Handover).where(*conditions)) or 0
    rows = db.session.scalars(
        sa.select(Handover)
        .where(*conditions)
        .order_by(Handover.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


def get_handover(merchant_id: int, handover_id: int, *, for_update: bool = False) -> Handover:
    """Return one of the merchant's handovers; another merchant's is not found."""
    query = sa.select(Handover).filter_by(id=handover_id, merchant_id=merchant_id)
    if for_update:
        query = query.with_for_update()
    handover = db.session.scalar(query)
    if handover is None:
        raise NotFoundError(f"handover {handover_id} not found")
    return handover


def status_history(handover_id: int) -> list[HandoverStatusUpdate]:
    """Return the agency status changes of a handover, oldest first."""
    return list(
        db.session.scalars(
            sa.select(HandoverStatusUpdate)
            .filter_by(handover_id=handover_id)
            .order_by(HandoverStatusUpdate.id)
        )
    )


def payments_of(handover_id: int) -> list[HandoverPayment]:
    """Return the payments recorded on a handover, oldest first."""
    return list(
        db.session.scalars(
            sa.select(HandoverPayment).filter_by(handover_id=handover_id).order_by(HandoverPayment.id)
        )
    )


def apply_decision(handover: Handover, target: HandoverStatus, *, actor: str, note: str | None) -> None:
    """Move a handover to a decision (the merchant's or a rule's), with its history and audit event."""
    try:
        check_transition(handover.status, target)
    except ValueError as error:
        raise HandoverStateError(str(error), details={"id": handover.id, "status": handover.status}) from None
    previous = handover.status
    handover.status = target.value
    handover.decided_at = utcnow()
    handover.decided_by = actor[:300]
    handover.decision_note = note
    if target is HandoverStatus.APPROVED:
        handover.next_attempt_at = utcnow()
    ledger.record_history(
        handover.receivable_id,
        EventKind(f"handover_{target.value}"),
        actor=actor,
        data={"handover": handover.id, "note": note},
    )
    record_event(
        f"handover.{target.value}",
        actor=actor,
        merchant_id=handover.merchant_id,
        target_type="handover",
        target_id=handover.id,
        details={"from": previous, "note": note},
    )


def decide_handover(
    merchant_id: int, handover_id: int, decision: str, *, actor: str, note: str | None
) -> Handover:
    """Approve, reject or withdraw one handover; repeating a decision already taken is a no-op."""
    target = HandoverStatus.WITHDRAWN if decision == "withdraw" else DECISIONS[decision]
    handover = get_handover(merchant_id, handover_id, for_update=True)
    if handover.status != target.value:
        apply_decision(handover, target, actor=actor, note=note)
    return handover


def withdraw_handover(merchant_id: int, handover_id: int, *, actor: str, note: str | None) -> Handover:
    """Take a handover back; a submitted one is withdrawn at the agency first (repeating is a no-op).

    After submission the agency is asked to stop; if it refuses, nothing changes here and its answer is
    raised as ``AgencyRefusedError`` (409), and an unreachable agency as ``AgencyUnavailableError`` (502).
    Once the agency agreed, a final status read records what it collected until then, the handover becomes
    ``withdrawn`` and the receivable leaves ``in_collection``: ``paid`` when nothing is left, else
    ``partially_paid`` or ``open`` by what was paid. The order's dunning stop stays (dunning does not start
    over by itself; the merchant lifts the stop to dun again) and the receivable is not proposed again
    automatically.
    """
    handover = get_handover(merchant_id, handover_id)
    if handover.status != HandoverStatus.SUBMITTED.value:
        return decide_handover(merchant_id, handover_id, "withdraw", actor=actor, note=note)
    ref = CaseRef(
        agency=handover.agency or "", case_id=handover.case_id or "", your_reference=handover.idempotency_key
    )
    reason = note or "withdrawn by the creditor"
    agency = agency_for(merchant_id)
    # End the read transaction: the agency call may be slow (the built-in agency writes in the next one).
    db.session.commit()
    try:
        _withdraw_at_agency(agency, ref, reason, handover_id)
        final = _final_status(agency, ref, handover_id)
    finally:
        agency.close()
    handover = get_handover(merchant_id, handover_id, for_update=True)
    if handover.status != HandoverStatus.SUBMITTED.value:
        # A concurrent request withdrew it, or the poller already saw the withdrawal and closed the case.
        return handover
    receivable = handover.receivable
    if final is not None and record_agency_payments(handover, receivable, final):
        queue_shop_payment(handover, receivable)
    check_transition(handover.status, HandoverStatus.WITHDRAWN)
    handover.status = HandoverStatus.WITHDRAWN.value
    handover.withdrawn_at = handover.closed_at = utcnow()
    handover.withdrawn_by = actor[:300]
    if receivable.state == State.IN_COLLECTION.value:
        ledger.reopen(receivable, reason="withdrawn from collection", actor=actor)
    ledger.record_history(
        receivable.id, EventKind.HANDOVER_WITHDRAWN, actor=actor, data={"handover": handover.id, "note": note}
    )
    record_event(
        "handover.withdrawn",
        actor=actor,
        merchant_id=merchant_id,
        target_type="handover",
        target_id=handover.id,
        details={"from": HandoverStatus.SUBMITTED.value, "note": note, "case": handover.case_id},
    )
    queue_case_fields(handover, "withdrawn")
    queue_order_note(handover, f"Withdrawn from collection ({handover.agency}): {reason}", "withdrawn")
    return handover


def _withdraw_at_agency(agency: Any, ref: CaseRef, reason: str, handover_id: int) -> None:
    try:
        agency.withdraw(ref, reason)
    except (ClientError, AgencyConflict, AgencyNotFound) as error:
        db.session.rollback()
        raise AgencyRefusedError(
            f"the agency refused the withdrawal: {error}",
            details={"id": handover_id, "agency_status": error.status},
        ) from None
    except ConnectorError as error:
        db.session.rollback()
        raise AgencyUnavailableError(
            f"the agency could not be asked to withdraw the case ({type(error).__name__}); try again",
            details={"id": handover_id},
        ) from None


def _final_status(agency: Any, ref: CaseRef, handover_id: int) -> CaseStatus | None:
    """Return the case's status after the withdrawal, or None when the agency cannot say right now."""
    try:
        return agency.get_status(ref)
    except ConnectorError as error:
        logger.warning("handover %s: no final status after withdrawal: %s", handover_id, type(error).__name__)
        return None


def decide_many(
    merchant_id: int, decision: str, ids: Iterable[int], *, actor: str, note: str | None
) -> list[Handover]:
    """Decide several handovers at once: all or none (an unknown id is 404, a wrong state 409)."""
    wanted = sorted(set(ids))
    rows = {
        row.id: row
        for row in db.session.scalars(
            sa.select(Handover)
            .where(Handover.merchant_id == merchant_id, Handover.id.in_(wanted))
            .order_by(Handover.id)
            .with_for_update()
        )
    }
    missing = [handover_id for handover_id in wanted if handover_id not in rows]
    if missing:
        raise NotFoundError("some handovers were not found", details={"/ids": [f"unknown: {missing}"]})
    return [
        decide_handover(merchant_id, handover_id, decision, actor=actor, note=note) for handover_id in wanted
    ]


@dataclasses.dataclass(frozen=True)
class HandoverRow:
    """One handover proposal as the admin page shows it (what ``list_handover_rows`` returns)."""

    id: int
    order_number: str
    buyer_name: str
    principal: Decimal
    interest: Decimal
    fees: Decimal
    total: Decimal
    currency: str
    status: str


def list_handover_rows(merchant_id: int) -> list[HandoverRow]:
    """Return the merchant's open proposals for the Shopware admin page."""
    rows = db.session.execute(
        sa.select(Handover, Receivable)
        .join(Receivable, Receivable.id == Handover.receivable_id)
        .where(Handover.merchant_id == merchant_id, Handover.status == HandoverStatus.PROPOSED.value)
        .order_by(Handover.id)
    ).all()
    return [
        HandoverRow(
            id=handover.id,
            order_number=receivable.number,
            buyer_name=buyer_name(receivable),
            principal=handover.principal,
            interest=Decimal(handover.breakdown["interest"]),
            fees=Decimal(handover.breakdown["dunning_fees"]) + Decimal(handover.breakdown["flat_fee"]),
            total=handover.total,
            currency=handover.currency,
            status=handover.status,
        )
        for handover, receivable in rows
    ]


def buyer_name(receivable: Receivable) -> str:
    """Return the name a receivable's buyer is shown by: company, person, else e-mail."""
    buyer = receivable.buyer or {}
    billing = receivable.billing_address or {}
    person = " ".join(p for p in (buyer.get("first_name"), buyer.get("last_name")) if p)
    return billing.get("company") or buyer.get("company") or person or buyer.get("email") or ""
