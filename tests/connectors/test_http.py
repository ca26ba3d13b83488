"""Unit tests for the shared HTTP client: retry decision, backoff, typed errors, redirects, logging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask, jsonify, request

from connectors import errors
from connectors.http import Backoff, HttpClient, is_replay_safe, should_retry
from tests.fakes.server import FakeServer, serve


def _echo_app() -> Flask:
    app = Flask("echo")

    @app.route("/ok", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def ok():
        return jsonify(method=request.method, args=request.args.to_dict())

    @app.get("/status/<int:code>")
    def status(code: int):
        return jsonify(code="test_error", message=f"status {code}"), code

    @app.get("/redirect")
    def redirect():
        return "", 302, {"Location": request.args["to"]}

    return app


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with serve(_echo_app()) as running:
        yield running


@pytest.fixture
def client(server: FakeServer, no_wait: Backoff, sleeps) -> HttpClient:
    return HttpClient(server.url, allow_private=True, backoff=no_wait, sleep=sleeps, max_retries=3)


def _error(cls: type[errors.ConnectorError], **kwargs) -> errors.ConnectorError:
    return cls("boom", **kwargs)


class TestShouldRetry:
    @pytest.mark.parametrize(
        ("error", "replay_safe", "expected"),
        [
            (_error(errors.ServerError, status=503), True, True),
            (_error(errors.ServerError, status=503), False, False),
            (_error(errors.ConflictError, status=409), True, True),
            (_error(errors.ConflictError, status=409), False, False),
            (_error(errors.RateLimitError, status=429, retry_after=5), False, True),
            (_error(errors.RateLimitError, status=429, retry_after=None), True, True),
            (_error(errors.RateLimitError, status=429, retry_after=3600), True, False),
            (_error(errors.ConnectionError, should_retry=True), False, True),
            (_error(errors.ConnectionError, should_retry=False), False, False),
            (_error(errors.TimeoutError, should_retry=False), True, True),
            (_error(errors.ClientError, status=400), True, False),
            (_error(errors.NotFoundError, status=404), True, False),
            (_error(errors.AuthError, status=401), True, False),
            (_error(errors.UnsafeURLError, status=302), True, False),
        ],
    )
    def test_decides_by_error_kind_and_replay_safety(self, error, replay_safe, expected) -> None:
        assert should_retry(error, attempt=0, max_retries=3, replay_safe=replay_safe) is expected

    def test_stops_after_max_retries(self) -> None:
        error = _error(errors.ServerError, status=500)
        assert should_retry(error, attempt=2, max_retries=3, replay_safe=True)
        assert not should_retry(error, attempt=3, max_retries=3, replay_safe=True)

    @pytest.mark.parametrize(
        ("method", "idempotent", "key", "expected"),
        [
            ("GET", None, None, True),
            ("put", None, None, True),
            ("DELETE", None, None, True),
            ("POST", None, None, False),
            ("PATCH", None, None, False),
            ("POST", None, "key-1", True),
            ("POST", True, None, True),
            ("GET", False, None, False),
        ],
    )
    def test_replay_safety(self, method, idempotent, key, expected) -> None:
        assert is_replay_safe(method, idempotent=idempotent, idempotency_key=key) is expected


class TestBackoff:
    class _NoJitter(Backoff):
        def jitter(self, delay: float) -> float:
            return delay

    def test_grows_exponentially_up_to_cap(self) -> None:
        backoff = self._NoJitter(base=0.5, cap=3.0)
        error = _error(errors.ServerError, status=500)
        assert [backoff.delay(n, error) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]

    def test_jitter_stays_within_half_and_full_delay(self) -> None:
        backoff = Backoff()
        samples = [backoff.jitter(4.0) for _ in range(200)]
        assert all(2.0 <= sample <= 4.0 for sample in samples)
        assert len(set(samples)) > 1

    def test_retry_after_wins_over_backoff(self) -> None:
        error = _error(errors.RateLimitError, status=429, retry_after=12.0)
        assert Backoff(base=100, cap=100).delay(0, error) == 12.0


class TestParseRetryAfter:
    def test_reads_delta_seconds(self) -> None:
        assert errors.parse_retry_after("120") == 120.0

    def test_reads_http_date(self) -> None:
        now = 1_700_000_000.0
        assert errors.parse_retry_after("Tue, 14 Nov 2023 22:15:00 GMT", now=now) == 100.0

    @pytest.mark.parametrize("value", [None, "", "soon", "-5"])
    def test_ignores_unusable_values(self, value) -> None:
        assert errors.parse_retry_after(value) is None


class TestRedactUrl:
    def test_hides_signature_and_keys_but_keeps_filters(self) -> None:
        url = "http://shop.test/wc/v3/orders?status=pending,on-hold&oauth_signature=abc%2B&oauth_consumer_key=ck_x"
        redacted = errors.redact_url(url)
        assert "abc" not in redacted
        assert "ck_x" not in redacted
        assert "status=pending,on-hold" in redacted


class TestHttpClient:
    @pytest.mark.parametrize(
        ("code", "error_class"),
        [
            (400, errors.ClientError),
            (401, errors.AuthError),
            (403, errors.AuthError),
            (404, errors.NotFoundError),
            (409, errors.ConflictError),
            (422, errors.ClientError),
            (429, errors.RateLimitError),
            (500, errors.ServerError),
            (503, errors.ServerError),
        ],
    )
    def test_builds_typed_error_from_status(self, server, code, error_class) -> None:
        client = HttpClient(server.url, allow_private=True, max_retries=0)
        with pytest.raises(error_class) as caught:
            client.request("GET", f"/status/{code}")
        assert caught.value.status == code
        assert caught.value.body == {"code": "test_error", "message": f"status {code}"}

    def test_retries_server_errors_then_succeeds(self, server, client, sleeps) -> None:
        server.fail_next(2, status=503)
        response = client.request("GET", "/ok")
        assert response.json()["method"] == "GET"
        assert len(server.requests_to("/ok")) == 3
        assert sleeps.calls == [0.0, 0.0]

    def test_raises_server_error_when_retries_are_exhausted(self, server, client) -> None:
        server.fail_next(10, status=500)
        with pytest.raises(errors.ServerError):
            client.request("GET", "/ok")
        assert len(server.requests_to("/ok")) == 4

    def test_honours_retry_after(self, server, client, sleeps) -> None:
        server.fail_next(1, status=429, retry_after=7)
        client.request("GET", "/ok")
        assert sleeps.calls == [7.0]

    def test_gives_up_when_retry_after_is_too_long(self, server, client, sleeps) -> None:
        server.fail_next(1, status=429, retry_after=3600)
        with pytest.raises(errors.RateLimitError) as caught:
            client.request("GET", "/ok")
        assert caught.value.retry_after == 3600.0
        assert sleeps.calls == []

    def test_does_not_retry_client_errors(self, server, client) -> None:
        with pytest.raises(errors.NotFoundError):
            client.request("GET", "/status/404")
        assert len(server.requests_to("/status")) == 1

    def test_does_not_replay_post_without_idempotency_key(self, server, client) -> None:
        server.fail_next(1, status=503)
        with pytest.raises(errors.ServerError):
            client.request("POST", "/ok")
        assert len(server.requests_to("/ok")) == 1

    def test_replays_post_with_idempotency_key(self, server, client) -> None:
        server.fail_next(1, status=503)
        client.request("POST", "/ok", idempotency_key="order-42-paid")
        sent = server.requests_to("/ok")
        assert len(sent) == 2
        assert {r.headers["Idempotency-Key"] for r in sent} == {"order-42-paid"}

    def test_retries_read_timeout_for_get(self, server, no_wait, sleeps) -> None:
        client = HttpClient(server.url, allow_private=True, backoff=no_wait, sleep=sleeps, timeout=(2, 0.2))
        server.delay_next(1, seconds=1.0, path="/ok")
        assert client.request("GET", "/ok").status_code == 200

    def test_does_not_replay_post_after_read_timeout(self, server, no_wait, sleeps) -> None:
        client = HttpClient(server.url, allow_private=True, backoff=no_wait, sleep=sleeps, timeout=(2, 0.2))
        server.delay_next(1, seconds=1.0, path="/ok")
        with pytest.raises(errors.TimeoutError) as caught:
            client.request("POST", "/ok")
        assert caught.value.should_retry is False
        assert sleeps.calls == []

    def test_retries_refused_connection_even_for_post(self, no_wait, sleeps) -> None:
        with serve(_echo_app()) as doomed:
            url = doomed.url
        client = HttpClient(url, allow_private=True, backoff=no_wait, sleep=sleeps, max_retries=2)
        with pytest.raises(errors.ConnectionError) as caught:
            client.request("POST", "/ok")
        assert caught.value.should_retry is True
        assert len(sleeps.calls) == 2

    def test_transport_error_hides_secret_query_parameters(self, no_wait, sleeps) -> None:
        """urllib3 names the URL it failed on, query included; the error (logged by callers) must not."""
        with serve(_echo_app()) as doomed:
            url = doomed.url
        client = HttpClient(url, allow_private=True, backoff=no_wait, sleep=sleeps, max_retries=0)
        with pytest.raises(errors.ConnectionError) as caught:
            client.request("GET", "/ok", params={"status": "on-hold", "oauth_signature": "s3cr3t-sig"})
        message = str(caught.value)
        assert "with url: /ok?status=on-hold&oauth_signature=***" in message  # urllib3's own words, redacted
        assert "s3cr3t-sig" not in message

    def test_does_not_follow_redirects(self, server, client) -> None:
        with serve(_echo_app()) as canary:
            with pytest.raises(errors.UnsafeURLError, match="redirects are not followed"):
                client.request("GET", "/redirect", params={"to": f"{canary.url}/ok"})
            assert canary.requests == []

    def test_renews_auth_once_on_401(self, server, no_wait) -> None:
        class RenewingClient(HttpClient):
            renewals = 0

            def _renew_auth(self) -> bool:
                self.renewals += 1
                return True

        client = RenewingClient(server.url, allow_private=True, backoff=no_wait)
        server.fail_next(5, status=401)
        with pytest.raises(errors.AuthError):
            client.request("GET", "/ok")
        assert client.renewals == 1
        assert len(server.requests_to("/ok")) == 2

    def test_logs_without_secrets(self, server, client, caplog) -> None:
        caplog.set_level(logging.DEBUG, logger="connectors.http")
        client.request("GET", "/ok", params={"oauth_signature": "s3cr3t-sig", "consumer_secret": "cs_hidden"})
        logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("connectors"))
        assert "/ok" in logged
        assert "s3cr3t-sig" not in logged
        assert "cs_hidden" not in logged
