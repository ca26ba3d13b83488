"""Shopware 6 Admin API connector (OAuth2 client credentials via Authlib).

- Token: ``POST {shop}/api/oauth/token`` with the integration's access key id and secret
  (``client_secret_post``); cached until 30 s before expiry and fetched again once on a 401.
- Orders: ``POST /api/search/order`` with criteria (filters, associations, ``page``/``limit``,
  ``total-count-mode: 1``); the newest transaction is the current payment.
- Payment transitions: ``POST /api/_action/order_transaction/{id}/state/{transition}`` with
  ``{"sendMail": false}``; a transition into the state the order already has is skipped. The names into
  ``paid``/``paid_partially`` differ by version (``pay``/``pay_partially`` up to 6.6, ``paid``/``paid_partially``
  from 6.7): the connector tries one and, when the shop answers ``SYSTEM__ILLEGAL_STATE_TRANSITION``, takes the
  other name if the error's ``possibleTransitions`` offer it, and keeps using the name that worked.
- Case fields: ``PATCH /api/order/{id}`` (and ``/api/customer/{id}``) merging ``customFields`` per key.
- Notes: Shopware orders have no notes, so ``add_order_note`` appends a timestamped line to the order's
  ``claimbridge_notes`` custom field (declared in the app manifest, shown on the order's custom fields tab;
  the newest ``MAX_NOTE_LINES`` lines are kept - ClaimBridge keeps the full history itself); a note already
  there (a retry after a lost answer) is not added twice.
- Admin notifications: ``POST /api/notification`` (needs ``notification:create``).
- Invoice document: ``POST /api/search/document`` filtered by ``orderId`` and ``documentType.technicalName =
  invoice`` (newest first), then ``GET /api/_action/document/{id}/{deepLinkCode}`` returns the file (ACL
  ``document:read``); Shopware answers 204 when the document was never rendered to a file.
- Countries: addresses carry ``countryId``; ISO codes are looked up in batches and cached per connector.
"""

from __future__ import annotations

import email.message
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests
from requests.auth import AuthBase

