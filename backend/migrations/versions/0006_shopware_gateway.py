"""shopware checkout gateway decisions (one risk check per checkout, link to the placed order)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:00:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shopware_gateway_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("risk_check_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=True),
        sa.Column("amount", backend.types.Money, nullable=True),
        sa.Column("hidden", backend.types.JSONType, nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=True),
        sa.Column("linked_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name=op.f("fk_shopware_gateway_decisions_connection_id_shop_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["risk_check_id"],
            ["risk_checks.id"],
            name=op.f("fk_shopware_gateway_decisions_risk_check_id_risk_checks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopware_gateway_decisions")),
        sa.UniqueConstraint("key_digest", name=op.f("uq_shopware_gateway_decisions_key_digest")),
    )
    with op.batch_alter_table("shopware_gateway_decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_shopware_gateway_decisions_customer",
            ["connection_id", "customer_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_shopware_gateway_decisions_order", ["connection_id", "order_id"], unique=False
        )
        batch_op.create_index("ix_shopware_gateway_decisions_expires_at", ["expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("shopware_gateway_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_shopware_gateway_decisions_expires_at")
        batch_op.drop_index("ix_shopware_gateway_decisions_order")
        batch_op.drop_index("ix_shopware_gateway_decisions_customer")

    op.drop_table("shopware_gateway_decisions")
