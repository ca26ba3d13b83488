"""Risk-check, policy and buyer-override endpoints: parse, call a service, dump."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Request, Response, request
from marshmallow import Schema

from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.extensions import autocommit, current_request, db, header_of, request_connection
from backend.merchants import policy_store
from backend.merchants.policy import LANGUAGES
from backend.merchants.services import get_merchant
from backend.orders.services import payment_terms_days
from backend.risk import services
from backend.risk.blueprint import blp
from backend.risk.messages import explain_reason, invoice_unavailable_message, message_for, pick_language
from backend.risk.models import RiskCheck
from backend.risk.schemas import (
    BuyerOverrideRequestSchema,
    BuyerOverrideSchema,
    CheckoutSettingsSchema,
    PolicyDocumentSchema,
    PolicySchema,
    RiskCheckRequestSchema,
    RiskCheckSchema,
)


def _language(req: Request) -> str:
    return pick_language(header_of(req, "Accept-Language"))


def _check_body(row: RiskCheck | services.StoredCheck, lang: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "reference": row.reference,
        "decision": row.decision,
        "score": row.score,
        "rule": row.rule,
        "rule_message": message_for(row.rule, lang),
        "reasons": [explain_reason(reason, lang) for reason in row.reasons],
        "warnings": [
            {
                "code": w["code"],
                "field": w["field"],
                "message": message_for(w["code"], lang, **w.get("params", {})),
            }
            for w in row.warnings
        ],
        "payment_methods": {
            "allowed": [m for m in row.offered_methods if m not in row.hidden_methods],
            "hidden": row.hidden_methods,
        },
        "bureau": row.bureau,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
    }


def _loads_json_body(schema: Schema) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``blp.arguments(schema)``, documented alike, loading the JSON the request checks parsed already.

    webargs reads the body and parses it a second time, then loads it through its own machinery; a 422 names
    the same fields either way (``ValidationError``'s messages, as ``backend.errors`` answers webargs' 422).
    Like webargs, an empty or non-JSON body loads as an empty document (which the schema then refuses).
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        documented = blp.arguments(schema)(view)

        @functools.wraps(view)
        def loaded(*args: Any, **kwargs: Any) -> Any:
            req = current_request()
            document = req.get_json() if req.is_json and req.get_data(cache=True) else {}
            return view(schema.load(document), *args, **kwargs)

        loaded._apidoc = documented._apidoc  # type: ignore[attr-defined]
        return loaded

    return decorator


def _responds_itself(status: int, schema: type[Schema]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``blp.response(status, schema)`` for a view that returns its own ``Response``: documented alike, unwrapped.

    flask-smorest's wrapper passes a ``Response`` through untouched, after a call through ``ensure_sync`` and a
    look at the return value on every request; the view keeps only the documentation it adds.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        view._apidoc = blp.response(status, schema)(view)._apidoc  # type: ignore[attr-defined]
        return view

    return decorator


@blp.route("/risk-checks", methods=["POST"])
@_loads_json_body(RiskCheckRequestSchema())
@_responds_itself(201, RiskCheckSchema)
@require_oauth("risk:check")
@autocommit
def create_risk_check(payload: dict[str, Any]) -> Response:
    """Decide whether invoice may be offered to this buyer for this cart."""
    req = current_request()
    row = services.run_risk_check(
        current_merchant_id(), payload, raw_input=req.get_json(), connection=request_connection()
    )
    db.session.commit()  # first: on SQLite the write lock is held until here
    body = json.dumps(_check_body(row, _language(req)), default=_isoformat)
    # Serialised here. The body is already in RiskCheckSchema's shape (which documents it and dumps the GET),
    # so plain JSON with ISO timestamps is what the schema would write.
    return Response(body, status=201, mimetype="application/json")


def _isoformat(value: datetime) -> str:
    return value.isoformat()


@blp.route("/risk-checks/<check_id>", methods=["GET"])
@blp.response(200, RiskCheckSchema)
@require_oauth("risk:check")
def get_risk_check(check_id: str) -> dict[str, Any]:
    """A stored check with its reasons."""
    return _check_body(services.get_risk_check(current_merchant_id(), check_id), _language(request))


@blp.route("/policy", methods=["GET"])
@blp.response(200, PolicyDocumentSchema)
@require_oauth(["risk:check", "settings:write"])
def get_policy() -> dict[str, Any]:
    """The merchant's risk policy (defaults filled in)."""
    return policy_store.policy_document(current_merchant_id())


@blp.route("/policy", methods=["PUT"])
@blp.arguments(PolicySchema)
@blp.response(200, PolicyDocumentSchema)
@require_oauth("settings:write")
def put_policy(document: dict[str, Any]) -> dict[str, Any]:
    """Replace the risk policy; fields left out get their defaults."""
    body = policy_store.update_policy(current_merchant_id(), document, actor=current_client_id())
    db.session.commit()
    return body


@blp.route("/checkout-settings", methods=["GET"])
@blp.response(200, CheckoutSettingsSchema)
@require_oauth(["risk:check", "settings:write"])
def get_checkout_settings() -> dict[str, Any]:
    """What a shop's checkout and payment instructions show, read from the merchant's one set of settings.

    The payment term the receivables' due dates use, the policy's invoice-like methods and the text a buyer
    reads when invoice is not offered (the policy's ``buyer_message`` or ClaimBridge's), in German and English; the scope is the checkout's, so a shop plugin
    shows the backend's values instead of keeping its own copy.
    """
    merchant_id = current_merchant_id()
    policy = policy_store.get_policy(merchant_id)
    return {
        "payment_terms_days": payment_terms_days(get_merchant(merchant_id)),
        "invoice_methods": list(policy.invoice_methods),
        "invoice_unavailable_message": {
            lang: invoice_unavailable_message(policy, lang) for lang in LANGUAGES
        },
    }


@blp.route("/buyer-overrides", methods=["PUT"])
@blp.arguments(BuyerOverrideRequestSchema)
@blp.response(200, BuyerOverrideSchema(many=True))
@require_oauth("settings:write")
def put_buyer_override(body: dict[str, Any]) -> list[Any]:
    """Always or never allow invoice for a buyer (mode null clears it); wins over any score."""
    identity = {key: body.get(key) for key in ("email", "phone", "billing_address")}
    actor = body.get("by") or current_client_id()
    rows = services.set_buyer_override(
        current_merchant_id(), identity, body["mode"], note=body["note"], actor=actor
    )
    db.session.commit()
    return rows
