"""Sign and verify the HMAC-SHA256 signatures of the Shopware app protocol.

Every function works on the raw bytes or the raw query string as they arrived, never on a re-serialisation:
the shop signs PHP ``json_encode`` output and Guzzle-built query strings, which Python would not reproduce.
Secrets are passed in; nothing here reads a database or logs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from backend.untrusted import UNSAFE, loads, may_hold_unsafe_text, strip_unsafe_text

APP_SIGNATURE_HEADER = "shopware-app-signature"
SHOP_SIGNATURE_HEADER = "shopware-shop-signature"
PREVIOUS_SHOP_SIGNATURE_HEADER = "shopware-shop-signature-previous"
IFRAME_SIGNATURE_PARAMETER = "shopware-shop-signature"

TIMESTAMP_TOLERANCE = timedelta(minutes=5)
SECRET_ROTATION_GRACE = timedelta(seconds=60)
# Admin iframes: a module URL is signed when the module opens from Shopware 6.6.6.0 on; before, once when the
# Administration loads after login, and reused until it is reloaded. Shop clocks may be off by some minutes.
IFRAME_CLOCK_SKEW = timedelta(minutes=10)
IFRAME_MAX_AGE = TIMESTAMP_TOLERANCE + IFRAME_CLOCK_SKEW
LOGIN_SIGNED_IFRAME_MAX_AGE = timedelta(hours=12)
MODULES_SIGNED_ON_OPEN_FROM = (6, 6, 6)

ACTION_TYPES = frozenset({"notification", "reload", "openNewTab", "openModal"})
MODAL_SIZES = frozenset({"small", "medium", "large", "fullscreen"})
NOTIFICATION_STATUSES = frozenset({"success", "error", "info", "warning"})

Clock = Callable[[], datetime]

_UNIX_SECONDS = re.compile(r"\d{1,12}")
# A shop id as Shopware makes one (16 letters and digits: src/Core/Framework/App/ShopId/ShopIdProvider.php), with
# room to spare within its column; a shop URL within its column (backend/merchants/models.py).
_SHOP_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
SHOP_URL_MAX_LENGTH = 500
_VERSION_NUMBER = re.compile(r"[0-9]{1,9}")


class ShopwareAuthError(Exception):
    """A request from a shop could not be authenticated."""


class MalformedRequestError(ShopwareAuthError):
    """A request lacks a field the protocol requires, or a field has the wrong form."""


class SignatureError(ShopwareAuthError):
    """A signature does not match any accepted secret."""


class MissingSignatureError(SignatureError):
    """A request carries no signature where the protocol requires one."""


class StaleTimestampError(ShopwareAuthError):
    """A signed timestamp lies outside the accepted window (replay or badly skewed clock)."""


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def sign(key: str | bytes, message: str | bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of message under key."""
    return hmac.new(_as_bytes(key), _as_bytes(message), hashlib.sha256).hexdigest()


def signature_matches(key: str | bytes, message: str | bytes, signature: str | None) -> bool:
    """Tell in constant time whether signature is the HMAC of message under key."""
    if not signature:
        return False
    given = signature.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(sign(key, message).encode("ascii"), given)


def verify_signature(key: str | bytes, message: str | bytes, signature: str | None, *, what: str) -> None:
    """Raise unless signature is the HMAC of message under key; what names the request in the error."""
    _verify_with_any((key,), message, signature, what=what)


@dataclass(frozen=True)
class ShopSecrets:
    """The secrets a shop may sign with: the current one and, shortly after a rotation, the previous one."""

    current: str = field(repr=False)
    previous: str | None = field(default=None, repr=False)
    rotated_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.current:
            raise ValueError("the current shop secret must not be empty")
        if self.rotated_at is not None and self.rotated_at.tzinfo is None:
            raise ValueError("rotated_at must be timezone-aware")

    def accepted(self, now: datetime, *, grace: timedelta = SECRET_ROTATION_GRACE) -> tuple[str, ...]:
        """Return the secrets valid at now: the previous one only within grace after rotated_at."""
        if self.previous and self.rotated_at is not None and timedelta(0) <= now - self.rotated_at <= grace:
            return (self.current, self.previous)
        return (self.current,)


