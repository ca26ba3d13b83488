"""A Shopware 6.6 or 6.7 shop played step by step, producing byte-exact requests as the shop builds them.

Shopware cannot run here, so this plays its side of the app protocol (../shared/protocols/shopware.md) as the
given version does (``ShopSimulator(..., sw_version="6.6.4.0")``), each rule naming the Shopware file it copies:
registration query strings built like Guzzle (``:`` and ``/`` left unencoded), bodies encoded like PHP
``json_encode`` (``\\/`` for slashes, ``\\uXXXX`` for non-ASCII), signatures with the app or shop secret;
re-registration without a second signature and with the new secret saved before confirming (6.6), or signed
with the current secret too (dual-signature shops, 6.7+); ``app.deleted`` with ``[]`` before 6.6.9.0; admin
module URLs signed once at login before 6.6.6.0; gateway calls with the storefront's ``sw-user-language``; and
checks of our signed answers the way the shop checks them, skipping a bad gateway command as Shopware does. It
talks through a transport callable, so the same simulator drives a WSGI test client or a real HTTP server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import string
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree as ET

import requests

Transport = Callable[[str, str, Mapping[str, str], bytes], tuple[int, Mapping[str, str], bytes]]
"""send(method, path_with_query, headers, body) -> (status, headers, body)."""

Clock = Callable[[], datetime]

FIXTURES = Path(__file__).resolve().parent.parent / "shopware" / "fixtures"

APP_SIGNATURE_HEADER = "shopware-app-signature"
SHOP_SIGNATURE_HEADER = "shopware-shop-signature"
PREVIOUS_SHOP_SIGNATURE_HEADER = "shopware-shop-signature-previous"

LIFECYCLE_EVENTS = ("app.installed", "app.updated", "app.activated", "app.deactivated", "app.deleted")
LIFECYCLE_EVENTS_WITHOUT_PAYLOAD = frozenset(
    {"app.installed", "app.updated", "app.activated", "app.deactivated"}
)
GATEWAY_COMMANDS = frozenset(
    {
        "add-cart-error",
        "add-payment-method",
        "add-payment-method-extension",
        "add-shipping-method",
        "add-shipping-method-extension",
        "remove-payment-method",
        "remove-shipping-method",
    }
)
# Constructor parameters of each command class: name -> (PHP type, has a default).
GATEWAY_COMMAND_PARAMETERS: dict[str, dict[str, tuple[type, bool]]] = {
    "add-cart-error": {"message": (str, False), "blocking": (bool, True), "level": (int, True)},
    "add-payment-method": {"paymentMethodTechnicalName": (str, False)},
    "remove-payment-method": {"paymentMethodTechnicalName": (str, False)},
    "add-shipping-method": {"shippingMethodTechnicalName": (str, False)},
    "remove-shipping-method": {"shippingMethodTechnicalName": (str, False)},
    "add-payment-method-extension": {
        "paymentMethodTechnicalName": (str, False),
        "extensionKey": (str, False),
        "extensionsPayload": (list | dict, False),
    },
    "add-shipping-method-extension": {
        "shippingMethodTechnicalName": (str, False),
        "extensionKey": (str, False),
        "extensionsPayload": (list | dict, False),
    },
}
ACTION_TYPES = frozenset({"notification", "reload", "openNewTab", "openModal"})

# Characters Guzzle leaves unencoded in a query: unreserved, sub-delims and ":@/?" (RFC 3986).
_GUZZLE_QUERY_SAFE = "-._~!$&'()*+,;=:@/?"


# What `bin/console app:install` / `app:validate` accept as webhooks and the privileges each needs, copied from
# src/Core/Framework/App/Validation/HookableValidator.php with its sources: entity written/deleted events of
# HookableEventCollector::HOOKABLE_ENTITIES, Hookable::HOOKABLE_EVENTS (app lifecycle, no privilege), and
# business events with the read privilege of every entity in their getAvailableData()
# (CheckoutOrderPlacedEvent and the state_enter events of OrderStateMachineStateChangeEvent: order;
# OrderPaymentMethodChangedEvent: order and order_transaction).
# The privilege the Administration demands before it answers contextUserInformation (context.init.ts: the
# app's permissions.read must include "user"); the browser, not the Admin API, needs it.
USER_INFORMATION_PRIVILEGE = "user:read"
ADMINISTRATION_PRIVILEGES = frozenset({USER_INFORMATION_PRIVILEGE})
HOOKABLE_ENTITIES = (
    "product",
    "product_price",
    "category",
    "sales_channel",
    "sales_channel_domain",
    "customer",
    "customer_address",
    "order",
    "order_address",
    "document",
    "media",
)
TRANSACTION_STATES = (
    "open",
    "in_progress",
    "paid",
    "paid_partially",
    "refunded",
    "refunded_partially",
    "cancelled",
    "reminded",
    "failed",
    "authorized",
    "chargeback",
    "unconfirmed",
)
ORDER_STATES = ("open", "in_progress", "completed", "cancelled")
HOOKABLE_EVENTS: dict[str, set[str]] = {
    **{
        f"{entity}.{kind}": {f"{entity}:read"}
        for entity in HOOKABLE_ENTITIES
        for kind in ("written", "deleted")
    },
    **{event: set() for event in LIFECYCLE_EVENTS},
    "checkout.order.placed": {"order:read"},
    "checkout.order.payment_method.changed": {"order:read", "order_transaction:read"},
    **{f"state_enter.order_transaction.state.{state}": {"order:read"} for state in TRANSACTION_STATES},
    **{f"state_enter.order.state.{state}": {"order:read"} for state in ORDER_STATES},
}


def _granted(root: ET.Element) -> set[str]:
    """Return the privileges a manifest's permissions grant (Permissions::asParsedPrivileges)."""
    granted = set()
    for permission in root.find("permissions"):
        if permission.tag == "permission":
            granted.add(permission.text)
            continue
        granted.add(f"{permission.text}:{permission.tag}")
        if permission.tag != "read":
            granted.add(f"{permission.text}:read")
    return granted


