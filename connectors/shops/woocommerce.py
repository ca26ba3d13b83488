"""WooCommerce REST API v3 connector, plus helpers for WooCommerce webhooks.

- Auth: over https, Basic auth with the REST key pair; over http, one-legged OAuth 1.0a (HMAC-SHA256) in the
  query string, signed exactly as WooCommerce verifies it (``oauth1_signature``). A fresh nonce and
  timestamp go into every attempt, retries included. The base string uses the URL we call, so the shop URL
  must match WordPress' home URL (scheme and host); ``home_url`` reads it from the unauthenticated index.
- Orders: ``GET /wc/v3/orders`` with ``per_page=100`` and ``page`` until ``X-WP-TotalPages``; list
  parameters are sent comma-separated; ``modified_after`` with ``dates_are_gmt=true``. WooCommerce has no
  payment-method filter, so ``payment_method`` is applied to each page here. ``status=any`` leaves out the
  trash (``include_trashed`` asks for it in a second pass); a permanently deleted order answers 404.
- Refunds: an order lists ``refunds: [{id, reason, total}]`` without dates; the refund objects
  (``GET /wc/v3/orders/{id}/refunds``) carry ``date_created_gmt`` and are read for orders that have any, for
  the date only. On HPOS, 7.9's ``OrdersTableRefundDataStore::read_multiple`` sets amount and reason after
  ``init_order_record`` marked the refund read, so they sit in its pending changes, and the refunds
  controller's ``get_formatted_item_data`` renders ``get_data()`` (stored data without changes): every refund
  object says ``amount`` "0.00" and ``reason`` "". The order's list uses ``get_amount()`` and is right.
- Payment state: WooCommerce has no payment state separate from the order status, and for invoice gateways
  the status says nothing about payment (WooCommerce sets ``date_paid`` as soon as an order is
  "processing", which an invoice order reaches when it ships). So ClaimBridge keeps the payment state in the
  protected order meta ``_claimbridge_payment_state`` (with ``_claimbridge_paid_amount``/``_paid_at``), and
  for ``invoice_methods`` that meta alone decides paid / partially paid / disputed; cancelled and refunded
  statuses always win. ``mark_paid`` also moves a pending/on-hold order to ``paid_status``. ``pending``
  (never placed) and ``failed`` orders are not ``placed``.
- Meta: ClaimBridge's fields are stored under a leading underscore (``_claimbridge_…``), which WordPress'
  ``is_protected_meta`` hides from the order screen's custom-field box on both order storages; they are
  read back without it.
- Writes: ``PUT /wc/v3/orders/{id}`` (status, meta upserted by key), ``POST /wc/v3/orders/{id}/notes``.
- The ClaimBridge plugin's routes (``wc-claimbridge/v1``, REST keys authenticate ``wc-*`` namespaces):
  ``status``, ``notices`` (admin notices) and ``dunning-notices`` (notices mailed by WooCommerce); without
  the plugin they raise ``NotFoundError``.
- Webhooks: ``ensure_webhooks`` creates (or re-arms) one hook per topic, ``webhooks``, ``set_webhook_status``
  and ``delete_webhook`` manage them; ``verify_webhook_signature`` and ``is_webhook_ping`` check deliveries.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from connectors.errors import NotFoundError
from connectors.http import DEFAULT_TIMEOUT, Backoff, HttpClient
from connectors.shops.base import (
    CASE_FIELD_PREFIX,
    INVOICE_NOTICE_FIELD,
    PAID_AMOUNT_FIELD,
    PAID_AT_FIELD,
    RISK_CHECK_FIELD,
    Address,
    Buyer,
    LineItem,
    OrderState,
    PaymentAction,
    Refund,
    ShopConnector,
    ShopOrder,
    blank_to_none,
    check_case_fields,
    optional_bool,
    parse_utc,
    split_street,
    to_decimal,
)

PAYMENT_STATE_FIELD = "claimbridge_payment_state"
INVOICED_AT_FIELD = "claimbridge_invoiced_at"
# A leading underscore makes WordPress treat meta as protected (wp-includes/meta.php is_protected_meta):
# the order screen's "Custom Fields" box neither lists nor lets staff add such keys, on posts storage and HPOS.
PROTECTED_META_PREFIX = "_"
# Germanized/"WooCommerce Invoice Gateway", German Market, and the ClaimBridge plugin's own gateway.
DEFAULT_INVOICE_METHODS = ("invoice", "german_market_purchase_on_account", "claimbridge_invoice")
# WooCommerce has no VAT id field; the plugins German shops use keep the buyer's in order meta (first found wins):
# Germanized Pro `_billing_vat_id` (its shipping-address field `_shipping_vat_id` second), the WooCommerce EU
# VAT Number extension `_billing_vat_number` (2.3.21+; `_vat_number` before), German Market `billing_vat`,
# "EU/UK VAT for WooCommerce" (WPFactory) `_billing_eu_vat_number`, YITH WooCommerce EU VAT `yweu_billing_vat`.
# (The same list WP Overnight's PDF Invoices & Packing Slips templates read for reverse-charge invoices.)
VAT_ID_META_KEYS = (
    "_billing_vat_id",
    "_billing_vat_number",
    "_vat_number",
    "billing_vat",
    "_billing_eu_vat_number",
    "yweu_billing_vat",
    "_shipping_vat_id",
)
# woocommerce/includes/class-wc-webhook.php wc_get_webhook_topic_hooks(): order.deleted fires on
# wp_trash_post and order.restored on untrashed_post (posts storage only in 7.9); the poll covers the rest.
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
# Statuses of orders a buyer never finished placing: no claim arises from them.
UNPLACED_STATUSES = frozenset({"pending", "failed", "checkout-draft", "auto-draft"})
SIGNATURE_METHODS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
SUPPORTED_FILTERS = frozenset({"payment_method", "external_ids", "platform_states", "include_trashed"})
_PING_BODY = re.compile(rb"^webhook_id=\d+$")

# Target meta payment state and, where the action needs one, the order status to move to.
_ACTIONS: dict[PaymentAction, tuple[str, str | None]] = {
    PaymentAction.PAY: ("paid", None),
    PaymentAction.PAY_PARTIALLY: ("partially_paid", None),
    PaymentAction.REMIND: ("reminded", None),
    PaymentAction.CANCEL: ("cancelled", "cancelled"),
    PaymentAction.REOPEN: ("open", "on-hold"),
    PaymentAction.REFUND: ("refunded", "refunded"),
}


def rfc3986(value: str) -> str:
    """Percent-encode like PHP's ``rawurlencode``."""
    return quote(value, safe="~")


