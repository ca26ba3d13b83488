"""receivables and risk checks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:22:07.899954

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "buyer_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("key_kind", sa.String(length=20), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("mode IN ('always_allow', 'never_allow')", name=op.f("ck_buyer_overrides_mode")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_buyer_overrides_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyer_overrides")),
        sa.UniqueConstraint("merchant_id", "key_kind", "key_hash", name="uq_buyer_overrides_identity"),
    )
    op.create_table(
        "credit_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("identity_key", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("score_type", sa.String(length=10), nullable=False),
        sa.Column("result", backend.types.JSONType, nullable=False),
        sa.Column("fetched_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_credit_reports_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_reports")),
    )
    with op.batch_alter_table("credit_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_reports_lookup",
            ["merchant_id", "identity_key", "provider", "fetched_at"],
            unique=False,
        )

    op.create_table(
        "risk_checks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=50), nullable=False),
        sa.Column("reasons", backend.types.JSONType, nullable=False),
        sa.Column("warnings", backend.types.JSONType, nullable=False),
        sa.Column("offered_methods", backend.types.JSONType, nullable=False),
        sa.Column("hidden_methods", backend.types.JSONType, nullable=False),
        sa.Column("email_key", sa.String(length=64), nullable=True),
        sa.Column("phone_key", sa.String(length=64), nullable=True),
        sa.Column("name_key", sa.String(length=64), nullable=True),
        sa.Column("name_address_key", sa.String(length=64), nullable=True),
        sa.Column("address_key", sa.String(length=64), nullable=True),
        sa.Column("shipping_address_key", sa.String(length=64), nullable=True),
        sa.Column("ip_key", sa.String(length=64), nullable=True),
        sa.Column("bureau", backend.types.JSONType, nullable=True),
        sa.Column("raw_input", backend.types.JSONType, nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_risk_checks_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_checks")),
    )
    with op.batch_alter_table("risk_checks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_checks_address", ["merchant_id", "address_key", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_risk_checks_email", ["merchant_id", "email_key", "created_at"], unique=False
        )
        batch_op.create_index("ix_risk_checks_ip", ["merchant_id", "ip_key", "created_at"], unique=False)
        batch_op.create_index(
            "ix_risk_checks_phone", ["merchant_id", "phone_key", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_risk_checks_raw_purge",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("raw_input IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_risk_checks_shipping", ["merchant_id", "shipping_address_key", "created_at"], unique=False
        )

    op.create_table(
        "risk_policies",
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("document", backend.types.JSONType, nullable=False),
        sa.Column("bureau_account_encrypted", sa.Text(), nullable=True),
        sa.Column("updated_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_risk_policies_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_risk_policies")),
    )
    op.create_table(
        "order_sync_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("requested_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name=op.f("fk_order_sync_requests_connection_id_shop_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_sync_requests")),
        sa.UniqueConstraint("connection_id", "external_id", name="uq_order_sync_requests_order"),
    )
    with op.batch_alter_table("order_sync_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_sync_requests_next_attempt_at"), ["next_attempt_at"], unique=False
        )

    op.create_table(
        "receivables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("platform_state", sa.String(length=100), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("credited_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("payment_method", sa.String(length=100), nullable=True),
        sa.Column("debtor_kind", sa.String(length=10), nullable=False),
        sa.Column("ordered_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("paid_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("invoice_has_default_notice", sa.Boolean(), nullable=False),
        sa.Column("buyer", backend.types.JSONType, nullable=False),
        sa.Column("billing_address", backend.types.JSONType, nullable=False),
        sa.Column("shipping_address", backend.types.JSONType, nullable=True),
        sa.Column("line_items", backend.types.JSONType, nullable=False),
        sa.Column("email_key", sa.String(length=64), nullable=True),
        sa.Column("address_key", sa.String(length=64), nullable=True),
        sa.Column("risk_check_id", sa.String(length=64), nullable=True),
        sa.Column("dunning_level", sa.Integer(), nullable=False),
        sa.Column("dunning_stopped_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("dunning_stop_reason", sa.String(length=500), nullable=True),
        sa.Column("disputed_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("dispute_reason", sa.String(length=1000), nullable=True),
        sa.Column("source_modified_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "debtor_kind IN ('consumer', 'business')", name=op.f("ck_receivables_debtor_kind")
        ),
        sa.CheckConstraint(
            "state IN ('open', 'partially_paid', 'paid', 'cancelled', 'refunded', 'disputed', 'in_collection')",
            name=op.f("ck_receivables_state"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name=op.f("fk_receivables_connection_id_shop_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_receivables_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivables")),
        sa.UniqueConstraint("connection_id", "external_id", name="uq_receivables_connection_external"),
    )
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.create_index(
            "ix_receivables_merchant_address_key", ["merchant_id", "address_key"], unique=False
        )
        batch_op.create_index("ix_receivables_merchant_email_key", ["merchant_id", "email_key"], unique=False)
        batch_op.create_index(
            "ix_receivables_merchant_state_due", ["merchant_id", "state", "due_date"], unique=False
        )

    op.create_table(
        "receivable_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receivable_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("data", backend.types.JSONType, nullable=False),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["receivable_id"],
            ["receivables.id"],
            name=op.f("fk_receivable_events_receivable_id_receivables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivable_events")),
    )
    with op.batch_alter_table("receivable_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receivable_events_receivable_id"), ["receivable_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("receivable_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receivable_events_receivable_id"))

    op.drop_table("receivable_events")
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_index("ix_receivables_merchant_state_due")
        batch_op.drop_index("ix_receivables_merchant_email_key")
        batch_op.drop_index("ix_receivables_merchant_address_key")

    op.drop_table("receivables")
    with op.batch_alter_table("order_sync_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_sync_requests_next_attempt_at"))

    op.drop_table("order_sync_requests")
    op.drop_table("risk_policies")
    with op.batch_alter_table("risk_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_checks_shipping")
        batch_op.drop_index("ix_risk_checks_raw_purge", postgresql_where=sa.text("raw_input IS NOT NULL"))
        batch_op.drop_index("ix_risk_checks_phone")
        batch_op.drop_index("ix_risk_checks_ip")
        batch_op.drop_index("ix_risk_checks_email")
        batch_op.drop_index("ix_risk_checks_address")

    op.drop_table("risk_checks")
    with op.batch_alter_table("credit_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_reports_lookup")

    op.drop_table("credit_reports")
    op.drop_table("buyer_overrides")
