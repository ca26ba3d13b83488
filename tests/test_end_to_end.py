"""The whole loop for a Shopware shop, through the real app, worker jobs and local protocol doubles.

A shop installs the app, an invoice order is placed and never paid; it is dunned by e-mail on the right days,
proposed for handover, approved in the Shopware Administration, handed to the built-in agency exactly once,
and what the agency reports comes back into the shop order (from ``reminded``, under each version's transition
names). Deleting the app purges the shop where Shopware says so (6.6.9+), and keeps it where the shop cannot
say (``[]`` before 6.6.9). Played as a Shopware 6.6.4 and a 6.7 shop.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from backend.auth.services import create_client
from backend.cases.models import AgencyCase
from backend.dunning.evaluation import queue_due_notices
from backend.dunning.models import DunningNotice
from backend.dunning.sending import send_queued_notices
from backend.extensions import db
from backend.handovers.mirroring import poll_submitted_handovers
from backend.handovers.models import Handover
from backend.handovers.proposals import propose_handovers
from backend.handovers.submission import submit_approved_handovers
from backend.merchants.models import Merchant
from backend.orders.services import process_order_sync_requests
from backend.receivables.models import Receivable
from backend.shopware.services import dispatch_order_events
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.shopware_shop import ShopSimulator, wsgi_transport
from tests.fakes.smtp import FakeSmtpServer
from tests.handovers.conftest import drain_shop_updates

APP_SECRET = "end-to-end-app-secret-0123456789abcdef"
ORDERED = datetime(2025, 5, 2, 9, 30, tzinfo=UTC)  # invoice 2 May 2025, due 16 May (14 days)


@pytest.fixture
def smtp(app, monkeypatch):
    with FakeSmtpServer() as server:
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_SMTP_URL", server.url())
        monkeypatch.setitem(
            app.config, "CLAIMBRIDGE_MAIL_FROM", "ClaimBridge <mahnwesen@claimbridge.example>"
        )
        yield server


@pytest.fixture(params=["6.6.4.0", "6.7.0.0"])
def shop(request, app, client, monkeypatch):
    """A Shopware shop of each version (Admin API on loopback) that has installed the app."""
    monkeypatch.setitem(app.config, "CLAIMBRIDGE_SHOPWARE_APP_SECRET", APP_SECRET)
    simulator = ShopSimulator(wsgi_transport(client), app_secret=APP_SECRET, sw_version=request.param)
    admin = FakeShopwareAdmin(
        client_id=simulator.api_key, client_secret=simulator.secret_key, version=request.param
    )
    with admin.serve() as server:
        simulator.shop_url = server.url
        simulator.register()
        yield simulator, admin


def _merchant_headers(
    client, merchant_id: int, scopes: str = "settings:write handovers:read handovers:write"
) -> dict[str, str]:
    new = create_client(merchant_id, scopes, actor="test")
    db.session.commit()
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(new.client.client_id, new.client_secret),
    ).get_json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _run_days(first: date, last: date) -> None:
    day = first
    while day <= last:
        queue_due_notices(day)
        send_queued_notices(day)
        day += timedelta(days=1)


def test_unpaid_shopware_order_goes_from_checkout_to_collection_and_back(app, client, shop, smtp):
    simulator, admin = shop
    merchant = db.session.scalars(sa.select(Merchant)).one()
    headers = _merchant_headers(client, merchant.id)
    settings = {"payment_details": {"account_holder": "Beispiel Shop GmbH", "iban": "DE89370400440532013000"}}
    assert client.put("/api/v1/dunning-settings", json=settings, headers=headers).status_code == 200
    creditor = {"street": "Hafenstraße", "house_number": "5", "postal_code": "20457", "city": "Hamburg"}
    rules = client.put("/api/v1/handover-rules", json={"creditor_address": creditor}, headers=headers)
    assert rules.status_code == 200, rules.get_json()

    # The order is placed; the webhook only queues a re-fetch, the worker brings the order in.
    order_id = admin.add_order(total="238.00", created_at=ORDERED, email="lena.fischer@example.org")
    answer = simulator.send(
        simulator.webhook_request("checkout.order.placed", {"order": admin.order(order_id)})
    )
    assert answer.status < 300
    dispatch_order_events()
    process_order_sync_requests()
    db.session.commit()
    receivable = db.session.scalars(sa.select(Receivable)).one()
    assert (receivable.external_id, receivable.due_date, receivable.state) == (
        order_id,
        date(2025, 5, 16),
        "open",
    )

    # Nobody pays: reminder, Mahnung and final notice arrive by e-mail, each once.
    _run_days(date(2025, 5, 16), date(2025, 7, 10))
    kinds = [n.kind for n in db.session.scalars(sa.select(DunningNotice).order_by(DunningNotice.id))]
    assert kinds == ["reminder", "dunning", "final_notice"]
    assert len(smtp.messages) == 3
    assert [list(message.rcpt_tos) for message in smtp.messages] == [["lena.fischer@example.org"]] * 3

    # Past the final notice's deadline the order becomes a proposal, shown in the Administration.
    propose_handovers(date(2025, 7, 10))
    db.session.commit()
    handover = db.session.scalars(sa.select(Handover)).one()
    assert handover.status == "proposed"
    opened = simulator.open_iframe()
    assert opened.status == 303  # into the merchant console
    listing = client.get(opened.header("Location"))
    assert listing.status_code == 200
    handovers_link = re.search(r'href="(/console/handovers\?[^"]+)"', listing.get_data(as_text=True)).group(1)
    html = client.get(handovers_link.replace("&amp;", "&")).get_data(as_text=True)
    assert f'name="ids" value="{handover.id}"' in html
    token = re.search(r'name="session_token" value="([^"]+)"', html).group(1)
    decision = client.post(
        "/console/handovers/decide",
        data={"session_token": token, "decision": "approve", "ids": [handover.id]},
    )
    assert decision.status_code == 303

    # Handed over exactly once, even when the submission job runs again.
    submit_approved_handovers()
    submit_approved_handovers()
    db.session.expire_all()
    cases = db.session.scalars(sa.select(AgencyCase)).all()
    assert len(cases) == 1
    assert db.session.get(Receivable, receivable.id).state == "in_collection"

    # The merchant marked the payment reminded in the Administration; the agency reports a stage and a partial
    # payment; both land in the shop order (pay_partially on 6.6, paid_partially on 6.7).
    admin.order(order_id)["transactions"][0]["stateMachineState"] = {"technicalName": "reminded"}
    agency_staff = _merchant_headers(client, merchant.id, "cases:write")
    listed = client.get("/api/v1/agency/cases", headers=agency_staff).get_json()
    assert [case["id"] for case in listed["items"]] == [cases[0].id]
    event = {
        "legal_stage": "extrajudicial",
        "processing_state": "in_progress",
        "payment": {"amount": "100.00"},
    }
    reported = client.post(f"/api/v1/agency/cases/{cases[0].id}/events", json=event, headers=agency_staff)
    assert reported.status_code in (200, 201), reported.get_json()
    poll_submitted_handovers()
    drain_shop_updates()
    order = admin.order(order_id)
    assert order["customFields"]["claimbridge_case_status"]
    assert order["customFields"]["claimbridge_case_id"]
    assert admin.payment_state(order_id) == "paid_partially"

    # Deleting the app without keeping data: 6.7 says so and the shop is purged; 6.6.4 sends [] whatever the
    # merchant chose, so the shop is retired with its data kept.
    assert simulator.send(simulator.lifecycle_request("app.deleted", keep_user_data=False)).status < 300
    db.session.expire_all()
    kept = 0 if simulator.sw_version.startswith("6.7") else 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Merchant)) == kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Receivable)) == kept
