"""Retention of bank transactions and payer data (the worker's ``payments-retention`` job).

- A bank transaction is a booking voucher: it is kept for ``CLAIMBRIDGE_BANK_TRANSACTION_RETENTION_YEARS``
  full calendar years after the year it was booked (§ 147(3), (4) AO: eight years for booking vouchers since
  2025), then deleted with its matches. The payments it made stay booked in the receivables' ledgers.
- Payer data that is nobody's booking: the payer name, IBAN, remittance text and end-to-end id of a transfer
  that matched no receivable, and the payer IBANs learned from confirmed matches, are kept for
  ``CLAIMBRIDGE_PAYER_DATA_RETENTION_DAYS`` after import (or learning), then blanked or deleted.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.extensions import db, utcnow
from backend.payments.models import BankTransactionRecord, KnownPayerIban, TransactionStatus

ERASED = ""  # blanked payer fields: the columns are NOT NULL, and "" reads as "not given" everywhere


def apply_payment_retention(now: datetime | None = None) -> str:
    """Delete bank transactions past their retention; blank unmatched payer data and forget learned IBANs."""
    now = now or utcnow()
    years = current_app.config["CLAIMBRIDGE_BANK_TRANSACTION_RETENTION_YEARS"]
    payer_cutoff = now - timedelta(days=current_app.config["CLAIMBRIDGE_PAYER_DATA_RETENTION_DAYS"])
    # Booked in a year that ended at least ``years`` full years ago: on or before 31 Dec of (this year - years - 1).
    last_expired_day = date(now.year - years - 1, 12, 31)
    deleted = db.session.execute(
        sa.delete(BankTransactionRecord).where(BankTransactionRecord.booking_date <= last_expired_day)
    ).rowcount
    blanked = db.session.execute(
        sa.update(BankTransactionRecord)
        .where(
            BankTransactionRecord.status == TransactionStatus.UNMATCHED.value,
            BankTransactionRecord.imported_at < payer_cutoff,
            sa.or_(
                BankTransactionRecord.counterparty_name != ERASED,
                BankTransactionRecord.counterparty_iban != ERASED,
                BankTransactionRecord.remittance != ERASED,
                BankTransactionRecord.end_to_end_id != ERASED,
            ),
        )
        .values(counterparty_name=ERASED, counterparty_iban=ERASED, remittance=ERASED, end_to_end_id=ERASED)
    ).rowcount
    forgotten = db.session.execute(
        sa.delete(KnownPayerIban).where(KnownPayerIban.learned_at < payer_cutoff)
    ).rowcount
    return f"{deleted} transactions deleted, {blanked} unmatched payers blanked, {forgotten} payer IBANs forgotten"
