"""A merchant's risk policy: thresholds, limits, signal weights, bureau and fail-mode settings.

What the score means: every signal that fires adds its weight (from ``RiskPolicy.weights``, tunable per
merchant) and the score is the sum, capped at 100. 0 means nothing suspicious was found; the score is
always explained by the list of reasons that fired, each with its weight. With the default policy a score
of at least ``review_at`` (40) asks for a human look, at least ``decline_at`` (70) hides invoice payment.
A weight of 0 switches a signal off. The score is not a probability of default.

``RiskPolicy.to_dict()`` / ``RiskPolicy.from_dict()`` convert to and from the JSON form the API stores;
``from_dict`` fills missing fields from the defaults and raises ``PolicyError`` (a ``ValueError``) naming
the bad field as a JSON pointer. The policy is one of the merchant's settings: stored, cached and replaced by
``merchants/policy_store.py``, read by the risk check and by the shops' order intake (its invoice methods).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from backend.types import MONEY_MAX

# The languages ClaimBridge speaks to buyers: its own texts (``backend/risk/messages.py``) and the merchant's.
LANGUAGES = ("de", "en")
# Identity kinds velocity is counted for; the same names as the fields of ``risk.identity.IdentityKeys``.
VELOCITY_KINDS = ("email", "phone", "address", "shipping_address", "ip")


class ReasonCode(StrEnum):
    """Machine codes of the reasons a score is made of."""

    ORDER_AMOUNT_LIMIT = "ORDER_AMOUNT_LIMIT"
    FIRST_ORDER_AMOUNT_LIMIT = "FIRST_ORDER_AMOUNT_LIMIT"
    OPEN_EXPOSURE_LIMIT = "OPEN_EXPOSURE_LIMIT"
    FIRST_ORDER = "FIRST_ORDER"
    SHIPPING_NAME_DIFFERS = "SHIPPING_NAME_DIFFERS"
    SHIPPING_ADDRESS_DIFFERS = "SHIPPING_ADDRESS_DIFFERS"
    PACKSTATION_SHIPPING = "PACKSTATION_SHIPPING"
    PACKSTATION_BILLING = "PACKSTATION_BILLING"
    POSTAL_CODE_INVALID = "POSTAL_CODE_INVALID"
    POSTAL_CODE_CITY_MISMATCH = "POSTAL_CODE_CITY_MISMATCH"
    EMAIL_INVALID = "EMAIL_INVALID"
    EMAIL_DISPOSABLE = "EMAIL_DISPOSABLE"
    EMAIL_NAME_MISMATCH = "EMAIL_NAME_MISMATCH"
    PHONE_INVALID = "PHONE_INVALID"
    PHONE_COUNTRY_MISMATCH = "PHONE_COUNTRY_MISMATCH"
    PHONE_PREMIUM_RATE = "PHONE_PREMIUM_RATE"
    PHONE_VOIP = "PHONE_VOIP"
    TEST_ORDER_NAME = "TEST_ORDER_NAME"
    COMPANY_IN_CONSUMER_ORDER = "COMPANY_IN_CONSUMER_ORDER"
    VELOCITY_ORDERS = "VELOCITY_ORDERS"
    VELOCITY_NAMES = "VELOCITY_NAMES"
    VELOCITY_ADDRESSES = "VELOCITY_ADDRESSES"
    VELOCITY_INVOICE_ORDERS = "VELOCITY_INVOICE_ORDERS"
    OPEN_INVOICES_WITHOUT_PAYMENT = "OPEN_INVOICES_WITHOUT_PAYMENT"
    HISTORY_UNPAID = "HISTORY_UNPAID"
    HISTORY_DUNNED = "HISTORY_DUNNED"
    HISTORY_HANDED_OVER = "HISTORY_HANDED_OVER"
    BUREAU_RED = "BUREAU_RED"
    BUREAU_YELLOW = "BUREAU_YELLOW"
    BUREAU_LOW_SCORE = "BUREAU_LOW_SCORE"
    BUREAU_PERSON_STATUS = "BUREAU_PERSON_STATUS"


DEFAULT_WEIGHTS: Mapping[str, int] = MappingProxyType(
    {
        # A hard limit: reaching the decline threshold alone, as a shop's "invoice up to X" rule would.
        ReasonCode.ORDER_AMOUNT_LIMIT: 70,
        ReasonCode.FIRST_ORDER_AMOUNT_LIMIT: 30,
        ReasonCode.OPEN_EXPOSURE_LIMIT: 50,
        ReasonCode.FIRST_ORDER: 5,
        ReasonCode.SHIPPING_NAME_DIFFERS: 15,
        ReasonCode.SHIPPING_ADDRESS_DIFFERS: 10,
        ReasonCode.PACKSTATION_SHIPPING: 20,
        # Nobody lives at a Packstation: an invoice addressed there cannot be dunned.
        ReasonCode.PACKSTATION_BILLING: 40,
        ReasonCode.POSTAL_CODE_INVALID: 20,
        ReasonCode.POSTAL_CODE_CITY_MISMATCH: 20,
        ReasonCode.EMAIL_INVALID: 30,
        ReasonCode.EMAIL_DISPOSABLE: 35,
        ReasonCode.EMAIL_NAME_MISMATCH: 3,
        ReasonCode.PHONE_INVALID: 10,
        ReasonCode.PHONE_COUNTRY_MISMATCH: 5,
        ReasonCode.PHONE_PREMIUM_RATE: 20,
        ReasonCode.PHONE_VOIP: 5,
        ReasonCode.TEST_ORDER_NAME: 30,
        ReasonCode.COMPANY_IN_CONSUMER_ORDER: 10,
        ReasonCode.VELOCITY_ORDERS: 25,
        ReasonCode.VELOCITY_NAMES: 25,
        ReasonCode.VELOCITY_ADDRESSES: 20,
        # Invoice orders actually placed in quick succession: the repeat-order fraud of German e-commerce.
        # Enough for a review alone, a decline together with any other velocity or a first order.
        ReasonCode.VELOCITY_INVOICE_ORDERS: 40,
        # Nothing ever paid, yet the policy's number of invoices already open: a hard limit, as peers gate
        # invoice on at least one paid order.
        ReasonCode.OPEN_INVOICES_WITHOUT_PAYMENT: 70,
        ReasonCode.HISTORY_UNPAID: 30,
        ReasonCode.HISTORY_DUNNED: 45,
        ReasonCode.HISTORY_HANDED_OVER: 70,
        ReasonCode.BUREAU_RED: 70,
        ReasonCode.BUREAU_YELLOW: 25,
        ReasonCode.BUREAU_LOW_SCORE: 40,
        ReasonCode.BUREAU_PERSON_STATUS: 30,
    }
)

REVIEW_MODES = ("offer", "hide")
FAIL_MODES = ("hide_invoice", "allow_up_to")
# PAYONE addresschecktype: none, basic, person, Boniversum basic, Boniversum person.
ADDRESS_CHECK_TYPES = ("NO", "BA", "PE", "BB", "PB")
_SCORE_TYPE = re.compile(r"[A-Z]{2,4}")


class PolicyError(ValueError):
    """A policy field has an invalid value; ``field`` is its JSON pointer."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class VelocityLimits:
    """How many earlier orders one identity key may have before a velocity reason fires; 0 switches one off.

    ``invoice_orders_24h`` counts checkouts of the last 24 hours that became invoice orders.
    """

    orders_24h: int = 3
    orders_30d: int = 10
    other_names_30d: int = 2
    other_addresses_30d: int = 2
    invoice_orders_24h: int = 2


