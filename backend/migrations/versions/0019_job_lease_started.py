"""job leases remember when the running worker took them, so /metrics can show a lease's age

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 19:30:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("job_leases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leased_at", backend.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("job_leases", schema=None) as batch_op:
        batch_op.drop_column("leased_at")
