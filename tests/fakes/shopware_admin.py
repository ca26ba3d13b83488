"""A fake Shopware 6 Admin API that behaves as Shopware's own source does, errors included.

It plays one Shopware version (``FakeShopwareAdmin(version="6.6.4.0")``; 6.6 and 6.7 differ in their payment
transition names) and grants the app integration the privileges of ``plugins/shopware/manifest.xml`` unless
told otherwise, answering 403 ``FRAMEWORK__MISSING_PRIVILEGE_ERROR`` for anything else. It issues 600-second
bearer tokens (client credentials, form or JSON body, or Basic client auth) against a ``FakeClock`` so tests can
expire them; answers 401 with Shopware's error JSON for missing, unknown or expired tokens; searches orders with
criteria (``equals``, ``equalsAny``, ``range``, ``multi``, ``not`` on dotted paths, to-many paths match when any
element matches; ``ids``, ``sort``, ``page``, ``limit``, ``total-count-mode``); transitions payment states
through the version's order_transaction state machine (``cancel`` from every state, a transition into the
current state a 200 no-op, anything else not in the table 400 ``SYSTEM__ILLEGAL_STATE_TRANSITION`` with the
possible transitions) and lists them (``GET /api/_action/state-machine/order_transaction/{id}/state``); merges
custom fields on orders and customers; records notifications (``200 {"id": …}``); resolves countries; keeps
order documents (``document`` entities searched with the same criteria, files downloaded from
``GET /api/_action/document/{id}/{deepLinkCode}``: 404 ``DOCUMENT__DOCUMENT_NOT_FOUND`` for an unknown id or
code, 204 when the document has no file yet). Each rule names the Shopware file it copies.

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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from flask import Flask, Response, jsonify, request

from tests.fakes.server import FakeClock, FakeServer

TOKEN_LIFETIME = 600
DEFAULT_VERSION = "6.6.10.0"
MANIFEST = Path(__file__).resolve().parents[2] / "plugins" / "shopware" / "manifest.xml"

# The order_transaction state machine as Shopware 6.6 installs it: (action, from state, to state) in the order the
# migrations insert the rows, because StateMachineRegistry walks them in that order. Copied from shopware/shopware
# src/Core/Migration/V6_3/Migration1536233560BasicData.php (createOrderTransactionStateMachine),
# V6_3/Migration1580746806AddPaymentStates.php, V6_3/Migration1591361320ChargebackAndAuthorized.php and
# V6_4/Migration1628519513AddUnconfirmedTransactionState.php (unchanged up to 6.6.10).
TRANSACTION_TRANSITIONS_6_6: tuple[tuple[str, str, str], ...] = (
    # Migration1536233560BasicData
    ("pay", "open", "paid"),
    ("pay_partially", "open", "paid_partially"),
    ("cancel", "open", "cancelled"),
    ("remind", "open", "reminded"),
    ("pay", "reminded", "paid"),
    ("pay_partially", "reminded", "paid_partially"),
    ("cancel", "reminded", "cancelled"),
    ("remind", "paid_partially", "reminded"),
    ("pay", "paid_partially", "paid"),
    ("refund_partially", "paid_partially", "refunded_partially"),
    ("refund", "paid_partially", "refunded"),
    ("cancel", "paid_partially", "cancelled"),
    ("refund_partially", "paid", "refunded_partially"),
    ("refund", "paid", "refunded"),
    ("cancel", "paid", "cancelled"),
    ("refund", "refunded_partially", "refunded"),
    ("cancel", "refunded_partially", "cancelled"),
    ("reopen", "cancelled", "open"),
    ("refund", "cancelled", "refunded"),
    ("refund_partially", "cancelled", "refunded_partially"),
    # Migration1580746806AddPaymentStates
    ("reopen", "in_progress", "open"),
    ("fail", "in_progress", "failed"),
    ("cancel", "in_progress", "cancelled"),
    ("paid", "in_progress", "paid"),
    ("paid_partially", "in_progress", "paid_partially"),
    ("pay_partially", "in_progress", "paid_partially"),
    ("reopen", "failed", "open"),
    ("do_pay", "failed", "in_progress"),
    ("pay", "failed", "paid"),
    ("fail", "failed", "failed"),
    ("paid", "failed", "paid"),
    ("paid_partially", "failed", "paid_partially"),
    ("pay_partially", "failed", "paid_partially"),
    ("do_pay", "open", "in_progress"),
    ("fail", "open", "failed"),
    ("reopen", "reminded", "open"),
    ("do_pay", "reminded", "in_progress"),
    ("reopen", "paid_partially", "open"),
    ("do_pay", "paid_partially", "in_progress"),
    ("reopen", "paid", "open"),
    ("reopen", "refunded_partially", "open"),
    # Migration1591361320ChargebackAndAuthorized
    ("authorize", "open", "authorized"),
    ("authorize", "in_progress", "authorized"),
    ("authorize", "reminded", "authorized"),
    ("paid", "authorized", "paid"),
    ("paid_partially", "authorized", "paid_partially"),
    ("fail", "authorized", "failed"),
    ("cancel", "authorized", "cancelled"),
    ("chargeback", "paid", "chargeback"),
    ("chargeback", "paid_partially", "chargeback"),
    ("paid", "chargeback", "paid"),
    ("paid_partially", "chargeback", "paid_partially"),
    ("cancel", "chargeback", "cancelled"),
    # Migration1628519513AddUnconfirmedTransactionState
    ("process_unconfirmed", "open", "unconfirmed"),
    ("process_unconfirmed", "reminded", "unconfirmed"),
    ("process_unconfirmed", "failed", "unconfirmed"),
    ("process_unconfirmed", "cancelled", "unconfirmed"),
    ("process_unconfirmed", "paid_partially", "unconfirmed"),
    ("paid", "unconfirmed", "paid"),
    ("paid_partially", "unconfirmed", "paid_partially"),
    ("fail", "unconfirmed", "failed"),
    ("cancel", "unconfirmed", "cancelled"),
    ("authorize", "unconfirmed", "authorized"),
    ("reopen", "unconfirmed", "open"),
)

# Shopware 6.7 renames pay/pay_partially/do_pay to paid/paid_partially/process
# (src/Core/Migration/V6_7/Migration1742302302RenamePaidTransitionActions.php); played with its destructive step
# applied, so the old names are gone as they will be everywhere.
RENAMED_IN_6_7 = {"pay": "paid", "pay_partially": "paid_partially", "do_pay": "process"}
TRANSACTION_TRANSITIONS_6_7: tuple[tuple[str, str, str], ...] = tuple(
    dict.fromkeys(
        (RENAMED_IN_6_7.get(action, action), source, target)
        for action, source, target in TRANSACTION_TRANSITIONS_6_6
    )
)


def transaction_transitions(version: str) -> tuple[tuple[str, str, str], ...]:
    """Return the order_transaction transitions of a Shopware version ("6.6.4.0", "6.7.0.0")."""
    return TRANSACTION_TRANSITIONS_6_7 if _version_tuple(version) >= (6, 7) else TRANSACTION_TRANSITIONS_6_6


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


# What the Admin API checks before it reads or writes (src/Core/Framework/Api/Acl/AclCriteriaValidator.php for
# searched entities and their associations, the controllers for writes and actions). Only what our connector calls.
# src/Core/Framework/Api/Acl/Role/AclRoleDefinition.php PRIVILEGE_DEPENDENCE: writing implies reading.
PRIVILEGE_DEPENDENCE = {"read": (), "create": ("read",), "update": ("read",), "delete": ("read",)}


def manifest_privileges(manifest: Path = MANIFEST) -> frozenset[str]:
    """Return what a shop grants the app for its manifest's ``<permissions>``, as Shopware parses them.

    Copies src/Core/Framework/App/Manifest/Xml/Permission/Permissions.php (``asParsedPrivileges``): every
    ``<read|create|update|delete>entity`` becomes ``entity:privilege`` plus its dependencies, and every
    ``<permission>`` element is taken as it is (``notification:create``).
    """
    element = ET.parse(manifest).getroot().find("permissions")  # noqa: S314 - our own committed file
    granted: set[str] = set()
    for child in element if element is not None else ():
        entity = (child.text or "").strip()
        if child.tag == "permission":
            granted.add(entity)
            continue
        granted.add(f"{entity}:{child.tag}")
        granted.update(f"{entity}:{implied}" for implied in PRIVILEGE_DEPENDENCE[child.tag])
    return frozenset(granted)


ORDER_ASSOCIATION_ENTITIES = {
    "stateMachineState": "state_machine_state",
    "currency": "currency",
    "orderCustomer": "order_customer",
    "customer": "customer",
    "billingAddress": "order_address",
    "deliveries": "order_delivery",
    "shippingOrderAddress": "order_address",
    "lineItems": "order_line_item",
    "transactions": "order_transaction",
    "paymentMethod": "payment_method",
    "documents": "document",
    "documentType": "document_type",
    "country": "country",
}

COUNTRIES = {"DE": "Germany", "AT": "Austria", "CH": "Switzerland", "NL": "Netherlands", "FR": "France"}


def shopware_id() -> str:
    """Return a new id the way Shopware formats them (32 lowercase hex digits)."""
    return uuid.uuid4().hex


def state_id(technical_name: str) -> str:
    """Return a stable id for a state machine state (the fake's states have no rows of their own)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"order_transaction.state/{technical_name}").hex


def _invalid_transaction(transaction_id: str) -> Response:
    """Answer like StateMachineException::stateMachineInvalidEntityId (src/Core/System/StateMachine)."""
    return shopware_error(
        400,
        "SYSTEM__STATE_MACHINE_INVALID_ENTITY_ID",
        f'Unable to read entity "order_transaction" with id "{transaction_id}".',
        "Bad Request",
        entityName="order_transaction",
        entityId=transaction_id,
    )


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
        version: str = DEFAULT_VERSION,
        privileges: Iterable[str] | None = None,
    ) -> None:
        """Play a shop of ``version`` whose app integration holds ``privileges`` (default: the manifest's)."""
        self.version = version
        self.transaction_transitions = transaction_transitions(version)
        self.privileges = frozenset(manifest_privileges() if privileges is None else privileges)
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

    def add_customer(
        self, *, email: str = "erika@example.com", guest: bool = False, account_type: str = "private"
    ) -> str:
        """Create a customer; return its id."""
        customer_id = shopware_id()
        self.customers[customer_id] = {
            "id": customer_id,
            "email": email,
            "guest": guest,
            # src/Core/Checkout/Customer/CustomerDefinition.php (6.5+): accountType private or business.
            "accountType": account_type,
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
        account_type: str = "private",
        vat_ids: tuple[str, ...] = (),
    ) -> str:
        """Create an order with one transaction, one delivery and one line item; return its id."""
        created = created_at or self.clock.now()
        order_id = shopware_id()
        customer_id = self.add_customer(email=email, guest=guest, account_type=account_type)
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
                # OrderCustomerDefinition.php: vatIds, the VAT ids the customer gave.
                "vatIds": list(vat_ids) or None,
            },
            "billingAddress": address,
            "deliveries": [{"id": shopware_id(), "shippingOrderAddress": dict(address, id=shopware_id())}],
            "lineItems": [
                {
                    "id": shopware_id(),
                    "type": "product",
                    "createdAt": shopware_datetime(created),
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

    def add_credit(
        self, order_id: str, amount: str, *, label: str = "Gutschrift", created_at: datetime | None = None
    ) -> str:
        """Add a credit to an order as the Administration does; return the credit line item's id.

        src/Core/Checkout/Cart/Order/RecalculationService.php addCustomLineItem (the Administration's "Add
        credit") adds a line item of type ``credit`` (Cart/LineItem/LineItem.php CREDIT_LINE_ITEM_TYPE) with a
        negative absolute price, recalculates the order (amountTotal drops) and writes it (updatedAt moves).
        """
        item_id = shopware_id()
        when = created_at or self.clock.now()
        credit = -Decimal(amount)
        with self._lock:
            order = self.orders[order_id]
            order["lineItems"].append(
                {
                    "id": item_id,
                    "type": "credit",
                    "createdAt": shopware_datetime(when),
                    "label": label,
                    "quantity": 1,
                    "unitPrice": float(credit),
                    "totalPrice": float(credit),
                    "payload": {},
                }
            )
            order["amountTotal"] = float(Decimal(str(order["amountTotal"])) + credit)
            order["updatedAt"] = shopware_datetime(when)
        return item_id

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
        app.add_url_rule("/api/_info/version", "version", lambda: jsonify(version=self.version))
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
        app.add_url_rule(
            "/api/_action/state-machine/order_transaction/<transaction_id>/state",
            "available_transitions",
            self._available_transitions,
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

    def _missing(self, *privileges: str) -> Response | None:
        """Answer 403 like src/Core/Framework/Api/Exception/MissingPrivilegeException.php, or None if granted."""
        missing = sorted(set(privileges) - self.privileges)
        if not missing:
            return None
        detail = json.dumps({"message": "Missing privilege", "missingPrivileges": missing})
        return shopware_error(403, "FRAMEWORK__MISSING_PRIVILEGE_ERROR", detail, "Forbidden")

    def _search_privileges(self, entity: str, criteria: Mapping[str, Any]) -> list[str]:
        """Return the read privileges a search needs: the entity, its associations and filtered paths.

        Copies src/Core/Framework/Api/Acl/AclCriteriaValidator.php: every association loaded or named in a
        filter or sort needs ``<entity>:read``.
        """
        needed = {f"{entity}:read"}
        stack = [criteria.get("associations") or {}]
        while stack:
            for name, nested in stack.pop().items():
                needed.add(f"{ORDER_ASSOCIATION_ENTITIES.get(name, name)}:read")
                stack.append((nested or {}).get("associations") or {})
        fields = [sort["field"] for sort in criteria.get("sort", [])]
        queue = list(criteria.get("filter", []))
        while queue:
            criterion = queue.pop()
            queue.extend(criterion.get("queries", []))
            if "field" in criterion:
                fields.append(criterion["field"])
        for path in fields:
            for part in path.split(".")[:-1]:
                needed.add(f"{ORDER_ASSOCIATION_ENTITIES.get(part, part)}:read")
        return sorted(needed)

    def _search_orders(self) -> Response:
        with self._lock:
            candidates = list(self.orders.values())
        return self._search(candidates, "order")

    def _search_documents(self) -> Response:
        with self._lock:
            candidates = list(self.documents.values())
        return self._search(candidates, "document")

    def _download_document(self, document_id: str, deep_link_code: str) -> Response:
        # src/Core/Checkout/Document/Controller/DocumentController.php: downloads need document:read.
        if (refused := self._missing("document:read")) is not None:
            return refused
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

    def _search(self, candidates: list[dict[str, Any]], entity: str) -> Response:
        criteria = request.get_json(force=True) or {}
        if (refused := self._missing(*self._search_privileges(entity, criteria))) is not None:
            return refused
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
        if (refused := self._missing("country:read")) is not None:
            return refused
        self.country_lookups += 1
        ids = criteria.get("ids") or list(self.countries)
        data = [
            {"id": cid, "iso": self.countries[cid], "name": COUNTRIES[self.countries[cid]]} for cid in ids
        ]
        return jsonify(total=len(data), data=data, aggregations=[])

    def _find_transaction(self, transaction_id: str) -> dict[str, Any] | None:
        return next(
            (
                transaction
                for order in self.orders.values()
                for transaction in order["transactions"]
                if transaction["id"] == transaction_id
            ),
            None,
        )

    def _destination(self, current: str, action: str) -> str | None:
        """Return where an action leads from the current state: the same state for an unnecessary transition.

        Copies ``getTransitionDestinationById`` of src/Core/System/StateMachine/StateMachineRegistry.php
        (6.6 and 6.7): rows are walked in order; ``cancel`` is always allowed; a row of that action that ends
        in the current state makes the call a no-op; otherwise the row must start in the current state.
        """
        for name, source, target in self.transaction_transitions:
            if name == "cancel" and action == "cancel":
                return target
            if name != action:
                continue
            if target == current:
                return current
            if source == current:
                return target
        return None

    def _transition(self, transaction_id: str, transition: str) -> Response:
        # src/Core/Checkout/Order/Api/OrderActionController.php runs the transition in the system scope: no ACL.
        with self._lock:
            transaction = self._find_transaction(transaction_id)
            if transaction is None:
                return _invalid_transaction(transaction_id)
            current = transaction["stateMachineState"]["technicalName"]
            target = self._destination(current, transition)
            if target is None:
                possible = [name for name, source, _ in self.transaction_transitions if source == current]
                # src/Core/System/StateMachine/Exception/IllegalTransitionException.php names the state by id.
                return shopware_error(
                    400,
                    "SYSTEM__ILLEGAL_STATE_TRANSITION",
                    f'Illegal transition "{transition}" from state "{state_id(current)}". '
                    f"Possible transitions are: {', '.join(possible)}",
                    "Bad Request",
                    transition=transition,
                    currentState=state_id(current),
                    possibleTransitionsString=", ".join(possible),
                    possibleTransitions=possible,
                )
            body = request.get_json(silent=True) or {}
            if target != current or transition == "cancel":
                transaction["stateMachineState"] = {"technicalName": target}
                transaction["updatedAt"] = shopware_datetime(self.clock.now())
                self.transitions.append((transaction_id, transition))
                transaction.setdefault("mailsSent", []).append(bool(body.get("sendMail", True)))
        return jsonify(id=state_id(target), technicalName=target)

    def _available_transitions(self, transaction_id: str) -> Response:
        # src/Core/System/StateMachine/Api/StateMachineActionController.php (getAvailableTransitions): the
        # controller checks order_transaction:read, the registry then reads the machine in the caller's scope.
        refused = self._missing(
            "order_transaction:read",
            "state_machine:read",
            "state_machine_state:read",
            "state_machine_transition:read",
        )
        if refused is not None:
            return refused
        with self._lock:
            transaction = self._find_transaction(transaction_id)
            if transaction is None:
                return _invalid_transaction(transaction_id)
            current = transaction["stateMachineState"]["technicalName"]
        transitions = [
            {
                "name": target,
                "technicalName": target,
                "actionName": name,
                "fromStateName": source,
                "toStateName": target,
                "url": f"/api/_action/state-machine/order_transaction/{transaction_id}/state/{name}",
            }
            for name, source, target in self.transaction_transitions
            if source == current
        ]
        return jsonify(transitions=transitions)

    def _patch_order(self, order_id: str) -> Response:
        return self._patch(self.orders, "order", order_id)

    def _patch_customer(self, customer_id: str) -> Response:
        return self._patch(self.customers, "customer", customer_id)

    def _patch(self, store: dict[str, dict[str, Any]], entity: str, entity_id: str) -> Response:
        # src/Core/Framework/Api/Controller/ApiController.php: a PATCH writes, so it needs <entity>:update.
        if (refused := self._missing(f"{entity}:update")) is not None:
            return refused
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
        """Copy src/Administration/Controller/NotificationController.php (route ACL notification:create)."""
        if (refused := self._missing("notification:create")) is not None:
            return refused
        payload = request.get_json(force=True) or {}
        for name in ("status", "message"):
            if not payload.get(name):
                return shopware_error(
                    400,
                    "FRAMEWORK__MISSING_REQUEST_PARAMETER",
                    f'Parameter "{name}" is missing.',
                    "Bad Request",
                    parameterName=name,
                )
        notification_id = shopware_id()
        with self._lock:
            self.notifications.append({**payload, "id": notification_id})
        return jsonify(id=notification_id)

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
