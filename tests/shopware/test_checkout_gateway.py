"""The checkout gateway endpoint, driven by the shop simulator through the real app and the real risk engine."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from backend.extensions import db
from backend.merchants.policy_store import update_policy
from backend.risk.messages import INVOICE_UNAVAILABLE, message_for
from backend.risk.models import RiskCheck
from backend.shopware import checkout, services, views
from backend.shopware.gateway import gateway_commands
from backend.shopware.models import ShopwareGatewayDecision
from backend.shopware.signing import sign_json_response
from tests.fakes.payone import PATH as PAYONE_PATH
from tests.fakes.payone import FakePayone
from tests.fakes.server import FakeServer
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.shopware_shop import (
    SHOP_SIGNATURE_HEADER,
    ShopSimulator,
    Transport,
    load_fixture,
    sign,
)
from tests.shopware.checkouts import (
    CUSTOMER_ID,
    INVOICE,
    checkout_payload,
    logged_out,
    remove_invoice,
    risky_payload,
)
from tests.shopware.conftest import stored_shop

AUSTRIA_ID = "4c3b2a1f0e9d48c7b6a5f4e3d2c1b0a9"
GERMAN_MESSAGE = message_for(INVOICE_UNAVAILABLE, "de")
ENGLISH_MESSAGE = message_for(INVOICE_UNAVAILABLE, "en")
# Longer than the shop waits: a bureau that never answers in time.
HANG_SECONDS = 6.0


def cart_message(message: str) -> dict:
    return {"command": "add-cart-error", "payload": {"message": message, "blocking": False, "level": 10}}


def risk_checks() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(RiskCheck))


def merchant_of(shop: ShopSimulator) -> int:
    return stored_shop(shop.shop_id).connection.merchant_id


def set_policy(shop: ShopSimulator, document: dict) -> None:
    update_policy(merchant_of(shop), document, actor="test")
    db.session.commit()


@pytest.fixture(autouse=True)
def _fresh_country_cache() -> Iterator[None]:
    checkout.country_cache.clear()
    yield
    checkout.country_cache.clear()


@pytest.fixture
def http_shop(make_shop: Callable[..., ShopSimulator], http: Transport) -> ShopSimulator:
    """A registered shop talking to the app over real HTTP with the shop's own limits (5 s to answer)."""
    simulator = make_shop(http)
    simulator.register()
    return simulator


class TestDecision:
    def test_risky_cart_loses_invoice_with_a_message_in_german(self, shop):
        assert shop.call_gateway(risky_payload()) == [remove_invoice(), cart_message(GERMAN_MESSAGE)]

    def test_clean_cart_keeps_invoice(self, shop):
        assert shop.call_gateway(checkout_payload()) == []

    def test_answer_is_a_top_level_array_signed_with_the_shop_secret(self, shop):
        answer = shop.send(shop.gateway_request(risky_payload()))
        assert answer.status == 200
        assert isinstance(json.loads(answer.body), list)
        assert answer.header("shopware-app-signature") == sign(shop.shop_secret, answer.body)

    def test_wrapped_command_list_would_be_discarded_by_the_shop(self, shop, monkeypatch):
        def wrapped(hidden, secret, **options):
            return sign_json_response({"commands": gateway_commands(hidden, **options)}, secret)

        monkeypatch.setattr(views, "gateway_response", wrapped)
        assert shop.call_gateway(risky_payload()) == []  # Shopware runs none of them: invoice stays

    def test_english_storefront_gets_the_message_in_english(self, shop):
        commands = shop.call_gateway(risky_payload(locale="en-GB"))
        assert commands == [remove_invoice(), cart_message(ENGLISH_MESSAGE)]

    def test_the_merchants_own_message_replaces_ours_in_its_language(self, shop):
        set_policy(shop, {"buyer_message": {"de": "Bitte wählen Sie heute eine andere Zahlungsart."}})
        assert shop.call_gateway(risky_payload())[-1] == cart_message(
            "Bitte wählen Sie heute eine andere Zahlungsart."
        )
        assert shop.call_gateway(risky_payload(locale="en-GB"))[-1] == cart_message(ENGLISH_MESSAGE)

    def test_6_6_message_follows_the_user_language_header(self, make_shop):
        shop = make_shop(sw_version="6.6.4.0", storefront_locale="en-GB")
        shop.register()
        assert shop.call_gateway(risky_payload())[-1] == cart_message(ENGLISH_MESSAGE)

    def test_accept_language_of_the_shops_http_client_is_ignored(self, shop):
        request = shop.gateway_request(risky_payload())
        request.headers["Accept-Language"] = "en-US,en;q=0.9"
        assert shop.send(request).json()[-1] == cart_message(GERMAN_MESSAGE)

    def test_the_chosen_shipping_address_is_checked(self, shop):
        chosen_packstation = risky_payload()
        assert remove_invoice() in shop.call_gateway(chosen_packstation)
        # The same buyer choosing their home address, while their default shipping address is a Packstation.
        home = risky_payload(shipping_street=None, email="jana.becker@example.de", amount="49.90")
        assert (
            home["salesChannelContext"]["customer"]["defaultShippingAddress"]["street"] == "Packstation 123"
        )
        assert shop.call_gateway(home) == []

    def test_only_the_policys_invoice_methods_are_removed(self, shop):
        set_policy(shop, {"invoice_methods": ["payment_prepayment"]})
        commands = shop.call_gateway(risky_payload())
        assert commands[0] == {
            "command": "remove-payment-method",
            "payload": {"paymentMethodTechnicalName": "payment_prepayment"},
        }
        assert INVOICE not in json.dumps(commands)

    def test_logged_out_cart_gets_an_empty_answer_without_a_check(self, shop):
        assert shop.call_gateway(logged_out(risky_payload())) == []
        assert risk_checks() == 0

    def test_cart_without_invoice_on_offer_needs_no_check(self, shop):
        payload = risky_payload()
        payload["paymentMethods"] = {"2c5b0d8f3e6a4b9c0d1e2f3a4b5c6d7e": "payment_paypal"}
        assert shop.call_gateway(payload) == []
        assert risk_checks() == 0


