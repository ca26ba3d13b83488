"""The checks every request passes before a view: authentication first, then bounded JSON and safe text."""

from __future__ import annotations

import copy
import io
import json
import random

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from backend.auth.models import AccessToken
from backend.cli import main
from backend.receivables.models import Receivable
from backend.risk.models import RiskCheck
from backend.untrusted import (
    MAX_JSON_DEPTH,
    UNSAFE,
    UNSAFE_TEXT_MESSAGE,
    UnreadableJSONError,
    _nesting_exceeds,
    loads,
    may_hold_unsafe_text,
    strip_unsafe_text,
    unsafe_text_pointers,
)
from tests.orders.test_push import order_body
from tests.risk.conftest import CLEAN_PAYLOAD


def _payload(**buyer: str) -> dict:
    payload = copy.deepcopy(CLEAN_PAYLOAD)
    payload["buyer"].update(buyer)
    return payload


def _nested(rng: random.Random, depth: int) -> object:
    """A random JSON value up to 40 levels deep, with brackets, quotes and backslashes in its strings."""
    roll = rng.random()
    if depth > 40 or roll < 0.3:
        return rng.choice(['a"[', "{\\", "]]", 7, None, "\\\\{", "ü"])
    if roll < 0.65:
        return [_nested(rng, depth + 1) for _ in range(rng.randint(0, 2))]
    return {f"k{n}[": _nested(rng, depth + 1) for n in range(rng.randint(0, 2))}


@pytest.fixture
def headers(merchant, auth_headers):
    return auth_headers(merchant, "risk:check settings:write")


