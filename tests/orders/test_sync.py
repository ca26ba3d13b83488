"""Orders changed in a shop reach ClaimBridge: after a webhook plus the sync job, or after a reconciliation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backend.jobs import periodic_jobs
from backend.merchants.models import ShopConnection
from backend.orders.models import OrderSyncRequest
from backend.orders.services import (
    process_order_sync_requests,
    reconcile_all_connections,
    reconcile_connection,
    request_order_sync,
    upsert_order,
)
from backend.receivables.models import Receivable, ReceivableEvent
from backend.worker import run_due_jobs
from connectors.shops.base import PaymentAction
from connectors.shops.shopware import ShopwareConnector
from tests.orders.support import CONNECT_SCOPES, cli_runner, connect


def receivable(db, connection_id, external_id):
    return db.session.scalar(
        sa.select(Receivable).filter_by(connection_id=connection_id, external_id=external_id)
    )


@pytest.fixture
def woocommerce(woocommerce, backend_server):
    """The fake shop, allowed to deliver to the backend's port (``http_allowed_safe_ports``)."""
    woocommerce.fake.allow_port(backend_server.port)
    return woocommerce


@pytest.fixture
def woo_connection(client, merchant, auth_headers, woocommerce):
    response = connect(client, auth_headers(merchant, CONNECT_SCOPES), woocommerce, "woocommerce")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def shopware_connection(client, merchant, auth_headers, shopware):
    response = connect(client, auth_headers(merchant, CONNECT_SCOPES), shopware, "shopware")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


class TestWooCommerceIngestion:
    def test_order_changed_in_shop_arrives_through_webhook_and_sync_job(
        self, db, backend_server, woocommerce, woo_connection
    ):
        shop = woocommerce.fake
        order_id = shop.add_order(payment_method="invoice", total="250.00")
        hook_id = next(h for h, hook in shop.webhooks.items() if hook["topic"] == "order.created")

        delivery = shop.deliver_webhook(hook_id, order_id)
        assert delivery.status_code == 200
        assert delivery.json() == {"status": "queued"}
        assert process_order_sync_requests() == 1
        created = receivable(db, woo_connection, str(order_id))
        assert (created.state, created.total_amount, created.payment_method) == (
            "open",
            Decimal("250.00"),
            "invoice",
        )

        shop.orders[order_id]["status"] = "cancelled"
        shop.touch(order_id)
        updated_hook = next(h for h, hook in shop.webhooks.items() if hook["topic"] == "order.updated")
        assert shop.deliver_webhook(updated_hook, order_id).status_code == 200
        assert process_order_sync_requests() == 1
        db.session.expire_all()
        assert receivable(db, woo_connection, str(order_id)).state == "cancelled"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderSyncRequest)) == 0

    def test_lost_webhook_is_caught_by_one_reconciliation(self, db, woocommerce, woo_connection):
        shop = woocommerce.fake
        order_id = shop.add_order(payment_method="invoice")
        shop.add_order(payment_method="bacs")  # not an invoice order: never tracked
        assert str(reconcile_all_connections()) == "1 reconciled, 0 failed"
        assert receivable(db, woo_connection, str(order_id)).state == "open"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Receivable)) == 1

        shop.clock.advance(12 * 60)  # past the cursor's 10-minute overlap, inside OAuth's 15-minute window
        shop.orders[order_id]["meta_data"].append(
            {"id": 1, "key": "claimbridge_payment_state", "value": "paid"}
        )
        shop.touch(order_id)
        reconcile_all_connections()
        db.session.expire_all()
        paid = receivable(db, woo_connection, str(order_id))
        assert (paid.state, paid.paid_amount) == ("paid", Decimal("119.00"))

    def test_reconciliation_asks_only_for_changes_since_cursor_with_overlap(
        self, db, woocommerce, woo_connection
    ):
        shop = woocommerce.fake
        shop.add_order(payment_method="invoice")
        connection = db.session.get(ShopConnection, woo_connection)
        first = reconcile_connection(connection)
        assert (first.created, first.cursor) == (1, shop.clock.now())
        woocommerce.server.clear_requests()
        again = reconcile_connection(connection)
        assert (again.created, again.unchanged) == (0, 1)
        polls = [r.query_string for r in woocommerce.server.requests_to("/wp-json/wc/v3/orders")]
        expected = (shop.clock.now() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H%%3A%M%%3A%S")
        assert all(f"modified_after={expected}" in query for query in polls[:2])
        # "any" leaves out the trash, so it is asked for in a pass of its own.
        assert ["status=any" in polls[0], "status=trash" in polls[1]] == [True, True]

    def test_webhook_for_an_order_the_shop_deleted_is_dropped(self, db, woo_connection):
        connection = db.session.get(ShopConnection, woo_connection)
        request_order_sync(connection.id, "999999", reason="order.updated")
        db.session.commit()
        assert process_order_sync_requests() == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderSyncRequest)) == 0

    def test_unreachable_shop_is_retried_later_without_losing_the_request(
        self, db, woocommerce, woo_connection
    ):
        connection = db.session.get(ShopConnection, woo_connection)
        order_id = woocommerce.fake.add_order(payment_method="invoice")
        request_order_sync(connection.id, str(order_id), reason="order.created")
        db.session.commit()
        woocommerce.server.fail_next(10, status=503)
        assert process_order_sync_requests() == 0
        pending = db.session.scalar(sa.select(OrderSyncRequest))
        assert pending.attempts == 1
        assert "ServerError" in pending.last_error
        assert pending.next_attempt_at > pending.requested_at


