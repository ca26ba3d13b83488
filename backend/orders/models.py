"""The outbox of orders to re-fetch from shops (the receivables themselves live in ``backend.receivables``)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db, utcnow
from backend.types import UTCDateTime


class OrderSyncRequest(db.Model):
    """Outbox: an order a shop told us about (or we must re-check) and that the worker re-fetches."""

    __tablename__ = "order_sync_requests"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "external_id", name="uq_order_sync_requests_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the item stopped being retried (backend.outbox.record_failure); a person retries or discards it.
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OrderSyncRequest {self.connection_id}:{self.external_id} attempts={self.attempts}>"
