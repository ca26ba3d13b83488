"""A fake WooCommerce REST API (v3) that authenticates and answers as ../shared/protocols/woocommerce.md says.

Each rule names the WooCommerce 7.9 file it copies (paths below ``woocommerce/``; ``/opt/woocommerce`` on the
project's machines).

Authentication follows ``includes/class-wc-rest-authentication.php``:

- Over HTTPS (``tls=True``): Basic auth or ``consumer_key``/``consumer_secret`` query parameters.
- Always: one-legged OAuth 1.0a from the query string (and form body). The base string is built from the
  configured WordPress *home URL* (not the Host the client used), the request path, keys sorted with
  ``strcmp`` and RFC 3986 encoding; HMAC-SHA1 or HMAC-SHA256 with ``consumer_secret + "&"``. Then the
  timestamp must lie within ±15 minutes of the fake clock and the nonce must be new (nonces stored per key,
  keyed by timestamp as WooCommerce does); failures answer 401 with ``woocommerce_rest_authentication_error``
  (a client signing with another host than the home URL gets "Invalid signature").
- Without credentials, REST routes answer 401 ``woocommerce_rest_cannot_view``; the index ``GET /wp-json/``
  (WordPress' ``WP_REST_Server::get_index``) answers anyone with ``home`` and ``url``.

Orders (``includes/rest-api/Controllers/Version3/class-wc-rest-orders-controller.php`` and its V2 parent)
support ``status`` (comma-separated; ``any`` leaves out the trash, ``trash`` asks for it), ``include``,
``modified_after``/``modified_before`` (site-local unless ``dates_are_gmt=true``), ``page``/``per_page`` (max
100) with ``X-WP-Total`` and ``X-WP-TotalPages``, ``orderby``/``order``. ``PUT`` upserts meta by key, changes
status (setting ``date_paid`` on the way to processing/completed like ``WC_Order::maybe_set_date_paid``).
On posts storage a meta-only update leaves ``date_modified`` alone (``WC_Order_Data_Store_CPT`` updates the
post only for prop changes); HPOS (``storage="hpos"``) moves it. Orders list ``refunds: [{id, reason,
total}]`` (V2 controller ``get_formatted_item_data``); refund objects with dates come from
``/orders/{id}/refunds`` (``class-wc-rest-order-refunds-v2-controller.php``; on HPOS they say amount
"0.00" and reason "", see ``_render_refund``); a refund of the whole
remaining total moves the order to ``refunded`` (``wc_order_fully_refunded`` in
``includes/wc-order-functions.php``). ``DELETE /orders/{id}`` trashes (``force=true`` deletes for good,
``WC_REST_CRUD_Controller::delete_item``); a deleted order answers 404 ``woocommerce_rest_shop_order_invalid_id``.

Webhooks follow ``includes/class-wc-webhook.php`` and ``Version1/class-wc-rest-webhooks-v1-controller.php``:
creating one through REST pings its delivery URL at once (``deliver_ping``, the ``webhook_id=N`` form body);
every delivery goes through ``wp_safe_remote_request``, which refuses ports other than 80, 443, 8080 and the
home URL's own (``wp_http_validate_url``, filter ``http_allowed_safe_ports``: ``allowed_ports``) and counts as
a failure; a non-2xx/301/302 answer is a failure too; after more than five consecutive failures the webhook
becomes ``disabled`` (``failed_delivery``) and delivers nothing until set ``active`` again. The topics'
hooks (``wc_get_webhook_topic_hooks``): ``order.updated`` also fires on refunds; ``order.deleted`` fires on
``wp_trash_post`` and ``order.restored`` on ``untrashed_post`` - posts storage only in 7.9, and never for a
permanent deletion. Delivery is synchronous here (WooCommerce queues it in Action Scheduler and coalesces).

The ClaimBridge plugin's routes (``wc-claimbridge/v1``: ``status``, ``notices``, ``dunning-notices``) answer
as the shared contract says when ``plugin_installed``; without it WordPress answers 404 ``rest_no_route``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import requests
from flask import Flask, Response, jsonify, request

from tests.fakes.server import FakeClock, FakeServer

TIMESTAMP_WINDOW = 15 * 60
ORDER_STATUSES = {
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
}
PAID_STATUSES = {"processing", "completed"}
# wp-includes/http.php wp_http_validate_url(): the ports wp_safe_remote_* may reach besides the home URL's.
SAFE_PORTS = (80, 443, 8080)
# includes/class-wc-webhook.php failed_delivery(): woocommerce_max_webhook_delivery_failures defaults to 5.
MAX_DELIVERY_FAILURES = 5
GATEWAYS = (
    ("bacs", "Direct bank transfer"),
    ("cheque", "Check payments"),
    ("cod", "Cash on delivery"),
    ("german_market_purchase_on_account", "Purchase on account"),
    ("invoice", "Invoice"),
)
OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
HASHES = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}


def wp_error(status: int, code: str, message: str, **data: Any) -> Response:
    """Return a WordPress REST error response."""
    response = jsonify(code=code, message=message, data={"status": status, **data})
    response.status_code = status
    return response


def rawurlencode(value: str) -> str:
    """Encode like PHP's ``rawurlencode``."""
    return quote(value, safe="~")


