"""Test buyers built from real (postal code, city) pairs of the GeoNames data the engine ships."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from backend.merchants.policy import RiskPolicy
from backend.risk.inputs import CheckInput

# Real pairs, checked against backend/risk/data/de_postal_places.tsv by test_signals.
REAL_PLACES = (
    ("60316", "Frankfurt am Main"),
    ("80331", "München"),
    ("10115", "Berlin"),
    ("50667", "Köln"),
    ("01067", "Dresden"),
    ("20095", "Hamburg"),
    ("70173", "Stuttgart"),
    ("04109", "Leipzig"),
)

CLEAN_PAYLOAD: dict[str, Any] = {
    "reference": "cart-1001",
    "amount": "89.90",
    "currency": "EUR",
    "payment_methods": ["invoice", "paypal"],
    "buyer": {
        "email": "anna.schmidt@web.de",
        "phone": "0171 2345678",
        "first_name": "Anna",
        "last_name": "Schmidt",
        "is_guest": False,
    },
    "billing_address": {
        "first_name": "Anna",
        "last_name": "Schmidt",
        "street": "Berger Straße",
        "house_number": "12",
        "postal_code": "60316",
        "city": "Frankfurt am Main",
        "country": "DE",
    },
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0",
    "items": [{"sku": "MUG-1", "name": "Tasse", "quantity": 2, "unit_price": "44.95", "category": "home"}],
}


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@pytest.fixture
def make_check() -> Callable[..., CheckInput]:
    """Return a factory for check inputs: a clean German buyer, nested dicts override single fields."""

    def factory(**overrides: Any) -> CheckInput:
        return CheckInput.from_payload(_merge(CLEAN_PAYLOAD, overrides))

    return factory


@pytest.fixture
def policy() -> RiskPolicy:
    return RiskPolicy()
