"""Token and revocation endpoints (RFC 6749 client credentials, RFC 7009), rate-limited."""

from __future__ import annotations

import logging

from flask import Response, current_app, request

from backend.audit.services import record_event
from backend.auth.server import authorization, token_response_json
from backend.auth.services import is_client_id
from backend.extensions import db, limiter

logger = logging.getLogger(__name__)


def _token_limit() -> str:
    return current_app.config["CLAIMBRIDGE_TOKEN_RATE_LIMIT"]


def _address() -> str:
    return request.remote_addr or "-"


def _presented_client_id() -> str:
    """The client id the request names, by Basic or form body; "-" for none, "malformed" for one we never issue.

    It keys a rate limit and names the actor of a failed attempt: a stranger's text (control characters, any
    length) goes into neither.
    """
    basic = request.authorization
    presented = basic.username if basic and basic.username else request.form.get("client_id")
    if not presented:
        return "-"
    return presented if is_client_id(presented) else "malformed"


def _address_key() -> str:
    return "addr:" + _address()


def _client_at_address_key() -> str:
    # Keyed by address as well: strangers who know a client id (it is not a secret) only spend their own
    # address's allowance and cannot lock the client out of its own.
    return f"client:{_presented_client_id()}@{_address()}"


def _failed(response: Response) -> bool:
    return response.status_code >= 400


def _finish(response: Response, action: str) -> Response:
    if response.status_code >= 400:
        client_id = _presented_client_id()
        logger.warning("%s failed for client %s: %s", action, client_id, response.status_code)
        db.session.rollback()
        record_event(
            "auth.failed",
            actor=f"client:{client_id}",
            details={"endpoint": action, "status": response.status_code},
        )
        db.session.commit()
    payload = response.get_json(silent=True)
    if isinstance(payload, dict):
        response.set_data(token_response_json(response.status_code, payload))
    response.headers["Cache-Control"] = "no-store"
    return response


# Failed attempts are limited per address (guessing secrets), every attempt per client at its address.
limit_failures_per_address = limiter.limit(_token_limit, key_func=_address_key, deduct_when=_failed)
limit_per_client_at_address = limiter.limit(_token_limit, key_func=_client_at_address_key)


@limit_failures_per_address
@limit_per_client_at_address
def issue_token() -> Response:
    """Issue a bearer token for a client (client_credentials grant)."""
    return _finish(authorization.create_token_response(), "token")


@limit_failures_per_address
@limit_per_client_at_address
def revoke_token() -> Response:
    """Revoke a token the client holds."""
    return _finish(authorization.create_endpoint_response("revocation"), "revoke")
