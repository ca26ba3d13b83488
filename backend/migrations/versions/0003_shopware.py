"""shopware shops (secrets, app state) and webhook events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 14:05:00.000000

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shopware_shops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("pending_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("pending_shop_url", sa.String(length=500), nullable=True),
        sa.Column("pending_since", backend.types.UTCDateTime(), nullable=True),
        sa.Column("previous_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("secret_rotated_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("app_state", sa.String(length=20), nullable=False),
        sa.Column("lifecycle_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("app_version", sa.String(length=50), nullable=True),
        sa.Column("shopware_version", sa.String(length=50), nullable=True),
        sa.Column("registered_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "app_state IN ('registered', 'installed', 'active', 'deactivated', 'deleted')",
            name=op.f("ck_shopware_shops_app_state"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name=op.f("fk_shopware_shops_connection_id_shop_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopware_shops")),
        sa.UniqueConstraint("connection_id", name=op.f("uq_shopware_shops_connection_id")),
    )
    op.create_table(
        "shopware_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_name", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("received_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("processed_at", backend.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'ignored', 'failed')", name=op.f("ck_shopware_events_status")
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name=op.f("fk_shopware_events_connection_id_shop_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopware_events")),
        sa.UniqueConstraint("connection_id", "event_id", name="uq_shopware_events_connection_event"),
    )
    with op.batch_alter_table("shopware_events", schema=None) as batch_op:
        batch_op.create_index("ix_shopware_events_received_at", ["received_at"], unique=False)
        batch_op.create_index("ix_shopware_events_status_id", ["status", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("shopware_events", schema=None) as batch_op:
        batch_op.drop_index("ix_shopware_events_status_id")
        batch_op.drop_index("ix_shopware_events_received_at")

    op.drop_table("shopware_events")
    op.drop_table("shopware_shops")
