"""Order events Shopware pushes (no polling needed) reach the receivable through its ledger, on 6.6 and 6.7."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.orders.services import process_order_sync_requests
from backend.receivables.ledger import EventKind
from backend.receivables.models import Receivable, ReceivableEvent
from backend.shopware.services import dispatch_order_events
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
