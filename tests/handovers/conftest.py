"""Builders for handover tests: rules, base rates, shops and agencies on loopback (receivables: ``tests.factories``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from backend.crypto import encrypt_text
from backend.dates import berlin_today
from backend.dunning.models import BaseRateRecord
from backend.extensions import db
from backend.handovers.models import HandoverRule, ShopUpdate
from backend.handovers.shop_updates import process_shop_updates
from backend.merchants.models import Merchant
from backend.receivables.models import Receivable
from tests.factories import make_connection, overdue_receivable
from tests.fakes.agency import FakePaywise
from tests.fakes.server import FakeServer
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.woocommerce_rest import FakeWooCommerce

CREDITOR = {
    "street": "Hafenstraße",
    "house_number": "5",
    "postal_code": "20457",
    "city": "Hamburg",
    "country": "DE",
}


@pytest.fixture(autouse=True)
def _current_base_rate(app: Any) -> None:
    """Add the 2026-07-01 base rate the bundled table lacks, as an operator would (collection.md)."""
    if db.session.get(BaseRateRecord, date(2026, 7, 1)) is None:
        db.session.add(
            BaseRateRecord(
                valid_from=date(2026, 7, 1), percent=Decimal("1.27"), source="test", created_by="test"
            )
        )
    if db.session.get(BaseRateRecord, date(2027, 1, 1)) is None and berlin_today() >= date(2027, 1, 1):
        db.session.add(
            BaseRateRecord(
                valid_from=date(2027, 1, 1), percent=Decimal("1.27"), source="test", created_by="test"
            )
        )
    db.session.commit()


def set_rules(merchant: Merchant, **values: Any) -> HandoverRule:
    """Give the merchant handover rules (builtin agency, creditor address) with ``values`` overriding."""
    rule = db.session.get(HandoverRule, merchant.id) or HandoverRule(
        merchant_id=merchant.id, updated_by="test"
    )
    rule.creditor_address = CREDITOR
    rule.minimum_amount = Decimal("0.00")
    rule.agency = "builtin"
    api_key = values.pop("api_key", None)
    if api_key:
        rule.agency_api_key_encrypted = encrypt_text(api_key)
    for name, value in values.items():
        setattr(rule, name, value)
    db.session.add(rule)
    db.session.commit()
    return rule


def drain_shop_updates() -> None:
    """Run the shop outbox until nothing is due (retries are made due at once)."""
    for _ in range(20):
        db.session.execute(
            sa.update(ShopUpdate)
            .where(ShopUpdate.done_at.is_(None))
            .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
        db.session.commit()
        process_shop_updates()
        if not db.session.scalar(
            sa.select(sa.func.count()).select_from(ShopUpdate).where(ShopUpdate.done_at.is_(None))
        ):
            return
    raise AssertionError("shop updates did not drain")


@pytest.fixture
def shopware() -> Iterator[tuple[FakeShopwareAdmin, FakeServer]]:
    fake = FakeShopwareAdmin()
    with fake.serve() as server:
        yield fake, server


@pytest.fixture
def woocommerce() -> Iterator[tuple[FakeWooCommerce, FakeServer]]:
    fake = FakeWooCommerce()
    with fake.serve() as server:
        yield fake, server


@pytest.fixture
def paywise() -> Iterator[tuple[FakePaywise, FakeServer]]:
    fake = FakePaywise()
    with fake.serve() as server:
        yield fake, server


@pytest.fixture
def shopware_order(
    shopware: tuple[FakeShopwareAdmin, FakeServer], merchant: Merchant
) -> Callable[..., Receivable]:
    """Return a factory: an order in the fake Shopware shop and its overdue receivable."""
    fake, server = shopware
    connection = make_connection(
        merchant, "shopware", server.url, api_key=fake.client_id, secret_key=fake.client_secret
    )

    def factory(total: str = "119.00") -> Receivable:
        order_id = fake.add_order(total=total)
        return overdue_receivable(connection, order_id, total=total)

    return factory
