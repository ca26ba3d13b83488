"""The console in Debian's Chromium through Playwright: decisions, one-time links, accessibility, screenshots.

Every test fails on any console error or warning of the page (CSP violations and uncaught exceptions
included). Screenshots of every page in German and English go to build/console-screenshots/ (CONTRIBUTING).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.wrappers import Response

from backend.audit.models import AuditEvent
from backend.console import sessions
from backend.dunning.claims import DebtorKind, NoticeKind
from backend.dunning.merchant_settings import get_dunning_settings, get_schedules
from backend.extensions import db, utcnow
from backend.handovers.models import Handover, ShopUpdate
from backend.merchants.models import Merchant
from backend.payments.models import PaymentMatch
from backend.payments.services import update_matching_threshold
from backend.receivables.models import Receivable
from backend.risk.messages import advice_for, message_for
from backend.shopware.services import set_admin_addresses
from tests.console.conftest import screenshot, serious_violations
from tests.factories import make_connection, make_receivable
from tests.fakes.server import FakeServer
from tests.fakes.shopware_admin import manifest_privileges
from tests.fakes.shopware_shop import ShopSimulator, wsgi_transport
from tests.payments.test_import import camt, overdue_order, transfer
from tests.risk.conftest import CLEAN_PAYLOAD
from tests.shopware.conftest import APP_SECRET, stored_shop


@pytest.fixture
def console_url(app, live_server_url, monkeypatch, console_token):
    """Return a factory of console URLs on the live server for a merchant's user."""
    monkeypatch.setitem(app.config, "CLAIMBRIDGE_PUBLIC_URL", live_server_url)

    def factory(merchant, path="/console/", *, language="en", user="Anna Admin"):
        return (
            f"{live_server_url}{path}?session_token={console_token(merchant, user=user, language=language)}"
        )

    return factory


def fresh(handover: Handover) -> Handover:
    db.session.expire_all()
    return db.session.get(Handover, handover.id)


class TestHandoverDecisions:
    def test_approve_a_proposal(self, merchant, shop, propose, console_url, open_page):
        first, second = propose(shop, "order-1"), propose(shop, "order-2", company="Huber GmbH")
        page, problems = open_page()
        page.goto(console_url(merchant, "/console/handovers"))
        approve = page.get_by_role("button", name="Approve selected")
        assert approve.is_disabled()  # nothing ticked yet
        page.get_by_label(f"Select {first.receivable.number}").check()
        assert approve.is_enabled()
        approve.click()
        page.wait_for_url(re.compile(r"notice=approved"))
        assert page.get_by_role("status").inner_text() == "Approved: 1."
        assert fresh(first).status == "approved"
        assert fresh(first).decided_by == "Anna Admin (console, console link)"
        assert fresh(second).status == "proposed"
        assert problems == []

    def test_reject_with_a_reason(self, merchant, shop, propose, console_url, open_page):
        handover = propose(shop, "order-1")
        page, problems = open_page("de-DE")
        page.goto(
            console_url(merchant, f"/console/handovers/{handover.id}", language="de", user="Bernd Berg")
        )
        page.get_by_role("button", name="Ablehnen").click()
        assert page.get_by_role("alert").inner_text() == "Bitte geben Sie einen Grund für die Ablehnung an."
        assert fresh(handover).status == "proposed"
        page.get_by_label("Grund der Ablehnung").fill("Ratenzahlung vereinbart")
        page.get_by_role("button", name="Ablehnen").click()
        page.wait_for_url(re.compile(r"notice=rejected"))
        decided = fresh(handover)
        assert (decided.status, decided.decision_note) == ("rejected", "Ratenzahlung vereinbart")
        assert decided.decided_by.startswith("Bernd Berg")
        assert "Abgelehnt" in page.locator("h1").inner_text()
        assert problems.besides_status(422) == [], problems  # the reasonless post was answered 422

    def test_search_finds_by_buyer_and_by_order_number(self, merchant, shop, propose, console_url, open_page):
        propose(shop, "order-1")
        other = propose(shop, "order-2", company="Huber Innenausbau GmbH")
        page, problems = open_page()
        page.goto(console_url(merchant, "/console/handovers"))
        page.get_by_label("Search").fill("Huber")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"q=Huber"))
        rows = page.locator("tbody tr")
        assert rows.count() == 1 and other.receivable.number in rows.inner_text()
        page.get_by_label("Search").fill("nobody-like-this")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"q=nobody"))
        assert page.get_by_text("No handovers found.").is_visible()
        assert problems == []


