"""Each merchant's stored risk policy: read (cached a few seconds), shown, validated and replaced.

The policy is one of the tenant's settings (``merchants/policy.py`` is its value); the risk check reads it for
its thresholds, the shops' order intake for its invoice methods. The PAYONE account beside it is stored
encrypted and never shown again, only whether one is configured.
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa

from backend.audit.services import record_event
from backend.crypto import decrypt_text, encrypt_text
from backend.errors import UserValueError
from backend.extensions import db, utcnow
from backend.merchants.models import RiskPolicyRecord
from backend.merchants.policy import PolicyError, RiskPolicy

BUREAU_ACCOUNT_FIELDS = ("merchant_id", "portal_id", "sub_account_id", "portal_key", "mode")

# Parsed policies per merchant, re-read after POLICY_CACHE_SECONDS so other workers see an update quickly.
POLICY_CACHE_SECONDS = 5.0
policy_cache: dict[int, tuple[float, RiskPolicy]] = {}


def get_policy(merchant_id: int) -> RiskPolicy:
    """Return the merchant's policy (the default policy until one is stored), cached for a few seconds."""
    cached = policy_cache.get(merchant_id)
    if cached is not None and time.monotonic() - cached[0] < POLICY_CACHE_SECONDS:
        return cached[1]
    document = db.session.scalar(sa.select(RiskPolicyRecord.document).filter_by(merchant_id=merchant_id))
    policy = RiskPolicy() if document is None else RiskPolicy.from_dict(document)
    policy_cache[merchant_id] = (time.monotonic(), policy)
    return policy


def policy_document(merchant_id: int) -> dict[str, Any]:
    """Return the policy as the API shows it; the bureau account appears only as configured or not."""
    document = get_policy(merchant_id).to_dict()
    account = bureau_account(merchant_id)
    document["bureau_account"] = {
        "provider": "payone",
        "configured": account is not None,
        "mode": account["mode"] if account else None,
    }
    return document


def validated_policy(document: dict[str, Any]) -> RiskPolicy:
    """Return the policy a document describes; raise UserValueError naming the invalid field's pointer."""
    try:
        return RiskPolicy.from_dict(document)
    except PolicyError as error:
        raise UserValueError(
            "The policy has an invalid field.", details={error.field: [error.message]}
        ) from error


def update_policy(merchant_id: int, document: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Validate and store a policy; fields left out keep their defaults."""
    document = dict(document)
    account = document.pop("bureau_account", None)
    policy = validated_policy(document)
    record = db.session.get(RiskPolicyRecord, merchant_id) or RiskPolicyRecord(merchant_id=merchant_id)
    record.document = policy.to_dict()
    record.updated_at = utcnow()
    if account is not None:
        record.bureau_account_encrypted = _validated_bureau_account(account)
    db.session.add(record)
    db.session.flush()
    policy_cache.pop(merchant_id, None)
    record_event(
        "policy.updated",
        actor=actor,
        merchant_id=merchant_id,
        target_type="policy",
        target_id=merchant_id,
        details={"fields": sorted(document), "bureau_account_changed": account is not None},
    )
    return policy_document(merchant_id)


def bureau_account(merchant_id: int) -> dict[str, str] | None:
    """Return the merchant's decrypted credit bureau account (``BUREAU_ACCOUNT_FIELDS``), or None without one."""
    record = db.session.get(RiskPolicyRecord, merchant_id)
    if record is None or record.bureau_account_encrypted is None:
        return None
    return json.loads(decrypt_text(record.bureau_account_encrypted))


def _validated_bureau_account(account: Any) -> str | None:
    if account is None or account == {}:
        return None
    if not isinstance(account, dict):
        raise UserValueError(
            "bureau_account must be an object", details={"/bureau_account": ["not an object"]}
        )
    missing = [name for name in BUREAU_ACCOUNT_FIELDS if not str(account.get(name) or "").strip()]
    if missing:
        raise UserValueError(
            "The PAYONE account is incomplete.",
            details={f"/bureau_account/{name}": ["required"] for name in missing},
        )
    if account["mode"] not in ("test", "live"):
        raise UserValueError("mode must be test or live", details={"/bureau_account/mode": ["test or live"]})
    return encrypt_text(json.dumps({name: str(account[name]) for name in BUREAU_ACCOUNT_FIELDS}))