class TestOneCheckPerCheckout:
    def test_repeated_calls_of_one_checkout_cost_one_check(self, shop):
        answers = [shop.call_gateway(risky_payload()) for _ in range(3)]  # cart, confirm, placement
        assert answers[0] == answers[1] == answers[2] == [remove_invoice(), cart_message(GERMAN_MESSAGE)]
        assert risk_checks() == 1

    @pytest.mark.parametrize(
        "changed",
        [
            {"billing_city": "München"},
            {"shipping_street": "Invalidenstraße 1"},
            {"amount": "950.00"},
            {"email": "jana@example.org"},
        ],
    )
    def test_changed_address_amount_or_buyer_is_checked_again(self, shop, changed):
        shop.call_gateway(risky_payload())
        shop.call_gateway(risky_payload(**changed))
        assert risk_checks() == 2

    def test_changed_decision_is_answered_at_once(self, shop):
        assert shop.call_gateway(risky_payload()) != []
        assert shop.call_gateway(checkout_payload()) == []

    def test_other_cart_is_checked_on_its_own(self, shop):
        shop.call_gateway(risky_payload())
        shop.call_gateway(risky_payload(cart_token="Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"))
        assert risk_checks() == 2

    def test_decision_is_stored_with_its_check(self, shop):
        shop.call_gateway(risky_payload())
        decision = db.session.scalars(sa.select(ShopwareGatewayDecision)).one()
        check = db.session.get(RiskCheck, decision.risk_check_id)
        assert decision.hidden == [INVOICE] == check.hidden_methods
        assert decision.customer_id == CUSTOMER_ID
        assert decision.expires_at == check.expires_at
        assert check.reference == "Wq2Xh5fJ9sYtKp3LmN8vR1cB6dE4gH7a"

    def test_expired_decisions_are_pruned_after_a_week(self, shop):
        shop.call_gateway(risky_payload())
        expires_at = db.session.scalars(sa.select(ShopwareGatewayDecision)).one().expires_at
        assert services.prune_shopware_records(expires_at + timedelta(days=6)).endswith("0 gateway decisions")
        assert services.prune_shopware_records(expires_at + timedelta(days=8)).endswith("1 gateway decisions")
        assert risk_checks() == 1

    def test_expired_decision_is_checked_again(self, shop):
        shop.call_gateway(risky_payload())
        db.session.execute(sa.update(ShopwareGatewayDecision).values(expires_at=services.utcnow()))
        db.session.commit()
        assert shop.call_gateway(risky_payload()) == [remove_invoice(), cart_message(GERMAN_MESSAGE)]
        assert risk_checks() == 2
        db.session.expire_all()
        decision = db.session.scalars(sa.select(ShopwareGatewayDecision)).one()
        newest = db.session.scalars(sa.select(RiskCheck).order_by(RiskCheck.created_at.desc()).limit(1)).one()
        assert decision.risk_check_id == newest.id
        assert decision.expires_at == newest.expires_at > services.utcnow()


