"""The ``ShopConnector`` interface and the normalised order every shop platform is mapped to.

A connector hides one platform's API (authentication, pagination, state machines) behind the same calls:
``verify``, ``iter_orders``, ``get_order``, payment transitions (``transition_payment``, ``mark_paid``,
``mark_reminded``), ``write_case_fields``, ``add_order_note``, ``notify_admin`` and ``invoice_document``
(the invoice PDF as the buyer got it, where the platform keeps one). Every method raises the typed errors of
``connectors.errors``.

``ShopOrder`` uses the risk API's field names for buyer and addresses so the backend can pass them on
unchanged. Money is ``Decimal``; times are aware UTC datetimes.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

CASE_FIELD_PREFIX = "claimbridge_"
RISK_CHECK_FIELD = "claimbridge_risk_check_id"
NOTES_FIELD = "claimbridge_notes"
PAID_AMOUNT_FIELD = "claimbridge_paid_amount"
PAID_AT_FIELD = "claimbridge_paid_at"
# Set on an order whose buyer switched to invoice after ordering although the risk check refuses them.
INVOICE_REFUSED_FIELD = "claimbridge_invoice_refused"
# Set (by the merchant or its invoice plugin) when the order's invoice carried the §286(3) BGB notice.
INVOICE_NOTICE_FIELD = "claimbridge_invoice_has_default_notice"

# "Musterstraße 12a", "Am Markt 3-5", "Straße des 17. Juni 114 b": the trailing number block is the house number.
_HOUSE_NUMBER = re.compile(
    r"^(?P<street>.*?\S)[\s,]+(?P<number>\d+\s?[a-zA-Z]?(?:\s?[-/]\s?\d+\s?[a-zA-Z]?)?)$"
)


class OrderState(StrEnum):
    """Where an order stands as a receivable."""

    OPEN = "open"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


class PaymentAction(StrEnum):
    """Payment transitions ClaimBridge asks a shop to make."""

    REMIND = "remind"
    PAY = "pay"
    PAY_PARTIALLY = "pay_partially"
    CANCEL = "cancel"
    REOPEN = "reopen"
    REFUND = "refund"


@dataclass(frozen=True)
class Address:
    """A postal address with the risk API's field names; ``country`` is ISO 3166-1 alpha-2."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    street: str | None = None
    house_number: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Buyer:
    """Who placed the order."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    phone: str | None = None
    customer_id: str | None = None
    is_guest: bool = False


@dataclass(frozen=True)
class LineItem:
    """One order position; ``total`` is the gross position total."""

    external_id: str
    name: str
    quantity: int
    unit_price: Decimal
    total: Decimal
    sku: str | None = None


@dataclass(frozen=True)
class Refund:
    """Money the shop gave back on an order (``amount`` positive), dated when the shop recorded it."""

    external_id: str
    amount: Decimal
    refunded_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ShopOrder:
    """One order from any shop platform, normalised."""

    external_id: str
    number: str
    state: OrderState
    platform_order_state: str
    platform_payment_state: str | None
    total: Decimal
    currency: str
    ordered_at: datetime
    buyer: Buyer
    billing_address: Address
    paid_amount: Decimal | None = None
    payment_method: str | None = None
    invoiced_at: datetime | None = None
    paid_at: datetime | None = None
    modified_at: datetime | None = None
    shipping_address: Address | None = None
    line_items: tuple[LineItem, ...] = ()
    risk_check_id: str | None = None
    case_fields: Mapping[str, Any] = field(default_factory=dict)
    # What the shop knows about the buyer's legal status (§§13, 14 BGB) and the invoice; None = not known.
    debtor_kind: str | None = None  # stated explicitly: "consumer" or "business"
    account_type: str | None = None  # the shop's customer account type (Shopware: "private"/"business")
    vat_id: str | None = None
    invoice_has_default_notice: bool | None = None  # the invoice carried the §286(3) BGB notice
    shipped_at: datetime | None = None
    refunds: tuple[Refund, ...] = ()
    # False while the buyer has not finished placing the order (WooCommerce pending/failed): no claim yet.
    placed: bool = True


@dataclass(frozen=True)
class OrderDocument:
    """A document the shop generated for an order (e.g. the invoice PDF)."""

    content: bytes
    filename: str
    mime_type: str = "application/pdf"
    number: str | None = None


class ShopConnector(abc.ABC):
    """One connected shop: read orders, move payment states, write ClaimBridge fields, talk to admins."""

    platform: str

    @abc.abstractmethod
    def verify(self) -> None:
        """Make one cheap authenticated call; raise ``AuthError`` when the credentials do not work."""

    @abc.abstractmethod
    def iter_orders(self, modified_after: datetime | None = None, **filters: Any) -> Iterator[ShopOrder]:
        """Yield every order matching ``filters`` (and changed after ``modified_after``), page by page.

        Common filters: ``payment_method`` (str or list of platform ids), ``external_ids`` (list).
        """

    @abc.abstractmethod
    def get_order(self, external_id: str) -> ShopOrder:
        """Return one order; raise ``NotFoundError`` when the shop does not know it."""

    @abc.abstractmethod
    def transition_payment(
        self, external_id: str, action: PaymentAction, *, amount: Decimal | None = None
    ) -> ShopOrder:
        """Move the order's payment state; a no-op when it is already there. Return the updated order."""

    def mark_paid(self, external_id: str, amount: Decimal | None = None, partial: bool = False) -> ShopOrder:
        """Record a (partial) payment of ``amount`` (default: the full total)."""
        action = PaymentAction.PAY_PARTIALLY if partial else PaymentAction.PAY
        return self.transition_payment(external_id, action, amount=amount)

    def mark_reminded(self, external_id: str) -> ShopOrder:
        """Record that a payment reminder went out."""
        return self.transition_payment(external_id, PaymentAction.REMIND)

    @abc.abstractmethod
    def write_case_fields(self, external_id: str, fields: Mapping[str, Any]) -> None:
        """Merge ``claimbridge_*`` fields into the order (other keys stay untouched)."""

    @abc.abstractmethod
    def add_order_note(self, external_id: str, text: str) -> None:
        """Attach a note for shop staff to the order; a note it carries already (a retry) is not added again."""

    @abc.abstractmethod
    def notify_admin(
        self, text: str, *, order_id: str | None = None, idempotency_key: str | None = None
    ) -> None:
        """Show ``text`` to the shop's administrators (about ``order_id`` when given); idempotent by key."""

    def invoice_document(self, external_id: str) -> OrderDocument | None:
        """Return the order's newest invoice document, or None where the platform keeps none."""
        return None

    @abc.abstractmethod
    def close(self) -> None:
        """Release network resources."""


