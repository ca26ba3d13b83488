"""The receivable aggregate: one invoice order, what is owed on it, and its history.

Only ``backend.receivables.ledger`` changes a receivable's state, money or history; everything else reads.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db, utcnow
from backend.merchants.models import ShopConnection
from backend.receivables.states import STATES, State
from backend.types import JSONType, Money, UTCDateTime

DEBTOR_KINDS = ("consumer", "business")


class Receivable(db.Model):
    """One invoice order and what is owed on it."""

    __tablename__ = "receivables"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "external_id", name="uq_receivables_connection_external"),
        sa.CheckConstraint(f"state IN {STATES}", name="state"),
        sa.CheckConstraint(f"debtor_kind IN {DEBTOR_KINDS}", name="debtor_kind"),
        sa.Index("ix_receivables_merchant_state_due", "merchant_id", "state", "due_date"),
        sa.Index("ix_receivables_merchant_email_key", "merchant_id", "email_key"),
        sa.Index("ix_receivables_merchant_address_key", "merchant_id", "address_key"),
        # The risk check links a placed order to its checkout (velocity of placed invoice orders).
        sa.Index("ix_receivables_merchant_risk_check", "merchant_id", "risk_check_id"),
        sa.UniqueConstraint(
            "merchant_id", "payment_reference", name="uq_receivables_merchant_payment_reference"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(sa.String(100))
    number: Mapped[str] = mapped_column(sa.String(100))
    payment_reference: Mapped[str | None] = mapped_column(sa.String(20))  # receivables/reference_codes.py
    state: Mapped[str] = mapped_column(sa.String(20), default=State.OPEN.value)
    platform_state: Mapped[str | None] = mapped_column(sa.String(100))
    currency: Mapped[str] = mapped_column(sa.String(3))
    total_amount: Mapped[Decimal] = mapped_column(Money)
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    credited_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    payment_method: Mapped[str | None] = mapped_column(sa.String(100))
    debtor_kind: Mapped[str] = mapped_column(sa.String(10), default="consumer")
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    invoice_date: Mapped[date] = mapped_column(sa.Date)
    due_date: Mapped[date] = mapped_column(sa.Date)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invoice_has_default_notice: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    buyer: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    billing_address: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    line_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    email_key: Mapped[str | None] = mapped_column(sa.String(64))
    address_key: Mapped[str | None] = mapped_column(sa.String(64))
    risk_check_id: Mapped[str | None] = mapped_column(sa.String(64))
    dunning_level: Mapped[int] = mapped_column(default=0)
    dunning_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dunning_stop_reason: Mapped[str | None] = mapped_column(sa.String(500))
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispute_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    source_modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The CSV row this receivable was last imported from, as ``orders.csv_import.row_digest`` (with the
    # ``updated_at`` it left): an identical row re-imported is skipped unread while nothing else wrote since.
    import_digest: Mapped[str | None] = mapped_column(sa.String(32))
    # Art. 17 GDPR: contact data removed (``ledger.erase_buyer_contact``); syncs from the shop do not restore it.
    buyer_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    connection: Mapped[ShopConnection] = relationship()

    def __repr__(self) -> str:
        return f"<Receivable {self.id} {self.number} {self.state} {self.total_amount} {self.currency}>"

    @property
    def balance(self) -> Decimal:
        """What is still owed on the principal: total less payments and credits, never negative."""
        return max(Decimal("0.00"), self.total_amount - self.paid_amount - self.credited_amount)


class ReceivableEvent(db.Model):
    """One entry in a receivable's history (``backend.receivables.ledger.EventKind``).

    Money events (payments, credits) also carry their amount, value date, source and, when the sender gives
    one, an external id that is unique per receivable, so a booking repeated by a retry is refused.
    """

    __tablename__ = "receivable_events"
    __table_args__ = (
        # Also the index of a receivable's events (and of the cascade from it): one on receivable_id alone
        # only repeated it, and cost every event written an index entry more (migration 0027).
        sa.UniqueConstraint("receivable_id", "external_id", name="uq_receivable_events_receivable_external"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    receivable_id: Mapped[int] = mapped_column(sa.ForeignKey("receivables.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(50))
    actor: Mapped[str] = mapped_column(sa.String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    booked_on: Mapped[date | None] = mapped_column(sa.Date)
    source: Mapped[str | None] = mapped_column(sa.String(20))
    external_id: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ReceivableEvent {self.id} {self.kind} receivable={self.receivable_id}>"
