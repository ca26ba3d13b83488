"""Dunning endpoints: parse, call a service, dump."""

from __future__ import annotations

from typing import Any

from flask import request

from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.dunning import merchant_settings, rate_store, stops
from backend.dunning.blueprint import blp
from backend.dunning.girocode import GiroCodeError, girocode_document
from backend.dunning.guide import GUIDE
from backend.dunning.schemas import (
    BaseRateStatusSchema,
    ClaimSettingsSchema,
    DunningBuyerStopRequestSchema,
    DunningBuyerStopSchema,
    DunningSchedulesResponseSchema,
    DunningSchedulesSchema,
    DunningSettingsResponseSchema,
    DunningSettingsSchema,
    GiroCodeRequestSchema,
    GiroCodeSchema,
    MerchantGuideSchema,
)
from backend.errors import UserValueError
from backend.extensions import db
from backend.merchants.services import get_merchant


def actor_for(by: str | None) -> str:
    """Name who acted: the API client, and the person the caller says acted through it."""
    client = f"client:{current_client_id()}"
    return f"{client} ({by})" if by else client


@blp.route("/dunning-schedule", methods=["GET"])
@blp.response(200, DunningSchedulesResponseSchema)
@require_oauth(["handovers:read", "settings:write"])
def get_dunning_schedule() -> dict[str, Any]:
    """The consumer and business schedules (defaults until the merchant saves its own)."""
    return merchant_settings.schedules_document(merchant_settings.get_schedules(current_merchant_id()))


@blp.route("/dunning-schedule", methods=["PUT"])
@blp.arguments(DunningSchedulesSchema)
@blp.response(200, DunningSchedulesResponseSchema)
@require_oauth("settings:write")
def put_dunning_schedule(document: dict[str, Any]) -> dict[str, Any]:
    """Replace both schedules; an invalid field is answered 422 with its JSON pointer."""
    body = merchant_settings.replace_schedules(current_merchant_id(), document, actor=actor_for(None))
    db.session.commit()
    return body


@blp.route("/dunning-settings", methods=["GET"])
@blp.response(200, DunningSettingsResponseSchema)
@require_oauth(["handovers:read", "settings:write"])
def get_dunning_settings() -> dict[str, Any]:
    """Payment details, language and reply address used in notices."""
    return merchant_settings.get_dunning_settings(get_merchant(current_merchant_id())).to_dict()


@blp.route("/dunning-settings", methods=["PUT"])
@blp.arguments(DunningSettingsSchema)
@blp.response(200, DunningSettingsResponseSchema)
@require_oauth("settings:write")
def put_dunning_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Set the payment details (IBAN checked, BIC derived when left out), language and reply address."""
    merchant = get_merchant(current_merchant_id())
    settings = merchant_settings.update_dunning_settings(merchant, values, actor=actor_for(None))
    db.session.commit()
    return settings.to_dict()


@blp.route("/merchant-guide", methods=["GET"])
@blp.response(200, MerchantGuideSchema)
@require_oauth(["handovers:read", "settings:write"])
def get_merchant_guide() -> dict[str, Any]:
    """The merchant guide (invoice wording for consumers, what is and is not claimed) in German or English."""
    language = request.args.get("language", "de")
    if language not in GUIDE:
        raise UserValueError("Unknown language.", details={"language": [f"one of {', '.join(GUIDE)}"]})
    return {
        "language": language,
        "sections": [{"title": s.title, "paragraphs": list(s.paragraphs)} for s in GUIDE[language]],
    }


@blp.route("/base-rate-status", methods=["GET"])
@blp.response(200, BaseRateStatusSchema)
@require_oauth(["handovers:read", "settings:write"])
def get_base_rate_status() -> dict[str, Any]:
    """Whether the base rate of the current half-year is known (no interest is claimed for days without)."""
    return rate_store.base_rate_status()


@blp.route("/claim-settings", methods=["GET"])
@blp.response(200, ClaimSettingsSchema)
@require_oauth(["handovers:read", "settings:write"])
def get_claim_settings() -> dict[str, Any]:
    """The merchant's Land, B2B setting, §286(3) invoice notice and due date basis."""
    return merchant_settings.get_claim_settings(get_merchant(current_merchant_id())).to_dict()


@blp.route("/claim-settings", methods=["PUT"])
@blp.arguments(ClaimSettingsSchema)
@blp.response(200, ClaimSettingsSchema)
@require_oauth("settings:write")
def put_claim_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Change the claim settings; keys left out keep their value."""
    merchant = get_merchant(current_merchant_id())
    settings = merchant_settings.update_claim_settings(merchant, values, actor=actor_for(None))
    db.session.commit()
    return settings.to_dict()


@blp.route("/dunning-stops", methods=["PUT"])
@blp.arguments(DunningBuyerStopRequestSchema)
@blp.response(200, DunningBuyerStopSchema)
@require_oauth("handovers:write")
def put_dunning_stop(body: dict[str, Any]) -> dict[str, Any]:
    """Stop (``stopped: true``) or resume dunning for every receivable of the buyer with this e-mail."""
    result = stops.set_buyer_stop(
        current_merchant_id(),
        body["email"],
        stopped=body["stopped"],
        reason=body["reason"],
        actor=actor_for(body["by"]),
    )
    db.session.commit()
    return result


@blp.route("/girocodes", methods=["POST"])
@blp.arguments(GiroCodeRequestSchema)
@blp.response(200, GiroCodeSchema)
@require_oauth("risk:check")
def create_girocode(body: dict[str, Any]) -> dict[str, Any]:
    """The EPC QR code ("GiroCode") for paying ``amount`` to the merchant's account quoting ``reference``.

    The account is the one in the dunning settings, returned beside the code for the instructions' text; 422
    ``payment_details_missing`` until it is set. Shops put both in their payment instructions (the WooCommerce
    plugin on the thank-you page and in e-mails); the scope is the checkout's.
    """
    settings = merchant_settings.get_dunning_settings(get_merchant(current_merchant_id()))
    if not settings.has_payment_details:
        raise UserValueError(
            "The merchant's account for transfers is not set (dunning settings, payment_details).",
            code="payment_details_missing",
        )
    try:
        code = girocode_document(
            name=settings.account_holder or "",
            iban=settings.iban or "",
            bic=settings.bic or "",
            amount=body["amount"],
            reference=body["reference"],
        )
    except GiroCodeError as error:
        raise UserValueError(f"No GiroCode for this transfer: {error}") from error
    return {
        **code,
        "account": {"account_holder": settings.account_holder, "iban": settings.iban, "bic": settings.bic},
    }
