"""Dunning tables: schedules, notices, per-buyer stops, base rates, and the outbox of shop actions.

Exactly-once sending, and where it is only "at most a detectable duplicate":

1. The evaluation job decides which receivables are due and, in the same transaction, inserts one
   ``DunningNotice`` per receivable in status ``queued`` and bumps ``Receivable.dunning_level``. The partial
   unique index on (receivable_id, kind) for live (not cancelled) notices makes a second insert for the same
   stage fail, whatever two workers do.
2. The sending job leases a batch of queued notices (``sending`` until ``next_attempt_at``) and commits; for
   each it commits the attempt, sends it outside any transaction, then marks it ``sent`` in the commit that
   counts the next notice's attempt (or its own at the end), so at most one notice is ever handed over and not
   yet marked sent. (The SMTP server gets a notice's envelope and data while its attempt is committed; only the
   end of the data, where the server accepts the message, waits for that commit.) A worker dying after the
   lease leaves the notice ``sending``; once the lease runs out another worker takes it over, so a notice is
   never lost.
3. The one window that can repeat an e-mail is a crash (or lost connection) after the SMTP server accepted
   the message and before ``sent`` was committed. SMTP offers no idempotent submit, so we accept at-least-once
   there and make it detectable: every attempt of a notice carries the same Message-ID
   (``<dunning-notice-<id>@<mail domain>>``), which mail stores and our logs can de-duplicate.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db, utcnow
from backend.types import Money, UTCDateTime

KINDS = ("reminder", "dunning", "final_notice")
CHANNELS = ("email", "shop", "letter", "none")
DEBTOR_KINDS = ("consumer", "business")


class NoticeStatus(enum.StrEnum):
    """Where a notice stands; only ``sent`` notices count for the claim and the next stage."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ShopActionStatus(enum.StrEnum):
    """Where a request to the shop stands."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


NOTICE_STATUSES = tuple(status.value for status in NoticeStatus)
SHOP_ACTION_STATUSES = tuple(status.value for status in ShopActionStatus)


class DunningScheduleRecord(db.Model):
    """A merchant's saved schedule for one kind of debtor (its stages are ``DunningStageRecord`` rows)."""

    __tablename__ = "dunning_schedules"
    __table_args__ = (sa.CheckConstraint(f"debtor_kind IN {DEBTOR_KINDS}", name="debtor_kind"),)

    merchant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    debtor_kind: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    handover_after_days: Mapped[int]
    grace_banking_days: Mapped[int] = mapped_column(server_default="2")
    letter_cost: Mapped[Decimal] = mapped_column(Money, server_default="1.00")
    updated_by: Mapped[str] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<DunningScheduleRecord merchant={self.merchant_id} {self.debtor_kind}>"


class DunningStageRecord(db.Model):
    """One stage of a saved schedule, as a row so the evaluation can join it in SQL."""

    __tablename__ = "dunning_stages"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["merchant_id", "debtor_kind"],
            ["dunning_schedules.merchant_id", "dunning_schedules.debtor_kind"],
            ondelete="CASCADE",
            name="fk_dunning_stages_schedule",
        ),
        sa.CheckConstraint(f"kind IN {KINDS}", name="kind"),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
    )

    merchant_id: Mapped[int] = mapped_column(primary_key=True)
    debtor_kind: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    level: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    offset_days: Mapped[int]
    fee: Mapped[Decimal] = mapped_column(Money)
    payment_deadline_days: Mapped[int]
    channel: Mapped[str] = mapped_column(sa.String(10))

    def __repr__(self) -> str:
        return f"<DunningStageRecord merchant={self.merchant_id} {self.debtor_kind} {self.kind}>"


class DunningNotice(db.Model):
    """One notice to a debtor: decided (queued), then sent by e-mail, by the shop, or only recorded."""

    __tablename__ = "dunning_notices"
    __table_args__ = (
        sa.Index(
            "uq_dunning_notices_receivable_kind",
            "receivable_id",
            "kind",
            unique=True,
            postgresql_where=sa.text("status <> 'cancelled'"),
            sqlite_where=sa.text("status <> 'cancelled'"),
        ),
        sa.Index("ix_dunning_notices_status_next_attempt", "status", "next_attempt_at"),
        sa.Index("ix_dunning_notices_receivable_level", "receivable_id", "level"),
        sa.CheckConstraint(f"kind IN {KINDS}", name="kind"),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        sa.CheckConstraint(f"status IN {NOTICE_STATUSES}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    receivable_id: Mapped[int] = mapped_column(sa.ForeignKey("receivables.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    level: Mapped[int]
    channel: Mapped[str] = mapped_column(sa.String(10))
    fee: Mapped[Decimal] = mapped_column(Money)
    payment_deadline_days: Mapped[int]
    queued_on: Mapped[date] = mapped_column(sa.Date)
    sent_on: Mapped[date | None] = mapped_column(sa.Date)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_on: Mapped[date | None] = mapped_column(sa.Date)
    language: Mapped[str | None] = mapped_column(sa.String(2))
    # Proof of sending: with ``channel`` and ``sent_at``, the Message-ID the mail server (or shop) accepted
    # and the SHA-256 of exactly what was sent (the e-mail's bytes, or the request the shop received).
    message_id: Mapped[str | None] = mapped_column(sa.String(255))
    content_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(10), default=NoticeStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<DunningNotice {self.id} {self.kind} receivable={self.receivable_id} {self.status}>"


class DunningBuyerStop(db.Model):
    """No dunning for any receivable of one buyer (matched by the keyed hash of the e-mail address)."""

    __tablename__ = "dunning_buyer_stops"
    __table_args__ = (sa.UniqueConstraint("merchant_id", "email_key", name="uq_dunning_buyer_stops_buyer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"))
    email_key: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<DunningBuyerStop merchant={self.merchant_id}>"


class BaseRateRecord(db.Model):
    """A §247 BGB base rate the operator added (newer than the bundled CSV)."""

    __tablename__ = "base_rates"

    valid_from: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2, asdecimal=True))
    source: Mapped[str] = mapped_column(sa.String(500))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<BaseRateRecord {self.valid_from} {self.percent}>"


class ShopAction(db.Model):
    """Outbox: something the shop must do for us (today: send its own payment reminder for a notice)."""

    __tablename__ = "shop_actions"
    __table_args__ = (
        sa.Index("ix_shop_actions_status_next_attempt", "status", "next_attempt_at"),
        sa.CheckConstraint(f"status IN {SHOP_ACTION_STATUSES}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_connections.id", ondelete="CASCADE"))
    receivable_id: Mapped[int] = mapped_column(sa.ForeignKey("receivables.id", ondelete="CASCADE"))
    notice_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("dunning_notices.id", ondelete="CASCADE"), unique=True
    )
    action: Mapped[str] = mapped_column(sa.String(30))
    status: Mapped[str] = mapped_column(sa.String(10), default=ShopActionStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the item stopped being retried (backend.outbox.record_failure); a person retries or discards it.
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ShopAction {self.id} {self.action} receivable={self.receivable_id} {self.status}>"