def check_case_fields(fields: Mapping[str, Any]) -> None:
    """Refuse field names outside ClaimBridge's ``claimbridge_`` namespace."""
    foreign = sorted(key for key in fields if not key.startswith(CASE_FIELD_PREFIX))
    if foreign:
        raise ValueError(f"case fields must start with {CASE_FIELD_PREFIX!r}: {foreign}")


def split_street(line: str | None) -> tuple[str | None, str | None]:
    """Split ``"Musterstraße 12a"`` into street and house number; keep the line whole when unsure."""
    line = (line or "").strip()
    if not line:
        return None, None
    match = _HOUSE_NUMBER.match(line)
    if match is None:
        return line, None
    return match["street"], match["number"].replace(" ", "")


def to_decimal(value: Any) -> Decimal:
    """Convert a JSON amount (string or number) to Decimal without going through binary floats."""
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def parse_utc(value: str | None) -> datetime | None:
    """Parse an ISO 8601 timestamp into an aware UTC datetime (naive input is taken as UTC)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_YES = frozenset({"1", "true", "yes", "on"})
_NO = frozenset({"0", "false", "no", "off"})


def optional_bool(value: Any) -> bool | None:
    """Return a shop field's yes/no (JSON booleans, 1/0, or WordPress' "yes"/"no"), None when unset or unclear."""
    if isinstance(value, bool):
        return value
    text = (blank_to_none(value) or "").lower()
    return True if text in _YES else False if text in _NO else None


def blank_to_none(value: Any) -> str | None:
    """Return ``value`` as a stripped string, or None when it is empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
