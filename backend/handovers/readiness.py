"""The handover gate: which receivables may be proposed (in SQL for the job) and what blocks one (for people).

``candidate_selection`` finds receivables that pass the gate of collection.md in SQL: outstanding (open or
partially paid), undisputed, no dunning stop on order or buyer, balance above the merchant's minimum, a *sent*
final notice whose deadline plus the schedule's ``handover_after_days`` has passed
(``schedule.handover_ready_on``), limitation not expired, and no handover yet. The final notice is the last
stage of every schedule and the dunning job only reaches it through the earlier ones, so "the configured
stages were sent" is the final notice being sent. ``handover_blockers`` names every unmet condition.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from backend.dates import berlin_today
from backend.dunning.claims import NoticeKind
from backend.dunning.errors import MissingBaseRateError, UnsupportedClaimError
from backend.dunning.models import DunningBuyerStop, DunningNotice, DunningScheduleRecord, NoticeStatus
from backend.dunning.receivable_claims import claim_on, limitation_floor, sent_notices
from backend.dunning.schedule import DEFAULT_HANDOVER_AFTER_DAYS
from backend.dunning.stops import dunning_blocker
from backend.extensions import db
from backend.handovers.models import Handover, HandoverRule
from backend.handovers.rules import ZERO, creditor_postal_address, debtor_postal_address, get_rules
from backend.receivables.models import Receivable
from backend.receivables.states import OUTSTANDING


def _plus_days(
    day: sa.ColumnElement[date], days: sa.ColumnElement[int], dialect: str
) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return day + days
    return sa.func.date(day, "+" + sa.cast(days, sa.String) + " days")


def candidate_selection(
    today: date, dialect: str, *, merchant_id: int | None = None, limit: int | None = None, lock: bool = True
) -> sa.Select[Any]:
    """Return the statement selecting receivables that pass the SQL part of the gate on ``today``."""
    receivable = Receivable.__table__
    final = DunningNotice.__table__.alias("final_notice")
    schedule = DunningScheduleRecord.__table__
    rule = HandoverRule.__table__
    handover = Handover.__table__
    stop = DunningBuyerStop.__table__
    after_days = sa.func.coalesce(schedule.c.handover_after_days, DEFAULT_HANDOVER_AFTER_DAYS)
    ready_on = _plus_days(final.c.deadline_on, after_days, dialect)
    today_value: Any = today if dialect == "postgresql" else today.isoformat()
    query = (
        sa.select(receivable.c.id, receivable.c.merchant_id)
        .select_from(
            receivable.join(
                final,
                sa.and_(
                    final.c.receivable_id == receivable.c.id,
                    final.c.kind == NoticeKind.FINAL_NOTICE.value,
                    final.c.status == NoticeStatus.SENT.value,
                ),
            )
            .outerjoin(
                schedule,
                sa.and_(
                    schedule.c.merchant_id == receivable.c.merchant_id,
                    schedule.c.debtor_kind == receivable.c.debtor_kind,
                ),
            )
            .outerjoin(rule, rule.c.merchant_id == receivable.c.merchant_id)
        )
        .where(
            receivable.c.state.in_(sorted(state.value for state in OUTSTANDING)),
            receivable.c.disputed_at.is_(None),
            receivable.c.dunning_stopped_at.is_(None),
            receivable.c.total_amount - receivable.c.paid_amount - receivable.c.credited_amount
            > sa.func.coalesce(rule.c.minimum_amount, ZERO),
            final.c.sent_on > receivable.c.due_date,
            final.c.deadline_on.is_not(None),
            ready_on <= today_value,
            receivable.c.due_date >= limitation_floor(today),
            ~sa.exists().where(handover.c.receivable_id == receivable.c.id),
            ~sa.exists().where(
                stop.c.merchant_id == receivable.c.merchant_id, stop.c.email_key == receivable.c.email_key
            ),
        )
        .order_by(receivable.c.id)
    )
    if merchant_id is not None:
        query = query.where(receivable.c.merchant_id == merchant_id)
    if limit is not None:
        query = query.limit(limit)
    if lock:
        query = query.with_for_update(skip_locked=True, of=receivable)
    return query


def address_blockers(receivable: Receivable, rule: HandoverRule | None) -> list[str]:
    """Return the gate conditions SQL cannot see (addresses), the Python part of the gate."""
    blockers = []
    if debtor_postal_address(receivable) is None:
        blockers.append("the billing address is incomplete (street, postal code and city are needed)")
    if creditor_postal_address(rule) is None:
        blockers.append("the merchant's creditor address is not set in the handover rules")
    return blockers


def handover_blockers(receivable: Receivable, today: date | None = None) -> list[str]:
    """Return every unmet handover condition of a receivable (empty when it may be proposed)."""
    today = today or berlin_today()
    rule = get_rules(receivable.merchant_id)
    blockers = []
    existing = db.session.scalar(
        sa.select(Handover).filter_by(receivable_id=receivable.id).order_by(Handover.id.desc()).limit(1)
    )
    if existing is not None:
        blockers.append(f"a handover exists already (status {existing.status})")
    reason = dunning_blocker(receivable)
    if reason is not None:
        blockers.append(reason)
    minimum = rule.minimum_amount if rule else ZERO
    if receivable.balance <= minimum:
        blockers.append(f"the balance {receivable.balance} is not above the minimum {minimum}")
    final = next((n for n in sent_notices(receivable.id) if n.kind == NoticeKind.FINAL_NOTICE.value), None)
    if final is None or final.deadline_on is None:
        blockers.append("the final notice has not been sent")
    else:
        ready_on = final.deadline_on + timedelta(days=_handover_after_days(receivable))
        if ready_on > today:
            blockers.append(f"the final notice's deadline has not passed; ready on {ready_on.isoformat()}")
        if final.sent_on <= receivable.due_date:
            blockers.append("the final notice was sent before the due date")
    blockers.extend(address_blockers(receivable, rule))
    if receivable.currency == "EUR" and receivable.total_amount > 0:
        try:
            breakdown = claim_on(receivable, today)
        except (MissingBaseRateError, UnsupportedClaimError) as error:
            blockers.append(str(error))
        else:
            if breakdown.time_barred:
                blockers.append(
                    f"the claim is time-barred since {breakdown.limitation_date + timedelta(days=1)}"
                )
            elif breakdown.default_start is None:
                blockers.append("default (Verzug) is not established")
    return blockers


def _handover_after_days(receivable: Receivable) -> int:
    record = db.session.get(DunningScheduleRecord, (receivable.merchant_id, receivable.debtor_kind))
    return record.handover_after_days if record else DEFAULT_HANDOVER_AFTER_DAYS
