"""Order events Shopware pushes (no polling needed) reach the receivable through its ledger, on 6.6 and 6.7."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from backend.dates import berlin_date
from backend.extensions import db
from backend.orders.services import process_order_sync_requests
from backend.receivables.ledger import EventKind, payment_bookings
from backend.receivables.models import Receivable, ReceivableEvent
from backend.shopware.services import (
    LIVE_VERSION_ID,
    MAX_ORDERS_PER_WRITE,
    dispatch_order_events,
    order_ids_of,
)
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.shopware_shop import ShopSimulator


@pytest.fixture
def shop(shop_with_admin: tuple[ShopSimulator, FakeShopwareAdmin]) -> tuple[ShopSimulator, FakeShopwareAdmin]:
    return shop_with_admin


def deliver(simulator: ShopSimulator, admin: FakeShopwareAdmin, event: str, order_id: str) -> Receivable:
    """Send the shop's business event for an order and let the worker run; return the receivable."""
    answer = simulator.send(simulator.webhook_request(event, {"order": admin.order(order_id)}))
    assert answer.status == 204
    admin.clock.advance(1)
    dispatch_order_events()
    process_order_sync_requests()
    db.session.commit()
    db.session.expire_all()
    return db.session.scalars(sa.select(Receivable).filter_by(external_id=order_id)).one()


def history(receivable: Receivable) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(ReceivableEvent.kind)
            .where(ReceivableEvent.receivable_id == receivable.id)
            .order_by(ReceivableEvent.id)
        )
    )


@pytest.mark.parametrize(
    ("event", "order_state", "payment_state", "expected", "booked"),
    [
        ("state_enter.order.state.cancelled", "cancelled", "open", "cancelled", EventKind.SYNCED),
        # A reversed payment contests the claim: dunning waits for the merchant (ledger.open_dispute).
        (
            "state_enter.order_transaction.state.chargeback",
            "open",
            "chargeback",
            "disputed",
            EventKind.DISPUTED,
        ),
        # Unsure what is still owed after a partial refund, claim less: nothing (until credits say more).
        (
            "state_enter.order_transaction.state.refunded_partially",
            "open",
            "refunded_partially",
            "paid",
            EventKind.SYNCED,
        ),
    ],
)
def test_pushed_state_changes_reach_the_receivable(shop, event, order_state, payment_state, expected, booked):
    simulator, admin = shop
    order_id = admin.add_order(total="119.00")
    assert deliver(simulator, admin, "checkout.order.placed", order_id).state == "open"

    order = admin.order(order_id)
    order["stateMachineState"] = {"technicalName": order_state}
    order["transactions"][0]["stateMachineState"] = {"technicalName": payment_state}
    admin.touch(order_id, admin.clock.now())
    receivable = deliver(simulator, admin, event, order_id)
    assert receivable.state == expected
    assert history(receivable)[-1] == booked


def written(
    order_id: str, *, version: str = LIVE_VERSION_ID, fields: tuple[str, ...] = ("price", "amountTotal")
):
    """Return an ``order.written`` payload as HookableEntityWrittenEvent::getWebhookPayload builds it."""
    return [
        {
            "entity": "order",
            "operation": "update",
            "primaryKey": order_id,
            "updatedFields": list(fields),
            "versionId": version,
        }
    ]


def push_written(simulator, admin, payload) -> None:
    answer = simulator.send(simulator.webhook_request("order.written", payload))
    assert answer.status == 204
    admin.clock.advance(1)
    dispatch_order_events()
    process_order_sync_requests()
    db.session.commit()
    db.session.expire_all()


class TestCredits:
    """A credit added to an invoice order (a partial refund; the credit note lists it) lowers the claim."""

    def test_a_credit_is_booked_once_on_its_day_and_lowers_the_claim(self, shop):
        simulator, admin = shop
        order_id = admin.add_order(total="119.00")
        receivable = deliver(simulator, admin, "checkout.order.placed", order_id)
        credit_day = admin.clock.now()
        admin.add_credit(order_id, "19.00", label="Rücksendung Tasse")
        assert admin.order(order_id)["amountTotal"] == 100.0  # the shop recalculated the order

        push_written(simulator, admin, written(order_id))
        receivable = db.session.get(Receivable, receivable.id)
        # The invoice stays 119.00; the credit lowers what is owed from its own day (interest too).
        assert (receivable.total_amount, receivable.credited_amount, receivable.balance) == (
            Decimal("119.00"),
            Decimal("19.00"),
            Decimal("100.00"),
        )
        credits = [kind for kind in history(receivable) if kind == EventKind.CREDIT]
        assert len(credits) == 1
        assert [b.booked_on for b in payment_bookings(receivable) if b.amount == Decimal("19.00")] == [
            berlin_date(credit_day)
        ]

        push_written(simulator, admin, written(order_id))  # delivered again, and the poll: still one credit
        deliver(simulator, admin, "state_enter.order_transaction.state.reminded", order_id)
        receivable = db.session.get(Receivable, receivable.id)
        assert receivable.credited_amount == Decimal("19.00")
        assert [kind for kind in history(receivable) if kind == EventKind.CREDIT] == credits

    def test_one_write_of_several_orders_re_fetches_each(self, shop):
        simulator, admin = shop
        order_ids = [admin.add_order(total="119.00") for _ in range(3)]
        receivables = [deliver(simulator, admin, "checkout.order.placed", o) for o in order_ids]
        for order_id in order_ids:
            admin.add_credit(order_id, "19.00", label="Rücksendung")
        # One bulk write names all three orders (and a draft of the first, which counts for nothing).
        payload = [
            write
            for order_id in order_ids
            for write in written(order_id) + written(order_id, version="0190aaaabbbbccccddddeeeeffff0002")
        ]
        push_written(simulator, admin, payload)
        assert [db.session.get(Receivable, r.id).credited_amount for r in receivables] == [
            Decimal("19.00")
        ] * 3

    def test_one_write_queues_a_bounded_number_of_orders(self):
        order_ids = [f"{n:032x}" for n in range(MAX_ORDERS_PER_WRITE + 5)]
        payload = [write for order_id in order_ids for write in written(order_id)]
        assert order_ids_of("order.written", payload + payload) == order_ids[:MAX_ORDERS_PER_WRITE]

    def test_drafts_and_our_own_field_writes_queue_nothing(self, shop):
        simulator, admin = shop
        order_id = admin.add_order(total="119.00")
        deliver(simulator, admin, "checkout.order.placed", order_id)
        for payload in (
            written(order_id, version="0190aaaabbbbccccddddeeeeffff0002"),
            written(order_id, fields=("customFields", "updatedAt")),
        ):
            simulator.send(simulator.webhook_request("order.written", payload))
        assert dispatch_order_events() == "0 handed on, 0 failed"