class TestOneTimeLink:
    def test_opens_the_console_once_and_fails_on_reuse(
        self, app, merchant, shop, propose, live_server_url, monkeypatch, open_page
    ):
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_PUBLIC_URL", live_server_url)
        propose(shop, "order-1")
        link = sessions.create_console_link(
            merchant.id, user_name="Clara Link", locale="en-GB", created_by="test"
        )
        db.session.commit()
        page, problems = open_page()
        page.goto(link.url)
        assert page.get_by_text("Signed in as Clara Link").is_visible()
        page.get_by_role("link", name=re.compile("Handover proposals waiting for your decision: 1")).click()
        assert page.get_by_role("heading", name="Handovers", level=1).is_visible()

        second, second_problems = open_page()
        response = second.goto(link.url)
        assert response.status == 401
        assert second.get_by_text("This link was already used or has expired.").is_visible()
        assert problems == []
        assert second_problems.besides_status(401) == [], second_problems


class TestSettings:
    def test_an_unlawful_dunning_fee_is_refused_beside_its_field(self, merchant, console_url, open_page):
        page, problems = open_page()
        before = get_schedules(merchant.id)[DebtorKind.CONSUMER].stage(NoticeKind.DUNNING)
        page.goto(console_url(merchant, "/console/settings"))
        fee = page.get_by_label("1st dunning notice: Fee").first
        fee.fill("10.00")
        fee.press("Tab")  # the change is checked at once, before saving
        error = page.locator("#section-dunning .field-error").first
        # An e-mail costs the debtor nothing to send, so it may carry no fee (issue 17).
        assert "at most 0.00 for a notice by email" in error.inner_text()
        assert page.get_by_label("1st dunning notice: Fee").first.get_attribute("aria-invalid") == "true"
        page.locator("#form-dunning").get_by_role("button", name="Save").click()
        assert page.get_by_role("alert").inner_text() == "Not saved: correct the marked fields."
        assert get_schedules(merchant.id)[DebtorKind.CONSUMER].stage(NoticeKind.DUNNING).fee == before.fee
        page.get_by_label("1st dunning notice: Channel").first.select_option("letter")
        page.get_by_label("1st dunning notice: Fee").first.fill("1.00")
        page.locator("#form-dunning").get_by_role("button", name="Save").click()
        page.wait_for_url(re.compile(r"notice=saved"))
        db.session.expire_all()
        stage = get_schedules(merchant.id)[DebtorKind.CONSUMER].stage(NoticeKind.DUNNING)
        assert (stage.channel, stage.fee) == ("letter", Decimal("1.00"))
        assert problems.besides_status(422) == [], problems

    def test_an_invalid_iban_is_refused(self, merchant, console_url, open_page):
        page, problems = open_page("de-DE")
        page.goto(console_url(merchant, "/console/settings", language="de"))
        page.get_by_label("Kontoinhaber (Ihr Firmenname)").fill("Beispiel Shop GmbH")
        page.get_by_label("IBAN", exact=True).fill("DE89370400440532013001")
        page.get_by_label("Straße", exact=True).fill("Hafenstraße")
        page.get_by_label("Postleitzahl", exact=True).fill("20457")
        page.get_by_label("Ort", exact=True).fill("Hamburg")
        page.locator("#form-creditor").get_by_role("button", name="Speichern").click()
        assert page.locator("#f-iban-error").is_visible()
        page.get_by_label("IBAN", exact=True).fill("DE89 3704 0044 0532 0130 00")
        page.locator("#form-creditor").get_by_role("button", name="Speichern").click()
        page.wait_for_url(re.compile(r"notice=saved"))
        db.session.expire_all()
        assert get_dunning_settings(db.session.get(Merchant, merchant.id)).bic == "COBADEFFXXX"
        assert problems.besides_status(422) == [], problems


class TestPayments:
    def test_upload_a_statement_and_confirm_a_review_item(self, merchant, console_url, open_page, tmp_path):
        update_matching_threshold(merchant, 1.0, actor="test")
        receivable = overdue_order(make_connection(merchant), "1001")
        statement = tmp_path / "statement.xml"
        statement.write_bytes(camt(transfer("1190.00", name="Erika Mustermann", remittance="Danke")))
        page, problems = open_page()
        page.goto(console_url(merchant, "/console/payments"))
        page.locator("#statement-file").set_input_files(str(statement))
        page.get_by_role("button", name="Upload").click()
        assert "1 for review" in page.get_by_role("status").inner_text()
        progress = page.locator("progress")
        assert progress.get_attribute("hidden") is None and progress.evaluate("bar => bar.value") == 100
        page.get_by_role("button", name=f"Confirm {receivable.number}").click()
        page.wait_for_url(re.compile(r"notice=confirmed"))
        db.session.expire_all()
        assert db.session.get(Receivable, receivable.id).paid_amount == Decimal("1190.00")
        match = db.session.scalar(sa.select(PaymentMatch))
        assert (match.status, match.decided_by) == ("confirmed", "Anna Admin (console, console link)")
        assert problems == [], problems


