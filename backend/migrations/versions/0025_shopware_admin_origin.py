"""shopware_shops.admin_origin: the Administration origin the merchant confirmed, the only other that may frame

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 20:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shopware_shops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admin_origin", sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table("shopware_shops", schema=None) as batch_op:
        batch_op.drop_column("admin_origin")