class TestAuthentication:
    def test_bad_signature_is_refused(self, shop):
        request = shop.gateway_request(risky_payload())
        request.headers[SHOP_SIGNATURE_HEADER] = sign("guessed", request.body)
        answer = shop.send(request)
        assert (answer.status, answer.json()["error"]) == (401, "invalid_signature")

    def test_missing_signature_is_refused(self, shop):
        request = shop.gateway_request(risky_payload())
        del request.headers[SHOP_SIGNATURE_HEADER]
        answer = shop.send(request)
        assert (answer.status, answer.json()["error"]) == (401, "missing_signature")

    def test_tampered_body_is_refused(self, shop):
        request = shop.gateway_request(risky_payload())
        request.body = request.body.replace(b"900", b"9")
        assert shop.send(request).status == 401
        assert risk_checks() == 0

    def test_unknown_shop_is_not_found(self, make_shop):
        stranger = make_shop()
        stranger.shop_secret = "s" * 64
        answer = stranger.send(stranger.gateway_request(risky_payload()))
        assert (answer.status, answer.json()["error"]) == (404, "unknown_shop")

    def test_shop_whose_registration_is_unconfirmed_is_not_found(self, make_shop):
        pending = make_shop()
        answer = pending.send(pending.registration_request())
        pending.shop_secret = answer.json()["secret"]  # issued, but the shop never confirmed it
        answer = pending.send(pending.gateway_request(risky_payload()))
        assert (answer.status, answer.json()["error"]) == (404, "unknown_shop")
        assert risk_checks() == 0

    def test_previous_secret_is_accepted_right_after_a_rotation(self, shop):
        old_secret = shop.shop_secret
        shop.register()
        current_secret, shop.shop_secret = shop.shop_secret, old_secret
        answer = shop.send(shop.gateway_request(risky_payload()))
        assert answer.status == 200
        assert (
            answer.body
            == sign_json_response([remove_invoice(), cart_message(GERMAN_MESSAGE)], current_secret).body
        )
        assert risk_checks() == 1

    def test_other_shops_secret_is_refused(self, shop, make_shop):
        other = make_shop()
        other.register()
        other.shop_id = shop.shop_id
        assert other.send(other.gateway_request(risky_payload())).status == 401


