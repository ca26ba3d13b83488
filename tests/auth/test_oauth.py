import base64
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import AccessToken
from backend.auth.server import require_oauth
from backend.auth.services import revoke_client
from backend.crypto import hash_secret
from backend.extensions import db, utcnow
from backend.merchants.models import ApiClient
from tests.conftest import make_app


def _token(client, client_id, secret, **form):
    return client.post(
        "/oauth/token", data={"grant_type": "client_credentials", **form}, auth=(client_id, secret)
    )


class TestTokenEndpoint:
    def test_issues_bearer_token_with_basic_auth(self, client, merchant, create_credentials):
        client_id, secret = create_credentials(merchant, "risk:check orders:write")
        response = _token(client, client_id, secret)
        body = response.get_json()
        assert response.status_code == 200
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        assert set(body["scope"].split()) == {"risk:check", "orders:write"}
        assert response.headers["Cache-Control"] == "no-store"

    def test_issues_token_with_credentials_in_form_body(self, client, merchant, create_credentials):
        client_id, secret = create_credentials(merchant)
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
        assert response.status_code == 200

    def test_narrows_token_to_requested_scope(self, client, merchant, create_credentials):
        client_id, secret = create_credentials(merchant, "risk:check orders:write")
        body = _token(client, client_id, secret, scope="risk:check").get_json()
        assert body["scope"] == "risk:check"

    def test_stores_only_hashes(self, client, merchant, create_credentials):
        client_id, secret = create_credentials(merchant)
        access_token = _token(client, client_id, secret).get_json()["access_token"]
        stored_client = db.session.scalar(sa.select(ApiClient).filter_by(client_id=client_id))
        assert stored_client.secret_hash == hash_secret(secret)
        assert secret not in stored_client.secret_hash
        token_row = db.session.scalar(sa.select(AccessToken))
        assert token_row.token_hash == hash_secret(access_token)

    def test_rejects_wrong_secret_and_audits_it(self, client, merchant, create_credentials):
        client_id, _ = create_credentials(merchant)
        response = _token(client, client_id, "not-the-secret")
        body = response.get_json()
        assert response.status_code == 401
        assert body["error"] == "invalid_client"
        assert body["message"]
        event = db.session.scalar(sa.select(AuditEvent).filter_by(action="auth.failed"))
        assert event.actor == f"client:{client_id}"

    @pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke"])
    @pytest.mark.parametrize(
        "client_id",
        # Authlib URL-decodes a Basic user name, so "%00" reaches the client lookup as a NUL as well.
        ["\x00", "%00", "cb_\u202e" + "0" * 23, "cb_" + "0" * 300],
        ids=["nul", "encoded-nul", "bidi-override", "too-long"],
    )
    def test_a_client_id_of_no_shape_we_issue_is_an_invalid_client(self, client, db, path, client_id):
        response = client.post(
            path, data={"grant_type": "client_credentials", "token": "t"}, auth=(client_id, "x")
        )
        assert response.status_code == 401
        assert response.get_json()["error"] == "invalid_client"
        assert db.session.scalars(sa.select(AccessToken)).all() == []
        # The failed attempt is audited without the stranger's text as its actor.
        assert db.session.scalars(sa.select(AuditEvent.actor)).all() == ["client:malformed"]

    @pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke"])
    @pytest.mark.parametrize("credentials", [b"\xff:x", b"\xed\xa0\x80:x"], ids=["latin-1", "surrogate"])
    def test_basic_credentials_that_are_not_utf8_are_an_invalid_client(self, client, db, path, credentials):
        response = client.post(
            path,
            data={"grant_type": "client_credentials", "token": "t"},
            headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
        )
        assert response.status_code == 401
        assert response.get_json()["error"] == "invalid_client"
        assert db.session.scalars(sa.select(AccessToken)).all() == []

    def test_rejects_unsupported_grant(self, client, merchant, create_credentials):
        client_id, secret = create_credentials(merchant)
        response = client.post(
            "/oauth/token",
            data={"grant_type": "password", "username": "a", "password": "b"},
            auth=(client_id, secret),
        )
        assert response.status_code == 400
        assert response.get_json()["error"] == "unsupported_grant_type"

    def test_revoked_client_gets_no_token(self, client, merchant, create_credentials):
        client_id, secret = create_credentials(merchant)
        revoke_client(client_id, actor="test")
        db.session.commit()
        assert _token(client, client_id, secret).status_code == 401

    def test_rate_limits_per_client(self, app, client, merchant, create_credentials, monkeypatch):
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_TOKEN_RATE_LIMIT", "3/minute")
        client_id, secret = create_credentials(merchant)
        statuses = [_token(client, client_id, secret).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = _token(client, client_id, secret)
        assert limited.get_json()["error"] == "rate_limited"
        assert "Retry-After" in limited.headers

    def test_rate_limits_per_address_across_clients(self, app, client, monkeypatch):
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_TOKEN_RATE_LIMIT", "3/minute")
        statuses = [_token(client, f"cb_unknown{i}", "x").status_code for i in range(4)]
        assert statuses == [401, 401, 401, 429]


class TestClientAddress:
    def test_without_a_proxy_forwarded_addresses_are_ignored(self, app, client, monkeypatch):
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_TOKEN_RATE_LIMIT", "2/minute")
        statuses = [
            client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(f"cb_unknown{n}", "x"),
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            ).status_code
            for n in range(3)
        ]
        assert statuses == [401, 401, 429]  # a client cannot escape the limit by naming another address

    @pytest.fixture
    def proxied(self, app, database_url, tmp_path):
        """A client of a second app on the same database, configured to run behind one reverse proxy."""
        proxied_app = make_app(
            database_url, tmp_path, CLAIMBRIDGE_PROXY_COUNT="1", CLAIMBRIDGE_TOKEN_RATE_LIMIT="2/minute"
        )
        with proxied_app.app_context():
            yield proxied_app.test_client()
            db.session.remove()
            db.engine.dispose()

    def test_behind_a_proxy_each_client_address_has_its_own_limit(self, proxied):
        def statuses(address: str) -> list[int]:
            return [
                proxied.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(f"cb_unknown{n}", "x"),
                    headers={"X-Forwarded-For": f"203.0.113.9, {address}"},  # the proxy appends the peer
                ).status_code
                for n in range(3)
            ]

        assert statuses("198.51.100.1") == [401, 401, 429]
        assert statuses("198.51.100.2") == [401, 401, 429]