class TestRiskDecision:
    @pytest.mark.parametrize("language", ["de", "en"])
    def test_an_orders_page_explains_its_checkout_decision(
        self, client, merchant, auth_headers, console_url, open_page, language
    ):
        """Five orders in a row from one new buyer: the last order's page says why invoice was withheld."""
        headers = auth_headers(merchant)
        connection = make_connection(merchant)
        for number in range(1, 6):
            answer = client.post(
                "/api/v1/risk-checks", json={**CLEAN_PAYLOAD, "reference": f"cart-{number}"}, headers=headers
            )
            check = answer.get_json()
            receivable = make_receivable(
                connection, f"order-{number}", total="299.00", risk_check_id=check["id"]
            )
        assert check["decision"] == "decline"
        page, problems = open_page("de-DE" if language == "de" else "en-GB")
        page.goto(console_url(merchant, f"/console/receivables/{receivable.id}", language=language))
        risk = page.locator("#risk")
        decision = {"de": "Rechnung nicht angeboten", "en": "Invoice not offered"}[language]
        assert risk.get_by_text(decision, exact=True).is_visible()
        rows = risk.locator("tbody tr")
        assert rows.count() == len(check["reasons"])
        shown = rows.all_inner_texts()
        for reason in check["reasons"]:
            message = message_for(reason["code"], language, **reason["params"])
            advice = advice_for(reason["code"], language)
            assert any(message in row and advice in row for row in shown), (message, shown)
        assert serious_violations(page) == []
        screenshot(page, f"receivable-risk-{language}")
        assert problems == [], problems


class TestParkedShopUpdates:
    def test_retry_a_parked_update_from_the_overview(self, merchant, shop, console_url, open_page):
        update = ShopUpdate(
            merchant_id=merchant.id,
            connection_id=shop.id,
            external_order_id="order-7",
            kind="note",
            payload={"text": "Fall übergeben"},
            idempotency_key="parked-in-browser",
            attempts=12,
            last_error="shop answered 503",
            parked_at=utcnow(),
        )
        db.session.add(update)
        db.session.commit()
        page, problems = open_page("de-DE")
        page.goto(console_url(merchant, language="de"))
        assert "geparkt" in page.locator("#shop-updates").inner_text()
        assert serious_violations(page) == []
        screenshot(page, "overview-parked-de")
        page.get_by_role("button", name="Erneut senden order-7").click()
        page.wait_for_url(re.compile(r"notice=parked_retried"))
        assert page.get_by_role("status").inner_text() == "Die geparkte Rückmeldung wird erneut gesendet."
        db.session.expire_all()
        assert db.session.get(ShopUpdate, update.id).parked_at is None
        assert problems == [], problems


class TestEveryPage:
    @pytest.mark.parametrize("language", ["de", "en"])
    def test_pages_are_accessible_without_console_errors(
        self, merchant, shop, propose, console_url, open_page, language
    ):
        handover = propose(shop, "order-1")
        propose(shop, "order-2", company="Huber Innenausbau GmbH")
        page, problems = open_page("de-DE" if language == "de" else "en-GB")
        pages = {
            "overview": "/console/",
            "handovers": "/console/handovers",
            "handover": f"/console/handovers/{handover.id}",
            "receivables": "/console/receivables",
            "receivable": f"/console/receivables/{handover.receivable_id}",
            "payments": "/console/payments",
            "settings": "/console/settings",
            "audit": "/console/audit",
        }
        for name, path in pages.items():
            response = page.goto(console_url(merchant, path, language=language))
            assert response.status == 200, name
            assert page.locator("html").get_attribute("lang") == language
            assert serious_violations(page) == [], name
            screenshot(page, f"{name}-{language}")
        assert problems == [], problems

    def test_keyboard_reaches_the_content_first(self, merchant, shop, console_url, open_page):
        page, problems = open_page()
        page.goto(console_url(merchant))
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('main') !== null")
        assert problems == []


ADMIN_USER = {
    "id": "0190aaaabbbbccccddddeeeeffff0001",
    "firstName": "Erika",
    "lastName": "Admin",
    "username": "erika",
    "email": "erika@shop.example",
}


