"""payments: bank transactions, payment matches, payer IBANs learned; payment reference per receivable

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 11:01:26

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bank_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("statement_id", sa.String(length=100), nullable=False),
        sa.Column("bank_reference", sa.String(length=100), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("counterparty_name", sa.String(length=200), nullable=False),
        sa.Column("counterparty_iban", sa.String(length=34), nullable=False),
        sa.Column("remittance", sa.Text(), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("imported_by", sa.String(length=300), nullable=False),
        sa.Column("imported_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('matched', 'review', 'unmatched')", name=op.f("ck_bank_transactions_status")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_bank_transactions_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_transactions")),
        sa.UniqueConstraint(
            "merchant_id", "transaction_id", name="uq_bank_transactions_merchant_transaction"
        ),
    )
    op.create_table(
        "known_payer_ibans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("email_key", sa.String(length=64), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("learned_at", backend.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_known_payer_ibans_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_payer_ibans")),
        sa.UniqueConstraint("merchant_id", "email_key", "iban", name="uq_known_payer_ibans_buyer_iban"),
    )
    op.create_table(
        "payment_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("receivable_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("rule", sa.String(length=30), nullable=False),
        sa.Column("confidence", sa.Numeric(precision=4, scale=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("explanation", sa.String(length=1000), nullable=False),
        sa.Column("decided_by", sa.String(length=300), nullable=True),
        sa.Column("decided_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("shop_status", sa.String(length=10), nullable=False),
        sa.Column("shop_attempts", sa.Integer(), nullable=False),
        sa.Column("shop_next_attempt_at", backend.types.UTCDateTime(), nullable=True),
        sa.Column("shop_last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", backend.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "shop_status IN ('none', 'pending', 'done')", name=op.f("ck_payment_matches_shop_status")
        ),
        sa.CheckConstraint(
            "status IN ('auto_applied', 'review', 'confirmed', 'rejected')",
            name=op.f("ck_payment_matches_status"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_payment_matches_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["receivable_id"],
            ["receivables.id"],
            name=op.f("fk_payment_matches_receivable_id_receivables"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["bank_transactions.id"],
            name=op.f("fk_payment_matches_transaction_id_bank_transactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_matches")),
        sa.UniqueConstraint(
            "transaction_id", "receivable_id", name="uq_payment_matches_transaction_receivable"
        ),
    )
    with op.batch_alter_table("payment_matches", schema=None) as batch_op:
        batch_op.create_index("ix_payment_matches_merchant_status", ["merchant_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_matches_receivable_id"), ["receivable_id"], unique=False)
        batch_op.create_index(
            "ix_payment_matches_shop_due", ["shop_status", "shop_next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_matches_transaction_id"), ["transaction_id"], unique=False
        )

    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_reference", sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint(
            "uq_receivables_merchant_payment_reference", ["merchant_id", "payment_reference"]
        )


def downgrade():
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_constraint("uq_receivables_merchant_payment_reference", type_="unique")
        batch_op.drop_column("payment_reference")

    with op.batch_alter_table("payment_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_matches_transaction_id"))
        batch_op.drop_index("ix_payment_matches_shop_due")
        batch_op.drop_index(batch_op.f("ix_payment_matches_receivable_id"))
        batch_op.drop_index("ix_payment_matches_merchant_status")

    op.drop_table("payment_matches")
    op.drop_table("known_payer_ibans")
    op.drop_table("bank_transactions")