class TestRevocation:
    def test_revoked_token_is_refused(self, client, merchant, create_credentials):
        client_id, secret = create_credentials(merchant)
        token = _token(client, client_id, secret).get_json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/merchant", headers=headers).status_code == 200
        response = client.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
        assert response.status_code == 200
        assert client.get("/api/v1/merchant", headers=headers).status_code == 401

    def test_client_cannot_revoke_another_clients_token(self, client, merchant, create_credentials):
        first_id, first_secret = create_credentials(merchant)
        second_id, second_secret = create_credentials(merchant)
        token = _token(client, first_id, first_secret).get_json()["access_token"]
        response = client.post("/oauth/revoke", data={"token": token}, auth=(second_id, second_secret))
        assert response.status_code == 400
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/merchant", headers=headers).status_code == 200


@pytest.fixture
def probe_client(app, database_url, tmp_path):
    """A client of a second app on the same database with a route needing `cases:write`."""
    probe_app = make_app(database_url, tmp_path)
    probe_app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"] = app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"]
    probe_app.add_url_rule(
        "/api/v1/_probe", "scoped_probe", require_oauth("cases:write")(lambda: {"ok": True}), methods=["GET"]
    )
    with probe_app.app_context():
        yield probe_app.test_client()
        db.session.remove()
        db.engine.dispose()


class TestResourceProtection:
    def test_missing_token_is_401_with_challenge(self, client):
        response = client.get("/api/v1/merchant")
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["error"] == "missing_authorization"

    def test_garbage_token_is_401(self, client):
        response = client.get("/api/v1/merchant", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
        assert response.get_json()["error"] == "invalid_token"
        assert "invalid_token" in response.headers["WWW-Authenticate"]

    def test_expired_token_is_401(self, client, merchant, auth_headers):
        headers = auth_headers(merchant)
        db.session.execute(sa.update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert client.get("/api/v1/merchant", headers=headers).status_code == 401

    def test_wrong_scope_is_403(self, probe_client, merchant, auth_headers):
        response = probe_client.get("/api/v1/_probe", headers=auth_headers(merchant, "risk:check"))
        assert response.status_code == 403
        assert response.get_json()["error"] == "insufficient_scope"

    def test_right_scope_passes(self, probe_client, merchant, auth_headers):
        response = probe_client.get("/api/v1/_probe", headers=auth_headers(merchant, "cases:write"))
        assert response.status_code == 200

    def test_revoking_client_kills_its_tokens(self, client, merchant, create_credentials):
        client_id, secret = create_credentials(merchant)
        token = _token(client, client_id, secret).get_json()["access_token"]
        revoke_client(client_id, actor="test")
        db.session.commit()
        response = client.get("/api/v1/merchant", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


class TestTokenCleanup:
    def test_purges_long_expired_tokens_only(self, client, merchant, auth_headers):
        from backend.auth.services import purge_expired_tokens

        auth_headers(merchant)
        auth_headers(merchant)
        first = db.session.scalar(sa.select(AccessToken).order_by(AccessToken.id))
        first.expires_at = utcnow() - timedelta(days=2)
        db.session.commit()
        assert purge_expired_tokens() == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessToken)) == 1
