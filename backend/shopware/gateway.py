"""Map a Shopware checkout gateway request to a ClaimBridge risk check and build the signed command answer.

The shop encodes ``salesChannelContext`` entities like its Admin API (camelCase) and which address associations
are loaded varies by version and checkout step, so every field is read defensively.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.shopware.signing import SignedResponse, sign_json_response
from backend.types import MONEY_MAX

INVOICE_PAYMENT_METHOD = "payment_invoicepayment"
# Shopware's cart error levels: 0 notice, 10 warning, 20 error.
CART_ERROR_LEVEL_WARNING = 10

CountryResolver = Callable[[str], str | None]

_CENT = Decimal("0.01")
_HOUSE_NUMBER = r"\d+(?:\s?[A-Za-z](?![A-Za-z]))?(?:\s?[-/]\s?\d+(?:\s?[A-Za-z](?![A-Za-z]))?)*"
_NUMBER_LAST = re.compile(rf"^(?P<street>.*?\S)\s*,?\s+(?P<number>{_HOUSE_NUMBER})$")
_NUMBER_AFTER_ABBREVIATION = re.compile(rf"^(?P<street>.*\.)(?P<number>{_HOUSE_NUMBER})$")
_NUMBER_FIRST = re.compile(rf"^(?P<number>{_HOUSE_NUMBER})\s*,?\s+(?P<street>[^\d\s].*)$")
_ISO_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class GatewayCheckout:
    """A checkout gateway request mapped to the body of ``POST /api/v1/risk-checks``."""

    shop_id: str | None
    cart_token: str | None
    customer_id: str | None
    offered_payment_methods: tuple[str, ...]
    risk_check: dict[str, Any]
    unresolved_country_ids: frozenset[str]
    missing: tuple[str, ...]

    @property
    def is_checkable(self) -> bool:
        """Tell whether the request holds everything a risk check needs (a buyer, an address, an amount)."""
        return not self.missing


def split_street(street: str) -> tuple[str, str | None]:
    """Split a Shopware street line into street and house number ("Hauptstraße 5a" → "Hauptstraße", "5a")."""
    line = " ".join(street.split()).strip(" ,")
    for pattern in (_NUMBER_LAST, _NUMBER_AFTER_ABBREVIATION, _NUMBER_FIRST):
        match = pattern.match(line)
        if match:
            return match["street"].rstrip(" ,"), match["number"]
    return line, None


def map_checkout(
    payload: Mapping[str, Any], *, resolve_country: CountryResolver | None = None
) -> GatewayCheckout:
    """Map a verified checkout gateway payload to a risk check; resolve_country turns a countryId into ISO."""
    cart = _mapping(payload.get("cart"))
    context = _mapping(payload.get("salesChannelContext"))
    customer = _mapping(context.get("customer"))
    countries = _CountryLookup(payload, resolve_country)
    billing_source, shipping_source = _pick_addresses(payload)
    billing = _address(billing_source, countries) if billing_source else None
    shipping = _address(shipping_source, countries) if shipping_source else None
    offered = _technical_names(payload.get("paymentMethods"))
    amount = shop_amount(_nested(cart, "price", "totalPrice"))
    currency = _text(_nested(context, "currency", "isoCode"))
    buyer = _buyer(customer, billing_source, shipping_source) if customer else None

    risk_check: dict[str, Any] = {
        "reference": _text(cart.get("token")),
        "amount": format(amount, "f") if amount is not None else None,
        "currency": currency,
        "payment_methods": list(offered),
        # The context's payment method is the buyer's current choice: the bureau waits for an invoice-like one.
        "selected_payment_method": _text(_nested(context, "paymentMethod", "technicalName")),
        "buyer": buyer,
        "billing_address": billing,
        "shipping_address": shipping,
    }
    missing = [
        name for name in ("amount", "currency", "buyer", "billing_address") if risk_check[name] is None
    ]
    missing += [
        f"{name}.country"
        for name in ("billing_address", "shipping_address")
        if _lacks_country(risk_check, name)
    ]
    return GatewayCheckout(
        shop_id=_text(_nested(payload, "source", "shopId")),
        cart_token=_text(cart.get("token")),
        customer_id=_text(customer.get("id")),
        offered_payment_methods=offered,
        risk_check=_without_none(risk_check),
        unresolved_country_ids=frozenset(countries.unresolved),
        missing=tuple(missing),
    )


def decision_cache_key(checkout: GatewayCheckout) -> str:
    """Return the cache key of a checkout's risk decision; any change to amount, buyer or address changes it."""
    relevant = dict(checkout.risk_check, payment_methods=sorted(checkout.offered_payment_methods))
    digest = hashlib.sha256(json.dumps(relevant, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return ":".join(
        (
            "shopware-gateway",
            checkout.shop_id or "-",
            checkout.cart_token or "-",
            checkout.customer_id or "-",
            digest,
        )
    )


def gateway_commands(
    hidden_methods: Iterable[str], *, offered: Iterable[str] | None = None, message: str | None = None
) -> list[dict[str, Any]]:
    """Return the command list hiding the given technical names, plus a non-blocking cart message if any hidden."""
    on_offer = None if offered is None else set(offered)
    to_hide = [name for name in dict.fromkeys(hidden_methods) if on_offer is None or name in on_offer]
    commands: list[dict[str, Any]] = [
        {"command": "remove-payment-method", "payload": {"paymentMethodTechnicalName": name}}
        for name in to_hide
    ]
    if to_hide and message is not None:
        if not message.strip():
            raise ValueError("the cart message for the buyer must not be blank")
        commands.append(
            {
                "command": "add-cart-error",
                "payload": {"message": message, "blocking": False, "level": CART_ERROR_LEVEL_WARNING},
            }
        )
    return commands


def gateway_response(
    hidden_methods: Iterable[str],
    shop_secret: str,
    *,
    offered: Iterable[str] | None = None,
    message: str | None = None,
) -> SignedResponse:
    """Return the signed answer to the checkout gateway: a top-level JSON array of commands."""
    return sign_json_response(gateway_commands(hidden_methods, offered=offered, message=message), shop_secret)


# Helpers ---------------------------------------------------------------------------------------------------------


class _CountryLookup:
    """Turn country ids into ISO codes from the payload first, then through the caller's resolver.

    The payload's country entities are collected only for an address without its own: shops mostly send each
    address with its country, and the walk over the whole payload cost more than the rest of the mapping.
    """

    def __init__(self, payload: Mapping[str, Any], resolve: CountryResolver | None) -> None:
        self._payload = payload
        self._known: dict[str, str] | None = None
        self._resolve = resolve
        self.unresolved: set[str] = set()

    def iso_of(self, address: Mapping[str, Any]) -> str | None:
        iso = _text(_nested(address, "country", "iso"))
        if iso:
            return iso.upper()
        country_id = _text(address.get("countryId"))
        if not country_id:
            return None
        if self._known is None:
            self._known = _country_isos_in(self._payload)
        if country_id not in self._known and self._resolve is not None:
            resolved = self._resolve(country_id)
            if resolved:
                self._known[country_id] = resolved.upper()
        if country_id in self._known:
            return self._known[country_id]
        self.unresolved.add(country_id)
        return None


def _pick_addresses(payload: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """Return (billing, shipping) as the checkout has them.

    The address chosen for this delivery is ``shippingLocation.address`` (then the cart's delivery location);
    the customer's default shipping address is only a fallback. ``active*Address`` are runtime fields the API
    encoder strips, so they never arrive. The chosen billing address is not in the payload at all: the default
    one stands in here, and the placed order's billing address is checked again (``after_order``).
    """
    context = _mapping(payload.get("salesChannelContext"))
    customer = _mapping(context.get("customer"))
    deliveries = _mapping(payload.get("cart")).get("deliveries")
    delivery_addresses = (
        [_nested(delivery, "location", "address") for delivery in deliveries if isinstance(delivery, dict)]
        if isinstance(deliveries, list)
        else []
    )
    billing = _first_address(customer.get("defaultBillingAddress"))
    shipping = _first_address(
        _nested(context, "shippingLocation", "address"),
        *delivery_addresses,
        customer.get("defaultShippingAddress"),
    )
    return billing, shipping


def _first_address(*candidates: Any) -> Mapping[str, Any] | None:
    return next((candidate for candidate in candidates if isinstance(candidate, dict) and candidate), None)


def _address(source: Mapping[str, Any], countries: _CountryLookup) -> dict[str, Any]:
    street, house_number = split_street(_text(source.get("street")) or "")
    return _without_none(
        {
            "first_name": _text(source.get("firstName")),
            "last_name": _text(source.get("lastName")),
            "company": _text(source.get("company")),
            "street": street or None,
            "house_number": house_number,
            "postal_code": _text(source.get("zipcode")),
            "city": _text(source.get("city")),
            "country": countries.iso_of(source),
        }
    )


def _buyer(
    customer: Mapping[str, Any], billing: Mapping[str, Any] | None, shipping: Mapping[str, Any] | None
) -> dict[str, Any]:
    is_guest = customer.get("guest") is True
    phone = next(
        (_text(a.get("phoneNumber")) for a in (billing, shipping) if a and _text(a.get("phoneNumber"))), None
    )
    return _without_none(
        {
            "email": _text(customer.get("email")),
            "phone": phone,
            "first_name": _text(customer.get("firstName")),
            "last_name": _text(customer.get("lastName")),
            "company": _text(customer.get("company")) or (billing and _text(billing.get("company"))) or None,
            "date_of_birth": _iso_date(customer.get("birthday")),
            "customer_id": _text(customer.get("id")),
            "is_guest": is_guest,
            # A guest account is created with the order, so its age says nothing about the buyer.
            "registered_at": None if is_guest else _iso_datetime(customer.get("createdAt")),
        }
    )


def _country_isos_in(value: Any) -> dict[str, str]:
    """Collect ``{id: iso}`` from every loaded country entity anywhere in the payload."""
    found: dict[str, str] = {}
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            country = item.get("country")
            if isinstance(country, dict) and _text(country.get("id")) and _text(country.get("iso")):
                found[country["id"].strip()] = country["iso"].strip().upper()
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _technical_names(methods: Any) -> tuple[str, ...]:
    values = methods.values() if isinstance(methods, dict) else methods if isinstance(methods, list) else ()
    return tuple(dict.fromkeys(name for name in (_text(value) for value in values) if name))


def shop_amount(value: Any) -> Decimal | None:
    """Return an amount a shop sent (cart, order) in cents, or None unless a receivable could hold it.

    A total beyond what a Money column holds is no amount: quantizing it would raise (1e28 and up), and a checkout
    without an amount is answered by the merchant's fail mode.
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        # repr() of a float is its shortest round-trip form, so 249.9 becomes exactly 249.9.
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        return None
    return amount.quantize(_CENT) if amount.is_finite() and 0 <= amount <= MONEY_MAX else None


def _iso_date(value: Any) -> str | None:
    match = _ISO_DATE_PREFIX.match(_text(value) or "")
    if not match:
        return None
    try:
        return date.fromisoformat(match[1]).isoformat()
    except ValueError:
        return None


def _iso_datetime(value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.replace(tzinfo=UTC).isoformat()


def _lacks_country(risk_check: Mapping[str, Any], name: str) -> bool:
    address = risk_check.get(name)
    return isinstance(address, dict) and address.get("country") is None


def _nested(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