class TestFailMode:
    @pytest.fixture
    def payone(self, shopware_app: Flask, monkeypatch) -> Iterator[FakeServer]:
        with FakeServer(FakePayone()) as server:
            monkeypatch.setitem(shopware_app.config, "CLAIMBRIDGE_PAYONE_URL", server.url + PAYONE_PATH)
            yield server

    def bureau_policy(self, fail_mode: dict) -> dict:
        account = FakePayone().policy_account()
        return fail_mode | {"bureau": {"enabled": True, "min_amount": "100.00"}, "bureau_account": account}

    def test_hanging_bureau_under_hide_invoice_hides_invoice_in_time(self, http_shop, payone, shopware_app):
        assert shopware_app.config["CLAIMBRIDGE_BUREAU_TIMEOUT"] == 1.5
        set_policy(http_shop, self.bureau_policy({"fail_mode": "hide_invoice"}))
        payone.delay_next(1, seconds=HANG_SECONDS, path=PAYONE_PATH)
        # The simulator waits as long as the shop does (5 s) and raises on a timeout.
        commands = http_shop.call_gateway(checkout_payload(amount="300.00"))
        assert commands == [remove_invoice(), cart_message(GERMAN_MESSAGE)]
        assert len(payone.requests_to(PAYONE_PATH)) == 1
        check = db.session.scalars(sa.select(RiskCheck)).one()
        assert check.rule == "bureau_unavailable"

    def test_hanging_bureau_under_allow_up_to_keeps_invoice_in_time(self, http_shop, payone):
        policy = self.bureau_policy({"fail_mode": "allow_up_to", "bureau_fail_max_amount": "400.00"})
        set_policy(http_shop, policy)
        payone.delay_next(1, seconds=HANG_SECONDS, path=PAYONE_PATH)
        assert http_shop.call_gateway(checkout_payload(amount="300.00")) == []
        assert len(payone.requests_to(PAYONE_PATH)) == 1

    def test_answering_bureau_keeps_invoice_for_a_clean_buyer(self, shop, payone):
        set_policy(shop, self.bureau_policy({"fail_mode": "hide_invoice"}))
        assert shop.call_gateway(checkout_payload(amount="300.00")) == []
        assert len(payone.requests_to(PAYONE_PATH)) == 1

    def test_bureau_waits_until_the_buyer_chooses_invoice(self, shop, payone):
        set_policy(shop, self.bureau_policy({"fail_mode": "hide_invoice"}))
        assert shop.call_gateway(checkout_payload(amount="300.00", selected="payment_prepayment")) == []
        assert shop.call_gateway(checkout_payload(amount="300.00", selected="payment_paypal")) == []
        assert payone.requests_to(PAYONE_PATH) == []
        assert shop.call_gateway(checkout_payload(amount="300.00")) == []
        assert len(payone.requests_to(PAYONE_PATH)) == 1

    @pytest.mark.parametrize(
        ("policy", "amount", "expected"),
        [
            ({"fail_mode": "hide_invoice"}, "49.90", [remove_invoice(), cart_message(GERMAN_MESSAGE)]),
            ({"fail_mode": "allow_up_to", "bureau_fail_max_amount": "100.00"}, "49.90", []),
            (
                {"fail_mode": "allow_up_to", "bureau_fail_max_amount": "100.00"},
                "149.90",
                [remove_invoice(), cart_message(GERMAN_MESSAGE)],
            ),
        ],
    )
    def test_internal_error_answers_by_the_fail_mode(self, shop, monkeypatch, policy, amount, expected):
        set_policy(shop, policy)

        def broken(merchant_id, payload):
            raise RuntimeError("database went away")

        monkeypatch.setattr(checkout, "run_risk_check", broken)
        assert shop.call_gateway(checkout_payload(amount=amount)) == expected
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopwareGatewayDecision)) == 0

    @pytest.mark.parametrize("total", ["1e28", "1e300", "1000000000000.00"])
    def test_a_total_no_receivable_could_hold_answers_by_the_fail_mode(self, shop, total):
        # An error status would make the shop offer every method, invoice included.
        set_policy(shop, {"fail_mode": "allow_up_to", "bureau_fail_max_amount": "100.00"})
        assert shop.call_gateway(checkout_payload(amount=total)) == [
            remove_invoice(),
            cart_message(GERMAN_MESSAGE),
        ]
        assert risk_checks() == 0

    def test_fail_mode_answers_are_not_cached(self, shop, monkeypatch):
        set_policy(shop, {"fail_mode": "hide_invoice"})
        real_check = checkout.run_risk_check
        monkeypatch.setattr(checkout, "run_risk_check", lambda *args: (_ for _ in ()).throw(RuntimeError()))
        assert shop.call_gateway(checkout_payload()) != []
        monkeypatch.setattr(checkout, "run_risk_check", real_check)
        assert shop.call_gateway(checkout_payload()) == []
        assert risk_checks() == 1


class TestCountries:
    @pytest.fixture
    def admin(self) -> Iterator[tuple[FakeShopwareAdmin, FakeServer]]:
        fake = FakeShopwareAdmin()
        fake.countries[AUSTRIA_ID] = "AT"
        with fake.serve() as server:
            yield fake, server

    @pytest.fixture
    def admin_shop(self, make_shop, http, admin) -> ShopSimulator:
        """A shop whose Admin API is the fake, talking to the app over HTTP."""
        fake, server = admin
        simulator = make_shop(http, shop_url=server.url)
        simulator.api_key, simulator.secret_key = fake.client_id, fake.client_secret
        simulator.register()
        return simulator

    def austrian_checkout(self, amount: float = 1299.0) -> dict:
        payload = copy.deepcopy(load_fixture("gateway_country_id_only"))
        payload["cart"]["price"]["totalPrice"] = amount
        return payload

    def test_bare_country_id_is_resolved_once_per_shop(self, admin_shop, admin):
        fake, _ = admin
        admin_shop.call_gateway(self.austrian_checkout())
        admin_shop.call_gateway(self.austrian_checkout(amount=1199.0))
        assert fake.country_lookups == 1
        check = db.session.scalars(sa.select(RiskCheck).order_by(RiskCheck.created_at)).first()
        assert check.raw_input["billing_address"]["country"] == "AT"
        assert risk_checks() == 2

    def test_hanging_admin_api_answers_by_the_fail_mode_in_time(self, admin_shop, admin):
        _, server = admin
        set_policy(admin_shop, {"fail_mode": "hide_invoice"})
        server.delay_next(1, seconds=HANG_SECONDS, path="/api/oauth/token")
        assert admin_shop.call_gateway(self.austrian_checkout()) == [
            remove_invoice(),
            cart_message(GERMAN_MESSAGE),
        ]
        assert risk_checks() == 0
        # The unreachable Admin API is left alone for a while instead of costing every call its budget.
        calls = len(server.requests)
        admin_shop.call_gateway(self.austrian_checkout(amount=1199.0))
        assert len(server.requests) == calls

    def test_unreachable_admin_api_under_allow_up_to_keeps_invoice_for_small_carts(self, admin_shop, admin):
        _, server = admin
        server.fail_next(1, status=503, path="/api/oauth/token")
        assert admin_shop.call_gateway(self.austrian_checkout(amount=99.0)) == []


