"""One-time console links minted for a merchant's user."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db, utcnow
from backend.types import UTCDateTime


class ConsoleLink(db.Model):
    """A single-use, short-lived link into the console; only the hash of its token is stored."""

    __tablename__ = "console_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_name: Mapped[str] = mapped_column(sa.String(200))
    locale: Mapped[str] = mapped_column(sa.String(35))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ConsoleLink {self.id} merchant={self.merchant_id} used={self.used_at is not None}>"


class ConsoleSessionNaming(db.Model):
    """A Shopware console session whose Administration user was named: once per session, whatever token asks."""

    __tablename__ = "console_session_namings"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    # The random key every token of one session carries (not a secret: the tokens are signed, not encrypted).
    session_key: Mapped[str] = mapped_column(sa.String(32), unique=True)
    shop_user_id: Mapped[str] = mapped_column(sa.String(64))
    named_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<ConsoleSessionNaming {self.id} merchant={self.merchant_id} user={self.shop_user_id}>"
