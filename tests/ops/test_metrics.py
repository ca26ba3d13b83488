"""``/metrics``: Prometheus text with request latency, risk decisions, handovers, jobs and outboxes; guarded."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from backend.dunning.models import ShopAction
from backend.extensions import db, utcnow
from backend.handovers.models import Handover, ShopUpdate
from backend.worker import JobLease
from tests.factories import make_connection, make_receivable
from tests.risk.conftest import CLEAN_PAYLOAD

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}
TOKEN = "prometheus-scrape-token-1"


@pytest.fixture(autouse=True)
def token(app, monkeypatch):
    """Outside development /metrics is served only with a token: every test here has one unless it drops it."""
    monkeypatch.setitem(app.config, "CLAIMBRIDGE_METRICS_TOKEN", TOKEN)
    return TOKEN


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    """Return every sample of a scrape by (name, sorted labels)."""
    kwargs.setdefault("headers", {"Authorization": f"Bearer {TOKEN}"})
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_counts_risk_decisions_by_outcome_and_reason_and_times_the_endpoint(client, merchant, auth_headers):
    headers = auth_headers(merchant, "risk:check")
    before = scrape(client)
    risky = {**CLEAN_PAYLOAD, "amount": "99999.00"}
    for payload in (CLEAN_PAYLOAD, CLEAN_PAYLOAD, risky):
        assert client.post("/api/v1/risk-checks", json=payload, headers=headers).status_code == 201
    after = scrape(client)

    def grew(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("claimbridge_risk_decisions_total", decision="accept") == 2
    assert grew("claimbridge_risk_decisions_total", decision="decline") == 1
    assert grew("claimbridge_risk_reasons_total", decision="decline", reason="ORDER_AMOUNT_LIMIT") == 1
    count = grew(
        "claimbridge_http_request_duration_seconds_count",
        endpoint="risk.create_risk_check",
        method="POST",
        status="201",
    )
    assert count == 3


def test_shows_handovers_by_state_jobs_and_outboxes_from_the_database(client, merchant):
    connection = make_connection(merchant)
    receivables = [make_receivable(connection, f"o-{n}") for n in range(3)]
    receivable = receivables[0]
    now = utcnow()
    for number, status in enumerate(("proposed", "proposed", "approved")):
        db.session.add(
            Handover(
                merchant_id=merchant.id,
                receivable_id=receivables[number].id,
                idempotency_key=f"k-{number}",
                currency="EUR",
                principal=Decimal("10.00"),
                total=Decimal("10.00"),
                limitation_date=date(2029, 12, 31),
                status=status,
            )
        )
        db.session.flush()
    db.session.add_all(
        [
            JobLease(name="dunning-send", next_run_at=now - timedelta(seconds=600)),
            JobLease(
                name="handovers-submit",
                next_run_at=now - timedelta(hours=1),
                leased_at=now - timedelta(seconds=300),
                leased_until=now + timedelta(seconds=60),
                last_result="failed",
            ),
            JobLease(name="orders-sync", next_run_at=now + timedelta(seconds=30)),
            ShopUpdate(
                merchant_id=merchant.id,
                connection_id=connection.id,
                kind="note",
                idempotency_key="note-1",
                created_at=now - timedelta(seconds=900),
            ),
            ShopUpdate(
                merchant_id=merchant.id,
                connection_id=connection.id,
                kind="note",
                idempotency_key="n-2",
                done_at=now,
            ),
            *(
                ShopAction(
                    merchant_id=merchant.id,
                    connection_id=connection.id,
                    receivable_id=receivable.id,
                    action="remind",
                    status=status,
                    parked_at=now if status == "failed" else None,
                )
                for status in ("pending", "failed", "failed", "done")
            ),
        ]
    )
    db.session.commit()
    samples = scrape(client)
    assert samples[("claimbridge_database_up", ())] == 1
    assert samples[("claimbridge_handovers", (("state", "proposed"),))] == 2
    assert samples[("claimbridge_handovers", (("state", "approved"),))] == 1
    assert samples[("claimbridge_handovers", (("state", "closed"),))] == 0
    job = lambda name, job_name: samples[(name, (("job", job_name),))]  # noqa: E731
    assert 600 <= job("claimbridge_job_lag_seconds", "dunning-send") < 3600
    assert job("claimbridge_job_lag_seconds", "orders-sync") == 0
    assert job("claimbridge_job_lag_seconds", "handovers-submit") == 0  # running, not waiting
    assert 300 <= job("claimbridge_job_lease_age_seconds", "handovers-submit") < 3600
    assert job("claimbridge_job_lease_age_seconds", "dunning-send") == 0
    assert job("claimbridge_job_last_run_failed", "handovers-submit") == 1
    outbox = lambda name, box: samples[(name, (("outbox", box),))]  # noqa: E731
    assert outbox("claimbridge_outbox_depth", "shop_updates") == 1
    assert 900 <= outbox("claimbridge_outbox_oldest_seconds", "shop_updates") < 3600
    assert outbox("claimbridge_outbox_depth", "shop_actions") == 1
    assert outbox("claimbridge_outbox_parked", "shop_actions") == 2


def test_made_up_methods_and_paths_add_no_series(client):
    for n in range(5):
        client.open(f"/no-such-page-{n}", method=f"BREW{n}")
    samples = scrape(client)
    series = {
        dict(labels)["method"] for name, labels in samples if name.startswith("claimbridge_http_request")
    }
    assert not any(method.startswith("BREW") for method in series) and "other" in series
    paths = {
        dict(labels)["endpoint"] for name, labels in samples if name.startswith("claimbridge_http_request")
    }
    assert not any("no-such-page" in endpoint for endpoint in paths)


class TestAccess:
    @pytest.mark.parametrize("env", ["production", "testing"])
    def test_without_a_token_outside_development_metrics_are_not_served_even_to_loopback(
        self, app, client, monkeypatch, env
    ):
        """Behind a reverse proxy on the same host every client is loopback: loopback proves nothing."""
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_METRICS_TOKEN", None)
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_ENV", env)
        response = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert response.status_code == 404
        assert "CLAIMBRIDGE_METRICS_TOKEN" in response.get_json()["message"]
        assert "claimbridge_" not in response.get_data(as_text=True)

    def test_without_a_token_development_serves_loopback_clients_only(self, app, client, monkeypatch):
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_METRICS_TOKEN", None)
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_ENV", "development")
        response = client.get("/metrics", environ_base=REMOTE)
        assert response.status_code == 403
        assert "CLAIMBRIDGE_METRICS_TOKEN" in response.get_json()["message"]
        assert "claimbridge_" not in response.get_data(as_text=True)
        scrape(client, headers={}, environ_base={"REMOTE_ADDR": "127.0.0.1"})

    def test_with_a_token_any_client_presenting_it_may_scrape(self, client, token):
        scrape(client, environ_base=REMOTE, headers={"Authorization": f"Bearer {token}"})

    @pytest.mark.parametrize("header", [None, "Bearer wrong-token-0000000", "Basic cHJvbWV0aGV1czp4"])
    def test_with_a_token_anyone_else_is_refused_even_on_loopback(self, client, token, header):
        response = client.get("/metrics", headers={"Authorization": header} if header else {})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
