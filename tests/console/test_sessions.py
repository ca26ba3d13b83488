"""One-time console links: the API contract, single use, expiry, the merchant binding, and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.cli import main
from backend.console import sessions
from backend.console.models import ConsoleLink
from backend.extensions import db

SCOPE = "console:session"
BODY = {"user": {"name": "Anna Admin", "locale": "de-DE"}}


def mint(client, headers, body=BODY):
    return client.post("/api/v1/console-sessions", json=body, headers=headers)


def local(url: str) -> str:
    """Return the path and query of an absolute console URL, for the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def follow_session(response) -> str:
    """Return the session token of the page a redirect leads to."""
    assert response.status_code == 303, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)[sessions.SESSION_FIELD][0]


class TestConsoleSessionsApi:
    def test_mints_a_one_time_url_that_opens_the_console(self, client, merchant, auth_headers):
        response = mint(client, auth_headers(merchant, SCOPE))
        assert response.status_code == 201
        body = response.get_json()
        assert body["url"].startswith("http://127.0.0.1:5000/console/enter?token=")
        expires_at = datetime.fromisoformat(body["expires_at"])
        assert timedelta(minutes=4) < expires_at - datetime.now(expires_at.tzinfo) <= timedelta(minutes=5)

        entered = client.get(local(body["url"]))
        token = follow_session(entered)
        session = sessions.verify_session(token)
        assert (session.merchant_id, session.user_name, session.language) == (merchant.id, "Anna Admin", "de")
        page = client.get(entered.headers["Location"])
        assert page.status_code == 200
        assert "Angemeldet als Anna Admin" in page.get_data(as_text=True)

    def test_a_link_can_open_the_settings_page(self, client, merchant, auth_headers):
        url = local(mint(client, auth_headers(merchant, SCOPE)).get_json()["url"])
        entered = client.get(url + "&open=settings")
        follow_session(entered)
        target = urlsplit(entered.headers["Location"])
        assert (target.path, target.fragment) == ("/console/settings", "section-policy")
        assert 'id="section-policy"' in client.get(entered.headers["Location"]).get_data(as_text=True)

    def test_a_link_works_once(self, client, merchant, auth_headers):
        url = local(mint(client, auth_headers(merchant, SCOPE)).get_json()["url"])
        assert client.get(url).status_code == 303
        again = client.get(url)
        assert again.status_code == 401
        assert "bereits verwendet" in again.get_data(as_text=True)  # in the language the link was made for
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ConsoleLink)) == 1

    def test_an_expired_link_is_refused(self, client, merchant, auth_headers):
        url = local(mint(client, auth_headers(merchant, SCOPE)).get_json()["url"])
        db.session.execute(sa.update(ConsoleLink).values(expires_at=datetime(2020, 1, 1, tzinfo=UTC)))
        db.session.commit()
        assert client.get(url).status_code == 401
        assert db.session.scalar(sa.select(ConsoleLink.used_at)) is None

    def test_an_unknown_token_is_refused(self, client):
        assert client.get("/console/enter?token=nothing-like-it").status_code == 401
        assert client.get("/console/enter").status_code == 401

    def test_only_the_hash_of_the_token_is_stored(self, client, merchant, auth_headers):
        url = mint(client, auth_headers(merchant, SCOPE)).get_json()["url"]
        token = parse_qs(urlsplit(url).query)["token"][0]
        stored = db.session.scalar(sa.select(ConsoleLink))
        assert token not in stored.token_hash and len(stored.token_hash) == 64

    def test_needs_the_console_scope(self, client, merchant, auth_headers):
        response = mint(client, auth_headers(merchant, "handovers:write settings:write"))
        assert (response.status_code, response.get_json()["error"]) == (403, "insufficient_scope")

    def test_authenticates_before_parsing(self, client):
        response = client.post("/api/v1/console-sessions", json={"user": "not an object"})
        assert response.status_code == 401

    @pytest.mark.parametrize(
        ("body", "pointer"),
        [
            ({}, "/user"),
            ({"user": {}}, "/user/name"),
            ({"user": {"name": ""}}, "/user/name"),
            ({"user": {"name": "x" * 201}}, "/user/name"),
            ({"user": {"name": "Anna", "locale": "<script>"}}, "/user/locale"),
        ],
    )
    def test_bad_bodies_are_422_and_mint_nothing(self, client, merchant, auth_headers, body, pointer):
        response = mint(client, auth_headers(merchant, SCOPE), body)
        assert response.status_code == 422
        assert pointer in response.get_json()["details"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ConsoleLink)) == 0

    def test_the_link_is_bound_to_the_merchant_of_the_client(
        self, client, create_merchant, auth_headers, console_token
    ):
        mine, other = create_merchant("Mein Shop"), create_merchant("Anderer Shop")
        url = local(mint(client, auth_headers(mine, SCOPE)).get_json()["url"])
        session = sessions.verify_session(follow_session(client.get(url)))
        assert session.merchant_id == mine.id != other.id

    def test_minting_and_using_are_audited(self, client, merchant, auth_headers):
        url = local(mint(client, auth_headers(merchant, SCOPE)).get_json()["url"])
        client.get(url)
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["console_link.created", "console_link.used"]

    def test_english_for_other_locales(self, client, merchant, auth_headers):
        body = {"user": {"name": "Sam", "locale": "fr-FR"}}
        url = local(mint(client, auth_headers(merchant, SCOPE), body).get_json()["url"])
        assert sessions.verify_session(follow_session(client.get(url))).language == "en"


