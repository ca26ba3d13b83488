"""The shop simulator against the protocol vectors, and round trips through the app and the protocol core.

Registration, webhooks, lifecycle events and the admin module run against the real app. The checkout gateway and
the action button run against a sketch wired from the protocol core until their real endpoints exist.
"""

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from backend.shopware.gateway import INVOICE_PAYMENT_METHOD, gateway_commands, gateway_response, map_checkout
from backend.shopware.signing import (
    APP_SIGNATURE_HEADER,
    PREVIOUS_SHOP_SIGNATURE_HEADER,
    SHOP_SIGNATURE_HEADER,
    ShopSecrets,
    ShopwareAuthError,
    open_modal_action,
    sign_json_response,
    verify_action,
    verify_gateway,
    verify_iframe_query,
)
from tests.fakes.shopware_shop import (
    ShopRejectedResponse,
    ShopRequest,
    ShopSimulator,
    Transport,
    guzzle_query,
    http_transport,
    load_fixture,
    parse_gateway_commands,
    php_json_encode,
    sign,
    wsgi_transport,
)
from tests.shopware.conftest import APP_SECRET

SHOP_SECRET = "shop-secret-for-tests-" + "s" * 48
START = datetime(2024, 5, 13, 10, 0, tzinfo=UTC)
BLOCK_MESSAGE = "Kauf auf Rechnung ist für diese Bestellung leider nicht möglich."


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

    def test_confirmation_carries_previous_signature_on_re_registration(self):
        shop = ShopSimulator(no_transport, app_secret=APP_SECRET)
        assert (
            PREVIOUS_SHOP_SIGNATURE_HEADER
            not in shop.confirmation_request("https://a/confirm", "new").headers
        )
        shop.shop_secret = "old"
        confirmation = shop.confirmation_request("https://a/shopware/register/confirm?x=1", "new")
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

    def test_rejects_wrapped_gateway_commands(self):
        with pytest.raises(ShopRejectedResponse, match="top-level"):
            parse_gateway_commands(b'{"commands":[]}')

    def test_rejects_malformed_cart_error(self):
        with pytest.raises(ShopRejectedResponse, match="add-cart-error"):
            parse_gateway_commands(b'[{"command":"add-cart-error","payload":{"message":"x","level":"10"}}]')


def make_gateway_sketch(shop_secret: str) -> Flask:
    """Return a sketch of the checkout gateway and action button endpoints, wired from the protocol core.

    The backend's real endpoints for these come with the risk engine and handovers; until then this shows
    that what the simulator sends, the core verifies, and what the core answers, the shop accepts.
    """
    app = Flask(__name__)
    app.config["GATEWAY_WRAPPER_MISTAKE"] = False
    secrets = ShopSecrets(shop_secret)

    @app.errorhandler(ShopwareAuthError)
    def refuse(error):
        return {"error": str(error)}, 401

    @app.post("/shopware/checkout-gateway")
    def checkout_gateway():
        checkout = map_checkout(
            verify_gateway(request.get_data(), request.headers.get(SHOP_SIGNATURE_HEADER), secrets)
        )
        risky = checkout.risk_check.get("shipping_address", {}).get("street") == "Packstation"
        hidden = [INVOICE_PAYMENT_METHOD] if risky else []
        if app.config["GATEWAY_WRAPPER_MISTAKE"]:
            commands = gateway_commands(
                hidden, offered=checkout.offered_payment_methods, message=BLOCK_MESSAGE
            )
            answer = sign_json_response({"commands": commands}, secrets.current)
        else:
            answer = gateway_response(
                hidden, secrets.current, offered=checkout.offered_payment_methods, message=BLOCK_MESSAGE
            )
        return answer.body, 200, answer.headers

    @app.post("/shopware/actions/handover")
    def handover_action():
        action = verify_action(request.get_data(), request.headers.get(SHOP_SIGNATURE_HEADER), secrets)
        ids = ",".join(action["data"]["ids"])
        answer = open_modal_action(
            f"{request.host_url}shopware/admin/handovers?orders={ids}", secrets.current
        )
        return answer.body, 200, answer.headers

    return app


def serve(app: Flask) -> Iterator[str]:
    """Serve app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


# Against the real app: registration, webhooks, lifecycle and the admin module ------------------------------------


@pytest.fixture(params=["wsgi", "http"])
def transport(request, shopware_app) -> Iterator[Transport]:
    if request.param == "wsgi":
        yield wsgi_transport(shopware_app.test_client())
        return
    yield from (http_transport(url) for url in serve(shopware_app))


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
        assert page.status == 200
        assert b'lang="en"' in page.body
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


# Against the core: checkout gateway and action button ------------------------------------------------------------


@pytest.fixture
def sketch() -> Flask:
    return make_gateway_sketch(SHOP_SECRET)


@pytest.fixture(params=["wsgi", "http"])
def sketch_transport(request, sketch) -> Iterator[Transport]:
    if request.param == "wsgi":
        yield wsgi_transport(sketch.test_client())
        return
    yield from (http_transport(url) for url in serve(sketch))


@pytest.fixture
def shop(sketch_transport) -> ShopSimulator:
    simulator = ShopSimulator(sketch_transport, app_secret=APP_SECRET)
    simulator.shop_secret = SHOP_SECRET
    return simulator


class TestGatewayAndActionRoundTrip:
    def test_risky_cart_loses_invoice_and_clean_cart_keeps_it(self, shop):
        risky = shop.call_gateway(load_fixture("gateway_registered_customer"))
        assert risky == [
            {
                "command": "remove-payment-method",
                "payload": {"paymentMethodTechnicalName": INVOICE_PAYMENT_METHOD},
            },
            {
                "command": "add-cart-error",
                "payload": {"message": BLOCK_MESSAGE, "blocking": False, "level": 10},
            },
        ]
        assert shop.call_gateway(load_fixture("gateway_guest_customer")) == []

    def test_shop_discards_wrapped_command_answer(self, shop, sketch):
        sketch.config["GATEWAY_WRAPPER_MISTAKE"] = True
        with pytest.raises(ShopRejectedResponse, match="top-level"):
            shop.call_gateway(load_fixture("gateway_registered_customer"))

    def test_shop_discards_answer_signed_with_another_secret(self, shop):
        shop.shop_secret = "x" * 64
        answer = shop.send(shop.gateway_request(load_fixture("gateway_registered_customer")))
        assert answer.status == 401
        shop.shop_secret = SHOP_SECRET
        answer = shop.send(shop.gateway_request(load_fixture("gateway_registered_customer")))
        shop.shop_secret = "x" * 64
        with pytest.raises(ShopRejectedResponse, match="does not match"):
            shop.verify_app_signature(answer)

    def test_action_button_opens_signed_modal(self, shop):
        answer = shop.press_action_button(["o1", "o2"], action="claimbridge-handover-list")
        assert answer["actionType"] == "openModal"
        assert answer["payload"]["iframeUrl"].endswith("/shopware/admin/handovers?orders=o1,o2")
