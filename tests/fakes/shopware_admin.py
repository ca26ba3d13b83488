"""A fake Shopware 6 Admin API that behaves as ../shared/protocols/shopware.md documents, errors included.

It issues 600-second bearer tokens (client credentials, form or JSON body, or Basic client auth) against a
``FakeClock`` so tests can expire them; answers 401 with Shopware's error JSON for missing, unknown or
expired tokens; searches orders with criteria (``equals``, ``equalsAny``, ``range``, ``multi``, ``not`` on
dotted paths, to-many paths match when any element matches; ``ids``, ``sort``, ``page``, ``limit``,
``total-count-mode``); transitions payment states through Shopware's order_transaction state machine and
refuses illegal transitions with ``SYSTEM__ILLEGAL_STATE_TRANSITION``; merges custom fields on orders and
customers; records notifications; resolves countries; keeps order documents (``document`` entities searched
with the same criteria, files downloaded from ``GET /api/_action/document/{id}/{deepLinkCode}``: 404
``DOCUMENT__DOCUMENT_NOT_FOUND`` for an unknown id or code, 204 when the document has no file yet).

Usage::

    shop = FakeShopwareAdmin()
    order_id = shop.add_order(total="119.00", payment_state="open")
    with shop.serve() as server:           # a FakeServer (fault injection, request log)
        connector = ShopwareConnector(server.url, shop.client_id, shop.client_secret, allow_private=True)
        ...
    assert shop.payment_state(order_id) == "paid"
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask, Response, jsonify, request

from tests.fakes.server import FakeClock, FakeServer

TOKEN_LIFETIME = 600

# order_transaction state machine: state -> {transition action: next state}.
PAYMENT_TRANSITIONS: dict[str, dict[str, str]] = {
    "open": {
        "do_pay": "in_progress",
        "paid": "paid",
        "paid_partially": "paid_partially",
        "cancel": "cancelled",
        "remind": "reminded",
        "fail": "failed",
        "authorize": "authorized",
        "process_unconfirmed": "unconfirmed",
    },
    "reminded": {
        "do_pay": "in_progress",
        "paid": "paid",
        "paid_partially": "paid_partially",
        "cancel": "cancelled",
        "reopen": "open",
    },
    "in_progress": {
        "paid": "paid",
        "paid_partially": "paid_partially",
        "cancel": "cancelled",
        "fail": "failed",
    },
    "paid_partially": {
        "paid": "paid",
        "remind": "reminded",
        "refund": "refunded",
        "refund_partially": "refunded_partially",
        "cancel": "cancelled",
        "reopen": "open",
    },
    "paid": {
        "refund": "refunded",
        "refund_partially": "refunded_partially",
        "cancel": "cancelled",
        "chargeback": "chargeback",
        "reopen": "open",
    },
    "refunded_partially": {"refund": "refunded", "cancel": "cancelled", "reopen": "open"},
    "refunded": {"reopen": "open"},
    "cancelled": {"reopen": "open"},
    "failed": {"paid": "paid", "paid_partially": "paid_partially", "cancel": "cancelled", "reopen": "open"},
    "chargeback": {"paid": "paid", "paid_partially": "paid_partially", "cancel": "cancelled"},
    "authorized": {
        "paid": "paid",
        "paid_partially": "paid_partially",
        "cancel": "cancelled",
        "fail": "failed",
    },
    "unconfirmed": {
        "paid": "paid",
        "paid_partially": "paid_partially",
        "cancel": "cancelled",
        "fail": "failed",
    },
}

COUNTRIES = {"DE": "Germany", "AT": "Austria", "CH": "Switzerland", "NL": "Netherlands", "FR": "France"}


def shopware_id() -> str:
    """Return a new id the way Shopware formats them (32 lowercase hex digits)."""
    return uuid.uuid4().hex


def shopware_datetime(value: datetime) -> str:
    """Format a datetime the way the Admin API serialises it."""
    return value.isoformat(timespec="milliseconds")


def shopware_error(status: int, code: str, detail: str, title: str, **parameters: Any) -> Response:
    """Return an error response in Shopware's JSON format."""
    body = {
        "errors": [
            {
                "status": str(status),
                "code": code,
                "title": title,
                "detail": detail,
                "meta": {"parameters": parameters},
            }
        ]
    }
    response = jsonify(body)
    response.status_code = status
    return response


