"""Shopware app server endpoints: verify the raw request, call a service, commit once, answer."""

from __future__ import annotations

import logging
import re
import secrets
from urllib.parse import urlencode, urlsplit

from flask import Response, current_app, jsonify, render_template, request

from backend.extensions import db, limiter
from backend.risk.messages import INVOICE_UNAVAILABLE, message_for
from backend.shopware import checkout, services
from backend.shopware.errors import AppNotConfiguredError, shop_request_errors
from backend.shopware.gateway import gateway_response, map_checkout
from backend.shopware.manifest import ADMIN_MODULE_PATH, CONFIRMATION_PATH
from backend.shopware.models import ShopwareShop
from backend.shopware.schemas import MAX_SELECTED_ORDERS, ActionSchema, AdminDecisionSchema, WebhookSchema
from backend.shopware.signing import (
    APP_SIGNATURE_HEADER,
    PREVIOUS_SHOP_SIGNATURE_HEADER,
    SHOP_SIGNATURE_HEADER,
    SignedResponse,
    check_timestamp,
    notification_action,
    open_modal_action,
    registration_response,
)
from backend.shopware.texts import ADMIN_TEXTS, admin_language, format_money

logger = logging.getLogger(__name__)

ADMIN_SESSION_HEADER = "X-ClaimBridge-Session"
ADMIN_SESSION_FIELD = "session_token"
# Anyone holding the app secret (every merchant with the app zip) may register; this bounds the rate.
REGISTRATION_RATE_LIMIT = "30/minute"
ORDER_IDS_PARAMETER = "order_ids"
USER_LANGUAGE_HEADER = "sw-user-language"
_SHOPWARE_ID = re.compile(r"[0-9a-f]{32}")


def _app_secret() -> str:
    secret = current_app.config.get("CLAIMBRIDGE_SHOPWARE_APP_SECRET")
    if not secret:
        raise AppNotConfiguredError("the Shopware app is not configured on this server (no app secret)")
    return secret


