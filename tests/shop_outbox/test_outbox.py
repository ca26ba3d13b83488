"""The shop outboxes: one retry policy, parked after 12 tries or at once for a disabled connection, then a
person's to retry or discard through the API, the CLI and the console; ``outbox_depths`` for /metrics."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.dunning.models import DunningNotice, ShopAction
from backend.dunning.shop_channel import send_shop_reminders
from backend.extensions import db, utcnow
from backend.handovers.models import ShopUpdate, ShopUpdateKind
from backend.handovers.shop_updates import process_shop_updates, queue_shop_update
from backend.merchants.models import ShopConnection
from backend.orders.models import OrderSyncRequest
from backend.orders.services import process_order_sync_requests, request_order_sync
from backend.outbox import MAX_SHOP_ATTEMPTS
from backend.shop_outbox.services import outbox_depths
from tests.factories import make_connection, make_receivable
from tests.fakes.woocommerce_rest import FakeWooCommerce
from tests.orders.support import cli_runner

SETTINGS = "settings:write handovers:read"


@pytest.fixture
def woo(merchant: Any) -> Any:
    """A WooCommerce double, served, and the merchant's connection to it."""
    fake = FakeWooCommerce()
    with fake.serve() as server:
        connection = make_connection(
            merchant,
            "woocommerce",
            server.url,
            consumer_key=fake.consumer_key,
            consumer_secret=fake.consumer_secret,
        )
        yield fake, server, connection


def queue_admin_notice(merchant: Any, connection: ShopConnection, key: str = "proposals:1") -> None:
    queue_shop_update(
        merchant_id=merchant.id,
        connection_id=connection.id,
        external_order_id=None,
        kind=ShopUpdateKind.ADMIN_NOTICE,
        key=key,
        payload={"text": "ClaimBridge: 2 new handover proposal(s)"},
    )
    db.session.commit()