def check_timestamp(
    value: object,
    *,
    clock: Clock = utc_now,
    tolerance: timedelta = TIMESTAMP_TOLERANCE,
    what: str = "request",
) -> datetime:
    """Return the Unix-seconds timestamp value as UTC datetime; raise if it is malformed or outside tolerance."""
    return check_window(value, clock=clock, max_age=tolerance, max_ahead=tolerance, what=what)


def check_window(
    value: object, *, clock: Clock, max_age: timedelta, max_ahead: timedelta, what: str
) -> datetime:
    """Return the timestamp as UTC datetime; raise unless it lies between max_age ago and max_ahead from now."""
    seconds = _unix_seconds(value, what=what)
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise MalformedRequestError(f"{what} timestamp is out of range") from error
    skew = clock() - moment
    if skew > max_age or -skew > max_ahead:
        direction = "old" if skew > timedelta(0) else "in the future"
        raise StaleTimestampError(
            f"{what} timestamp is {abs(int(skew.total_seconds()))} s {direction}; accepted window is "
            f"{int(max_age.total_seconds())} s old to {int(max_ahead.total_seconds())} s ahead"
        )
    return moment


# Registration -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationRequest:
    """A verified registration request of a shop."""

    shop_id: str
    shop_url: str
    timestamp: datetime


@dataclass(frozen=True)
class Confirmation:
    """A verified registration confirmation: the shop's Admin API credentials."""

    shop_id: str
    shop_url: str
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    timestamp: datetime


def verify_registration(
    raw_query: str | bytes,
    signature: str | None,
    app_secret: str,
    *,
    clock: Clock = utc_now,
    tolerance: timedelta = TIMESTAMP_TOLERANCE,
) -> RegistrationRequest:
    """Verify a registration GET by its raw query string (falling back to the canonical rebuild)."""
    query = _as_text(raw_query)
    params = _query_params(query, what="registration request")
    shop_id = _required(params, "shop-id", what="registration request")
    shop_url = _required(params, "shop-url", what="registration request")
    timestamp = _required(params, "timestamp", what="registration request")
    if not signature:
        raise MissingSignatureError(f"registration request carries no {APP_SIGNATURE_HEADER} header")
    if not _registration_query_signed(query, params, app_secret, signature):
        raise SignatureError(f"registration request of shop {shop_id!r}: signature does not match")
    moment = check_timestamp(timestamp, clock=clock, tolerance=tolerance, what="registration request")
    _check_shop_id(shop_id, what="registration request")
    if not _is_shop_url(shop_url):
        raise MalformedRequestError(
            f"registration request of shop {shop_id!r}: shop-url is not an http(s) URL of at most "
            f"{SHOP_URL_MAX_LENGTH} characters"
        )
    return RegistrationRequest(shop_id=shop_id, shop_url=shop_url, timestamp=moment)


def _check_shop_id(shop_id: str, *, what: str) -> None:
    if not _SHOP_ID.fullmatch(shop_id):
        raise MalformedRequestError(f"{what}: shop-id is not a shop id (up to 100 letters, digits, - and _)")


def _is_shop_url(url: str) -> bool:
    if len(url) > SHOP_URL_MAX_LENGTH or not url.startswith(("https://", "http://")) or UNSAFE.search(url):
        return False
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # an unclosed IPv6 bracket
        return False


def verify_registration_shop_signature(
    raw_query: str | bytes, signature: str | None, shop_secret: str
) -> None:
    """Verify a dual-signature shop's ``shopware-shop-signature`` on a registration GET (its current secret).

    The shop signs the same query as with the app secret (app-php-sdk RequestVerifier::
    authenticateRegistrationRequestWithShopSignature).
    """
    query = _as_text(raw_query)
    params = _query_params(query, what="registration request")
    if not signature:
        raise MissingSignatureError(
            f"registration request of shop {params.get('shop-id')!r} carries no {SHOP_SIGNATURE_HEADER} header, "
            "which this shop has sent before"
        )
    if not _registration_query_signed(query, params, shop_secret, signature):
        raise SignatureError(
            f"registration request of shop {params.get('shop-id')!r}: shop signature does not match"
        )


def _registration_query_signed(query: str, params: Mapping[str, str], key: str, signature: str) -> bool:
    # Proxies and frameworks sometimes re-encode the query; the shop signed the unencoded form.
    rebuilt = f"shop-id={params.get('shop-id')}&shop-url={params.get('shop-url')}&timestamp={params.get('timestamp')}"
    return signature_matches(key, query, signature) or signature_matches(key, rebuilt, signature)