DEFAULT_VELOCITY: Mapping[str, VelocityLimits] = MappingProxyType(
    {
        "email": VelocityLimits(),
        "phone": VelocityLimits(),
        "address": VelocityLimits(),
        "shipping_address": VelocityLimits(),
        # Households, offices and carrier-grade NAT share one IP address.
        "ip": VelocityLimits(
            orders_24h=5, orders_30d=30, other_names_30d=4, other_addresses_30d=4, invoice_orders_24h=3
        ),
    }
)


@dataclass(frozen=True, slots=True)
class BureauSettings:
    """When and how to ask a credit bureau; off by default because every request costs money."""

    enabled: bool = False
    min_amount: Decimal = Decimal("250.00")
    score_type: str = "IH"
    address_check_type: str = "NO"
    cache_days: int = 30
    # Provider-specific scale, so no default: only the traffic light counts unless the merchant sets one.
    min_score_value: int | None = None


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """One merchant's risk policy; the defaults suit a German shop selling to consumers."""

    # The one list of invoice-like methods for every shop of the merchant: what the checkout hides from risky
    # buyers and which orders become receivables. Shopware's invoice, Germanized's and German Market's gateways
    # and the ClaimBridge WooCommerce plugin's own.
    invoice_methods: tuple[str, ...] = (
        "invoice",
        "payment_invoicepayment",
        "german_market_purchase_on_account",
        "claimbridge_invoice",
    )
    review_at: int = 40
    decline_at: int = 70
    currency: str = "EUR"
    max_order_amount: Decimal = Decimal("1500.00")
    max_first_order_amount: Decimal = Decimal("500.00")
    max_open_exposure: Decimal = Decimal("2000.00")
    # A buyer with no payment booked at this merchant gets at most this many invoices open at once.
    max_open_invoices_without_payment: int = 2
    weights: Mapping[str, int] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    review_mode: str = "offer"
    fail_mode: str = "allow_up_to"
    bureau_fail_max_amount: Decimal = Decimal("250.00")
    bureau: BureauSettings = field(default_factory=BureauSettings)
    retention_days: int = 90
    velocity: Mapping[str, VelocityLimits] = field(default_factory=lambda: DEFAULT_VELOCITY)
    # What every shop tells a buyer who may not pay by invoice, by language; empty: ClaimBridge's neutral text.
    buyer_message: Mapping[str, str] = field(default_factory=lambda: dict.fromkeys(LANGUAGES, ""))

    def weight(self, code: str) -> int:
        """Return the weight of a reason code."""
        return self.weights.get(code, 0)

    def to_dict(self) -> dict[str, Any]:
        """Dump the policy as plain JSON types (amounts as decimal strings)."""
        return {
            "invoice_methods": list(self.invoice_methods),
            "review_at": self.review_at,
            "decline_at": self.decline_at,
            "currency": self.currency,
            "max_order_amount": str(self.max_order_amount),
            "max_first_order_amount": str(self.max_first_order_amount),
            "max_open_exposure": str(self.max_open_exposure),
            "max_open_invoices_without_payment": self.max_open_invoices_without_payment,
            "weights": {str(code): weight for code, weight in self.weights.items()},
            "review_mode": self.review_mode,
            "fail_mode": self.fail_mode,
            "bureau_fail_max_amount": str(self.bureau_fail_max_amount),
            "bureau": {
                "enabled": self.bureau.enabled,
                "min_amount": str(self.bureau.min_amount),
                "score_type": self.bureau.score_type,
                "address_check_type": self.bureau.address_check_type,
                "cache_days": self.bureau.cache_days,
                "min_score_value": self.bureau.min_score_value,
            },
            "retention_days": self.retention_days,
            "velocity": {
                kind: {f.name: getattr(limits, f.name) for f in fields(VelocityLimits)}
                for kind, limits in self.velocity.items()
            },
            "buyer_message": dict(self.buyer_message),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskPolicy:
        """Build a policy from its JSON form; missing fields keep their defaults."""
        _require_mapping(data, "")
        _reject_unknown(data, {f.name for f in fields(cls)}, "")
        default = cls()
        changes: dict[str, Any] = {}
        if "invoice_methods" in data:
            changes["invoice_methods"] = _method_ids(data["invoice_methods"], "/invoice_methods")
        for name in ("review_at", "decline_at"):
            if name in data:
                changes[name] = _integer(data[name], f"/{name}", 0, 100)
        if "max_open_invoices_without_payment" in data:
            changes["max_open_invoices_without_payment"] = _integer(
                data["max_open_invoices_without_payment"], "/max_open_invoices_without_payment", 1, 100
            )
        if "currency" in data:
            changes["currency"] = _currency(data["currency"], "/currency")
        for name in (
            "max_order_amount",
            "max_first_order_amount",
            "max_open_exposure",
            "bureau_fail_max_amount",
        ):
            if name in data:
                changes[name] = _amount(data[name], f"/{name}")
        if "weights" in data:
            changes["weights"] = _weights(data["weights"], default.weights)
        if "review_mode" in data:
            changes["review_mode"] = _choice(data["review_mode"], "/review_mode", REVIEW_MODES)
        if "fail_mode" in data:
            changes["fail_mode"] = _choice(data["fail_mode"], "/fail_mode", FAIL_MODES)
        if "bureau" in data:
            changes["bureau"] = _bureau(data["bureau"], default.bureau)
        if "retention_days" in data:
            changes["retention_days"] = _integer(data["retention_days"], "/retention_days", 1, 3650)
        if "velocity" in data:
            changes["velocity"] = _velocity(data["velocity"], default.velocity)
        if "buyer_message" in data:
            changes["buyer_message"] = _buyer_message(data["buyer_message"], default.buyer_message)
        policy = replace(default, **changes)
        if policy.review_at > policy.decline_at:
            raise PolicyError("/review_at", "must not be greater than decline_at")
        return policy


def _require_mapping(value: Any, pointer: str) -> None:
    if not isinstance(value, Mapping):
        raise PolicyError(pointer or "/", "must be an object")


def _reject_unknown(data: Mapping[str, Any], known: set[str], pointer: str) -> None:
    for key in data:
        if key not in known:
            raise PolicyError(f"{pointer}/{key}", "unknown field")


def _integer(value: Any, pointer: str, low: int, high: int) -> int:
    # bool is an int in Python, but "true" is no threshold.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(pointer, "must be an integer")
    if not low <= value <= high:
        raise PolicyError(pointer, f"must be between {low} and {high}")
    return value


def _amount(value: Any, pointer: str) -> Decimal:
    # Floats are refused: money stays decimal from the JSON string on.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise PolicyError(pointer, 'must be a decimal string such as "500.00"')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise PolicyError(pointer, 'must be a decimal string such as "500.00"') from None
    if not amount.is_finite() or amount < 0:
        raise PolicyError(pointer, "must be a non-negative amount")
    # A larger amount does not fit the Money columns it is compared with, and cannot be shown with cents.
    if amount > MONEY_MAX:
        raise PolicyError(pointer, f"must be between 0 and {MONEY_MAX}")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise PolicyError(pointer, "must have at most two decimal places")
    return amount


def _choice(value: Any, pointer: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise PolicyError(pointer, f"must be one of {', '.join(choices)}")
    return str(value)


def _currency(value: Any, pointer: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise PolicyError(pointer, "must be an ISO 4217 code such as EUR")
    return value


def _buyer_message(value: Any, defaults: Mapping[str, str]) -> Mapping[str, str]:
    _require_mapping(value, "/buyer_message")
    _reject_unknown(value, set(defaults), "/buyer_message")
    merged = dict(defaults)
    for lang, text in value.items():
        if not isinstance(text, str):
            raise PolicyError(f"/buyer_message/{lang}", "must be a text")
        if len(text.strip()) > 300:
            raise PolicyError(f"/buyer_message/{lang}", "must be at most 300 characters")
        merged[lang] = text.strip()
    return merged


def _method_ids(value: Any, pointer: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise PolicyError(pointer, "must be a list of payment method ids")
    for index, method in enumerate(value):
        if not isinstance(method, str) or not method.strip():
            raise PolicyError(f"{pointer}/{index}", "must be a non-empty string")
    return tuple(dict.fromkeys(method.strip() for method in value))


def _weights(value: Any, defaults: Mapping[str, int]) -> Mapping[str, int]:
    _require_mapping(value, "/weights")
    merged = dict(defaults)
    for code, weight in value.items():
        if code not in defaults:
            raise PolicyError(f"/weights/{code}", "unknown reason code")
        merged[ReasonCode(code)] = _integer(weight, f"/weights/{code}", 0, 100)
    return MappingProxyType(merged)


def _bureau(value: Any, default: BureauSettings) -> BureauSettings:
    _require_mapping(value, "/bureau")
    _reject_unknown(value, {f.name for f in fields(BureauSettings)}, "/bureau")
    changes: dict[str, Any] = {}
    if "enabled" in value:
        if not isinstance(value["enabled"], bool):
            raise PolicyError("/bureau/enabled", "must be true or false")
        changes["enabled"] = value["enabled"]
    if "min_amount" in value:
        changes["min_amount"] = _amount(value["min_amount"], "/bureau/min_amount")
    if "score_type" in value:
        score_type = value["score_type"]
        if not isinstance(score_type, str) or not _SCORE_TYPE.fullmatch(score_type):
            raise PolicyError(
                "/bureau/score_type", "must be a PAYONE consumerscoretype such as IH, IA, IB or CE"
            )
        changes["score_type"] = score_type
    if "address_check_type" in value:
        changes["address_check_type"] = _choice(
            value["address_check_type"], "/bureau/address_check_type", ADDRESS_CHECK_TYPES
        )
    if "cache_days" in value:
        changes["cache_days"] = _integer(value["cache_days"], "/bureau/cache_days", 0, 365)
    if "min_score_value" in value:
        minimum = value["min_score_value"]
        changes["min_score_value"] = (
            None if minimum is None else _integer(minimum, "/bureau/min_score_value", 0, 10_000)
        )
    return replace(default, **changes)


def _velocity(value: Any, defaults: Mapping[str, VelocityLimits]) -> Mapping[str, VelocityLimits]:
    _require_mapping(value, "/velocity")
    merged = dict(defaults)
    limit_names = {f.name for f in fields(VelocityLimits)}
    for kind, limits in value.items():
        pointer = f"/velocity/{kind}"
        if kind not in VELOCITY_KINDS:
            raise PolicyError(pointer, f"must be one of {', '.join(VELOCITY_KINDS)}")
        _require_mapping(limits, pointer)
        _reject_unknown(limits, limit_names, pointer)
        merged[kind] = replace(
            merged[kind],
            **{name: _integer(limit, f"{pointer}/{name}", 0, 10_000) for name, limit in limits.items()},
        )
    return MappingProxyType(merged)