def oauth1_signature(
    method: str,
    url: str,
    params: Mapping[str, str],
    consumer_secret: str,
    *,
    signature_method: str = "HMAC-SHA256",
) -> str:
    """Return the OAuth 1.0a signature WooCommerce expects for ``params`` (query and oauth_* values).

    Keys are sorted byte-wise (PHP ``strcmp``) before encoding; each ``key=value`` is encoded once more as
    a whole, which is what the RFC's double encoding amounts to.
    """
    base_url = urlunsplit(urlsplit(url)._replace(query="", fragment=""))
    pairs = sorted(
        ((k, v) for k, v in params.items() if k != "oauth_signature"), key=lambda pair: pair[0].encode()
    )
    normalised = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in pairs)
    base_string = "&".join((method.upper(), rfc3986(base_url), rfc3986(normalised)))
    digest = hmac.new(
        f"{consumer_secret}&".encode(), base_string.encode(), SIGNATURE_METHODS[signature_method]
    ).digest()
    return base64.b64encode(digest).decode()


class OAuth1QueryAuth(AuthBase):
    """Sign each request with one-legged OAuth 1.0a in the query string (consumer key and secret only)."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        *,
        signature_method: str = "HMAC-SHA256",
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.signature_method = signature_method
        self._clock = clock
        self._nonce = nonce

    def sign_url(
        self, method: str, url: str, *, nonce: str | None = None, timestamp: int | None = None
    ) -> str:
        """Return ``url`` with the oauth_* parameters and signature appended to its query."""
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        params.update(
            oauth_consumer_key=self.consumer_key,
            oauth_nonce=nonce or self._nonce(),
            oauth_signature_method=self.signature_method,
            oauth_timestamp=str(timestamp if timestamp is not None else int(self._clock())),
        )
        params["oauth_signature"] = oauth1_signature(
            method, url, params, self.consumer_secret, signature_method=self.signature_method
        )
        return urlunsplit(parts._replace(query=urlencode(params, quote_via=quote, safe="")))

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.url = self.sign_url(request.method or "GET", request.url or "")
        return request


def map_state(
    status: str, payment_state: str | None, *, is_invoice: bool, date_paid: datetime | None
) -> OrderState:
    """Map a WooCommerce status plus ClaimBridge's payment-state meta to one ``OrderState``."""
    if status in ("cancelled", "failed", "trash"):
        # A failed payment never became a claim, and a trashed order is withdrawn until restored.
        return OrderState.CANCELLED
    if status == "refunded":
        return OrderState.REFUNDED
    by_meta = {
        "paid": OrderState.PAID,
        "partially_paid": OrderState.PARTIALLY_PAID,
        "disputed": OrderState.DISPUTED,
    }
    if payment_state in by_meta:
        return by_meta[payment_state]
    if not is_invoice and (status in ("processing", "completed") or date_paid is not None):
        return OrderState.PAID
    return OrderState.OPEN


