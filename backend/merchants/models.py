"""Tenants, their shop connections, the OAuth2 clients the plugins use and each tenant's risk policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db, utcnow
from backend.types import JSONType, UTCDateTime

PLATFORMS = ("shopware", "woocommerce", "api")
CONNECTION_STATUSES = ("pending", "active", "disabled")
SCOPES = (
    "risk:check",
    "orders:write",
    "handovers:read",
    "handovers:write",
    "cases:write",
    "settings:write",
    "console:session",
    "connections:write",
    "audit:read",
    "privacy:write",
)


class Merchant(db.Model):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connections: Mapped[list[ShopConnection]] = relationship(
        back_populates="merchant", cascade="all, delete-orphan", order_by="ShopConnection.id"
    )

    def __repr__(self) -> str:
        return f"<Merchant {self.id} {self.name!r}>"


class ShopConnection(db.Model):
    __tablename__ = "shop_connections"
    __table_args__ = (
        sa.UniqueConstraint("platform", "shop_id", name="uq_shop_connections_platform_shop_id"),
        sa.CheckConstraint(f"platform IN {PLATFORMS}", name="platform"),
        sa.CheckConstraint(f"status IN {CONNECTION_STATUSES}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    shop_url: Mapped[str] = mapped_column(sa.String(500))
    shop_id: Mapped[str | None] = mapped_column(sa.String(100))
    credentials_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    sync_cursor: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    merchant: Mapped[Merchant] = relationship(back_populates="connections")

    def __repr__(self) -> str:
        return f"<ShopConnection {self.id} {self.platform} {self.shop_url}>"


class ApiClient(db.Model):
    """An OAuth2 client (client-credentials grant) acting for exactly one merchant."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("shop_connections.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    scope: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    merchant: Mapped[Merchant] = relationship()

    def __repr__(self) -> str:
        return f"<ApiClient {self.client_id} merchant={self.merchant_id}>"

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    # Authlib ClientMixin protocol -------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """Grant the requested scopes this client holds, or all of them when none are asked for."""
        if not scope:
            return self.scope
        allowed = set(self.scopes)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        from backend.crypto import secret_matches

        return self.revoked_at is None and secret_matches(client_secret, self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class RiskPolicyRecord(db.Model):
    """A merchant's policy document (validated by ``RiskPolicy.from_dict``) and bureau account."""

    __tablename__ = "risk_policies"

    merchant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    document: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    bureau_account_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<RiskPolicyRecord merchant={self.merchant_id}>"
