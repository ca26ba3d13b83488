"""The OAuth2 authorization server (client-credentials grant) and the resource protector for the API."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
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


@dataclass(frozen=True)
class TokenGrant:
    """What a valid bearer token grants, detached from the database so it can be cached per process."""

    token_hash: str
    merchant_id: int
    client_id: str
    scope: str
    expires_at: datetime
    revoked: bool

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - utcnow()).total_seconds()))

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked


class GrantCache:
    """Validated grants by token hash for a few seconds, so a checkout call costs no token query.

    Revocation takes effect at once in the process that revokes and within ``ttl`` seconds elsewhere.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, TokenGrant]] = {}

    def get(self, token_hash: str) -> TokenGrant | None:
        entry = self._entries.get(token_hash)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, grant: TokenGrant) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[grant.token_hash] = (time.monotonic(), grant)

    def clear(self) -> None:
        self._entries.clear()


grant_cache = GrantCache(ttl=10.0)


def _grant_for(token_string: str) -> TokenGrant | None:
    token_hash = hash_secret(token_string)
    grant = grant_cache.get(token_hash)
    if grant is not None:
        return grant
    token = db.session.scalar(db.select(AccessToken).filter_by(token_hash=token_hash))
    if token is None:
        return None
    grant = TokenGrant(
        token_hash=token_hash,
        merchant_id=token.merchant_id,
        client_id=token.client.client_id,
        scope=token.scope,
        expires_at=token.expires_at,
        revoked=token.is_revoked(),
    )
    grant_cache.put(grant)
    return grant


class TokenRevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | None:
        return _find_token(token_string)

    def revoke_token(self, token: AccessToken, request: Any) -> None:
        token.revoked_at = utcnow()
        db.session.commit()
        grant_cache.clear()


class HashedBearerTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> TokenGrant | None:
        return _grant_for(token_string)


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


def current_client_id() -> str:
    """Return the client id of the request's bearer token."""
    return current_token.client_id


def token_response_json(status: int, payload: dict[str, Any]) -> str:
    """Add a human ``message`` to RFC 6749 token-endpoint errors, keeping their standard fields."""
    if status >= 400 and "error" in payload:
        payload.setdefault("message", payload.get("error_description") or payload["error"].replace("_", " "))
    return json.dumps(payload)
