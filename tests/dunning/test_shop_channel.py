"""A schedule stage with channel ``shop``: the worker has the shop send its own reminder."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from backend.dunning.models import DunningNotice
from backend.dunning.services import queue_due_notices, send_shop_reminders
from backend.extensions import db
from backend.merchants.connectors import connector_for
from backend.orders.services import upsert_order
from tests.factories import make_connection
from tests.fakes.shopware_admin import FakeShopwareAdmin

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