class FakeShopwareAdmin:
    """In-memory Shopware shop with an Admin API; seed it, serve it, inspect it."""

    def __init__(
        self,
        *,
        client_id: str = "SWIAEXAMPLECLIENTID0000000",
        client_secret: str = "example-integration-secret-0123456789abcdef",
        clock: FakeClock | None = None,
        token_lifetime: int = TOKEN_LIFETIME,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock or FakeClock()
        self.token_lifetime = token_lifetime
        self.orders: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.countries: dict[str, str] = {}
        self.notifications: list[dict[str, Any]] = []
        self.documents: dict[str, dict[str, Any]] = {}
        self.document_files: dict[str, bytes] = {}
        self.transitions: list[tuple[str, str]] = []
        self.tokens_issued = 0
        self.country_lookups = 0
        self._tokens: dict[str, datetime] = {}
        self._numbers = itertools.count(10000)
        self._lock = threading.RLock()
        for iso in COUNTRIES:
            self.countries[shopware_id()] = iso
        self.app = self._build_app()

    # -- seeding and inspection -------------------------------------------------------------------

    def country_id(self, iso: str) -> str:
        """Return the id of the country with ISO code ``iso``."""
        return next(cid for cid, code in self.countries.items() if code == iso)

    def add_customer(self, *, email: str = "erika@example.com", guest: bool = False) -> str:
        """Create a customer; return its id."""
        customer_id = shopware_id()
        self.customers[customer_id] = {
            "id": customer_id,
            "email": email,
            "guest": guest,
            "customFields": None,
        }
        return customer_id

    def add_order(
        self,
        *,
        total: str = "119.00",
        currency: str = "EUR",
        payment_method: str = "payment_invoicepayment",
        payment_state: str = "open",
        order_state: str = "open",
        created_at: datetime | None = None,
        email: str = "erika@example.com",
        first_name: str = "Erika",
        last_name: str = "Mustermann",
        company: str | None = None,
        street: str = "Musterstraße 12a",
        zipcode: str = "10115",
        city: str = "Berlin",
        country: str = "DE",
        phone: str | None = "+49 30 1234567",
        guest: bool = False,
        custom_fields: Mapping[str, Any] | None = None,
        invoice_created_at: datetime | None = None,
    ) -> str:
        """Create an order with one transaction, one delivery and one line item; return its id."""
        created = created_at or self.clock.now()
        order_id = shopware_id()
        customer_id = self.add_customer(email=email, guest=guest)
        address = {
            "id": shopware_id(),
            "firstName": first_name,
            "lastName": last_name,
            "company": company,
            "street": street,
            "zipcode": zipcode,
            "city": city,
            "countryId": self.country_id(country),
            "phoneNumber": phone,
        }
        order = {
            "id": order_id,
            "orderNumber": str(next(self._numbers)),
            "orderDateTime": shopware_datetime(created),
            "createdAt": shopware_datetime(created),
            "updatedAt": None,
            "amountTotal": float(Decimal(total)),
            "currency": {"id": shopware_id(), "isoCode": currency},
            "stateMachineState": {"technicalName": order_state},
            "orderCustomer": {
                "email": email,
                "firstName": first_name,
                "lastName": last_name,
                "company": company,
                "customerId": customer_id,
                "customer": self.customers[customer_id],
            },
            "billingAddress": address,
            "deliveries": [{"id": shopware_id(), "shippingOrderAddress": dict(address, id=shopware_id())}],
            "lineItems": [
                {
                    "id": shopware_id(),
                    "label": "Kaffeemühle",
                    "quantity": 1,
                    "unitPrice": float(Decimal(total)),
                    "totalPrice": float(Decimal(total)),
                    "payload": {"productNumber": "SW-1001"},
                }
            ],
            "transactions": [],
            "documents": [],
            "customFields": dict(custom_fields) if custom_fields else None,
        }
        if invoice_created_at is not None:
            order["documents"].append(
                {
                    "createdAt": shopware_datetime(invoice_created_at),
                    "documentType": {"technicalName": "invoice"},
                }
            )
        with self._lock:
            self.orders[order_id] = order
        self.add_transaction(order_id, payment_method=payment_method, state=payment_state, created_at=created)
        return order_id

    def add_document(
        self,
        order_id: str,
        *,
        content: bytes | None = b"%PDF-1.4 fake invoice",
        document_type: str = "invoice",
        number: str = "1000",
        created_at: datetime | None = None,
    ) -> str:
        """Attach a document to an order (``content=None``: not rendered to a file yet); return its id."""
        document_id = shopware_id()
        created = shopware_datetime(created_at or self.clock.now())
        document = {
            "id": document_id,
            "orderId": order_id,
            "deepLinkCode": secrets.token_urlsafe(24),
            "fileType": "pdf",
            "createdAt": created,
            "config": {"documentNumber": number},
            "documentType": {"technicalName": document_type},
        }
        with self._lock:
            self.documents[document_id] = document
            if content is not None:
                self.document_files[document_id] = content
            self.orders[order_id]["documents"].append(
                {"id": document_id, "createdAt": created, "documentType": {"technicalName": document_type}}
            )
        return document_id

    def add_transaction(
        self, order_id: str, *, payment_method: str, state: str = "open", created_at: datetime | None = None
    ) -> str:
        """Add a payment transaction (the newest one is the order's current payment); return its id."""
        transaction_id = shopware_id()
        order = self.orders[order_id]
        with self._lock:
            order["transactions"].append(
                {
                    "id": transaction_id,
                    "createdAt": shopware_datetime(created_at or self.clock.now()),
                    "updatedAt": None,
                    "amount": {"totalPrice": order["amountTotal"]},
                    "paymentMethod": {"id": shopware_id(), "technicalName": payment_method},
                    "stateMachineState": {"technicalName": state},
                }
            )
        return transaction_id

    def touch(self, order_id: str, when: datetime | None = None) -> None:
        """Mark the order as changed (now, or at ``when``) as any write in the shop would."""
        with self._lock:
            self.orders[order_id]["updatedAt"] = shopware_datetime(when or self.clock.now())

    def order(self, order_id: str) -> dict[str, Any]:
        """Return the stored order (a live reference)."""
        return self.orders[order_id]

    def payment_state(self, order_id: str) -> str:
        """Return the technical name of the order's current (newest) transaction state."""
        return self._current_transaction(self.orders[order_id])["stateMachineState"]["technicalName"]

    def expire_tokens(self) -> None:
        """Move the clock past every issued token's lifetime."""
        self.clock.advance(self.token_lifetime + 1)

    @contextmanager
    def serve(self, *, tls: bool = False) -> Iterator[FakeServer]:
        """Serve the Admin API on a free loopback port."""
        with FakeServer(self.app, tls=tls) as server:
            yield server

    # -- the API ----------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("fake_shopware_admin")
        app.before_request(self._authenticate)
        app.add_url_rule("/api/oauth/token", "token", self._token, methods=["POST"])
        app.add_url_rule("/api/_info/version", "version", lambda: jsonify(version="6.6.10.0"))
        app.add_url_rule("/api/search/order", "search_order", self._search_orders, methods=["POST"])
        app.add_url_rule("/api/search/country", "search_country", self._search_countries, methods=["POST"])
        app.add_url_rule("/api/search/document", "search_document", self._search_documents, methods=["POST"])
        app.add_url_rule(
            "/api/_action/document/<document_id>/<deep_link_code>",
            "download_document",
            self._download_document,
        )
        app.add_url_rule(
            "/api/_action/order_transaction/<transaction_id>/state/<transition>",
            "transition",
            self._transition,
            methods=["POST"],
        )
        app.add_url_rule("/api/order/<order_id>", "patch_order", self._patch_order, methods=["PATCH"])
        app.add_url_rule(
            "/api/customer/<customer_id>", "patch_customer", self._patch_customer, methods=["PATCH"]
        )
        app.add_url_rule("/api/notification", "notification", self._notify, methods=["POST"])
        return app

    def _authenticate(self) -> Response | None:
        if request.path == "/api/oauth/token":
            return None
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        with self._lock:
            expires_at = self._tokens.get(token) if token else None
        if expires_at is None or expires_at <= self.clock.now():
            return shopware_error(
                401,
                "9",
                "The resource owner or authorization server denied the request.",
                "Unauthorized",
            )
        return None

    def _token(self) -> Response:
        data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
        data = data or {}
        client_id, client_secret = data.get("client_id"), data.get("client_secret")
        if request.authorization is not None and request.authorization.type == "basic":
            client_id, client_secret = request.authorization.username, request.authorization.password
        if data.get("grant_type") != "client_credentials":
            return shopware_error(400, "2", "The authorization grant type is not supported.", "Bad Request")
        if not (
            client_id
            and client_secret
            and secrets.compare_digest(client_id, self.client_id)
            and secrets.compare_digest(client_secret, self.client_secret)
        ):
            return shopware_error(401, "4", "Client authentication failed", "Unauthorized")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self.clock.now() + timedelta(seconds=self.token_lifetime)
            self.tokens_issued += 1
        return jsonify(token_type="Bearer", expires_in=self.token_lifetime, access_token=token)

    def _search_orders(self) -> Response:
        with self._lock:
            candidates = list(self.orders.values())
        return self._search(candidates)

    def _search_documents(self) -> Response:
        with self._lock:
            candidates = list(self.documents.values())
        return self._search(candidates)

    def _download_document(self, document_id: str, deep_link_code: str) -> Response:
        with self._lock:
            document = self.documents.get(document_id)
            content = self.document_files.get(document_id)
        if document is None or not secrets.compare_digest(document["deepLinkCode"], deep_link_code):
            return shopware_error(
                404,
                "DOCUMENT__DOCUMENT_NOT_FOUND",
                f'The document with id "{document_id}" is invalid or could not be found.',
                "Not Found",
                documentId=document_id,
            )
        if content is None:
            return Response(status=204)
        name = f"{document['documentType']['technicalName']}_{document['config']['documentNumber']}.pdf"
        disposition = "attachment" if request.args.get("download") in ("1", "true") else "inline"
        return Response(
            content,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
        )

    def _search(self, candidates: list[dict[str, Any]]) -> Response:
        criteria = request.get_json(force=True) or {}
        if criteria.get("ids"):
            wanted = set(criteria["ids"])
            candidates = [order for order in candidates if order["id"] in wanted]
        matches = [
            order for order in candidates if all(_matches(order, f) for f in criteria.get("filter", []))
        ]
        for sort in reversed(criteria.get("sort", [])):
            matches.sort(
                key=lambda order, s=sort: _sort_key(_values(order, s["field"])),
                reverse=sort.get("order", "ASC").upper() == "DESC",
            )
        limit = int(criteria.get("limit") or 500)
        page = int(criteria.get("page") or 1)
        data = matches[(page - 1) * limit : page * limit]
        total = len(matches) if int(criteria.get("total-count-mode", 0)) == 1 else len(data)
        return jsonify(total=total, data=json.loads(json.dumps(data)), aggregations=[])

    def _search_countries(self) -> Response:
        criteria = request.get_json(force=True) or {}
        self.country_lookups += 1
        ids = criteria.get("ids") or list(self.countries)
        data = [
            {"id": cid, "iso": self.countries[cid], "name": COUNTRIES[self.countries[cid]]} for cid in ids
        ]
        return jsonify(total=len(data), data=data, aggregations=[])

    def _transition(self, transaction_id: str, transition: str) -> Response:
        with self._lock:
            found = [
                transaction
                for order in self.orders.values()
                for transaction in order["transactions"]
                if transaction["id"] == transaction_id
            ]
            if not found:
                return shopware_error(
                    400,
                    "SYSTEM__STATE_MACHINE_INVALID_ENTITY_ID",
                    f'Unable to read entity "order_transaction" with id "{transaction_id}".',
                    "Bad Request",
                    entityName="order_transaction",
                    entityId=transaction_id,
                )
            transaction = found[0]
            current = transaction["stateMachineState"]["technicalName"]
            possible = PAYMENT_TRANSITIONS.get(current, {})
            if transition not in possible:
                return shopware_error(
                    400,
                    "SYSTEM__ILLEGAL_STATE_TRANSITION",
                    f'Illegal transition "{transition}" from state "{current}". '
                    f"Possible transitions are: {', '.join(possible)}",
                    "Bad Request",
                    currentState=current,
                    transition=transition,
                    possibleTransitions=list(possible),
                )
            body = request.get_json(silent=True) or {}
            transaction["stateMachineState"] = {"technicalName": possible[transition]}
            transaction["updatedAt"] = shopware_datetime(self.clock.now())
            self.transitions.append((transaction_id, transition))
            transaction.setdefault("mailsSent", []).append(bool(body.get("sendMail", True)))
        return jsonify(id=shopware_id(), technicalName=possible[transition])

    def _patch_order(self, order_id: str) -> Response:
        return self._patch(self.orders, "order", order_id)

    def _patch_customer(self, customer_id: str) -> Response:
        return self._patch(self.customers, "customer", customer_id)

    def _patch(self, store: dict[str, dict[str, Any]], entity: str, entity_id: str) -> Response:
        payload = request.get_json(force=True) or {}
        with self._lock:
            if entity_id not in store:
                return shopware_error(
                    404,
                    "FRAMEWORK__RESOURCE_NOT_FOUND",
                    f"The {entity} resource with the following primary key was not found: id({entity_id})",
                    "Not Found",
                    type=entity,
                    primaryKey=f"id({entity_id})",
                )
            record = store[entity_id]
            if "customFields" in payload:
                record["customFields"] = {**(record.get("customFields") or {}), **payload["customFields"]}
            if entity == "order":
                record["updatedAt"] = shopware_datetime(self.clock.now())
        return Response(status=204)

    def _notify(self) -> Response:
        payload = request.get_json(force=True) or {}
        if not payload.get("message") or payload.get("status") not in {"info", "success", "error", "warning"}:
            return shopware_error(
                400, "FRAMEWORK__WRITE_CONSTRAINT_VIOLATION", "Invalid notification", "Bad Request"
            )
        with self._lock:
            self.notifications.append(payload)
        return Response(status=204)

    @staticmethod
    def _current_transaction(order: Mapping[str, Any]) -> dict[str, Any]:
        return max(order["transactions"], key=lambda t: (t["createdAt"], t["id"]))


# -- criteria evaluation ---------------------------------------------------------------------------


def _values(entity: Any, path: str) -> list[Any]:
    """Collect the values at a dotted path; to-many associations fan out."""
    current = [entity]
    for part in path.split("."):
        following: list[Any] = []
        for item in current:
            if isinstance(item, list):
                following.extend(element.get(part) for element in item if isinstance(element, dict))
            elif isinstance(item, dict):
                following.append(item.get(part))
        current = following
    flattened: list[Any] = []
    for value in current:
        flattened.extend(value if isinstance(value, list) else [value])
    return flattened


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace(" ", "T").replace("Z", "+00:00"))
        except ValueError:
            return value
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def _sort_key(values: list[Any]) -> tuple[bool, Any]:
    value = values[0] if values else None
    return (value is None, _comparable(value) if value is not None else "")


def _matches(entity: Any, criterion: Mapping[str, Any]) -> bool:
    kind = criterion["type"]
    if kind in ("multi", "not"):
        results = [_matches(entity, query) for query in criterion["queries"]]
        combined = any(results) if criterion.get("operator", "and").lower() == "or" else all(results)
        return not combined if kind == "not" else combined
    values = _values(entity, criterion["field"])
    if kind == "equals":
        return criterion["value"] in values
    if kind == "equalsAny":
        wanted = criterion["value"]
        wanted = wanted.split("|") if isinstance(wanted, str) else wanted
        return any(value in wanted for value in values)
    if kind == "range":
        bounds = {op: _comparable(limit) for op, limit in criterion["parameters"].items()}
        checks = {
            "gt": lambda v, b: v > b,
            "gte": lambda v, b: v >= b,
            "lt": lambda v, b: v < b,
            "lte": lambda v, b: v <= b,
        }
        return any(
            value is not None and all(checks[op](_comparable(value), bound) for op, bound in bounds.items())
            for value in values
        )
    raise ValueError(f"fake Shopware does not support filter type {kind!r}")