class TestConsoleSessionTokens:
    def test_a_forged_or_missing_token_gets_no_page(self, client, merchant, console_token):
        token = console_token(merchant)
        assert client.get(f"/console/?session_token={token}").status_code == 200
        assert client.get(f"/console/?session_token={token[:-2]}xx").status_code == 401
        assert client.get("/console/").status_code == 401

    def test_sessions_end_after_the_maximum_age(self, app, merchant, console_token):
        token = console_token(merchant)
        later = datetime.now(sessions.verify_session(token).started_at.tzinfo) + sessions.MAX_SESSION_AGE
        with pytest.raises(sessions.InvalidConsoleSessionError, match="ended"):
            sessions.verify_session(token, now=later + timedelta(minutes=1))

    def test_a_deleted_merchant_voids_its_sessions(self, app, merchant, console_token):
        token = console_token(merchant)
        db.session.delete(merchant)
        db.session.commit()
        with pytest.raises(sessions.InvalidConsoleSessionError, match="no longer exists"):
            sessions.verify_session(token)

    def test_pages_may_be_framed_only_by_the_merchants_shops(self, client, merchant, shop, console_token):
        page = client.get(f"/console/?session_token={console_token(merchant)}")
        policy = page.headers["Content-Security-Policy"]
        assert "frame-ancestors https://shop.example" in policy
        assert "script-src 'nonce-" in policy and "unsafe-inline" not in policy
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "no-referrer"

    def test_without_a_shop_no_page_may_frame_the_console(self, client, merchant, console_token):
        page = client.get(f"/console/?session_token={console_token(merchant)}")
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