class TestOrderLink:
    @pytest.fixture
    def admin(self) -> Iterator[tuple[FakeShopwareAdmin, FakeServer]]:
        fake = FakeShopwareAdmin()
        with fake.serve() as server:
            yield fake, server

    @pytest.fixture
    def admin_shop(self, make_shop, admin) -> ShopSimulator:
        fake, server = admin
        simulator = make_shop(shop_url=server.url)
        simulator.api_key, simulator.secret_key = fake.client_id, fake.client_secret
        simulator.register()
        return simulator

    @pytest.fixture
    def synced(self, monkeypatch) -> list[str]:
        synced: list[str] = []
        monkeypatch.setattr(
            services, "request_order_sync", lambda connection_id, order_id, *, reason: synced.append(order_id)
        )
        return synced

    def place(
        self, shop: ShopSimulator, order_id: str, amount: float, customer_id: str = CUSTOMER_ID
    ) -> None:
        payload = {
            "order": {
                "id": order_id,
                "orderNumber": "10001",
                "amountTotal": amount,
                "orderCustomer": {"customerId": customer_id, "email": "jana.becker@example.de"},
            }
        }
        assert shop.send(shop.webhook_request("checkout.order.placed", payload)).status == 204

    def test_placed_order_gets_the_risk_check_id_before_it_is_synced(self, admin_shop, admin, synced):
        fake, _ = admin
        order_id = fake.add_order(total="249.90")
        admin_shop.call_gateway(checkout_payload(amount="49.90"))
        admin_shop.call_gateway(checkout_payload(amount="249.90"))
        self.place(admin_shop, order_id, 249.9)
        services.dispatch_order_events()
        db.session.commit()
        check_id = db.session.scalar(
            sa.select(ShopwareGatewayDecision.risk_check_id).where(ShopwareGatewayDecision.amount == 249.9)
        )
        assert fake.order(order_id)["customFields"]["claimbridge_risk_check_id"] == check_id
        assert synced == [order_id]

    def test_order_of_another_customer_is_not_linked(self, admin_shop, admin, synced):
        fake, _ = admin
        order_id = fake.add_order(total="49.90")
        admin_shop.call_gateway(checkout_payload())
        self.place(admin_shop, order_id, 49.9, customer_id="0" * 32)
        services.dispatch_order_events()
        assert "claimbridge_risk_check_id" not in (fake.order(order_id)["customFields"] or {})
        assert synced == [order_id]

    def test_failed_write_holds_the_sync_for_a_retry(self, admin_shop, admin, synced):
        fake, server = admin
        order_id = fake.add_order(total="49.90")
        admin_shop.call_gateway(checkout_payload())
        self.place(admin_shop, order_id, 49.9)
        server.fail_next(5, status=503, path=f"/api/order/{order_id}")
        services.dispatch_order_events()
        assert synced == []
        services.dispatch_order_events()
        assert synced == [order_id]
        assert fake.order(order_id)["customFields"]["claimbridge_risk_check_id"]


class TestBuyerLanguage:
    @pytest.mark.parametrize(
        ("context", "user_language", "expected"),
        [
            ({"languageInfo": {"localeCode": "de-DE"}}, "en-GB", "de"),
            ({"languageInfo": {"localeCode": "en-GB"}}, None, "en"),
            ({"languageInfo": {"localeCode": "fr-FR"}}, "de-DE", "en"),
            ({}, "en-GB", "en"),
            ({}, "de-AT", "de"),
            ({}, "fr-FR", "en"),
            ({}, None, "de"),
            ({"languageInfo": "garbage"}, None, "de"),
        ],
    )
    def test_picks_the_buyers_language(self, context, user_language, expected):
        assert checkout.buyer_language({"salesChannelContext": context}, user_language) == expected
