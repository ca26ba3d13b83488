"""The OpenAPI document beyond flask-smorest's defaults: our error body, money as decimal strings, OAuth2.

Everything here applies to every endpoint by construction: ``ClaimBridgeApi`` documents the error body all
errors share, ``document_decimals`` renders every Decimal field as the string it is sent as, and
``security_doc`` is what ``require_oauth`` attaches to each view it guards.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flask_smorest import Api
from marshmallow import Schema, fields

SECURITY_SCHEME = "oauth2"
SCOPE_DESCRIPTIONS = {
    "risk:check": "run risk checks at checkout and read their decisions and the policy",
    "orders:write": "push orders and upload bank statements",
    "handovers:read": "read receivables, dunning settings, handovers and payment matches",
    "handovers:write": "approve or reject handovers, dispute receivables, confirm payment matches",
    "cases:write": "work collection cases in the built-in agency inbox",
    "settings:write": "change the policy, dunning schedule, handover rules and shop connections",
    "console:session": "open a one-time merchant console link",
}
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


class ErrorSchema(Schema):
    """The body of every error response."""

    error = fields.String(
        required=True, metadata={"description": "machine-readable code, e.g. invalid_request"}
    )
    message = fields.String(required=True, metadata={"description": "what went wrong, for people"})
    details = fields.Raw(
        allow_none=True,
        metadata={"description": 'more, e.g. field errors keyed by JSON pointer: {"/amount": ["…"]}'},
    )


class ClaimBridgeApi(Api):
    """flask-smorest's Api documenting ClaimBridge's error body for every error response."""

    ERROR_SCHEMA = ErrorSchema


def document_decimals(converter: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Document Decimal fields as what they are on the wire: strings for money, numbers for the rest.

    apispec calls every Decimal a number; money fields are sent and returned as strings ("12.50") so no
    client rounds them through a float. Range bounds stay JSON numbers, as OpenAPI requires.
    """
    if not isinstance(field, fields.Decimal):
        return {}
    attributes: dict[str, Any] = {}
    for key in ("minimum", "maximum"):
        value = ret.get(key)
        if isinstance(value, Decimal | str):
            number = Decimal(value)
            attributes[key] = int(number) if number == number.to_integral_value() else float(number)
    if field.as_string:
        attributes.update({"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN})
    return attributes


def security_doc(scopes: str | list[str] | None) -> dict[str, Any]:
    """Return the ``_apidoc`` of a view guarded by ``require_oauth(scopes)``: security and 401/403."""
    if isinstance(scopes, list):  # any one of the scopes
        requirements = [{SECURITY_SCHEME: [scope]} for scope in scopes] or [{SECURITY_SCHEME: []}]
    else:  # every scope named in the string
        requirements = [{SECURITY_SCHEME: (scopes or "").split()}]
    return {
        "response": {"responses": {401: ["UNAUTHORIZED"], 403: ["FORBIDDEN"]}},
        "manual_doc": {"security": requirements},
    }


def register_security_scheme(api: Api, scopes: Iterable[str]) -> None:
    """Declare the OAuth2 client-credentials flow and its scopes in the document."""
    described = {scope: SCOPE_DESCRIPTIONS.get(scope, scope) for scope in scopes}
    api.spec.components.security_scheme(
        SECURITY_SCHEME,
        {
            "type": "oauth2",
            "description": "Client credentials of the merchant's API client (HTTP Basic or form body).",
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": described}},
        },
    )
