"""Handover tables: per-merchant rules, handovers with their frozen claim, status history, payments, outbox.

Exactly once (see ``backend.handovers.submission`` for the worker side):

- A receivable has at most one *open* handover (proposed, approved, submitting, submitted): a partial unique
  index, so two proposal runs cannot both create one.
- Every handover carries an ``idempotency_key`` that is the agency's ``your_reference``; the adapters look a
  case up by it before creating one, so a worker that dies between the remote create and the local commit
  leaves nothing for the next worker to duplicate.
- A submitting handover is leased (``next_attempt_at`` + ``lease_token``); only the lease holder may record
  the result, and a killed worker's lease simply runs out.
- Payments are unique per (handover, source, external id); shop writes go through ``ShopUpdate`` rows with a
  unique idempotency key and are retried until the shop acknowledges.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db, utcnow
from backend.receivables.models import Receivable
from backend.types import JSONType, Money, UTCDateTime


class HandoverStatus(enum.StrEnum):
    """Where a handover stands; transitions live in ``backend.handovers.states``."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    REJECTED_BY_AGENCY = "rejected_by_agency"
    CLOSED = "closed"


class AgencyKind(enum.StrEnum):
    """Which adapter a merchant's handovers go through."""

    BUILTIN = "builtin"
    HTTP = "http"


class ShopUpdateKind(enum.StrEnum):
    """What a ``ShopUpdate`` writes to the shop."""

    CASE_FIELDS = "case_fields"
    PAYMENT = "payment"
    NOTE = "note"
    ADMIN_NOTICE = "admin_notice"


class PaymentSource(enum.StrEnum):
    """Who received a payment recorded on a handover."""

    AGENCY = "agency"  # collected by the agency
    SHOP = "shop"  # paid to the merchant after handover, reported to the agency


HANDOVER_STATUSES = tuple(status.value for status in HandoverStatus)
OPEN_STATUSES = (
    HandoverStatus.PROPOSED.value,
    HandoverStatus.APPROVED.value,
    HandoverStatus.SUBMITTING.value,
    HandoverStatus.SUBMITTED.value,
)
AGENCY_KINDS = tuple(kind.value for kind in AgencyKind)
SHOP_UPDATE_KINDS = tuple(kind.value for kind in ShopUpdateKind)
PAYMENT_SOURCES = tuple(source.value for source in PaymentSource)
_OPEN_SQL = "status IN ('proposed', 'approved', 'submitting', 'submitted')"


class HandoverRule(db.Model):
    """A merchant's handover settings: minimum balance, auto-approval limits and the agency to use."""

    __tablename__ = "handover_rules"
    __table_args__ = (sa.CheckConstraint(f"agency IN {AGENCY_KINDS}", name="agency"),)

    merchant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    minimum_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    auto_approve_consumer_up_to: Mapped[Decimal | None] = mapped_column(Money)
    auto_approve_business_up_to: Mapped[Decimal | None] = mapped_column(Money)
    agency: Mapped[str] = mapped_column(sa.String(10), default=AgencyKind.BUILTIN.value)
    agency_base_url: Mapped[str | None] = mapped_column(sa.String(500))
    agency_api_key_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    creditor_address: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_by: Mapped[str] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<HandoverRule merchant={self.merchant_id} agency={self.agency}>"


