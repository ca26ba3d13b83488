"""WooCommerce's one-click connect: connect sessions for the plugin, the keys callback from the shop.

The callback's body is what includes/class-wc-auth.php post_consumer_data() sends: JSON with key_id,
user_id (our state, as a string), consumer_key, consumer_secret and key_permissions; any answer but 200
makes WooCommerce delete the key.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.crypto import decrypt_text
from backend.merchants.connectors import connector_for
from backend.merchants.models import ShopConnection
from backend.woocommerce.connect import complete_received_sessions
from backend.woocommerce.models import WooCommerceConnectSession

SCOPES = "connections:write"


@pytest.fixture
def headers(merchant, auth_headers):
    return auth_headers(merchant, SCOPES)


def start(client, headers, shop_url):
    return client.post("/api/v1/woocommerce/connect-sessions", json={"shop_url": shop_url}, headers=headers)


def keys_body(state, shop, **overrides):
    return {
        "key_id": 7,
        "user_id": state,
        "consumer_key": shop.fake.consumer_key,
        "consumer_secret": shop.fake.consumer_secret,
        "key_permissions": "read_write",
        **overrides,
    }


def post_keys(client, body):
    response = client.post(
        "/woocommerce/auth/callback",
        data=json.dumps(body),
        headers={"Content-Type": "application/json;charset=UTF-8"},
    )
    response.close()  # The WSGI server closes the answer once sent; the keys are used from then on.
    return response


def sessions(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(WooCommerceConnectSession)).all()


class TestConnectSession:
    def test_plugin_gets_a_one_time_state_and_the_callback_url(self, client, db, headers, woocommerce):
        response = start(client, headers, woocommerce.url + "/")
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["callback_url"] == "http://127.0.0.1:5000/woocommerce/auth/callback"
        assert len(body["state"]) >= 32
        (row,) = sessions(db)
        assert row.shop_url == woocommerce.url
        assert row.status == "open"
        assert body["state"] not in row.state_hash, "only a hash of the state is stored"
        assert timedelta(minutes=14) < row.expires_at - row.created_at <= timedelta(minutes=15)

    def test_needs_the_connections_write_scope(self, client, db, merchant, auth_headers, woocommerce):
        response = start(client, auth_headers(merchant, "risk:check"), woocommerce.url)
        assert response.status_code == 403
        assert sessions(db) == []

    def test_unsafe_shop_url_is_refused(self, client, db, headers):
        response = start(client, headers, "ftp://shop.example.org")
        assert response.status_code == 422
        assert response.get_json()["error"] == "unsafe_url"
        assert sessions(db) == []


class TestKeysCallback:
    def test_keys_connect_the_shop_with_webhooks(self, client, db, headers, woocommerce):
        state = start(client, headers, woocommerce.url).get_json()["state"]
        response = post_keys(client, keys_body(state, woocommerce))
        assert response.status_code == 200, response.get_json()
        (row,) = sessions(db)
        assert row.status == "connected", row.error
        assert row.credentials_encrypted is None, "the keys moved onto the connection"
        connection = db.session.get(ShopConnection, row.connection_id)
        assert (connection.platform, connection.status, connection.shop_url) == (
            "woocommerce",
            "active",
            woocommerce.url,
        )
        stored = json.loads(decrypt_text(connection.credentials_encrypted))
        assert stored == {
            "consumer_key": woocommerce.fake.consumer_key,
            "consumer_secret": woocommerce.fake.consumer_secret,
        }
        assert woocommerce.fake.consumer_secret not in connection.credentials_encrypted
        topics = sorted(hook["topic"] for hook in woocommerce.fake.webhooks.values())
        assert "order.created" in topics and "order.updated" in topics
        connector_for(connection).verify()

    def test_a_state_works_once(self, client, db, headers, woocommerce):
        state = start(client, headers, woocommerce.url).get_json()["state"]
        assert post_keys(client, keys_body(state, woocommerce)).status_code == 200
        again = post_keys(client, keys_body(state, woocommerce))
        assert again.status_code == 400
        assert again.get_json()["error"] == "invalid_state"
        assert len(db.session.scalars(sa.select(ShopConnection)).all()) == 1

    def test_unknown_and_expired_states_are_refused(self, client, db, headers, woocommerce):
        assert post_keys(client, keys_body("made-up", woocommerce)).status_code == 400
        assert post_keys(client, {"consumer_key": "ck_x"}).status_code == 400
        assert client.post("/woocommerce/auth/callback", data=b"\xff").status_code == 400
        state = start(client, headers, woocommerce.url).get_json()["state"]
        (row,) = sessions(db)
        row.expires_at = row.created_at - timedelta(seconds=1)
        db.session.commit()
        response = post_keys(client, keys_body(state, woocommerce))
        assert response.status_code == 400
        assert db.session.scalars(sa.select(ShopConnection)).all() == []

    @pytest.mark.parametrize("state", ["\ud800", "state\x00", "\u202estate"])
    @pytest.mark.parametrize(
        ("content_type", "refused"),
        # The request checks refuse unsafe text in a JSON body; a body the shop sends as anything else is parsed
        # by the callback alone, which finds no session for such a state.
        [("application/json", (422, "invalid_request")), ("text/plain", (400, "invalid_state"))],
    )
    def test_a_state_with_unsafe_characters_is_refused_and_changes_nothing(
        self, client, db, headers, woocommerce, state, content_type, refused
    ):
        start(client, headers, woocommerce.url)
        response = client.post(
            "/woocommerce/auth/callback",
            data=json.dumps(keys_body(state, woocommerce)),
            headers={"Content-Type": content_type},
        )
        assert (response.status_code, response.get_json()["error"]) == refused
        (row,) = sessions(db)
        assert (row.status, row.credentials_encrypted) == ("open", None)

    @pytest.mark.parametrize(
        ("key_id", "kept"), [(2**31 - 1, 2**31 - 1), (2**31, None), (2**63, None), (0, None), (-7, None)]
    )
    def test_a_key_id_beyond_the_column_is_dropped_and_the_keys_kept(
        self, client, db, headers, woocommerce, key_id, kept
    ):
        # Any answer but 200 makes the shop delete a key it just created; its id is only for reference.
        state = start(client, headers, woocommerce.url).get_json()["state"]
        response = post_keys(client, keys_body(state, woocommerce, key_id=key_id))
        assert response.status_code == 200, response.get_json()
        (row,) = sessions(db)
        assert (row.status, row.key_id) == ("connected", kept)

    def test_read_only_or_malformed_keys_are_refused_and_end_the_session(
        self, client, db, headers, woocommerce
    ):
        state = start(client, headers, woocommerce.url).get_json()["state"]
        response = post_keys(client, keys_body(state, woocommerce, key_permissions="read"))
        assert response.status_code == 422
        assert "/key_permissions" in response.get_json()["details"]
        (row,) = sessions(db)
        assert (row.status, row.credentials_encrypted) == ("failed", None)
        state = start(client, headers, woocommerce.url).get_json()["state"]
        response = post_keys(client, keys_body(state, woocommerce, consumer_secret="secret"))
        assert response.status_code == 422

    def test_keys_the_shop_does_not_accept_fail_the_session_with_a_reason(
        self, client, db, headers, woocommerce
    ):
        state = start(client, headers, woocommerce.url).get_json()["state"]
        wrong = "cs_" + "0" * 40
        assert post_keys(client, keys_body(state, woocommerce, consumer_secret=wrong)).status_code == 200
        (row,) = sessions(db)
        assert row.status == "failed"
        assert "refused" in row.error
        assert row.credentials_encrypted is None
        assert db.session.scalars(sa.select(ShopConnection)).all() == []

    def test_worker_completes_keys_a_crashed_process_left(self, app, client, db, headers, woocommerce):
        state = start(client, headers, woocommerce.url).get_json()["state"]
        response = client.post("/woocommerce/auth/callback", json=keys_body(state, woocommerce))
        # Not closed: as if the process died right after answering.
        assert response.status_code == 200
        (row,) = sessions(db)
        assert row.status == "received"
        assert woocommerce.fake.consumer_secret not in row.credentials_encrypted
        assert complete_received_sessions() == 1
        (row,) = sessions(db)
        assert row.status == "connected"
        assert complete_received_sessions() == 0
