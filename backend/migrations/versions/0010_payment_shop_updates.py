"""payment shop updates: applied matches tell the shop through the shop_updates outbox, not their own columns

Matches still waiting for the shop become a ``payment`` and a ``note`` row in ``shop_updates`` (keyed by the
match, like new ones), so nothing pending is lost.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 13:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _move_pending_matches() -> None:
    matches = sa.table(
        "payment_matches",
        sa.column("id"),
        sa.column("merchant_id"),
        sa.column("transaction_id"),
        sa.column("receivable_id"),
        sa.column("amount", backend.types.Money),
        sa.column("rule"),
        sa.column("shop_status"),
    )
    transactions = sa.table(
        "bank_transactions",
        sa.column("id"),
        sa.column("currency"),
        sa.column("booking_date", sa.Date),
        sa.column("counterparty_name"),
    )
    receivables = sa.table(
        "receivables",
        sa.column("id"),
        sa.column("connection_id"),
        sa.column("external_id"),
        sa.column("payment_reference"),
        sa.column("currency"),
        sa.column("total_amount", backend.types.Money),
        sa.column("paid_amount", backend.types.Money),
        sa.column("credited_amount", backend.types.Money),
    )
    shop_updates = sa.table(
        "shop_updates",
        sa.column("merchant_id"),
        sa.column("connection_id"),
        sa.column("external_order_id"),
        sa.column("kind"),
        sa.column("payload", backend.types.JSONType),
        sa.column("idempotency_key"),
        sa.column("attempts"),
        sa.column("next_attempt_at", backend.types.UTCDateTime()),
        sa.column("created_at", backend.types.UTCDateTime()),
    )
    pending = (
        op.get_bind()
        .execute(
            sa.select(
                matches.c.id,
                matches.c.merchant_id,
                matches.c.amount,
                matches.c.rule,
                transactions.c.currency.label("transfer_currency"),
                transactions.c.booking_date,
                transactions.c.counterparty_name,
                receivables.c.connection_id,
                receivables.c.external_id,
                receivables.c.payment_reference,
                receivables.c.currency,
                (
                    receivables.c.total_amount - receivables.c.paid_amount - receivables.c.credited_amount
                ).label("balance"),
            )
            .select_from(
                matches.join(transactions, transactions.c.id == matches.c.transaction_id).join(
                    receivables, receivables.c.id == matches.c.receivable_id
                )
            )
            .where(matches.c.shop_status == "pending")
            .order_by(matches.c.id)
        )
        .all()
    )
    now = datetime.now(UTC)
    rows = []
    for match in pending:
        note = (
            f"ClaimBridge: bank transfer of {match.amount} {match.transfer_currency} booked"
            f" {match.booking_date.isoformat()}"
            f" from {match.counterparty_name or 'unknown payer'} applied ({match.rule}, reference"
            f" {match.payment_reference}); open balance {match.balance} {match.currency}."
        )
        for kind, payload in (("payment", {}), ("note", {"text": note})):
            rows.append(
                {
                    "merchant_id": match.merchant_id,
                    "connection_id": match.connection_id,
                    "external_order_id": match.external_id,
                    "kind": kind,
                    "payload": payload,
                    "idempotency_key": f"payment_match:{match.id}:{kind}",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if rows:
        op.bulk_insert(shop_updates, rows)


def upgrade():
    _move_pending_matches()
    with op.batch_alter_table("payment_matches") as batch:
        batch.drop_index("ix_payment_matches_shop_due")
        batch.drop_constraint(batch.f("ck_payment_matches_shop_status"), type_="check")
        batch.drop_column("shop_last_error")
        batch.drop_column("shop_next_attempt_at")
        batch.drop_column("shop_attempts")
        batch.drop_column("shop_status")


def downgrade():
    # The outbox rows stay in shop_updates and are sent from there; the matches only get their columns back.
    with op.batch_alter_table("payment_matches") as batch:
        batch.add_column(
            sa.Column("shop_status", sa.String(length=10), nullable=False, server_default="none")
        )
        batch.add_column(sa.Column("shop_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("shop_next_attempt_at", backend.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("shop_last_error", sa.String(length=500), nullable=True))
        batch.create_check_constraint(
            batch.f("ck_payment_matches_shop_status"), "shop_status IN ('none', 'pending', 'done')"
        )
        batch.create_index(
            "ix_payment_matches_shop_due", ["shop_status", "shop_next_attempt_at"], unique=False
        )
