"""Stored risk checks (decisions with their reasons), buyer overrides and bureau reports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db, utcnow
from backend.types import JSONType, Money, UTCDateTime

IDENTITY_KINDS = ("email", "phone", "name", "name_address", "address", "shipping_address", "ip")
OVERRIDE_MODES = ("always_allow", "never_allow")


class RiskCheck(db.Model):
    """One checkout decision with the hashes of its inputs; raw input is purged after the retention period."""

    __tablename__ = "risk_checks"
    __table_args__ = (
        sa.Index("ix_risk_checks_email", "merchant_id", "email_key", "created_at"),
        sa.Index("ix_risk_checks_phone", "merchant_id", "phone_key", "created_at"),
        sa.Index("ix_risk_checks_address", "merchant_id", "address_key", "created_at"),
        sa.Index("ix_risk_checks_shipping", "merchant_id", "shipping_address_key", "created_at"),
        sa.Index("ix_risk_checks_ip", "merchant_id", "ip_key", "created_at"),
        sa.Index("ix_risk_checks_raw_purge", "created_at", postgresql_where=sa.text("raw_input IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"))
    reference: Mapped[str | None] = mapped_column(sa.String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    decision: Mapped[str] = mapped_column(sa.String(10))
    score: Mapped[int]
    rule: Mapped[str] = mapped_column(sa.String(50))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    offered_methods: Mapped[list[str]] = mapped_column(JSONType, default=list)
    hidden_methods: Mapped[list[str]] = mapped_column(JSONType, default=list)
    email_key: Mapped[str | None] = mapped_column(sa.String(64))
    phone_key: Mapped[str | None] = mapped_column(sa.String(64))
    name_key: Mapped[str | None] = mapped_column(sa.String(64))
    name_address_key: Mapped[str | None] = mapped_column(sa.String(64))
    address_key: Mapped[str | None] = mapped_column(sa.String(64))
    shipping_address_key: Mapped[str | None] = mapped_column(sa.String(64))
    ip_key: Mapped[str | None] = mapped_column(sa.String(64))
    bureau: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    raw_input: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    latency_ms: Mapped[float] = mapped_column(sa.Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<RiskCheck {self.id} {self.decision} score={self.score}>"


class BuyerOverride(db.Model):
    """The merchant's standing decision for one buyer identity: always or never offer invoice."""

    __tablename__ = "buyer_overrides"
    __table_args__ = (
        sa.UniqueConstraint("merchant_id", "key_kind", "key_hash", name="uq_buyer_overrides_identity"),
        sa.CheckConstraint(f"mode IN {OVERRIDE_MODES}", name="mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"))
    key_kind: Mapped[str] = mapped_column(sa.String(20))
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    mode: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<BuyerOverride {self.id} {self.key_kind} {self.mode}>"


class CreditReport(db.Model):
    """A cached bureau answer for one identity (name and address) at one merchant."""

    __tablename__ = "credit_reports"
    __table_args__ = (
        sa.Index("ix_credit_reports_lookup", "merchant_id", "identity_key", "provider", "fetched_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"))
    identity_key: Mapped[str] = mapped_column(sa.String(64))
    provider: Mapped[str] = mapped_column(sa.String(30))
    score_type: Mapped[str] = mapped_column(sa.String(10))
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<CreditReport {self.id} {self.provider} merchant={self.merchant_id}>"