class TestShopwareUserName:
    """The Administration names its signed-in user once per Shopware session; the name is then the actor."""

    USER = {
        "id": "0190aaaabbbbccccddddeeeeffff0001",
        "firstName": "Erika",
        "lastName": "Admin",
        "username": "erika",
    }

    def shopware_session(self, merchant, shop) -> sessions.ConsoleSession:
        return sessions.start_session(
            merchant.id,
            user_name="shopware-admin:shop-1",
            language="de",
            channel=sessions.CHANNEL_SHOPWARE,
            connection_id=shop.id,
        )

    def name(self, client, token, body):
        return client.post("/console/session/user", json=body, headers={sessions.SESSION_HEADER: token})

    def test_names_the_session_once_and_audits_who_it_was(self, client, merchant, shop):
        answer = self.name(client, self.shopware_session(merchant, shop).token, self.USER)
        assert answer.status_code == 200
        named = sessions.verify_session(answer.get_json()["session_token"])
        assert (named.user_name, named.shop_user_id) == ("Erika Admin (erika)", self.USER["id"])
        assert named.actor == "Erika Admin (erika) (console, Shopware Administration)"
        assert not named.awaits_shop_user
        event = db.session.scalar(sa.select(AuditEvent).filter_by(action="console_session.user_named"))
        assert event.details == {
            "shop_user_id": self.USER["id"],
            "username": "erika",
            "before": "shopware-admin:shop-1",
        }
        again = self.name(client, named.token, {**self.USER, "firstName": "Mallory"})
        assert again.status_code == 409

    def test_the_token_from_before_the_naming_cannot_name_the_session_again(self, client, merchant, shop):
        unnamed = self.shopware_session(merchant, shop).token
        assert self.name(client, unnamed, self.USER).status_code == 200
        again = self.name(client, unnamed, {**self.USER, "id": "u2", "username": "mallory"})
        assert again.status_code == 409
        events = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="console_session.user_named")
        ).all()
        assert [event.details["username"] for event in events] == ["erika"]
        # Another session of the same shop is named on its own.
        assert self.name(client, self.shopware_session(merchant, shop).token, self.USER).status_code == 200

    def test_only_a_username_is_enough_and_no_name_at_all_is_refused(self, client, merchant, shop):
        token = self.shopware_session(merchant, shop).token
        assert self.name(client, token, {"id": "u1", "firstName": " ", "username": ""}).status_code == 422
        assert self.name(client, token, {"firstName": "Erika"}).status_code == 422
        answer = self.name(client, token, {"id": "u1", "username": "erika"})
        assert sessions.verify_session(answer.get_json()["session_token"]).user_name == "erika"

    def test_a_one_time_link_session_cannot_rename_its_user(self, client, merchant, console_token):
        answer = self.name(client, console_token(merchant, user="Anna Admin"), self.USER)
        assert answer.status_code == 403

    def test_needs_a_session(self, client):
        assert self.name(client, "forged", self.USER).status_code == 401


class TestConsoleLinkCommand:
    def test_prints_a_one_time_url(self, app, merchant):
        result = app.test_cli_runner().invoke(
            main, ["console-link", "--merchant", str(merchant.id), "--json"]
        )
        assert result.exit_code == 0, result.output
        assert '"url": "http://127.0.0.1:5000/console/enter?token=' in result.output
        link = db.session.scalar(sa.select(ConsoleLink))
        assert (link.merchant_id, link.user_name, link.created_by) == (
            merchant.id,
            "operator",
            "operator (operator)",
        )

    def test_unknown_merchant_is_an_error(self, app):
        result = app.test_cli_runner().invoke(main, ["console-link", "--merchant", "999"])
        assert result.exit_code != 0
        assert "merchant 999 does not exist" in result.output


class TestPruning:
    def test_links_are_deleted_a_week_after_they_expired(self, app, merchant):
        sessions.create_console_link(merchant.id, user_name="Old", locale="de-DE", created_by="test")
        sessions.create_console_link(merchant.id, user_name="New", locale="de-DE", created_by="test")
        db.session.execute(
            sa.update(ConsoleLink)
            .where(ConsoleLink.user_name == "Old")
            .values(expires_at=datetime.now(UTC) - sessions.USED_LINK_RETENTION - timedelta(minutes=1))
        )
        assert sessions.prune_console_links() == "1 console links, 0 session namings"
        assert db.session.scalars(sa.select(ConsoleLink.user_name)).all() == ["New"]

    def test_a_naming_is_deleted_once_its_session_has_ended(self, app, merchant):
        db.session.add_all(
            sessions.ConsoleSessionNaming(
                merchant_id=merchant.id, session_key=key, shop_user_id="u1", named_at=named_at
            )
            for key, named_at in (
                ("ended", datetime.now(UTC) - sessions.MAX_SESSION_AGE - timedelta(minutes=1)),
                ("running", datetime.now(UTC) - sessions.MAX_SESSION_AGE + timedelta(minutes=1)),
            )
        )
        db.session.flush()
        assert sessions.prune_console_links() == "0 console links, 1 session namings"
        kept = db.session.scalars(sa.select(sessions.ConsoleSessionNaming.session_key)).all()
        assert kept == ["running"]
