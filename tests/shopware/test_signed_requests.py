"""Every request a Shopware shop signs, attacked every way it can be: the signature and replay matrix.

Requests: the registration (app secret over the query; a dual-signature shop also signs with its current secret),
its confirmation (the new secret; a dual-signature shop also the previous one), lifecycle events, webhooks, the
checkout gateway, the order action button and the admin module URL (a signed query). Attacks: no signature, a
signature made with another secret, content changed after signing, and a genuine request replayed once the
shop's timestamp window has passed (5 minutes; 15 for a module URL) (the gateway carries no timestamp; it changes nothing).

What must hold: each attack is answered 401 naming why, and leaves nothing behind (no merchant or shop change,
no event, risk check, gateway decision or audit entry); the same request unaltered is accepted. A view that
reads a shop's signature but is missing here fails ``test_the_matrix_covers_every_signed_view``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.extensions import db
from backend.merchants.models import Merchant, ShopConnection
from backend.risk.models import RiskCheck
from backend.shopware.models import ShopwareEvent, ShopwareGatewayDecision, ShopwareShop
from backend.shopware.signing import IFRAME_MAX_AGE, TIMESTAMP_TOLERANCE
from tests.fakes.shopware_shop import (
    APP_SIGNATURE_HEADER,
    PREVIOUS_SHOP_SIGNATURE_HEADER,
    SHOP_SIGNATURE_HEADER,
    ShopRequest,
    ShopSimulator,
    load_fixture,
    sign,
)
from tests.shopware.conftest import APP_SECRET

PAST_THE_WINDOW = timedelta(minutes=1)
WRONG_SECRET = "not-the-secret-0123456789abcdef0123456789"
ORDER_ID = "0190d1e3b4a5c6d7e8f9a0b1c2d3e4f5"
QUERY_SIGNATURE = "shopware-shop-signature"


@dataclass(frozen=True)
class Signed:
    """How one kind of signed request is built, where its signature sits, and what answers it when genuine."""

    build: Callable[[ShopSimulator, int | None], ShopRequest]  # (shop, timestamp or None for now)
    key: Callable[[ShopSimulator], str]  # the secret it is signed with
    accepted: int
    in_query: bool = False
    header: str = SHOP_SIGNATURE_HEADER
    replayable: bool = True  # carries a timestamp the window applies to
    window: timedelta = TIMESTAMP_TOLERANCE


def _confirmation(shop: ShopSimulator, timestamp: int | None) -> ShopRequest:
    answer = shop.send(shop.registration_request()).json()
    shop.pending_secret = answer["secret"]
    previous = shop.shop_secret if shop.dual_signature else None
    return shop.confirmation_request(
        answer["confirmation_url"], answer["secret"], previous_secret=previous, timestamp=timestamp
    )


def _order_event(shop: ShopSimulator, timestamp: int | None) -> ShopRequest:
    payload = {"order": {"id": ORDER_ID, "orderNumber": "10001"}}
    return shop.webhook_request("checkout.order.placed", payload, timestamp=timestamp)


REQUESTS: dict[str, Signed] = {
    "registration": Signed(
        lambda shop, ts: shop.registration_request(timestamp=ts),
        key=lambda shop: APP_SECRET,
        accepted=200,
        header=APP_SIGNATURE_HEADER,
    ),
    "confirmation": Signed(_confirmation, key=lambda shop: shop.pending_secret, accepted=204),
    "lifecycle": Signed(
        lambda shop, ts: shop.lifecycle_request("app.deactivated", timestamp=ts),
        key=lambda shop: shop.shop_secret,
        accepted=204,
    ),
    "webhook": Signed(_order_event, key=lambda shop: shop.shop_secret, accepted=204),
    "checkout gateway": Signed(
        lambda shop, ts: shop.gateway_request(load_fixture("gateway_guest_customer")),
        key=lambda shop: shop.shop_secret,
        accepted=200,
        replayable=False,
    ),
    "action button": Signed(
        lambda shop, ts: shop.action_request([ORDER_ID], timestamp=ts),
        key=lambda shop: shop.shop_secret,
        accepted=200,
    ),
    "admin module": Signed(
        lambda shop, ts: ShopRequest("GET", shop.iframe_path(timestamp=ts), {}),
        key=lambda shop: shop.shop_secret,
        accepted=303,
        in_query=True,
        window=IFRAME_MAX_AGE,  # signed when the module opens (6.6.6+), tolerating a shop clock off by minutes
    ),
}
SIGNED_VIEWS = {  # endpoint -> the row of the matrix that attacks it
    "shopware.register": "registration",
    "shopware.confirm_registration": "confirmation",
    "shopware.lifecycle": "lifecycle",
    "shopware.webhook": "webhook",
    "shopware.checkout_gateway": "checkout gateway",
    "shopware.handover_action": "action button",
    "shopware.admin_handovers": "admin module",
}


def _signed_part(request: ShopRequest, kind: Signed) -> bytes:
    """Return what the signature covers: the body, or the query (without the signature parameter)."""
    if kind.in_query:
        return urlsplit(request.path).query.rpartition(f"&{QUERY_SIGNATURE}=")[0].encode()
    if request.method == "GET":
        return urlsplit(request.path).query.encode()
    return request.body


def _set_signature(request: ShopRequest, kind: Signed, signature: str | None) -> None:
    if kind.in_query:
        path, _, _ = request.path.rpartition(f"&{QUERY_SIGNATURE}=")
        request.path = path if signature is None else f"{path}&{QUERY_SIGNATURE}={signature}"
    elif signature is None:
        del request.headers[kind.header]
    else:
        request.headers[kind.header] = signature


def _change_content(request: ShopRequest, kind: Signed) -> None:
    """Change what the shop signed and leave the signature as it was."""
    if kind.in_query:
        request.path = request.path.replace("sw-user-language=de-DE", "sw-user-language=en-GB")
    elif request.method == "GET":
        request.path = request.path.replace("shop-url=https://", "shop-url=https://evil.", 1)
    else:
        request.body = request.body.replace(b"{", b'{"injected":1,', 1)


ATTACKS: dict[str, Callable[[ShopRequest, Signed, ShopSimulator], None]] = {
    "no signature": lambda request, kind, shop: _set_signature(request, kind, None),
    "another secret": lambda request, kind, shop: _set_signature(
        request, kind, sign(WRONG_SECRET, _signed_part(request, kind))
    ),
    "changed after signing": lambda request, kind, shop: _change_content(request, kind),
}


def _state() -> dict[str, Any]:
    """What a request could leave behind."""
    db.session.expire_all()
    counts = {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Merchant, ShopConnection, ShopwareEvent, RiskCheck, ShopwareGatewayDecision, AuditEvent)
    }
    shops = db.session.execute(
        sa.select(
            ShopwareShop.secret_encrypted,
            ShopwareShop.pending_secret_encrypted,
            ShopwareShop.pending_shop_url,
            ShopwareShop.previous_secret_encrypted,
            ShopwareShop.app_state,
            ShopwareShop.app_version,
            ShopwareShop.shopware_version,
            ShopwareShop.dual_signature,
        ).order_by(ShopwareShop.id)
    ).all()
    return counts | {"shops": [tuple(row) for row in shops]}


@pytest.fixture(params=["6.6.10.0", "6.7.0.0"])
def shop(request: pytest.FixtureRequest, make_shop: Callable[..., ShopSimulator]) -> ShopSimulator:
    """A registered shop of a single-signature (6.6) and a dual-signature (6.7) version."""
    simulator = make_shop(sw_version=request.param)
    simulator.register()
    return simulator


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_the_genuine_request_is_accepted(shop: ShopSimulator, name: str) -> None:
    kind = REQUESTS[name]
    assert shop.send(kind.build(shop, None)).status == kind.accepted


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_an_attacked_request_is_refused_and_leaves_nothing(
    shop: ShopSimulator, name: str, attack: str
) -> None:
    kind = REQUESTS[name]
    request = kind.build(shop, None)
    before = _state()
    ATTACKS[attack](request, kind, shop)
    answer = shop.send(request)
    assert answer.status == 401, (answer.status, answer.body[:200])
    assert _state() == before


@pytest.mark.parametrize("name", sorted(name for name, kind in REQUESTS.items() if kind.replayable))
def test_a_request_replayed_after_the_window_is_refused_and_leaves_nothing(
    shop: ShopSimulator, name: str
) -> None:
    kind = REQUESTS[name]
    request = kind.build(shop, int((shop.clock() - kind.window - PAST_THE_WINDOW).timestamp()))
    before = _state()
    answer = shop.send(request)
    assert answer.status == 401
    if not kind.in_query:  # the module answers its iframe with a page, the others with JSON
        assert answer.json()["error"] == "stale_timestamp"
    assert _state() == before


class TestDualSignature:
    """A 6.7 shop signs its re-registration with the secret it holds, and its confirmation with both secrets."""

    @pytest.fixture
    def dual(self, make_shop: Callable[..., ShopSimulator]) -> ShopSimulator:
        simulator = make_shop(sw_version="6.7.0.0")
        simulator.register()
        simulator.register()  # the app has seen it sign with its current secret: from now on it must
        return simulator

    def test_re_registration_signed_with_a_wrong_current_secret_is_refused(self, dual: ShopSimulator) -> None:
        request = dual.registration_request()
        request.headers[SHOP_SIGNATURE_HEADER] = sign(
            WRONG_SECRET, _signed_part(request, REQUESTS["registration"])
        )
        before = _state()
        assert dual.send(request).status == 401
        assert _state() == before

    def test_re_registration_without_the_current_secret_is_refused(self, dual: ShopSimulator) -> None:
        request = dual.registration_request()
        del request.headers[SHOP_SIGNATURE_HEADER]
        before = _state()
        assert dual.send(request).status == 401
        assert _state() == before

    @pytest.mark.parametrize("previous", ["missing", "wrong"])
    def test_confirmation_needs_the_previous_secret_too(self, dual: ShopSimulator, previous: str) -> None:
        request = _confirmation(dual, None)
        if previous == "missing":
            del request.headers[PREVIOUS_SHOP_SIGNATURE_HEADER]
        else:
            request.headers[PREVIOUS_SHOP_SIGNATURE_HEADER] = sign(WRONG_SECRET, request.body)
        before = _state()
        assert dual.send(request).status == 401
        assert _state() == before
        # The shop keeps working with the secret it holds.
        assert dual.send(_order_event(dual, None)).status == 204


def test_the_matrix_covers_every_signed_view(app: Any) -> None:
    shopware_views = {endpoint for endpoint in app.view_functions if endpoint.startswith("shopware.")}
    unsigned = {"shopware.privacy"}  # a public page the manifest links to
    assert shopware_views - unsigned == set(SIGNED_VIEWS)
    assert set(SIGNED_VIEWS.values()) == set(REQUESTS)
