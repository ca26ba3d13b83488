"""Retention of bank transactions and payer data (the worker's ``payments-retention`` job).

- A bank transaction is a booking voucher: it is kept for ``CLAIMBRIDGE_BANK_TRANSACTION_RETENTION_YEARS``
  full calendar years after the year it was booked (§ 147(3), (4) AO: eight years for booking vouchers since
  2025), then deleted with its matches. The payments it made stay booked in the receivables' ledgers.
  A transfer that matched no receivable is a booking voucher as much as a matched one: its payer name, IBAN,
  remittance text and end-to-end id stay unchanged as long (§ 146(4), § 147 AO; Art. 17(3)(b) GDPR), and the
  merchant needs them to allocate or refund the money. Blanking them when the transfer is resolved would be
  shorter than the law allows, so nothing of a kept voucher is blanked.
- The payer IBANs learned from confirmed matches are no voucher: they are forgotten
  ``CLAIMBRIDGE_PAYER_DATA_RETENTION_DAYS`` after they were learned.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.extensions import db, utcnow
from backend.payments.models import BankTransactionRecord, KnownPayerIban


def apply_payment_retention(now: datetime | None = None) -> str:
    """Delete bank transactions past their retention and forget learned payer IBANs past theirs."""
    now = now or utcnow()
    years = current_app.config["CLAIMBRIDGE_BANK_TRANSACTION_RETENTION_YEARS"]
    payer_cutoff = now - timedelta(days=current_app.config["CLAIMBRIDGE_PAYER_DATA_RETENTION_DAYS"])
    # Booked in a year that ended at least ``years`` full years ago: on or before 31 Dec of (this year - years - 1).
    last_expired_day = date(now.year - years - 1, 12, 31)
    deleted = db.session.execute(
        sa.delete(BankTransactionRecord).where(BankTransactionRecord.booking_date <= last_expired_day)
    ).rowcount
    forgotten = db.session.execute(
        sa.delete(KnownPayerIban).where(KnownPayerIban.learned_at < payer_cutoff)
    ).rowcount
    return f"{deleted} transactions deleted, {forgotten} payer IBANs forgotten"
