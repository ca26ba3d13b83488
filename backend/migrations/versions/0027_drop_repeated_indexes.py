"""drop the indexes a unique constraint's index repeats: receivable events by receivable, matches by transfer

``uq_receivable_events_receivable_external`` (receivable_id, external_id) and
``uq_payment_matches_transaction_receivable`` (transaction_id, receivable_id) serve every lookup by their first
column, the foreign keys' cascades among them; the single-column indexes beside them only cost each event and
match written one index entry more.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 11:45:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_receivable_events_receivable_id", table_name="receivable_events")
    op.drop_index("ix_payment_matches_transaction_id", table_name="payment_matches")


def downgrade():
    op.create_index("ix_payment_matches_transaction_id", "payment_matches", ["transaction_id"], unique=False)
    op.create_index(
        "ix_receivable_events_receivable_id", "receivable_events", ["receivable_id"], unique=False
    )
