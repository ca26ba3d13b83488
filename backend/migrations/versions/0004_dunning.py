"""dunning: schedules, notices, buyer stops, base rates, shop actions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 11:00:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "base_rates",
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("valid_from", name=op.f("pk_base_rates")),
    )
    op.create_table(
        "dunning_schedules",
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("debtor_kind", sa.String(length=10), nullable=False),
        sa.Column("handover_after_days", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "debtor_kind IN ('consumer', 'business')", name=op.f("ck_dunning_schedules_debtor_kind")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_dunning_schedules_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("merchant_id", "debtor_kind", name=op.f("pk_dunning_schedules")),
    )
    op.create_table(
        "dunning_stages",
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("debtor_kind", sa.String(length=10), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("fee", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("payment_deadline_days", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'shop', 'none')", name=op.f("ck_dunning_stages_channel")),
        sa.CheckConstraint(
            "kind IN ('reminder', 'dunning', 'final_notice')", name=op.f("ck_dunning_stages_kind")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id", "debtor_kind"],
            ["dunning_schedules.merchant_id", "dunning_schedules.debtor_kind"],
            name="fk_dunning_stages_schedule",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("merchant_id", "debtor_kind", "level", name=op.f("pk_dunning_stages")),
    )
    op.create_table(
        "dunning_buyer_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("email_key", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_dunning_buyer_stops_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_buyer_stops")),
        sa.UniqueConstraint("merchant_id", "email_key", name="uq_dunning_buyer_stops_buyer"),
    )
    op.create_table(
        "dunning_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("receivable_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("fee", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("payment_deadline_days", sa.Integer(), nullable=False),
        sa.Column("queued_on", sa.Date(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("sent_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("deadline_on", sa.Date(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'shop', 'none')", name=op.f("ck_dunning_notices_channel")),
        sa.CheckConstraint(
            "kind IN ('reminder', 'dunning', 'final_notice')", name=op.f("ck_dunning_notices_kind")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_dunning_notices_status"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_dunning_notices_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["receivable_id"],
            ["receivables.id"],
            name=op.f("fk_dunning_notices_receivable_id_receivables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_notices")),
    )
    with op.batch_alter_table("dunning_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dunning_notices_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index("ix_dunning_notices_receivable_level", ["receivable_id", "level"], unique=False)
        batch_op.create_index(
            "ix_dunning_notices_status_next_attempt", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "uq_dunning_notices_receivable_kind",
            ["receivable_id", "kind"],
            unique=True,
            postgresql_where=sa.text("status <> 'cancelled'"),
            sqlite_where=sa.text("status <> 'cancelled'"),
        )

    op.create_table(
        "shop_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("receivable_id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("done_at", backend.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed', 'cancelled')",
            name=op.f("ck_shop_actions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name=op.f("fk_shop_actions_connection_id_shop_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_shop_actions_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["dunning_notices.id"],
            name=op.f("fk_shop_actions_notice_id_dunning_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["receivable_id"],
            ["receivables.id"],
            name=op.f("fk_shop_actions_receivable_id_receivables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_actions")),
        sa.UniqueConstraint("notice_id", name=op.f("uq_shop_actions_notice_id")),
    )
    with op.batch_alter_table("shop_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_actions_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(
            "ix_shop_actions_status_next_attempt", ["status", "next_attempt_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("shop_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_actions_status_next_attempt")
        batch_op.drop_index(batch_op.f("ix_shop_actions_merchant_id"))

    op.drop_table("shop_actions")
    with op.batch_alter_table("dunning_notices", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_dunning_notices_receivable_kind",
            postgresql_where=sa.text("status <> 'cancelled'"),
            sqlite_where=sa.text("status <> 'cancelled'"),
        )
        batch_op.drop_index("ix_dunning_notices_status_next_attempt")
        batch_op.drop_index("ix_dunning_notices_receivable_level")
        batch_op.drop_index(batch_op.f("ix_dunning_notices_merchant_id"))

    op.drop_table("dunning_notices")
    op.drop_table("dunning_buyer_stops")
    op.drop_table("dunning_stages")
    op.drop_table("dunning_schedules")
    op.drop_table("base_rates")
