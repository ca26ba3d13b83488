"""The WooCommerce side against a real shop: WordPress 6.1 + WooCommerce 7.9 with MariaDB, on both storages.

Runs where a built WooCommerce release tree is named by ``CLAIMBRIDGE_WOOCOMMERCE_DIR`` (CI sets it); the
shop is installed once per module with the plugin's scripts and switched between posts storage and HPOS.
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from backend.dates import berlin_today
from backend.dunning.evaluation import queue_due_notices
from backend.dunning.models import DunningNotice
from backend.dunning.receivable_claims import claim_on
from backend.dunning.shop_channel import send_shop_reminders
from backend.dunning.stops import dunning_blocker
from backend.merchants.connectors import connector_for
from backend.merchants.models import ShopConnection
from backend.orders.services import process_order_sync_requests, reconcile_all_connections
from backend.receivables.models import Receivable
from backend.woocommerce.models import WooCommerceConnectSession
from backend.woocommerce.services import reconcile_shops
from connectors.shops.woocommerce import WEBHOOK_TOPICS
from tests.dunning.factories import set_payment_details
from tests.fakes.server import FakeServer
from tests.woocommerce.real_shop import WOOCOMMERCE_DIR_ENV, RealShop, real_shop

CONNECT_SCOPES = "settings:write orders:write"
SHOP_SCHEDULE = {
    "stages": [
        {"kind": "reminder", "offset_days": 7, "fee": "0.00", "payment_deadline_days": 7, "channel": "shop"},
        {
            "kind": "final_notice",
            "offset_days": 28,
            "fee": "0.00",
            "payment_deadline_days": 7,
            "channel": "none",
        },
    ]
}


@pytest.fixture(scope="module")
def installed_shop() -> Iterator[RealShop]:
    woocommerce_dir = os.environ.get(WOOCOMMERCE_DIR_ENV)
    if not woocommerce_dir:
        pytest.skip(f"{WOOCOMMERCE_DIR_ENV} names no WooCommerce release tree (CI sets it where one exists)")
    with real_shop(woocommerce_dir) as shop:
        yield shop


@pytest.fixture(params=["posts", "hpos"])
def shop(request, installed_shop, backend_server) -> RealShop:
    """The real shop on one storage, allowed to deliver to the backend's port (``http_allowed_safe_ports``)."""
    installed_shop.set_storage(request.param)
    assert installed_shop.storage() == request.param
    installed_shop.allow_port(backend_server.port)
    installed_shop.set_plugin_active(True)
    return installed_shop


@pytest.fixture
def headers(merchant, auth_headers):
    return auth_headers(merchant, CONNECT_SCOPES)


