"""One OAuth2 client's whole life over real HTTP (the app served on loopback): issue, use, expire, revoke, rotate.

What must hold at every step:
- a token works only for the scopes its client holds, and only until it expires or is revoked;
- a revoked token, a token of a revoked client and a token issued before a secret rotation are refused at once
  (401 ``invalid_token``) and stay refused; revoking twice is harmless;
- a client asking for a scope it does not hold gets no token (``invalid_scope``), and a token used beyond its
  scope is 403 ``insufficient_scope``;
- after ``claimbridge clients rotate-secret`` only the new secret gets tokens; a revoked client gets none with
  either secret and cannot be rotated back to life.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from backend.auth.models import AccessToken
from backend.extensions import db, utcnow
from tests.orders.support import cli_runner

SCOPES = "risk:check handovers:read"


class Api:
    """The app over HTTP, as a plugin sees it."""

    def __init__(self, base: str) -> None:
        self.base = base

    def token(self, client_id: str, secret: str, **form: str) -> requests.Response:
        """Ask for a client-credentials token."""
        data = {"grant_type": "client_credentials", **form}
        return requests.post(f"{self.base}/oauth/token", data=data, auth=(client_id, secret), timeout=10)

    def access(self, token: str, path: str = "/api/v1/merchant") -> requests.Response:
        """Call an endpoint with a bearer token."""
        return requests.get(self.base + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def revoke(self, client_id: str, secret: str, token: str) -> requests.Response:
        """Revoke a token (RFC 7009)."""
        return requests.post(
            f"{self.base}/oauth/revoke", data={"token": token}, auth=(client_id, secret), timeout=10
        )


@pytest.fixture
def api(live_server_url: str) -> Api:
    return Api(live_server_url)


@pytest.fixture
def credentials(merchant: Any, create_credentials: Any) -> tuple[str, str]:
    return create_credentials(merchant, SCOPES)


def _issued(api: Api, client_id: str, secret: str, **form: str) -> str:
    response = api.token(client_id, secret, **form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert response.headers["Cache-Control"] == "no-store"
    return body["access_token"]


def _refused(response: requests.Response, error: str = "invalid_token") -> bool:
    return response.status_code == 401 and response.json()["error"] == error


def test_a_token_works_for_its_scopes_until_it_expires(api: Api, credentials: tuple[str, str]) -> None:
    token = _issued(api, *credentials)
    me = api.access(token)
    assert me.status_code == 200 and set(me.json()["scopes"]) == set(SCOPES.split())
    assert api.access(token, "/api/v1/handovers").status_code == 200
    beyond = api.access(token, "/api/v1/agency/cases")  # needs cases:write
    assert (beyond.status_code, beyond.json()["error"]) == (403, "insufficient_scope")

    db.session.execute(sa.update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert _refused(api.access(token))
    assert api.access(_issued(api, *credentials)).status_code == 200  # the client simply gets a new one


@pytest.mark.parametrize("scope", ["risk:check", "risk:check settings:write"])
def test_a_narrowed_token_has_only_the_held_scopes_asked_for(
    api: Api, credentials: tuple[str, str], scope: str
) -> None:
    response = api.token(*credentials, scope=scope)
    if scope != "risk:check":
        assert response.json()["scope"] == "risk:check"  # granted less than asked: the answer says so
    token = response.json()["access_token"]
    assert api.access(token).json()["scopes"] == ["risk:check"]
    assert api.access(token, "/api/v1/handovers").status_code == 403


@pytest.mark.parametrize("scope", ["settings:write", "cases:write settings:write", "admin"])
def test_a_scope_the_client_does_not_hold_gets_no_token(
    api: Api, credentials: tuple[str, str], scope: str
) -> None:
    response = api.token(*credentials, scope=scope)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessToken)) == 0


def test_a_revoked_token_is_refused_at_once_and_for_good(api: Api, credentials: tuple[str, str]) -> None:
    token = _issued(api, *credentials)
    other = _issued(api, *credentials)
    assert api.access(token).status_code == 200

    assert api.revoke(*credentials, token).status_code == 200
    assert _refused(api.access(token))
    assert api.revoke(*credentials, token).status_code == 200  # again: harmless (RFC 7009)
    assert _refused(api.access(token))
    assert api.access(other).status_code == 200  # only that token


def test_another_client_cannot_revoke_a_token(
    api: Api, merchant: Any, credentials: tuple[str, str], create_credentials: Any
) -> None:
    token = _issued(api, *credentials)
    api.revoke(*create_credentials(merchant, SCOPES), token)
    assert api.access(token).status_code == 200


def test_a_revoked_client_and_its_tokens_stay_out(app: Any, api: Api, credentials: tuple[str, str]) -> None:
    client_id, secret = credentials
    token = _issued(api, client_id, secret)
    result = cli_runner(app)("clients", "revoke", client_id)
    assert result.exit_code == 0, result.output

    assert _refused(api.access(token))
    assert _refused(api.token(client_id, secret), "invalid_client")
    rotate = cli_runner(app)("clients", "rotate-secret", client_id)
    assert rotate.exit_code != 0 and "revoked" in rotate.output
    assert _refused(api.token(client_id, secret), "invalid_client")


def test_rotating_the_secret_ends_the_old_secret_and_its_tokens(
    app: Any, api: Api, credentials: tuple[str, str]
) -> None:
    client_id, old_secret = credentials
    old_token = _issued(api, client_id, old_secret)

    result = cli_runner(app)("clients", "rotate-secret", client_id, "--json")
    assert result.exit_code == 0, result.output
    new_secret = json.loads(result.output)["client_secret"]

    assert new_secret != old_secret
    assert _refused(api.access(old_token))
    assert _refused(api.token(client_id, old_secret), "invalid_client")
    new_token = _issued(api, client_id, new_secret)
    assert api.access(new_token).status_code == 200
    assert old_secret not in result.output.replace(new_secret, "")
