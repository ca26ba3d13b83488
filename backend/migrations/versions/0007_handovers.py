"""handovers: handover rules, handovers, status history, payments, shop outbox; built-in agency cases

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 11:30:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "agency_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("your_reference", sa.String(length=64), nullable=False),
        sa.Column(
            "data",
            backend.types.JSONType,
            nullable=False,
        ),
        sa.Column("debtor_name", sa.String(length=300), nullable=False),
        sa.Column("invoice_number", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal", backend.types.Money, nullable=False),
        sa.Column("interest", backend.types.Money, nullable=False),
        sa.Column("costs", backend.types.Money, nullable=False),
        sa.Column("paid_before", backend.types.Money, nullable=False),
        sa.Column("submission_state", sa.String(length=20), nullable=False),
        sa.Column("legal_stage", sa.String(length=30), nullable=False),
        sa.Column("processing_state", sa.String(length=40), nullable=False),
        sa.Column("payment_state", sa.String(length=20), nullable=False),
        sa.Column("rejection_reason", sa.String(length=1000), nullable=True),
        sa.Column("last_update", sa.String(length=300), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "legal_stage IN ('extrajudicial', 'judicial_dunning', 'foreclosure', 'long_term_monitoring', 'ended')",
            name=op.f("ck_agency_cases_legal_stage"),
        ),
        sa.CheckConstraint(
            "payment_state IN ('unpaid', 'partially_paid', 'fully_paid')",
            name=op.f("ck_agency_cases_payment_state"),
        ),
        sa.CheckConstraint(
            "processing_state IN ('in_progress', 'paused', 'canceled_by_client', 'canceled_by_service_provider', 'ended')",
            name=op.f("ck_agency_cases_processing_state"),
        ),
        sa.CheckConstraint(
            "submission_state IN ('accepted', 'rejected')", name=op.f("ck_agency_cases_submission_state")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_agency_cases_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_cases")),
        sa.UniqueConstraint("merchant_id", "your_reference", name="uq_agency_cases_reference"),
    )
    op.create_index(op.f("ix_agency_cases_merchant_id"), "agency_cases", ["merchant_id"], unique=False)
    op.create_table(
        "handover_rules",
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("minimum_amount", backend.types.Money, nullable=False),
        sa.Column("auto_approve_consumer_up_to", backend.types.Money, nullable=True),
        sa.Column("auto_approve_business_up_to", backend.types.Money, nullable=True),
        sa.Column("agency", sa.String(length=10), nullable=False),
        sa.Column("agency_base_url", sa.String(length=500), nullable=True),
        sa.Column("agency_api_key_encrypted", sa.Text(), nullable=True),
        sa.Column(
            "creditor_address",
            backend.types.JSONType,
            nullable=False,
        ),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("agency IN ('builtin', 'http')", name=op.f("ck_handover_rules_agency")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_handover_rules_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_handover_rules")),
    )
    op.create_table(
        "agency_case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column(
            "data",
            backend.types.JSONType,
            nullable=False,
        ),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["agency_cases.id"],
            name=op.f("fk_agency_case_events_case_id_agency_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_case_events")),
    )
    op.create_index(op.f("ix_agency_case_events_case_id"), "agency_case_events", ["case_id"], unique=False)
    op.create_table(
        "agency_case_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("amount", backend.types.Money, nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("source IN ('collected', 'direct')", name=op.f("ck_agency_case_payments_source")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["agency_cases.id"],
            name=op.f("fk_agency_case_payments_case_id_agency_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_case_payments")),
        sa.UniqueConstraint("case_id", "source", "reference", name="uq_agency_case_payments_reference"),
    )
    op.create_index(
        op.f("ix_agency_case_payments_case_id"), "agency_case_payments", ["case_id"], unique=False
    )
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("receivable_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("agency", sa.String(length=20), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal", backend.types.Money, nullable=False),
        sa.Column("total", backend.types.Money, nullable=False),
        sa.Column(
            "breakdown",
            backend.types.JSONType,
            nullable=False,
        ),
        sa.Column("paid_at_handover", backend.types.Money, nullable=False),
        sa.Column("limitation_date", sa.Date(), nullable=False),
        sa.Column("proposed_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("decided_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=300), nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=True),
        sa.Column("case_id", sa.String(length=100), nullable=True),
        sa.Column("agency_reference", sa.String(length=100), nullable=True),
        sa.Column("submitted_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("rejection_reason", sa.String(length=1000), nullable=True),
        sa.Column(
            "rejection_details",
            backend.types.JSONType,
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("submission_state", sa.String(length=20), nullable=True),
        sa.Column("legal_stage", sa.String(length=30), nullable=True),
        sa.Column("processing_state", sa.String(length=40), nullable=True),
        sa.Column("payment_state", sa.String(length=20), nullable=True),
        sa.Column("balance_total", backend.types.Money, nullable=True),
        sa.Column("collected_total", backend.types.Money, nullable=False),
        sa.Column("direct_total", backend.types.Money, nullable=False),
        sa.Column("last_polled_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("closed_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected', 'withdrawn', 'submitting', 'submitted', 'rejected_by_agency', 'closed')",
            name=op.f("ck_handovers_status"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_handovers_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["receivable_id"],
            ["receivables.id"],
            name=op.f("fk_handovers_receivable_id_receivables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_handovers_idempotency_key")),
    )
    op.create_index("ix_handovers_merchant_status", "handovers", ["merchant_id", "status"], unique=False)
    op.create_index(
        "ix_handovers_status_next_attempt", "handovers", ["status", "next_attempt_at"], unique=False
    )
    op.create_index(
        "uq_handovers_open_receivable",
        "handovers",
        ["receivable_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('proposed', 'approved', 'submitting', 'submitted')"),
        sqlite_where=sa.text("status IN ('proposed', 'approved', 'submitting', 'submitted')"),
    )
    op.create_table(
        "handover_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("amount", backend.types.Money, nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("reported_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("source IN ('agency', 'shop')", name=op.f("ck_handover_payments_source")),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["handovers.id"],
            name=op.f("fk_handover_payments_handover_id_handovers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_payments")),
        sa.UniqueConstraint("handover_id", "source", "external_id", name="uq_handover_payments_external"),
    )
    op.create_index(
        op.f("ix_handover_payments_handover_id"), "handover_payments", ["handover_id"], unique=False
    )
    op.create_table(
        "handover_status_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("submission_state", sa.String(length=20), nullable=True),
        sa.Column("legal_stage", sa.String(length=30), nullable=True),
        sa.Column("processing_state", sa.String(length=40), nullable=True),
        sa.Column("payment_state", sa.String(length=20), nullable=True),
        sa.Column("balance_total", backend.types.Money, nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["handovers.id"],
            name=op.f("fk_handover_status_updates_handover_id_handovers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_status_updates")),
    )
    op.create_index(
        op.f("ix_handover_status_updates_handover_id"),
        "handover_status_updates",
        ["handover_id"],
        unique=False,
    )
    op.create_table(
        "shop_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=True),
        sa.Column("external_order_id", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "payload",
            backend.types.JSONType,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.Column("done_at", backend.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('case_fields', 'payment', 'note', 'admin_notice')", name=op.f("ck_shop_updates_kind")
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["shop_connections.id"],
            name=op.f("fk_shop_updates_connection_id_shop_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["handovers.id"],
            name=op.f("fk_shop_updates_handover_id_handovers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_shop_updates_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_updates")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_shop_updates_idempotency_key")),
    )
    op.create_index("ix_shop_updates_due", "shop_updates", ["done_at", "next_attempt_at"], unique=False)
    op.create_index(op.f("ix_shop_updates_merchant_id"), "shop_updates", ["merchant_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_shop_updates_merchant_id"), table_name="shop_updates")
    op.drop_index("ix_shop_updates_due", table_name="shop_updates")
    op.drop_table("shop_updates")
    op.drop_index(op.f("ix_handover_status_updates_handover_id"), table_name="handover_status_updates")
    op.drop_table("handover_status_updates")
    op.drop_index(op.f("ix_handover_payments_handover_id"), table_name="handover_payments")
    op.drop_table("handover_payments")
    op.drop_index(
        "uq_handovers_open_receivable",
        table_name="handovers",
        postgresql_where=sa.text("status IN ('proposed', 'approved', 'submitting', 'submitted')"),
        sqlite_where=sa.text("status IN ('proposed', 'approved', 'submitting', 'submitted')"),
    )
    op.drop_index("ix_handovers_status_next_attempt", table_name="handovers")
    op.drop_index("ix_handovers_merchant_status", table_name="handovers")
    op.drop_table("handovers")
    op.drop_index(op.f("ix_agency_case_payments_case_id"), table_name="agency_case_payments")
    op.drop_table("agency_case_payments")
    op.drop_index(op.f("ix_agency_case_events_case_id"), table_name="agency_case_events")
    op.drop_table("agency_case_events")
    op.drop_table("handover_rules")
    op.drop_index(op.f("ix_agency_cases_merchant_id"), table_name="agency_cases")
    op.drop_table("agency_cases")