@pytest.fixture
def connection_id(client, headers, shop) -> Iterator[int]:
    body = {"platform": "woocommerce", "shop_url": shop.url, "credentials": shop.credentials()}
    response = client.post("/api/v1/connections", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    connection_id = response.get_json()["id"]
    yield connection_id
    # Leave the shop without our webhooks for the next test (its backend will be gone).
    client.delete(f"/api/v1/connections/{connection_id}", headers=headers)


def receivable_of(db, order_id) -> Receivable:
    db.session.expire_all()
    return db.session.scalar(sa.select(Receivable).filter_by(external_id=str(order_id)))


def test_connecting_registers_pinged_webhooks_and_finds_the_plugin(client, headers, shop, connection_id):
    body = client.get(f"/api/v1/connections/{connection_id}", headers=headers).get_json()
    assert [(w["topic"], w["status_in_shop"], w["ping_received"]) for w in body["webhooks"]] == [
        (topic, "active", True) for topic in WEBHOOK_TOPICS
    ]
    assert body["problems"] == []


def test_a_url_that_is_not_the_home_url_is_named(client, headers, shop):
    url = shop.url.replace("127.0.0.1", "localhost")
    body = {"platform": "woocommerce", "shop_url": url, "credentials": shop.credentials()}
    response = client.post("/api/v1/connections", json=body, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"] == "shop_url_mismatch"


def test_only_placed_invoice_orders_become_receivables(db, shop, connection_id):
    placed = shop.create_order(status="on-hold")
    never_placed = shop.create_order(status="pending")
    failed = shop.create_order(status="failed")
    reconcile_all_connections()
    assert receivable_of(db, placed).state == "open"
    assert receivable_of(db, never_placed) is None
    assert receivable_of(db, failed) is None


def test_a_partial_refund_lowers_the_claim(db, shop, connection_id):
    order_id = shop.create_order(total="89.90", days_ago=30)
    reconcile_all_connections()
    shop.refund(order_id, "44.95")
    shop.run_queue()  # order.updated fires on woocommerce_order_refunded
    process_order_sync_requests()
    reconcile_all_connections()
    receivable = receivable_of(db, order_id)
    assert (receivable.credited_amount, receivable.balance) == (Decimal("44.95"), Decimal("44.95"))
    assert claim_on(receivable, berlin_today()).principal_outstanding == Decimal("44.95")


def test_trash_stops_dunning_restore_reopens_deletion_cancels(db, shop, connection_id):
    order_id = shop.create_order()
    reconcile_all_connections()
    shop.trash(order_id)
    shop.run_queue()  # posts storage delivers order.deleted; HPOS (7.9) sends nothing
    process_order_sync_requests()
    reconcile_all_connections()
    trashed = receivable_of(db, order_id)
    assert (trashed.state, trashed.platform_state) == ("cancelled", "trash")
    assert dunning_blocker(trashed) is not None

    shop.restore(order_id)
    shop.run_queue()
    process_order_sync_requests()
    reconcile_all_connections()
    assert receivable_of(db, order_id).state == "open"

    shop.delete(order_id)
    reconcile_all_connections()
    deleted = receivable_of(db, order_id)
    assert (deleted.state, deleted.platform_state) == ("cancelled", "deleted")


def test_a_new_key_keeps_every_receivable_single(client, db, headers, shop, connection_id):
    shop.create_order()
    reconcile_all_connections()
    new_key = shop.php(
        """
        global $wpdb;
        $ck = 'ck_' . wc_rand_hash(); $cs = 'cs_' . wc_rand_hash();
        $wpdb->insert( $wpdb->prefix . 'woocommerce_api_keys', array( 'user_id' => 1, 'description' => 'new',
            'permissions' => 'read_write', 'consumer_key' => wc_api_hash( $ck ), 'consumer_secret' => $cs,
            'truncated_key' => substr( $ck, -7 ) ) );
        echo wp_json_encode( array( 'consumer_key' => $ck, 'consumer_secret' => $cs ) );
        """
    )
    response = client.patch(
        f"/api/v1/connections/{connection_id}", json={"credentials": new_key}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    reconcile_all_connections()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopConnection)) == 1
    counts = db.session.execute(
        sa.select(Receivable.external_id, sa.func.count()).group_by(Receivable.external_id)
    ).all()
    assert counts and {count for _, count in counts} == {1}
    ours = [
        hook for hook in shop.webhooks() if f"/woocommerce/webhooks/{connection_id}/" in hook["delivery_url"]
    ]
    assert sorted(hook["topic"] for hook in ours) == sorted(WEBHOOK_TOPICS)


def test_a_webhook_outage_heals_itself(db, shop, connection_id, backend_server):
    order_id = shop.create_order()
    reconcile_all_connections()
    backend_server.fail_next(20, status=503, path="/woocommerce/webhooks")
    for n in range(7):  # each a separate change, each delivery failing
        shop.php(
            f"$o = wc_get_order( {order_id} ); $o->set_customer_note( 'change {n}' ); $o->save(); echo 1;"
        )
        shop.run_queue()
    backend_server.clear_faults()
    updated = next(
        h
        for h in shop.webhooks()
        if h["topic"] == "order.updated" and f"/{connection_id}/" in h["delivery_url"]
    )
    assert updated["status"] == "disabled"

    reconcile_shops()
    healed = next(h for h in shop.webhooks() if h["id"] == updated["id"])
    assert healed["status"] == "active"


def test_backend_meta_is_protected_in_the_shops_storage(db, shop, connection_id):
    order_id = shop.create_order()
    connection = db.session.get(ShopConnection, connection_id)
    connector = connector_for(connection)
    connector.write_case_fields(str(order_id), {"claimbridge_case_status": "dunning"})
    connector.close()
    rows = shop.meta_rows(order_id)
    assert rows["_claimbridge_case_status"] == {"value": "dunning", "protected": True}


def test_shop_channel_delivers_through_the_plugin_or_is_refused(
    client, db, merchant, headers, shop, connection_id
):
    set_payment_details(merchant)
    schedule = {"consumer": SHOP_SCHEDULE, "business": SHOP_SCHEDULE}
    saved = client.put("/api/v1/dunning-schedule", json=schedule, headers=headers)
    assert saved.status_code == 200, saved.get_json()
    order_id = shop.create_order(total="89.90", days_ago=30)
    reconcile_all_connections()
    assert receivable_of(db, order_id).due_date < berlin_today()
    queue_due_notices()
    assert send_shop_reminders().endswith(" done")  # orders of earlier tests are due in this shop too
    notice = db.session.scalars(
        sa.select(DunningNotice).filter_by(receivable_id=receivable_of(db, order_id).id)
    ).one()
    assert notice.status == "sent" and notice.message_id
    mail = shop.last_email()
    assert mail["to"] == "juergen@example.org" or "juergen@example.org" in mail["to"]

    shop.set_plugin_active(False)
    response = client.put("/api/v1/dunning-schedule", json=schedule, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"] == "shop_channel_unavailable"


@pytest.mark.parametrize("shop", ["hpos"], indirect=True)
def test_one_click_connect_runs_wc_auth_end_to_end_over_tls(
    app, client, db, merchant, headers, create_credentials, shop, monkeypatch
):
    """The merchant presses Connect, approves in WooCommerce, and WooCommerce posts the key over https."""
    with FakeServer(app, tls=True) as backend:  # WooCommerce refuses a callback_url that is not https
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_PUBLIC_URL", backend.url)
        shop.allow_port(backend.port)
        shop.trust_tls(backend.url, backend.ca_path)
        shop.configure_plugin(
            backend.url, *create_credentials(merchant, "risk:check connections:write handovers:read")
        )
        browser = shop.admin_session()
        settings = browser.get(f"{shop.url}/wp-admin/admin.php?page=wc-settings&tab=claimbridge", timeout=60)
        link = re.search(r'href="([^"]*action=claimbridge_connect[^"]*)"', settings.text)
        assert link, (settings.status_code, settings.url, re.sub(r"<[^>]+>", " ", settings.text)[-3000:])
        connect = html.unescape(link[1])

        authorize = browser.get(connect, allow_redirects=False, timeout=60).headers["Location"]
        assert authorize.startswith(f"{shop.url}/wc-auth/v1/authorize?")
        assert parse_qs(urlsplit(authorize).query)["callback_url"] == [
            f"{backend.url}/woocommerce/auth/callback"
        ]
        approval = browser.get(authorize, timeout=60)
        approve = html.unescape(re.search(r'href="([^"]*wc-auth/v1/access_granted[^"]*)"', approval.text)[1])
        granted = browser.get(approve, allow_redirects=False, timeout=120)
        assert granted.status_code == 302, granted.text[-2000:]
        assert "claimbridge-connected=1" in granted.headers["Location"]
        assert "success=1" in granted.headers["Location"]

        session = _connect_session_done(db)
        assert session.status == "connected", session.error
        connection = db.session.get(ShopConnection, session.connection_id)
        assert (connection.shop_url, connection.status) == (shop.url, "active")
        delivering = {
            hook["topic"]
            for hook in shop.webhooks()
            if hook["delivery_url"].startswith(f"{backend.url}/woocommerce/webhooks/{connection.id}/")
        }
        assert delivering == set(WEBHOOK_TOPICS)
        client.delete(f"/api/v1/connections/{connection.id}", headers=headers)  # leave the shop without them


def _connect_session_done(db) -> WooCommerceConnectSession:
    """Wait for the backend to finish the connect it completes right after answering WooCommerce."""
    for _ in range(600):
        db.session.expire_all()
        session = db.session.scalars(sa.select(WooCommerceConnectSession)).one()
        if session.status not in ("open", "received"):
            return session
        time.sleep(0.1)
    raise AssertionError(f"the connect session is still {session.status}")
