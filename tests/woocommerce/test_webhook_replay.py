"""WooCommerce webhook deliveries attacked over real HTTP: the WooCommerce double delivers to the app on loopback.

``X-WC-Webhook-Signature`` is base64(HMAC-SHA256(secret, raw body)) and signs nothing else: no timestamp, no
delivery id. So a signature cannot tell a replay from a retry (WooCommerce itself resends failed deliveries
with a new delivery id and the same body). A delivery therefore only asks for the order to be fetched again
from the shop, and the receivable follows the shop's state, whatever the delivery said.

What must hold:
- a delivery signed with another secret, or whose body was changed after signing, is 401 and queues nothing;
- a genuine delivery replayed (same delivery id, same body) any number of times, before or after the worker
  fetched the order, leaves one receivable with one history: nothing is booked twice;
- a replayed old delivery cannot bring back an old state: the receivable shows what the shop shows now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from backend.crypto import decrypt_text
from backend.extensions import db
from backend.orders.models import OrderSyncRequest
from backend.orders.services import process_order_sync_requests
from backend.receivables.models import Receivable, ReceivableEvent
from backend.woocommerce.models import WooCommerceWebhook
from tests.orders.support import CONNECT_SCOPES, connect

WRONG_SECRET = "not-the-webhook-secret"


@pytest.fixture
def woocommerce(woocommerce: Any, backend_server: Any) -> Any:
    """The WooCommerce double, allowed to deliver to the app's port."""
    woocommerce.fake.allow_port(backend_server.port)
    return woocommerce


@pytest.fixture
def connection_id(client: Any, merchant: Any, auth_headers: Any, woocommerce: Any) -> int:
    response = connect(client, auth_headers(merchant, CONNECT_SCOPES), woocommerce, "woocommerce")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _hook(fake: Any, topic: str) -> int:
    return next(hook_id for hook_id, hook in fake.webhooks.items() if hook["topic"] == topic)


def _captured_delivery(fake: Any, hook_id: int, order_id: int) -> tuple[str, bytes, dict[str, str]]:
    """Deliver once and return what went over the wire (as an attacker who recorded it would hold it)."""
    answer = fake.deliver_webhook(hook_id, order_id)
    assert answer.status_code == 200, answer.text
    request = answer.request
    return request.url, request.body, dict(request.headers)


def _signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _history() -> list[tuple[int, str, str | None]]:
    db.session.expire_all()
    return [
        (event.receivable_id, event.kind, event.external_id)
        for event in db.session.scalars(sa.select(ReceivableEvent).order_by(ReceivableEvent.id))
    ]


def _queued() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OrderSyncRequest))


class TestForgedDeliveries:
    def test_another_secret_is_401_and_queues_nothing(self, woocommerce: Any, connection_id: int) -> None:
        fake = woocommerce.fake
        order_id = fake.add_order(payment_method="invoice")
        hook_id = _hook(fake, "order.created")
        fake.webhooks[hook_id]["secret"] = WRONG_SECRET
        answer = fake.deliver_webhook(hook_id, order_id)
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_signature")
        assert _queued() == 0

    def test_a_body_changed_after_signing_is_401_and_queues_nothing(
        self, woocommerce: Any, connection_id: int
    ) -> None:
        fake = woocommerce.fake
        order_id = fake.add_order(payment_method="invoice")
        url, body, headers = _captured_delivery(fake, _hook(fake, "order.created"), order_id)
        process_order_sync_requests()
        other = fake.add_order(payment_method="invoice", total="999.00")
        tampered = body.replace(f'"id": {order_id}'.encode(), f'"id": {other}'.encode(), 1)
        assert tampered != body
        answer = requests.post(url, data=tampered, headers=headers, timeout=10)
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_signature")
        assert _queued() == 0

    def test_the_stored_secret_is_what_the_shop_signs_with(
        self, woocommerce: Any, connection_id: int
    ) -> None:
        fake = woocommerce.fake
        order_id = fake.add_order(payment_method="invoice")
        _, body, headers = _captured_delivery(fake, _hook(fake, "order.created"), order_id)
        secret = decrypt_text(db.session.get(WooCommerceWebhook, connection_id).secret_encrypted)
        assert hmac.compare_digest(headers["X-WC-Webhook-Signature"], _signature(secret, body))
        assert not hmac.compare_digest(headers["X-WC-Webhook-Signature"], _signature(WRONG_SECRET, body))


class TestReplayedDeliveries:
    def test_a_replayed_delivery_books_nothing_twice(self, woocommerce: Any, connection_id: int) -> None:
        fake = woocommerce.fake
        order_id = fake.add_order(payment_method="invoice", total="120.00")
        url, body, headers = _captured_delivery(fake, _hook(fake, "order.created"), order_id)
        for _ in range(3):  # replayed before the worker ran: the requests coalesce
            assert requests.post(url, data=body, headers=headers, timeout=10).json() == {"status": "queued"}
        assert _queued() == 1
        assert process_order_sync_requests() == 1
        history = _history()
        assert len({receivable for receivable, _, _ in history}) == 1

        for _ in range(3):  # replayed after: fetched again, nothing new
            assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 200
            process_order_sync_requests()
        assert _history() == history
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Receivable)) == 1

    def test_a_replayed_old_delivery_cannot_bring_back_an_old_state(
        self, woocommerce: Any, connection_id: int
    ) -> None:
        fake = woocommerce.fake
        order_id = fake.add_order(payment_method="invoice", total="120.00")
        url, body, headers = _captured_delivery(fake, _hook(fake, "order.created"), order_id)
        process_order_sync_requests()

        fake.orders[order_id]["status"] = "cancelled"
        fake.touch(order_id)
        assert fake.deliver_webhook(_hook(fake, "order.updated"), order_id).status_code == 200
        process_order_sync_requests()
        cancelled = _history()

        assert json.loads(body)["status"] != "cancelled"  # the recorded delivery shows the order still open
        assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 200
        process_order_sync_requests()
        db.session.expire_all()
        assert db.session.scalar(sa.select(Receivable.state)) == "cancelled"
        assert _history() == cancelled
