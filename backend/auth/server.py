"""The OAuth2 authorization server (client-credentials grant) and the resource protector for the API."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import Flask

from backend.auth.models import AccessToken
from backend.crypto import hash_secret
from backend.errors import ForbiddenError, UnauthorizedError
from backend.extensions import db, utcnow
from backend.merchants.models import ApiClient


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def _query_client(client_id: str) -> ApiClient | None:
    return db.session.scalar(db.select(ApiClient).filter_by(client_id=client_id, revoked_at=None))


def _save_token(token: dict[str, Any], request: Any) -> None:
    client: ApiClient = request.client
    issued = utcnow()
    db.session.add(
        AccessToken(
            token_hash=hash_secret(token["access_token"]),
            client_pk=client.id,
            merchant_id=client.merchant_id,
            scope=token.get("scope", ""),
            issued_at=issued,
            expires_at=issued + timedelta(seconds=int(token["expires_in"])),
        )
    )
    db.session.commit()


def _find_token(token_string: str) -> AccessToken | None:
    return db.session.scalar(db.select(AccessToken).filter_by(token_hash=hash_secret(token_string)))


class TokenRevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | None:
        return _find_token(token_string)

    def revoke_token(self, token: AccessToken, request: Any) -> None:
        token.revoked_at = utcnow()
        db.session.commit()


class HashedBearerTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return _find_token(token_string)


class ApiResourceProtector(ResourceProtector):
    """Resource protector answering in the API's JSON error format, with WWW-Authenticate kept."""

    def raise_error_response(self, error: Any) -> None:
        body = dict(error.get_body())
        status = error.status_code
        code = "insufficient_scope" if status == 403 else body.get("error", "invalid_token")
        message = {
            "missing_authorization": "A bearer token is required.",
            "invalid_token": "The bearer token is invalid, expired or revoked.",
            "insufficient_scope": "The token lacks the scope this endpoint needs.",
            "unsupported_token_type": "Only bearer tokens are accepted.",
        }.get(code, body.get("error_description", "Not authorised."))
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
        challenge = headers.get("WWW-Authenticate", 'bearer realm="claimbridge"')
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer" + challenge.removeprefix("bearer")
        error_class = ForbiddenError if status == 403 else UnauthorizedError
        raise error_class(message, code=code, headers=headers)


authorization = AuthorizationServer()
require_oauth = ApiResourceProtector()


def init_oauth(app: Flask) -> None:
    """Wire the authorization server and the bearer-token validator to the database."""
    authorization.init_app(app, query_client=_query_client, save_token=_save_token)
    authorization.register_grant(ClientCredentialsGrant)
    authorization.register_endpoint(TokenRevocationEndpoint)
    require_oauth.register_token_validator(HashedBearerTokenValidator(realm="claimbridge"))


def current_merchant_id() -> int:
    """Return the merchant the request's bearer token acts for."""
    return current_token.merchant_id


def current_client() -> ApiClient:
    """Return the API client of the request's bearer token."""
    return current_token.client


def token_response_json(status: int, payload: dict[str, Any]) -> str:
    """Add a human ``message`` to RFC 6749 token-endpoint errors, keeping their standard fields."""
    if status >= 400 and "error" in payload:
        payload.setdefault("message", payload.get("error_description") or payload["error"].replace("_", " "))
    return json.dumps(payload)
