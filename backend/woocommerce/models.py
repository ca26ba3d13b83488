"""The webhooks ClaimBridge registered in a WooCommerce shop and the secret their deliveries are signed with."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db, utcnow
from backend.merchants.models import ShopConnection
from backend.types import JSONType, UTCDateTime


class WooCommerceWebhook(db.Model):
    """One connection's webhook secret (encrypted) and the ids of the shop's webhooks that use it."""

    __tablename__ = "woocommerce_webhooks"

    connection_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shop_connections.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    webhook_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    connection: Mapped[ShopConnection] = relationship()

    def __repr__(self) -> str:
        return f"<WooCommerceWebhook connection={self.connection_id} hooks={self.webhook_ids}>"


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
