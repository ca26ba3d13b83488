"""Token endpoint limits: strangers cannot lock a client out, Redis shares the count, a Redis outage is no 500."""

from __future__ import annotations

import uuid

import pytest
import redis
from flask import request

from backend.extensions import db, limiter
from tests.conftest import make_app

REDIS_URL = "redis://127.0.0.1:6379/0"


def _token(client, client_id, secret, address):
    return client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        environ_base={"REMOTE_ADDR": address},
    )


class TestLockout:
    def test_strangers_with_wrong_secrets_cannot_lock_a_client_out(
        self, app, client, merchant, create_credentials, monkeypatch
    ):
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_TOKEN_RATE_LIMIT", "3/minute")
        client_id, secret = create_credentials(merchant)
        strangers = [_token(client, client_id, "wrong", f"198.51.100.{n % 3}").status_code for n in range(30)]
        assert strangers.count(429) == 30 - 3 * 3  # each stranger address gets its own three tries
        assert _token(client, client_id, secret, "203.0.113.5").status_code == 200

    def test_a_guessing_address_is_stopped_whatever_client_it_names(self, app, client, monkeypatch):
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_TOKEN_RATE_LIMIT", "3/minute")
        statuses = [_token(client, f"cb_{n}", "x", "198.51.100.7").status_code for n in range(5)]
        assert statuses == [401, 401, 401, 429, 429]

    def test_successful_tokens_do_not_spend_the_address_allowance_of_others(
        self, app, client, merchant, create_credentials, monkeypatch
    ):
        """Many shops behind one shared-hosting address each get their own allowance."""
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_TOKEN_RATE_LIMIT", "2/minute")
        shops = [create_credentials(merchant) for _ in range(4)]
        statuses = [_token(client, cid, secret, "192.0.2.80").status_code for cid, secret in shops]
        assert statuses == [200, 200, 200, 200]


@pytest.fixture
def redis_app(app, database_url, tmp_path):
    """A second app (think: another web process) whose limits live in the machine's Redis."""
    prefix = f"cbtest-{uuid.uuid4().hex}"
    built = []

    def build(url=REDIS_URL):
        other = make_app(
            database_url,
            tmp_path,
            CLAIMBRIDGE_RATELIMIT_STORAGE_URL=url,
            CLAIMBRIDGE_TOKEN_RATE_LIMIT="3/minute",
            RATELIMIT_KEY_PREFIX=prefix,
        )
        built.append(other)
        return other

    yield build
    for other in built:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(f"*{prefix}*"):
        store.delete(key)
    store.close()
    limiter.init_app(app)  # the limiter is a singleton: give the test app its memory store back


class TestRedisStore:
    def test_counts_live_in_redis_so_every_process_shares_them(self, redis_app, merchant, create_credentials):
        client_id, secret = create_credentials(merchant)
        first = redis_app()
        with first.app_context():
            statuses = [
                _token(first.test_client(), client_id, secret, "203.0.113.9").status_code for _ in range(2)
            ]
        second = redis_app()  # a fresh process would start counting from what Redis holds
        with second.app_context():
            statuses += [
                _token(second.test_client(), client_id, secret, "203.0.113.9").status_code for _ in range(2)
            ]
        assert statuses == [200, 200, 200, 429]
        # The limiter is one object for every app and keeps the first key prefix it was given, so the count
        # is found by the client id (new in every test) rather than by this test's prefix.
        store = redis.Redis.from_url(REDIS_URL)
        counted = list(store.scan_iter(f"*{client_id}*"))
        assert counted
        store.delete(*counted)
        store.close()

    def test_an_unreachable_redis_degrades_to_per_process_counting_not_500(
        self, redis_app, merchant, create_credentials
    ):
        client_id, secret = create_credentials(merchant)
        down = redis_app("redis://127.0.0.1:1/0")  # nothing listens on port 1
        with down.app_context():
            statuses = [
                _token(down.test_client(), client_id, secret, "203.0.113.9").status_code for _ in range(4)
            ]
        assert statuses == [200, 200, 200, 429]


class TestBearerViews:
    """An API view is spared the limits only for a valid token; a wrong token is a stranger's and is counted."""

    @pytest.fixture
    def limited_app(self, app, database_url, tmp_path):
        """An app with an application-wide limit of three requests a minute per address."""
        limited = make_app(database_url, tmp_path, RATELIMIT_APPLICATION="3/minute")
        yield limited
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()
        # The limiter is a singleton that keeps the first application limits it was given: drop them.
        limiter.limit_manager.set_application_limits([])
        limiter.init_app(app)

    def _audit(self, client, authorization, address):
        return client.get(
            "/api/v1/audit-events",
            headers={"Authorization": authorization},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    def test_an_invalid_token_is_rate_limited_and_a_valid_one_is_not(
        self, limited_app, merchant, create_credentials
    ):
        client_id, secret = create_credentials(merchant, "audit:read")
        with limited_app.app_context():
            client = limited_app.test_client()
            wrong = [self._audit(client, "Bearer not-a-token", "198.51.100.20") for _ in range(5)]
            token = _token(client, client_id, secret, "203.0.113.20").get_json()["access_token"]
            valid = [self._audit(client, f"Bearer {token}", "203.0.113.21") for _ in range(5)]
        assert wrong == [401, 401, 401, 429, 429]
        assert valid == [200] * 5

    def test_only_a_strangers_answer_carries_the_limits_headers(
        self, limited_app, merchant, create_credentials
    ):
        client_id, secret = create_credentials(merchant, "audit:read")
        with limited_app.app_context():
            client = limited_app.test_client()
            token = _token(client, client_id, secret, "203.0.113.40").get_json()["access_token"]
            answers = [
                client.get(
                    "/api/v1/audit-events",
                    headers={"Authorization": authorization},
                    environ_base={"REMOTE_ADDR": "198.51.100.40"},
                )
                for authorization in ("Bearer not-a-token", f"Bearer {token}")
            ]
        assert [answer.status_code for answer in answers] == [401, 200]
        assert answers[0].headers["X-RateLimit-Limit"] == "3"
        assert "X-RateLimit-Limit" not in answers[1].headers

    def test_a_valid_token_skips_the_limiters_check_as_a_whole(
        self, client, merchant, create_credentials, monkeypatch
    ):
        """The limiter's own bookkeeping runs for strangers only: a valid token's request never enters it."""
        client_id, secret = create_credentials(merchant, "audit:read")
        token = _token(client, client_id, secret, "203.0.113.30").get_json()["access_token"]
        checked = []
        monkeypatch.setattr(limiter, "_check_request_limit", lambda: checked.append(request.path))
        assert self._audit(client, f"Bearer {token}", "203.0.113.31") == 200
        assert checked == []
        assert self._audit(client, "Bearer not-a-token", "203.0.113.31") == 401
        assert checked == ["/api/v1/audit-events"]