class TestInsideShopware:
    def open_module(
        self,
        app,
        live_server_url,
        open_page,
        propose,
        monkeypatch,
        host,
        shop_url=None,
        confirm_admin=False,
        **admin,
    ):
        """Register a shop whose Administration runs on ``host``, propose a handover, open the module.

        ``confirm_admin``: the merchant confirmed ``host`` as the Administration's address in the settings.
        """
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_SHOPWARE_APP_SECRET", APP_SECRET)
        # The shop registers through WSGI (its server-to-server part is not under test here); the browser
        # loads the module over HTTP from the Administration's page on another origin.
        shop = ShopSimulator(
            wsgi_transport(app.test_client()), app_secret=APP_SECRET, shop_url=shop_url or host.url
        )
        shop.register()
        connection = stored_shop(shop.shop_id).connection
        if confirm_admin:
            set_admin_addresses(connection.merchant_id, {connection.id: host.url}, actor="test")
            db.session.commit()
        handover = propose(connection, "0190d1e3b4a5c6d7e8f9a0b1c2d3e4f5")
        host.page = shop.administration_page(live_server_url, user_language="de-DE", **admin)
        page, problems = open_page("de-DE")
        page.goto(host.url + "/admin")
        return shop, handover, page, problems

    @pytest.fixture
    def host(self):
        """The Administration: a page on an origin of its own."""
        server = FakeServer(
            lambda environ, start: Response(server.page, mimetype="text/html")(environ, start)
        )
        server.page = ""
        with server:
            yield server

    def test_the_module_names_the_admin_user_and_a_proposal_is_approved_by_them(
        self, app, live_server_url, open_page, propose, monkeypatch, host
    ):
        """The Administration (the shop double) frames the signed module URL; the merchant approves inside."""
        shop, handover, page, problems = self.open_module(
            app,
            live_server_url,
            open_page,
            propose,
            monkeypatch,
            host,
            user=ADMIN_USER,
            app_privileges=manifest_privileges(),
        )
        module = page.frame_locator("#module")
        # The console asks the Administration who is signed in, and reloads with the session named after them.
        module.get_by_text("Angemeldet als Erika Admin (erika)").wait_for()  # after the round trip and reload
        assert page.locator("body").get_attribute("data-user-asked") == "yes"
        module.get_by_role("link", name="Inkasso-Übergaben").click()
        module.get_by_label(f"Auswählen {handover.receivable.number}").check()
        module.get_by_role("button", name="Ausgewählte freigeben").click()
        assert module.get_by_role("status").inner_text() == "Freigegeben: 1."
        assert page.locator("body").get_attribute("data-app-loaded") == "yes"
        decided = fresh(handover)
        assert decided.status == "approved"
        assert decided.decided_by == "Erika Admin (erika) (console, Shopware Administration)"
        named = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "console_session.user_named")
        )
        assert named.details["shop_user_id"] == ADMIN_USER["id"]
        assert named.details["before"] == f"shopware-admin:{shop.shop_id}"
        assert problems == [], problems

    def test_without_the_read_user_permission_the_shop_stays_the_actor(
        self, app, live_server_url, open_page, propose, monkeypatch, host
    ):
        shop, _, page, problems = self.open_module(
            app,
            live_server_url,
            open_page,
            propose,
            monkeypatch,
            host,
            user=ADMIN_USER,
            app_privileges=manifest_privileges() - {"user:read"},
        )
        module = page.frame_locator("#module")
        module.locator("html[data-user-unnamed=refused]").wait_for(state="attached")
        assert module.get_by_text(f"Angemeldet als shopware-admin:{shop.shop_id}").is_visible()
        assert problems == [], problems

    def test_an_administration_on_a_host_of_its_own_may_frame_the_console(
        self, app, live_server_url, open_page, propose, monkeypatch, host
    ):
        """The shop URL (APP_URL) names one host, the merchant opens the Administration on another."""
        _, handover, page, problems = self.open_module(
            app,
            live_server_url,
            open_page,
            propose,
            monkeypatch,
            host,
            shop_url="https://shop.example",
            confirm_admin=True,
            user=ADMIN_USER,
            app_privileges=manifest_privileges(),
        )
        module = page.frame_locator("#module")
        module.get_by_text("Angemeldet als Erika Admin (erika)").wait_for()
        module.get_by_role("link", name="Inkasso-Übergaben").click()
        module.get_by_role("heading", name="Inkasso-Übergaben", level=1).wait_for()
        assert module.get_by_text(handover.receivable.number).first.is_visible()
        assert problems == [], problems
