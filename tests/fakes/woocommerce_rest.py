"""A fake WooCommerce REST API (v3) that authenticates and answers as ../shared/protocols/woocommerce.md says.

Authentication follows WooCommerce's ``WC_REST_Authentication``:

- Over HTTPS (``tls=True``): Basic auth or ``consumer_key``/``consumer_secret`` query parameters.
- Always: one-legged OAuth 1.0a from the query string (and form body). The base string is built from the
  configured WordPress *home URL* (not the Host the client used), the request path, keys sorted with
  ``strcmp`` and RFC 3986 encoding; HMAC-SHA1 or HMAC-SHA256 with ``consumer_secret + "&"``. Then the
  timestamp must lie within ±15 minutes of the fake clock and the nonce must be new (nonces stored per key,
  keyed by timestamp as WooCommerce does); failures answer 401 with ``woocommerce_rest_authentication_error``.
- Without credentials, REST routes answer 401 ``woocommerce_rest_cannot_view``.

Orders support ``status`` (comma-separated or ``any``), ``include``, ``modified_after``/``modified_before``
(site-local unless ``dates_are_gmt=true``), ``page``/``per_page`` (max 100) with ``X-WP-Total`` and
``X-WP-TotalPages``, ``orderby``/``order``. ``PUT`` upserts meta by key, changes status (setting
``date_paid`` on the way to processing/completed like ``WC_Order::maybe_set_date_paid``); notes, webhooks
and the ClaimBridge plugin's ``wc-claimbridge/v1/notices`` route are recorded. ``deliver_webhook`` and
``send_ping`` call a webhook's delivery URL the way WooCommerce does.
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
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.key_permissions = key_permissions
        self.clock = clock or FakeClock()
        self.home_url = home_url
        self.zone = ZoneInfo(timezone)
        self.plugin_installed = plugin_installed
        self.is_ssl = False
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
            self._dates[order_id] = {"created": created, "modified": created, "paid": paid_at}
        return order_id

    def order(self, order_id: int) -> dict[str, Any]:
        """Return the order as the REST API shows it."""
        with self._lock:
            return self._render(order_id)

    def meta(self, order_id: int) -> dict[str, Any]:
        """Return the order's meta as a dict."""
        return {entry["key"]: entry["value"] for entry in self.orders[order_id]["meta_data"]}

    def touch(self, order_id: int, when: datetime | None = None) -> None:
        """Mark the order as modified (now, or at ``when``)."""
        with self._lock:
            self._dates[order_id]["modified"] = when or self.clock.now()

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
    ) -> requests.Response:
        """POST the order to the webhook's delivery URL, signed like ``WC_Webhook::deliver``."""
        hook = self.webhooks[webhook_id]
        body = json.dumps(self.order(order_id)).encode()
        signature = base64.b64encode(
            hmac.new(hook["secret"].encode(), body, hashlib.sha256).digest()
        ).decode()
        resource, _, event = hook["topic"].partition(".")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.5)",
            "X-WC-Webhook-Source": f"{self.home_url}/",
            "X-WC-Webhook-Topic": hook["topic"],
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature,
            "X-WC-Webhook-ID": str(webhook_id),
            "X-WC-Webhook-Delivery-ID": str(int(self.clock.timestamp())),
        }
        return requests.post(hook["delivery_url"], data=body, headers=headers, timeout=5, verify=verify)

    def send_ping(self, webhook_id: int, *, verify: str | bool = True) -> requests.Response:
        """Send the unsigned ``webhook_id=N`` ping WooCommerce sends when a webhook is saved."""
        hook = self.webhooks[webhook_id]
        return requests.post(
            hook["delivery_url"],
            data=f"webhook_id={webhook_id}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=5,
            verify=verify,
        )

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
        app.add_url_rule(f"{base}/orders/<int:order_id>/notes", "notes", self._notes, methods=["GET", "POST"])
        app.add_url_rule(f"{base}/webhooks", "webhooks", self._webhooks, methods=["GET", "POST"])
        app.add_url_rule(
            f"{base}/webhooks/<int:webhook_id>", "webhook", self._update_webhook, methods=["PUT"]
        )
        app.add_url_rule("/wp-json/wc-claimbridge/v1/notices", "notices", self._notices, methods=["POST"])
        for status in (404, 405):
            app.register_error_handler(status, self._no_route)
        return app

    @staticmethod
    def _no_route(_: Exception) -> Response:
        return wp_error(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _authenticate(self) -> Response | None:
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
                ids = [i for i in ids if self.orders[i]["status"] != "checkout-draft"]
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
            if status is not None and status != order["status"]:
                order["status"] = status
                if status in PAID_STATUSES and self._dates[order_id]["paid"] is None:
                    self._dates[order_id]["paid"] = self.clock.now()
            self._dates[order_id]["modified"] = self.clock.now()
            return jsonify(self._render(order_id))

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
            }
            response = jsonify(self._render_webhook(self.webhooks[webhook_id]))
        response.status_code = 201
        return response

    def _update_webhook(self, webhook_id: int) -> Response:
        payload = request.get_json(force=True) or {}
        with self._lock:
            if webhook_id not in self.webhooks:
                return wp_error(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
            hook = self.webhooks[webhook_id]
            hook.update(
                {k: payload[k] for k in ("name", "status", "topic", "delivery_url", "secret") if k in payload}
            )
            return jsonify(self._render_webhook(hook))

    @staticmethod
    def _render_webhook(hook: Mapping[str, Any]) -> dict[str, Any]:
        resource, _, event = hook["topic"].partition(".")
        return {**hook, "resource": resource, "event": event, "hooks": [f"woocommerce_{resource}_{event}"]}

    def _notices(self) -> Response:
        if not self.plugin_installed:
            return self._no_route(LookupError())
        payload = request.get_json(force=True) or {}
        with self._lock:
            self.notices.append(payload)
        response = jsonify(id=len(self.notices), **payload)
        response.status_code = 201
        return response

    def order_dates(self, order_id: int) -> dict[str, datetime | None]:
        """Return the created/modified/paid timestamps (aware UTC) of an order."""
        return dict(self._dates[order_id])
