"""After placement: a switch to invoice (or a billing address the gateway never saw) is caught and reported."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.extensions import db
from backend.handovers.models import ShopUpdate
from backend.handovers.shop_updates import process_shop_updates
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


def review_events() -> None:
    """Run the worker's rounds: dispatch the shop's events (reviews), then send the shop outbox."""
    dispatch_order_events()
    db.session.commit()
    process_shop_updates()
    db.session.commit()


def make_outbox_due() -> None:
    """Let the outbox's waiting items be due now, as if their backoff had passed."""
    db.session.execute(
        sa.update(ShopUpdate)
        .where(ShopUpdate.done_at.is_(None))
        .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
    )
    db.session.commit()


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
        review_events()
        assert admin.notifications == []

        switch_to_invoice(simulator, admin, order_id)
        review_events()
        assert len(admin.notifications) == 1
        assert admin.order(order_id)["orderNumber"] in admin.notifications[0]["message"]
        fields = admin.order(order_id)["customFields"]
        assert fields["claimbridge_invoice_refused"] is True
        assert "switched after ordering" in fields["claimbridge_notes"]
        assert [event.details["order_id"] for event in reports()] == [order_id]

        # The shop delivers the event again (another eventId): nothing is reported twice.
        switch_to_invoice(simulator, admin, order_id)
        review_events()
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
        review_events()
        switch_to_invoice(simulator, admin, order_id)
        review_events()
        assert admin.order(order_id)["customFields"]["claimbridge_invoice_refused"] is True

    def test_switch_of_a_clean_buyer_is_left_alone(self, shop):
        simulator, admin = shop
        order_id = admin.add_order(payment_method=PREPAYMENT, total="49.90", email="lena.fischer@example.org")
        switch_to_invoice(simulator, admin, order_id)
        review_events()
        assert admin.notifications == []
        assert "claimbridge_invoice_refused" not in (admin.order(order_id)["customFields"] or {})


class TestBillingAddressOfThePlacedOrder:
    def test_a_risky_billing_address_never_seen_by_the_gateway_is_reported(self, shop):
        simulator, admin = shop
        order_id = admin.add_order(payment_method=INVOICE, **RISKY_BUYER)
        place(simulator, admin, order_id)
        review_events()
        assert len(admin.notifications) == 1
        assert "billing address" in admin.order(order_id)["customFields"]["claimbridge_notes"]


class TestNotificationThroughTheShopOutbox:
    """Shopware's notification endpoint makes a new notification per call: it is queued once and retried."""

    def test_a_refused_notification_is_retried_and_shown_once(self, shop_admin_server):
        simulator, admin, server = shop_admin_server
        server.fail_next(1, status=503, path="/api/notification", method="POST")
        order_id = admin.add_order(payment_method=INVOICE, **RISKY_BUYER)
        place(simulator, admin, order_id)
        review_events()

        assert admin.notifications == []
        [update] = db.session.scalars(sa.select(ShopUpdate)).all()
        assert (update.kind, update.external_order_id, update.attempts) == ("admin_notice", order_id, 1)
        assert update.done_at is None and update.parked_at is None
        assert admin.order(order_id)["customFields"]["claimbridge_invoice_refused"] is True

        # The shop delivers the event again while the notification waits: nothing more is queued or reported.
        place(simulator, admin, order_id)
        review_events()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopUpdate)) == 1
        assert len(reports()) == 1

        make_outbox_due()
        assert process_shop_updates() == "1 done"
        db.session.commit()
        assert len(admin.notifications) == 1
        assert admin.order(order_id)["orderNumber"] in admin.notifications[0]["message"]

        place(simulator, admin, order_id)
        review_events()
        make_outbox_due()
        assert process_shop_updates() == "nothing to write"
        assert len(admin.notifications) == 1

    def test_an_order_marked_by_a_review_whose_answer_was_lost_is_still_reported(self, shop):
        simulator, admin = shop
        order_id = admin.add_order(payment_method=INVOICE, **RISKY_BUYER)
        # An earlier review's mark landed in the shop, but its answer was lost: that review queued nothing.
        admin.order(order_id)["customFields"] = {"claimbridge_invoice_refused": True}
        place(simulator, admin, order_id)
        review_events()

        assert len(admin.notifications) == 1
        assert [event.details["order_id"] for event in reports()] == [order_id]
