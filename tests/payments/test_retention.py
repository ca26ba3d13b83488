"""Retention of bank transactions (booking vouchers, § 147 AO, matched or not) and of learned payer IBANs."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.jobs import periodic_jobs
from backend.payments.models import BankTransactionRecord, KnownPayerIban, PaymentMatch
from backend.payments.retention import apply_payment_retention
from backend.receivables import ledger
from backend.receivables.ledger import MoneySource
from backend.receivables.models import Receivable
from tests.factories import make_connection, make_receivable

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def transfer(merchant, name: str, booked: date, *, status: str = "unmatched", imported_days_ago: int = 400):
    row = BankTransactionRecord(
        merchant_id=merchant.id,
        transaction_id=name,
        account="DE89370400440532013000",
        statement_id="2026-1",
        bank_reference=name,
        booking_date=booked,
        amount=Decimal("49.90"),
        currency="EUR",
        counterparty_name=f"Payer {name}",
        counterparty_iban="DE02120300000000202051",
        remittance=f"RE-{name}",
        end_to_end_id=f"E2E-{name}",
        status=status,
        imported_by="test",
        imported_at=NOW - timedelta(days=imported_days_ago),
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def statements(merchant):
    receivable = make_receivable(
        make_connection(merchant), "o-1", total="49.90", invoiced_on=date(2017, 12, 1)
    )
    old = transfer(merchant, "booked-2017", date(2017, 12, 31), status="matched")
    db.session.add(
        PaymentMatch(
            merchant_id=merchant.id,
            transaction_id=old.id,
            receivable_id=receivable.id,
            amount=Decimal("49.90"),
            rule="reference",
            confidence=Decimal("1.000"),
            status="auto_applied",
            explanation="reference",
        )
    )
    ledger.record_payment(
        receivable,
        Decimal("49.90"),
        old.booking_date,
        MoneySource.BANK_STATEMENT,
        external_id="tx:booked-2017",
    )
    transfer(merchant, "booked-2018", date(2018, 1, 1), status="matched")
    transfer(merchant, "stranger-old", date(2026, 5, 4), imported_days_ago=181)
    transfer(merchant, "stranger-new", date(2026, 11, 4), imported_days_ago=30)
    transfer(merchant, "matched-old", date(2026, 5, 4), status="matched", imported_days_ago=181)
    db.session.add_all(
        [
            KnownPayerIban(
                merchant_id=merchant.id, email_key="a" * 64, iban="DE1", learned_at=NOW - timedelta(days=181)
            ),
            KnownPayerIban(
                merchant_id=merchant.id, email_key="b" * 64, iban="DE2", learned_at=NOW - timedelta(days=30)
            ),
        ]
    )
    db.session.commit()
    return receivable


def payers() -> dict[str, tuple[str, str, str, str]]:
    rows = db.session.scalars(sa.select(BankTransactionRecord).order_by(BankTransactionRecord.id))
    return {
        r.transaction_id: (r.counterparty_name, r.counterparty_iban, r.remittance, r.end_to_end_id)
        for r in rows
    }


def test_deletes_vouchers_past_eight_full_years_and_keeps_unmatched_payers_as_long(app, statements):
    summary = apply_payment_retention(NOW)
    db.session.commit()
    assert summary == "1 transactions deleted, 1 payer IBANs forgotten"
    kept = payers()
    assert sorted(kept) == ["booked-2018", "matched-old", "stranger-new", "stranger-old"]
    # An unmatched transfer is a booking voucher too, and the merchant needs its payer to allocate or refund it.
    assert kept["stranger-old"] == (
        "Payer stranger-old",
        "DE02120300000000202051",
        "RE-stranger-old",
        "E2E-stranger-old",
    )
    assert kept["stranger-new"][0] == "Payer stranger-new" and kept["matched-old"][0] == "Payer matched-old"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentMatch)) == 0
    # the payment stays booked in the receivable's ledger
    receivable = db.session.get(Receivable, statements.id)
    assert receivable.paid_amount == Decimal("49.90") and receivable.state == "paid"
    assert db.session.scalars(sa.select(KnownPayerIban.iban)).all() == ["DE2"]
    # a second run finds nothing left to do
    assert apply_payment_retention(NOW) == "0 transactions deleted, 0 payer IBANs forgotten"


def test_periods_come_from_the_configuration(app, statements, monkeypatch):
    monkeypatch.setitem(app.config, "CLAIMBRIDGE_BANK_TRANSACTION_RETENTION_YEARS", 10)
    monkeypatch.setitem(app.config, "CLAIMBRIDGE_PAYER_DATA_RETENTION_DAYS", 365)
    assert apply_payment_retention(NOW) == "0 transactions deleted, 0 payer IBANs forgotten"
    monkeypatch.setitem(app.config, "CLAIMBRIDGE_BANK_TRANSACTION_RETENTION_YEARS", 9)
    monkeypatch.setitem(app.config, "CLAIMBRIDGE_PAYER_DATA_RETENTION_DAYS", 7)
    assert apply_payment_retention(NOW) == "0 transactions deleted, 2 payer IBANs forgotten"


def test_the_worker_runs_it_daily(app):
    job = periodic_jobs(app.config)["payments-retention"]
    assert job.run is apply_payment_retention and job.interval == timedelta(days=1)
