"""receivables.import_digest: the CSV row a receivable was last imported from, so an unchanged row is skipped

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 21:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_digest", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_column("import_digest")
