"""A schedule stage with channel ``shop``: the worker has the shop send its own reminder."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from backend.dunning.evaluation import queue_due_notices
from backend.dunning.models import DunningNotice, ShopAction
from backend.dunning.shop_channel import send_shop_reminders
from backend.extensions import db
from backend.merchants.connectors import connector_for
from backend.orders.services import upsert_order
from tests.dunning.factories import IBAN, set_payment_details
from tests.factories import make_connection
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.woocommerce_rest import FakeWooCommerce

SHOP_REMINDER = {
    "kind": "reminder",
    "offset_days": 7,
    "fee": "0.00",
    "payment_deadline_days": 5,
    "channel": "shop",
}


def test_shopware_sends_the_reminder_through_its_payment_transition(client, merchant, auth_headers):
    final_notice = {
        **SHOP_REMINDER,
        "kind": "final_notice",
        "offset_days": 28,
        "fee": "0.00",
        "channel": "none",
    }
    schedule = {"stages": [SHOP_REMINDER, final_notice]}
    response = client.put(
        "/api/v1/dunning-schedule",
        json={"consumer": schedule, "business": schedule},
        headers=auth_headers(merchant, "settings:write"),
    )
    assert response.status_code == 200, response.get_json()
    fake = FakeShopwareAdmin()
    with fake.serve() as server:
        connection = make_connection(
            merchant, "shopware", server.url, api_key=fake.client_id, secret_key=fake.client_secret
        )
        order_id = fake.add_order(total="89.00", created_at=datetime(2025, 6, 2, 10, tzinfo=UTC))
        connector = connector_for(connection)
        upsert_order(connection, connector.get_order(order_id), actor="test")
        connector.close()
        db.session.commit()

        queue_due_notices(date(2025, 6, 23))
        assert fake.payment_state(order_id) == "open"
        assert send_shop_reminders(date(2025, 6, 23)) == "1 done"

        assert fake.payment_state(order_id) == "reminded"
        notice = db.session.scalars(sa.select(DunningNotice)).one()
        assert (notice.channel, notice.status, notice.sent_on) == ("shop", "sent", date(2025, 6, 23))


class TestWooCommerceShopChannel:
    """WooCommerce sends the notice through the ClaimBridge plugin's dunning-notices route, or is refused."""

    @pytest.fixture
    def shop(self):
        fake = FakeWooCommerce()
        with fake.serve() as server:
            yield fake, server

    @pytest.fixture
    def connection(self, merchant, shop):
        fake, server = shop
        return make_connection(
            merchant,
            "woocommerce",
            server.url,
            consumer_key=fake.consumer_key,
            consumer_secret=fake.consumer_secret,
        )

    def put_schedule(self, client, merchant, auth_headers):
        final_notice = {**SHOP_REMINDER, "kind": "final_notice", "offset_days": 28, "channel": "none"}
        schedule = {"stages": [SHOP_REMINDER, final_notice]}
        return client.put(
            "/api/v1/dunning-schedule",
            json={"consumer": schedule, "business": schedule},
            headers=auth_headers(merchant, "settings:write"),
        )

    def ingest(self, fake, connection) -> int:
        order_id = fake.add_order(total="89.90", created_at=datetime(2025, 6, 2, 10, tzinfo=UTC))
        connector = connector_for(connection)
        upsert_order(connection, connector.get_order(str(order_id)), actor="test")
        connector.close()
        db.session.commit()
        return order_id

    def test_shop_without_plugin_refuses_the_shop_channel(
        self, client, merchant, auth_headers, shop, connection
    ):
        shop[0].plugin_installed = False
        response = self.put_schedule(client, merchant, auth_headers)
        assert response.status_code == 422
        body = response.get_json()
        assert body["error"] == "shop_channel_unavailable"
        assert "plugin" in body["message"]
        assert body["details"] == {"connections": [connection.id]}

    def test_notice_is_sent_whole_through_the_plugin(self, client, merchant, auth_headers, shop, connection):
        fake, _ = shop
        set_payment_details(merchant)
        assert self.put_schedule(client, merchant, auth_headers).status_code == 200
        order_id = self.ingest(fake, connection)
        queue_due_notices(date(2025, 6, 23))
        assert send_shop_reminders(date(2025, 6, 23)) == "1 done"

        notice = db.session.scalars(sa.select(DunningNotice)).one()
        (sent,) = fake.dunning_notices.values()
        assert (sent["order_id"], sent["stage"], sent["language"]) == (order_id, "reminder", "de")
        assert sent["notice_id"] == f"claimbridge-notice-{notice.id}"
        assert sent["recipient"]["email"] == "erika@example.com"
        assert sent["amounts"]["principal"] == "89.90" and sent["amounts"]["currency"] == "EUR"
        assert sent["payment_reference"] and sent["payment_reference"] in sent["text"]
        assert sent["girocode"].startswith("BCD\n")
        assert sent["creditor"]["iban"] == IBAN
        assert (notice.status, notice.message_id, notice.language) == ("sent", sent["message_id"], "de")

    def test_disabled_email_fails_the_notice_instead_of_faking_it(
        self, client, merchant, auth_headers, shop, connection
    ):
        fake, _ = shop
        fake.email_enabled = False
        set_payment_details(merchant)
        self.put_schedule(client, merchant, auth_headers)
        self.ingest(fake, connection)
        queue_due_notices(date(2025, 6, 23))
        assert send_shop_reminders(date(2025, 6, 23)) == "1 parked"
        notice = db.session.scalars(sa.select(DunningNotice)).one()
        assert notice.status == "failed"
        assert db.session.scalars(sa.select(ShopAction)).one().parked_at is not None
        assert notice.sent_on is None

    def test_a_mailer_failure_is_retried_not_recorded(self, client, merchant, auth_headers, shop, connection):
        fake, server = shop
        set_payment_details(merchant)
        self.put_schedule(client, merchant, auth_headers)
        self.ingest(fake, connection)
        queue_due_notices(date(2025, 6, 23))
        server.fail_next(1, status=502, path="/wp-json/wc-claimbridge/v1/dunning-notices")
        assert send_shop_reminders(date(2025, 6, 23)) == "1 retrying"
        assert db.session.scalars(sa.select(DunningNotice)).one().status == "queued"
        assert fake.dunning_notices == {}
