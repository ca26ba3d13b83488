"""Builders for receivables and what they need, shared by every test area.

A receivable is always made the way production makes one: a shop order goes through ``upsert_order`` and
so through the ledger, which books what the order reports as paid on its paid date. Later states come from
the ledger's own verbs (``in_collection`` by ``hand_over``), so test data never holds a history the
product could not have written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from backend.dates import berlin_today
from backend.dunning.law import next_working_day
from backend.dunning.models import DunningNotice
from backend.extensions import db
from backend.merchants.connectors import store_credentials
from backend.merchants.models import Merchant, ShopConnection
from backend.orders.services import upsert_order
from backend.receivables import ledger
from backend.receivables.models import Receivable
from connectors.shops.base import Address, Buyer, LineItem, OrderState, ShopOrder

# (kind, days after the due date it is sent, payment deadline days, fee): reminder → final notice.
FRANKFURT = {
    "street": "Berger Str.",
    "house_number": "12",
    "postal_code": "60316",
    "city": "Frankfurt am Main",
}
NOTICE_PLAN = (("reminder", 7, 5, "0.00"), ("dunning", 14, 10, "2.50"), ("final_notice", 28, 14, "2.50"))


def make_connection(
    merchant: Merchant, platform: str = "api", url: str = "https://shop.example", **credentials: str
) -> ShopConnection:
    """Add an active connection to ``merchant``; shop platforms get their (encrypted) credentials."""
    connection = ShopConnection(
        merchant_id=merchant.id, platform=platform, shop_url=url, status="active", name=platform
    )
    db.session.add(connection)
    db.session.flush()
    if credentials:
        store_credentials(connection, credentials)
    db.session.commit()
    return connection


def at_noon(day: date) -> datetime:
    """Return noon UTC on ``day`` (the same calendar day in Berlin)."""
    return datetime.combine(day, time(12), tzinfo=UTC)


def shop_order(
    external_id: str,
    *,
    invoiced_on: date | None = None,
    total: str = "1190.00",
    state: OrderState = OrderState.OPEN,
    paid_amount: str | None = None,
    paid_on: date | None = None,
    number: str | None = None,
    email: str = "erika.mustermann@example.org",
    first_name: str = "Erika",
    last_name: str = "Mustermann",
    phone: str | None = None,
    country: str = "DE",
    company: str | None = None,
    address: dict[str, str] | None = None,
    payment_method: str = "invoice",
    **facts: Any,
) -> ShopOrder:
    """Build a normalised invoice order as a shop reports it (invoiced today unless ``invoiced_on``).

    ``address`` overrides street, house number, postal code and city of the billing address; ``facts`` are
    the order's legal facts (``vat_id``, ``debtor_kind``, ``invoice_has_default_notice``, ``shipped_at``).
    """
    moment = at_noon(invoiced_on or berlin_today())
    street = {"street": "Heidestraße", "house_number": "17", "postal_code": "51147", "city": "Köln"}
    return ShopOrder(
        external_id=external_id,
        number=number or f"RE-{external_id}",
        state=state,
        platform_order_state="open",
        platform_payment_state=state.value,
        total=Decimal(total),
        currency="EUR",
        ordered_at=moment,
        invoiced_at=moment,
        buyer=Buyer(email=email, first_name=first_name, last_name=last_name, phone=phone),
        billing_address=Address(
            first_name=first_name,
            last_name=last_name,
            company=company,
            country=country,
            **(street | (address or {})),
        ),
        line_items=(LineItem("1", "Kaffeemühle Aurora", 1, Decimal(total), Decimal(total)),),
        paid_amount=Decimal(paid_amount) if paid_amount is not None else None,
        paid_at=at_noon(paid_on) if paid_on else None,
        payment_method=payment_method,
        **facts,
    )


def upsert(connection: ShopConnection, order: ShopOrder, **kwargs: Any) -> Receivable:
    """Ingest ``order`` like the webhook or reconcile path does, and commit."""
    result = upsert_order(connection, order, actor="test", track_any_method=True, **kwargs)
    db.session.commit()
    assert result.receivable is not None
    return result.receivable


def make_receivable(
    connection: ShopConnection, external_id: str, *, in_collection: bool = False, **order: Any
) -> Receivable:
    """Ingest an invoice order (``shop_order`` fields) and, with ``in_collection``, hand it over."""
    receivable = upsert(connection, shop_order(external_id, **order))
    if in_collection:
        ledger.hand_over(receivable, data={"handover": None}, actor="test")
        db.session.commit()
    return receivable


def add_sent_notice(
    receivable: Receivable,
    kind: str,
    sent_on: date,
    *,
    level: int = 1,
    fee: str = "0.00",
    deadline_days: int = 7,
) -> DunningNotice:
    """Record a notice as sent on ``sent_on``: a letter the merchant posted when it has a fee, else by the
    merchant's own system (only a letter's fee is owed)."""
    notice = DunningNotice(
        merchant_id=receivable.merchant_id,
        receivable_id=receivable.id,
        kind=kind,
        level=level,
        channel="letter" if Decimal(fee) else "none",
        fee=Decimal(fee),
        payment_deadline_days=deadline_days,
        queued_on=sent_on,
        sent_on=sent_on,
        sent_at=datetime.combine(sent_on, time(9), tzinfo=UTC),
        deadline_on=next_working_day(sent_on + timedelta(days=deadline_days)),
        status="sent",
    )
    db.session.add(notice)
    ledger.set_dunning_level(receivable, level)
    return notice


def overdue_receivable(
    connection: ShopConnection,
    external_id: str,
    *,
    total: str = "119.00",
    days_ago: int = 60,
    company: str | None = None,
    notices: tuple[tuple[str, int, int, str], ...] = NOTICE_PLAN,
    vat_id: str | None = None,
) -> Receivable:
    """Ingest an invoice order ``days_ago`` old and record its notices as sent (reminder → final notice)."""
    receivable = upsert(
        connection,
        shop_order(
            external_id,
            invoiced_on=berlin_today() - timedelta(days=days_ago),
            total=total,
            number=f"RE-{external_id[:12]}",
            email="anna.schmidt@example.org",
            first_name="Anna",
            last_name="Schmidt",
            phone="+49 69 1234567",
            company=company,
            address=FRANKFURT,
            vat_id=vat_id,
        ),
    )
    for level, (kind, offset, deadline_days, fee) in enumerate(notices, start=1):
        sent_on = receivable.due_date + timedelta(days=offset)
        add_sent_notice(receivable, kind, sent_on, level=level, fee=fee, deadline_days=deadline_days)
    db.session.commit()
    return receivable
