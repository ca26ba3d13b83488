"""A WooCommerce connection over its life: reconnects keep it single, its webhooks heal, its health is shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.extensions import utcnow
from backend.merchants.models import ShopConnection
from backend.orders.services import reconcile_all_connections
from backend.receivables.models import Receivable
from backend.woocommerce.models import WebhookTopic, WooCommerceWebhook
from backend.woocommerce.services import reconcile_shops
from connectors.shops.woocommerce import WEBHOOK_TOPICS
from tests.orders.support import CONNECT_SCOPES, cli_runner, connect


@pytest.fixture
def headers(merchant, auth_headers):
    return auth_headers(merchant, CONNECT_SCOPES)


@pytest.fixture
def reachable_shop(woocommerce, backend_server):
    """A shop that may deliver to the backend's port (as if added with ``http_allowed_safe_ports``)."""
    woocommerce.fake.allow_port(backend_server.port)
    return woocommerce


def connected(client, headers, shop) -> int:
    response = connect(client, headers, shop, "woocommerce")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def receivables(db) -> list[Receivable]:
    return db.session.scalars(sa.select(Receivable).order_by(Receivable.id)).all()


class TestReconnecting:
    def test_adding_the_same_shop_again_reuses_the_connection(self, client, db, headers, woocommerce):
        first = connected(client, headers, woocommerce)
        assert connected(client, headers, woocommerce) == first
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopConnection)) == 1
        assert len(woocommerce.fake.webhooks) == len(WEBHOOK_TOPICS)

    def test_delete_removes_the_webhooks_and_connecting_again_keeps_the_receivables(
        self, client, db, headers, woocommerce
    ):
        shop = woocommerce.fake
        order_id = shop.add_order(payment_method="invoice")
        connection_id = connected(client, headers, woocommerce)
        reconcile_all_connections()
        assert client.delete(f"/api/v1/connections/{connection_id}", headers=headers).status_code == 204
        assert shop.webhooks == {}

        assert connected(client, headers, woocommerce) == connection_id
        reconcile_all_connections()
        assert [(r.connection_id, r.external_id) for r in receivables(db)] == [(connection_id, str(order_id))]

    def test_a_new_key_keeps_identity_receivables_and_reference(self, client, db, headers, woocommerce):
        shop = woocommerce.fake
        shop.add_order(payment_method="invoice")
        connection_id = connected(client, headers, woocommerce)
        reconcile_all_connections()
        reference = receivables(db)[0].payment_reference
        old_secret = db.session.get(WooCommerceWebhook, connection_id).secret_encrypted
        shop.consumer_key, shop.consumer_secret = "ck_" + "1" * 40, "cs_" + "2" * 40

        response = client.patch(
            f"/api/v1/connections/{connection_id}",
            json={
                "credentials": {"consumer_key": shop.consumer_key, "consumer_secret": shop.consumer_secret}
            },
            headers=headers,
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["id"] == connection_id
        db.session.expire_all()
        assert db.session.get(WooCommerceWebhook, connection_id).secret_encrypted != old_secret
        shop.clock.advance(60)
        assert reconcile_all_connections() == "1 reconciled, 0 failed"
        assert [(r.connection_id, r.payment_reference) for r in receivables(db)] == [
            (connection_id, reference)
        ]
        assert len(shop.webhooks) == len(WEBHOOK_TOPICS)

    def test_a_refused_new_key_changes_nothing(self, client, db, headers, woocommerce):
        connection_id = connected(client, headers, woocommerce)
        before = db.session.get(ShopConnection, connection_id).credentials_encrypted
        response = client.patch(
            f"/api/v1/connections/{connection_id}",
            json={"credentials": {"consumer_key": "ck_x", "consumer_secret": "cs_y"}},
            headers=headers,
        )
        assert response.status_code == 422
        assert response.get_json()["error"] == "invalid_credentials"
        db.session.expire_all()
        assert db.session.get(ShopConnection, connection_id).credentials_encrypted == before

    def test_cli_updates_the_key(self, app, db, merchant, woocommerce, client, headers):
        connection_id = connected(client, headers, woocommerce)
        shop = woocommerce.fake
        shop.consumer_key, shop.consumer_secret = "ck_" + "3" * 40, "cs_" + "4" * 40
        result = cli_runner(app)(
            "connections",
            "update",
            str(connection_id),
            "--key",
            shop.consumer_key,
            "--secret",
            shop.consumer_secret,
        )
        assert result.exit_code == 0, result.output
        assert f"connection {connection_id} updated" in result.output

    def test_other_merchants_connection_cannot_be_patched(
        self, client, create_merchant, auth_headers, woocommerce
    ):
        connection_id = connected(client, auth_headers(create_merchant("A"), CONNECT_SCOPES), woocommerce)
        response = client.patch(
            f"/api/v1/connections/{connection_id}",
            json={"name": "mine"},
            headers=auth_headers(create_merchant("B"), CONNECT_SCOPES),
        )
        assert response.status_code == 404


class TestHomeUrl:
    def test_a_url_that_is_not_the_home_url_is_named_as_such(self, client, db, headers, woocommerce):
        url = woocommerce.url.replace("127.0.0.1", "localhost")
        response = connect(client, headers, woocommerce, "woocommerce", shop_url=url)
        assert response.status_code == 422
        body = response.get_json()
        assert body["error"] == "shop_url_mismatch"
        assert woocommerce.url in body["message"]
        assert "credentials" not in body["message"]
        assert db.session.scalars(sa.select(ShopConnection)).all() == []


class TestWebhookHealth:
    def test_every_topic_is_pinged_and_shown_healthy(self, client, headers, reachable_shop):
        connection_id = connected(client, headers, reachable_shop)
        body = client.get(f"/api/v1/connections/{connection_id}", headers=headers).get_json()
        assert [(w["topic"], w["status_in_shop"], w["ping_received"]) for w in body["webhooks"]] == [
            (topic, "active", True) for topic in WEBHOOK_TOPICS
        ]
        assert body["problems"] == []

    def test_a_ping_that_never_arrives_explains_wordpress_ports(self, client, db, headers, woocommerce):
        connection_id = connected(client, headers, woocommerce)  # the backend's port is not allowed
        db.session.execute(sa.update(WebhookTopic).values(created_in_shop_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
        body = client.get(f"/api/v1/connections/{connection_id}", headers=headers).get_json()
        assert {w["ping_received"] for w in body["webhooks"]} == {False}
        problem = next(p for p in body["problems"] if p["code"] == "webhook_ping_missing")
        assert "5000" in problem["message"] and "http_allowed_safe_ports" in problem["message"]
        assert "8080" in problem["fix"]

    def test_a_disabled_webhook_is_re_enabled_by_the_reconciliation(
        self, client, db, headers, reachable_shop, backend_server
    ):
        shop = reachable_shop.fake
        connection_id = connected(client, headers, reachable_shop)
        order_id = shop.add_order(payment_method="invoice")
        updated = next(h for h, hook in shop.webhooks.items() if hook["topic"] == "order.updated")
        backend_server.fail_next(7, status=503, path="/woocommerce/webhooks")
        for _ in range(7):
            shop.deliver_webhook(updated, order_id)
        assert shop.webhooks[updated]["status"] == "disabled"

        assert reconcile_shops() == "1 reconciled, 0 failed"
        assert shop.webhooks[updated]["status"] == "active"
        assert shop.deliver_webhook(updated, order_id).status_code == 200
        body = client.get(f"/api/v1/connections/{connection_id}", headers=headers).get_json()
        health = {w["topic"]: w for w in body["webhooks"]}
        assert health["order.updated"]["status_in_shop"] == "active"
        assert health["order.updated"]["last_delivery_at"] is not None
        kinds = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert "connection.webhook_reenabled" in kinds

    def test_a_webhook_deleted_in_the_shop_is_created_again(self, client, headers, woocommerce):
        connected(client, headers, woocommerce)
        shop = woocommerce.fake
        lost = next(h for h, hook in shop.webhooks.items() if hook["topic"] == "order.deleted")
        del shop.webhooks[lost]
        reconcile_shops()
        assert sorted(hook["topic"] for hook in shop.webhooks.values()) == sorted(WEBHOOK_TOPICS)

    def test_the_order_poll_leaves_the_webhooks_to_the_shop_reconciliation(
        self, app, client, headers, woocommerce
    ):
        connection_id = connected(client, headers, woocommerce)
        shop = woocommerce.fake
        lost = next(h for h, hook in shop.webhooks.items() if hook["topic"] == "order.deleted")
        del shop.webhooks[lost]
        assert reconcile_all_connections() == "1 reconciled, 0 failed"
        assert "order.deleted" not in [hook["topic"] for hook in shop.webhooks.values()]

        result = cli_runner(app)("connections", "sync", str(connection_id))
        assert result.exit_code == 0, result.output
        assert sorted(hook["topic"] for hook in shop.webhooks.values()) == sorted(WEBHOOK_TOPICS)

    def test_missing_plugin_is_a_problem(self, client, headers, woocommerce):
        woocommerce.fake.plugin_installed = False
        connection_id = connected(client, headers, woocommerce)
        body = client.get(f"/api/v1/connections/{connection_id}", headers=headers).get_json()
        assert "plugin_missing" in [p["code"] for p in body["problems"]]


class TestInvoiceMethods:
    def test_defaults_include_the_german_invoice_gateways(self, client, headers, woocommerce):
        connection_id = connected(client, headers, woocommerce)
        body = client.get(f"/api/v1/connections/{connection_id}", headers=headers).get_json()
        assert {"invoice", "german_market_purchase_on_account", "claimbridge_invoice"} <= set(
            body["invoice_methods"]
        )

    def test_the_policys_list_is_the_one_setting(self, client, db, headers, woocommerce):
        connection_id = connected(client, headers, woocommerce)
        saved = client.put("/api/v1/policy", json={"invoice_methods": ["cheque"]}, headers=headers)
        assert saved.status_code == 200, saved.get_json()

        body = client.get(f"/api/v1/connections/{connection_id}", headers=headers).get_json()
        assert body["invoice_methods"] == ["cheque"]
        offered = client.get(
            f"/api/v1/connections/{connection_id}/payment-methods", headers=headers
        ).get_json()
        assert {m["id"]: m["invoice_like"] for m in offered} == {
            "bacs": False,
            "cheque": True,
            "cod": False,
            "german_market_purchase_on_account": False,
            "invoice": False,
        }
        woocommerce.fake.add_order(payment_method="cheque")
        woocommerce.fake.add_order(payment_method="invoice")
        reconcile_all_connections()
        assert [r.payment_method for r in receivables(db)] == ["cheque"]

    def test_a_connection_has_no_list_of_its_own(self, client, headers, woocommerce):
        connection_id = connected(client, headers, woocommerce)
        response = client.patch(
            f"/api/v1/connections/{connection_id}", json={"invoice_methods": ["cheque"]}, headers=headers
        )
        assert response.status_code == 422
        assert "invoice_methods" in str(response.get_json()["details"])
