"""The WooCommerce webhook endpoint: pings, signatures, unknown connections, malformed bodies, queueing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.crypto import decrypt_text
from backend.orders.models import OrderSyncRequest
from backend.woocommerce.models import WebhookTopic, WooCommerceWebhook
from backend.woocommerce.services import DELIVERY_MARK_INTERVAL
from connectors.shops.woocommerce import WEBHOOK_TOPICS
from tests.orders.support import CONNECT_SCOPES, connect


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def connection_id(client, merchant, auth_headers, woocommerce):
    response = connect(client, auth_headers(merchant, CONNECT_SCOPES), woocommerce, "woocommerce")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def secret(db, connection_id):
    return decrypt_text(db.session.get(WooCommerceWebhook, connection_id).secret_encrypted)


def deliver(client, connection_id, body: bytes, *, signature: str | None, topic: str = "order.updated"):
    headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic}
    if signature is not None:
        headers["X-WC-Webhook-Signature"] = signature
    return client.post(f"/woocommerce/webhooks/{connection_id}", data=body, headers=headers)


def queued(db):
    return [(r.external_id, r.reason) for r in db.session.scalars(sa.select(OrderSyncRequest))]


class TestWebhookEndpoint:
    def test_registered_webhooks_carry_the_stored_secret_and_our_url(
        self, app, woocommerce, connection_id, secret
    ):
        hooks = sorted(woocommerce.fake.webhooks.values(), key=lambda hook: hook["topic"])
        assert [hook["topic"] for hook in hooks] == sorted(WEBHOOK_TOPICS)
        url = f"{app.config['CLAIMBRIDGE_PUBLIC_URL']}/woocommerce/webhooks/{connection_id}"
        assert [hook["delivery_url"] for hook in hooks] == [f"{url}/{hook['topic']}" for hook in hooks]
        assert {hook["secret"] for hook in hooks} == {secret}

    def test_ping_marks_its_topic_and_a_delivery_its_time(self, client, db, connection_id, secret):
        response = client.post(
            f"/woocommerce/webhooks/{connection_id}/order.restored",
            data="webhook_id=1001",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.get_json() == {"status": "ping"}
        body = b'{"id": 1001}'
        assert deliver(client, connection_id, body, signature=sign(secret, body)).status_code == 200
        rows = {row.topic: row for row in db.session.scalars(sa.select(WebhookTopic))}
        assert rows["order.restored"].ping_received_at is not None
        assert rows["order.updated"].ping_received_at is None
        marked = rows["order.updated"].last_delivery_at
        assert marked is not None
        # Deliveries within a minute leave the mark alone (parallel ones would queue on the row's lock); later
        # ones move it.
        assert deliver(client, connection_id, body, signature=sign(secret, body)).status_code == 200
        db.session.expire_all()
        assert db.session.get(WebhookTopic, (connection_id, "order.updated")).last_delivery_at == marked
        db.session.execute(
            sa.update(WebhookTopic).values(
                last_delivery_at=marked - DELIVERY_MARK_INTERVAL - timedelta(seconds=1)
            )
        )
        db.session.commit()
        assert deliver(client, connection_id, body, signature=sign(secret, body)).status_code == 200
        db.session.expire_all()
        assert db.session.get(WebhookTopic, (connection_id, "order.updated")).last_delivery_at >= marked

    @pytest.mark.parametrize("topic", ["order.%00", "order.%E2%80%AEdetadpu", "product.updated"])
    def test_ping_for_a_topic_we_never_registered_is_404_and_marks_nothing(
        self, client, db, connection_id, topic
    ):
        response = client.post(
            f"/woocommerce/webhooks/{connection_id}/{topic}",
            data="webhook_id=1001",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"
        assert [row.ping_received_at for row in db.session.scalars(sa.select(WebhookTopic))] == [None] * len(
            WEBHOOK_TOPICS
        )

    def test_ping_is_answered_200_without_signature(self, client, db, connection_id):
        response = client.post(
            f"/woocommerce/webhooks/{connection_id}",
            data="webhook_id=1001",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert (response.status_code, response.get_json()) == (200, {"status": "ping"})
        assert queued(db) == []

    def test_signed_delivery_queues_the_order(self, client, db, connection_id, secret):
        body = json.dumps({"id": 1234, "status": "processing"}).encode()
        response = deliver(client, connection_id, body, signature=sign(secret, body), topic="order.created")
        assert (response.status_code, response.get_json()) == (200, {"status": "queued"})
        assert queued(db) == [("1234", "order.created")]

    def test_bad_signature_is_401_and_queues_nothing(self, client, db, connection_id, secret):
        body = json.dumps({"id": 1234}).encode()
        forged = sign(secret, body + b" ")
        for signature in (forged, None):
            response = deliver(client, connection_id, body, signature=signature)
            assert response.status_code == 401
            assert response.get_json()["error"] == "invalid_signature"
        assert queued(db) == []

    def test_unknown_or_disabled_connection_answers_exactly_like_a_bad_signature(
        self, client, merchant, auth_headers, connection_id, secret
    ):
        body = json.dumps({"id": 1}).encode()
        unsigned_live = deliver(client, connection_id, body, signature=None)
        unknown = deliver(client, connection_id + 1, body, signature=sign(secret, body))
        client.delete(f"/api/v1/connections/{connection_id}", headers=auth_headers(merchant, CONNECT_SCOPES))
        disabled = deliver(client, connection_id, body, signature=sign(secret, body))
        for response in (unknown, disabled):
            assert (response.status_code, response.get_json()) == (401, unsigned_live.get_json())

    @pytest.mark.parametrize("order_id", ["²", "٣", "1" * 40, True, 1.5])
    def test_order_ids_beyond_ascii_digits_are_400(self, client, db, connection_id, secret, order_id):
        body = json.dumps({"id": order_id}).encode()
        response = deliver(client, connection_id, body, signature=sign(secret, body))
        assert response.status_code == 400
        assert queued(db) == []

    @pytest.mark.parametrize(
        ("body", "topic"),
        [
            (b"not json", "order.updated"),
            (b'{"status": "x"}', "order.updated"),
            (b'{"id": "12a"}', "order.updated"),
            (b"[1]", "order.updated"),
            (b'{"id": 5}', ""),
            pytest.param(b'{"id": 5}', "order.\x00updated", id="nul-in-topic"),
            pytest.param(b'{"id": 5}', "order.\x85updated", id="control-in-topic"),
            pytest.param(b'{"id": 5}', "order." + "x" * 100, id="topic-longer-than-its-column"),
        ],
    )
    def test_malformed_signed_delivery_is_400(self, client, db, connection_id, secret, body, topic):
        response = deliver(client, connection_id, body, signature=sign(secret, body), topic=topic)
        assert response.status_code == 400
        assert response.get_json()["error"] == "malformed_webhook"
        assert queued(db) == []
        # A refused delivery is not one: it leaves its topic's mark alone (its statements may run in autocommit).
        assert [row.last_delivery_at for row in db.session.scalars(sa.select(WebhookTopic))] == [None] * len(
            WEBHOOK_TOPICS
        )

    def test_other_topics_are_acknowledged_and_ignored(self, client, db, connection_id, secret):
        body = json.dumps({"id": 77}).encode()
        response = deliver(client, connection_id, body, signature=sign(secret, body), topic="product.updated")
        assert (response.status_code, response.get_json()) == (200, {"status": "ignored"})
        assert queued(db) == []

    def test_exact_bytes_from_the_shop_are_verified(self, client, db, woocommerce, connection_id):
        shop = woocommerce.fake
        order_id = shop.add_order(payment_method="invoice")
        hook_id = next(iter(shop.webhooks))
        body = json.dumps(shop.order(order_id)).encode()
        signature = sign(shop.webhooks[hook_id]["secret"], body)
        response = deliver(
            client, connection_id, body, signature=signature, topic=shop.webhooks[hook_id]["topic"]
        )
        assert response.status_code == 200
        assert queued(db) == [(str(order_id), shop.webhooks[hook_id]["topic"])]
