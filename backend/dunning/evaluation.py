"""Due evaluation: which receivables are due for which stage, queued set-based in batches.

``queue_due_notices`` runs one set-based statement per batch (``due_selection``): it joins the receivables
with each merchant's effective schedule (saved stages, else ``schedule.default_schedule``) and with the last
sent notice, and mirrors ``schedule.next_stage``:

- ``dunning_level`` is the level of the last live notice (reminder 1, dunning 2, final notice 3; 0 = none);
  the candidate is the first stage whose level is above it;
- the candidate is due once ``due_date + offset_days <= today`` (Europe/Berlin) and, after the first notice,
  once the previous notice was *sent* and its stated deadline has passed (``deadline_on < today``);
- only receivables that are owed money and free to dun: state open or partially_paid, in euro, balance
  above zero, not disputed, no stop on the order, no stop on the buyer.

The selected rows are locked (``FOR UPDATE OF receivables SKIP LOCKED`` on PostgreSQL, so many workers split
the work; SQLite serialises writers) and, in the same transaction, each gets a queued notice and its new
``dunning_level``. A payment, a dispute or a stop therefore ends dunning at once: the statement no longer
selects the receivable, and the sending step re-checks the receivable and cancels a queued notice that is no
longer owed (``dunning_blocker``). See ``backend.dunning.models`` for the exactly-once argument. ``email``
notices are sent by ``sending``, ``shop`` notices get a ``ShopAction`` (``shop_channel``), and ``none`` and
``letter`` notices are only recorded, dated the day they were decided.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from backend.dates import BERLIN, berlin_date, berlin_today
from backend.dunning import claims
from backend.dunning.claims import SUPPORTED_CURRENCY, DebtorKind
from backend.dunning.merchant_settings import LEVELS
from backend.dunning.models import (
    DunningBuyerStop,
    DunningNotice,
    DunningScheduleRecord,
    DunningStageRecord,
    NoticeStatus,
    ShopAction,
)
from backend.dunning.notice_building import payment_deadline, recorded_notice_sha256
from backend.dunning.receivable_claims import limitation_floor
from backend.dunning.schedule import (
    DEFAULT_GRACE_BANKING_DAYS,
    GRACE_BANKING_DAYS,
    default_schedule,
    latest_due_date_past_grace,
)
from backend.extensions import db, utcnow
from backend.merchants.models import Merchant
from backend.receivables import ledger
from backend.receivables.ledger import EventKind
from backend.receivables.models import Receivable
from backend.receivables.states import OUTSTANDING
from backend.types import Money

EVALUATION_BATCH = 500
MAX_CONFLICTS = 5
# Notices ClaimBridge only records (the merchant's system sends them, or the merchant posts the letter).
RECORDED_CHANNELS = ("none", "letter")


def _days_before(day: date, days: sa.ColumnElement[int], dialect: str) -> sa.ColumnElement[date]:
    """Return SQL for ``day - days`` (a stage offset column) in the given dialect."""
    if dialect == "postgresql":
        return sa.cast(sa.literal(day, sa.Date), sa.Date) - days
    return sa.func.date(sa.literal(day.isoformat()), "-" + sa.cast(days, sa.String) + " days")


def _effective_stages() -> sa.CTE:
    """Every merchant's stages: the saved ones, else the default schedule's (for each debtor kind)."""
    stage = DunningStageRecord.__table__
    schedule = DunningScheduleRecord.__table__
    merchant = Merchant.__table__
    parts: list[sa.Select[Any]] = [
        sa.select(
            stage.c.merchant_id,
            stage.c.debtor_kind,
            stage.c.level,
            stage.c.kind,
            stage.c.offset_days,
            stage.c.fee,
            stage.c.payment_deadline_days,
            stage.c.channel,
            schedule.c.grace_banking_days,
        ).join(
            schedule,
            sa.and_(
                schedule.c.merchant_id == stage.c.merchant_id, schedule.c.debtor_kind == stage.c.debtor_kind
            ),
        )
    ]
    for debtor_kind in DebtorKind:
        saved = sa.exists().where(
            schedule.c.merchant_id == merchant.c.id, schedule.c.debtor_kind == debtor_kind.value
        )
        for default in default_schedule(debtor_kind).stages:
            parts.append(
                sa.select(
                    merchant.c.id,
                    sa.literal(debtor_kind.value, sa.String),
                    sa.literal(LEVELS[default.kind], sa.Integer),
                    sa.literal(default.kind.value, sa.String),
                    sa.literal(default.offset_days, sa.Integer),
                    sa.literal(default.fee, Money),
                    sa.literal(default.payment_deadline_days, sa.Integer),
                    sa.literal(default.channel.value, sa.String),
                    sa.literal(DEFAULT_GRACE_BANKING_DAYS, sa.Integer),
                ).where(~saved)
            )
    return sa.union_all(*parts).cte("effective_stages")


def _grace_passed_by(today: date, transitions: sa.CTE) -> sa.ColumnElement[date]:
    """Return SQL for the latest due date whose grace period (1-3 banking days) has passed by ``today``."""
    low, high = GRACE_BANKING_DAYS
    return sa.case(
        *(
            (transitions.c.grace_banking_days == days, latest_due_date_past_grace(today, days))
            for days in range(low, high + 1)
        ),
        else_=latest_due_date_past_grace(today, high),
    )


def due_selection(
    today: date, dialect: str, *, limit: int | None = None, lock: bool = True
) -> sa.Select[Any]:
    """Return the one statement that selects receivables due for their next stage on ``today``.

    Each row: receivable id, merchant, connection, new level, kind, fee, deadline days and channel. With
    ``lock`` the receivables are claimed ``FOR UPDATE SKIP LOCKED`` (ignored on SQLite).
    """
    stages = _effective_stages()
    previous_level = sa.func.coalesce(
        sa.func.lag(stages.c.level).over(
            partition_by=(stages.c.merchant_id, stages.c.debtor_kind), order_by=stages.c.level
        ),
        0,
    )
    transitions = sa.select(
        stages,
        previous_level.label("from_level"),
        _days_before(today, stages.c.offset_days, dialect).label("due_by"),
    ).cte("transitions")
    receivable = Receivable.__table__
    previous = DunningNotice.__table__.alias("previous_notice")
    stop = DunningBuyerStop.__table__
    query = (
        sa.select(
            receivable.c.id.label("receivable_id"),
            receivable.c.merchant_id,
            receivable.c.connection_id,
            transitions.c.level,
            transitions.c.kind,
            transitions.c.fee,
            transitions.c.payment_deadline_days,
            transitions.c.channel,
        )
        .select_from(
            receivable.join(
                transitions,
                sa.and_(
                    transitions.c.merchant_id == receivable.c.merchant_id,
                    transitions.c.debtor_kind == receivable.c.debtor_kind,
                    receivable.c.dunning_level >= transitions.c.from_level,
                    receivable.c.dunning_level < transitions.c.level,
                ),
            ).outerjoin(
                previous,
                sa.and_(
                    previous.c.receivable_id == receivable.c.id,
                    previous.c.level == receivable.c.dunning_level,
                    previous.c.status == NoticeStatus.SENT.value,
                ),
            )
        )
        .where(
            receivable.c.state.in_(sorted(state.value for state in OUTSTANDING)),
            receivable.c.disputed_at.is_(None),
            receivable.c.dunning_stopped_at.is_(None),
            receivable.c.currency == SUPPORTED_CURRENCY,
            receivable.c.total_amount - receivable.c.paid_amount - receivable.c.credited_amount > 0,
            receivable.c.due_date <= transitions.c.due_by,
            receivable.c.due_date >= limitation_floor(today),
            sa.or_(
                transitions.c.from_level > 0, receivable.c.due_date <= _grace_passed_by(today, transitions)
            ),
            sa.or_(receivable.c.dunning_level == 0, previous.c.deadline_on < today),
            ~sa.exists().where(
                stop.c.merchant_id == receivable.c.merchant_id, stop.c.email_key == receivable.c.email_key
            ),
        )
    )
    # No ORDER BY: workers claim whatever is due (SKIP LOCKED), and PostgreSQL can stop at the LIMIT
    # instead of sorting every due row first.
    if limit is not None:
        query = query.limit(limit)
    if lock:
        query = query.with_for_update(skip_locked=True, of=receivable)
    return query


def _queue_batch(today: date, now: datetime, dialect: str, batch_size: int) -> Counter[str]:
    """Claim one batch of due receivables and queue their notices; the caller commits."""
    rows = db.session.execute(due_selection(today, dialect, limit=batch_size)).all()
    counts: Counter[str] = Counter()
    notices = []
    for row in rows:
        notice = DunningNotice(
            merchant_id=row.merchant_id,
            receivable_id=row.receivable_id,
            kind=row.kind,
            level=row.level,
            channel=row.channel,
            fee=Decimal(row.fee).quantize(claims.CENT),
            payment_deadline_days=row.payment_deadline_days,
            queued_on=today,
            status=NoticeStatus.QUEUED.value,
            attempts=0,
            next_attempt_at=now,
        )
        if row.channel in RECORDED_CHANNELS:
            # The merchant's own system dunns or the merchant posts the letter: we record the notice as
            # given on the day it was due.
            notice.status = NoticeStatus.SENT.value
            notice.sent_on = today
            # A day decided late (a replay of past days) is recorded at noon of that day, so the time of
            # sending and its legal day agree.
            notice.sent_at = now if berlin_date(now) == today else datetime.combine(today, time(12), BERLIN)
            notice.deadline_on = payment_deadline(notice, today)
        notices.append((row, notice))
        db.session.add(notice)
        counts[row.channel] += 1
    db.session.flush()
    for row, notice in notices:
        if row.channel in RECORDED_CHANNELS:
            notice.content_sha256 = recorded_notice_sha256(notice)
        if row.channel == "shop":
            db.session.add(
                ShopAction(
                    merchant_id=row.merchant_id,
                    connection_id=row.connection_id,
                    receivable_id=row.receivable_id,
                    notice_id=notice.id,
                    action="remind",
                    next_attempt_at=now,
                )
            )
        recorded = row.channel in RECORDED_CHANNELS
        kind = EventKind.DUNNING_NOTICE_RECORDED if recorded else EventKind.DUNNING_NOTICE_QUEUED
        ledger.record_history(
            row.receivable_id,
            kind,
            actor="dunning",
            data={"notice_id": notice.id, "kind": row.kind, "channel": row.channel},
        )
    ledger.set_dunning_levels((row.receivable_id, row.level) for row in rows)
    return counts


def queue_due_notices(today: date | None = None, *, batch_size: int = EVALUATION_BATCH) -> str:
    """Queue every notice due on ``today`` (Berlin), batch by batch, committing each batch."""
    today = today or berlin_today()
    dialect = db.session.get_bind().dialect.name
    totals: Counter[str] = Counter()
    conflicts = 0
    while True:
        try:
            counts = _queue_batch(today, utcnow(), dialect, batch_size)
            db.session.commit()
        except sa.exc.IntegrityError:
            # Another worker queued one of these stages first (the unique index caught it): start over.
            db.session.rollback()
            conflicts += 1
            if conflicts > MAX_CONFLICTS:
                raise
            continue
        totals.update(counts)
        if sum(counts.values()) < batch_size:
            break
    queued = sum(totals.values())
    recorded = sum(totals[channel] for channel in RECORDED_CHANNELS)
    return f"{queued} due ({totals['email']} email, {totals['shop']} shop, {recorded} recorded)"
