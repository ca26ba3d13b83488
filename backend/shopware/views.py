"""Shopware app server endpoints: verify the raw request, call a service, commit once, answer."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Response, current_app, jsonify, render_template, request

from backend.extensions import db, limiter
from backend.shopware import services
from backend.shopware.errors import AppNotConfiguredError, shop_request_errors
from backend.shopware.manifest import CONFIRMATION_PATH
from backend.shopware.models import ShopwareShop
from backend.shopware.schemas import AdminDecisionSchema, WebhookSchema
from backend.shopware.signing import (
    APP_SIGNATURE_HEADER,
    PREVIOUS_SHOP_SIGNATURE_HEADER,
    SHOP_SIGNATURE_HEADER,
    check_timestamp,
    registration_response,
)
from backend.shopware.texts import ADMIN_TEXTS, admin_language, format_money

ADMIN_SESSION_HEADER = "X-ClaimBridge-Session"
ADMIN_SESSION_FIELD = "session_token"
# Anyone holding the app secret (every merchant with the app zip) may register; this bounds the rate.
REGISTRATION_RATE_LIMIT = "30/minute"


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


def admin_handovers() -> Response:
    """Render the admin module page for a signed iframe query, with a session token for its own posts."""
    shop, page = services.authenticate_iframe(request.query_string)
    language = admin_language(page.user_language)
    return _admin_page(shop, language, services.issue_admin_session(shop, language))


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


def _admin_page(shop: ShopwareShop, language: str, token: str, *, notice: str | None = None) -> Response:
    connection = shop.connection
    nonce = secrets.token_urlsafe(16)
    html = render_template(
        "shopware/admin_handovers.html",
        lang=language,
        t=ADMIN_TEXTS[language],
        rows=services.list_handover_rows(connection.merchant_id),
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
