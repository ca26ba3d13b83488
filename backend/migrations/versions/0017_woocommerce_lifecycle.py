"""woocommerce lifecycle: webhook health per topic, plugin detection, invoice methods per connection

The shop's webhook ids move from one list per connection to a row per topic, where their status in the shop,
the creation ping and the last delivery are kept. Existing lists carry no topics: their rows start empty and the
next reconciliation finds the hooks in the shop and re-registers them under per-topic delivery URLs.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 16:00:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "woocommerce_webhook_topics",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=50), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("status_in_shop", sa.String(length=20), nullable=True),
        sa.Column("checked_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("created_in_shop_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("ping_received_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("last_delivery_at", backend.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name=op.f("fk_woocommerce_webhook_topics_connection_id_shop_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "topic", name=op.f("pk_woocommerce_webhook_topics")),
    )
    with op.batch_alter_table("woocommerce_webhooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plugin_version", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("plugin_checked_at", backend.types.UTCDateTime(), nullable=True))
        batch_op.drop_column("webhook_ids")
    with op.batch_alter_table("shop_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invoice_methods", backend.types.JSONType, nullable=True))


def downgrade():
    with op.batch_alter_table("shop_connections", schema=None) as batch_op:
        batch_op.drop_column("invoice_methods")
    with op.batch_alter_table("woocommerce_webhooks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("webhook_ids", backend.types.JSONType, nullable=False, server_default="[]")
        )
        batch_op.drop_column("plugin_checked_at")
        batch_op.drop_column("plugin_version")
    op.drop_table("woocommerce_webhook_topics")
