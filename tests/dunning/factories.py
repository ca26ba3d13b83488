"""Builders for dunning tests: a merchant ready to dun (receivables come from ``tests.factories``)."""

from __future__ import annotations

from typing import Any

from backend.dunning.merchant_settings import update_dunning_settings
from backend.extensions import db
from backend.merchants.models import Merchant

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"


def set_payment_details(merchant: Merchant, **values: Any) -> None:
    """Give ``merchant`` the bank account its notices name."""
    document = {"payment_details": {"account_holder": merchant.name, "iban": IBAN, "bic": BIC}, **values}
    update_dunning_settings(merchant, document, actor="test")
    db.session.commit()