def app_install_errors(manifest: str) -> list[str]:
    """Return the NotHookableError and MissingPermissionError lines Shopware would raise for a manifest."""
    root = ET.fromstring(manifest.encode("utf-8"))  # noqa: S314 - our own manifest
    granted = _granted(root)
    errors = []
    for webhook in root.findall("webhooks/webhook"):
        event = webhook.get("event")
        if event not in HOOKABLE_EVENTS:
            errors.append(f"not hookable: {webhook.get('name')}: {event}")
            continue
        errors.extend(f"missing permission {p} for {event}" for p in sorted(HOOKABLE_EVENTS[event] - granted))
    return errors


class ShopRejectedResponse(AssertionError):
    """Our answer would be discarded by a real shop (which logs it and carries on without it)."""


@dataclass
class ShopRequest:
    """One request as the shop sends it; tests may alter it before sending to play an attacker."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class ShopResponse:
    """Our answer as the shop receives it."""

    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return a header value, looked up case-insensitively."""
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)

    def json(self) -> Any:
        """Return the body decoded as JSON."""
        return json.loads(self.body)


@dataclass
class Registration:
    """What the shop holds after a completed registration."""

    shop_secret: str = field(repr=False)
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    confirmation: ShopResponse


def sign(key: str | bytes, message: str | bytes) -> str:
    """Return lowercase hex HMAC-SHA256, as PHP's ``hash_hmac('sha256', …)``."""
    key_bytes = key.encode() if isinstance(key, str) else key
    message_bytes = message.encode() if isinstance(message, str) else message
    return hmac.new(key_bytes, message_bytes, hashlib.sha256).hexdigest()


