"""settings within their new bounds: policy amounts up to a Money column's maximum, schedule days up to ten years

Before this revision a policy amount had no upper bound and a schedule's day counts no maximum. Stored values
beyond the bounds the validation now enforces would make every read of the policy or schedule fail (every risk
check of the merchant, the dunning worker), so they are lowered to the bound, which means the same: no limit
any order reaches, a notice or handover that never comes.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-08 04:10:00

"""

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

MONEY_MAX = "999999999999.99"  # backend.types.MONEY_MAX
MAX_DAYS = 3650  # backend.dunning.schedule.MAX_DAYS
POLICY_AMOUNTS = ("max_order_amount", "max_first_order_amount", "max_open_exposure", "bureau_fail_max_amount")

policies = sa.table(
    "risk_policies",
    sa.column("merchant_id", sa.Integer),
    sa.column("document", backend.types.JSONType),
)
DAY_COLUMNS = {
    "dunning_schedules": ("handover_after_days",),
    "dunning_stages": ("offset_days", "payment_deadline_days"),
}


def _lowered(values: dict, keys: tuple[str, ...]) -> dict:
    return {
        key: MONEY_MAX if key in keys and Decimal(str(value)) > Decimal(MONEY_MAX) else value
        for key, value in values.items()
    }


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
    for table, columns in DAY_COLUMNS.items():
        rows = sa.table(table, *(sa.column(name, sa.Integer) for name in columns))
        for column in rows.c:
            bind.execute(rows.update().where(column > MAX_DAYS).values({column: MAX_DAYS}))


def downgrade():
    """Nothing to undo: the lowered values were valid before this revision too."""