@limiter.limit(REGISTRATION_RATE_LIMIT, key_func=lambda: "shopware-register:" + (request.remote_addr or "-"))
def register() -> Response:
    """Answer a shop's registration request with the proof, a new shop secret and the confirmation URL."""
    app_secret = _app_secret()
    registration = services.verify_registration_request(
        request.query_string, request.headers.get(APP_SIGNATURE_HEADER), app_secret
    )
    _, shop_secret = services.begin_registration(registration)
    db.session.commit()
    response = jsonify(
        registration_response(
            registration,
            app_secret=app_secret,
            app_name=current_app.config["CLAIMBRIDGE_SHOPWARE_APP_NAME"],
            shop_secret=shop_secret,
            confirmation_url=current_app.config["CLAIMBRIDGE_PUBLIC_URL"] + CONFIRMATION_PATH,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def confirm_registration() -> tuple[str, int]:
    """Complete a registration: the shop proves the new secret and hands over its Admin API credentials."""
    shop = services.confirm_registration(
        request.get_data(),
        request.headers.get(SHOP_SIGNATURE_HEADER),
        request.headers.get(PREVIOUS_SHOP_SIGNATURE_HEADER),
    )
    services.note_versions(shop, app_version=None, shopware_version=request.headers.get("sw-version"))
    db.session.commit()
    return "", 204


def lifecycle() -> tuple[str, int]:
    """Apply an app lifecycle event (installed, updated, activated, deactivated, deleted)."""
    shop, body = services.authenticate_event(request.get_data(), request.headers.get(SHOP_SIGNATURE_HEADER))
    event = WebhookSchema().load(body)
    with shop_request_errors():
        occurred_at = check_timestamp(event["timestamp"], what="lifecycle event")
    services.note_versions(
        shop, app_version=event["source"]["app_version"], shopware_version=request.headers.get("sw-version")
    )
    services.handle_lifecycle(shop, event["data"]["event"], event["data"]["payload"], occurred_at=occurred_at)
    db.session.commit()
    return "", 204


def webhook() -> tuple[str, int]:
    """Store a webhook event (retries dropped by eventId) and answer at once; the worker does the work."""
    shop, body = services.authenticate_event(request.get_data(), request.headers.get(SHOP_SIGNATURE_HEADER))
    event = WebhookSchema().load(body)
    services.note_versions(
        shop, app_version=event["source"]["app_version"], shopware_version=request.headers.get("sw-version")
    )
    services.record_webhook(
        shop, event["data"]["event"], event["source"]["event_id"], event["data"]["payload"]
    )
    db.session.commit()
    return "", 204


def checkout_gateway() -> Response:
    """Answer the checkout gateway with the signed command array hiding what the risk check hides.

    Only an unverifiable request gets an error status (the shop then shows every method). Once the shop is
    known, every answer is a signed command list: trouble inside the check answers by the merchant's fail
    mode instead of an error the shop would treat as "hide nothing".
    """
    shop, payload = services.authenticate_gateway(
        request.get_data(), request.headers.get(SHOP_SIGNATURE_HEADER)
    )
    shop_secret = services.shop_secrets(shop).current
    merchant_id, connection_id = shop.connection.merchant_id, shop.connection_id
    language = checkout.buyer_language(payload, request.headers.get("Accept-Language"))
    try:
        decision = checkout.decide_checkout(shop, checkout.read_checkout(shop, payload))
        db.session.commit()
    # Any failure (database, a bug, an odd payload) must still give the shop an answer that honours the policy.
    except Exception:
        db.session.rollback()
        logger.exception(
            "shopware connection %s: checkout gateway failed; answering by the fail mode", connection_id
        )
        decision = checkout.fail_mode_decision(map_checkout(payload), checkout.fallback_policy(merchant_id))
    logger.info(
        "shopware connection %s: checkout gateway %s, hiding %s",
        connection_id,
        decision.outcome,
        decision.hidden,
    )
    answer = gateway_response(
        decision.hidden,
        shop_secret,
        offered=decision.offered,
        message=message_for(INVOICE_UNAVAILABLE, language),
    )
    return _signed(answer)


def handover_action() -> Response:
    """Answer the order action button: the approval page for the selected orders, or a notification."""
    shop, body = services.authenticate_action(request.get_data(), request.headers.get(SHOP_SIGNATURE_HEADER))
    order_ids = [order_id.lower() for order_id in ActionSchema().load(body)["data"]["ids"]]
    shop_secret = services.shop_secrets(shop).current
    language = admin_language(request.headers.get(USER_LANGUAGE_HEADER))
    selected = services.orders_for_handover_page(shop, list(dict.fromkeys(order_ids)))
    if not selected:
        return _signed(notification_action("info", ADMIN_TEXTS[language]["nothing_eligible"], shop_secret))
    query = urlencode({ORDER_IDS_PARAMETER: ",".join(selected)}, safe=",")
    iframe_url = f"{current_app.config['CLAIMBRIDGE_PUBLIC_URL']}{ADMIN_MODULE_PATH}?{query}"
    return _signed(open_modal_action(iframe_url, shop_secret, size="large"))


def admin_handovers() -> Response:
    """Render the admin module page for a signed iframe query, with a session token for its own posts."""
    shop, page = services.authenticate_iframe(request.query_string)
    language = admin_language(page.user_language)
    # order_ids is part of the query the shop signed (the action button's modal URL), so it is trusted.
    order_ids = _order_ids(request.args.get(ORDER_IDS_PARAMETER))
    return _admin_page(shop, language, services.issue_admin_session(shop, language), order_ids=order_ids)


def decide_handovers() -> Response:
    """Approve or reject proposals from the admin page; only with the page's session token."""
    session = services.verify_admin_session(
        request.headers.get(ADMIN_SESSION_HEADER) or request.form.get(ADMIN_SESSION_FIELD)
    )
    form = AdminDecisionSchema().load(
        {"decision": request.form.get("decision"), "ids": request.form.getlist("ids")}
    )
    connection = session.shop.connection
    count = services.decide_handovers(
        connection.merchant_id, form["decision"], form["ids"], actor=f"shopware-admin:{connection.shop_id}"
    )
    db.session.commit()
    notice = ADMIN_TEXTS[session.language]["decided"].format(count=count)
    return _admin_page(session.shop, session.language, session.token, notice=notice)


def _signed(answer: SignedResponse) -> Response:
    # The exact bytes that were signed go out; Flask must not re-serialise them.
    return Response(answer.body, status=200, headers=answer.headers)


def _order_ids(value: str | None) -> list[str] | None:
    if not value:
        return None
    ids = [part.strip().lower() for part in value.split(",")]
    return list(dict.fromkeys(part for part in ids if _SHOPWARE_ID.fullmatch(part)))[:MAX_SELECTED_ORDERS]


def _admin_page(
    shop: ShopwareShop,
    language: str,
    token: str,
    *,
    notice: str | None = None,
    order_ids: list[str] | None = None,
) -> Response:
    connection = shop.connection
    nonce = secrets.token_urlsafe(16)
    html = render_template(
        "shopware/admin_handovers.html",
        lang=language,
        t=ADMIN_TEXTS[language],
        rows=services.handover_rows_for_page(shop, order_ids),
        filtered=order_ids is not None,
        money=lambda amount, currency: format_money(amount, currency, language),
        shop_name=connection.name or connection.shop_url,
        session_token=token,
        session_field=ADMIN_SESSION_FIELD,
        notice=notice,
        nonce=nonce,
    )
    shop_origin = "{0.scheme}://{0.netloc}".format(urlsplit(connection.shop_url))
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        f"form-action 'self'; base-uri 'none'; frame-ancestors {shop_origin}"
    )
    # The URL carries the shop's signature and the page a session token: neither may leak or be cached.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