class TestShopwareIngestion:
    def test_requested_order_is_synced_by_the_job_and_payment_by_reconciliation(
        self, db, shopware, shopware_connection
    ):
        shop = shopware.fake
        order_id = shop.add_order(total="80.00")
        connection = db.session.get(ShopConnection, shopware_connection)
        request_order_sync(connection.id, order_id, reason="checkout.order.placed")
        db.session.commit()
        assert process_order_sync_requests() == 1
        assert receivable(db, shopware_connection, order_id).state == "open"

        shop.clock.advance(3600)
        seller = ShopwareConnector(shopware.url, shop.client_id, shop.client_secret, allow_private=True)
        seller.transition_payment(order_id, PaymentAction.PAY)
        seller.close()
        shop.touch(order_id)
        result = reconcile_connection(connection)
        db.session.commit()
        assert (result.updated, result.created) == (1, 0)
        db.session.expire_all()
        paid = receivable(db, shopware_connection, order_id)
        assert (paid.state, paid.paid_amount) == ("paid", Decimal("80.00"))
        events = db.session.scalars(
            sa.select(ReceivableEvent).filter_by(receivable_id=paid.id).order_by(ReceivableEvent.id)
        ).all()
        assert [event.kind for event in events] == ["created", "payment", "synced"]
        assert (events[1].amount, events[1].source) == (Decimal("80.00"), "shop")

    def test_cli_sync_prints_what_changed(self, app, shopware, shopware_connection):
        shopware.fake.add_order()
        shopware.fake.add_order()
        shopware.fake.add_order(payment_method="payment_cashpayment")
        run = cli_runner(app)
        first = run("connections", "sync", str(shopware_connection))
        assert first.exit_code == 0, first.output
        assert "2 created, 0 updated, 0 unchanged" in first.output
        second = run("connections", "sync", str(shopware_connection))
        assert "0 created, 0 updated, 2 unchanged" in second.output


class TestIdempotency:
    def test_same_order_twice_is_one_receivable_unchanged(self, db, shopware, shopware_connection):
        order_id = shopware.fake.add_order()
        connection = db.session.get(ShopConnection, shopware_connection)
        seller = ShopwareConnector(
            shopware.url, shopware.fake.client_id, shopware.fake.client_secret, allow_private=True
        )
        order = seller.get_order(order_id)
        seller.close()
        assert upsert_order(connection, order, actor="test").outcome == "created"
        assert upsert_order(connection, order, actor="test").outcome == "unchanged"
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Receivable)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReceivableEvent)) == 1

    def test_older_snapshot_does_not_undo_a_newer_one(self, db, shopware, shopware_connection):
        shop = shopware.fake
        order_id = shop.add_order()
        connection = db.session.get(ShopConnection, shopware_connection)
        seller = ShopwareConnector(shopware.url, shop.client_id, shop.client_secret, allow_private=True)
        shop.touch(order_id)
        old = seller.get_order(order_id)
        shop.clock.advance(60)
        seller.transition_payment(order_id, PaymentAction.PAY)
        shop.touch(order_id)
        new = seller.get_order(order_id)
        seller.close()
        upsert_order(connection, new, actor="webhook")
        assert upsert_order(connection, old, actor="reconcile").outcome == "unchanged"
        assert receivable(db, shopware_connection, order_id).state == "paid"

    def test_repeated_webhooks_coalesce_into_one_request(self, db, shopware_connection):
        connection = db.session.get(ShopConnection, shopware_connection)
        for reason in ("order.created", "order.updated", "order.updated"):
            request_order_sync(connection.id, "42", reason=reason)
        db.session.commit()
        rows = db.session.scalars(sa.select(OrderSyncRequest)).all()
        assert [(r.external_id, r.reason) for r in rows] == [("42", "order.updated")]


class TestJobs:
    def test_sync_and_reconcile_jobs_are_registered(self, app):
        jobs = periodic_jobs(app.config)
        assert {"orders-sync", "orders-reconcile"} <= set(run_due_jobs(jobs))
        assert jobs["orders-sync"].interval == timedelta(seconds=30)
        assert jobs["orders-reconcile"].interval == timedelta(minutes=10)

    def test_disabled_connection_is_not_polled_and_its_requests_are_parked(
        self, db, client, merchant, auth_headers, woo_connection
    ):
        connection = db.session.get(ShopConnection, woo_connection)
        request_order_sync(connection.id, "1001", reason="order.updated")
        db.session.commit()
        headers = auth_headers(merchant, CONNECT_SCOPES)
        assert client.delete(f"/api/v1/connections/{woo_connection}", headers=headers).status_code == 204
        assert reconcile_all_connections() == "0 reconciled, 0 failed"
        assert process_order_sync_requests() == 0
        request = db.session.scalars(sa.select(OrderSyncRequest)).one()
        assert request.parked_at is not None and "not active" in request.last_error
