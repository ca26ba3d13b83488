"""Payment tables: imported bank transactions, their matches to receivables, and payer IBANs learned."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db, utcnow
from backend.types import Money, UTCDateTime


class TransactionStatus(enum.StrEnum):
    """What became of an imported transfer."""

    MATCHED = "matched"  # money applied to receivables (automatically or confirmed)
    REVIEW = "review"  # a person decides between the proposals
    UNMATCHED = "unmatched"  # no receivable fits, or every proposal was rejected


class MatchStatus(enum.StrEnum):
    """Where one proposed allocation of a transfer to a receivable stands."""

    AUTO_APPLIED = "auto_applied"
    REVIEW = "review"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


TRANSACTION_STATUSES = tuple(status.value for status in TransactionStatus)
MATCH_STATUSES = tuple(status.value for status in MatchStatus)


class BankTransactionRecord(db.Model):
    """One incoming transfer from a merchant's bank statement; unique per (merchant, transaction id)."""

    __tablename__ = "bank_transactions"
    __table_args__ = (
        sa.UniqueConstraint(
            "merchant_id", "transaction_id", name="uq_bank_transactions_merchant_transaction"
        ),
        sa.CheckConstraint(f"status IN {TRANSACTION_STATUSES}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"))
    transaction_id: Mapped[str] = mapped_column(sa.String(64))
    account: Mapped[str] = mapped_column(sa.String(64))
    statement_id: Mapped[str] = mapped_column(sa.String(100))
    bank_reference: Mapped[str] = mapped_column(sa.String(100))
    booking_date: Mapped[date] = mapped_column(sa.Date)
    value_date: Mapped[date | None] = mapped_column(sa.Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    counterparty_name: Mapped[str] = mapped_column(sa.String(200))
    counterparty_iban: Mapped[str] = mapped_column(sa.String(34))
    remittance: Mapped[str] = mapped_column(sa.Text)
    end_to_end_id: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20))
    imported_by: Mapped[str] = mapped_column(sa.String(300))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<BankTransactionRecord {self.id} {self.amount} {self.currency} {self.status}>"


class PaymentMatch(db.Model):
    """Money of one transfer allocated to one receivable, with the rule, confidence and decision."""

    __tablename__ = "payment_matches"
    __table_args__ = (
        # Also the index of a transfer's matches (and of the cascade from it): one on transaction_id alone
        # only repeated it, and cost every match stored an index entry more (migration 0027).
        sa.UniqueConstraint(
            "transaction_id", "receivable_id", name="uq_payment_matches_transaction_receivable"
        ),
        sa.CheckConstraint(f"status IN {MATCH_STATUSES}", name="status"),
        sa.Index("ix_payment_matches_merchant_status", "merchant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"))
    transaction_id: Mapped[int] = mapped_column(sa.ForeignKey("bank_transactions.id", ondelete="CASCADE"))
    receivable_id: Mapped[int] = mapped_column(
        sa.ForeignKey("receivables.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    rule: Mapped[str] = mapped_column(sa.String(30))
    confidence: Mapped[Decimal] = mapped_column(sa.Numeric(4, 3))
    status: Mapped[str] = mapped_column(sa.String(20))
    explanation: Mapped[str] = mapped_column(sa.String(1000))
    decided_by: Mapped[str | None] = mapped_column(sa.String(300))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<PaymentMatch {self.id} tx={self.transaction_id} r={self.receivable_id} {self.status}>"


class KnownPayerIban(db.Model):
    """An IBAN a buyer (by e-mail key) paid from in a confirmed match: evidence for later transfers."""

    __tablename__ = "known_payer_ibans"
    __table_args__ = (
        sa.UniqueConstraint("merchant_id", "email_key", "iban", name="uq_known_payer_ibans_buyer_iban"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"))
    email_key: Mapped[str] = mapped_column(sa.String(64))
    iban: Mapped[str] = mapped_column(sa.String(34))
    learned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<KnownPayerIban {self.merchant_id} {self.email_key[:8]} {self.iban[-4:]}>"


class ImportedStatement(db.Model):
    """A statement file a merchant imported, by the SHA-256 of its bytes: the same file again changes nothing.

    Its counts answer a repeated import without reading the file again (a bank resends a day's statement, a
    person uploads it twice).
    """

    __tablename__ = "imported_statements"
    __table_args__ = (
        sa.UniqueConstraint("merchant_id", "sha256", name="uq_imported_statements_merchant_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    incoming: Mapped[int]
    not_incoming: Mapped[int]
    imported_by: Mapped[str] = mapped_column(sa.String(300))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ImportedStatement {self.merchant_id} {self.sha256[:12]}>"
