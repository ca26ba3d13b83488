"""Handover proposals: each receivable that passes the gate gets its claim frozen into a ``proposed`` handover.

Each candidate of ``readiness.candidate_selection`` gets its claim computed by ``backend.dunning.claims``
(default must be established) and frozen; the merchant's auto-approval rule may approve it at once. Rejected
and withdrawn proposals are not proposed again automatically. Shops hear about new proposals.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from backend.audit.services import record_event
from backend.dates import berlin_today
from backend.dunning.errors import MissingBaseRateError, UnsupportedClaimError
from backend.dunning.receivable_claims import claim_on
from backend.errors import ConflictError
from backend.extensions import db, dialect_insert, utcnow
from backend.handovers.agencies import agency_name
from backend.handovers.case import freeze_breakdown
from backend.handovers.decisions import apply_decision
from backend.handovers.models import OPEN_STATUSES, Handover, HandoverRule, HandoverStatus, ShopUpdateKind
from backend.handovers.readiness import address_blockers, candidate_selection, handover_blockers
from backend.handovers.rules import ZERO, get_rules
from backend.handovers.shop_updates import queue_shop_update, shop_connections
from backend.receivables import ledger
from backend.receivables.ledger import EventKind
from backend.receivables.models import Receivable

logger = logging.getLogger(__name__)

PROPOSAL_BATCH = 200


def _auto_approval_limit(rule: HandoverRule | None, debtor_kind: str) -> Decimal | None:
    if rule is None:
        return None
    return rule.auto_approve_business_up_to if debtor_kind == "business" else rule.auto_approve_consumer_up_to


def _propose(receivable: Receivable, today: date, now: datetime, *, actor: str = "worker") -> Handover | None:
    rule = get_rules(receivable.merchant_id)
    if address_blockers(receivable, rule):
        return None
    try:
        breakdown = claim_on(receivable, today)
    except (MissingBaseRateError, UnsupportedClaimError) as error:
        logger.warning("receivable %s cannot be proposed: %s", receivable.id, error)
        return None
    if breakdown.time_barred or breakdown.default_start is None or breakdown.balance <= 0:
        return None
    frozen = freeze_breakdown(breakdown)
    statement = (
        dialect_insert(Handover)
        .values(
            merchant_id=receivable.merchant_id,
            receivable_id=receivable.id,
            status=HandoverStatus.PROPOSED.value,
            idempotency_key=f"cb-{uuid.uuid4().hex}",
            agency=agency_name(rule),
            currency=receivable.currency,
            principal=Decimal(frozen["principal"]),
            total=breakdown.balance,
            breakdown=frozen,
            paid_at_handover=receivable.paid_amount,
            limitation_date=breakdown.limitation_date,
            proposed_at=now,
            next_attempt_at=now,
            attempts=0,
            collected_total=ZERO,
            direct_total=ZERO,
            rejection_details={},
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["receivable_id"], index_where=Handover.status.in_(OPEN_STATUSES)
        )
        .returning(Handover.id)
    )
    handover_id = db.session.scalar(statement)
    if handover_id is None:
        return None
    handover = db.session.get(Handover, handover_id)
    ledger.record_history(
        receivable.id,
        EventKind.HANDOVER_PROPOSED,
        actor=actor,
        data={"handover": handover.id, "total": frozen["total"]},
    )
    record_event(
        "handover.proposed",
        actor=actor,
        merchant_id=receivable.merchant_id,
        target_type="handover",
        target_id=handover.id,
        details={"receivable": receivable.id, "total": frozen["total"]},
    )
    limit = _auto_approval_limit(rule, receivable.debtor_kind)
    if limit is not None and handover.total <= limit:
        apply_decision(
            handover,
            HandoverStatus.APPROVED,
            actor="auto-approval rule",
            note=f"{receivable.debtor_kind} claim up to {limit}",
        )
    return handover


def propose_handovers(today: date | None = None, *, batch_size: int = PROPOSAL_BATCH) -> str:
    """Turn every receivable that passes the gate into a proposed handover; tell shops about new ones."""
    today = today or berlin_today()
    now = utcnow()
    dialect = db.session.get_bind().dialect.name
    counts: Counter[str] = Counter()
    new_by_merchant: Counter[int] = Counter()
    seen: set[int] = set()
    while True:
        rows = [
            row
            for row in db.session.execute(candidate_selection(today, dialect, limit=batch_size)).all()
            if row.id not in seen
        ]
        if not rows:
            break
        for row in rows:
            seen.add(row.id)
            handover = _propose(db.session.get(Receivable, row.id), today, now)
            counts["proposed" if handover else "blocked"] += 1
            if handover is not None:
                new_by_merchant[row.merchant_id] += 1
                counts[handover.status] += handover.status == HandoverStatus.APPROVED
        db.session.commit()
    for merchant_id, count in new_by_merchant.items():
        _queue_proposal_notices(merchant_id, count)
    db.session.commit()
    return f"{counts['proposed']} proposed ({counts['approved']} auto-approved), {counts['blocked']} blocked"


def propose_handover(receivable: Receivable, *, actor: str, today: date | None = None) -> Handover:
    """Propose one receivable at the merchant's request; it must meet every condition the job checks."""
    today = today or berlin_today()
    blockers = handover_blockers(receivable, today)
    if blockers:
        raise ConflictError(
            "This receivable cannot be handed over yet: " + "; ".join(blockers),
            code="handover_not_ready",
            details={"blockers": blockers},
        )
    handover = _propose(receivable, today, utcnow(), actor=actor)
    if handover is None:
        raise ConflictError(
            "The claim cannot be computed for a handover today (see the receivable's readiness).",
            code="handover_not_ready",
        )
    return handover


def _queue_proposal_notices(merchant_id: int, count: int) -> None:
    open_count = proposal_count(merchant_id)
    text = (
        f"ClaimBridge: {count} new handover proposal(s) to a collection agency; "
        f"{open_count} waiting for your decision."
    )
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    for connection in shop_connections(merchant_id):
        queue_shop_update(
            merchant_id=merchant_id,
            connection_id=connection.id,
            handover_id=None,
            external_order_id=None,
            kind=ShopUpdateKind.ADMIN_NOTICE,
            key=f"proposals:{connection.id}:{stamp}",
            payload={"text": text},
        )


def proposal_count(merchant_id: int) -> int:
    """Return how many of the merchant's handovers wait for a decision."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Handover)
            .filter_by(merchant_id=merchant_id, status=HandoverStatus.PROPOSED.value)
        )
        or 0
    )


def handover_summary(merchant_id: int) -> dict[str, Any]:
    """Return the merchant's handover counts by status (what the WooCommerce plugin shows)."""
    rows = db.session.execute(
        sa.select(Handover.status, sa.func.count())
        .filter_by(merchant_id=merchant_id)
        .group_by(Handover.status)
    ).all()
    by_status = {status.value: 0 for status in HandoverStatus}
    by_status.update({status: count for status, count in rows})
    return {"proposed": by_status[HandoverStatus.PROPOSED.value], "by_status": by_status}