def run_when_due() -> str:
    """Run the shop update worker as if every wait had passed."""
    db.session.execute(sa.update(ShopUpdate).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    return process_shop_updates()


def park_admin_notice(merchant: Any, woo: Any) -> ShopUpdate:
    fake, _, connection = woo
    fake.plugin_installed = False
    queue_admin_notice(merchant, connection)
    for _ in range(MAX_SHOP_ATTEMPTS):
        run_when_due()
    return db.session.scalars(sa.select(ShopUpdate)).one()


class TestRetryPolicy:
    def test_an_admin_notice_the_shop_keeps_refusing_is_parked_after_twelve_tries(self, merchant, woo):
        fake, _, connection = woo
        fake.plugin_installed = False  # the plugin's notices route is missing: WordPress answers 404
        queue_admin_notice(merchant, connection)
        outcomes = [run_when_due() for _ in range(MAX_SHOP_ATTEMPTS + 1)]
        assert outcomes == ["1 retrying"] * 11 + ["1 parked", "nothing to write"]
        update = db.session.scalars(sa.select(ShopUpdate)).one()
        assert (update.attempts, update.done_at) == (12, None)
        assert update.parked_at is not None
        assert "rest_no_route" in update.last_error or "404" in update.last_error
        assert fake.notices == []

    def test_the_wait_after_a_failed_try_doubles_from_thirty_seconds(self, merchant, woo):
        fake, _, connection = woo
        fake.plugin_installed = False
        queue_admin_notice(merchant, connection)
        waits = []
        for _ in range(3):
            before = utcnow()
            run_when_due()
            waits.append(db.session.scalars(sa.select(ShopUpdate)).one().next_attempt_at - before)
        # Jitter draws from [d/2, d], d = 30 s, 60 s, 120 s.
        assert timedelta(seconds=15) <= waits[0] <= timedelta(seconds=31)
        assert timedelta(seconds=30) <= waits[1] <= timedelta(seconds=61)
        assert timedelta(seconds=60) <= waits[2] <= timedelta(seconds=121)

    def test_a_parked_notice_retried_goes_out_once(self, client, merchant, auth_headers, woo):
        fake, _, _ = woo
        update = park_admin_notice(merchant, woo)
        fake.plugin_installed = True
        headers = auth_headers(merchant, SETTINGS)
        response = client.post(f"/api/v1/shop-outbox/parked/shop_updates/{update.id}/retry", headers=headers)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["kind"] == "admin_notice"
        assert process_shop_updates() == "1 done"
        assert run_when_due() == "nothing to write"
        assert [notice["idempotency_key"] for notice in fake.notices] == ["proposals:1"]


class TestDisabledConnection:
    def test_every_outbox_parks_at_once_what_waits_for_a_disabled_connection(
        self, client, merchant, auth_headers, woo
    ):
        _, server, connection = woo
        queue_admin_notice(merchant, connection)
        receivable = make_receivable(connection, "1001")
        db.session.add(
            ShopAction(
                merchant_id=merchant.id,
                connection_id=connection.id,
                receivable_id=receivable.id,
                action="remind",
                next_attempt_at=utcnow() + timedelta(hours=5),  # waiting out a backoff
            )
        )
        request_order_sync(connection.id, "1001", reason="order.updated")
        db.session.execute(sa.update(ShopUpdate).values(next_attempt_at=utcnow() + timedelta(hours=5)))
        db.session.commit()
        headers = auth_headers(merchant, SETTINGS)
        assert client.delete(f"/api/v1/connections/{connection.id}", headers=headers).status_code == 204
        server.clear_requests()

        assert process_shop_updates() == "1 parked"
        assert send_shop_reminders(date(2025, 6, 23)) == "1 parked"
        assert process_order_sync_requests() == 0
        rows = [
            db.session.scalars(sa.select(model)).one() for model in (ShopUpdate, ShopAction, OrderSyncRequest)
        ]
        assert all(row.parked_at is not None and "not active" in row.last_error for row in rows)
        assert server.requests == []
        listed = client.get("/api/v1/shop-outbox/parked", headers=headers).get_json()["items"]
        assert sorted(item["outbox"] for item in listed) == ["order_syncs", "shop_actions", "shop_updates"]
        refused = client.post(f"/api/v1/shop-outbox/parked/shop_updates/{rows[0].id}/retry", headers=headers)
        assert refused.status_code == 409
        assert refused.get_json()["error"] == "connection_not_active"


class TestApi:
    def test_lists_only_the_merchants_own_and_another_merchant_gets_404(
        self, client, merchant, create_merchant, auth_headers, woo
    ):
        update = park_admin_notice(merchant, woo)
        other = auth_headers(create_merchant("Anderer Shop GmbH"), SETTINGS)
        assert client.get("/api/v1/shop-outbox/parked", headers=other).get_json() == {"items": []}
        path = f"/api/v1/shop-outbox/parked/shop_updates/{update.id}"
        assert client.post(path + "/retry", headers=other).status_code == 404
        assert client.delete(path, headers=other).status_code == 404
        (item,) = client.get(
            "/api/v1/shop-outbox/parked", headers=auth_headers(merchant, SETTINGS)
        ).get_json()["items"]
        assert (item["outbox"], item["id"], item["kind"], item["attempts"]) == (
            "shop_updates",
            update.id,
            "admin_notice",
            12,
        )

    def test_retry_puts_it_back_with_a_fresh_count_and_only_once(self, client, merchant, auth_headers, woo):
        update = park_admin_notice(merchant, woo)
        headers = auth_headers(merchant, SETTINGS)
        path = f"/api/v1/shop-outbox/parked/shop_updates/{update.id}/retry"
        assert client.post(path, headers=headers).status_code == 200
        db.session.expire_all()
        assert (update.parked_at, update.attempts) == (None, 0)
        again = client.post(path, headers=headers)
        assert again.status_code == 409 and again.get_json()["error"] == "not_parked"
        assert client.get("/api/v1/shop-outbox/parked", headers=headers).get_json() == {"items": []}

    def test_discard_removes_it_and_the_audit_trail_keeps_what_it_was(
        self, client, merchant, auth_headers, woo
    ):
        update = park_admin_notice(merchant, woo)
        headers = auth_headers(merchant, SETTINGS)
        response = client.delete(f"/api/v1/shop-outbox/parked/shop_updates/{update.id}", headers=headers)
        assert response.status_code == 200
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopUpdate)) == 0
        event = db.session.scalars(sa.select(AuditEvent).filter_by(action="shop_outbox.discarded")).one()
        assert (event.merchant_id, event.target_type, event.details["kind"]) == (
            merchant.id,
            "shop_updates",
            "admin_notice",
        )

    def test_needs_the_settings_scope_to_change_and_names_a_known_outbox(
        self, client, merchant, auth_headers, woo
    ):
        update = park_admin_notice(merchant, woo)
        reader = auth_headers(merchant, "handovers:read")
        assert client.get("/api/v1/shop-outbox/parked", headers=reader).status_code == 200
        path = f"/api/v1/shop-outbox/parked/shop_updates/{update.id}/retry"
        assert client.post(path, headers=reader).status_code == 403
        unknown = client.post(
            f"/api/v1/shop-outbox/parked/mailbox/{update.id}/retry", headers=auth_headers(merchant, SETTINGS)
        )
        assert unknown.status_code == 404

    def test_retrying_a_parked_shop_reminder_queues_its_notice_again(
        self, client, merchant, auth_headers, woo
    ):
        _, _, connection = woo
        receivable = make_receivable(connection, "1001")
        notice = DunningNotice(
            merchant_id=merchant.id,
            receivable_id=receivable.id,
            kind="reminder",
            level=1,
            channel="shop",
            fee=Decimal("0.00"),
            payment_deadline_days=14,
            queued_on=date(2025, 6, 23),
            status="failed",
            attempts=0,
            next_attempt_at=utcnow(),
        )
        db.session.add(notice)
        db.session.flush()
        action = ShopAction(
            merchant_id=merchant.id,
            connection_id=connection.id,
            receivable_id=receivable.id,
            notice_id=notice.id,
            action="remind",
            status="failed",
            attempts=12,
            parked_at=utcnow(),
            last_error="ServerError: 502",
        )
        db.session.add(action)
        db.session.commit()
        path = f"/api/v1/shop-outbox/parked/shop_actions/{action.id}/retry"
        assert client.post(path, headers=auth_headers(merchant, SETTINGS)).status_code == 200
        db.session.expire_all()
        assert (action.status, action.attempts, action.parked_at, notice.status) == (
            "pending",
            0,
            None,
            "queued",
        )