class TestUnsafeText:
    @pytest.mark.parametrize(
        "text", ["Anna\x00", "Anna\x1b[31m", "\u202eanna", "An\u2066na", "An\x85na", "a\ud800"]
    )
    def test_in_the_checkout_hot_path_is_422_naming_the_field_and_stores_nothing(
        self, client, headers, db, text
    ):
        response = client.post("/api/v1/risk-checks", json=_payload(first_name=text), headers=headers)
        assert response.status_code == 422
        assert list(response.get_json()["details"]) == ["/buyer/first_name"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskCheck)) == 0

    @pytest.mark.parametrize("raw", ['"An\\bna"', '"An\\u0000na"', '"\u202eanna"', '"An\x85na"'])
    def test_escaped_or_raw_in_the_sent_bytes_is_422(self, client, headers, raw):
        body = json.dumps(_payload(first_name="NAME"), ensure_ascii=False).replace('"NAME"', raw)
        response = client.post(
            "/api/v1/risk-checks", data=body.encode(), headers=headers, content_type="application/json"
        )
        assert response.status_code == 422
        assert list(response.get_json()["details"]) == ["/buyer/first_name"]

    def test_a_raw_lone_surrogate_is_refused_and_stores_nothing(self, client, headers, db):
        # Not UTF-8, though Python's JSON decoder would read it (surrogatepass); the byte scan does not walk it.
        body = json.dumps(_payload(first_name="NAME"), ensure_ascii=False).replace('"NAME"', '"An\ud800na"')
        response = client.post(
            "/api/v1/risk-checks",
            data=body.encode("utf-8", "surrogatepass"),
            headers=headers,
            content_type="application/json",
        )
        assert response.status_code == 400
        assert response.get_json()["error"] == "bad_request"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskCheck)) == 0

    def test_bytes_are_judged_as_their_text(self):
        # Bytes without a lead byte of an unsafe character beyond ASCII are judged byte by byte; the answer is
        # the one the decoded text gets.
        rng = random.Random(19)
        pieces = [
            "a",
            "ü",
            "€",
            "한",
            "\u202e",
            "\u2069",
            "\u2028",
            "\\u202E",
            "\\u00fc",
            "\\b",
            "\\\\b",
            "\\n",
        ]
        pieces += [chr(code) for code in [*range(0x21), *range(0x7F, 0xA1)]]
        for _ in range(3000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
            raw = text.encode() + (b"\xff" if rng.random() < 0.1 else b"")
            assert may_hold_unsafe_text(raw) == may_hold_unsafe_text(raw.decode("utf-8", "replace")), raw

    def test_only_bodies_with_an_unsafe_character_or_an_escape_writing_one_are_walked(self):
        assert not may_hold_unsafe_text('{"a": ["Zoë", "\tİlknur"]}'.encode())
        assert not may_hold_unsafe_text(
            json.dumps({"a": "Zoë Öztürk-Müller", "b": 'line\n"quoted"'}).encode()
        )
        assert may_hold_unsafe_text(b'{"a": "x\\by"}')
        assert may_hold_unsafe_text('{"a": "\u202ex"}'.encode())

    def test_every_unsafe_character_escaped_in_any_case_is_walked(self):
        unsafe = [code_point for code_point in range(0x10000) if UNSAFE.match(chr(code_point))]
        assert len(unsafe) > 2000
        for code_point in unsafe:
            for escaped in (json.dumps(chr(code_point)), f'"\\u{code_point:04X}"', f'"\\u{code_point:04x}"'):
                assert may_hold_unsafe_text(escaped.encode("utf-8", "surrogatepass")), escaped

    def test_tabs_newlines_and_ordinary_unicode_pass(self, client, headers):
        payload = _payload(first_name="Zoë\tİlknur", last_name="O-Brien-Müller\n")
        assert client.post("/api/v1/risk-checks", json=payload, headers=headers).status_code == 201

    def test_in_an_object_key_is_refused(self, client, headers):
        payload = _payload()
        payload["buyer"]["nick\x00name"] = "x"
        response = client.post("/api/v1/risk-checks", json=payload, headers=headers)
        assert response.status_code == 422
        assert "/buyer/nick\x00name" in response.get_json()["details"]

    def test_in_a_query_parameter_is_422(self, client, merchant, auth_headers):
        headers = auth_headers(merchant, "handovers:read")
        response = client.get("/api/v1/receivables?state=open%00", headers=headers)
        assert response.status_code == 422
        assert response.get_json()["details"] == {"?state": [UNSAFE_TEXT_MESSAGE]}

    @pytest.mark.parametrize("external_id", ["%00", "a%00b", "%E2%80%AE", "%01"])
    def test_in_a_path_part_is_422_and_stores_nothing(self, client, db, merchant, auth_headers, external_id):
        response = client.put(
            f"/api/v1/orders/{external_id}", json=order_body(), headers=auth_headers(merchant, "orders:write")
        )
        assert response.status_code == 422
        assert response.get_json()["details"] == {"path:external_id": [UNSAFE_TEXT_MESSAGE]}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Receivable)) == 0

    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", "/api/v1/receivables"), ("POST", "/oauth/token"), ("POST", "/woocommerce/auth/callback")],
    )
    def test_a_query_that_is_not_utf8_is_400(self, client, db, merchant, auth_headers, method, path):
        headers = auth_headers(merchant, "handovers:read")
        tokens = db.session.scalars(sa.select(AccessToken.token_hash)).all()
        # A raw 0xFF byte in the request line: WSGI hands it on as the latin-1 character (PEP 3333).
        response = client.open(
            path, method=method, headers=headers, environ_overrides={"QUERY_STRING": "a=\xff"}
        )
        assert response.status_code == 400
        assert response.get_json()["error"] == "bad_request"
        assert db.session.scalars(sa.select(AccessToken.token_hash)).all() == tokens

    def test_in_a_form_field_is_422(self, client, merchant, auth_headers):
        headers = auth_headers(merchant, "orders:write")
        response = client.post(
            "/api/v1/bank-statements",
            data={"note": "a\x00b", "file": (io.BytesIO(b"x"), "s.sta")},
            headers=headers,
            content_type="multipart/form-data",
        )
        assert response.status_code == 422
        assert "note" in response.get_json()["details"]

    def test_pointers_and_stripping_reach_every_string(self):
        value = {"a": ["ok", "b\x00"], "c~/d": {"e": "\u202e"}}
        assert unsafe_text_pointers(value) == {
            "/a/1": [UNSAFE_TEXT_MESSAGE],
            "/c~0~1d/e": [UNSAFE_TEXT_MESSAGE],
        }
        assert strip_unsafe_text(value) == {"a": ["ok", "b"], "c~/d": {"e": ""}}