from connectors.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    error_from_exception,
    error_from_response,
)
from connectors.http import DEFAULT_TIMEOUT, Backoff, HttpClient
from connectors.shops.base import (
    INVOICE_NOTICE_FIELD,
    NOTES_FIELD,
    PAID_AMOUNT_FIELD,
    PAID_AT_FIELD,
    RISK_CHECK_FIELD,
    Address,
    Buyer,
    LineItem,
    OrderDocument,
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

TOKEN_LEEWAY_SECONDS = 30
SHIPPED_DELIVERY_STATES = ("shipped", "shipped_partially")
MAX_NOTE_LINES = 50
INVOICE_PAYMENT_METHOD = "payment_invoicepayment"
CREDIT_LINE_ITEM_TYPE = "credit"

ORDER_ASSOCIATIONS: dict[str, Any] = {
    "stateMachineState": {},
    "currency": {},
    "orderCustomer": {"associations": {"customer": {}}},
    "billingAddress": {},
    "deliveries": {"associations": {"shippingOrderAddress": {}, "stateMachineState": {}}},
    "lineItems": {},
    "transactions": {
        "associations": {"stateMachineState": {}, "paymentMethod": {}},
        "sort": [{"field": "createdAt", "order": "DESC"}],
    },
    "documents": {"associations": {"documentType": {}}},
}

# PaymentAction -> (state the transaction ends in, the transition's names: 6.6 first, then 6.7).
TRANSITIONS: dict[PaymentAction, tuple[str, tuple[str, ...]]] = {
    PaymentAction.REMIND: ("reminded", ("remind",)),
    PaymentAction.PAY: ("paid", ("pay", "paid")),
    PaymentAction.PAY_PARTIALLY: ("paid_partially", ("pay_partially", "paid_partially")),
    PaymentAction.CANCEL: ("cancelled", ("cancel",)),
    PaymentAction.REOPEN: ("open", ("reopen",)),
    PaymentAction.REFUND: ("refunded", ("refund",)),
}
ILLEGAL_TRANSITION = "SYSTEM__ILLEGAL_STATE_TRANSITION"

PAYMENT_STATES: dict[str, OrderState] = {
    "paid": OrderState.PAID,
    # A partial refund of a paid order leaves nothing outstanding.
    "refunded_partially": OrderState.PAID,
    "paid_partially": OrderState.PARTIALLY_PAID,
    "refunded": OrderState.REFUNDED,
    "cancelled": OrderState.CANCELLED,
    "chargeback": OrderState.DISPUTED,
}

SUPPORTED_FILTERS = frozenset({"payment_method", "external_ids", "platform_states"})


def storage_datetime(value: datetime) -> str:
    """Format ``value`` the way Shopware stores datetimes (UTC, ``Y-m-d H:i:s.v``)."""
    if value.tzinfo is None:
        raise ValueError("modified_after must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def map_state(order_state: str, payment_state: str | None) -> OrderState:
    """Map Shopware's order state and current transaction state to one ``OrderState``."""
    if order_state == "cancelled":
        return OrderState.CANCELLED
    return PAYMENT_STATES.get(payment_state or "", OrderState.OPEN)


class ShopwareConnector(HttpClient, ShopConnector):
    """A Shopware 6 shop reached through an app or integration's Admin API credentials."""

    platform = "shopware"

    def __init__(
        self,
        shop_url: str,
        client_id: str,
        client_secret: str,
        *,
        allow_private: bool = False,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = 100,
    ) -> None:
        # authlib's OAuth client (with its JOSE and X.509 modules: 0.1 s and 17 MiB) is imported by the first
        # connector built, not by every process that could build one.
        from authlib.integrations.requests_client import OAuth2Session

        shop_url = shop_url.rstrip("/")
        oauth = OAuth2Session(
            client_id=client_id,
            client_secret=client_secret,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name, not a secret
            token_endpoint=f"{shop_url}/api/oauth/token",
            grant_type="client_credentials",
            leeway=TOKEN_LEEWAY_SECONDS,
        )
        super().__init__(
            f"{shop_url}/api",
            session=oauth,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            allow_private=allow_private,
            sleep=sleep,
        )
        # Without this the Admin API answers in JSON:API format.
        self.session.headers["Accept"] = "application/json"
        self.shop_url = shop_url
        self.page_size = page_size
        self._oauth = oauth
        self._oauth.register_compliance_hook("access_token_response", self._check_token_response)
        self._country_iso: dict[str, str | None] = {}
        # Whether this shop names transitions like 6.7 (learnt from its first refusal of the other name).
        self._new_transition_names = False

    # -- authentication ---------------------------------------------------------------------------

    def _check_token_response(self, response: requests.Response) -> requests.Response:
        if response.status_code >= 300:
            raise error_from_response(response, description="POST /api/oauth/token")
        return response

    def _fetch_token(self) -> None:
        from authlib.integrations.base_client import OAuthError  # imported with OAuth2Session in __init__

        try:
            self._oauth.fetch_token(timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise error_from_exception(exc, description="POST /api/oauth/token") from exc
        except OAuthError as exc:
            raise AuthError(f"Shopware refused the client credentials: {exc}") from exc

    def _auth(self) -> AuthBase:
        token = self._oauth.token
        if not token or token.is_expired(leeway=TOKEN_LEEWAY_SECONDS):
            self._fetch_token()
            token = self._oauth.token
        return _BearerAuth(token["access_token"])

    def _renew_auth(self) -> bool:
        self._fetch_token()
        return True

    # -- ShopConnector ----------------------------------------------------------------------------

    def verify(self) -> None:
        """Search one order: proves the credentials and the ``order:read`` permission."""
        self.request("POST", "search/order", json={"limit": 1, "total-count-mode": 0}, idempotent=True)

    def iter_orders(self, modified_after: datetime | None = None, **filters: Any) -> Iterator[ShopOrder]:
        """Yield orders page by page; filters: payment_method, external_ids, platform_states (payment)."""
        criteria_filters = self._criteria_filters(modified_after, filters)
        page = 1
        while True:
            body = {
                "page": page,
                "limit": self.page_size,
                "total-count-mode": 1,
                "filter": criteria_filters,
                "associations": ORDER_ASSOCIATIONS,
                "sort": [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}],
            }
            result = self._search("order", body)
            orders = result.get("data", [])
            self._resolve_countries(self._country_ids(orders))
            yield from (self._normalise(order) for order in orders)
            total = result.get("total")
            if len(orders) < self.page_size or (total is not None and page * self.page_size >= total):
                return
            page += 1

    def get_order(self, external_id: str) -> ShopOrder:
        """Return the order with id ``external_id``."""
        return self._normalise(self._raw_order(external_id))

    def transition_payment(
        self, external_id: str, action: PaymentAction, *, amount: Decimal | None = None
    ) -> ShopOrder:
        """Transition the current transaction (skipped when already there); record paid amounts."""
        raw = self._raw_order(external_id)
        transaction = _current_transaction(raw)
        if transaction is None:
            raise ConnectorError(f"Shopware order {external_id} has no payment transaction")
        target, names = TRANSITIONS[action]
        moved = _technical_name(transaction.get("stateMachineState")) != target
        if moved:
            self._transition(transaction["id"], names)
        fields: dict[str, Any] = {}
        if action == PaymentAction.PAY and moved:
            fields[PAID_AMOUNT_FIELD] = str(amount if amount is not None else raw.get("amountTotal", "0"))
            fields[PAID_AT_FIELD] = datetime.now(UTC).isoformat()
        elif action == PaymentAction.PAY_PARTIALLY and amount is not None:
            fields[PAID_AMOUNT_FIELD] = str(amount)
        if fields:
            self.write_case_fields(external_id, fields)
        return self.get_order(external_id)

    def _transition(self, transaction_id: str, names: tuple[str, ...]) -> None:
        """Run a transition known by several names, the one this shop's version uses first."""
        ordered = tuple(reversed(names)) if self._new_transition_names else names
        for index, name in enumerate(ordered):
            try:
                self.request(
                    "POST",
                    f"_action/order_transaction/{transaction_id}/state/{name}",
                    json={"sendMail": False},
                )
            except ConnectorError as error:
                alternatives = ordered[index + 1 :]
                if not alternatives or not any(alt in _possible_transitions(error) for alt in alternatives):
                    raise
                continue
            if index:
                self._new_transition_names = not self._new_transition_names
            return

    def write_case_fields(self, external_id: str, fields: Mapping[str, Any]) -> None:
        """Merge ``fields`` into the order's custom fields."""
        check_case_fields(fields)
        self.request("PATCH", f"order/{external_id}", json={"customFields": dict(fields)}, idempotent=True)

    def write_customer_fields(self, customer_id: str, fields: Mapping[str, Any]) -> None:
        """Merge ``fields`` into a customer's custom fields (e.g. ``claimbridge_invoice_blocked``)."""
        check_case_fields(fields)
        self.request("PATCH", f"customer/{customer_id}", json={"customFields": dict(fields)}, idempotent=True)

    def add_order_note(self, external_id: str, text: str) -> None:
        """Append a timestamped line to the order's ``claimbridge_notes`` custom field, unless it is there."""
        raw = self._raw_order(external_id, associations={})
        existing = (raw.get("customFields") or {}).get(NOTES_FIELD) or ""
        note = " ".join(text.split())
        # A write retried after its answer was lost finds its line ("<stamp>: <note>") already there.
        if any(line.partition(": ")[2] == note for line in existing.splitlines()):
            return
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [*existing.splitlines(), f"{stamp}: {note}"]
        self.write_case_fields(external_id, {NOTES_FIELD: "\n".join(lines[-MAX_NOTE_LINES:])})

    def notify_admin(
        self, text: str, *, order_id: str | None = None, idempotency_key: str | None = None
    ) -> None:
        """Show ``text`` in the Shopware administration's notification centre."""
        self.request(
            "POST",
            "notification",
            json={"status": "info", "message": text, "adminOnly": True, "requiredPrivileges": []},
        )

    def invoice_document(self, external_id: str) -> OrderDocument | None:
        """Download the order's newest invoice PDF; None when it has none or it was never rendered."""
        criteria = {
            "limit": 1,
            "total-count-mode": 0,
            "filter": [
                {"type": "equals", "field": "orderId", "value": external_id},
                {"type": "equals", "field": "documentType.technicalName", "value": "invoice"},
            ],
            "associations": {"documentType": {}},
            "sort": [{"field": "createdAt", "order": "DESC"}],
        }
        documents = self._search("document", criteria).get("data", [])
        if not documents:
            return None
        document = documents[0]
        response = self.request(
            "GET",
            f"_action/document/{document['id']}/{document['deepLinkCode']}",
            params={"download": "1"},
            headers={"Accept": "application/pdf, application/octet-stream"},
        )
        if response.status_code == 204 or not response.content:
            return None
        number = blank_to_none((document.get("config") or {}).get("documentNumber"))
        mime_type = response.headers.get("Content-Type", "application/pdf").split(";")[0].strip()
        return OrderDocument(
            content=response.content,
            filename=_attachment_filename(response.headers.get("Content-Disposition"))
            or f"invoice_{number or document['id']}.{document.get('fileType') or 'pdf'}",
            mime_type=mime_type or "application/pdf",
            number=number,
        )

    # -- countries --------------------------------------------------------------------------------

    def country_iso(self, country_id: str) -> str | None:
        """Return the ISO alpha-2 code of a Shopware country id (cached)."""
        self._resolve_countries([country_id])
        return self._country_iso.get(country_id)

    def _resolve_countries(self, country_ids: Iterable[str]) -> None:
        missing = sorted({cid for cid in country_ids if cid and cid not in self._country_iso})
        if not missing:
            return
        body = {"ids": missing, "limit": len(missing), "total-count-mode": 0}
        result = self._search("country", body)
        for country in result.get("data", []):
            self._country_iso[country["id"]] = blank_to_none(country.get("iso"))
        for cid in missing:
            self._country_iso.setdefault(cid, None)

    @staticmethod
    def _country_ids(orders: Iterable[Mapping[str, Any]]) -> list[str]:
        ids = []
        for order in orders:
            ids.append((order.get("billingAddress") or {}).get("countryId"))
            for delivery in order.get("deliveries") or []:
                ids.append((delivery.get("shippingOrderAddress") or {}).get("countryId"))
        return [cid for cid in ids if cid]

    # -- helpers ----------------------------------------------------------------------------------

    def _search(self, entity: str, criteria: Mapping[str, Any]) -> dict[str, Any]:
        """Run a read-only criteria search; amounts come back as Decimal."""
        response = self.request("POST", f"search/{entity}", json=criteria, idempotent=True)
        return response.json(parse_float=Decimal)

    def _raw_order(
        self, external_id: str, *, associations: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        body = {
            "ids": [external_id],
            "limit": 1,
            "associations": ORDER_ASSOCIATIONS if associations is None else associations,
        }
        orders = self._search("order", body).get("data", [])
        if not orders:
            raise NotFoundError(f"Shopware order {external_id} not found", status=404)
        self._resolve_countries(self._country_ids(orders))
        return orders[0]

    def _criteria_filters(self, modified_after: datetime | None, filters: Mapping[str, Any]) -> list[dict]:
        unknown = set(filters) - SUPPORTED_FILTERS
        if unknown:
            raise ValueError(f"unsupported filters {sorted(unknown)}; use {sorted(SUPPORTED_FILTERS)}")
        criteria: list[dict[str, Any]] = []
        if modified_after is not None:
            since = storage_datetime(modified_after)
            criteria.append(
                {
                    "type": "multi",
                    "operator": "or",
                    "queries": [
                        {"type": "range", "field": field, "parameters": {"gte": since}}
                        for field in ("createdAt", "updatedAt", "transactions.updatedAt")
                    ],
                }
            )
        equals_any = {
            "payment_method": "transactions.paymentMethod.technicalName",
            "platform_states": "transactions.stateMachineState.technicalName",
            "external_ids": "id",
        }
        for name, field in equals_any.items():
            if name in filters:
                criteria.append({"type": "equalsAny", "field": field, "value": _as_list(filters[name])})
        return criteria

    def _normalise(self, raw: Mapping[str, Any]) -> ShopOrder:
        transaction = _current_transaction(raw)
        order_state = _technical_name(raw.get("stateMachineState")) or "open"
        payment_state = _technical_name((transaction or {}).get("stateMachineState"))
        state = map_state(order_state, payment_state)
        line_items = raw.get("lineItems") or []
        credits = _credits(line_items)
        # A credit lowers amountTotal (the order is recalculated); the claim is the invoiced total less each
        # credit on its own day, so the total is what it was before the credits. A paid order paid what is due.
        due = to_decimal(raw.get("amountTotal", "0"))
        total = due + sum((credit.amount for credit in credits), Decimal(0))
        custom_fields = dict(raw.get("customFields") or {})
        customer = raw.get("orderCustomer") or {}
        billing = raw.get("billingAddress") or {}
        deliveries = raw.get("deliveries") or []
        shipping = deliveries[0].get("shippingOrderAddress") if deliveries else None
        return ShopOrder(
            external_id=raw["id"],
            number=str(raw.get("orderNumber") or raw["id"]),
            state=state,
            platform_order_state=order_state,
            platform_payment_state=payment_state,
            total=total,
            paid_amount=_paid_amount(state, due, custom_fields),
            currency=(raw.get("currency") or {}).get("isoCode") or "",
            payment_method=(((transaction or {}).get("paymentMethod") or {}).get("technicalName")),
            ordered_at=parse_utc(raw.get("orderDateTime")) or parse_utc(raw["createdAt"]),
            invoiced_at=_invoice_date(raw),
            paid_at=parse_utc(custom_fields.get(PAID_AT_FIELD)),
            modified_at=parse_utc(raw.get("updatedAt")) or parse_utc(raw.get("createdAt")),
            buyer=Buyer(
                email=blank_to_none(customer.get("email")),
                first_name=blank_to_none(customer.get("firstName")),
                last_name=blank_to_none(customer.get("lastName")),
                company=blank_to_none(customer.get("company")),
                phone=blank_to_none(billing.get("phoneNumber")),
                customer_id=blank_to_none(customer.get("customerId")),
                is_guest=bool((customer.get("customer") or {}).get("guest", False)),
            ),
            billing_address=self._address(billing),
            shipping_address=self._address(shipping) if shipping else None,
            line_items=tuple(
                _line_item(item) for item in line_items if item.get("type") != CREDIT_LINE_ITEM_TYPE
            ),
            refunds=credits,
            risk_check_id=blank_to_none(custom_fields.get(RISK_CHECK_FIELD)),
            case_fields={k: v for k, v in custom_fields.items() if k.startswith("claimbridge_")},
            # shopware/shopware src/Core/Checkout/Customer/CustomerDefinition.php: accountType "private" or
            # "business" (6.5+); Order/Aggregate/OrderCustomer/OrderCustomerDefinition.php: vatIds (a list).
            account_type=blank_to_none((customer.get("customer") or {}).get("accountType")),
            vat_id=next((v for v in customer.get("vatIds") or [] if v), None),
            invoice_has_default_notice=optional_bool(custom_fields.get(INVOICE_NOTICE_FIELD)),
            shipped_at=_shipped_at(deliveries),
        )

    def _address(self, raw: Mapping[str, Any]) -> Address:
        street, house_number = split_street(raw.get("street"))
        country_id = raw.get("countryId")
        iso = ((raw.get("country") or {}).get("iso")) or (
            self.country_iso(country_id) if country_id else None
        )
        return Address(
            first_name=blank_to_none(raw.get("firstName")),
            last_name=blank_to_none(raw.get("lastName")),
            company=blank_to_none(raw.get("company")),
            street=street,
            house_number=house_number,
            postal_code=blank_to_none(raw.get("zipcode")),
            city=blank_to_none(raw.get("city")),
            country=iso,
        )


def _shipped_at(deliveries: list[Mapping[str, Any]]) -> datetime | None:
    """Return when the first shipped delivery last changed (no earlier than the shipment: claims less)."""
    shipped = [
        parse_utc(d.get("updatedAt")) or parse_utc(d.get("createdAt"))
        for d in deliveries
        if _technical_name(d.get("stateMachineState")) in SHIPPED_DELIVERY_STATES
    ]
    return min((moment for moment in shipped if moment is not None), default=None)


class _BearerAuth(AuthBase):
    """Attach a token we already hold (Authlib's own auth would refresh it a second time)."""

    def __init__(self, access_token: str) -> None:
        self.access_token = access_token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.access_token}"
        return request


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _technical_name(state: Mapping[str, Any] | None) -> str | None:
    return (state or {}).get("technicalName")


def _possible_transitions(error: ConnectorError) -> list[str]:
    """Return the transitions a ``SYSTEM__ILLEGAL_STATE_TRANSITION`` error says are possible, or []."""
    body = error.body if isinstance(error.body, dict) else {}
    for item in body.get("errors") or []:
        if isinstance(item, dict) and item.get("code") == ILLEGAL_TRANSITION:
            possible = (item.get("meta") or {}).get("parameters", {}).get("possibleTransitions")
            return [name for name in possible if isinstance(name, str)] if isinstance(possible, list) else []
    return []


def _current_transaction(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return the newest transaction: Shopware keeps old ones when the buyer switches payment method."""
    transactions = raw.get("transactions") or []
    if not transactions:
        return None
    return max(transactions, key=lambda t: (t.get("createdAt") or "", t.get("id") or ""))


def _attachment_filename(disposition: str | None) -> str | None:
    """Return the file name a Content-Disposition header carries (path parts removed)."""
    if not disposition:
        return None
    message = email.message.Message()
    message["Content-Disposition"] = disposition
    filename = message.get_filename()
    return blank_to_none(filename.replace("\\", "/").rsplit("/", 1)[-1]) if filename else None


def _paid_amount(state: OrderState, total: Decimal, custom_fields: Mapping[str, Any]) -> Decimal | None:
    recorded = custom_fields.get(PAID_AMOUNT_FIELD)
    if state in (OrderState.PAID, OrderState.REFUNDED):
        return to_decimal(recorded) if recorded is not None else total
    if state == OrderState.PARTIALLY_PAID:
        return to_decimal(recorded) if recorded is not None else None
    if state in (OrderState.OPEN, OrderState.CANCELLED):
        return Decimal("0")
    return None


def _invoice_date(raw: Mapping[str, Any]) -> datetime | None:
    dates = [
        parse_utc(document.get("createdAt"))
        for document in raw.get("documents") or []
        if _technical_name(document.get("documentType")) == "invoice"
    ]
    return min((d for d in dates if d is not None), default=None)


def _credits(line_items: Iterable[Mapping[str, Any]]) -> tuple[Refund, ...]:
    """Return the order's credit line items (what a credit note lists) as refunds.

    shopware/shopware src/Core/Checkout/Cart/LineItem/LineItem.php CREDIT_LINE_ITEM_TYPE: the Administration
    adds a credit (Order → Edit → "Add credit", Cart/Order/RecalculationService.php addCustomLineItem) as a line
    item of this type with a negative price; the credit note (Document/Renderer/CreditNoteRenderer.php) lists them.
    """
    return tuple(
        Refund(
            external_id=str(item["id"]),
            amount=abs(to_decimal(item.get("totalPrice", "0"))),
            refunded_at=parse_utc(item.get("createdAt")),
            reason=blank_to_none(item.get("label")),
        )
        for item in line_items
        if item.get("type") == CREDIT_LINE_ITEM_TYPE and item.get("id")
    )


def _line_item(raw: Mapping[str, Any]) -> LineItem:
    return LineItem(
        external_id=raw["id"],
        name=raw.get("label") or "",
        quantity=int(raw.get("quantity") or 0),
        unit_price=to_decimal(raw.get("unitPrice", "0")),
        total=to_decimal(raw.get("totalPrice", "0")),
        sku=blank_to_none((raw.get("payload") or {}).get("productNumber")),
    )
