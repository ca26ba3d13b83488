"""Choose a merchant's collection agency adapter: the built-in inbox or a paywise-style HTTP API."""

from __future__ import annotations

from flask import current_app

from backend.cases.agency import BuiltinAgency
from backend.crypto import decrypt_text
from backend.errors import UserValueError
from backend.extensions import db
from backend.handovers.models import AgencyKind, HandoverRule
from backend.merchants.connectors import WORKER_BACKOFF, WORKER_RETRIES, connector_timeouts
from connectors.agencies.base import CollectionAgency
from connectors.agencies.paywise import API_URL, PaywiseAgency


def agency_name(rule: HandoverRule | None) -> str:
    """Return the agency a merchant's rule names (``builtin`` without a rule)."""
    if rule is None or rule.agency == AgencyKind.BUILTIN:
        return BuiltinAgency.agency
    return PaywiseAgency.agency


def agency_for(merchant_id: int) -> CollectionAgency:
    """Return the adapter the merchant chose; the caller closes it."""
    rule = db.session.get(HandoverRule, merchant_id)
    if rule is None or rule.agency == AgencyKind.BUILTIN:
        return BuiltinAgency(merchant_id)
    if not rule.agency_api_key_encrypted:
        raise UserValueError("the agency API key is not set", details={"/agency_api_key": ["Required."]})
    return PaywiseAgency(
        decrypt_text(rule.agency_api_key_encrypted),
        base_url=rule.agency_base_url or API_URL,
        allow_private=current_app.config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"],
        timeout=connector_timeouts(),
        max_retries=WORKER_RETRIES,
        backoff=WORKER_BACKOFF,
    )
