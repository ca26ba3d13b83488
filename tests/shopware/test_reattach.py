"""An uninstalled shop's kept data goes to a new registration only with a code the merchant takes from the old one."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.cli import main
from backend.console import sessions as console_sessions
from backend.extensions import db, utcnow
from backend.merchants.models import Merchant, ShopConnection
from backend.merchants.policy_store import update_policy
from backend.receivables.models import Receivable
from backend.risk.models import RiskCheck
from backend.shopware import services
from backend.shopware.models import ShopwareEvent
from tests.factories import make_receivable
from tests.shopware.checkouts import checkout_payload
from tests.shopware.conftest import stored_shop
from tests.shopware.test_views import ORDER_ID, audit_actions, order_payload


@pytest.fixture
def retired(make_shop):
    """A 6.6.8 shop with a receivable, uninstalled (6.6.8 sends [] whatever the merchant chose: data kept)."""
    shop = make_shop(sw_version="6.6.8.0", shop_url="https://alt.shop.example")
    shop.register()
    connection = stored_shop(shop.shop_id).connection
    receivable = make_receivable(connection, "0190d1e3b4a5c6d7e8f9a0b1c2d3e4f5")
    shop.send(shop.lifecycle_request("app.deleted"))
    return shop, connection.id, connection.merchant_id, receivable.id


@pytest.fixture
def claimant(make_shop, retired):
    """The same shop id registering again from another address: a new merchant, the old data kept apart."""
    shop, *_ = retired
    new = make_shop(shop_id=shop.shop_id, shop_url="https://neu.shop.example", sw_version="6.6.8.0")
    new.register()
    return new


def module_session(shop) -> str:
    """Open the Administration module of a shop; return the console session token it starts."""
    answer = shop.open_iframe(user_language="de-DE")
    assert answer.status == 303
    return parse_qs(urlsplit(answer.header("Location")).query)[console_sessions.SESSION_FIELD][0]


def reattach(client, token, code):
    return client.post("/console/shopware/reattach", data={"session_token": token, "code": code})


class TestReattach:
    def test_the_code_from_the_old_shop_moves_the_new_registration_onto_its_data(
        self, app, client, retired, claimant
    ):
        shop, old_connection_id, old_merchant_id, receivable_id = retired
        new_merchant_id = stored_shop(shop.shop_id).connection.merchant_id
        assert new_merchant_id != old_merchant_id
        issued = app.test_cli_runner().invoke(
            main, ["shopware", "reattach-code", "--merchant", str(old_merchant_id)]
        )
        assert issued.exit_code == 0, issued.output
        code = issued.output.strip()

        token = module_session(claimant)
        page = client.get("/console/", query_string={"session_token": token}).get_data(as_text=True)
        assert "Daten einer früheren Installation übernehmen" in page
        near_miss = code[:-1] + ("y" if code.endswith("x") else "x")  # one character off, whatever the code
        assert reattach(client, token, near_miss).status_code == 422  # a near miss changes nothing
        answer = reattach(client, token, code)
        assert answer.status_code == 303
        moved = console_sessions.verify_session(
            parse_qs(urlsplit(answer.headers["Location"]).query)["session_token"][0]
        )
        assert (moved.merchant_id, moved.connection_id) == (old_merchant_id, old_connection_id)

        row = stored_shop(claimant.shop_id)
        assert (row.connection_id, row.connection.merchant_id) == (old_connection_id, old_merchant_id)
        assert (row.connection.shop_url, row.connection.status, row.app_state) == (
            "https://neu.shop.example",
            "active",
            "registered",
        )
        assert db.session.get(Merchant, new_merchant_id) is None
        assert db.session.get(Receivable, receivable_id).connection_id == old_connection_id
        assert "shopware.retired_shop_reattached" in audit_actions(old_merchant_id)
        # The shop, signing with the secret it got at its new registration, now reaches the old data.
        assert claimant.send(claimant.webhook_request("checkout.order.placed", order_payload())).status == 204
        event = db.session.scalars(sa.select(ShopwareEvent).filter_by(order_id=ORDER_ID)).one()
        assert event.connection_id == old_connection_id
        # Once only.
        assert reattach(client, module_session(claimant), code).status_code == 422

    def test_what_the_registration_did_before_is_named_in_the_audit_event(self, client, retired, claimant):
        _, old_connection_id, old_merchant_id, _ = retired
        new_merchant_id = stored_shop(claimant.shop_id).connection.merchant_id
        update_policy(new_merchant_id, {"invoice_methods": ["payment_invoicepayment"]}, actor="test")
        db.session.commit()
        assert claimant.call_gateway(checkout_payload()) == []  # a checkout before the merchant reattached
        code = services.issue_reattach_code(old_merchant_id, actor="test")
        db.session.commit()
        assert reattach(client, module_session(claimant), code).status_code == 303
        event = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="shopware.retired_shop_reattached")
        ).one()
        assert event.details["dropped"] == "merchant"
        assert event.details["dropped_rows"] == {"risk_checks": 1, "gateway_decisions": 1, "risk_policies": 1}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskCheck)) == 0
        assert db.session.get(ShopConnection, old_connection_id).merchant_id == old_merchant_id

    def test_the_overview_offers_the_reattach_only_without_receivables(self, client, retired, claimant):
        token = module_session(claimant)
        offer = "Daten einer früheren Installation übernehmen"
        assert offer in client.get("/console/", query_string={"session_token": token}).get_data(as_text=True)
        assert services.has_receivables(stored_shop(claimant.shop_id).connection.merchant_id) is False
        make_receivable(stored_shop(claimant.shop_id).connection, "0190d1e3b4a5c6d7e8f9a0b1c2d3e4ab")
        db.session.commit()
        page = client.get("/console/", query_string={"session_token": token}).get_data(as_text=True)
        assert offer not in page
        assert services.has_receivables(stored_shop(claimant.shop_id).connection.merchant_id) is True

    def test_a_registration_with_receivables_of_its_own_is_not_merged(self, client, retired, claimant):
        _, _, old_merchant_id, _ = retired
        code = services.issue_reattach_code(old_merchant_id, actor="test")
        db.session.commit()
        make_receivable(stored_shop(claimant.shop_id).connection, "0190d1e3b4a5c6d7e8f9a0b1c2d3e4aa")
        answer = reattach(client, module_session(claimant), code)
        assert answer.status_code == 409
        assert stored_shop(claimant.shop_id).connection.merchant_id != old_merchant_id

    @pytest.mark.parametrize(
        "merchant_part",
        ["\u00b2", "\u0663", "1" * 24, "0" * 10 + "1", "", "-1"],
        ids=["superscript-two", "arabic-indic-three", "24-digits", "too-long", "empty", "negative"],
    )
    def test_a_code_with_a_malformed_merchant_part_is_the_wrong_code(
        self, client, retired, claimant, merchant_part
    ):
        _, _, old_merchant_id, _ = retired
        code = services.issue_reattach_code(old_merchant_id, actor="test")
        db.session.commit()
        forged = merchant_part + "-" + code.partition("-")[2]
        answer = reattach(client, module_session(claimant), forged)
        assert answer.status_code == 422
        assert stored_shop(claimant.shop_id).connection.merchant_id != old_merchant_id

    def test_an_expired_code_is_refused(self, client, retired, claimant):
        _, _, old_merchant_id, _ = retired
        code = services.issue_reattach_code(old_merchant_id, actor="test", now=utcnow() - timedelta(days=8))
        db.session.commit()
        assert reattach(client, module_session(claimant), code).status_code == 422

    def test_only_a_merchant_with_an_uninstalled_shop_gets_a_code(self, app, shop):
        merchant_id = stored_shop(shop.shop_id).connection.merchant_id
        result = app.test_cli_runner().invoke(
            main, ["shopware", "reattach-code", "--merchant", str(merchant_id)]
        )
        assert result.exit_code != 0
        assert "no uninstalled Shopware shop" in result.output

    def test_the_old_shops_console_shows_a_code_once(self, client, retired):
        _, old_connection_id, old_merchant_id, _ = retired
        token = console_sessions.start_session(
            old_merchant_id, user_name="Anna", language="de", channel=console_sessions.CHANNEL_LINK
        ).token
        answer = client.post("/console/shopware/reattach-code", data={"session_token": token})
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        code = html.split('id="reattach-code-value">', 1)[1].split("<", 1)[0]
        assert code.startswith(f"{old_merchant_id}-")
        assert db.session.get(ShopConnection, old_connection_id).status == "disabled"  # nothing moved yet
        assert "shopware.reattach_code_issued" in audit_actions(old_merchant_id)