def registration_proof(app_secret: str, shop_id: str, shop_url: str, app_name: str) -> str:
    """Return the proof that the app knows the app secret: HMAC(app_secret, shopId + shopUrl + appName)."""
    return sign(app_secret, shop_id + shop_url + app_name)


def new_shop_secret() -> str:
    """Return a fresh random shop secret of 64 URL-safe characters."""
    return secrets.token_urlsafe(48)


def registration_response(
    registration: RegistrationRequest,
    *,
    app_secret: str,
    app_name: str,
    shop_secret: str,
    confirmation_url: str,
) -> dict[str, str]:
    """Return the JSON object answering a verified registration request."""
    return {
        "proof": registration_proof(app_secret, registration.shop_id, registration.shop_url, app_name),
        "secret": shop_secret,
        "confirmation_url": confirmation_url,
    }


def verify_confirmation(
    raw_body: bytes,
    signature: str | None,
    pending_secret: str,
    *,
    previous_signature: str | None = None,
    previous_secret: str | None = None,
    clock: Clock = utc_now,
    tolerance: timedelta = TIMESTAMP_TOLERANCE,
) -> Confirmation:
    """Verify a registration confirmation POST signed with the pending secret.

    Pass previous_secret only when the re-registering shop must also sign with its current secret
    (``shopware-shop-signature-previous``): a dual-signature shop does, a Shopware 6.6 shop never can.
    """
    verify_signature(pending_secret, raw_body, signature, what="registration confirmation")
    if previous_secret is not None:
        verify_signature(
            previous_secret, raw_body, previous_signature, what="registration confirmation (previous secret)"
        )
    body = _json_object(raw_body, what="registration confirmation")
    values = {
        name: _required(body, name, what="registration confirmation")
        for name in ("apiKey", "secretKey", "shopUrl", "shopId")
    }
    moment = check_timestamp(
        body.get("timestamp"), clock=clock, tolerance=tolerance, what="registration confirmation"
    )
    return Confirmation(
        shop_id=values["shopId"],
        shop_url=values["shopUrl"],
        api_key=values["apiKey"],
        secret_key=values["secretKey"],
        timestamp=moment,
    )


# Signed POSTs: webhooks, lifecycle events, action buttons, checkout gateway -------------------------------------


def claimed_shop(raw_body: bytes) -> tuple[str, dict[str, Any]]:
    """Return the shop id a POST body claims (``source.shopId`` or ``shopId``) and the body parsed on the way.

    The id picks the secret to verify with. Nothing else of the body may be used before the signature over the
    raw bytes is verified: hand it to ``verify_webhook``, ``verify_action`` or ``verify_gateway``, which return it
    once it is, so a shop's large checkout is parsed once, not twice.
    """
    body = _json_object(raw_body, what="shop request")
    source = body.get("source")
    claimed = source.get("shopId") if isinstance(source, dict) else body.get("shopId")
    if not isinstance(claimed, str) or not claimed:
        raise MalformedRequestError("shop request names no shop id")
    return claimed, body


def unverified_shop_id(raw_body: bytes) -> str:
    """Return the shop id a POST body claims (``source.shopId`` or ``shopId``) to pick the secret to verify with."""
    return claimed_shop(raw_body)[0]


def verify_body(
    raw_body: bytes, signature: str | None, shop_secrets: ShopSecrets, *, clock: Clock = utc_now
) -> None:
    """Raise unless the raw POST body is signed with an accepted shop secret."""
    _verify_with_any(shop_secrets.accepted(clock()), raw_body, signature, what="shop request")


