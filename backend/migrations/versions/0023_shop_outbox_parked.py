"""shop outboxes park what keeps failing: parked_at on shop_updates, shop_actions and order_sync_requests

Shop actions that had already failed for good are parked as of their last change, so a person sees them.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 19:40:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TABLES = ("shop_updates", "shop_actions", "order_sync_requests")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("parked_at", backend.types.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE shop_actions SET parked_at = COALESCE(done_at, next_attempt_at, created_at) "
        "WHERE status = 'failed'"
    )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("parked_at")
