"""buyer erasure: a receivable remembers that its buyer's contact data was erased (Art. 17 GDPR)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 19:45:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buyer_erased_at", backend.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_column("buyer_erased_at")