def verify_webhook_signature(secret: str, body: bytes, signature: str | None) -> bool:
    """Return True when ``signature`` is base64(HMAC-SHA256(secret, raw body)); constant time."""
    if not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def is_webhook_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """Return True for the unsigned ``webhook_id=N`` request WooCommerce sends when a webhook is saved."""
    signed = any(name.lower() == "x-wc-webhook-signature" for name, _ in headers.items())
    return not signed and bool(_PING_BODY.match(body.strip()))


class WooCommerceConnector(HttpClient, ShopConnector):
    """A WooCommerce shop reached with a REST API key pair."""

    platform = "woocommerce"

    def __init__(
        self,
        shop_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        allow_private: bool = False,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = 100,
        invoice_methods: Iterable[str] = DEFAULT_INVOICE_METHODS,
        paid_status: str = "processing",
    ) -> None:
        shop_url = shop_url.rstrip("/")
        if urlsplit(shop_url).scheme.lower() == "https":
            auth: AuthBase = HTTPBasicAuth(consumer_key, consumer_secret)
        else:
            auth = OAuth1QueryAuth(consumer_key, consumer_secret)
        super().__init__(
            f"{shop_url}/wp-json",
            session=session,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            allow_private=allow_private,
            sleep=sleep,
        )
        self.shop_url = shop_url
        self.page_size = min(page_size, 100)
        self.invoice_methods = frozenset(invoice_methods)
        self.paid_status = paid_status

    # -- ShopConnector ----------------------------------------------------------------------------

    def verify(self) -> None:
        """Read one order: proves the key pair and its read permission."""
        self.request("GET", "wc/v3/orders", params={"per_page": 1})

    def iter_orders(self, modified_after: datetime | None = None, **filters: Any) -> Iterator[ShopOrder]:
        """Yield orders page by page.

        Filters: payment_method, external_ids, platform_states (statuses), include_trashed (also yield the
        orders in the trash, which ``status=any`` leaves out).
        """
        unknown = set(filters) - SUPPORTED_FILTERS
        if unknown:
            raise ValueError(f"unsupported filters {sorted(unknown)}; use {sorted(SUPPORTED_FILTERS)}")
        params: dict[str, Any] = {"per_page": self.page_size, "orderby": "id", "order": "asc"}
        if modified_after is not None:
            if modified_after.tzinfo is None:
                raise ValueError("modified_after must be timezone-aware")
            params["modified_after"] = modified_after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
            params["dates_are_gmt"] = "true"
        if "external_ids" in filters:
            params["include"] = ",".join(str(i) for i in _as_list(filters["external_ids"]))
        methods = set(_as_list(filters["payment_method"])) if "payment_method" in filters else None
        # Version3/class-wc-rest-orders-controller.php prepare_objects_query: "any" short-circuits the status
        # list and WordPress' "any" excludes the trash, so the trash is a pass of its own.
        passes = [",".join(_as_list(filters["platform_states"])) if "platform_states" in filters else "any"]
        if filters.get("include_trashed") and "trash" not in passes[0].split(","):
            passes.append("trash")
        for status in passes:
            for raw in self._pages("wc/v3/orders", {**params, "status": status}):
                if methods is None or raw.get("payment_method") in methods:
                    yield self._normalise(raw)

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            response = self.request("GET", path, params={**params, "page": page})
            yield from response.json(parse_float=Decimal)
            total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
            if page >= total_pages:
                return
            page += 1

    def get_order(self, external_id: str) -> ShopOrder:
        """Return the order with id ``external_id``."""
        return self._normalise(self._raw_order(external_id))

    def transition_payment(
        self, external_id: str, action: PaymentAction, *, amount: Decimal | None = None
    ) -> ShopOrder:
        """Record the payment state in meta and, where it changes, the order status."""
        raw = self._raw_order(external_id)
        current = self._normalise(raw)
        payment_state, status = _ACTIONS[action]
        already_there = current.state.value == payment_state or (
            action == PaymentAction.REMIND and _meta(_stored_meta(raw)).get(PAYMENT_STATE_FIELD) == "reminded"
        )
        if already_there and action != PaymentAction.PAY_PARTIALLY:
            return current
        fields: dict[str, Any] = {PAYMENT_STATE_FIELD: payment_state}
        if action == PaymentAction.PAY:
            fields[PAID_AMOUNT_FIELD] = str(amount if amount is not None else current.total)
            fields[PAID_AT_FIELD] = datetime.now(UTC).isoformat()
            if raw.get("status") in ("pending", "on-hold"):
                status = self.paid_status
        elif action == PaymentAction.PAY_PARTIALLY and amount is not None:
            fields[PAID_AMOUNT_FIELD] = str(amount)
        body: dict[str, Any] = {"meta_data": _meta_entries(fields)}
        if status is not None and status != raw.get("status"):
            body["status"] = status
        response = self.request("PUT", f"wc/v3/orders/{external_id}", json=body)
        return self._normalise(response.json(parse_float=Decimal))

    def write_case_fields(self, external_id: str, fields: Mapping[str, Any]) -> None:
        """Upsert ``fields`` as order meta (by key)."""
        check_case_fields(fields)
        self.request("PUT", f"wc/v3/orders/{external_id}", json={"meta_data": _meta_entries(fields)})

    def add_order_note(self, external_id: str, text: str) -> None:
        """Add a private order note (not e-mailed to the buyer), unless the order carries it already."""
        path = f"wc/v3/orders/{external_id}/notes"
        # WooCommerce has no idempotency keys: a note retried after its answer was lost is found by its text.
        if any(note.get("note") == text for note in self.request("GET", path).json()):
            return
        self.request("POST", path, json={"note": text, "customer_note": False})

    def notify_admin(
        self, text: str, *, order_id: str | None = None, idempotency_key: str | None = None
    ) -> None:
        """Add an admin notice (shop-wide, or with a private note on ``order_id``) through the ClaimBridge plugin.

        The plugin answers a repeated idempotency key with the first notice, so a call without one gets its own
        key and is replayed safely within the call.
        """
        body: dict[str, Any] = {
            "message": text,
            "level": "info",
            "idempotency_key": idempotency_key or f"notice-{secrets.token_hex(16)}",
        }
        if order_id is not None:
            body["order_id"] = int(order_id)
        self.request("POST", "wc-claimbridge/v1/notices", json=body, idempotent=True)

    # -- the ClaimBridge plugin and the shop itself ----------------------------------------------

    def plugin_status(self) -> dict[str, Any]:
        """Return the ClaimBridge plugin's ``status``; ``NotFoundError`` when the plugin is not active."""
        return self.request("GET", "wc-claimbridge/v1/status").json()

    def send_dunning_notice(self, notice: Mapping[str, Any]) -> dict[str, Any]:
        """Have the plugin mail a dunning notice through WooCommerce; return ``{message_id, sent_at}``.

        Not replayed within the call: a 409 (the merchant disabled the e-mail) or 502 (the mailer refused)
        is the caller's to decide on; the plugin answers a repeated ``notice_id`` with the first message.
        """
        response = self.request(
            "POST", "wc-claimbridge/v1/dunning-notices", json=dict(notice), idempotent=False
        )
        return response.json()

    def home_url(self) -> str | None:
        """Return WordPress' home URL from the REST index (``GET /wp-json/``), or None when it hides it."""
        body = self.request("GET", "", params={"_fields": "home,url"}).json()
        home = body.get("home") if isinstance(body, dict) else None
        return str(home).rstrip("/") if home else None

    def payment_gateways(self) -> list[dict[str, Any]]:
        """Return the shop's payment gateways (``id``, ``title``, ``enabled``)."""
        gateways = self.request("GET", "wc/v3/payment_gateways").json()
        return [
            {"id": str(g.get("id")), "title": str(g.get("title") or ""), "enabled": bool(g.get("enabled"))}
            for g in gateways
            if isinstance(g, dict) and g.get("id")
        ]

    # -- webhooks ---------------------------------------------------------------------------------

    def webhooks(self) -> list[dict[str, Any]]:
        """Return every webhook of the shop (``id``, ``topic``, ``status``, ``delivery_url`` …)."""
        return list(self._pages("wc/v3/webhooks", {"per_page": 100}))

    def ensure_webhooks(
        self,
        delivery_urls: Mapping[str, str],
        secret: str,
        *,
        name: str = "ClaimBridge",
        existing: Iterable[Mapping[str, Any]] | None = None,
    ) -> dict[str, int]:
        """Make one active webhook per topic deliver to ``delivery_urls[topic]``; return ``{topic: id}``.

        Hooks of ours (``existing``, else every hook of the shop) found by topic and URL are re-armed with the
        secret; new ones are created, and WooCommerce pings each new one during its creation.
        """
        hooks = list(existing) if existing is not None else self.webhooks()
        by_target = {(hook.get("topic"), hook.get("delivery_url")): hook["id"] for hook in hooks}
        ids = {}
        for topic, url in delivery_urls.items():
            body = {"name": f"{name} {topic}", "topic": topic, "delivery_url": url, "secret": secret}
            body["status"] = "active"
            hook_id = by_target.get((topic, url))
            if hook_id is None:
                ids[topic] = int(self.request("POST", "wc/v3/webhooks", json=body).json()["id"])
            else:
                self.request("PUT", f"wc/v3/webhooks/{hook_id}", json=body)
                ids[topic] = int(hook_id)
        return ids

    def set_webhook_status(self, webhook_id: int, status: str) -> dict[str, Any]:
        """Set a webhook's status (``active`` re-enables one WooCommerce disabled after failures)."""
        return self.request("PUT", f"wc/v3/webhooks/{webhook_id}", json={"status": status}).json()

    def delete_webhook(self, webhook_id: int) -> None:
        """Delete a webhook for good (webhooks have no trash: ``force=true``); gone already is fine."""
        with contextlib.suppress(NotFoundError):
            self.request("DELETE", f"wc/v3/webhooks/{webhook_id}", params={"force": "true"})

    # -- helpers ----------------------------------------------------------------------------------

    def _raw_order(self, external_id: str) -> dict[str, Any]:
        return self.request("GET", f"wc/v3/orders/{external_id}").json(parse_float=Decimal)

    def _refunds(self, raw: Mapping[str, Any]) -> tuple[Refund, ...]:
        """Read the order's refunds: amount and reason as the order lists them, the date from the refund objects.

        The order's ``refunds[]`` comes from ``WC_Order_Refund::get_amount()``/``get_reason()`` and is right on
        both storages; WooCommerce 7.9's refunds controller renders ``get_data()``, which on HPOS carries
        ``amount`` "0.00" and an empty reason (see the module docstring), so the objects are read only for
        ``date_created_gmt``. A refund without an object keeps no date, which the caller books conservatively.
        """
        listed = {str(entry["id"]): entry for entry in raw.get("refunds") or [] if entry.get("id")}
        if not listed:
            return ()
        dates = {
            str(refund["id"]): parse_utc(refund.get("date_created_gmt"))
            for refund in self._pages(f"wc/v3/orders/{raw['id']}/refunds", {"per_page": 100})
        }
        return tuple(
            Refund(
                external_id=refund_id,
                amount=abs(to_decimal(entry.get("total") or "0")),
                refunded_at=dates.get(refund_id),
                reason=blank_to_none(entry.get("reason")),
            )
            for refund_id, entry in sorted(listed.items(), key=lambda item: int(item[0]))
        )

    def _normalise(self, raw: Mapping[str, Any]) -> ShopOrder:
        stored = _stored_meta(raw)
        meta = _meta(stored)
        status = str(raw.get("status") or "")
        payment_method = blank_to_none(raw.get("payment_method"))
        is_invoice = payment_method in self.invoice_methods
        date_paid = parse_utc(raw.get("date_paid_gmt"))
        state = map_state(status, meta.get(PAYMENT_STATE_FIELD), is_invoice=is_invoice, date_paid=date_paid)
        total = to_decimal(raw.get("total") or "0")
        billing = raw.get("billing") or {}
        shipping = raw.get("shipping") or {}
        customer_id = raw.get("customer_id") or 0
        return ShopOrder(
            external_id=str(raw["id"]),
            number=str(raw.get("number") or raw["id"]),
            state=state,
            platform_order_state=status,
            platform_payment_state=blank_to_none(meta.get(PAYMENT_STATE_FIELD)),
            total=total,
            paid_amount=_paid_amount(state, total, meta),
            currency=str(raw.get("currency") or ""),
            payment_method=payment_method,
            ordered_at=parse_utc(raw.get("date_created_gmt")),
            invoiced_at=parse_utc(meta.get(INVOICED_AT_FIELD)),
            paid_at=parse_utc(meta.get(PAID_AT_FIELD)) or (None if is_invoice else date_paid),
            modified_at=parse_utc(raw.get("date_modified_gmt")),
            buyer=Buyer(
                email=blank_to_none(billing.get("email")),
                first_name=blank_to_none(billing.get("first_name")),
                last_name=blank_to_none(billing.get("last_name")),
                company=blank_to_none(billing.get("company")),
                phone=blank_to_none(billing.get("phone")),
                customer_id=str(customer_id) if customer_id else None,
                is_guest=not customer_id,
            ),
            billing_address=_address(billing),
            shipping_address=_address(shipping) if blank_to_none(shipping.get("address_1")) else None,
            line_items=tuple(_line_item(item) for item in raw.get("line_items") or []),
            risk_check_id=blank_to_none(meta.get(RISK_CHECK_FIELD)),
            case_fields={k: v for k, v in meta.items() if k.startswith(CASE_FIELD_PREFIX)},
            refunds=self._refunds(raw),
            placed=status not in UNPLACED_STATUSES,
            vat_id=next(
                (vat_id for key in VAT_ID_META_KEYS if (vat_id := _text_meta(stored.get(key)))), None
            ),
            invoice_has_default_notice=optional_bool(meta.get(INVOICE_NOTICE_FIELD)),
        )


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str | int) else list(value)