def woocommerce_signature(method: str, base_url: str, params: Mapping[str, str], consumer_secret: str) -> str:
    """Compute the signature the way ``WC_REST_Authentication::check_oauth_signature`` does."""
    params = {k: v for k, v in params.items() if k != "oauth_signature"}
    ordered = sorted(params.items(), key=lambda item: item[0].encode())  # uksort($params, 'strcmp')
    normalised = [(rawurlencode(k), rawurlencode(v)) for k, v in ordered]  # normalize_parameters()
    query_string = "%26".join(rawurlencode(f"{k}={v}") for k, v in normalised)  # join_with_equals_sign()
    string_to_sign = f"{method.upper()}&{rawurlencode(base_url)}&{query_string}"
    algorithm = HASHES[params["oauth_signature_method"]]
    digest = hmac.new(f"{consumer_secret}&".encode(), string_to_sign.encode(), algorithm).digest()
    return base64.b64encode(digest).decode()


def wc_datetime(value: datetime | None, zone: ZoneInfo | None = None) -> str | None:
    """Format like the REST API: ``2024-05-01T10:00:00`` (no offset)."""
    if value is None:
        return None
    return value.astimezone(zone or UTC).replace(tzinfo=None).isoformat(timespec="seconds")


class FakeWooCommerce:
    """In-memory WooCommerce shop with a REST API; seed it, serve it, inspect it."""

    def __init__(
        self,
        *,
        consumer_key: str = "ck_1234567890abcdef1234567890abcdef12345678",
        consumer_secret: str = "cs_abcdef1234567890abcdef1234567890abcdef",
        key_permissions: str = "read_write",
        clock: FakeClock | None = None,
        home_url: str | None = None,
        timezone: str = "Europe/Berlin",
        plugin_installed: bool = True,
        storage: str = "posts",
        allowed_ports: tuple[int, ...] = (),
        gateways: tuple[tuple[str, str], ...] = GATEWAYS,
        email_enabled: bool = True,
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.key_permissions = key_permissions
        self.clock = clock or FakeClock()
        self.home_url = home_url
        self.zone = ZoneInfo(timezone)
        self.plugin_installed = plugin_installed
        self.storage = storage
        self.allowed_ports = allowed_ports
        self.gateways = gateways
        self.email_enabled = email_enabled
        self.is_ssl = False
        self.refunds: dict[int, list[dict[str, Any]]] = {}
        self.dunning_notices: dict[str, dict[str, Any]] = {}
        self.deliveries: list[dict[str, Any]] = []
        self._trashed_from: dict[int, str] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.notices: list[dict[str, Any]] = []
        self.auth_failures: list[str] = []
        self._dates: dict[int, dict[str, datetime | None]] = {}
        self._used_nonces: dict[str, str] = {}
        self._ids = itertools.count(1001)
        self._meta_ids = itertools.count(5001)
        self._lock = threading.RLock()
        self.app = self._build_app()

    # -- seeding and inspection -------------------------------------------------------------------

    def add_order(
        self,
        *,
        status: str = "on-hold",
        total: str = "119.00",
        currency: str = "EUR",
        payment_method: str = "german_market_purchase_on_account",
        created_at: datetime | None = None,
        paid_at: datetime | None = None,
        email: str = "erika@example.com",
        first_name: str = "Erika",
        last_name: str = "Mustermann",
        company: str = "",
        address_1: str = "Musterstraße 12a",
        postcode: str = "10115",
        city: str = "Berlin",
        country: str = "DE",
        phone: str = "+49 30 1234567",
        customer_id: int = 0,
        meta: Mapping[str, Any] | None = None,
    ) -> int:
        """Create an order with one line item; return its id."""
        created = created_at or self.clock.now()
        order_id = next(self._ids)
        address = {
            "first_name": first_name,
            "last_name": last_name,
            "company": company,
            "address_1": address_1,
            "address_2": "",
            "city": city,
            "state": "",
            "postcode": postcode,
            "country": country,
        }
        gross = Decimal(total)
        net = (gross / Decimal("1.19")).quantize(Decimal("0.01"))
        order = {
            "id": order_id,
            "parent_id": 0,
            "number": str(order_id),
            "status": status,
            "currency": currency,
            "total": f"{gross:.2f}",
            "total_tax": f"{gross - net:.2f}",
            "customer_id": customer_id,
            "payment_method": payment_method,
            "payment_method_title": payment_method.replace("_", " ").title(),
            "billing": {**address, "email": email, "phone": phone},
            "shipping": dict(address),
            "line_items": [
                {
                    "id": next(self._meta_ids),
                    "name": "Kaffeemühle",
                    "sku": "WC-1001",
                    "quantity": 1,
                    "price": float(net),
                    "total": f"{net:.2f}",
                    "total_tax": f"{gross - net:.2f}",
                }
            ],
            "meta_data": [
                {"id": next(self._meta_ids), "key": key, "value": value}
                for key, value in (meta or {}).items()
            ],
        }
        with self._lock:
            self.orders[order_id] = order
            self.notes[order_id] = []
            self.refunds[order_id] = []
            self._dates[order_id] = {"created": created, "modified": created, "paid": paid_at}
        return order_id

    def order(self, order_id: int) -> dict[str, Any]:
        """Return the order as the REST API shows it."""
        with self._lock:
            return self._render(order_id)

    def meta(self, order_id: int) -> dict[str, Any]:
        """Return the order's meta as a dict."""
        return {entry["key"]: entry["value"] for entry in self.orders[order_id]["meta_data"]}

    def case_fields(self, order_id: int) -> dict[str, Any]:
        """Return ClaimBridge's protected order meta (``_claimbridge_*``) by field name, without the underscore."""
        return {
            key.removeprefix("_"): value
            for key, value in self.meta(order_id).items()
            if key.startswith("_claimbridge_")
        }

    def allow_port(self, port: int) -> None:
        """Let deliveries reach ``port``, as a shop adding it with the ``http_allowed_safe_ports`` filter."""
        self.allowed_ports = (*self.allowed_ports, port)

    def touch(self, order_id: int, when: datetime | None = None) -> None:
        """Mark the order as modified (now, or at ``when``)."""
        with self._lock:
            self._dates[order_id]["modified"] = when or self.clock.now()

    def refund(self, order_id: int, amount: str, *, reason: str = "", when: datetime | None = None) -> int:
        """Record a refund as ``POST /orders/{id}/refunds`` with ``api_refund=false`` does; return its id."""
        with self._lock:
            refund_id = next(self._ids)
            created = when or self.clock.now()
            self.refunds[order_id].append(
                {"id": refund_id, "amount": f"{Decimal(amount):.2f}", "reason": reason, "created": created}
            )
            order = self.orders[order_id]
            refunded = sum(Decimal(r["amount"]) for r in self.refunds[order_id])
            if refunded >= Decimal(order["total"]):  # wc_order_fully_refunded()
                order["status"] = "refunded"
            self._dates[order_id]["modified"] = self.clock.now()
        self._fire("order.updated", order_id)  # woocommerce_order_refunded is one of order.updated's hooks
        return refund_id

    def trash_order(self, order_id: int) -> None:
        """Move an order to the trash as the order screen does (``wp_trash_post`` / HPOS ``trash_order``)."""
        with self._lock:
            self._trashed_from[order_id] = self.orders[order_id]["status"]
            self.orders[order_id]["status"] = "trash"
            self._dates[order_id]["modified"] = self.clock.now()
        if self.storage == "posts":
            self._fire("order.deleted", order_id)

    def restore_order(self, order_id: int) -> None:
        """Take an order out of the trash with the status it had (``untrashed_post``)."""
        with self._lock:
            self.orders[order_id]["status"] = self._trashed_from.pop(order_id)
            self._dates[order_id]["modified"] = self.clock.now()
        if self.storage == "posts":
            self._fire("order.restored", order_id)

    def delete_order(self, order_id: int) -> None:
        """Delete an order for good; WooCommerce 7.9 sends no webhook for it."""
        with self._lock:
            del self.orders[order_id]

    @contextmanager
    def serve(self, *, tls: bool = False) -> Iterator[FakeServer]:
        """Serve the REST API on a free loopback port; the home URL defaults to the server's URL."""
        with FakeServer(self.app, tls=tls) as server:
            self.is_ssl = tls
            if self.home_url is None:
                self.home_url = server.url
            yield server

    # -- webhook deliveries -----------------------------------------------------------------------

    def deliver_webhook(
        self, webhook_id: int, order_id: int, *, verify: str | bool = True
    ) -> requests.Response | None:
        """POST the order to the webhook's delivery URL, signed like ``WC_Webhook::deliver``.

        Return the response, or None when ``wp_safe_remote_request`` refused the URL or it did not answer;
        either way the outcome is counted as ``WC_Webhook::log_delivery`` does.
        """
        hook = self.webhooks[webhook_id]
        resource, _, event = hook["topic"].partition(".")
        # class-wc-webhook.php build_payload(): a deleted resource is just its id.
        payload = {"id": order_id} if event == "deleted" else self.order(order_id)
        body = json.dumps(payload).encode()
        signature = base64.b64encode(
            hmac.new(hook["secret"].encode(), body, hashlib.sha256).digest()
        ).decode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/7.9.0 Hookshot (WordPress/6.1.9)",
            "X-WC-Webhook-Source": f"{self.home_url}/",
            "X-WC-Webhook-Topic": hook["topic"],
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature,
            "X-WC-Webhook-ID": str(webhook_id),
            "X-WC-Webhook-Delivery-ID": str(int(self.clock.timestamp())),
        }
        response = self._safe_post(hook["delivery_url"], body, headers, verify)
        ok = response is not None and 200 <= response.status_code < 303
        with self._lock:
            self.deliveries.append({"webhook_id": webhook_id, "order_id": order_id, "ok": ok})
            if ok:
                hook["failure_count"] = 0
            elif hook["failure_count"] > MAX_DELIVERY_FAILURES:
                hook["status"] = "disabled"
            else:
                hook["failure_count"] += 1
        return response

    def send_ping(self, webhook_id: int, *, verify: str | bool = True) -> requests.Response | None:
        """Send the unsigned ``webhook_id=N`` ping WooCommerce sends when a webhook is created."""
        hook = self.webhooks[webhook_id]
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self._safe_post(hook["delivery_url"], f"webhook_id={webhook_id}".encode(), headers, verify)

    def _fire(self, topic: str, order_id: int) -> None:
        """Deliver ``topic`` for an order to every active webhook of that topic (``should_deliver``)."""
        for webhook_id, hook in list(self.webhooks.items()):
            if hook["topic"] == topic and hook["status"] == "active":
                self.deliver_webhook(webhook_id, order_id)

    def _safe_post(
        self, url: str, body: bytes, headers: Mapping[str, str], verify: str | bool
    ) -> requests.Response | None:
        """POST like ``wp_safe_remote_post``: refused ports never leave the shop (``http_request_failed``)."""
        target = urlsplit(url)
        port = target.port or (443 if target.scheme == "https" else 80)
        home = urlsplit(self.home_url or "")
        allowed = {*SAFE_PORTS, *self.allowed_ports, home.port or (443 if home.scheme == "https" else 80)}
        if port not in allowed:
            return None
        try:
            return requests.post(url, data=body, headers=dict(headers), timeout=5, verify=verify)
        except requests.RequestException:
            return None

    # -- the API ----------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("fake_woocommerce")
        app.before_request(self._authenticate)
        base = "/wp-json/wc/v3"
        app.add_url_rule(f"{base}/orders", "orders", self._list_orders, methods=["GET"])
        app.add_url_rule(f"{base}/orders/<int:order_id>", "order", self._get_order, methods=["GET"])
        app.add_url_rule(
            f"{base}/orders/<int:order_id>", "update", self._update_order, methods=["PUT", "POST"]
        )
        app.add_url_rule(f"{base}/orders/<int:order_id>", "delete", self._delete_order, methods=["DELETE"])
        app.add_url_rule(f"{base}/orders/<int:order_id>/notes", "notes", self._notes, methods=["GET", "POST"])
        app.add_url_rule(
            f"{base}/orders/<int:order_id>/refunds", "refunds", self._refunds, methods=["GET", "POST"]
        )
        app.add_url_rule(f"{base}/payment_gateways", "gateways", self._gateways, methods=["GET"])
        app.add_url_rule("/wp-json/", "index", self._index, methods=["GET"])
        app.add_url_rule(f"{base}/webhooks", "webhooks", self._webhooks, methods=["GET", "POST"])
        app.add_url_rule(
            f"{base}/webhooks/<int:webhook_id>", "webhook", self._update_webhook, methods=["PUT", "DELETE"]
        )
        plugin = "/wp-json/wc-claimbridge/v1"
        app.add_url_rule(f"{plugin}/status", "plugin_status", self._plugin_status, methods=["GET"])
        app.add_url_rule(f"{plugin}/notices", "notices", self._notices, methods=["POST"])
        app.add_url_rule(
            f"{plugin}/dunning-notices", "dunning_notices", self._dunning_notices, methods=["POST"]
        )
        for status in (404, 405):
            app.register_error_handler(status, self._no_route)
        return app

    @staticmethod
    def _no_route(_: Exception) -> Response:
        return wp_error(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _authenticate(self) -> Response | None:
        if request.path == "/wp-json/":
            return None  # the REST index is public
        if self.is_ssl:
            auth = request.authorization
            key = auth.username if auth and auth.type == "basic" else request.args.get("consumer_key")
            secret = auth.password if auth and auth.type == "basic" else request.args.get("consumer_secret")
            if key and secret:
                if not hmac.compare_digest(key, self.consumer_key):
                    return self._auth_error("Consumer key is invalid.")
                if not hmac.compare_digest(secret, self.consumer_secret):
                    return self._auth_error("Consumer secret is invalid.")
                return self._check_permissions()
        # PHP's $_GET/$_POST: the last value of a repeated key wins.
        params = {key: request.args.getlist(key)[-1] for key in request.args}
        params.update({key: request.form.getlist(key)[-1] for key in request.form})
        if not any(params.get(name) for name in OAUTH_PARAMS):
            return wp_error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        missing = [name for name in OAUTH_PARAMS if not params.get(name)]
        if missing:
            return self._auth_error(
                f"Missing OAuth parameter{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                code="woocommerce_rest_authentication_missing_parameter",
            )
        if not hmac.compare_digest(params["oauth_consumer_key"], self.consumer_key):
            return self._auth_error("Consumer key is invalid.")
        if params["oauth_signature_method"] not in HASHES:
            return self._auth_error("Invalid signature - signature method is invalid.")
        expected = woocommerce_signature(request.method, self._base_url(), params, self.consumer_secret)
        provided = params["oauth_signature"].replace(" ", "+")
        if not hmac.compare_digest(expected, provided):
            return self._auth_error("Invalid signature - provided signature does not match.")
        return self._check_timestamp_and_nonce(params["oauth_timestamp"], params["oauth_nonce"])

    def _base_url(self) -> str:
        home = urlsplit(self.home_url or request.host_url)
        scheme = "https" if self.is_ssl else "http"  # get_home_url(null, path, is_ssl() ? 'https' : 'http')
        home_path = home.path.rstrip("/")
        path = request.path[len(home_path) :] if request.path.startswith(home_path) else request.path
        return f"{scheme}://{home.netloc}{home_path}{path}"

    def _check_timestamp_and_nonce(self, timestamp: str, nonce: str) -> Response | None:
        now = self.clock.timestamp()
        try:
            stamp = int(timestamp)
        except ValueError:
            return self._auth_error("Invalid timestamp.")
        if stamp < now - TIMESTAMP_WINDOW or stamp > now + TIMESTAMP_WINDOW:
            return self._auth_error("Invalid timestamp.")
        with self._lock:
            if nonce in self._used_nonces.values():
                return self._auth_error("Invalid nonce - nonce has already been used.")
            self._used_nonces[timestamp] = nonce
            for used_at in [t for t in self._used_nonces if int(t) < now - TIMESTAMP_WINDOW]:
                del self._used_nonces[used_at]
        return self._check_permissions()

    def _check_permissions(self) -> Response | None:
        needed = "read" if request.method in ("GET", "HEAD") else "write"
        if needed not in self.key_permissions:
            return wp_error(
                401,
                "woocommerce_rest_authentication_error",
                f"The API key provided does not have {needed} permissions.",
            )
        return None

    def _auth_error(self, message: str, *, code: str = "woocommerce_rest_authentication_error") -> Response:
        with self._lock:
            self.auth_failures.append(message)
        return wp_error(401, code, message)

    def _render(self, order_id: int) -> dict[str, Any]:
        dates = self._dates[order_id]
        rendered = dict(self.orders[order_id])
        for name in ("created", "modified", "paid"):
            rendered[f"date_{name}"] = wc_datetime(dates[name], self.zone)
            rendered[f"date_{name}_gmt"] = wc_datetime(dates[name])
        rendered["needs_payment"] = rendered["status"] in ("pending", "failed")
        rendered["refunds"] = [
            {"id": r["id"], "reason": r["reason"], "total": f"-{r['amount']}"}
            for r in reversed(self.refunds[order_id])  # WC_Order::get_refunds(): newest first
        ]
        return rendered

    def _order_or_404(self, order_id: int) -> Response | None:
        if order_id not in self.orders:
            return wp_error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return None

    def _parse_date(self, value: str, gmt: bool) -> datetime:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC if gmt else self.zone)
        return parsed

    def _list_orders(self) -> Response:
        args = request.args
        per_page = int(args.get("per_page", 10))
        page = int(args.get("page", 1))
        if not 1 <= per_page <= 100:
            return wp_error(
                400, "rest_invalid_param", "Invalid parameter(s): per_page", params={"per_page": ""}
            )
        gmt = args.get("dates_are_gmt") in ("true", "1")
        with self._lock:
            ids = list(self.orders)
            statuses = args.get("status", "any").split(",")
            if "any" not in statuses:
                ids = [i for i in ids if self.orders[i]["status"] in statuses]
            else:
                # WordPress' "any" skips statuses excluded from search: trash (and drafts).
                ids = [i for i in ids if self.orders[i]["status"] not in ("checkout-draft", "trash")]
            if "include" in args:
                wanted = {int(i) for i in args["include"].split(",") if i}
                ids = [i for i in ids if i in wanted]
            if "modified_after" in args:
                since = self._parse_date(args["modified_after"], gmt)
                ids = [i for i in ids if self._dates[i]["modified"] > since]
            if "modified_before" in args:
                until = self._parse_date(args["modified_before"], gmt)
                ids = [i for i in ids if self._dates[i]["modified"] < until]
            orderby = args.get("orderby", "date")
            sort_keys = {
                "id": lambda i: i,
                "date": lambda i: (self._dates[i]["created"], i),
                "modified": lambda i: (self._dates[i]["modified"], i),
            }
            ids.sort(key=sort_keys[orderby], reverse=args.get("order", "desc") == "desc")
            total = len(ids)
            total_pages = -(-total // per_page)
            if total and page > total_pages:
                return wp_error(
                    400,
                    "woocommerce_rest_invalid_page_number",
                    "The page number requested is larger than the number of pages available.",
                )
            body = [self._render(i) for i in ids[(page - 1) * per_page : page * per_page]]
        response = jsonify(body)
        response.headers["X-WP-Total"] = str(total)
        response.headers["X-WP-TotalPages"] = str(total_pages)
        return response

    def _get_order(self, order_id: int) -> Response:
        with self._lock:
            return self._order_or_404(order_id) or jsonify(self._render(order_id))

    def _update_order(self, order_id: int) -> Response:
        payload = request.get_json(force=True) or {}
        with self._lock:
            missing = self._order_or_404(order_id)
            if missing is not None:
                return missing
            order = self.orders[order_id]
            status = payload.get("status")
            if status is not None and status not in ORDER_STATUSES:
                return wp_error(
                    400, "rest_invalid_param", "Invalid parameter(s): status", params={"status": ""}
                )
            for entry in payload.get("meta_data", []):
                self._upsert_meta(order, entry)
            props_changed = status is not None and status != order["status"]
            if props_changed:
                order["status"] = status
                if status in PAID_STATUSES and self._dates[order_id]["paid"] is None:
                    self._dates[order_id]["paid"] = self.clock.now()
            if props_changed or self.storage == "hpos":
                self._dates[order_id]["modified"] = self.clock.now()
            return jsonify(self._render(order_id))

    def _delete_order(self, order_id: int) -> Response:
        with self._lock:
            missing = self._order_or_404(order_id)
            if missing is not None:
                return missing
            rendered = self._render(order_id)
        if request.args.get("force") in ("true", "1"):
            self.delete_order(order_id)
        else:
            self.trash_order(order_id)
            rendered = self.order(order_id)
        return jsonify(rendered)

    def _refunds(self, order_id: int) -> Response:
        with self._lock:
            missing = self._order_or_404(order_id)
            if missing is not None:
                return missing
            if request.method == "GET":
                return jsonify([self._render_refund(r) for r in reversed(self.refunds[order_id])])
        payload = request.get_json(force=True) or {}
        try:
            amount = Decimal(str(payload.get("amount", "0")))
        except ArithmeticError:
            amount = Decimal("-1")
        if amount <= 0:
            return wp_error(
                400, "woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero."
            )
        refund_id = self.refund(order_id, str(amount), reason=str(payload.get("reason") or ""))
        with self._lock:
            refund = next(r for r in self.refunds[order_id] if r["id"] == refund_id)
            response = jsonify(self._render_refund(refund))
        response.status_code = 201
        return response

    def _render_refund(self, refund: Mapping[str, Any]) -> dict[str, Any]:
        # src/Internal/DataStores/Orders/OrdersTableRefundDataStore.php read_multiple() sets amount and reason
        # after init_order_record() marked the refund read (pending changes), and the refunds controller's
        # get_formatted_item_data() renders get_data(): on HPOS every refund object says 0.00 and "".
        hpos = self.storage == "hpos"
        return {
            "id": refund["id"],
            "date_created": wc_datetime(refund["created"], self.zone),
            "date_created_gmt": wc_datetime(refund["created"]),
            "amount": "0.00" if hpos else refund["amount"],
            "reason": "" if hpos else refund["reason"],
            "refunded_by": 1,
            "refunded_payment": False,
        }

    def _gateways(self) -> Response:
        return jsonify(
            [
                {"id": gateway_id, "title": title, "description": "", "order": n, "enabled": True}
                for n, (gateway_id, title) in enumerate(self.gateways)
            ]
        )

    def _index(self) -> Response:
        home = self.home_url or request.host_url.rstrip("/")
        return jsonify(name="ClaimBridge Test Shop", url=home, home=home, namespaces=["wc/v3"])

    def _upsert_meta(self, order: dict[str, Any], entry: Mapping[str, Any]) -> None:
        for existing in order["meta_data"]:
            same_id = "id" in entry and existing["id"] == entry["id"]
            if same_id or ("id" not in entry and existing["key"] == entry["key"]):
                existing["value"] = entry.get("value")
                return
        order["meta_data"].append(
            {"id": next(self._meta_ids), "key": entry["key"], "value": entry.get("value")}
        )

    def _notes(self, order_id: int) -> Response:
        with self._lock:
            missing = self._order_or_404(order_id)
            if missing is not None:
                return missing
            if request.method == "GET":
                return jsonify(self.notes[order_id])
            payload = request.get_json(force=True) or {}
            if not payload.get("note"):
                return wp_error(
                    400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"]
                )
            note = {
                "id": next(self._meta_ids),
                "author": "WooCommerce",
                "date_created_gmt": wc_datetime(self.clock.now()),
                "note": payload["note"],
                "customer_note": bool(payload.get("customer_note", False)),
                "added_by_user": False,
            }
            self.notes[order_id].append(note)
        response = jsonify(note)
        response.status_code = 201
        return response

    def _webhooks(self) -> Response:
        with self._lock:
            if request.method == "GET":
                return jsonify([self._render_webhook(hook) for hook in self.webhooks.values()])
            payload = request.get_json(force=True) or {}
            if not payload.get("topic") or not payload.get("delivery_url"):
                return wp_error(
                    400, "rest_missing_callback_param", "Missing parameter(s): topic, delivery_url"
                )
            webhook_id = next(self._ids)
            self.webhooks[webhook_id] = {
                "id": webhook_id,
                "name": payload.get("name", ""),
                "status": payload.get("status", "active"),
                "topic": payload["topic"],
                "delivery_url": payload["delivery_url"],
                "secret": payload.get("secret", ""),
                "failure_count": 0,
            }
            response = jsonify(self._render_webhook(self.webhooks[webhook_id]))
        self.send_ping(webhook_id)  # Version1 webhooks controller create_item(): $webhook->deliver_ping()
        response.status_code = 201
        return response

    def _update_webhook(self, webhook_id: int) -> Response:
        with self._lock:
            if webhook_id not in self.webhooks:
                return wp_error(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
            if request.method == "DELETE":
                if request.args.get("force") not in ("true", "1"):
                    return wp_error(
                        501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing."
                    )
                return jsonify(self._render_webhook(self.webhooks.pop(webhook_id)))
            payload = request.get_json(silent=True) or {}
            hook = self.webhooks[webhook_id]
            hook.update(
                {k: payload[k] for k in ("name", "status", "topic", "delivery_url", "secret") if k in payload}
            )
            return jsonify(self._render_webhook(hook))

    @staticmethod
    def _render_webhook(hook: Mapping[str, Any]) -> dict[str, Any]:
        resource, _, event = hook["topic"].partition(".")
        shown = {k: v for k, v in hook.items() if k not in ("secret", "failure_count")}
        return {**shown, "resource": resource, "event": event, "hooks": [f"woocommerce_{resource}_{event}"]}

    def _plugin_status(self) -> Response:
        if not self.plugin_installed:
            return self._no_route(LookupError())
        return jsonify(
            plugin_version="0.1.0",
            woocommerce_version="7.9.0",
            wordpress_version="6.1.9",
            storage=self.storage,
            routes=["notices", "dunning-notices"],
        )

    def _notices(self) -> Response:
        if not self.plugin_installed:
            return self._no_route(LookupError())
        payload = request.get_json(force=True) or {}
        # plugins/woocommerce/claimbridge/includes/class-claimbridge-rest-controller.php create_notice():
        # message, level and idempotency_key required (WordPress answers 400 rest_missing_callback_param),
        # order_id optional (a shop-wide notice) but must name an order.
        missing = [p for p in ("message", "level", "idempotency_key") if not payload.get(p)]
        if missing:
            return wp_error(400, "rest_missing_callback_param", f"Missing parameter(s): {', '.join(missing)}")
        with self._lock:
            if "order_id" in payload and payload["order_id"] not in self.orders:
                return wp_error(
                    404, "claimbridge_order_not_found", f"Order {payload['order_id']} does not exist."
                )
            key = payload["idempotency_key"]
            for n, earlier in enumerate(self.notices, start=1):
                if earlier.get("idempotency_key") == key:
                    return jsonify(id=n)
            self.notices.append(payload)
            response = jsonify(id=len(self.notices))
        response.status_code = 201
        return response

    def _dunning_notices(self) -> Response:
        if not self.plugin_installed:
            return self._no_route(LookupError())
        payload = request.get_json(force=True) or {}
        with self._lock:
            earlier = self.dunning_notices.get(payload.get("notice_id"))
            if earlier is not None:
                return jsonify(message_id=earlier["message_id"], sent_at=earlier["sent_at"])
            if not self.email_enabled:
                return wp_error(
                    409, "claimbridge_email_disabled", "The ClaimBridge dunning e-mail is disabled."
                )
            sent = {
                **payload,
                "message_id": f"<{payload.get('notice_id')}@shop.test>",
                "sent_at": wc_datetime(self.clock.now()) + "+00:00",
            }
            self.dunning_notices[str(payload.get("notice_id"))] = sent
            response = jsonify(message_id=sent["message_id"], sent_at=sent["sent_at"])
        response.status_code = 201
        return response

    def order_dates(self, order_id: int) -> dict[str, datetime | None]:
        """Return the created/modified/paid timestamps (aware UTC) of an order."""
        return dict(self._dates[order_id])
