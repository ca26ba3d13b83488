"""Migration 0011 turns the history written before the ledger into bookings, and back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from backend.extensions import db
from backend.merchants.models import ShopConnection
from backend.merchants.services import create_merchant
from backend.receivables.ledger import payment_bookings
from backend.receivables.models import Receivable
from tests.conftest import _drop_postgres_database, _postgres_url, _test_run_id, make_app

CREATED = datetime(2026, 1, 6, 10, tzinfo=UTC)
OLD_EVENTS = sa.table(
    "receivable_events",
    sa.column("id", sa.Integer),
    sa.column("receivable_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("actor", sa.String),
    sa.column("data", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


@pytest.fixture
def fresh_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database of the same kind as the suite's, migrated to just before the ledger."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'before-ledger.db'}"
    else:
        url = _postgres_url(f"{_test_run_id()}_ledger_migration")
    app = make_app(url, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0010")
        yield app
        db.session.remove()
        db.engine.dispose()
    if not url.startswith("sqlite"):
        _drop_postgres_database(url)


def _receivable(merchant_id: int, connection_id: int, number: str, **values: Any) -> Receivable:
    """Insert a receivable with only the columns revision 0010 has; return it as a detached object."""
    values = {
        "merchant_id": merchant_id,
        "connection_id": connection_id,
        "external_id": number,
        "number": number,
        "currency": "EUR",
        "total_amount": Decimal("500.00"),
        "credited_amount": Decimal("0.00"),
        "ordered_at": CREATED,
        "invoice_date": date(2026, 1, 5),
        "due_date": date(2026, 1, 19),
        "created_at": CREATED,
        **values,
    }
    table = Receivable.__table__
    receivable_id = db.session.scalar(sa.insert(table).values(**values).returning(table.c.id))
    return Receivable(id=receivable_id, **values)


def _old_event(receivable: Receivable, kind: str, data: dict[str, Any], at: datetime) -> None:
    db.session.execute(
        OLD_EVENTS.insert().values(
            receivable_id=receivable.id, kind=kind, actor="before", data=data, created_at=at
        )
    )


def test_old_history_becomes_dated_bookings_and_goes_back(fresh_app: Flask) -> None:
    merchant = create_merchant("Vorher GmbH", actor="test")
    # Only the columns revision 0010 has (later migrations add more to the model).
    connection_id = db.session.scalar(
        sa.insert(ShopConnection.__table__)
        .values(merchant_id=merchant.id, platform="api", name="", shop_url="", status="active")
        .returning(ShopConnection.__table__.c.id)
    )
    # Paid 100.00 in the shop (synced), 100.00 by bank transfer, 50.00 through the agency.
    mixed = _receivable(
        merchant.id,
        connection_id,
        "mixed",
        paid_amount=Decimal("250.00"),
        paid_at=datetime(2026, 3, 2, 11, tzinfo=UTC),
    )
    _old_event(
        mixed,
        "synced",
        {"paid_amount": ["0.00", "100.00"], "paid_at": [None, "2026-02-10T11:00:00+00:00"]},
        datetime(2026, 2, 11, 8, tzinfo=UTC),
    )
    _old_event(
        mixed,
        "payment",
        {"amount": "100.00", "booking_date": "2026-03-02", "source": "bank_transfer", "payment_match": 7},
        datetime(2026, 3, 3, 8, tzinfo=UTC),
    )
    _old_event(
        mixed,
        "collection_payment",
        {"handover": 1, "amount": "50.00", "value_date": "2026-04-01"},
        datetime(2026, 4, 9, 8, tzinfo=UTC),
    )
    # Arrived paid, and with a credit note: no event explains either amount.
    arrived_paid = _receivable(
        merchant.id,
        connection_id,
        "arrived-paid",
        paid_amount=Decimal("80.00"),
        credited_amount=Decimal("20.00"),
        paid_at=datetime(2026, 1, 20, 11, tzinfo=UTC),
    )
    db.session.commit()

    upgrade(revision="0011")

    assert [(b.kind.value, b.booked_on, b.amount) for b in payment_bookings(mixed)] == [
        ("payment", date(2026, 2, 10), Decimal("100.00")),
        ("payment", date(2026, 3, 2), Decimal("100.00")),
        ("payment", date(2026, 4, 1), Decimal("50.00")),
    ]
    assert [(b.kind.value, b.booked_on, b.amount) for b in payment_bookings(arrived_paid)] == [
        ("credit", date(2026, 1, 5), Decimal("20.00")),
        ("payment", date(2026, 1, 20), Decimal("80.00")),
    ]
    sources = db.session.execute(
        sa.text(
            "SELECT source, external_id FROM receivable_events WHERE receivable_id = :id AND amount IS NOT NULL ORDER BY booked_on"
        ),
        {"id": mixed.id},
    ).all()
    assert [tuple(row) for row in sources] == [
        ("shop", None),
        ("bank_statement", "payment_match:7"),
        ("agency", None),
    ]

    db.session.remove()
    downgrade(revision="0010")

    kinds = db.session.execute(sa.select(OLD_EVENTS.c.kind).order_by(OLD_EVENTS.c.id)).scalars().all()
    assert kinds == ["synced", "payment", "collection_payment"]
