"""Tests for the dunning schedule, notice settings and buyer-stop endpoints, and the ``rates`` commands."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.cli import main
from backend.dunning.claims import DebtorKind
from backend.dunning.models import BaseRateRecord, DunningScheduleRecord, DunningStageRecord
from backend.dunning.rate_store import base_rate_table
from backend.dunning.schedule import default_schedule
from backend.merchants.models import Merchant
from backend.orders.services import payment_terms_days


def _schedule(**first_stage: object) -> dict:
    document = default_schedule(DebtorKind.CONSUMER).to_dict()
    del document["debtor_kind"]
    document["stages"][0].update(first_stage)
    return document


class TestDunningScheduleApi:
    def test_defaults_until_the_merchant_saves_its_own(self, client, auth_headers, merchant) -> None:
        response = client.get("/api/v1/dunning-schedule", headers=auth_headers(merchant, "handovers:read"))
        assert response.status_code == 200
        body = response.get_json()
        rules = body["consumer"].pop("fee_rules")
        assert body["consumer"] == default_schedule(DebtorKind.CONSUMER).to_dict()
        assert body["business"]["debtor_kind"] == "business"
        assert rules["email"]["max_fee"] == "0.00" and rules["letter"]["max_fee"] == "1.00"
        assert "flat fee" in body["business"]["fee_rules"]["letter"]["rule"]

    def test_a_fee_on_an_email_notice_is_refused_with_the_reason(
        self, client, auth_headers, merchant
    ) -> None:
        consumer = _schedule()
        consumer["stages"][1].update(fee="2.50", channel="email")
        response = client.put(
            "/api/v1/dunning-schedule",
            json={"consumer": consumer, "business": _schedule()},
            headers=auth_headers(merchant, "settings:write"),
        )
        assert response.status_code == 422
        (reason,) = response.get_json()["details"]["/consumer/stages/1/fee"]
        assert reason.startswith("must be at most 0.00 for a notice by email to a consumer: An e-mail costs")

    def test_a_letter_fee_up_to_the_letter_cost_is_stored(self, client, auth_headers, merchant) -> None:
        consumer = {**_schedule(), "letter_cost": "1.45", "grace_banking_days": 3}
        consumer["stages"][1].update(fee="1.45", channel="letter")
        headers = auth_headers(merchant, "settings:write")
        response = client.put(
            "/api/v1/dunning-schedule", json={"consumer": consumer, "business": _schedule()}, headers=headers
        )
        assert response.status_code == 200, response.get_json()
        stored = client.get("/api/v1/dunning-schedule", headers=headers).get_json()["consumer"]
        assert (stored["letter_cost"], stored["grace_banking_days"]) == ("1.45", 3)
        assert stored["stages"][1]["fee"] == "1.45" and stored["fee_rules"]["letter"]["max_fee"] == "1.45"
        # What the API shows can be sent back as it is (the fee rules are derived, not stored).
        again = client.put(
            "/api/v1/dunning-schedule", json={"consumer": stored, "business": _schedule()}, headers=headers
        )
        assert again.status_code == 200, again.get_json()

    def test_put_stores_both_schedules_and_audits(self, client, auth_headers, merchant, db) -> None:
        consumer = _schedule(offset_days=5)
        business = _schedule(channel="none")
        headers = auth_headers(merchant, "settings:write")
        response = client.put(
            "/api/v1/dunning-schedule", json={"consumer": consumer, "business": business}, headers=headers
        )
        assert response.status_code == 200, response.get_json()
        again = client.get("/api/v1/dunning-schedule", headers=headers).get_json()
        assert again["consumer"]["stages"][0]["offset_days"] == 5
        assert again["business"]["stages"][0]["channel"] == "none"
        assert db.session.scalar(sa.select(AuditEvent.action).filter_by(action="dunning_schedule.replaced"))

    @pytest.mark.parametrize(
        ("consumer", "pointer"),
        [
            (_schedule(fee="1.00"), "/consumer/stages/0/fee"),
            (_schedule(offset_days=1), "/consumer/stages/0/offset_days"),
            (_schedule(channel="fax"), "/consumer/stages/0/channel"),
            ({"stages": []}, "/consumer/stages"),
        ],
    )
    def test_invalid_schedule_is_a_422_with_json_pointer(
        self, client, auth_headers, merchant, consumer, pointer
    ):
        response = client.put(
            "/api/v1/dunning-schedule",
            json={"consumer": consumer, "business": _schedule()},
            headers=auth_headers(merchant, "settings:write"),
        )
        assert response.status_code == 422
        assert list(response.get_json()["details"]) == [pointer]

    @pytest.mark.parametrize("days", [3651, 2**31, 2**63])
    @pytest.mark.parametrize(
        ("stage", "name"), [(None, "handover_after_days"), (2, "offset_days"), (2, "payment_deadline_days")]
    )
    def test_more_days_than_ten_years_is_a_422_and_stores_nothing(
        self, client, auth_headers, merchant, db, stage, name, days
    ) -> None:
        consumer = _schedule()
        (consumer if stage is None else consumer["stages"][stage])[name] = days
        pointer = f"/consumer/{name}" if stage is None else f"/consumer/stages/{stage}/{name}"
        headers = auth_headers(merchant, "settings:write")
        response = client.put(
            "/api/v1/dunning-schedule", json={"consumer": consumer, "business": _schedule()}, headers=headers
        )
        assert response.status_code == 422
        assert response.get_json()["details"] == {pointer: [f"must be at most 3650, not {days}"]}
        for model in (DunningScheduleRecord, DunningStageRecord):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
        assert db.session.scalar(sa.select(AuditEvent).filter_by(action="dunning_schedule.replaced")) is None
        shown = client.get("/api/v1/dunning-schedule", headers=headers)
        assert shown.status_code == 200
        assert shown.get_json()["consumer"]["handover_after_days"] == 3

    def test_ten_years_is_the_longest_schedule(self, client, auth_headers, merchant) -> None:
        consumer = {**_schedule(), "handover_after_days": 3650}
        consumer["stages"][2]["offset_days"] = 3650
        headers = auth_headers(merchant, "settings:write")
        response = client.put(
            "/api/v1/dunning-schedule", json={"consumer": consumer, "business": _schedule()}, headers=headers
        )
        assert response.status_code == 200, response.get_json()
        stored = client.get("/api/v1/dunning-schedule", headers=headers).get_json()["consumer"]
        assert (stored["handover_after_days"], stored["stages"][2]["offset_days"]) == (3650, 3650)

    def test_missing_business_schedule_is_named(self, client, auth_headers, merchant) -> None:
        response = client.put(
            "/api/v1/dunning-schedule",
            json={"consumer": _schedule()},
            headers=auth_headers(merchant, "settings:write"),
        )
        assert response.status_code == 422
        assert "/business" in response.get_json()["details"]

    def test_put_needs_settings_scope(self, client, auth_headers, merchant) -> None:
        response = client.put(
            "/api/v1/dunning-schedule",
            json={"consumer": _schedule(), "business": _schedule()},
            headers=auth_headers(merchant, "handovers:read"),
        )
        assert response.status_code == 403


class TestDunningSettingsApi:
    def test_iban_is_checked_and_bic_derived(self, client, auth_headers, merchant) -> None:
        headers = auth_headers(merchant, "settings:write")
        response = client.put(
            "/api/v1/dunning-settings",
            json={
                "payment_details": {
                    "account_holder": "Beispiel Shop GmbH",
                    "iban": "DE89 3704 0044 0532 0130 00",
                }
            },
            headers=headers,
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["payment_details"] == {
            "account_holder": "Beispiel Shop GmbH",
            "iban": "DE89370400440532013000",
            "bic": "COBADEFFXXX",
        }

    def test_wrong_iban_checksum_is_a_422(self, client, auth_headers, merchant) -> None:
        response = client.put(
            "/api/v1/dunning-settings",
            json={"payment_details": {"account_holder": "X", "iban": "DE89370400440532013001"}},
            headers=auth_headers(merchant, "settings:write"),
        )
        assert response.status_code == 422
        assert list(response.get_json()["details"]) == ["/payment_details/iban"]


class TestClaimSettingsApi:
    def test_defaults_then_partial_update(self, client, auth_headers, merchant) -> None:
        headers = auth_headers(merchant, "settings:write")
        assert client.get("/api/v1/claim-settings", headers=headers).get_json() == {
            "land": None,
            "sells_to_businesses_only": False,
            "invoices_carry_default_notice": False,
            "due_date_from": "invoice_date",
            "payment_terms_days": 14,
        }
        response = client.put(
            "/api/v1/claim-settings", json={"land": "by", "due_date_from": "shipment"}, headers=headers
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["land"] == "BY" and response.get_json()["due_date_from"] == "shipment"
        assert client.get("/api/v1/claim-settings", headers=headers).get_json()["land"] == "BY"

    def test_the_payment_term_dates_receivables_and_reaches_the_checkout(
        self, client, auth_headers, merchant, db
    ) -> None:
        merchant.settings = {"payment_terms_days": 10}  # as earlier versions stored it
        db.session.commit()
        headers = auth_headers(merchant, "settings:write")
        assert client.get("/api/v1/claim-settings", headers=headers).get_json()["payment_terms_days"] == 10
        response = client.put("/api/v1/claim-settings", json={"payment_terms_days": 30}, headers=headers)
        assert response.status_code == 200, response.get_json()
        assert payment_terms_days(db.session.get(Merchant, merchant.id)) == 30
        checkout = client.get("/api/v1/checkout-settings", headers=auth_headers(merchant, "risk:check"))
        assert checkout.get_json()["payment_terms_days"] == 30

    @pytest.mark.parametrize(
        ("body", "pointer"),
        [
            ({"land": "XX"}, "/land"),
            ({"due_date_from": "payment"}, "due_date_from"),
            ({"payment_terms_days": 0}, "payment_terms_days"),
            ({"payment_terms_days": "30"}, "payment_terms_days"),
        ],
    )
    def test_bad_values_are_a_422(self, client, auth_headers, merchant, body, pointer) -> None:
        response = client.put(
            "/api/v1/claim-settings", json=body, headers=auth_headers(merchant, "settings:write")
        )
        assert response.status_code == 422
        assert pointer in str(response.get_json()["details"])


class TestBuyerStopApi:
    def test_stop_is_audited_without_the_address(self, client, auth_headers, merchant, db) -> None:
        response = client.put(
            "/api/v1/dunning-stops",
            json={"email": "erika@example.org", "stopped": True, "reason": "Insolvenz", "by": "Frau Lehmann"},
            headers=auth_headers(merchant, "handovers:write"),
        )
        assert response.status_code == 200
        event = db.session.scalar(sa.select(AuditEvent).filter_by(action="dunning.buyer_stopped"))
        assert event.actor.endswith("(Frau Lehmann)")
        assert "erika" not in str(event.details) + str(event.target_id)


class TestRatesCommands:
    def test_add_then_list_and_used_in_claims(self, app, db) -> None:
        runner = app.test_cli_runner()
        result = runner.invoke(
            main, ["rates", "add", "2027-01-01", "1.52", "--source", "Deutsche Bundesbank, Pressenotiz"]
        )
        assert result.exit_code == 0, result.output
        assert db.session.get(BaseRateRecord, date(2027, 1, 1)).percent == Decimal("1.52")
        assert base_rate_table().rate_on(date(2027, 3, 1)).percent == Decimal("1.52")
        listing = runner.invoke(main, ["rates", "list"])
        assert "2027-01-01    1.52 %  added    Deutsche Bundesbank, Pressenotiz" in listing.output
        assert "2025-07-01    1.27 %  bundled" in listing.output

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (["2027-02-01", "1.52"], "1 January or 1 July"),
            (["2025-07-01", "1.50"], "conflicting base rates"),
            (["2027-01-01", "152"], "outside"),
        ],
    )
    def test_bad_rates_are_refused(self, app, arguments, message) -> None:
        result = app.test_cli_runner().invoke(main, ["rates", "add", *arguments, "--source", "Bundesbank"])
        assert result.exit_code != 0
        assert message in result.output


class TestMerchantGuide:
    def test_the_console_and_the_readme_show_the_same_guide(self, client, auth_headers, merchant) -> None:
        from pathlib import Path

        from backend.dunning.guide import guide_markdown

        body = client.get(
            "/api/v1/merchant-guide?language=en", headers=auth_headers(merchant, "handovers:read")
        )
        assert body.status_code == 200
        titles = [section["title"] for section in body.get_json()["sections"]]
        assert titles == [
            "Invoice wording for consumers",
            "What ClaimBridge claims",
            "What ClaimBridge does not claim",
        ]
        german = client.get(
            "/api/v1/merchant-guide", headers=auth_headers(merchant, "handovers:read")
        ).get_json()
        assert "§ 286 Abs. 3 BGB" in german["sections"][0]["paragraphs"][0]
        readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
        assert guide_markdown("en") in readme

    def test_an_unknown_language_is_a_422(self, client, auth_headers, merchant) -> None:
        response = client.get(
            "/api/v1/merchant-guide?language=fr", headers=auth_headers(merchant, "handovers:read")
        )
        assert response.status_code == 422
