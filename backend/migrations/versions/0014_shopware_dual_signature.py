"""shopware dual signature: remember shops that sign their re-registration with their current secret

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 16:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shopware_shops") as batch:
        batch.add_column(sa.Column("dual_signature", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("shopware_shops") as batch:
        batch.drop_column("dual_signature")
