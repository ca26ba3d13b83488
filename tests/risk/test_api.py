"""The risk-check API end to end: token, request, decision, stored check, policy, overrides."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.extensions import utcnow
from backend.merchants.models import RiskPolicyRecord
from backend.receivables.models import Receivable
from backend.risk.models import RiskCheck
from backend.risk.services import bureau_clients, purge_raw_inputs
from connectors.shops.base import OrderState
from tests.factories import make_connection, make_receivable
from tests.fakes.payone import PATH as PAYONE_PATH
from tests.fakes.payone import FakePayone
from tests.fakes.server import FakeServer

CLEAN_BUYER = {
    "reference": "cart-1",
    "amount": "249.90",
    "currency": "EUR",
    "payment_methods": ["invoice", "paypal"],
    "buyer": {
        "email": "anna.schmidt@web.de",
        "first_name": "Anna",
        "last_name": "Schmidt",
        "is_guest": False,
    },
    "billing_address": {
        "first_name": "Anna",
        "last_name": "Schmidt",
        "street": "Unter den Linden",
        "house_number": "5",
        "postal_code": "10117",
        "city": "Berlin",
        "country": "DE",
    },
    "ip": "203.0.113.7",
}

RISKY_BUYER = {
    **CLEAN_BUYER,
    "reference": "cart-2",
    "amount": "899.00",
    "buyer": {"email": "lukas.weber@mailinator.com", "first_name": "Lukas", "last_name": "Weber"},
    "billing_address": {
        **CLEAN_BUYER["billing_address"],
        "first_name": "Lukas",
        "last_name": "Weber",
        "postal_code": "80331",
        "city": "Hamburg",
    },
    "shipping_address": {
        "first_name": "Lukas",
        "last_name": "Weber",
        "street": "Packstation",
        "house_number": "123",
        "postal_code": "20095",
        "city": "Hamburg",
        "country": "DE",
    },
}


@pytest.fixture
def headers(merchant, auth_headers):
    return auth_headers(merchant, "risk:check settings:write")


class TestCreateRiskCheck:
    def test_clean_buyer_keeps_invoice(self, client, headers):
        response = client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers)
        body = response.get_json()
        assert response.status_code == 201
        assert body["decision"] == "accept"
        assert body["payment_methods"] == {"allowed": ["invoice", "paypal"], "hidden": []}
        assert body["score"] < 40

    def test_risky_buyer_is_declined_with_reasons_and_invoice_hidden(self, client, headers):
        body = client.post("/api/v1/risk-checks", json=RISKY_BUYER, headers=headers).get_json()
        codes = {reason["code"] for reason in body["reasons"]}
        assert body["decision"] == "decline"
        assert {
            "PACKSTATION_SHIPPING",
            "EMAIL_DISPOSABLE",
            "POSTAL_CODE_CITY_MISMATCH",
            "FIRST_ORDER_AMOUNT_LIMIT",
        } <= codes
        assert body["payment_methods"] == {"allowed": ["paypal"], "hidden": ["invoice"]}
        assert any(w["field"] == "/billing_address/postal_code" for w in body["warnings"])

    def test_messages_follow_accept_language(self, client, headers):
        german = client.post(
            "/api/v1/risk-checks", json=RISKY_BUYER, headers={**headers, "Accept-Language": "de-DE"}
        )
        english = client.post(
            "/api/v1/risk-checks", json=RISKY_BUYER, headers={**headers, "Accept-Language": "en"}
        )
        message = {r["code"]: r["message"] for r in german.get_json()["reasons"]}["PACKSTATION_SHIPPING"]
        assert "Lieferadresse" in message
        assert {r["code"]: r["message"] for r in english.get_json()["reasons"]}[
            "PACKSTATION_SHIPPING"
        ] != message

    def test_a_read_back_check_follows_accept_language_too(self, client, headers):
        created = client.post("/api/v1/risk-checks", json=RISKY_BUYER, headers=headers).get_json()
        url = f"/api/v1/risk-checks/{created['id']}"
        german = client.get(url, headers={**headers, "Accept-Language": "de-DE"}).get_json()
        english = client.get(url, headers={**headers, "Accept-Language": "en"}).get_json()
        default = client.get(url, headers=headers).get_json()
        message = {r["code"]: r["message"] for r in german["reasons"]}["PACKSTATION_SHIPPING"]
        assert "Lieferadresse" in message
        assert {r["code"]: r["message"] for r in english["reasons"]}["PACKSTATION_SHIPPING"] != message
        assert default["reasons"] == created["reasons"]

    def test_the_check_is_documented_with_its_request_and_created_response(self, client):
        operation = client.get("/openapi.json").get_json()["paths"]["/api/v1/risk-checks"]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/RiskCheckRequest"
        )
        created = operation["responses"]["201"]
        assert created["content"]["application/json"]["schema"]["$ref"].endswith("/RiskCheck")
        assert operation["security"] == [{"oauth2": ["risk:check"]}]

    def test_stored_check_can_be_read_back_with_reasons(self, client, headers):
        created = client.post("/api/v1/risk-checks", json=RISKY_BUYER, headers=headers).get_json()
        fetched = client.get(f"/api/v1/risk-checks/{created['id']}", headers=headers).get_json()
        assert fetched["decision"] == created["decision"]
        assert [r["code"] for r in fetched["reasons"]] == [r["code"] for r in created["reasons"]]
        assert fetched["warnings"][0]["message"] == created["warnings"][0]["message"]

    def test_the_stored_row_holds_the_answers_documents_and_the_body(self, client, headers, db):
        """The INSERT gets its documents as JSON text: the row reads back as the answer and the request were."""
        response = client.post("/api/v1/risk-checks", json=RISKY_BUYER, headers=headers)
        answer = response.get_json()
        row = db.session.get(RiskCheck, answer["id"])
        assert row.reasons == [
            {"code": r["code"], "weight": r["weight"], "params": r["params"]} for r in answer["reasons"]
        ]
        # The engine gives amounts as text (no Decimal parameter reaches the document).
        limit = next(r for r in row.reasons if r["code"] == "FIRST_ORDER_AMOUNT_LIMIT")
        assert limit["params"]["amount"] == "899.00"
        assert [{"code": w["code"], "field": w["field"]} for w in row.warnings] == [
            {"code": w["code"], "field": w["field"]} for w in answer["warnings"]
        ]
        assert row.offered_methods == RISKY_BUYER["payment_methods"]
        assert row.hidden_methods == answer["payment_methods"]["hidden"] == ["invoice"]
        assert row.raw_input == RISKY_BUYER
        assert db.session.scalar(sa.select(RiskCheck.bureau.is_(None)).where(RiskCheck.id == row.id))
        if db.engine.dialect.name == "postgresql":
            types = sa.select(
                sa.func.jsonb_typeof(RiskCheck.reasons), sa.func.jsonb_typeof(RiskCheck.raw_input)
            )
            assert db.session.execute(types.where(RiskCheck.id == row.id)).one() == ("array", "object")

    def test_stores_hashes_not_raw_identities_in_keys(self, client, headers, db):
        client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers)
        row = db.session.scalar(sa.select(RiskCheck))
        assert len(row.email_key) == 64
        assert "anna" not in row.email_key

    def test_other_merchants_check_is_404(self, client, headers, create_merchant, auth_headers):
        created = client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers).get_json()
        stranger = auth_headers(create_merchant("Fremd"), "risk:check")
        assert client.get(f"/api/v1/risk-checks/{created['id']}", headers=stranger).status_code == 404

    def test_needs_risk_scope(self, client, merchant, auth_headers):
        response = client.post(
            "/api/v1/risk-checks", json=CLEAN_BUYER, headers=auth_headers(merchant, "orders:write")
        )
        assert response.status_code == 403

    @pytest.mark.parametrize(
        ("patch", "pointer"),
        [
            ({"amount": "-1"}, "/amount"),
            ({"amount": "NaN"}, "/amount"),
            ({"amount": "0.001"}, "/amount"),
            ({"amount": "1e-999999999"}, "/amount"),
            ({"currency": "euro"}, "/currency"),
            ({"payment_methods": []}, "/payment_methods"),
            ({"billing_address": {"city": "Berlin"}}, "/billing_address/country"),
            ({"ip": "999.1.1.1"}, "/ip"),
            ({"items": [{"quantity": "many"}]}, "/items/0/quantity"),
        ],
    )
    def test_bad_fields_are_422_with_json_pointers(self, client, headers, db, patch, pointer):
        response = client.post("/api/v1/risk-checks", json={**CLEAN_BUYER, **patch}, headers=headers)
        assert response.status_code == 422
        assert pointer in response.get_json()["details"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskCheck)) == 0

    def test_item_without_unit_price_is_accepted(self, client, headers):
        body = {**CLEAN_BUYER, "items": [{"sku": "A-1", "quantity": 2, "unit_price": None}]}
        assert client.post("/api/v1/risk-checks", json=body, headers=headers).status_code == 201

    def test_malformed_json_is_400(self, client, headers):
        response = client.post(
            "/api/v1/risk-checks", data=b"{not json", content_type="application/json", headers=headers
        )
        assert response.status_code == 400
        assert response.get_json()["error"] == "bad_request"


def add_receivable(merchant, email: str, *, total: str, in_collection: bool = False, **order) -> Receivable:
    """Store an invoice order of ``merchant`` for the buyer with ``email`` (``shop_order`` fields)."""
    connection = make_connection(merchant)
    return make_receivable(
        connection, f"order-{connection.id}", email=email, total=total, in_collection=in_collection, **order
    )


class TestHistoryAndVelocity:
    def test_unpaid_history_at_this_merchant_raises_the_score(self, client, headers, merchant, db):
        first = client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers).get_json()
        add_receivable(merchant, "anna.schmidt@web.de", total="120.00", in_collection=True)
        second = client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers).get_json()
        codes = {reason["code"] for reason in second["reasons"]}
        assert second["score"] > first["score"]
        assert "FIRST_ORDER" not in codes
        assert any("HANDED_OVER" in code or "COLLECTION" in code for code in codes), codes

    def test_open_exposure_counts_what_is_still_owed(self, client, headers, merchant, db):
        add_receivable(merchant, "anna.schmidt@web.de", total="1600.00")
        add_receivable(
            merchant,
            "anna.schmidt@web.de",
            total="600.00",
            state=OrderState.PARTIALLY_PAID,
            paid_amount="400.00",
        )
        add_receivable(merchant, "anna.schmidt@web.de", total="900.00", state=OrderState.PAID)
        body = client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers).get_json()
        exposure = next(reason for reason in body["reasons"] if reason["code"] == "OPEN_EXPOSURE_LIMIT")
        # 1600.00 open + 200.00 left on the partly paid one + this cart's 249.90; the paid order adds nothing
        assert exposure["params"]["exposure"] == "2049.90"
        assert "FIRST_ORDER" not in {reason["code"] for reason in body["reasons"]}

    def test_another_merchants_orders_are_not_this_buyers_history(self, client, headers, create_merchant, db):
        other = create_merchant("Anderer Shop GmbH")
        add_receivable(other, "anna.schmidt@web.de", total="1900.00", in_collection=True)
        codes = {
            reason["code"]
            for reason in client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers).get_json()[
                "reasons"
            ]
        }
        assert "FIRST_ORDER" in codes
        assert not codes & {"HISTORY_HANDED_OVER", "OPEN_EXPOSURE_LIMIT"}

    def test_many_checkouts_from_one_email_trigger_velocity(self, client, headers):
        for n in range(5):
            client.post(
                "/api/v1/risk-checks", json={**CLEAN_BUYER, "reference": f"cart-{n}"}, headers=headers
            )
        body = client.post(
            "/api/v1/risk-checks", json={**CLEAN_BUYER, "reference": "cart-x"}, headers=headers
        ).get_json()
        assert any("VELOCITY" in reason["code"] for reason in body["reasons"]), body["reasons"]

    def test_repeated_checks_of_one_cart_count_once(self, client, headers):
        for _ in range(6):
            body = client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers).get_json()
        assert not any("VELOCITY" in reason["code"] for reason in body["reasons"])


class TestPolicy:
    def test_defaults_are_readable(self, client, headers):
        body = client.get("/api/v1/policy", headers=headers).get_json()
        assert body["invoice_methods"] == [
            "invoice",
            "payment_invoicepayment",
            "german_market_purchase_on_account",
            "claimbridge_invoice",
        ]
        assert body["bureau_account"]["configured"] is False

    def test_update_changes_decisions_and_is_audited(self, client, headers, db):
        response = client.put("/api/v1/policy", json={"review_at": 1, "decline_at": 2}, headers=headers)
        assert response.status_code == 200
        assert (
            client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers).get_json()["decision"]
            == "decline"
        )
        assert db.session.scalar(sa.select(AuditEvent).filter_by(action="policy.updated")) is not None

    def test_invalid_policy_is_422_naming_the_field_and_changes_nothing(self, client, headers):
        response = client.put("/api/v1/policy", json={"review_at": 90, "decline_at": 50}, headers=headers)
        assert response.status_code == 422
        assert "/review_at" in response.get_json()["details"]
        assert client.get("/api/v1/policy", headers=headers).get_json()["review_at"] == 40

    @pytest.mark.parametrize(
        ("document", "pointer"),
        [
            ({"max_order_amount": "1E+28"}, "/max_order_amount"),
            ({"max_first_order_amount": "1000000000000"}, "/max_first_order_amount"),
            ({"max_open_exposure": "1E+999999999"}, "/max_open_exposure"),
            ({"bureau_fail_max_amount": "1E+28"}, "/bureau_fail_max_amount"),
            ({"bureau": {"min_amount": "1E+28"}}, "/bureau/min_amount"),
        ],
    )
    def test_an_amount_too_large_for_a_money_column_is_422_and_stores_nothing(
        self, client, headers, db, document, pointer
    ):
        response = client.put("/api/v1/policy", json=document, headers=headers)
        assert response.status_code == 422
        assert response.get_json()["details"] == {pointer: ["must be between 0 and 999999999999.99"]}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskPolicyRecord)) == 0
        assert db.session.scalar(sa.select(AuditEvent).filter_by(action="policy.updated")) is None
        shown = client.get("/api/v1/policy", headers=headers)
        assert shown.status_code == 200 and shown.get_json()["max_order_amount"] == "1500.00"

    def test_the_largest_money_amount_is_stored_and_shown(self, client, headers):
        response = client.put(
            "/api/v1/policy", json={"max_open_exposure": "999999999999.99"}, headers=headers
        )
        assert response.status_code == 200
        assert (
            client.get("/api/v1/policy", headers=headers).get_json()["max_open_exposure"] == "999999999999.99"
        )

    def test_unknown_field_is_422(self, client, headers):
        response = client.put("/api/v1/policy", json={"colour": "red"}, headers=headers)
        assert response.status_code == 422

    def test_an_empty_document_is_422_and_keeps_the_policy(self, client, headers):
        assert client.put("/api/v1/policy", json={"review_at": 30}, headers=headers).status_code == 200
        response = client.put("/api/v1/policy", json={}, headers=headers)
        assert response.status_code == 422
        assert list(response.get_json()["details"]) == ["/"]
        assert client.get("/api/v1/policy", headers=headers).get_json()["review_at"] == 30

    def test_bureau_account_is_write_only(self, client, headers):
        account = {
            "merchant_id": "1",
            "portal_id": "2",
            "sub_account_id": "3",
            "portal_key": "s3cr3t",
            "mode": "test",
        }
        response = client.put("/api/v1/policy", json={"bureau_account": account}, headers=headers)
        assert response.get_json()["bureau_account"] == {
            "provider": "payone",
            "configured": True,
            "mode": "test",
        }
        assert b"s3cr3t" not in client.get("/api/v1/policy", headers=headers).data

    def test_needs_settings_scope_to_write(self, client, merchant, auth_headers):
        response = client.put("/api/v1/policy", json={}, headers=auth_headers(merchant, "risk:check"))
        assert response.status_code == 403


class TestCheckoutSettings:
    def test_a_checkout_client_reads_the_merchants_terms_methods_and_message(
        self, client, headers, merchant, db, auth_headers
    ):
        merchant.settings = {**merchant.settings, "payment_terms_days": 30}
        db.session.commit()
        client.put(
            "/api/v1/policy", json={"invoice_methods": ["bacs", "claimbridge_invoice"]}, headers=headers
        )
        response = client.get("/api/v1/checkout-settings", headers=auth_headers(merchant, "risk:check"))
        assert response.status_code == 200
        body = response.get_json()
        assert body["payment_terms_days"] == 30
        assert body["invoice_methods"] == ["bacs", "claimbridge_invoice"]
        assert body["invoice_unavailable_message"]["de"].startswith("Kauf auf Rechnung ist")
        assert body["invoice_unavailable_message"]["en"].startswith("Unfortunately, paying by invoice")

    def test_the_merchants_own_buyer_message_is_what_shops_show(
        self, client, headers, merchant, auth_headers
    ):
        response = client.put(
            "/api/v1/policy",
            json={"buyer_message": {"en": "  Please choose another way to pay.  "}},
            headers=headers,
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["buyer_message"] == {"de": "", "en": "Please choose another way to pay."}
        body = client.get(
            "/api/v1/checkout-settings", headers=auth_headers(merchant, "risk:check")
        ).get_json()
        assert body["invoice_unavailable_message"]["en"] == "Please choose another way to pay."
        assert body["invoice_unavailable_message"]["de"].startswith("Kauf auf Rechnung ist")

    @pytest.mark.parametrize(
        ("message", "pointer"),
        [
            ({"fr": "Non."}, "/buyer_message/fr"),
            ({"de": 1}, "/buyer_message/de"),
            ({"en": "x" * 301}, "/buyer_message/en"),
        ],
    )
    def test_a_bad_buyer_message_is_422_naming_it(self, client, headers, message, pointer):
        response = client.put("/api/v1/policy", json={"buyer_message": message}, headers=headers)
        assert response.status_code == 422
        assert pointer in response.get_json()["details"]

    def test_another_merchants_settings_stay_apart(self, client, headers, create_merchant, auth_headers):
        client.put("/api/v1/policy", json={"invoice_methods": ["bacs"]}, headers=headers)
        other = create_merchant("Other")
        body = client.get("/api/v1/checkout-settings", headers=auth_headers(other, "risk:check")).get_json()
        assert body["payment_terms_days"] == 14
        assert "bacs" not in body["invoice_methods"]

    def test_needs_a_checkout_or_settings_scope(self, client, merchant, auth_headers):
        response = client.get("/api/v1/checkout-settings", headers=auth_headers(merchant, "orders:write"))
        assert response.status_code == 403


class TestBuyerOverrides:
    def test_always_allow_wins_over_a_declining_score(self, client, headers):
        client.put(
            "/api/v1/buyer-overrides",
            json={
                "email": "Lukas.Weber@Mailinator.com",
                "mode": "always_allow",
                "note": "known customer",
                "by": "chef@shop.de",
            },
            headers=headers,
        )
        body = client.post("/api/v1/risk-checks", json=RISKY_BUYER, headers=headers).get_json()
        assert body["decision"] == "accept"
        assert body["rule"] == "override_always_allow"
        assert body["payment_methods"]["hidden"] == []

    def test_never_allow_hides_invoice_for_a_clean_buyer(self, client, headers):
        client.put(
            "/api/v1/buyer-overrides",
            json={"email": "anna.schmidt@web.de", "mode": "never_allow"},
            headers=headers,
        )
        body = client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers).get_json()
        assert body["decision"] == "decline"
        assert body["payment_methods"]["hidden"] == ["invoice"]

    def test_never_allow_wins_when_two_identities_disagree(self, client, headers):
        buyer = {**CLEAN_BUYER, "buyer": {**CLEAN_BUYER["buyer"], "phone": "+49 30 1234567"}}
        client.put(
            "/api/v1/buyer-overrides",
            json={"email": "anna.schmidt@web.de", "mode": "always_allow"},
            headers=headers,
        )
        client.put(
            "/api/v1/buyer-overrides", json={"phone": "030 1234567", "mode": "never_allow"}, headers=headers
        )
        body = client.post("/api/v1/risk-checks", json=buyer, headers=headers).get_json()
        assert (body["decision"], body["rule"]) == ("decline", "override_never_allow")

    def test_another_merchants_override_does_not_apply(self, client, headers, create_merchant, auth_headers):
        other = create_merchant("Anderer Shop GmbH")
        client.put(
            "/api/v1/buyer-overrides",
            json={"email": "anna.schmidt@web.de", "mode": "never_allow"},
            headers=auth_headers(other, "settings:write"),
        )
        body = client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers).get_json()
        assert (body["decision"], body["rule"]) == ("accept", "score_accept")

    def test_clearing_an_override_restores_scoring(self, client, headers):
        client.put(
            "/api/v1/buyer-overrides",
            json={"email": "anna.schmidt@web.de", "mode": "never_allow"},
            headers=headers,
        )
        client.put(
            "/api/v1/buyer-overrides", json={"email": "anna.schmidt@web.de", "mode": None}, headers=headers
        )
        assert (
            client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers).get_json()["decision"]
            == "accept"
        )

    def test_override_without_identity_is_422(self, client, headers):
        assert (
            client.put("/api/v1/buyer-overrides", json={"mode": "never_allow"}, headers=headers).status_code
            == 422
        )


class TestCreditBureau:
    @pytest.fixture
    def payone(self, app, monkeypatch) -> Iterator[FakeServer]:
        with FakeServer(FakePayone()) as server:
            monkeypatch.setitem(app.config, "CLAIMBRIDGE_PAYONE_URL", server.url + PAYONE_PATH)
            yield server

    @pytest.fixture(autouse=True)
    def bureau_enabled(self, client, headers, payone) -> None:
        account = FakePayone().policy_account()
        policy = {"bureau": {"enabled": True, "min_amount": "100.00"}, "bureau_account": account}
        assert client.put("/api/v1/policy", json=policy, headers=headers).status_code == 200

    def check(self, client, headers, last_name: str, chosen: str | None = "invoice") -> dict:
        buyer = {
            **CLEAN_BUYER,
            "selected_payment_method": chosen,
            "buyer": {**CLEAN_BUYER["buyer"], "last_name": last_name},
            "billing_address": {**CLEAN_BUYER["billing_address"], "last_name": last_name},
        }
        return client.post("/api/v1/risk-checks", json=buyer, headers=headers).get_json()

    @pytest.mark.parametrize("chosen", [None, "paypal"])
    def test_no_bureau_before_invoice_is_chosen(self, client, headers, payone, chosen):
        answer = self.check(client, headers, "Rot", chosen=chosen)
        assert answer["bureau"] is None
        assert payone.requests_to(PAYONE_PATH) == []

    def test_red_light_declines_and_the_answer_is_kept_for_the_same_person(self, client, headers, payone):
        first = self.check(client, headers, "Rot")
        again = self.check(client, headers, "Rot")
        assert first["decision"] == again["decision"] == "decline"
        assert "BUREAU_RED" in {reason["code"] for reason in again["reasons"]}
        assert len(payone.requests_to(PAYONE_PATH)) == 1

    def test_checks_reuse_the_accounts_client_and_its_connections(self, client, headers, payone):
        for last_name in ("Schmidt", "Gelb"):
            assert self.check(client, headers, last_name)["bureau"]["provider"] == "payone"
        assert len(payone.requests_to(PAYONE_PATH)) == 2
        (bureau,) = bureau_clients.values()  # one open client (one connection pool) for both checks
        policy = {"bureau": {"enabled": True, "min_amount": "100.00", "score_type": "IA"}}
        client.put("/api/v1/policy", json=policy, headers=headers)
        self.check(client, headers, "Meyer")
        assert len(bureau_clients) == 2  # changed settings build a new client
        assert bureau in bureau_clients.values()


class TestRetention:
    def test_raw_input_is_purged_after_retention_but_decision_stays(self, client, headers, db):
        client.post("/api/v1/risk-checks", json=CLEAN_BUYER, headers=headers)
        assert purge_raw_inputs() == 0
        assert purge_raw_inputs(now=utcnow() + timedelta(days=91)) == 1
        row = db.session.scalar(sa.select(RiskCheck))
        assert row.raw_input is None
        assert row.decision == "accept"
        assert row.email_key


def place_invoice_order(
    client, headers, body: dict, external_id: str, *, check_id=None, paid=False, days_ago=0
):
    """Push the invoice order a checkout became, as a shop does (open, or paid)."""
    ordered_at = utcnow() - timedelta(days=days_ago)
    order = {
        "number": external_id,
        "total": body["amount"],
        "currency": "EUR",
        "payment_method": "invoice",
        "ordered_at": ordered_at.isoformat(),
        "state": "paid" if paid else "open",
        **({"paid_amount": body["amount"]} if paid else {}),
        "buyer": {
            key: body["buyer"][key] for key in ("email", "first_name", "last_name") if key in body["buyer"]
        }
        | ({"phone": body["buyer"]["phone"]} if "phone" in body["buyer"] else {}),
        "billing_address": body["billing_address"],
        "shipping_address": body.get("shipping_address"),
        **({"risk_check_id": check_id} if check_id else {}),
    }
    response = client.put(f"/api/v1/orders/{external_id}", json=order, headers=headers)
    assert response.status_code in (200, 201), response.get_json()


def reason_codes(answer: dict) -> set[str]:
    return {reason["code"] for reason in answer["reasons"]}


class TestRepeatOrderFraud:
    """Defaults that stop a buyer ordering again and again on invoice without ever paying (issue 20)."""

    @pytest.fixture
    def shop_headers(self, merchant, auth_headers):
        return auth_headers(merchant, "risk:check orders:write settings:write")

    def checkout(self, client, headers, reference: str, **changes) -> dict:
        body = {**CLEAN_BUYER, "reference": reference, "amount": "299.00", **changes}
        response = client.post("/api/v1/risk-checks", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def test_fifth_unpaid_invoice_order_within_an_hour_loses_invoice(self, client, shop_headers):
        for n in range(4):
            answer = self.checkout(client, shop_headers, f"cart-{n}")
            if n < 2:  # the first two are ordinary: a new buyer may have two invoices open
                assert answer["payment_methods"]["hidden"] == [], answer["reasons"]
            place_invoice_order(client, shop_headers, {**CLEAN_BUYER, "amount": "299.00"}, f"o-{n}")
        fifth = self.checkout(client, shop_headers, "cart-5")
        assert fifth["decision"] == "decline"
        assert fifth["payment_methods"]["hidden"] == ["invoice"]
        reason = next(r for r in fifth["reasons"] if r["code"] == "OPEN_INVOICES_WITHOUT_PAYMENT")
        assert reason["params"] == {"count": 4, "limit": 2}
        assert reason["advice"].startswith("Pay the open invoices")

    def test_a_buyer_who_has_paid_keeps_invoice_with_invoices_open(self, client, shop_headers):
        place_invoice_order(
            client, shop_headers, {**CLEAN_BUYER, "amount": "80.00"}, "old", paid=True, days_ago=60
        )
        for n in range(2):
            place_invoice_order(
                client, shop_headers, {**CLEAN_BUYER, "amount": "120.00"}, f"open-{n}", days_ago=3
            )
        answer = self.checkout(client, shop_headers, "cart-new")
        assert "OPEN_INVOICES_WITHOUT_PAYMENT" not in reason_codes(answer)
        assert answer["payment_methods"]["hidden"] == []

    def test_the_limit_without_payment_is_a_policy_setting(self, client, shop_headers):
        response = client.put(
            "/api/v1/policy", json={"max_open_invoices_without_payment": 1}, headers=shop_headers
        )
        assert response.status_code == 200, response.get_json()
        place_invoice_order(client, shop_headers, {**CLEAN_BUYER, "amount": "99.00"}, "first")
        assert "OPEN_INVOICES_WITHOUT_PAYMENT" in reason_codes(self.checkout(client, shop_headers, "cart-2"))
        bad = client.put(
            "/api/v1/policy", json={"max_open_invoices_without_payment": 0}, headers=shop_headers
        )
        assert bad.status_code == 422
        assert "/max_open_invoices_without_payment" in str(bad.get_json())

    def test_invoice_orders_placed_from_one_device_add_up(self, client, shop_headers):
        # Fresh identities, one IP: each checkout became an invoice order.
        for n, (first, last, plz, city) in enumerate(
            [
                ("Jana", "Vogel", "04109", "Leipzig"),
                ("Tim", "Roth", "50667", "Köln"),
                ("Ute", "Sauer", "80331", "München"),
            ]
        ):
            body = {
                **CLEAN_BUYER,
                "reference": f"dev-{n}",
                "buyer": {
                    "email": f"{first.lower()}.{last.lower()}@gmx.de",
                    "first_name": first,
                    "last_name": last,
                },
                "billing_address": {
                    **CLEAN_BUYER["billing_address"],
                    "first_name": first,
                    "last_name": last,
                    "postal_code": plz,
                    "city": city,
                },
            }
            answer = client.post("/api/v1/risk-checks", json=body, headers=shop_headers).get_json()
            place_invoice_order(client, shop_headers, body, f"dev-{n}", check_id=answer["id"])
        fourth = self.checkout(client, shop_headers, "dev-4")
        velocity = next(r for r in fourth["reasons"] if r["code"] == "VELOCITY_INVOICE_ORDERS")
        assert velocity["params"]["identities"] == ["ip"] and velocity["params"]["count"] == 3
        assert fourth["decision"] != "accept"

    def test_open_invoices_of_a_linked_phone_count(self, client, shop_headers):
        first = {
            **CLEAN_BUYER,
            "reference": "p-1",
            "buyer": {**CLEAN_BUYER["buyer"], "phone": "0151 23456789"},
        }
        answer = client.post("/api/v1/risk-checks", json=first, headers=shop_headers).get_json()
        place_invoice_order(
            client, shop_headers, {**first, "amount": "1900.00"}, "p-1", check_id=answer["id"]
        )
        # Another e-mail and another billing address, the same phone number.
        other = {
            **first,
            "reference": "p-2",
            "buyer": {**first["buyer"], "email": "a.s.1990@gmail.com"},
            "billing_address": {
                **CLEAN_BUYER["billing_address"],
                "street": "Friedrichstraße",
                "house_number": "9",
            },
        }
        answer = client.post("/api/v1/risk-checks", json=other, headers=shop_headers).get_json()
        exposure = next(r for r in answer["reasons"] if r["code"] == "OPEN_EXPOSURE_LIMIT")
        assert exposure["params"]["exposure"] == "2149.90"

    def test_shipping_to_a_known_defaulters_address_counts_their_history(self, client, shop_headers):
        defaulter = {
            **CLEAN_BUYER,
            "buyer": {"email": "k.lang@web.de", "first_name": "Karl", "last_name": "Lang"},
            "billing_address": {**CLEAN_BUYER["billing_address"], "first_name": "Karl", "last_name": "Lang"},
        }
        # Ordered 75 days ago on 30 days' terms, never paid.
        place_invoice_order(client, shop_headers, {**defaulter, "amount": "349.00"}, "unpaid", days_ago=75)
        newcomer = {
            **CLEAN_BUYER,
            "reference": "ship-there",
            "buyer": {"email": "m.neu@gmx.de", "first_name": "Mia", "last_name": "Neu"},
            "billing_address": {
                **CLEAN_BUYER["billing_address"],
                "first_name": "Mia",
                "last_name": "Neu",
                "street": "Alexanderplatz",
                "house_number": "1",
                "postal_code": "10178",
            },
            "shipping_address": {**defaulter["billing_address"], "first_name": "Mia", "last_name": "Neu"},
        }
        answer = client.post("/api/v1/risk-checks", json=newcomer, headers=shop_headers).get_json()
        assert "HISTORY_UNPAID" in reason_codes(answer), answer["reasons"]

    def test_every_reason_says_what_the_buyer_can_do(self, client, headers):
        answer = client.post("/api/v1/risk-checks", json=RISKY_BUYER, headers=headers).get_json()
        assert answer["reasons"]
        assert all(reason["advice"] for reason in answer["reasons"]), answer["reasons"]
        stored = client.get(f"/api/v1/risk-checks/{answer['id']}", headers=headers).get_json()
        assert [r["advice"] for r in stored["reasons"]] == [r["advice"] for r in answer["reasons"]]
