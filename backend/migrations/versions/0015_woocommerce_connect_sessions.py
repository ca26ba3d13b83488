"""woocommerce connect sessions: the one-time state of /wc-auth/v1/authorize and the keys posted back

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 15:59:47.421682

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "woocommerce_connect_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("shop_url", sa.String(length=500), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expires_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("credentials_encrypted", sa.Text(), nullable=True),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'received', 'connected', 'failed')",
            name=op.f("ck_woocommerce_connect_sessions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name=op.f("fk_woocommerce_connect_sessions_connection_id_shop_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_woocommerce_connect_sessions_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_woocommerce_connect_sessions")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_woocommerce_connect_sessions_state_hash")),
    )
    with op.batch_alter_table("woocommerce_connect_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_woocommerce_connect_sessions_connection_id"), ["connection_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_woocommerce_connect_sessions_merchant_id"), ["merchant_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("woocommerce_connect_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_woocommerce_connect_sessions_merchant_id"))
        batch_op.drop_index(batch_op.f("ix_woocommerce_connect_sessions_connection_id"))

    op.drop_table("woocommerce_connect_sessions")
