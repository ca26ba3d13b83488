import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.shopware.gateway import (
    INVOICE_PAYMENT_METHOD,
    decision_cache_key,
    gateway_commands,
    gateway_response,
    map_checkout,
    split_street,
)
from backend.shopware.signing import ShopSecrets, sign, signature_matches, verify_gateway

FIXTURES = Path(__file__).parent / "fixtures"
AUSTRIA_ID = "4c3b2a1f0e9d48c7b6a5f4e3d2c1b0a9"
SHOP_SECRET = "shop-secret-0123456789-0123456789-0123456789-0123456789-0123456789"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def registered():
    return fixture("gateway_registered_customer")


@pytest.fixture
def country_id_only():
    return fixture("gateway_country_id_only")


@pytest.fixture
def guest():
    return fixture("gateway_guest_customer")


class TestSplitStreet:
    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            ("Hauptstraße 5a", ("Hauptstraße", "5a")),
            ("Hauptstraße 5 a", ("Hauptstraße", "5 a")),
            ("Hauptstraße", ("Hauptstraße", None)),
            ("Straße des 17. Juni 135", ("Straße des 17. Juni", "135")),
            ("Hauptstr.12-14", ("Hauptstr.", "12-14")),
            ("Am Markt 1 / 2", ("Am Markt", "1 / 2")),
            ("Mariahilfer Straße 12/3", ("Mariahilfer Straße", "12/3")),
            ("Packstation 123", ("Packstation", "123")),
            ("Hauptstraße, 5", ("Hauptstraße", "5")),
            ("  Lindenallee   7  ", ("Lindenallee", "7")),
            ("10 rue de la Paix", ("rue de la Paix", "10")),
            ("Weg 3, 2. OG", ("Weg 3, 2. OG", None)),
            ("1st Avenue", ("1st Avenue", None)),
        ],
    )
    def test_splits_house_number(self, line, expected):
        assert split_street(line) == expected


class TestMapCheckout:
    def test_maps_registered_customer(self, registered):
        checkout = map_checkout(registered)
        assert checkout.risk_check == {
            "reference": "Wq2Xh5fJ9sYtKp3LmN8vR1cB6dE4gH7a",
            "amount": "249.90",
            "currency": "EUR",
            "payment_methods": ["payment_invoicepayment", "payment_paypal", "payment_prepayment"],
            "selected_payment_method": "payment_invoicepayment",
            "buyer": {
                "email": "jana.becker@example.de",
                "phone": "+49 30 1234567",
                "first_name": "Jana",
                "last_name": "Becker",
                "date_of_birth": "1988-03-21",
                "customer_id": "f1e2d3c4b5a697887766554433221100",
                "is_guest": False,
                "registered_at": "2022-11-02T09:14:55.123000+00:00",
            },
            "billing_address": {
                "first_name": "Jana",
                "last_name": "Becker",
                "street": "Hauptstraße",
                "house_number": "5a",
                "postal_code": "10115",
                "city": "Berlin",
                "country": "DE",
            },
            "shipping_address": {
                "first_name": "Jana",
                "last_name": "Becker",
                "street": "Packstation",
                "house_number": "123",
                "postal_code": "10115",
                "city": "Berlin",
                "country": "DE",
            },
        }
        assert checkout.is_checkable
        assert (checkout.shop_id, checkout.cart_token) == (
            "hRCw2xo1EDZnLco4",
            "Wq2Xh5fJ9sYtKp3LmN8vR1cB6dE4gH7a",
        )
        assert checkout.customer_id == "f1e2d3c4b5a697887766554433221100"

    def test_maps_guest_with_shipping_from_cart_delivery(self, guest):
        checkout = map_checkout(guest)
        buyer = checkout.risk_check["buyer"]
        assert buyer["is_guest"] is True
        assert "registered_at" not in buyer
        assert "phone" not in buyer  # the guest left the phone field empty
        assert checkout.risk_check["billing_address"]["street"] == "Goethestraße"
        assert "house_number" not in checkout.risk_check["billing_address"]
        assert checkout.risk_check["shipping_address"]["street"] == "Straße des 17. Juni"
        assert checkout.risk_check["shipping_address"]["house_number"] == "135"
        assert checkout.risk_check["amount"] == "89.90"

    def test_reports_country_ids_it_cannot_resolve(self, country_id_only):
        checkout = map_checkout(country_id_only)
        assert checkout.unresolved_country_ids == {AUSTRIA_ID}
        assert "country" not in checkout.risk_check["billing_address"]
        assert checkout.risk_check["shipping_address"]["country"] == "DE"  # from shippingLocation.country
        assert checkout.missing == ("billing_address.country",)
        assert not checkout.is_checkable

    def test_resolves_country_ids_through_the_callback(self, country_id_only):
        asked = []

        def resolve(country_id):
            asked.append(country_id)
            return {AUSTRIA_ID: "at"}.get(country_id)

        checkout = map_checkout(country_id_only, resolve_country=resolve)
        assert checkout.risk_check["billing_address"]["country"] == "AT"
        assert checkout.risk_check["billing_address"]["house_number"] == "12/3"
        assert checkout.risk_check["buyer"]["company"] == "Huber Innenausbau GmbH"
        assert asked == [AUSTRIA_ID]
        assert checkout.is_checkable
        assert checkout.risk_check["amount"] == "1299.00"

    def test_unknown_country_stays_unresolved(self, country_id_only):
        checkout = map_checkout(country_id_only, resolve_country=lambda country_id: None)
        assert checkout.unresolved_country_ids == {AUSTRIA_ID}

    def test_chosen_shipping_address_wins_over_the_default(self, registered):
        context = registered["salesChannelContext"]
        context["shippingLocation"]["address"] = dict(context["customer"]["defaultBillingAddress"])
        checkout = map_checkout(registered)
        assert checkout.risk_check["shipping_address"]["street"] == "Hauptstraße"
        context["shippingLocation"]["address"] = None
        registered["cart"]["deliveries"] = []
        assert map_checkout(registered).risk_check["shipping_address"]["street"] == "Packstation"

    def test_billing_comes_from_the_default_address(self, registered):
        customer = registered["salesChannelContext"]["customer"]
        customer["defaultBillingAddress"]["city"] = "Hamburg"
        assert map_checkout(registered).risk_check["billing_address"]["city"] == "Hamburg"

    def test_shipping_location_wins_over_cart_delivery(self, guest):
        guest["salesChannelContext"]["shippingLocation"]["address"] = dict(
            guest["cart"]["deliveries"][0]["location"]["address"], city="Potsdam"
        )
        assert map_checkout(guest).risk_check["shipping_address"]["city"] == "Potsdam"

    def test_anonymous_cart_is_not_checkable(self, registered):
        registered["salesChannelContext"]["customer"] = None
        checkout = map_checkout(registered)
        assert "buyer" in checkout.missing
        assert "billing_address" in checkout.missing
        assert checkout.customer_id is None
        assert not checkout.is_checkable

    def test_verified_decimal_payload_maps_like_float_payload(self, registered):
        raw = json.dumps(registered).encode()
        verified = verify_gateway(
            raw, sign(SHOP_SECRET, raw), ShopSecrets(SHOP_SECRET), clock=lambda: datetime.now(UTC)
        )
        assert map_checkout(verified).risk_check == map_checkout(registered).risk_check

    def test_garbage_fields_do_not_crash(self):
        checkout = map_checkout({"cart": [], "salesChannelContext": {"customer": "x"}, "paymentMethods": 5})
        assert checkout.risk_check == {"payment_methods": []}
        assert set(checkout.missing) == {"amount", "currency", "buyer", "billing_address"}

    def test_negative_amount_is_missing(self, registered):
        registered["cart"]["price"]["totalPrice"] = -1
        assert "amount" in map_checkout(registered).missing


