"""Shopware app server endpoints: verify the raw request, call a service, commit once, answer."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

from flask import Response, current_app, jsonify, redirect, render_template, request

from backend.boundary import raw_body
from backend.console import sessions as console_sessions
from backend.console.views import entry_url
from backend.extensions import autocommit, db, limiter, request_connection
from backend.risk.messages import invoice_unavailable_message
from backend.shopware import checkout, services
from backend.shopware.errors import AppNotConfiguredError, shop_request_errors
from backend.shopware.gateway import gateway_response, map_checkout
from backend.shopware.manifest import ADMIN_MODULE_PATH, CONFIRMATION_PATH, PRIVACY_POLICY_EXTENSIONS
from backend.shopware.schemas import MAX_SELECTED_ORDERS, ActionSchema, WebhookSchema
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
from backend.shopware.texts import ADMIN_TEXTS, admin_language

logger = logging.getLogger(__name__)

# Anyone holding the app secret (every merchant with the app zip) may register; this bounds the rate.
REGISTRATION_RATE_LIMIT = "30/minute"
ORDER_IDS_PARAMETER = "order_ids"
USER_LANGUAGE_HEADER = "sw-user-language"
_SHOPWARE_ID = re.compile(r"[0-9a-f]{32}")
# One instance loads every event (loading keeps no state on the schema); building one per request cost more.
_WEBHOOK = WebhookSchema()


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
    _, shop_secret = services.begin_registration(
        registration, request.query_string, request.headers.get(SHOP_SIGNATURE_HEADER)
    )
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


@raw_body
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


@raw_body
def lifecycle() -> tuple[str, int]:
    """Apply an app lifecycle event (installed, updated, activated, deactivated, deleted)."""
    shop, body = services.authenticate_event(request.get_data(), request.headers.get(SHOP_SIGNATURE_HEADER))
    event = _WEBHOOK.load(body)
    with shop_request_errors():
        occurred_at = check_timestamp(event["timestamp"], what="lifecycle event")
    services.note_versions(
        shop, app_version=event["source"]["app_version"], shopware_version=request.headers.get("sw-version")
    )
    services.handle_lifecycle(shop, event["data"]["event"], event["data"]["payload"], occurred_at=occurred_at)
    db.session.commit()
    return "", 204


@raw_body
def webhook() -> tuple[str, int]:
    """Store a webhook event (retries dropped by eventId) and answer at once; the worker does the work."""
    shop, body = services.authenticate_webhook(request.get_data(), request.headers.get(SHOP_SIGNATURE_HEADER))
    event = _WEBHOOK.load(body)
    services.note_versions(
        shop, app_version=event["source"]["app_version"], shopware_version=request.headers.get("sw-version")
    )
    services.record_webhook(
        shop.connection_id, event["data"]["event"], event["source"]["event_id"], event["data"]["payload"]
    )
    db.session.commit()
    return "", 204


@raw_body
@autocommit
def checkout_gateway() -> Response:
    """Answer the checkout gateway with the signed command array hiding what the risk check hides.

    Only an unverifiable request gets an error status (the shop then shows every method). Once the shop is
    known, every answer is a signed command list: trouble inside the check answers by the merchant's fail
    mode instead of an error the shop would treat as "hide nothing". Its writes (the risk check, then the
    decision cached for it) each stand alone, as the risk check API's do, so on PostgreSQL they run without
    BEGIN and COMMIT.
    """
    request_connection()
    shop, secrets, payload = services.authenticate_gateway(
        request.get_data(), request.headers.get(SHOP_SIGNATURE_HEADER)
    )
    merchant_id, connection_id = shop.merchant_id, shop.connection_id
    language = checkout.buyer_language(payload, request.headers.get(USER_LANGUAGE_HEADER))
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
        secrets.current,
        offered=decision.offered,
        message=invoice_unavailable_message(checkout.fallback_policy(merchant_id), language),
    )
    return _signed(answer)


@raw_body
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
    """Open the merchant console for a signed admin iframe query: the module page, or the action button's modal.

    The signed query proves the Administration sent it; the console then carries its own session token.
    """
    shop, page = services.authenticate_iframe(request.query_string)
    connection = shop.connection
    session = console_sessions.start_session(
        connection.merchant_id,
        user_name=f"shopware-admin:{connection.shop_id}",
        language=console_sessions.language_for(page.user_language),
        channel=console_sessions.CHANNEL_SHOPWARE,
        connection_id=connection.id,
        # The browser names the page that framed this signed URL. An Administration on a host other than the
        # shop's may frame the console only once the merchant confirmed its origin; any other page may not.
        frame_origin=services.confirmed_frame_origin(shop, request.headers.get("Referer")),
    )
    # order_ids is part of the query the shop signed (the action button's modal URL), so it is trusted.
    response = redirect(entry_url(session, _order_ids(request.args.get(ORDER_IDS_PARAMETER))), code=303)
    # The URL carries the shop's signature and the console's session token: neither may be cached. The console
    # learns the Administration's origin (only that) as its referrer: the Admin Extension SDK posts its
    # messages to document.referrer.
    response.headers["Referrer-Policy"] = "strict-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def privacy() -> Response:
    """Show what the app processes for whom (the manifest's ``<meta><privacy>`` page), in German and English."""
    headings = {"de-DE": "Datenschutzhinweise zur App", "en-GB": "Privacy notice of the app"}
    sections = [
        (language.split("-")[0], headings[language], text)
        for language, text in sorted(PRIVACY_POLICY_EXTENSIONS, key=lambda pair: pair[0] != "de-DE")
    ]
    html = render_template(
        "shopware/privacy.html",
        sections=sections,
        app_name=current_app.config["CLAIMBRIDGE_SHOPWARE_APP_NAME"],
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'; base-uri 'none'; form-action 'none'"
    return response


def _signed(answer: SignedResponse) -> Response:
    # The exact bytes that were signed go out; Flask must not re-serialise them.
    return Response(answer.body, status=200, headers=answer.headers)


def _order_ids(value: str | None) -> list[str] | None:
    if not value:
        return None
    ids = [part.strip().lower() for part in value.split(",")]
    return list(dict.fromkeys(part for part in ids if _SHOPWARE_ID.fullmatch(part)))[:MAX_SELECTED_ORDERS]
