"""The OAuth2 authorization server (client-credentials grant) and the resource protector for the API."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from authlib.integrations.flask_oauth2 import (
    AuthorizationServer,
    ResourceProtector,
    token_authenticated,
)
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import Flask, request

from backend.auth.models import AccessToken
from backend.auth.services import is_client_id
from backend.crypto import hash_secret
from backend.errors import ForbiddenError, UnauthorizedError
from backend.extensions import (
    BEARER_TOKEN_IN_G,
    PreparedStatement,
    current_application,
    current_g,
    current_request,
    db,
    limiter,
    request_connection,
    request_token,
    utcnow,
)
from backend.merchants.models import ApiClient
from backend.openapi import security_doc


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self) -> None:
        """Refuse a request naming only scopes the client does not hold (it got an empty, useless token)."""
        super().validate_requested_scope()
        scope = self.request.payload.scope
        if scope and not self.request.client.get_allowed_scope(scope):
            raise InvalidScopeError("The client holds none of the requested scopes.")


def _query_client(client_id: str) -> ApiClient | None:
    """Return the live client of that id; an id of no shape we issue (a NUL, 300 characters) is not looked up."""
    if not is_client_id(client_id):
        return None
    return db.session.scalar(db.select(ApiClient).filter_by(client_id=client_id, revoked_at=None))


def _authenticate_client_secret_basic(query_client: Callable[[str], Any], request: Any) -> ApiClient | None:
    """Authlib's ``client_secret_basic``, with Basic credentials that are not UTF-8 taken for none.

    Authlib decodes them strictly and lets the error through (a 500); werkzeug's own parser already ignores them.
    """
    try:
        return authenticate_client_secret_basic(query_client, request)
    except UnicodeDecodeError:
        return None


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
    """What a valid bearer token grants, read in one statement and detached from the session."""

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


_GRANT_QUERY = PreparedStatement(
    sa.select(
        AccessToken.merchant_id,
        ApiClient.client_id,
        AccessToken.scope,
        AccessToken.expires_at,
        AccessToken.revoked_at,
        ApiClient.revoked_at.label("client_revoked_at"),
    )
    .join(ApiClient, ApiClient.id == AccessToken.client_pk)
    .where(AccessToken.token_hash == sa.bindparam("token_hash"))
)


def _grant_for(token_string: str) -> TokenGrant | None:
    """Look the token up on every request, so a revocation anywhere takes effect on the next request."""
    token_hash = hash_secret(token_string)
    # Compiled once, on the session's connection: the ORM's execute path cost more than the lookup itself.
    rows = _GRANT_QUERY.rows(request_connection(), {"token_hash": token_hash})
    if not rows:
        return None
    merchant_id, client_id, scope, expires_at, revoked_at, client_revoked_at = rows[0]
    return TokenGrant(
        token_hash=token_hash,
        merchant_id=merchant_id,
        client_id=client_id,
        scope=scope,
        expires_at=expires_at,
        revoked=revoked_at is not None or client_revoked_at is not None,
    )


class TokenRevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | None:
        return _find_token(token_string)

    def revoke_token(self, token: AccessToken, request: Any) -> None:
        token.revoked_at = utcnow()
        db.session.commit()


class HashedBearerTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> TokenGrant | None:
        return _grant_for(token_string)


class ApiResourceProtector(ResourceProtector):
    """Bearer-token guard answering in the API's JSON error format, checked before any body is read.

    ``@require_oauth(scopes)`` marks a view with the scopes it needs; ``authenticate_request`` runs before
    every request, finds that mark on the matched view and checks the token there, so a view's arguments are
    parsed only for an authenticated, authorised caller. The decorator checks again only if the hook did not.
    """

    def __call__(self, scopes: str | list[str] | None = None) -> Callable[[Callable[..., Any]], Any]:
        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                if not current_request().environ.get(_TOKEN_CHECKED):
                    self.check_token(scopes)
                return view(*args, **kwargs)

            # functools.wraps in flask-smorest's decorators copies this mark and the doc onto the registered view.
            guarded.oauth_scopes = scopes if scopes is not None else []  # type: ignore[attr-defined]
            guarded._apidoc = security_doc(scopes)  # type: ignore[attr-defined]
            return guarded

        return decorator

    def acquire_token(self, scopes: str | list[str] | None = None) -> TokenGrant:
        """Validate the request's bearer token for ``scopes`` as Authlib does, on Flask's request itself.

        Authlib's own version first wraps the request in an object of its own (building the whole URL and a
        copy of the headers), which cost more than the checks; its validators read only the Authorization
        header, which Flask's request offers alike. Errors are Authlib's, raised by its own steps.
        """
        req = current_request()
        validator, token_string = self.parse_request_authorization(req)
        validator.validate_request(req)
        token = validator.authenticate_token(token_string)
        validator.validate_token(token, [scopes] if isinstance(scopes, str) else scopes, req)
        token_authenticated.send(self, token=token)
        setattr(current_g(), BEARER_TOKEN_IN_G, token)
        return token

    def check_token(self, scopes: str | list[str] | None) -> None:
        """Validate the request's bearer token for ``scopes``; raise the API's 401/403 error if it fails."""
        try:
            self.acquire_token(scopes)
        except OAuth2Error as error:
            self.raise_error_response(error)
        request.environ[_TOKEN_CHECKED] = True

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
        if status == 401:
            headers["WWW-Authenticate"] = _bearer_challenge(headers.get("WWW-Authenticate", ""))
        error_class = ForbiddenError if status == 403 else UnauthorizedError
        raise error_class(message, code=code, headers=headers)


# Set in the request's WSGI environ (not flask.g, which an outer app context shares between requests).
_TOKEN_CHECKED = "claimbridge.token_checked"  # noqa: S105 - a flag name, not a secret


def _bearer_challenge(challenge: str) -> str:
    """Return RFC 6750's challenge with exactly one ``Bearer`` scheme, whatever case Authlib used."""
    scheme, _, params = challenge.partition(" ")
    if scheme.lower() != "bearer":
        params = challenge
    return "Bearer " + (params.strip() or 'realm="claimbridge"')


