"""Registered Shopware shops (secrets, app state), their webhook events (dedupe, outbox) and gateway decisions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db, utcnow
from backend.merchants.models import ShopConnection
from backend.types import JSONType, Money, UTCDateTime

APP_STATES = ("registered", "installed", "active", "deactivated", "deleted")
EVENT_STATUSES = ("pending", "done", "ignored", "failed")


class ShopwareShop(db.Model):
    """The app side of one shop connection: its secrets (encrypted) and where the app stands in the shop."""

    __tablename__ = "shopware_shops"
    __table_args__ = (sa.CheckConstraint(f"app_state IN {APP_STATES}", name="app_state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shop_connections.id", ondelete="CASCADE"), unique=True
    )
    secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    pending_secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    pending_shop_url: Mapped[str | None] = mapped_column(sa.String(500))
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The shop has signed a registration with its current secret (Shopware's dual-signature protocol): from then
    # on every re-registration must (app-php-sdk DualSignatureRequestVerifier).
    dual_signature: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    app_state: Mapped[str] = mapped_column(sa.String(20), default="registered")
    lifecycle_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    app_version: Mapped[str | None] = mapped_column(sa.String(50))
    shopware_version: Mapped[str | None] = mapped_column(sa.String(50))
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The origin of the shop's Administration when it runs on a host of its own, as the merchant confirmed it
    # in the console's settings: the only origin besides the shop's that may frame the console (its Referer).
    admin_origin: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # No backref on ShopConnection: the database cascade removes this row when the connection goes.
    connection: Mapped[ShopConnection] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<ShopwareShop {self.id} connection={self.connection_id} {self.app_state}>"


class ShopwareEvent(db.Model):
    """A webhook delivery, kept to drop retries by eventId and handed on to order sync by the worker."""

    __tablename__ = "shopware_events"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "event_id", name="uq_shopware_events_connection_event"),
        sa.CheckConstraint(f"status IN {EVENT_STATUSES}", name="status"),
        sa.Index("ix_shopware_events_status_id", "status", "id"),
        sa.Index("ix_shopware_events_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_connections.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(sa.String(100))
    event_name: Mapped[str] = mapped_column(sa.String(100))
    order_id: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[ShopConnection] = relationship()

    def __repr__(self) -> str:
        return f"<ShopwareEvent {self.id} {self.event_name} {self.status}>"


class ShopwareGatewayDecision(db.Model):
    """A checkout gateway decision, kept while its risk check is valid so one checkout costs one check.

    Keyed by a digest of ``gateway.decision_cache_key`` (shop, cart token, customer and every input that feeds
    the check), so a changed address or amount misses the cache and is checked anew. ``order_id`` is set
    when the shop reports the order placed with this decision; ``linked_at`` once the risk check id is
    written to the order's custom fields.
    """

    __tablename__ = "shopware_gateway_decisions"
    __table_args__ = (
        sa.Index("ix_shopware_gateway_decisions_customer", "connection_id", "customer_id", "created_at"),
        sa.Index("ix_shopware_gateway_decisions_order", "connection_id", "order_id"),
        sa.Index("ix_shopware_gateway_decisions_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_connections.id", ondelete="CASCADE"))
    risk_check_id: Mapped[str] = mapped_column(sa.ForeignKey("risk_checks.id", ondelete="CASCADE"))
    customer_id: Mapped[str | None] = mapped_column(sa.String(100))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    hidden: Mapped[list[str]] = mapped_column(JSONType, default=list)
    order_id: Mapped[str | None] = mapped_column(sa.String(100))
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ShopwareGatewayDecision {self.id} check={self.risk_check_id} hidden={self.hidden}>"
