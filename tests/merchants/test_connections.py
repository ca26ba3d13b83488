"""Connecting shops: credentials verified against the (fake) shop first, SSRF refused, stored encrypted."""

from __future__ import annotations

import json
import socket

import pytest
import sqlalchemy as sa

from backend.auth.services import create_client
from backend.extensions import db as _db
from backend.merchants.connectors import connector_for
from backend.merchants.models import ShopConnection
from backend.merchants.services import create_merchant
from backend.woocommerce.models import WooCommerceWebhook
from tests.conftest import make_app
from tests.fakes.woocommerce_rest import FakeWooCommerce
from tests.orders.support import CONNECT_SCOPES, cli_runner, connect, served


def stored_connections(db):
    return db.session.scalars(sa.select(ShopConnection)).all()


@pytest.fixture
def headers(merchant, auth_headers):
    return auth_headers(merchant, CONNECT_SCOPES)


class TestCreateWooCommerceConnection:
    def test_verified_credentials_are_stored_encrypted_and_never_shown(
        self, client, db, headers, woocommerce
    ):
        response = connect(client, headers, woocommerce, "woocommerce", name="Hauptshop")
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert (body["platform"], body["status"], body["name"], body["has_credentials"]) == (
            "woocommerce",
            "active",
            "Hauptshop",
            True,
        )
        assert woocommerce.fake.consumer_secret.encode() not in response.data
        connection = db.session.get(ShopConnection, body["id"])
        assert woocommerce.fake.consumer_secret not in connection.credentials_encrypted
        assert woocommerce.server.requests_to("/wp-json/wc/v3/orders")  # verified with a real call
        listed = client.get("/api/v1/connections", headers=headers)
        assert woocommerce.fake.consumer_secret.encode() not in listed.data
        connector = connector_for(connection)
        connector.verify()  # the stored credentials still work after encryption round trip
        connector.close()

    def test_wrong_key_is_422_and_nothing_is_stored(self, client, db, headers, woocommerce):
        credentials = {**woocommerce.credentials(), "consumer_secret": "cs_wrong"}
        response = connect(client, headers, woocommerce, "woocommerce", credentials=credentials)
        assert response.status_code == 422
        body = response.get_json()
        assert body["error"] == "invalid_credentials"
        assert "refused these credentials" in body["message"]
        assert stored_connections(db) == []
        assert woocommerce.fake.webhooks == {}

    def test_read_only_key_cannot_register_webhooks_and_nothing_is_stored(self, client, db, headers):
        with served(FakeWooCommerce(key_permissions="read")) as shop:
            response = connect(client, headers, shop, "woocommerce")
        assert response.status_code == 422
        assert "Read/Write" in response.get_json()["message"]
        assert stored_connections(db) == []
        assert db.session.scalars(sa.select(WooCommerceWebhook)).all() == []

    def test_unreachable_shop_is_502_with_a_clear_error(self, client, db, headers, woocommerce):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        body = {
            "platform": "woocommerce",
            "shop_url": f"http://127.0.0.1:{closed_port}",
            "credentials": woocommerce.credentials(),
        }
        response = client.post("/api/v1/connections", json=body, headers=headers)
        assert response.status_code == 502
        assert response.get_json()["error"] == "shop_unreachable"
        assert "could not be reached" in response.get_json()["message"]
        assert stored_connections(db) == []

    def test_url_without_a_shop_api_is_422(self, client, db, headers, woocommerce):
        response = connect(client, headers, woocommerce, "woocommerce", shop_url=woocommerce.url + "/blog")
        assert response.status_code == 422
        assert response.get_json()["error"] == "shop_not_recognised"
        assert stored_connections(db) == []

    def test_missing_credential_field_is_named(self, client, db, headers, woocommerce):
        credentials = {"consumer_key": woocommerce.fake.consumer_key}
        response = connect(client, headers, woocommerce, "woocommerce", credentials=credentials)
        assert response.status_code == 422
        assert list(response.get_json()["details"]) == ["/credentials/consumer_secret"]

    def test_same_shop_twice_is_one_connection(self, client, db, headers, woocommerce):
        first = connect(client, headers, woocommerce, "woocommerce").get_json()["id"]
        assert connect(client, headers, woocommerce, "woocommerce").get_json()["id"] == first
        assert len(stored_connections(db)) == 1

    def test_needs_settings_scope(self, client, merchant, auth_headers, woocommerce):
        response = connect(client, auth_headers(merchant, "orders:write"), woocommerce, "woocommerce")
        assert response.status_code == 403


class TestCreateShopwareConnection:
    def test_verified_integration_is_stored(self, client, db, headers, shopware):
        response = connect(client, headers, shopware, "shopware")
        assert response.status_code == 201, response.get_json()
        assert shopware.fake.tokens_issued == 1
        assert stored_connections(db)[0].platform == "shopware"

    def test_wrong_secret_is_422_and_nothing_is_stored(self, client, db, headers, shopware):
        credentials = {**shopware.credentials(), "secret_key": "wrong"}
        response = connect(client, headers, shopware, "shopware", credentials=credentials)
        assert (response.status_code, response.get_json()["error"]) == (422, "invalid_credentials")
        assert stored_connections(db) == []

    def test_unknown_platform_is_422(self, client, headers, shopware):
        assert connect(client, headers, shopware, "magento").status_code == 422