def required_scopes(view: Callable[..., Any] | None) -> str | list[str] | None:
    """Return the scopes a view was marked with by ``require_oauth``, or None for an unprotected view."""
    return getattr(view, "oauth_scopes", None)


def authenticate_request() -> None:
    """Check the bearer token of a protected view before its body or arguments are read."""
    req = current_request()
    scopes = required_scopes(current_application().view_functions.get(req.endpoint or ""))
    if scopes is None or req.environ.get(_TOKEN_CHECKED):
        return
    require_oauth.check_token(scopes)


authorization = AuthorizationServer()
require_oauth = ApiResourceProtector()


def _has_valid_bearer_token() -> bool:
    """Tell whether the request carries a valid token for its bearer-protected view (checked here, once:
    ``authenticate_request`` then finds it checked)."""
    req = current_request()
    scopes = required_scopes(current_application().view_functions.get(req.endpoint or ""))
    if scopes is None:
        return False
    try:
        require_oauth.acquire_token(scopes)
    except OAuth2Error:
        return False
    req.environ[_TOKEN_CHECKED] = True
    return True


def _rate_limit_strangers() -> None:
    """Run the rate limiter's request check, except for a valid token for a bearer-protected view.

    Limits guard what strangers can reach (the token endpoint, Shopware registration, any application-wide
    limit); a request whose token is missing, wrong, expired or short of the view's scopes is a stranger's and
    stays counted. A valid token's request skips the limiter's check as a whole: as one of its request filters
    it still cost the risk check about a tenth of its time in the limiter's own bookkeeping.
    """
    if _has_valid_bearer_token():
        current_request().environ[_LIMITER_SKIPPED] = True
    else:
        limiter._check_request_limit()


_LIMITER_SKIPPED = "claimbridge.limiter_skipped"


def _is_limiters(hook: Callable[..., Any]) -> bool:
    """Tell whether a request hook is the rate limiter's (one of its bound methods, or a partial of it)."""
    if isinstance(hook, functools.partial):
        return hook.args == (limiter,)
    return getattr(hook, "__self__", None) is limiter


def _unless_limiter_skipped(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Return the rate limiter's response or teardown hook, skipped where its check was: no limit was applied,
    so there are no headers to add, deductions to make or counts to let go of."""

    @functools.wraps(hook)
    def skipped_with_the_check(response_or_error: Any) -> Any:
        skipped = current_request().environ.get(_LIMITER_SKIPPED)
        return response_or_error if skipped else hook(response_or_error)

    return skipped_with_the_check


def init_oauth(app: Flask) -> None:
    """Wire the authorization server, the bearer-token validator and the rate limiter's hook to the database."""
    authorization.init_app(app, query_client=_query_client, save_token=_save_token)
    authorization.register_client_auth_method("client_secret_basic", _authenticate_client_secret_basic)
    authorization.register_grant(ClientCredentialsGrant)
    authorization.register_endpoint(TokenRevocationEndpoint)
    require_oauth.register_token_validator(HashedBearerTokenValidator(realm="claimbridge"))
    # The limiter registered its check as a request hook (init_app); it runs in that place through ours.
    hooks = app.before_request_funcs[None]
    hooks[hooks.index(limiter._check_request_limit)] = _rate_limit_strangers
    for hooks in (app.after_request_funcs[None], app.teardown_request_funcs[None]):
        position = next(n for n, hook in enumerate(hooks) if _is_limiters(hook))
        hooks[position] = _unless_limiter_skipped(hooks[position])


def current_merchant_id() -> int:
    """Return the merchant the request's bearer token acts for."""
    return request_token().merchant_id


def current_client_id() -> str:
    """Return the client id of the request's bearer token."""
    return request_token().client_id


def current_scopes() -> list[str]:
    """Return the scopes of the request's bearer token."""
    return request_token().get_scope().split()


def token_response_json(status: int, payload: dict[str, Any]) -> str:
    """Add a human ``message`` to RFC 6749 token-endpoint errors, keeping their standard fields."""
    if status >= 400 and "error" in payload:
        payload.setdefault("message", payload.get("error_description") or payload["error"].replace("_", " "))
    return json.dumps(payload)