def php_json_encode(value: Any) -> bytes:
    """Encode value like PHP ``json_encode`` with default flags (slashes and non-ASCII escaped)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    # "/" only ever occurs inside JSON strings, so escaping every one is exactly what PHP does.
    return text.replace("/", "\\/").encode("ascii")


def guzzle_query(params: Iterable[tuple[str, str]]) -> str:
    """Build a query like Guzzle's ``Uri::withQueryValues`` (``:`` and ``/`` stay unencoded)."""

    def encode(text: str) -> str:
        return quote(text.replace("=", "%3D").replace("&", "%26"), safe=_GUZZLE_QUERY_SAFE + "%")

    return "&".join(f"{encode(name)}={encode(value)}" for name, value in params)


def load_fixture(name: str) -> dict[str, Any]:
    """Return a checkout gateway payload from tests/shopware/fixtures (``gateway_guest_customer`` …)."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def wsgi_transport(client: Any) -> Transport:
    """Return a transport over a Werkzeug/Flask test client (anything with ``open(path, method=…)``)."""

    def send(
        method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        response = client.open(path, method=method, headers=dict(headers), data=body)
        return response.status_code, dict(response.headers), response.get_data()

    return send


def http_transport(
    base_url: str, *, session: requests.Session | None = None, timeout: tuple[float, float] = (1.0, 5.0)
) -> Transport:
    """Return a transport to a real HTTP server, with the shop's own limits (1 s connect, 5 s answer)."""
    http = session or requests.Session()
    base = base_url.rstrip("/")

    def send(
        method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        response = http.request(
            method,
            base + path,
            headers=dict(headers),
            data=body or None,
            timeout=timeout,
            allow_redirects=False,
        )
        return response.status_code, dict(response.headers), response.content

    return send


def _utc_now() -> datetime:
    return datetime.now(UTC)


def version_tuple(version: str) -> tuple[int, ...]:
    """Return "6.6.4.0" as (6, 6, 4, 0) for comparisons."""
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _random_shop_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


class ShopSimulator:
    """A shop that registers with the app and then sends it signed requests, one protocol step at a time."""

    def __init__(
        self,
        send: Transport,
        *,
        app_secret: str,
        app_name: str = "ClaimBridge",
        shop_url: str = "https://shop.example",
        shop_id: str | None = None,
        sw_version: str = "6.6.10.0",
        app_version: str = "1.0.0",
        registration_path: str = "/shopware/register",
        clock: Clock = _utc_now,
        dual_signature: bool | None = None,
        storefront_locale: str = "de-DE",
    ) -> None:
        """Play a shop of ``sw_version``; ``dual_signature`` defaults to what that version speaks (6.7+)."""
        self._send = send
        self.app_secret = app_secret
        self.app_name = app_name
        self.shop_url = shop_url
        self.shop_id = shop_id or _random_shop_id()
        self.sw_version = sw_version
        self.dual_signature = (
            version_tuple(sw_version) >= (6, 7) if dual_signature is None else dual_signature
        )
        self.storefront_locale = storefront_locale
        self.logged_in_at: int | None = None
        self.app_version = app_version
        self.registration_path = registration_path
        self.clock = clock
        self.context_language = uuid.uuid4().hex
        self.shop_secret: str | None = None
        self.previous_shop_secret: str | None = None
        self.api_key = "SWIA" + base64.b32encode(secrets.token_bytes(15)).decode().rstrip("=")
        self.secret_key = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode()

    def __repr__(self) -> str:
        return f"ShopSimulator(shop_id={self.shop_id!r}, shop_url={self.shop_url!r})"

    # Building requests -------------------------------------------------------------------------------------------

    def timestamp(self) -> int:
        """Return the shop's current Unix time."""
        return int(self.clock().timestamp())

    def registration_request(self, *, timestamp: int | None = None) -> ShopRequest:
        """Return the registration GET, signed with the app secret over the unencoded query."""
        query = guzzle_query(
            [
                ("shop-id", self.shop_id),
                ("shop-url", self.shop_url),
                ("timestamp", str(self.timestamp() if timestamp is None else timestamp)),
            ]
        )
        headers = {APP_SIGNATURE_HEADER: sign(self.app_secret, query), "sw-version": self.sw_version}
        if self.dual_signature and self.shop_secret is not None:
            # A dual-signature shop also signs with the secret it holds now (app-php-sdk RequestVerifier).
            headers[SHOP_SIGNATURE_HEADER] = sign(self.shop_secret, query)
        return ShopRequest("GET", f"{self.registration_path}?{query}", headers)

    def confirmation_request(
        self,
        confirmation_url: str,
        new_secret: str,
        *,
        previous_secret: str | None = None,
        timestamp: int | None = None,
    ) -> ShopRequest:
        """Return the confirmation POST, signed with the new secret (and previous_secret, if given).

        Copies confirmRegistration of src/Core/Framework/App/Lifecycle/Registration/AppRegistrationService.php.
        """
        body = php_json_encode(
            {
                "apiKey": self.api_key,
                "secretKey": self.secret_key,
                "timestamp": str(self.timestamp() if timestamp is None else timestamp),
                "shopUrl": self.shop_url,
                "shopId": self.shop_id,
            }
        )
        headers = self._json_headers() | {SHOP_SIGNATURE_HEADER: sign(new_secret, body)}
        if previous_secret is not None:
            headers[PREVIOUS_SHOP_SIGNATURE_HEADER] = sign(previous_secret, body)
        parts = urlsplit(confirmation_url)
        return ShopRequest("POST", parts.path + (f"?{parts.query}" if parts.query else ""), headers, body)

    def webhook_request(
        self,
        event: str,
        payload: Any,
        *,
        path: str = "/shopware/webhooks",
        event_id: str | None = None,
        timestamp: int | None = None,
    ) -> ShopRequest:
        """Return a signed webhook POST; event_id stays the same when the shop retries a delivery."""
        body = {
            "data": {"payload": payload, "event": event},
            "source": {
                "url": self.shop_url,
                "shopId": self.shop_id,
                "appVersion": self.app_version,
                "eventId": event_id or uuid.uuid4().hex,
            },
            "timestamp": self.timestamp() if timestamp is None else timestamp,
        }
        return self._signed_post(path, body)

    def lifecycle_request(
        self,
        event: str,
        *,
        keep_user_data: bool = False,
        path: str = "/shopware/lifecycle",
        timestamp: int | None = None,
    ) -> ShopRequest:
        """Return a signed app lifecycle event (``app.deleted`` carries ``keepUserData`` from 6.6.9.0 on).

        src/Core/Framework/App/Event/AppDeletedEvent.php returns ``[]`` as its webhook payload up to 6.6.8,
        whatever the merchant chose; 6.6.9.0 added ``keepUserData``. PHP encodes an empty array as ``[]``.
        """
        has_flag = event == "app.deleted" and version_tuple(self.sw_version) >= (6, 6, 9)
        payload: Any = {"keepUserData": keep_user_data} if has_flag else []
        return self.webhook_request(event, payload, path=path, timestamp=timestamp)

    def gateway_request(
        self, payload: Mapping[str, Any], *, path: str = "/shopware/checkout-gateway"
    ) -> ShopRequest:
        """Return the signed checkout gateway POST for a payload (a fixture), sourced from this shop.

        src/Core/Framework/App/Hmac/Guzzle/AuthMiddleware.php adds the context's language id and, for a
        storefront context, the locale of that language (src/Core/Framework/App/AppLocaleProvider.php).
        """
        body = dict(payload)
        body["source"] = {"url": self.shop_url, "shopId": self.shop_id, "appVersion": self.app_version}
        request = self._signed_post(path, body)
        request.headers |= {
            "sw-context-language": self.context_language,
            "sw-user-language": self.storefront_locale,
        }
        return request

    def action_request(
        self,
        ids: Iterable[str],
        *,
        action: str = "claimbridge-handover-detail",
        entity: str = "order",
        path: str = "/shopware/actions/handover",
        timestamp: int | None = None,
        user_language: str = "de-DE",
    ) -> ShopRequest:
        """Return the signed POST of an action button pressed for the given entity ids by an admin user.

        Like every app request made in an Administration user's context, it names the content language (an
        id) and the user's locale in headers.
        """
        body = {
            "source": {"url": self.shop_url, "shopId": self.shop_id, "appVersion": self.app_version},
            "data": {"ids": list(ids), "entity": entity, "action": action},
            "meta": {
                "timestamp": self.timestamp() if timestamp is None else timestamp,
                "reference": uuid.uuid4().hex,
                "language": self.context_language,
            },
        }
        request = self._signed_post(path, body)
        request.headers |= {"sw-context-language": self.context_language, "sw-user-language": user_language}
        return request

    def iframe_path(
        self,
        path: str = "/shopware/admin/handovers",
        *,
        user_language: str = "de-DE",
        timestamp: int | None = None,
    ) -> str:
        """Return the signed URL path the Administration loads into the module or modal iframe.

        src/Core/Framework/App/Hmac/QuerySigner.php signs with the time of signing; before 6.6.6.0 the
        Administration signs module URLs once, when it loads after login (src/Core/Framework/App/Manifest/
        ModuleLoader.php), so an explicit timestamp plays a module opened that long after ``log_in``.
        """
        if timestamp is None:
            timestamp = self.module_signed_at()
        query = guzzle_query(
            [
                ("shop-id", self.shop_id),
                ("shop-url", self.shop_url),
                ("timestamp", str(timestamp)),
                ("sw-version", self.sw_version),
                ("sw-context-language", self.context_language),
                ("sw-user-language", user_language),
            ]
        )
        # A query already in the module URL is signed too, in front of the shop's parameters.
        parts = urlsplit(path)
        signed_query = "&".join(filter(None, (parts.query, query)))
        signature = sign(self._current_secret(), signed_query)
        return f"{parts.path}?{signed_query}&shopware-shop-signature={signature}"

    def administration_page(
        self,
        app_url: str,
        path: str = "/shopware/admin/handovers",
        *,
        user: Mapping[str, str] | None = None,
        app_privileges: frozenset[str] = frozenset(),
        **options: Any,
    ) -> str:
        """Return an Administration page that opens the app's module: the signed URL in an iframe.

        As the Administration does (../shared/protocols/shopware.md, "Admin UI for approvals"): the module's
        source URL plus the signed query goes into an iframe, and the module counts as loaded once the iframe
        posts ``sw-app-loaded`` (the page notes that in ``<body data-app-loaded>``).

        It answers the Admin Extension SDK's messages (JSON strings ``{_type, _data, _callbackId}``, answered
        ``{_type, _callbackId, _response}`` to the sender's origin; @shopware-ag/meteor-admin-sdk channel.ts):
        ``__registerWindow__`` as the SDK's own handler does, and ``contextUserInformation`` as
        src/Administration/Resources/app/administration/src/app/init/context.init.ts does: the app is found by
        the message's origin, refused without the ``user:read`` privilege (a ``__HandleError__``), else told the
        signed-in ``user``.
        """
        source = app_url + self.iframe_path(path, **options)
        extension = {
            "baseUrl": app_url,
            "readsUsers": USER_INFORMATION_PRIVILEGE in app_privileges,
            "user": user or {},
        }
        config = json.dumps(extension).replace("<", "\\u003c")
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shopware Administration</title>'
            "</head><body><main><h1>ClaimBridge</h1>"
            f'<iframe id="module" title="ClaimBridge" src="{html.escape(source)}" width="1340" height="700">'
            f"</iframe></main><script>const extension = {config};"
            "function handle(type, event) {"
            "  if (type === '__registerWindow__') { return null; }"
            "  if (!extension.baseUrl.startsWith(event.origin)) {"
            "    return {__type__: '__HandleError__', __code__: 500,"
            '            __message__: `Could not find a extension with the given event origin "${event.origin}"`}; }'
            "  if (!extension.readsUsers) {"
            "    return {__type__: '__HandleError__', __code__: 500,"
            "            __message__: 'Extension \"ClaimBridge\" does not have the permission to read users'}; }"
            "  return extension.user; }"
            "window.addEventListener('message', (event) => {"
            "  if (event.data === 'sw-app-loaded') { document.body.dataset.appLoaded = 'yes'; return; }"
            "  if (typeof event.data !== 'string') { return; }"
            "  let message; try { message = JSON.parse(event.data); } catch (error) { return; }"
            "  if (!message._type || !message._callbackId || message._response !== undefined) { return; }"
            "  if (!['__registerWindow__', 'contextUserInformation'].includes(message._type)) { return; }"
            "  if (message._type === 'contextUserInformation') { document.body.dataset.userAsked = 'yes'; }"
            "  const answer = {_type: message._type, _callbackId: message._callbackId,"
            "                  _response: handle(message._type, event)};"
            "  event.source.postMessage(JSON.stringify(answer), event.origin); });</script>"
            "</body></html>"
        )

    def log_in(self) -> None:
        """Load the Administration: from here on, module URLs of a shop before 6.6.6.0 carry this time."""
        self.logged_in_at = self.timestamp()

    def module_signed_at(self) -> int:
        """Return the timestamp a module URL opened now carries: login time before 6.6.6.0, now after."""
        if version_tuple(self.sw_version) < (6, 6, 6) and self.logged_in_at is not None:
            return self.logged_in_at
        return self.timestamp()

    # Protocol steps ----------------------------------------------------------------------------------------------

    def send(self, request: ShopRequest) -> ShopResponse:
        """Send a request through the transport and return the answer."""
        status, headers, body = self._send(request.method, request.path, request.headers, request.body)
        return ShopResponse(status, dict(headers), body)

    def open_iframe(self, path: str = "/shopware/admin/handovers", **options: Any) -> ShopResponse:
        """Load an admin iframe page with the signed query the Administration appends."""
        return self.send(ShopRequest("GET", self.iframe_path(path, **options), {}))

    def register(self) -> Registration:
        """Run the handshake (GET, proof check, confirmation POST) as this version does.

        6.6 (registerApp in src/Core/Framework/App/Lifecycle/Registration/AppRegistrationService.php) saves the
        new secret before it confirms and signs the confirmation with it alone: a refused confirmation leaves
        the shop holding a secret the app does not know. A dual-signature shop also signs with its current
        secret and switches only once the app accepted.
        """
        answer = self.send(self.registration_request())
        if answer.status != 200:
            raise ShopRejectedResponse(f"registration answered HTTP {answer.status}")
        body = answer.json()
        if "error" in body:
            raise ShopRejectedResponse(f"app refused the registration: {body['error']}")
        for name in ("proof", "secret", "confirmation_url"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise ShopRejectedResponse(f"registration answer lacks {name!r}")
        if not hmac.compare_digest(body["proof"], self.expected_proof()):
            raise ShopRejectedResponse("registration proof does not match the app secret")
        previous = self.shop_secret if self.dual_signature else None
        if not self.dual_signature:
            self.previous_shop_secret, self.shop_secret = self.shop_secret, body["secret"]
        confirmation = self.send(
            self.confirmation_request(body["confirmation_url"], body["secret"], previous_secret=previous)
        )
        if not 200 <= confirmation.status < 300:
            raise ShopRejectedResponse(f"registration confirmation answered HTTP {confirmation.status}")
        if self.dual_signature:
            self.previous_shop_secret, self.shop_secret = self.shop_secret, body["secret"]
        return Registration(body["secret"], self.api_key, self.secret_key, confirmation)

    def expected_proof(self) -> str:
        """Return the proof the shop expects: HMAC(app secret, shopId + shopUrl + appName)."""
        return sign(self.app_secret, self.shop_id + self.shop_url + self.app_name)

    def call_gateway(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Send a checkout gateway request and return the commands the shop would apply."""
        answer = self.send(self.gateway_request(payload))
        if answer.status != 200:
            raise ShopRejectedResponse(f"checkout gateway answered HTTP {answer.status}")
        self.verify_app_signature(answer)
        return parse_gateway_commands(answer.body)

    def press_action_button(self, ids: Iterable[str], **options: Any) -> dict[str, Any] | None:
        """Send an action button request; return the verified action answer, or None for an empty 2xx."""
        answer = self.send(self.action_request(ids, **options))
        if not 200 <= answer.status < 300:
            raise ShopRejectedResponse(f"action button answered HTTP {answer.status}")
        if not answer.body:
            return None
        self.verify_app_signature(answer)
        return parse_action_answer(answer.body)

    def verify_app_signature(self, response: ShopResponse) -> None:
        """Check ``shopware-app-signature`` over the raw answer like the shop; raise if it would be discarded."""
        signature = response.header(APP_SIGNATURE_HEADER)
        if not signature:
            raise ShopRejectedResponse(f"answer carries no {APP_SIGNATURE_HEADER} header")
        if not hmac.compare_digest(sign(self._current_secret(), response.body), signature):
            raise ShopRejectedResponse("answer signature does not match the shop secret")

    # Helpers -----------------------------------------------------------------------------------------------------

    def _signed_post(self, path: str, body: Any) -> ShopRequest:
        raw = php_json_encode(body)
        return ShopRequest(
            "POST",
            path,
            self._json_headers() | {SHOP_SIGNATURE_HEADER: sign(self._current_secret(), raw)},
            raw,
        )

    def _json_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "sw-version": self.sw_version}

    def _current_secret(self) -> str:
        if self.shop_secret is None:
            raise RuntimeError("the shop is not registered yet; call register() or set shop_secret")
        return self.shop_secret


def parse_gateway_commands(raw_body: bytes) -> list[dict[str, Any]]:
    """Return the commands a shop would run from a gateway answer, skipping bad ones as Shopware does.

    Copies collectCommandsFromAppResponse of src/Core/Framework/App/Checkout/Gateway/AppCheckoutGateway.php:
    the decoded JSON is iterated as a list of commands; one without ``command`` and ``payload``, of an unknown
    kind, or whose payload the command class cannot be built from, is logged and skipped, the rest run. A
    ``{"commands": […]}`` object is iterated by its values, so none of its commands runs.
    """
    try:
        decoded = json.loads(raw_body)
    except ValueError as error:
        raise ShopRejectedResponse("checkout gateway answer is not JSON") from error
    if not isinstance(decoded, list | dict):
        raise ShopRejectedResponse("checkout gateway answer is not a JSON array")
    items = decoded if isinstance(decoded, list) else list(decoded.values())
    return [item for item in items if _runnable_command(item)]


def _runnable_command(item: Any) -> bool:
    """Tell whether Shopware builds a command from item.

    AbstractCheckoutGatewayCommand::createFromPayload calls ``new static(...$payload)``: payload keys are the
    constructor's named arguments, typed strictly (src/Core/Checkout/Gateway/Command/*Command.php).
    """
    if not isinstance(item, dict) or item.get("command") not in GATEWAY_COMMANDS:
        return False
    payload = item.get("payload")
    if not isinstance(payload, dict):
        return False
    parameters = GATEWAY_COMMAND_PARAMETERS[item["command"]]
    if set(payload) - set(parameters):
        return False
    return all(
        _php_type_matches(payload[name], kind) if name in payload else optional
        for name, (kind, optional) in parameters.items()
    )


def _php_type_matches(value: Any, kind: Any) -> bool:
    # Under strict_types PHP takes true for a bool only and never a bool or float for an int.
    if kind is bool or kind is int:
        return type(value) is kind
    return isinstance(value, kind)


def parse_action_answer(raw_body: bytes) -> dict[str, Any]:
    """Decode an action button answer as the shop does: ``{"actionType": …, "payload": {…}}``."""
    try:
        answer = json.loads(raw_body)
    except ValueError as error:
        raise ShopRejectedResponse("action button answer is not JSON") from error
    if not isinstance(answer, dict) or answer.get("actionType") not in ACTION_TYPES:
        raise ShopRejectedResponse("action button answer has no known actionType")
    if not isinstance(answer.get("payload"), dict):
        raise ShopRejectedResponse("action button answer has no payload object")
    if answer["actionType"] == "openModal" and not isinstance(answer["payload"].get("iframeUrl"), str):
        raise ShopRejectedResponse("openModal needs an iframeUrl")
    return answer
