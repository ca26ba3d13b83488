"""After placement: a switch to invoice (or a billing address the gateway never saw) is caught and reported."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.extensions import db
from backend.shopware.services import dispatch_order_events
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.shopware_shop import ShopSimulator
from tests.shopware.checkouts import CUSTOMER_ID, INVOICE, risky_payload

PREPAYMENT = "payment_prepayment"
RISKY_BUYER = {
    "total": "900.00",
    "email": "jana.becker@mailinator.com",
    "street": "Packstation 123",
    "zipcode": "80331",
    "city": "Berlin",
}


@pytest.fixture
def shop(shop_with_admin: tuple[ShopSimulator, FakeShopwareAdmin]) -> tuple[ShopSimulator, FakeShopwareAdmin]:
    return shop_with_admin


def switch_to_invoice(simulator: ShopSimulator, admin: FakeShopwareAdmin, order_id: str) -> None:
    """Play ``/store-api/order/payment``: a new transaction with invoice, then the shop's business event."""
    admin.clock.advance(60)
    admin.add_transaction(order_id, payment_method=INVOICE)
    order = admin.order(order_id)
    payload = {"order": order, "orderTransaction": order["transactions"][-1]}
    answer = simulator.send(simulator.webhook_request("checkout.order.payment_method.changed", payload))
    assert answer.status == 204


def place(simulator: ShopSimulator, admin: FakeShopwareAdmin, order_id: str) -> None:
    answer = simulator.send(
        simulator.webhook_request("checkout.order.placed", {"order": admin.order(order_id)})
    )
    assert answer.status == 204


def reports() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "shopware.invoice_refused_after_order")
        )
    )


class TestPaymentMethodChangedAfterOrder:
    def test_switch_to_invoice_of_a_refused_buyer_is_caught_and_reported_once(self, shop):
        simulator, admin = shop
        order_id = admin.add_order(payment_method=PREPAYMENT, **RISKY_BUYER)
        place(simulator, admin, order_id)
        dispatch_order_events()
        db.session.commit()
        assert admin.notifications == []

        switch_to_invoice(simulator, admin, order_id)
        dispatch_order_events()
        db.session.commit()
        assert len(admin.notifications) == 1
        assert admin.order(order_id)["orderNumber"] in admin.notifications[0]["message"]
        fields = admin.order(order_id)["customFields"]
        assert fields["claimbridge_invoice_refused"] is True
        assert "switched after ordering" in fields["claimbridge_notes"]
        assert [event.details["order_id"] for event in reports()] == [order_id]

        # The shop delivers the event again (another eventId): nothing is reported twice.
        switch_to_invoice(simulator, admin, order_id)
        dispatch_order_events()
        db.session.commit()
        assert len(admin.notifications) == 1

    def test_refusal_at_checkout_is_enough(self, shop):
        simulator, admin = shop
        assert simulator.call_gateway(risky_payload())  # invoice hidden for this checkout
        order_id = admin.add_order(payment_method=PREPAYMENT, total="900.00")
        placed = dict(admin.order(order_id), orderCustomer={"customerId": CUSTOMER_ID}, amountTotal=900.0)
        assert (
            simulator.send(simulator.webhook_request("checkout.order.placed", {"order": placed})).status
            == 204
        )
        dispatch_order_events()
        switch_to_invoice(simulator, admin, order_id)
        dispatch_order_events()
        db.session.commit()
        assert admin.order(order_id)["customFields"]["claimbridge_invoice_refused"] is True

    def test_switch_of_a_clean_buyer_is_left_alone(self, shop):
        simulator, admin = shop
        order_id = admin.add_order(payment_method=PREPAYMENT, total="49.90", email="lena.fischer@example.org")
        switch_to_invoice(simulator, admin, order_id)
        dispatch_order_events()
        db.session.commit()
        assert admin.notifications == []
        assert "claimbridge_invoice_refused" not in (admin.order(order_id)["customFields"] or {})


class TestBillingAddressOfThePlacedOrder:
    def test_a_risky_billing_address_never_seen_by_the_gateway_is_reported(self, shop):
        simulator, admin = shop
        order_id = admin.add_order(payment_method=INVOICE, **RISKY_BUYER)
        place(simulator, admin, order_id)
        dispatch_order_events()
        db.session.commit()
        assert len(admin.notifications) == 1
        assert "billing address" in admin.order(order_id)["customFields"]["claimbridge_notes"]
