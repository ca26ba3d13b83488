"""receivables by risk check: the velocity of placed invoice orders reads which checkouts became orders

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 16:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_receivables_merchant_risk_check", "receivables", ["merchant_id", "risk_check_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_receivables_merchant_risk_check", table_name="receivables")
