"""The built-in agency's inbox: cases handed over by merchants that chose ``builtin``, their events, payments.

The inbox is per merchant: staff work a merchant's cases with an API client of that merchant holding the
``cases:write`` scope (or with the ``claimbridge cases`` CLI, which sees every merchant).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db, utcnow
from backend.types import JSONType, Money, UTCDateTime

SUBMISSION_STATES = ("accepted", "rejected")
LEGAL_STAGES = ("extrajudicial", "judicial_dunning", "foreclosure", "long_term_monitoring", "ended")
PROCESSING_STATES = ("in_progress", "paused", "canceled_by_client", "canceled_by_service_provider", "ended")
PAYMENT_STATES = ("unpaid", "partially_paid", "fully_paid")
PAYMENT_SOURCES = ("collected", "direct")


class AgencyCase(db.Model):
    """One case in the built-in inbox, with everything §13a RDG needs (``data``) and its current status."""

    __tablename__ = "agency_cases"
    __table_args__ = (
        sa.UniqueConstraint("merchant_id", "your_reference", name="uq_agency_cases_reference"),
        sa.CheckConstraint(f"submission_state IN {SUBMISSION_STATES}", name="submission_state"),
        sa.CheckConstraint(f"legal_stage IN {LEGAL_STAGES}", name="legal_stage"),
        sa.CheckConstraint(f"processing_state IN {PROCESSING_STATES}", name="processing_state"),
        sa.CheckConstraint(f"payment_state IN {PAYMENT_STATES}", name="payment_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    your_reference: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    debtor_name: Mapped[str] = mapped_column(sa.String(300))
    invoice_number: Mapped[str] = mapped_column(sa.String(100))
    currency: Mapped[str] = mapped_column(sa.String(3))
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    costs: Mapped[Decimal] = mapped_column(Money)
    paid_before: Mapped[Decimal] = mapped_column(Money)
    submission_state: Mapped[str] = mapped_column(sa.String(20), default="accepted")
    legal_stage: Mapped[str] = mapped_column(sa.String(30), default="extrajudicial")
    processing_state: Mapped[str] = mapped_column(sa.String(40), default="in_progress")
    payment_state: Mapped[str] = mapped_column(sa.String(20), default="unpaid")
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    last_update: Mapped[str | None] = mapped_column(sa.String(300))
    # The invoice (or claim statement) handed over with the case, downloadable by the agency's staff.
    document_content: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    document_filename: Mapped[str | None] = mapped_column(sa.String(200))
    document_mime_type: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<AgencyCase {self.id} {self.your_reference} {self.legal_stage}/{self.processing_state}>"


class AgencyCaseEvent(db.Model):
    """One thing that happened to a case (a status change, a payment, a withdrawal), with who did it."""

    __tablename__ = "agency_case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("agency_cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    actor: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<AgencyCaseEvent {self.id} case={self.case_id} {self.kind}>"


class AgencyCasePayment(db.Model):
    """A payment on a case: collected by the agency, or paid directly to the merchant and reported."""

    __tablename__ = "agency_case_payments"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "source", "reference", name="uq_agency_case_payments_reference"),
        sa.CheckConstraint(f"source IN {PAYMENT_SOURCES}", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("agency_cases.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(sa.String(10))
    reference: Mapped[str] = mapped_column(sa.String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    value_date: Mapped[date] = mapped_column(sa.Date)
    actor: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<AgencyCasePayment {self.id} case={self.case_id} {self.source} {self.amount}>"