def _stored_meta(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return an order's meta by key; WooCommerce lists meta, and the first entry per key wins as in ``get_meta()``."""
    stored: dict[str, Any] = {}
    for entry in raw.get("meta_data") or []:
        stored.setdefault(entry.get("key"), entry.get("value"))
    return stored


def _text_meta(value: Any) -> str | None:
    """Return a meta value that is a non-blank string or number (plugins store text; anything else is not one)."""
    return blank_to_none(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _meta(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Return ClaimBridge's order meta by field name (protected key first, the older plain key as fallback)."""
    meta: dict[str, Any] = {}
    for key, value in stored.items():
        if isinstance(key, str) and key.startswith(PROTECTED_META_PREFIX + CASE_FIELD_PREFIX):
            meta[key[len(PROTECTED_META_PREFIX) :]] = value
    for key, value in stored.items():
        if isinstance(key, str) and key.startswith(CASE_FIELD_PREFIX):
            meta.setdefault(key, value)
    return meta


def _meta_entries(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return ClaimBridge fields as order meta entries under their protected keys."""
    return [{"key": PROTECTED_META_PREFIX + key, "value": value} for key, value in fields.items()]


def _paid_amount(state: OrderState, total: Decimal, meta: Mapping[str, Any]) -> Decimal | None:
    recorded = meta.get(PAID_AMOUNT_FIELD)
    known = to_decimal(recorded) if recorded not in (None, "") else None
    if state == OrderState.PAID:
        return known if known is not None else total
    if state == OrderState.PARTIALLY_PAID:
        return known
    if state == OrderState.REFUNDED:
        # A refund gives back what was paid or credits what was not: it is never a payment itself.
        return known if known is not None else Decimal("0")
    if state in (OrderState.OPEN, OrderState.CANCELLED):
        return Decimal("0")
    return None


def _address(raw: Mapping[str, Any]) -> Address:
    street, house_number = split_street(raw.get("address_1"))
    return Address(
        first_name=blank_to_none(raw.get("first_name")),
        last_name=blank_to_none(raw.get("last_name")),
        company=blank_to_none(raw.get("company")),
        street=street,
        house_number=house_number,
        postal_code=blank_to_none(raw.get("postcode")),
        city=blank_to_none(raw.get("city")),
        country=blank_to_none(raw.get("country")),
    )


def _line_item(raw: Mapping[str, Any]) -> LineItem:
    quantity = int(raw.get("quantity") or 0)
    gross = to_decimal(raw.get("total") or "0") + to_decimal(raw.get("total_tax") or "0")
    unit = (gross / quantity).quantize(Decimal("0.01")) if quantity else gross
    return LineItem(
        external_id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        quantity=quantity,
        unit_price=unit,
        total=gross,
        sku=blank_to_none(raw.get("sku")),
    )
