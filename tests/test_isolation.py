"""Tenant isolation and scopes for every API route, generated from the URL map.

A route added later is covered without touching this file: it must be guarded by ``require_oauth``, refuse
tokens without its scopes before reading anything, and never show one merchant another merchant's rows.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.routing import Rule

from backend.auth.server import required_scopes
from backend.demo import DEMO_MERCHANT_NAME, create_demo
from backend.extensions import db
from backend.merchants.models import SCOPES
from tests.risk.conftest import CLEAN_PAYLOAD

ALL_SCOPES = " ".join(SCOPES)
ROW_IDS = (1, 2, 3)  # the other merchant owns rows with these ids in every table it has rows in


def api_routes(app: Any) -> Iterator[tuple[Rule, str]]:
    """Yield every (rule, method) of the JSON API."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule, method


def _path(rule: Rule, value: Any) -> str:
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", str(value), rule.rule)


def _scopes(app: Any, rule: Rule) -> Any:
    return required_scopes(app.view_functions[rule.endpoint])


def test_every_api_route_is_guarded_by_require_oauth(app):
    unguarded = [f"{m} {r.rule}" for r, m in api_routes(app) if _scopes(app, r) is None]
    assert unguarded == []


def test_a_token_without_the_routes_scope_is_403_before_anything_is_read(app, client, merchant, auth_headers):
    tokens = {scope: auth_headers(merchant, scope) for scope in SCOPES}
    checked = 0
    for rule, method in api_routes(app):
        needed = _scopes(app, rule)
        needed = set(needed) if isinstance(needed, list) else set((needed or "").split())
        if not needed:
            continue  # any valid token may call it
        outsider = next(scope for scope in SCOPES if scope not in needed)
        response = client.open(
            _path(rule, 1),
            method=method,
            headers=tokens[outsider],
            data="{not json",
            content_type="application/json",
        )
        assert response.status_code == 403, (method, rule.rule, response.status_code)
        checked += 1
    assert checked > 30


@pytest.fixture
def other_merchant(app, client):
    """The demo merchant: receivables, dunning, a connection, a risk check and a statement of its own."""
    demo = create_demo()
    db.session.commit()
    token = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(demo.client_id, demo.client_secret)
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for _ in ROW_IDS:
        assert client.post("/api/v1/risk-checks", json=CLEAN_PAYLOAD, headers=headers).status_code == 201
    return demo


def _leaks(body: str, demo: Any) -> list[str]:
    markers = [DEMO_MERCHANT_NAME, *(r["number"] for r in demo.receivables), CLEAN_PAYLOAD["reference"]]
    return [marker for marker in markers if marker and marker in body]


def test_one_merchant_never_reaches_anothers_rows_through_any_route(
    app, client, other_merchant, create_merchant, auth_headers
):
    stranger = auth_headers(create_merchant("Fremder Shop"), ALL_SCOPES)
    reached = []
    for rule, method in api_routes(app):
        if rule.arguments:
            for row_id in ROW_IDS:
                body = copy.deepcopy({"by": "x", "reason": "x", "note": "x"})
                response = client.open(_path(rule, row_id), method=method, headers=stranger, json=body)
                assert response.status_code < 500, (method, rule.rule)
                if response.status_code < 300 or _leaks(response.get_data(as_text=True), other_merchant):
                    reached.append(f"{method} {_path(rule, row_id)} -> {response.status_code}")
        elif method == "GET":
            response = client.get(rule.rule, headers=stranger)
            assert response.status_code < 500, rule.rule
            if _leaks(response.get_data(as_text=True), other_merchant):
                reached.append(f"GET {rule.rule} shows the other merchant's data")
    assert reached == []