class TestCli:
    def test_lists_retries_and_discards(self, app, merchant, woo):
        update = park_admin_notice(merchant, woo)
        run = cli_runner(app)
        listed = run("outbox", "list")
        assert listed.exit_code == 0, listed.output
        assert f"shop_updates/{update.id}" in listed.output and "admin_notice" in listed.output
        assert "shop_updates: 0 waiting, 1 parked" in listed.output
        retried = run("outbox", "retry", "shop_updates", str(update.id))
        assert retried.exit_code == 0, retried.output
        again = run("outbox", "retry", "shop_updates", str(update.id))
        assert again.exit_code == 1 and "not parked" in again.output
        run_when_due()  # still refused: parked again only after twelve more tries
        db.session.execute(sa.update(ShopUpdate).values(parked_at=utcnow()))
        db.session.commit()
        assert run("outbox", "discard", "shop_updates", str(update.id)).exit_code == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopUpdate)) == 0


class TestLevels:
    def test_depth_and_parked_per_outbox(self, merchant, woo):
        _, _, connection = woo
        park_admin_notice(merchant, woo)
        queue_admin_notice(merchant, connection, key="proposals:2")
        request_order_sync(connection.id, "1001", reason="order.updated")
        db.session.commit()
        levels = outbox_depths()
        assert {name: (level["depth"], level["parked"]) for name, level in levels.items()} == {
            "shop_updates": (1, 1),
            "shop_actions": (0, 0),
            "order_syncs": (1, 0),
        }