def verify_webhook(
    raw_body: bytes,
    signature: str | None,
    shop_secrets: ShopSecrets,
    *,
    clock: Clock = utc_now,
    tolerance: timedelta = TIMESTAMP_TOLERANCE,
    parsed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Verify a webhook or lifecycle event and return its body (numbers as Decimal; ``parsed``: ``claimed_shop``'s)."""
    verify_body(raw_body, signature, shop_secrets, clock=clock)
    body = _json_object(raw_body, what="webhook") if parsed is None else parsed
    check_timestamp(body.get("timestamp"), clock=clock, tolerance=tolerance, what="webhook")
    return body


def verify_action(
    raw_body: bytes,
    signature: str | None,
    shop_secrets: ShopSecrets,
    *,
    clock: Clock = utc_now,
    tolerance: timedelta = TIMESTAMP_TOLERANCE,
    parsed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Verify an action button request by signature and ``meta.timestamp`` and return its body."""
    verify_body(raw_body, signature, shop_secrets, clock=clock)
    body = _json_object(raw_body, what="action button request") if parsed is None else parsed
    meta = body.get("meta")
    check_timestamp(
        meta.get("timestamp") if isinstance(meta, dict) else None,
        clock=clock,
        tolerance=tolerance,
        what="action button request",
    )
    return body


def verify_gateway(
    raw_body: bytes,
    signature: str | None,
    shop_secrets: ShopSecrets,
    *,
    clock: Clock = utc_now,
    parsed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Verify a checkout gateway request (its payload has no timestamp) and return its body."""
    verify_body(raw_body, signature, shop_secrets, clock=clock)
    return _json_object(raw_body, what="checkout gateway request") if parsed is None else parsed


# Admin iframes ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IframeRequest:
    """A verified admin iframe request (module or modal page)."""

    shop_id: str
    shop_url: str
    timestamp: datetime
    sw_version: str | None
    context_language: str | None
    user_language: str | None


def split_iframe_signature(raw_query: str | bytes) -> tuple[str, str | None]:
    """Return the signed part of an iframe query (original order and encoding) and the signature, if any."""
    parts = _as_text(raw_query).split("&")
    signature_parts = [part for part in parts if part.split("=", 1)[0] == IFRAME_SIGNATURE_PARAMETER]
    if len(signature_parts) > 1:
        raise MalformedRequestError(f"iframe query carries {IFRAME_SIGNATURE_PARAMETER} more than once")
    signed = "&".join(part for part in parts if part not in signature_parts)
    if not signature_parts:
        return signed, None
    return signed, signature_parts[0].partition("=")[2]


def unverified_iframe_shop_id(raw_query: str | bytes) -> str:
    """Return the shop id an iframe query claims, to pick the secret to verify with."""
    shop_id = _required(
        _query_params(_as_text(raw_query), what="iframe query"), "shop-id", what="iframe query"
    )
    _check_shop_id(shop_id, what="iframe query")
    return shop_id


def iframe_max_age(sw_version: str | None) -> timedelta:
    """Return how old a signed admin iframe URL of this Shopware version may be.

    6.6.3-6.6.5 sign module URLs at login and reuse them (src/Core/Framework/App/Manifest/ModuleLoader.php),
    so their URLs are accepted for a working day; newer shops sign on opening and get minutes.
    """
    parts = tuple(int(part) for part in (sw_version or "").split(".") if _VERSION_NUMBER.fullmatch(part))
    if parts and parts < MODULES_SIGNED_ON_OPEN_FROM:
        return LOGIN_SIGNED_IFRAME_MAX_AGE
    return IFRAME_MAX_AGE


def verify_iframe_query(
    raw_query: str | bytes, shop_secrets: ShopSecrets, *, clock: Clock = utc_now
) -> IframeRequest:
    """Verify the signed query string of an admin iframe and return its parameters.

    The accepted age follows the ``sw-version`` the shop signed into the query (``iframe_max_age``), and a
    shop clock up to ``IFRAME_CLOCK_SKEW`` ahead is tolerated.
    """
    signed, signature = split_iframe_signature(raw_query)
    params = _query_params(signed, what="iframe query")
    _verify_with_any(shop_secrets.accepted(clock()), signed, signature, what="iframe query")
    moment = check_window(
        _required(params, "timestamp", what="iframe query"),
        clock=clock,
        max_age=iframe_max_age(params.get("sw-version")),
        max_ahead=IFRAME_CLOCK_SKEW,
        what="iframe query",
    )
    return IframeRequest(
        shop_id=_required(params, "shop-id", what="iframe query"),
        shop_url=_required(params, "shop-url", what="iframe query"),
        timestamp=moment,
        sw_version=params.get("sw-version"),
        context_language=params.get("sw-context-language"),
        user_language=params.get("sw-user-language"),
    )


# Signed responses ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedResponse:
    """A JSON response body and its ``shopware-app-signature``, ready to send unchanged."""

    body: bytes
    signature: str

    @property
    def headers(self) -> dict[str, str]:
        """Return the headers the response must carry."""
        return {"Content-Type": "application/json", APP_SIGNATURE_HEADER: self.signature}


def sign_json_response(payload: Any, shop_secret: str) -> SignedResponse:
    """Serialise payload once and sign exactly those bytes with the shop secret."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_decimal_to_str).encode()
    return SignedResponse(body=body, signature=sign(shop_secret, body))


def action_response(action_type: str, payload: Mapping[str, Any], shop_secret: str) -> SignedResponse:
    """Return the signed answer to an action button: ``{"actionType": …, "payload": …}``."""
    if action_type not in ACTION_TYPES:
        raise ValueError(f"unknown action type {action_type!r}; expected one of {sorted(ACTION_TYPES)}")
    return sign_json_response({"actionType": action_type, "payload": dict(payload)}, shop_secret)


def notification_action(status: str, message: str, shop_secret: str) -> SignedResponse:
    """Return a signed action answer that shows an admin notification."""
    if status not in NOTIFICATION_STATUSES:
        raise ValueError(
            f"unknown notification status {status!r}; expected one of {sorted(NOTIFICATION_STATUSES)}"
        )
    return action_response("notification", {"status": status, "message": message}, shop_secret)


def open_modal_action(
    iframe_url: str, shop_secret: str, *, size: str = "medium", expand: bool = False
) -> SignedResponse:
    """Return a signed action answer that opens iframe_url in an admin modal (the shop signs that URL itself)."""
    if size not in MODAL_SIZES:
        raise ValueError(f"unknown modal size {size!r}; expected one of {sorted(MODAL_SIZES)}")
    return action_response(
        "openModal", {"iframeUrl": iframe_url, "size": size, "expand": expand}, shop_secret
    )


# Helpers ---------------------------------------------------------------------------------------------------------


def _verify_with_any(
    keys: tuple[str | bytes, ...], message: str | bytes, signature: str | None, *, what: str
) -> None:
    if not signature:
        raise MissingSignatureError(f"{what} carries no signature")
    # Check every key so the time taken does not reveal which secret matched.
    matches = [signature_matches(key, message, signature) for key in keys]
    if not any(matches):
        raise SignatureError(f"{what}: signature does not match")


def _unix_seconds(value: object, *, what: str) -> int:
    if isinstance(value, bool):
        raise MalformedRequestError(f"{what} timestamp is not a number of seconds")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _UNIX_SECONDS.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, Decimal | float):
        number = Decimal(value)
        # Up to 12 digits before the point, as _UNIX_SECONDS, checked before int(): a body parsed with
        # parse_float=Decimal carries 1e9999999 exactly, and its int() took minutes of a worker's CPU.
        if number.is_finite() and number.adjusted() < 12:
            return int(number)
        raise MalformedRequestError(f"{what} timestamp is not a number of seconds of up to 12 digits")
    if value is None:
        raise MalformedRequestError(f"{what} carries no timestamp")
    raise MalformedRequestError(f"{what} timestamp is not a number of seconds")


def _query_params(query: str, *, what: str) -> dict[str, str]:
    pairs = parse_qsl(query, keep_blank_values=True)
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise MalformedRequestError(f"{what} carries parameter {name!r} more than once")
        params[name] = value
    return params


def _required(values: Mapping[str, Any], name: str, *, what: str) -> str:
    value = values.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedRequestError(f"{what} lacks {name!r}")
    return value


def _json_object(raw_body: bytes, *, what: str) -> dict[str, Any]:
    try:
        body = loads(raw_body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedRequestError(f"{what} body is not JSON") from error
    # Shop data is cleaned, not refused: the checkout must still get an answer for an odd buyer name. The walk
    # over every string is needed only where the raw bytes may hold an unsafe character (an "\xed" byte may be
    # a surrogate that json.loads lets through from bytes, which may_hold_unsafe_text reads as text).
    if may_hold_unsafe_text(raw_body) or b"\xed" in raw_body:
        body = strip_unsafe_text(body)
    if not isinstance(body, dict):
        raise MalformedRequestError(f"{what} body is not a JSON object")
    return body


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _as_text(value: str | bytes) -> str:
    if isinstance(value, str):
        return value
    # The shop percent-encodes everything outside ASCII, so a raw query that is not UTF-8 is not from a shop.
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedRequestError("query string is not UTF-8") from error


def _decimal_to_str(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")
