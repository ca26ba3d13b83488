"""Typed inputs of a risk check: what the shop sent and what the backend knows about the buyer.

``CheckInput.from_payload`` maps the validated JSON body of ``POST /api/v1/risk-checks`` onto these
dataclasses; ``BuyerContext`` carries the numbers the backend computes from its database (history,
exposure, velocity) so the engine itself never touches a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address as the shop sent it; country is ISO 3166-1 alpha-2."""

    first_name: str = ""
    last_name: str = ""
    company: str = ""
    street: str = ""
    house_number: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Address:
        """Build an address from the API's address object."""
        return cls(
            **{name: _text(data.get(name)) for name in _ADDRESS_TEXT_FIELDS},
            country=_text(data.get("country")).upper(),
        )


# Read once: ``dataclasses.fields`` on every call cost bulk imports about 5 % of their time.
_ADDRESS_TEXT_FIELDS = tuple(f.name for f in fields(Address) if f.name != "country")


@dataclass(frozen=True, slots=True)
class Buyer:
    """The buyer's own data, independent of the addresses."""

    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    date_of_birth: date | None = None
    customer_id: str = ""
    is_guest: bool = True
    registered_at: datetime | None = None

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Buyer:
        """Build a buyer from the API's buyer object (dates already parsed by the schema, or ISO strings)."""
        return cls(
            email=_text(data.get("email")),
            phone=_text(data.get("phone")),
            first_name=_text(data.get("first_name")),
            last_name=_text(data.get("last_name")),
            company=_text(data.get("company")),
            date_of_birth=_date(data.get("date_of_birth")),
            customer_id=_text(data.get("customer_id")),
            is_guest=data.get("is_guest") is not False,
            registered_at=_datetime(data.get("registered_at")),
        )


@dataclass(frozen=True, slots=True)
class Item:
    """One cart line."""

    sku: str = ""
    name: str = ""
    quantity: int = 1
    unit_price: Decimal = ZERO
    category: str = ""


@dataclass(frozen=True, slots=True)
class CheckInput:
    """Everything the shop sends for one risk check."""

    amount: Decimal
    currency: str = "EUR"
    payment_methods: tuple[str, ...] = ()
    buyer: Buyer = field(default_factory=Buyer)
    billing: Address = field(default_factory=Address)
    shipping: Address | None = None
    ip: str = ""
    user_agent: str = ""
    items: tuple[Item, ...] = ()
    reference: str = ""
    # The method the buyer has chosen, where the shop says so ("" when it does not).
    selected_payment_method: str = ""

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> CheckInput:
        """Build a check input from the validated request body (field names as in the public API)."""
        shipping = data.get("shipping_address")
        return cls(
            amount=Decimal(str(data["amount"])),
            currency=_text(data.get("currency")).upper() or "EUR",
            payment_methods=tuple(_text(method) for method in data.get("payment_methods") or ()),
            buyer=Buyer.from_payload(data.get("buyer") or {}),
            billing=Address.from_payload(data.get("billing_address") or {}),
            shipping=Address.from_payload(shipping) if shipping else None,
            ip=_text(data.get("ip")),
            user_agent=_text(data.get("user_agent")),
            items=tuple(
                Item(
                    sku=_text(item.get("sku")),
                    name=_text(item.get("name")),
                    quantity=int(item.get("quantity", 1)),
                    unit_price=Decimal(str(item.get("unit_price") or 0)),
                    category=_text(item.get("category")),
                )
                for item in data.get("items") or ()
            ),
            reference=_text(data.get("reference")),
            selected_payment_method=_text(data.get("selected_payment_method")),
        )


@dataclass(frozen=True, slots=True)
class VelocityCounts:
    """Earlier orders sharing one identity key with this check (this check itself not counted).

    ``other_names_30d`` / ``other_addresses_30d`` count distinct names / billing addresses that differ from
    this check's, among those orders in the last 30 days; ``invoice_orders_24h`` the checkouts of the last 24
    hours that became invoice orders (a receivable names the check).
    """

    orders_24h: int = 0
    orders_30d: int = 0
    other_names_30d: int = 0
    other_addresses_30d: int = 0
    invoice_orders_24h: int = 0


@dataclass(frozen=True, slots=True)
class BuyerContext:
    """What the backend knows about this buyer's identity keys at this merchant.

    ``previous_orders``: orders matched on any of the buyer's identity keys (0 = first order).
    ``open_orders`` / ``paid_orders``: of those, the invoices still open, and the ones with a payment booked.
    ``open_exposure``: unpaid invoice amounts for those keys, this cart not included.
    ``unpaid_orders``: invoices past their due date and unpaid, not yet in dunning.
    ``dunned_orders`` / ``handed_over_orders``: orders that reached a Mahnung / a collection agency.
    ``velocity``: counts per identity kind (see ``merchants.policy.VELOCITY_KINDS``); a missing kind counts as zero.
    """

    previous_orders: int = 0
    open_orders: int = 0
    paid_orders: int = 0
    open_exposure: Decimal = ZERO
    unpaid_orders: int = 0
    dunned_orders: int = 0
    handed_over_orders: int = 0
    velocity: Mapping[str, VelocityCounts] = field(default_factory=dict)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
