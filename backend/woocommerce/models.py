"""What ClaimBridge knows about a connected WooCommerce shop: its webhooks, their health, and our plugin."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db, utcnow
from backend.merchants.models import ShopConnection
from backend.types import UTCDateTime


class WooCommerceWebhook(db.Model):
    """One connection's webhook secret (encrypted) and whether the shop runs the ClaimBridge plugin."""

    __tablename__ = "woocommerce_webhooks"

    connection_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shop_connections.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    # The plugin's version from ``wc-claimbridge/v1/status``; None when the route did not answer.
    plugin_version: Mapped[str | None] = mapped_column(sa.String(50))
    plugin_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    connection: Mapped[ShopConnection] = relationship()
    topics: Mapped[list[WebhookTopic]] = relationship(
        primaryjoin="WooCommerceWebhook.connection_id == foreign(WebhookTopic.connection_id)",
        order_by="WebhookTopic.topic",
        viewonly=True,
    )

    def __repr__(self) -> str:
        return f"<WooCommerceWebhook connection={self.connection_id} plugin={self.plugin_version}>"


CONNECT_STATUSES = ("open", "received", "connected", "failed")


class WooCommerceConnectSession(db.Model):
    """One run of WooCommerce's /wc-auth/v1/authorize for a merchant's shop.

    The state sent as ``user_id`` is a bearer secret: only its hash is kept. The keys the shop posts back wait
    here, encrypted, until they are verified and moved onto the connection.
    """

    __tablename__ = "woocommerce_connect_sessions"
    __table_args__ = (sa.CheckConstraint(f"status IN {CONNECT_STATUSES}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    shop_url: Mapped[str] = mapped_column(sa.String(500))
    state_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[int | None] = mapped_column()
    credentials_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    connection_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("shop_connections.id", ondelete="SET NULL"), index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<WooCommerceConnectSession {self.id} merchant={self.merchant_id} {self.status}>"


class WebhookTopic(db.Model):
    """One topic's webhook in the shop: its id, its status there, and what reached us from it."""

    __tablename__ = "woocommerce_webhook_topics"

    connection_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shop_connections.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    webhook_id: Mapped[int | None] = mapped_column()
    status_in_shop: Mapped[str | None] = mapped_column(sa.String(20))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_in_shop_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ping_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<WebhookTopic {self.connection_id} {self.topic} #{self.webhook_id} {self.status_in_shop}>"