class TestJsonBounds:
    def test_deep_nesting_is_400_not_500(self, client, headers):
        body = "[" * 100_000 + "]" * 100_000
        response = client.post(
            "/api/v1/risk-checks", data=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.get_json()["error"] == "bad_request"

    def test_nesting_hidden_in_strings_does_not_count(self):
        assert loads(json.dumps({"a": "[" * 1000})) == {"a": "[" * 1000}

    @pytest.mark.parametrize("as_bytes", [False, True])
    def test_every_document_is_judged_as_the_character_scan_judges_it(self, as_bytes):
        # loads scans quickly and falls back to the exact character scan; either way a document is refused for
        # its depth exactly when the character scan says so, and otherwise parsed or refused as json.loads does.
        rng = random.Random(19)
        pieces = ["[", "]", "{", "}", '"', "\\", "\\\\", '\\"', "a", ":", ",", "1", "ü", " "]
        documents = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
        documents += [json.dumps(_nested(rng, 0)) for _ in range(1000)]
        documents += [start + "[" * 40 + "]" * 40 for start in ("", "\\", '\\"', '"', '"\\"', "\\\\")]
        for document in documents:
            raw = document.encode() if as_bytes else document
            if _nesting_exceeds(raw, MAX_JSON_DEPTH):
                with pytest.raises(UnreadableJSONError, match="nests deeper"):
                    loads(raw)
                continue
            try:
                expected = json.loads(raw)
            except (ValueError, RecursionError) as error:
                with pytest.raises(ValueError) as refused:
                    loads(raw)
                assert type(refused.value) is type(error) or isinstance(error, RecursionError)
            else:
                assert loads(raw) == expected

    def test_request_bodies_are_read_as_text_strictly_in_every_json_encoding(self, client):
        # json.loads itself decodes bytes with "surrogatepass": a raw lone surrogate would pass as a string.
        provider = client.application.json
        with pytest.raises(UnicodeDecodeError):
            provider.loads('{"name": "An\ud800na"}'.encode("utf-8", "surrogatepass"))
        for encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"):
            assert provider.loads('{"name": "Jürgen"}'.encode(encoding)) == {"name": "Jürgen"}

    def test_an_integer_of_5000_digits_is_400(self, client, headers):
        body = '{"amount": ' + "9" * 5000 + "}"
        response = client.post(
            "/api/v1/risk-checks", data=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_non_json_constants_are_400(self, client, headers, constant):
        body = '{"amount": ' + constant + "}"
        response = client.post(
            "/api/v1/risk-checks", data=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400


class TestAuthenticationComesFirst:
    BAD_BODY = '{"amount": "not money", "buyer": 5}'

    def test_invalid_body_without_token_is_401_not_422(self, client):
        response = client.post(
            "/api/v1/risk-checks", data=self.BAD_BODY, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        assert "BearerBearer" not in response.headers["WWW-Authenticate"]

    def test_malformed_json_without_token_is_401(self, client):
        deep = "[" * 100_000
        response = client.post("/api/v1/risk-checks", data=deep, headers={"Content-Type": "application/json"})
        assert response.status_code == 401

    def test_invalid_body_with_the_wrong_scope_is_403_not_422(self, client, merchant, auth_headers):
        headers = {**auth_headers(merchant, "orders:write"), "Content-Type": "application/json"}
        response = client.post("/api/v1/risk-checks", data=self.BAD_BODY, headers=headers)
        assert response.status_code == 403

    def test_unauthenticated_body_is_never_read(self, app, client, monkeypatch):
        read = []
        real = app.request_class.get_data

        def spy(self, *args, **kwargs):
            read.append(True)
            return real(self, *args, **kwargs)

        monkeypatch.setattr(app.request_class, "get_data", spy)
        response = client.post(
            "/api/v1/risk-checks", data="x" * 900_000, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 401
        assert read == []

    def test_invalid_query_without_token_is_401(self, client):
        assert client.get("/api/v1/receivables?page=-1").status_code == 401


class TestRevocationIsImmediate:
    def test_a_token_revoked_by_another_process_is_refused_on_the_next_request(self, client, headers, db):
        assert client.get("/api/v1/policy", headers=headers).status_code == 200
        # Another web worker or the CLI revokes it: only the database knows.
        db.session.execute(sa.update(AccessToken).values(revoked_at=sa.func.now()))
        db.session.commit()
        assert client.get("/api/v1/policy", headers=headers).status_code == 401

    def test_a_client_revoked_by_the_cli_loses_its_tokens_at_once(
        self, app, client, merchant, create_credentials
    ):
        client_id, secret = create_credentials(merchant, "risk:check")
        token = client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        ).get_json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/merchant", headers=bearer).status_code == 200
        result = CliRunner().invoke(
            main, ["clients", "revoke", client_id], obj=ScriptInfo(create_app=lambda: app)
        )
        assert result.exit_code == 0, result.output
        assert client.get("/api/v1/merchant", headers=bearer).status_code == 401


class TestNoCookieSession:
    def test_a_request_reads_no_session_cookie_and_sets_none(self, client, headers):
        client.set_cookie("session", "eyJhIjoxfQ.forged.signature")
        response = client.post("/api/v1/risk-checks", json=CLEAN_PAYLOAD, headers=headers)
        assert response.status_code == 201
        assert "Set-Cookie" not in response.headers

    def test_writing_to_flasks_session_is_an_error(self, app):
        from flask import session

        with app.test_request_context("/"):
            assert dict(session) == {}
            with pytest.raises(RuntimeError, match="no cookie sessions"):
                session["merchant_id"] = 1
