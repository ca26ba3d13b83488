"""Builders shared by the dunning and receivables tests: shop orders, receivables, merchants ready to dun."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from backend.dunning.services import update_dunning_settings
from backend.extensions import db
from backend.merchants.models import Merchant, ShopConnection
from backend.orders.services import upsert_order
from backend.receivables.models import Receivable
from connectors.shops.base import Address, Buyer, OrderState, ShopOrder

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"


def make_connection(merchant: Merchant) -> ShopConnection:
    """Add an active API connection to ``merchant``."""
    connection = ShopConnection(
        merchant_id=merchant.id, platform="api", shop_url="https://shop.example", status="active"
    )
    db.session.add(connection)
    db.session.commit()
    return connection


def set_payment_details(merchant: Merchant, **values: Any) -> None:
    """Give ``merchant`` the bank account its notices name."""
    document = {"payment_details": {"account_holder": merchant.name, "iban": IBAN, "bic": BIC}, **values}
    update_dunning_settings(merchant, document, actor="test")
    db.session.commit()


def at_noon(day: date) -> datetime:
    """Return noon UTC on ``day`` (the same calendar day in Berlin)."""
    return datetime.combine(day, time(12), tzinfo=UTC)


def shop_order(
    external_id: str,
    *,
    invoiced_on: date,
    total: str = "1190.00",
    state: OrderState = OrderState.OPEN,
    paid_amount: str | None = None,
    paid_on: date | None = None,
    email: str = "erika.mustermann@example.org",
    country: str = "DE",
    company: str | None = None,
) -> ShopOrder:
    """Build a normalised invoice order as a shop would report it."""
    return ShopOrder(
        external_id=external_id,
        number=f"RE-{external_id}",
        state=state,
        platform_order_state="open",
        platform_payment_state=state.value,
        total=Decimal(total),
        currency="EUR",
        ordered_at=at_noon(invoiced_on),
        invoiced_at=at_noon(invoiced_on),
        buyer=Buyer(email=email, first_name="Erika", last_name="Mustermann"),
        billing_address=Address(
            first_name="Erika",
            last_name="Mustermann",
            company=company,
            street="Heidestraße",
            house_number="17",
            postal_code="51147",
            city="Köln",
            country=country,
        ),
        paid_amount=Decimal(paid_amount) if paid_amount is not None else None,
        paid_at=at_noon(paid_on) if paid_on else None,
        payment_method="invoice",
    )


def upsert(connection: ShopConnection, order: ShopOrder, **kwargs: Any) -> Receivable:
    """Ingest ``order`` like the webhook or reconcile path does, and commit."""
    result = upsert_order(connection, order, actor="test", track_any_method=True, **kwargs)
    db.session.commit()
    assert result.receivable is not None
    return result.receivable
