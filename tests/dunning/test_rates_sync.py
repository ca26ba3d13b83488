"""claimbridge rates sync against a local double of the Bundesbank's statistics web service (no internet)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backend.cli import main
from backend.dunning.models import BaseRateRecord
from backend.dunning.rate_store import base_rate_table, sync_base_rates
from backend.extensions import db
from connectors.bundesbank import BundesbankClient, MalformedSeries, parse_sdmx_csv
from tests.fakes.bundesbank import PATH, FakeBundesbank
from tests.fakes.server import FakeServer

# Test values for the months after June 2026 (see tests/fakes/bundesbank.py): not a published rate.
SECOND_HALF_2026 = [(date(2026, month, 1), Decimal("1.52")) for month in range(7, 12)]


@pytest.fixture
def bundesbank(app):
    fake = FakeBundesbank(SECOND_HALF_2026)
    with FakeServer(fake) as server:
        app.config["CLAIMBRIDGE_BASE_RATE_URL"] = server.url + PATH
        yield fake, server
    app.config["CLAIMBRIDGE_BASE_RATE_URL"] = "http://127.0.0.1:9" + PATH


class TestSync:
    def test_adds_the_new_half_year_and_checks_the_known_ones(self, app, db, bundesbank) -> None:
        _, server = bundesbank
        summary = sync_base_rates(date(2026, 12, 6))
        db.session.commit()
        assert "added: 2026-07-01 1.52 %" in summary and summary.endswith("current half-year: ok")
        record = db.session.get(BaseRateRecord, date(2026, 7, 1))
        assert record.percent == Decimal("1.52") and "BBIN1.M.DE.BBK.BBKBAS2.EUR.ME" in record.source
        assert record.created_by == "bundesbank sync"
        assert base_rate_table().rate_on(date(2026, 12, 6)).percent == Decimal("1.52")
        (request,) = server.requests
        assert request.headers["Accept"].startswith("application/vnd.sdmx.data+csv")
        # A second run finds nothing new.
        assert "added: nothing new" in sync_base_rates(date(2026, 12, 7))

    def test_a_series_contradicting_a_known_rate_stores_nothing(self, app, db, bundesbank) -> None:
        fake, _ = bundesbank
        fake.observations = [
            (m, Decimal("9.99") if m == date(2025, 7, 1) else p) for m, p in fake.observations
        ]
        with pytest.raises(ValueError, match="changes inside the half-year from 2025-07-01"):
            sync_base_rates(date(2026, 12, 6))
        fake.observations = [
            (m, Decimal("9.99") if m.year == 2025 and m.month >= 7 else p) for m, p in fake.observations
        ]
        with pytest.raises(ValueError, match="conflicting base rates for 2025-07-01"):
            sync_base_rates(date(2026, 12, 6))
        db.session.rollback()
        assert db.session.get(BaseRateRecord, date(2026, 7, 1)) is None

    def test_cli_sync_and_check(self, app, db, bundesbank) -> None:
        runner = app.test_cli_runner()
        check = runner.invoke(main, ["rates", "check"])
        assert check.exit_code == 1
        assert check.output.startswith("[WARN] base rate: The base rate (§247 BGB) valid from")
        synced = runner.invoke(main, ["rates", "sync"])
        assert synced.exit_code == 0, synced.output
        again = runner.invoke(main, ["rates", "check"])
        assert again.exit_code == 0 and again.output.startswith("[OK  ] base rate: Base rate 1.52 %")

    def test_cli_sync_says_nothing_was_stored_when_the_service_fails(self, app, db, bundesbank) -> None:
        _, server = bundesbank
        server.fail_next(5, status=503)
        result = app.test_cli_runner().invoke(main, ["rates", "sync"])
        assert result.exit_code != 0 and "nothing stored" in result.output
        assert db.session.get(BaseRateRecord, date(2026, 7, 1)) is None


class TestStatusEverywhere:
    def test_health_warns_while_the_current_half_year_is_unknown(self, client, bundesbank) -> None:
        body = client.get("/healthz").get_json()
        assert (body["status"], body["base_rate"]["status"]) == ("warning", "missing")
        sync_base_rates()
        db.session.commit()
        assert client.get("/healthz").get_json()["status"] == "ok"

    def test_console_data_endpoint(self, client, auth_headers, merchant) -> None:
        body = client.get(
            "/api/v1/base-rate-status", headers=auth_headers(merchant, "handovers:read")
        ).get_json()
        assert body["status"] == "missing" and "half_year" in body


class TestSdmxCsv:
    def test_rejects_an_answer_that_is_not_sdmx_csv(self) -> None:
        with pytest.raises(MalformedSeries):
            parse_sdmx_csv('{"data": []}')
        with pytest.raises(MalformedSeries, match="line 2"):
            parse_sdmx_csv("TIME_PERIOD,OBS_VALUE\n2026-13,1.27\n")

    def test_skips_months_without_an_observation(self) -> None:
        assert parse_sdmx_csv("TIME_PERIOD,OBS_VALUE\n2026-07,\n2026-06,1.27\n")[0].month == date(2026, 6, 1)

    def test_client_reads_from_a_start_month(self, bundesbank) -> None:
        _, server = bundesbank
        client = BundesbankClient(server.url + PATH, allow_private=True)
        series = client.base_rate_series(start=date(2026, 1, 1))
        client.close()
        assert series[0].month == date(2026, 1, 1) and series[-1].month == date(2026, 11, 1)
        assert server.requests[-1].query_string == "startPeriod=2026-01"
