"""woocommerce webhook secrets per shop connection

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "woocommerce_webhooks",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("webhook_ids", backend.types.JSONType, nullable=False),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name=op.f("fk_woocommerce_webhooks_connection_id_shop_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_woocommerce_webhooks")),
    )


def downgrade():
    op.drop_table("woocommerce_webhooks")
