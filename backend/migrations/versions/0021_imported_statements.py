"""imported statements: the digest of each statement file a merchant imported, so the same file again is answered at once

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 19:10:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "imported_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("incoming", sa.Integer(), nullable=False),
        sa.Column("not_incoming", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=300), nullable=False),
        sa.Column("imported_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_imported_statements_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_statements")),
        sa.UniqueConstraint("merchant_id", "sha256", name="uq_imported_statements_merchant_sha256"),
    )


def downgrade():
    op.drop_table("imported_statements")
