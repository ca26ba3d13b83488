"""settings within their new bounds: policy amounts up to a Money column's maximum, schedule days up to ten years

Before this revision a policy amount had no upper bound and a schedule's day counts no maximum. Stored values
beyond the bounds the validation now enforces would make every read of the policy or schedule fail (every risk
check of the merchant, the dunning worker), so they are lowered to the bound, which means the same: no limit
any order reaches, a notice or handover that never comes. A schedule's stages are lowered together, so their
order and each payment deadline before the next stage hold as before.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-08 04:10:00

"""

import itertools
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

MONEY_MAX = Decimal("999999999999.99")  # backend.types.MONEY_MAX
MAX_DAYS = 3650  # backend.dunning.schedule.MAX_DAYS
# Between two lowered stages: room for the earlier one's payment deadline (at least a day) before the next.
STAGE_SPACING = 30
POLICY_AMOUNTS = ("max_order_amount", "max_first_order_amount", "max_open_exposure", "bureau_fail_max_amount")

policies = sa.table(
    "risk_policies",
    sa.column("merchant_id", sa.Integer),
    sa.column("document", backend.types.JSONType),
)
schedules = sa.table("dunning_schedules", sa.column("handover_after_days", sa.Integer))
stages = sa.table(
    "dunning_stages",
    sa.column("merchant_id", sa.Integer),
    sa.column("debtor_kind", sa.String),
    sa.column("level", sa.Integer),
    sa.column("offset_days", sa.Integer),
    sa.column("payment_deadline_days", sa.Integer),
)


def _too_large(value: object) -> bool:
    """Tell whether a stored amount lies beyond a Money column; one that is no number is left as it is."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return False
    return amount.is_finite() and amount > MONEY_MAX


def _lowered(values: dict, keys: tuple[str, ...]) -> dict:
    return {
        key: str(MONEY_MAX) if key in keys and _too_large(value) else value for key, value in values.items()
    }


def _lowered_stages(rows: list) -> list[tuple[int, int]]:
    """Return each stage's (offset, deadline) within MAX_DAYS, keeping the schedule's rules.

    Offsets stay strictly increasing (each at most MAX_DAYS less STAGE_SPACING per later stage, so a lowered
    stage still has room before the next), and a payment deadline still ends before the next stage.
    """
    count = len(rows)
    offsets = [
        min(row.offset_days, MAX_DAYS - STAGE_SPACING * (count - 1 - index)) for index, row in enumerate(rows)
    ]
    limits = [later - earlier - 1 for earlier, later in itertools.pairwise(offsets)] + [MAX_DAYS]
    return [
        (offset, min(row.payment_deadline_days, limit))
        for offset, limit, row in zip(offsets, limits, rows, strict=True)
    ]


def upgrade():
    bind = op.get_bind()
    for merchant_id, document in bind.execute(sa.select(policies.c.merchant_id, policies.c.document)).all():
        lowered = _lowered(document, POLICY_AMOUNTS)
        if isinstance(document.get("bureau"), dict):
            lowered["bureau"] = _lowered(document["bureau"], ("min_amount",))
        if lowered != document:
            bind.execute(
                policies.update().where(policies.c.merchant_id == merchant_id).values(document=lowered)
            )
    bind.execute(
        schedules.update()
        .where(schedules.c.handover_after_days > MAX_DAYS)
        .values(handover_after_days=MAX_DAYS)
    )
    beyond = sa.or_(stages.c.offset_days > MAX_DAYS, stages.c.payment_deadline_days > MAX_DAYS)
    for merchant_id, debtor_kind in bind.execute(
        sa.select(stages.c.merchant_id, stages.c.debtor_kind).where(beyond).distinct()
    ).all():
        rows = bind.execute(
            sa.select(stages.c.level, stages.c.offset_days, stages.c.payment_deadline_days)
            .where(stages.c.merchant_id == merchant_id, stages.c.debtor_kind == debtor_kind)
            .order_by(stages.c.level)
        ).all()
        for row, (offset, deadline) in zip(rows, _lowered_stages(rows), strict=True):
            if (offset, deadline) != (row.offset_days, row.payment_deadline_days):
                bind.execute(
                    stages.update()
                    .where(
                        stages.c.merchant_id == merchant_id,
                        stages.c.debtor_kind == debtor_kind,
                        stages.c.level == row.level,
                    )
                    .values(offset_days=offset, payment_deadline_days=deadline)
                )


def downgrade():
    """Nothing to undo: the lowered values were valid before this revision too."""
