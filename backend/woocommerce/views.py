"""WooCommerce endpoints: webhook deliveries and the connect flow (session for the plugin, keys from the shop)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.boundary import raw_body
from backend.errors import AppError
from backend.extensions import autocommit, db, request_connection
from backend.woocommerce import connect, services

logger = logging.getLogger(__name__)


@raw_body
@autocommit
def receive_webhook(connection_id: int, topic: str | None = None) -> ResponseReturnValue:
    """Take one webhook delivery for a connection (pings included).

    Its writes are single statements that may each stand alone (the topic's delivery mark, the order's sync
    request, which repeats harmlessly when the shop retries), so on PostgreSQL they run without BEGIN and COMMIT:
    two of a delivery's five round trips.
    """
    request_connection()
    outcome = services.receive_webhook(
        connection_id, request.headers, request.get_data(cache=False), topic=topic
    )
    db.session.commit()
    return jsonify(status=outcome)


@require_oauth("connections:write")
def create_connect_session(payload: dict[str, Any]) -> dict[str, Any]:
    """Open a one-time connect session: the plugin sends the merchant to WooCommerce's key authorisation.

    The state goes to ``{shop}/wc-auth/v1/authorize`` as ``user_id`` and is valid for 15 minutes, once.
    """
    session, state = connect.start_connect_session(
        current_merchant_id(), payload["shop_url"], actor=f"client:{current_client_id()}"
    )
    db.session.commit()
    return {"state": state, "callback_url": connect.callback_url(), "expires_at": session.expires_at}


def receive_auth_callback() -> ResponseReturnValue:
    """Take the REST keys WooCommerce posts after the merchant approved; answer 200 before using them.

    Any other answer makes WooCommerce delete the key, so only a bad state or unusable keys are refused.
    The keys are verified and the webhooks registered once the answer is out (and by the worker after a crash).
    """
    try:
        session = connect.receive_keys(request.get_json(force=True, silent=True))
    except AppError:
        db.session.commit()  # A refused state or key is final: record it.
        raise
    db.session.commit()
    # Read the id now: by the time the answer is closed the request's database session is gone, and the
    # committed (expired) instance can no longer load it.
    session_id = session.id
    response = jsonify(status="received")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    response.call_on_close(lambda: _complete_after_answer(app, session_id))
    return response


def _complete_after_answer(app: Flask, session_id: int) -> None:
    # Runs once the answer is sent, outside the request; the worker retries what does not finish here.
    with app.app_context():
        try:
            connect.complete_connect_session(session_id)
        except Exception:
            logger.exception(
                "woocommerce connect session %s: completing after the callback failed", session_id
            )
            db.session.rollback()
        finally:
            db.session.remove()
