"""The merchant's handover rules: minimum amount, auto-approval limits, agency, creditor address."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask import current_app

from backend.audit.services import record_event
from backend.crypto import encrypt_text
from backend.errors import UserValueError
from backend.extensions import db
from backend.handovers.models import HandoverRule
from backend.receivables.models import Receivable
from connectors.agencies.base import PostalAddress
from connectors.errors import UnsafeURLError
from connectors.ssrf import validate_public_url

ZERO = Decimal("0.00")


def get_rules(merchant_id: int) -> HandoverRule | None:
    """Return the merchant's handover rules, or None when the defaults apply."""
    return db.session.get(HandoverRule, merchant_id)


def rules_document(merchant_id: int) -> dict[str, Any]:
    """Return the rules as the API shows them (the API key only as whether it is set)."""
    rule = get_rules(merchant_id)
    return {
        "minimum_amount": rule.minimum_amount if rule else ZERO,
        "auto_approve_consumer_up_to": rule.auto_approve_consumer_up_to if rule else None,
        "auto_approve_business_up_to": rule.auto_approve_business_up_to if rule else None,
        "agency": rule.agency if rule else "builtin",
        "agency_base_url": rule.agency_base_url if rule else None,
        "agency_api_key_set": bool(rule and rule.agency_api_key_encrypted),
        "creditor_address": (rule.creditor_address or None) if rule else None,
    }


def update_rules(merchant_id: int, values: Mapping[str, Any], *, actor: str) -> dict[str, Any]:
    """Replace the merchant's rules (validated by ``HandoverRulesSchema``); keep a stored key unless a new one comes."""
    rule = get_rules(merchant_id)
    if rule is None:
        rule = HandoverRule(merchant_id=merchant_id, updated_by=actor)
        db.session.add(rule)
    api_key = values.get("agency_api_key")
    if values["agency"] == "http" and not (api_key or rule.agency_api_key_encrypted):
        raise UserValueError(
            "An HTTP agency needs its API key.", details={"/agency_api_key": ["Required for agency http."]}
        )
    if values["agency"] == "http" and not values.get("agency_base_url"):
        raise UserValueError(
            "An HTTP agency needs its base URL.", details={"/agency_base_url": ["Required for agency http."]}
        )
    if values.get("agency_base_url"):
        # Checked now, not first at handover time, where a refused URL only loops in the worker's log.
        try:
            validate_public_url(
                values["agency_base_url"], current_app.config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"]
            )
        except UnsafeURLError as error:
            raise UserValueError(
                "The agency URL cannot be used.", details={"/agency_base_url": [str(error)]}
            ) from error
    rule.minimum_amount = values["minimum_amount"]
    rule.auto_approve_consumer_up_to = values.get("auto_approve_consumer_up_to")
    rule.auto_approve_business_up_to = values.get("auto_approve_business_up_to")
    rule.agency = values["agency"]
    rule.agency_base_url = values.get("agency_base_url")
    rule.creditor_address = dict(values["creditor_address"])
    if api_key:
        rule.agency_api_key_encrypted = encrypt_text(api_key)
    rule.updated_by = actor
    db.session.flush()
    record_event(
        "handover_rules.updated",
        actor=actor,
        merchant_id=merchant_id,
        target_type="handover_rules",
        target_id=merchant_id,
        details={"agency": rule.agency, "minimum_amount": str(rule.minimum_amount)},
    )
    return rules_document(merchant_id)


def _postal_address(data: Mapping[str, Any] | None) -> PostalAddress | None:
    """Return the postal address a stored address dict describes, or None when street, code or city is missing."""
    if not data or not all(data.get(key) for key in ("street", "postal_code", "city")):
        return None
    return PostalAddress(
        street=data["street"],
        postal_code=data["postal_code"],
        city=data["city"],
        country=data.get("country") or "DE",
        house_number=data.get("house_number"),
    )


def creditor_postal_address(rule: HandoverRule | None) -> PostalAddress | None:
    """Return the creditor's postal address from the merchant's rules, or None when it is incomplete."""
    return _postal_address(rule.creditor_address if rule else None)


def debtor_postal_address(receivable: Receivable) -> PostalAddress | None:
    """Return the debtor's postal address from the receivable's billing address, or None when incomplete."""
    return _postal_address(receivable.billing_address)