class Handover(db.Model):
    """One receivable proposed for (and possibly handed over to) a collection agency."""

    __tablename__ = "handovers"
    __table_args__ = (
        sa.Index(
            "uq_handovers_open_receivable",
            "receivable_id",
            unique=True,
            postgresql_where=sa.text(_OPEN_SQL),
            sqlite_where=sa.text(_OPEN_SQL),
        ),
        sa.Index("ix_handovers_merchant_status", "merchant_id", "status"),
        sa.Index("ix_handovers_status_next_attempt", "status", "next_attempt_at"),
        sa.CheckConstraint(f"status IN {HANDOVER_STATUSES}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"))
    receivable_id: Mapped[int] = mapped_column(sa.ForeignKey("receivables.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(20), default=HandoverStatus.PROPOSED.value)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    agency: Mapped[str | None] = mapped_column(sa.String(20))
    currency: Mapped[str] = mapped_column(sa.String(3))
    principal: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    paid_at_handover: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    limitation_date: Mapped[date] = mapped_column(sa.Date)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(sa.String(300))
    decision_note: Mapped[str | None] = mapped_column(sa.String(1000))
    case_id: Mapped[str | None] = mapped_column(sa.String(100))
    agency_reference: Mapped[str | None] = mapped_column(sa.String(100))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    rejection_details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_token: Mapped[str | None] = mapped_column(sa.String(32))
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    submission_state: Mapped[str | None] = mapped_column(sa.String(20))
    # The document sent with the case: "shop" (the shop's invoice) or "generated" (the claim statement),
    # and why the shop's invoice was not used when it should have been.
    document_source: Mapped[str | None] = mapped_column(sa.String(20))
    document_note: Mapped[str | None] = mapped_column(sa.String(500))
    # Proof of sending, with ``agency`` (the channel), ``case_id`` (the agency's id for what it received)
    # and ``submitted_at``: the SHA-256 of the case data and of the document exactly as submitted.
    content_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(sa.String(300))
    legal_stage: Mapped[str | None] = mapped_column(sa.String(30))
    processing_state: Mapped[str | None] = mapped_column(sa.String(40))
    payment_state: Mapped[str | None] = mapped_column(sa.String(20))
    balance_total: Mapped[Decimal | None] = mapped_column(Money)
    collected_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    direct_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    receivable: Mapped[Receivable] = relationship()

    def __repr__(self) -> str:
        return f"<Handover {self.id} receivable={self.receivable_id} {self.status}>"


class HandoverStatusUpdate(db.Model):
    """One change of the agency's view of a case, as the status job saw it."""

    __tablename__ = "handover_status_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(sa.ForeignKey("handovers.id", ondelete="CASCADE"), index=True)
    submission_state: Mapped[str | None] = mapped_column(sa.String(20))
    legal_stage: Mapped[str | None] = mapped_column(sa.String(30))
    processing_state: Mapped[str | None] = mapped_column(sa.String(40))
    payment_state: Mapped[str | None] = mapped_column(sa.String(20))
    balance_total: Mapped[Decimal | None] = mapped_column(Money)
    title: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<HandoverStatusUpdate {self.id} handover={self.handover_id} {self.legal_stage}>"


class HandoverPayment(db.Model):
    """A payment on a handed-over claim: collected by the agency, or paid to the shop and reported."""

    __tablename__ = "handover_payments"
    __table_args__ = (
        sa.UniqueConstraint("handover_id", "source", "external_id", name="uq_handover_payments_external"),
        sa.CheckConstraint(f"source IN {PAYMENT_SOURCES}", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(sa.ForeignKey("handovers.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(sa.String(10))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    value_date: Mapped[date] = mapped_column(sa.Date)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<HandoverPayment {self.id} {self.source} {self.amount}>"


class ShopUpdate(db.Model):
    """Outbox: something to write to a receivable's shop order (or its admin), retried until the shop acknowledges.

    Handovers queue case fields, notes, payments and admin notices (``handover_id`` set where one applies);
    applied bank-transfer matches queue the payment state and a note (``backend.payments.services``).
    """

    __tablename__ = "shop_updates"
    __table_args__ = (
        sa.Index("ix_shop_updates_due", "done_at", "next_attempt_at"),
        sa.CheckConstraint(f"kind IN {SHOP_UPDATE_KINDS}", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_connections.id", ondelete="CASCADE"))
    handover_id: Mapped[int | None] = mapped_column(sa.ForeignKey("handovers.id", ondelete="CASCADE"))
    external_order_id: Mapped[str | None] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the item stopped being retried (backend.outbox.record_failure); a person retries or discards it.
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ShopUpdate {self.id} {self.kind} {self.external_order_id}>"