@pytest.fixture
def strict_app(app, database_url, tmp_path):
    """A second app on the same database with CLAIMBRIDGE_ALLOW_PRIVATE_URLS=false (production's default)."""
    strict = make_app(database_url, tmp_path, CLAIMBRIDGE_ALLOW_PRIVATE_URLS="false")
    with strict.app_context():
        yield strict
        _db.session.remove()
        _db.engine.dispose()


class TestSSRF:
    @pytest.mark.parametrize(
        "shop_url",
        [
            "http://169.254.169.254",
            "http://10.0.0.1",
            "http://127.0.0.1:9",
            "http://[::1]:8080",
            "ftp://shop.example",
        ],
    )
    def test_private_and_odd_urls_are_refused_before_any_call(self, strict_app, shop_url):
        assert strict_app.config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"] is False
        merchant = create_merchant("Strenger Shop", actor="test")
        new = create_client(merchant.id, CONNECT_SCOPES, name="test", actor="test")
        _db.session.commit()
        client = strict_app.test_client()
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(new.client.client_id, new.client_secret),
        ).get_json()["access_token"]
        body = {
            "platform": "woocommerce",
            "shop_url": shop_url,
            "credentials": {"consumer_key": "ck", "consumer_secret": "cs"},
        }
        response = client.post("/api/v1/connections", json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 422
        assert response.get_json()["error"] == "unsafe_url"
        assert list(response.get_json()["details"]) == ["/shop_url"]
        assert stored_connections(_db) == []


class TestDisableConnection:
    def test_delete_disables_and_drops_credentials(self, client, db, headers, woocommerce):
        connection_id = connect(client, headers, woocommerce, "woocommerce").get_json()["id"]
        assert client.delete(f"/api/v1/connections/{connection_id}", headers=headers).status_code == 204
        body = client.get(f"/api/v1/connections/{connection_id}", headers=headers).get_json()
        assert (body["status"], body["has_credentials"]) == ("disabled", False)
        assert db.session.get(WooCommerceWebhook, connection_id) is None
        assert client.delete(f"/api/v1/connections/{connection_id}", headers=headers).status_code == 204

    def test_other_merchants_connection_is_404(self, client, create_merchant, auth_headers, woocommerce):
        owner = create_merchant("Eigentümer")
        connection_id = connect(
            client, auth_headers(owner, CONNECT_SCOPES), woocommerce, "woocommerce"
        ).get_json()["id"]
        intruder = auth_headers(create_merchant("Fremder"), CONNECT_SCOPES)
        assert client.delete(f"/api/v1/connections/{connection_id}", headers=intruder).status_code == 404
        assert (
            client.get(
                f"/api/v1/connections/{connection_id}", headers=auth_headers(owner, CONNECT_SCOPES)
            ).get_json()["status"]
            == "active"
        )


class TestConnectionsCli:
    def test_add_then_list_without_secrets(self, app, merchant, woocommerce):
        run = cli_runner(app)
        added = run(
            "connections",
            "add",
            "--merchant",
            str(merchant.id),
            "--platform",
            "woocommerce",
            "--url",
            woocommerce.url,
            "--key",
            woocommerce.fake.consumer_key,
            "--secret",
            woocommerce.fake.consumer_secret,
        )
        assert added.exit_code == 0, added.output
        assert "order webhooks registered" in added.output
        listed = run("connections", "list", "--merchant", str(merchant.id), "--json")
        rows = json.loads(listed.output)
        assert [(r["platform"], r["shop_url"], r["status"]) for r in rows] == [
            ("woocommerce", woocommerce.url, "active")
        ]
        assert woocommerce.fake.consumer_secret not in listed.output
        assert woocommerce.fake.consumer_secret not in run("connections", "list").output

    def test_add_with_wrong_secret_fails_and_stores_nothing(self, app, db, merchant, woocommerce):
        run = cli_runner(app)
        result = run(
            "connections",
            "add",
            "--merchant",
            str(merchant.id),
            "--platform",
            "woocommerce",
            "--url",
            woocommerce.url,
            "--key",
            woocommerce.fake.consumer_key,
            "--secret",
            "cs_wrong",
        )
        assert result.exit_code == 1
        assert "refused these credentials" in result.output
        assert stored_connections(db) == []

    def test_secret_is_prompted_when_left_out(self, app, merchant, shopware):
        result = cli_runner(app)(
            "connections",
            "add",
            "--merchant",
            str(merchant.id),
            "--platform",
            "shopware",
            "--url",
            shopware.url,
            "--key",
            shopware.fake.client_id,
            input=shopware.fake.client_secret + "\n",
        )
        assert result.exit_code == 0, result.output
        assert shopware.fake.client_secret not in result.output

    def test_sync_refuses_unknown_connection(self, app):
        result = cli_runner(app)("connections", "sync", "999")
        assert result.exit_code == 1
        assert "does not exist" in result.output
