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