class TestDecisionCacheKey:
    def test_same_checkout_same_key(self, registered):
        assert decision_cache_key(map_checkout(registered)) == decision_cache_key(
            map_checkout(copy.deepcopy(registered))
        )

    @pytest.mark.parametrize(
        "change",
        [
            lambda p: p["salesChannelContext"]["shippingLocation"]["address"].update(street="Hauptstraße 5a"),
            lambda p: p["salesChannelContext"]["customer"]["defaultBillingAddress"].update(zipcode="10117"),
            lambda p: p["cart"]["price"].update(totalPrice=999.0),
            lambda p: p["cart"].update(token="another-cart"),
            lambda p: p["salesChannelContext"]["customer"].update(email="other@example.de"),
            lambda p: p["paymentMethods"].pop("2c5b0d8f3e6a4b9c0d1e2f3a4b5c6d7e"),
        ],
    )
    def test_relevant_change_changes_key(self, registered, change):
        before = decision_cache_key(map_checkout(registered))
        change(registered)
        assert decision_cache_key(map_checkout(registered)) != before

    def test_irrelevant_change_keeps_key(self, registered):
        before = decision_cache_key(map_checkout(registered))
        registered["cart"]["lineItems"][0]["label"] = "Another label"
        assert decision_cache_key(map_checkout(registered)) == before

    def test_key_holds_no_personal_data(self, registered):
        key = decision_cache_key(map_checkout(registered))
        assert "jana" not in key.lower()
        assert key.startswith("shopware-gateway:hRCw2xo1EDZnLco4:Wq2Xh5fJ9sYtKp3LmN8vR1cB6dE4gH7a:f1e2d3c4")


class TestGatewayResponse:
    MESSAGE = "Kauf auf Rechnung ist für diese Bestellung leider nicht möglich."

    def test_hides_methods_and_adds_non_blocking_message(self):
        commands = gateway_commands(
            [INVOICE_PAYMENT_METHOD], offered=[INVOICE_PAYMENT_METHOD, "payment_paypal"], message=self.MESSAGE
        )
        assert commands == [
            {
                "command": "remove-payment-method",
                "payload": {"paymentMethodTechnicalName": INVOICE_PAYMENT_METHOD},
            },
            {
                "command": "add-cart-error",
                "payload": {"message": self.MESSAGE, "blocking": False, "level": 10},
            },
        ]

    def test_only_removes_methods_on_offer(self):
        commands = gateway_commands(
            ["invoice", INVOICE_PAYMENT_METHOD, INVOICE_PAYMENT_METHOD],
            offered=["payment_paypal", INVOICE_PAYMENT_METHOD],
        )
        assert commands == [
            {
                "command": "remove-payment-method",
                "payload": {"paymentMethodTechnicalName": INVOICE_PAYMENT_METHOD},
            }
        ]

    def test_clean_cart_gets_empty_array_without_message(self):
        response = gateway_response([], SHOP_SECRET, offered=[INVOICE_PAYMENT_METHOD], message=self.MESSAGE)
        assert response.body == b"[]"

    def test_answer_is_signed_top_level_array(self):
        response = gateway_response([INVOICE_PAYMENT_METHOD], SHOP_SECRET, message=self.MESSAGE)
        decoded = json.loads(response.body)
        assert isinstance(decoded, list)
        assert b'"commands"' not in response.body
        assert signature_matches(SHOP_SECRET, response.body, response.headers["shopware-app-signature"])
        assert self.MESSAGE.encode() in response.body  # sent as UTF-8, not escaped

    def test_rejects_blank_message(self):
        with pytest.raises(ValueError, match="blank"):
            gateway_commands([INVOICE_PAYMENT_METHOD], message="  ")
