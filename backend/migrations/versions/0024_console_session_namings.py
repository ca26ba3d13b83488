"""console_session_namings: a Shopware console session's user is named once, whichever of its tokens asks

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 20:00:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "console_session_namings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("session_key", sa.String(length=32), nullable=False),
        sa.Column("shop_user_id", sa.String(length=64), nullable=False),
        sa.Column("named_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_console_session_namings_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_session_namings")),
        sa.UniqueConstraint("session_key", name=op.f("uq_console_session_namings_session_key")),
    )
    with op.batch_alter_table("console_session_namings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_console_session_namings_merchant_id"), ["merchant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_console_session_namings_named_at"), ["named_at"], unique=False)


def downgrade():
    op.drop_table("console_session_namings")
