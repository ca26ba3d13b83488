"""The shop simulator against the protocol vectors, and round trips through the real app over WSGI and HTTP."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from backend.risk.messages import INVOICE_UNAVAILABLE, message_for
from backend.shopware import views
from backend.shopware.gateway import gateway_commands
from backend.shopware.signing import (
    APP_SIGNATURE_HEADER,
    PREVIOUS_SHOP_SIGNATURE_HEADER,
    SHOP_SIGNATURE_HEADER,
    ShopSecrets,
    sign_json_response,
    verify_iframe_query,
)
from tests.fakes.shopware_shop import (
    ShopRejectedResponse,
    ShopRequest,
    ShopSimulator,
    Transport,
    guzzle_query,
    http_transport,
    parse_gateway_commands,
    php_json_encode,
    sign,
    wsgi_transport,
)
from tests.shopware.checkouts import checkout_payload, remove_invoice, risky_payload
from tests.shopware.conftest import APP_SECRET

START = datetime(2024, 5, 13, 10, 0, tzinfo=UTC)


def no_transport(method, path, headers, body):
    raise AssertionError("this test sends nothing")


class TestSimulatorSigning:
    def test_registration_request_matches_vector(self):
        shop = ShopSimulator(
            no_transport,
            app_secret="my-secret",
            shop_id="123",
            shop_url="https://my-shop.com",
            clock=lambda: datetime.fromtimestamp(1234567890, UTC),
        )
        registration = shop.registration_request()
        assert (
            registration.path
            == "/shopware/register?shop-id=123&shop-url=https://my-shop.com&timestamp=1234567890"
        )
        assert registration.headers[APP_SIGNATURE_HEADER] == (
            "96c91f86c822e11444b7a57b54ef125ed86b1a639c5360d45c5397daa8c3f70b"
        )

    def test_expected_proof_matches_vector(self):
        shop = ShopSimulator(
            no_transport, app_secret="test", app_name="test", shop_id="test", shop_url="test.de"
        )
        assert shop.expected_proof() == "a1a38c9580bb3bcd0df226086a9783ba4087671ce4968a4469e451c517fff445"

    def test_body_signature_matches_vector(self):
        assert sign("secret", b"body") == "dc46983557fea127b43af721467eb9b3fde2338fe3e14f51952aa8478c13d355"

    def test_signs_bodies_with_the_shop_secret(self):
        shop = ShopSimulator(no_transport, app_secret=APP_SECRET)
        shop.shop_secret = "secret"
        posted = shop.webhook_request("checkout.order.placed", {"id": "o1"})
        assert posted.headers[SHOP_SIGNATURE_HEADER] == sign("secret", posted.body)

    def test_refuses_to_sign_before_registration(self):
        with pytest.raises(RuntimeError, match="not registered"):
            ShopSimulator(no_transport, app_secret=APP_SECRET).webhook_request("app.installed", [])

    def test_php_json_encode_escapes_slashes_and_unicode(self):
        encoded = php_json_encode({"url": "https://shop.example/a", "city": "München", "empty": []})
        assert encoded == b'{"url":"https:\\/\\/shop.example\\/a","city":"M\\u00fcnchen","empty":[]}'

    def test_guzzle_query_leaves_colon_and_slash(self):
        query = guzzle_query([("shop-url", "https://shop.example/de shop"), ("x", "a&b=c")])
        assert query == "shop-url=https://shop.example/de%20shop&x=a%26b%3Dc"

    def test_only_dual_signature_shops_sign_re_registration_twice(self):
        shop = ShopSimulator(no_transport, app_secret=APP_SECRET, sw_version="6.6.8.0")
        shop.shop_secret = "old"
        assert SHOP_SIGNATURE_HEADER not in shop.registration_request().headers
        newer = ShopSimulator(no_transport, app_secret=APP_SECRET, sw_version="6.7.0.0")
        newer.shop_secret = "old"
        request = newer.registration_request()
        assert request.headers[SHOP_SIGNATURE_HEADER] == sign("old", request.path.split("?", 1)[1])

    def test_confirmation_carries_the_previous_signature_it_is_given(self):
        shop = ShopSimulator(no_transport, app_secret=APP_SECRET)
        assert (
            PREVIOUS_SHOP_SIGNATURE_HEADER
            not in shop.confirmation_request("https://a/confirm", "new").headers
        )
        confirmation = shop.confirmation_request(
            "https://a/shopware/register/confirm?x=1", "new", previous_secret="old"
        )
        assert confirmation.path == "/shopware/register/confirm?x=1"
        assert confirmation.headers[SHOP_SIGNATURE_HEADER] == sign("new", confirmation.body)
        assert confirmation.headers[PREVIOUS_SHOP_SIGNATURE_HEADER] == sign("old", confirmation.body)

    def test_iframe_path_is_accepted_by_the_core(self):
        shop = ShopSimulator(no_transport, app_secret=APP_SECRET, clock=lambda: START)
        shop.shop_secret = "secret"
        path = shop.iframe_path("/shopware/admin/handovers?view=proposals", user_language="en-GB")
        query = path.split("?", 1)[1]
        verified = verify_iframe_query(query, ShopSecrets("secret"), clock=lambda: START)
        assert (verified.shop_id, verified.user_language) == (shop.shop_id, "en-GB")

    def test_runs_nothing_from_wrapped_gateway_commands(self):
        remove = {"command": "remove-payment-method", "payload": {"paymentMethodTechnicalName": "x"}}
        assert parse_gateway_commands(json.dumps({"commands": [remove]}).encode()) == []

    def test_skips_a_bad_command_and_runs_the_rest(self):
        remove = {"command": "remove-payment-method", "payload": {"paymentMethodTechnicalName": "x"}}
        bad = [
            {"command": "add-cart-error", "payload": {"message": "x", "level": "10"}},
            {"command": "add-cart-error", "payload": {"message": "x", "colour": "red"}},
            {"command": "hide-everything", "payload": {}},
            {"command": "remove-payment-method"},
        ]
        assert parse_gateway_commands(json.dumps([*bad, remove]).encode()) == [remove]

    def test_cart_error_needs_only_a_message(self):
        error = {"command": "add-cart-error", "payload": {"message": "x"}}
        assert parse_gateway_commands(json.dumps([error]).encode()) == [error]

    def test_deleted_event_carries_keep_user_data_from_6_6_9(self):
        for version, payload in (("6.6.8.0", []), ("6.6.9.0", {"keepUserData": True})):
            shop = ShopSimulator(no_transport, app_secret=APP_SECRET, sw_version=version)
            shop.shop_secret = "secret"
            body = json.loads(shop.lifecycle_request("app.deleted", keep_user_data=True).body)
            assert body["data"]["payload"] == payload

    def test_module_urls_are_signed_at_login_before_6_6_6(self):
        now = [START]
        for version, signed_late in (("6.6.5.0", False), ("6.6.6.0", True)):
            shop = ShopSimulator(
                no_transport, app_secret=APP_SECRET, sw_version=version, clock=lambda: now[0]
            )
            shop.shop_secret = "secret"
            shop.log_in()
            now[0] = START + timedelta(hours=2)
            timestamp = int(parse_qs(shop.iframe_path().split("?", 1)[1])["timestamp"][0])
            assert timestamp == int((now[0] if signed_late else START).timestamp())
            now[0] = START


# Against the real app: registration, webhooks, lifecycle and the admin module ------------------------------------


@pytest.fixture(params=["wsgi", "http"])
def transport(request, shopware_app) -> Transport:
    if request.param == "wsgi":
        return wsgi_transport(shopware_app.test_client())
    return http_transport(request.getfixturevalue("live_server_url"))


@pytest.fixture
def registered(transport) -> ShopSimulator:
    simulator = ShopSimulator(transport, app_secret=APP_SECRET)
    simulator.register()
    return simulator


class TestRoundTripWithTheApp:
    def test_registers_and_receives_a_shop_secret(self, registered):
        assert len(registered.shop_secret) >= 64

    def test_registration_with_wrong_app_secret_is_refused(self, transport):
        impostor = ShopSimulator(transport, app_secret="guessed")
        with pytest.raises(ShopRejectedResponse, match="HTTP 401"):
            impostor.register()

    def test_webhook_is_verified_and_tampering_refused(self, registered):
        posted = registered.webhook_request(
            "checkout.order.placed",
            {"order": {"id": uuid.uuid4().hex, "orderNumber": "10001"}},
            event_id="e1",
        )
        assert registered.send(posted).status == 204
        posted.body = posted.body.replace(b"10001", b"10002")
        assert registered.send(posted).status == 401

    def test_webhook_without_signature_is_refused(self, registered):
        posted = registered.lifecycle_request("app.activated")
        del posted.headers[SHOP_SIGNATURE_HEADER]
        assert registered.send(posted).status == 401

    def test_replayed_webhook_outside_window_is_refused(self, registered):
        registered.clock = lambda: datetime.now(UTC) - timedelta(seconds=301)
        answer = registered.send(registered.lifecycle_request("app.deleted", keep_user_data=True))
        assert answer.status == 401
        assert answer.json()["error"] == "stale_timestamp"

    def test_admin_iframe_is_served_for_signed_query_only(self, registered):
        page = registered.open_iframe("/shopware/admin/handovers", user_language="en-GB")
        assert page.status == 303
        assert page.header("Location").startswith(
            "http://127.0.0.1:5000/console/?session_token="
        ) or page.header("Location").startswith("/console/?session_token=")
        forged = registered.iframe_path(user_language="de-DE").replace("de-DE", "en-GB")
        assert registered.send(ShopRequest("GET", forged, {})).status == 401

    def test_re_registration_rotates_secret(self, registered):
        old_secret = registered.shop_secret
        stale = registered.webhook_request("app.updated", [])
        registered.register()
        assert registered.shop_secret != old_secret
        assert registered.send(stale).status == 204  # previous secret within 60 s

    def test_moved_shop_re_registers_with_new_url(self, registered):
        registered.shop_url = "https://new-domain.example"
        registered.register()
        assert registered.send(registered.lifecycle_request("app.activated")).status == 204


class TestGatewayAndActionRoundTrip:
    def test_risky_cart_loses_invoice_and_clean_cart_keeps_it(self, registered):
        assert registered.call_gateway(risky_payload()) == [
            remove_invoice(),
            {
                "command": "add-cart-error",
                "payload": {
                    "message": message_for(INVOICE_UNAVAILABLE, "de"),
                    "blocking": False,
                    "level": 10,
                },
            },
        ]
        assert registered.call_gateway(checkout_payload()) == []

    def test_shop_discards_wrapped_command_answer(self, registered, monkeypatch):
        monkeypatch.setattr(
            views,
            "gateway_response",
            lambda hidden, secret, **options: sign_json_response(
                {"commands": gateway_commands(hidden, **options)}, secret
            ),
        )
        assert registered.call_gateway(risky_payload()) == []

    def test_shop_discards_answer_signed_with_another_secret(self, registered):
        answer = registered.send(registered.gateway_request(risky_payload()))
        assert answer.status == 200
        registered.shop_secret = "x" * 64
        with pytest.raises(ShopRejectedResponse, match="does not match"):
            registered.verify_app_signature(answer)
        assert registered.send(registered.gateway_request(risky_payload())).status == 401

    def test_action_button_answers_a_signed_notification_when_nothing_is_eligible(self, registered):
        answer = registered.press_action_button([uuid.uuid4().hex], action="claimbridge-handover-list")
        assert answer["actionType"] == "notification"
