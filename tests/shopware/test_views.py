"""The Shopware app server endpoints, driven by the shop simulator through the real app."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.console import sessions as console_sessions
from backend.crypto import decrypt_text
from backend.extensions import db
from backend.jobs import periodic_jobs
from backend.merchants.models import Merchant, ShopConnection
from backend.orders.models import OrderSyncRequest
from backend.shopware import after_order, services
from backend.shopware.models import ShopwareEvent
from tests.fakes.shopware_shop import (
    APP_SIGNATURE_HEADER,
    SHOP_SIGNATURE_HEADER,
    ShopRejectedResponse,
    ShopRequest,
    ShopSimulator,
    sign,
)
from tests.shopware.conftest import APP_SECRET, shifted_clock, stored_shop

ORDER_ID = "0190d1e3b4a5c6d7e8f9a0b1c2d3e4f5"
# Played as real shops: 6.6.4 (login-signed modules, no keepUserData), 6.6.8 (no keepUserData), 6.7 (dual signature).
SHOPWARE_VERSIONS = ("6.6.4.0", "6.6.8.0", "6.7.0.0")
STALE = timedelta(minutes=6)


def order_payload(order_id: str = ORDER_ID) -> dict:
    return {"order": {"id": order_id, "orderNumber": "10001", "amountTotal": 119.0}}


def audit_actions(merchant_id: int | None = None) -> list[str]:
    query = sa.select(AuditEvent.action).order_by(AuditEvent.id)
    if merchant_id is not None:
        query = query.where(AuditEvent.merchant_id == merchant_id)
    return list(db.session.scalars(query))


def error_of(answer) -> str:
    return answer.json()["error"]


class TestRegistration:
    def test_new_shop_becomes_a_merchant_with_an_active_connection(self, shop):
        row = stored_shop(shop.shop_id)
        connection = row.connection
        assert connection.platform == "shopware"
        assert connection.status == "active"
        assert connection.shop_url == shop.shop_url
        assert db.session.get(Merchant, connection.merchant_id).name == "shop.example"
        assert decrypt_text(row.secret_encrypted) == shop.shop_secret
        assert shop.shop_secret not in row.secret_encrypted
        assert json.loads(decrypt_text(connection.credentials_encrypted)) == {
            "api_key": shop.api_key,
            "secret_key": shop.secret_key,
        }
        assert row.pending_secret_encrypted is None
        assert row.shopware_version == shop.sw_version
        assert "shopware.registered" in audit_actions(connection.merchant_id)

    def test_secret_stays_pending_until_confirmed(self, make_shop, shopware_app):
        shop = make_shop()
        answer = shop.send(shop.registration_request())
        assert answer.status == 200
        body = answer.json()
        assert body["proof"] == shop.expected_proof()
        assert (
            body["confirmation_url"]
            == shopware_app.config["CLAIMBRIDGE_PUBLIC_URL"] + "/shopware/register/confirm"
        )
        assert len(body["secret"]) >= 64
        row = stored_shop(shop.shop_id)
        assert row.connection.status == "pending"
        assert row.secret_encrypted is None
        assert decrypt_text(row.pending_secret_encrypted) == body["secret"]
        shop.shop_secret = body["secret"]
        assert shop.send(shop.webhook_request("checkout.order.placed", order_payload())).status == 404

    def test_query_re_encoded_on_the_way_still_verifies(self, make_shop):
        shop = make_shop()
        timestamp = str(shop.timestamp())
        signed = f"shop-id={shop.shop_id}&shop-url={shop.shop_url}&timestamp={timestamp}"
        encoded = f"shop-id={shop.shop_id}&shop-url={quote(shop.shop_url, safe='')}&timestamp={timestamp}"
        headers = {APP_SIGNATURE_HEADER: sign(APP_SECRET, signed)}
        assert shop.send(ShopRequest("GET", f"/shopware/register?{encoded}", headers)).status == 200

    def test_wrong_app_secret_is_refused(self, make_shop):
        impostor = make_shop(app_secret="guessed-" + APP_SECRET)
        answer = impostor.send(impostor.registration_request())
        assert (answer.status, error_of(answer)) == (401, "invalid_signature")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Merchant)) == 0

    def test_missing_signature_is_refused(self, make_shop):
        shop = make_shop()
        request = shop.registration_request()
        del request.headers[APP_SIGNATURE_HEADER]
        answer = shop.send(request)
        assert (answer.status, error_of(answer)) == (401, "missing_signature")

    def test_stale_timestamp_is_refused(self, make_shop):
        shop = make_shop(clock=shifted_clock(-STALE))
        answer = shop.send(shop.registration_request())
        assert (answer.status, error_of(answer)) == (401, "stale_timestamp")

    def test_query_without_shop_url_is_malformed(self, make_shop):
        shop = make_shop()
        query = f"shop-id={shop.shop_id}&timestamp={shop.timestamp()}"
        request = ShopRequest(
            "GET", f"/shopware/register?{query}", {APP_SIGNATURE_HEADER: sign(APP_SECRET, query)}
        )
        assert shop.send(request).status == 422

    def test_server_without_app_secret_refuses_registration(self, make_shop, shopware_app, monkeypatch):
        monkeypatch.setitem(shopware_app.config, "CLAIMBRIDGE_SHOPWARE_APP_SECRET", None)
        shop = make_shop()
        answer = shop.send(shop.registration_request())
        assert (answer.status, error_of(answer)) == (503, "shopware_not_configured")

    def test_tampered_confirmation_is_refused_and_shop_stays_pending(self, make_shop):
        shop = make_shop()
        body = shop.send(shop.registration_request()).json()
        confirmation = shop.confirmation_request(body["confirmation_url"], body["secret"])
        confirmation.body = confirmation.body.replace(shop.api_key.encode(), b"SWIAFORGED")
        assert shop.send(confirmation).status == 401
        row = stored_shop(shop.shop_id)
        assert (row.connection.status, row.connection.credentials_encrypted) == ("pending", None)

    def test_confirmation_of_unknown_shop_is_not_found(self, make_shop):
        shop = make_shop()
        answer = shop.send(shop.confirmation_request("https://x/shopware/register/confirm", "s" * 64))
        assert (answer.status, error_of(answer)) == (404, "unknown_shop")

    def test_confirmation_cannot_be_replayed(self, make_shop):
        shop = make_shop()
        body = shop.send(shop.registration_request()).json()
        confirmation = shop.confirmation_request(body["confirmation_url"], body["secret"])
        assert shop.send(confirmation).status == 204
        answer = shop.send(confirmation)
        assert (answer.status, error_of(answer)) == (401, "no_pending_registration")

    def test_late_confirmation_is_refused(self, make_shop):
        shop = make_shop()
        body = shop.send(shop.registration_request()).json()
        row = stored_shop(shop.shop_id)
        row.pending_since -= timedelta(minutes=11)
        db.session.commit()
        answer = shop.send(shop.confirmation_request(body["confirmation_url"], body["secret"]))
        assert (answer.status, error_of(answer)) == (401, "no_pending_registration")

    def test_confirmed_url_must_match_the_registration(self, make_shop):
        shop = make_shop()
        body = shop.send(shop.registration_request()).json()
        shop.shop_url = "https://elsewhere.example"
        assert shop.send(shop.confirmation_request(body["confirmation_url"], body["secret"])).status == 422

    def test_confirmation_body_that_is_not_json_is_malformed(self, make_shop):
        shop = make_shop()
        request = ShopRequest("POST", "/shopware/register/confirm", {SHOP_SIGNATURE_HEADER: "0" * 64}, b"{no")
        assert shop.send(request).status == 422


class TestReRegistration:
    def test_previous_secret_is_honoured_for_60_seconds(self, shop):
        old_secret = shop.shop_secret
        shop.register()
        assert shop.shop_secret != old_secret
        late = shop.webhook_request("checkout.order.placed", order_payload())
        late.headers[SHOP_SIGNATURE_HEADER] = sign(old_secret, late.body)
        assert shop.send(late).status == 204

        row = stored_shop(shop.shop_id)
        row.secret_rotated_at -= timedelta(seconds=61)
        db.session.commit()
        later = shop.webhook_request("checkout.order.placed", order_payload())
        later.headers[SHOP_SIGNATURE_HEADER] = sign(old_secret, later.body)
        assert shop.send(later).status == 401
        assert shop.send(shop.webhook_request("checkout.order.placed", order_payload())).status == 204

    def test_re_registration_keeps_the_merchant_and_audits_it(self, shop):
        merchant_id = stored_shop(shop.shop_id).connection.merchant_id
        shop.register()
        assert stored_shop(shop.shop_id).connection.merchant_id == merchant_id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Merchant)) == 1
        assert audit_actions(merchant_id)[-1] == "shopware.re_registered"

    @pytest.mark.parametrize("version", SHOPWARE_VERSIONS)
    def test_url_change_re_registers_and_keeps_working(self, make_shop, version):
        shop = make_shop(sw_version=version)
        shop.register()
        merchant_id = stored_shop(shop.shop_id).connection.merchant_id
        shop.register()  # a key rotation: a dual-signature shop proves itself from here on
        shop.shop_url = "https://moved.example"
        shop.register()  # app:url-change:resolve MoveShopPermanently
        row = stored_shop(shop.shop_id)
        assert (row.connection.shop_url, row.connection.merchant_id) == ("https://moved.example", merchant_id)
        assert row.dual_signature is shop.dual_signature
        assert shop.send(shop.webhook_request("checkout.order.placed", order_payload())).status == 204
        assert shop.open_iframe().status == 303  # the module opens the console

    def test_6_6_shop_is_not_bricked_by_re_registration(self, make_shop):
        shop = make_shop(sw_version="6.6.8.0")
        shop.register()
        shop.register()  # switched to the new secret before confirming, and never signs twice
        assert shop.send(shop.lifecycle_request("app.activated")).status == 204

    def test_dual_signature_shop_cannot_be_taken_over_without_its_secret(self, make_shop):
        shop = make_shop(sw_version="6.7.0.0")
        shop.register()
        shop.register()
        impostor = make_shop(shop_id=shop.shop_id, shop_url="https://attacker.example", sw_version="6.6.8.0")
        with pytest.raises(ShopRejectedResponse, match="HTTP 401"):
            impostor.register()
        forged = impostor.registration_request()
        forged.headers[SHOP_SIGNATURE_HEADER] = sign("guessed", forged.path.split("?", 1)[1])
        assert impostor.send(forged).status == 401
        row = stored_shop(shop.shop_id)
        assert row.connection.shop_url == shop.shop_url
        assert decrypt_text(row.secret_encrypted) == shop.shop_secret
        assert shop.send(shop.webhook_request("checkout.order.placed", order_payload())).status == 204

    def test_a_sent_shop_signature_is_verified_even_the_first_time(self, shop):
        forged = shop.registration_request()
        forged.headers[SHOP_SIGNATURE_HEADER] = sign("guessed", forged.path.split("?", 1)[1])
        assert shop.send(forged).status == 401
        assert stored_shop(shop.shop_id).dual_signature is False

    def test_pending_re_registration_leaves_the_current_secret_working(self, shop):
        shop.send(shop.registration_request())
        assert shop.send(shop.lifecycle_request("app.activated")).status == 204
        assert stored_shop(shop.shop_id).connection.shop_url == shop.shop_url

    def test_moved_shop_re_registers_with_its_new_url(self, shop):
        merchant_id = stored_shop(shop.shop_id).connection.merchant_id
        shop.shop_url = "https://new-domain.example"
        shop.register()
        row = stored_shop(shop.shop_id)
        assert (row.connection.shop_url, row.connection.merchant_id) == (
            "https://new-domain.example",
            merchant_id,
        )
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "shopware.re_registered")
        ).one()
        assert event.details["previous_shop_url"] == "https://shop.example"


class TestLifecycle:
    def test_activation_and_deactivation_follow_the_shop(self, shop):
        assert shop.send(shop.lifecycle_request("app.installed")).status == 204
        assert stored_shop(shop.shop_id).app_state == "installed"
        shop.send(shop.lifecycle_request("app.activated"))
        row = stored_shop(shop.shop_id)
        assert (row.app_state, row.connection.status) == ("active", "active")
        shop.send(shop.lifecycle_request("app.deactivated", timestamp=shop.timestamp() + 1))
        row = stored_shop(shop.shop_id)
        assert (row.app_state, row.connection.status) == ("deactivated", "disabled")

    def test_late_retry_does_not_undo_a_newer_event(self, shop):
        activated = shop.lifecycle_request("app.activated")
        assert shop.send(activated).status == 204
        shop.send(shop.lifecycle_request("app.deactivated", timestamp=shop.timestamp() + 2))
        assert shop.send(activated).status == 204
        assert stored_shop(shop.shop_id).app_state == "deactivated"

    def test_installation_does_not_undo_activation_in_the_same_second(self, shop):
        now = shop.timestamp()
        installed = shop.lifecycle_request("app.installed", timestamp=now)
        shop.send(shop.lifecycle_request("app.activated", timestamp=now))
        shop.send(installed)
        assert stored_shop(shop.shop_id).app_state == "active"

    def test_update_records_the_app_version(self, shop):
        shop.app_version = "1.1.0"
        assert shop.send(shop.lifecycle_request("app.updated")).status == 204
        assert stored_shop(shop.shop_id).app_version == "1.1.0"

    def test_unsigned_and_stale_events_are_refused(self, shop):
        unsigned = shop.lifecycle_request("app.deleted")
        del unsigned.headers[SHOP_SIGNATURE_HEADER]
        assert shop.send(unsigned).status == 401
        shop.clock = shifted_clock(-STALE)
        answer = shop.send(shop.lifecycle_request("app.deleted"))
        assert (answer.status, error_of(answer)) == (401, "stale_timestamp")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Merchant)) == 1

    @pytest.mark.parametrize("version", SHOPWARE_VERSIONS)
    def test_uninstall_with_keep_data_keeps_it_on_every_version(self, make_shop, version):
        shop = make_shop(sw_version=version)
        shop.register()
        merchant_id = stored_shop(shop.shop_id).connection.merchant_id
        assert shop.send(shop.lifecycle_request("app.deleted", keep_user_data=True)).status == 204
        row = stored_shop(shop.shop_id)
        assert (row.app_state, row.connection.merchant_id) == ("deleted", merchant_id)

    def test_absent_keep_user_data_retires_and_false_purges(self, shop):
        retired = shop.webhook_request("app.deleted", [], path="/shopware/lifecycle")
        assert shop.send(retired).status == 204
        assert stored_shop(shop.shop_id).app_state == "deleted"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Merchant)) == 1

    def test_retired_shop_is_not_handed_to_a_registration_from_another_url(self, make_shop):
        shop = make_shop(sw_version="6.6.8.0")
        shop.register()
        old = stored_shop(shop.shop_id).connection
        merchant_id, connection_id = old.merchant_id, old.id
        shop.send(shop.lifecycle_request("app.deleted"))  # 6.6.8: [] whatever the merchant chose

        claimant = make_shop(shop_id=shop.shop_id, shop_url="https://elsewhere.example", sw_version="6.6.8.0")
        claimant.register()
        row = stored_shop(shop.shop_id)
        assert row.connection.merchant_id != merchant_id and row.connection_id != connection_id
        kept = db.session.get(ShopConnection, connection_id)
        assert (kept.merchant_id, kept.shop_id, kept.status) == (merchant_id, None, "disabled")
        assert "shopware.retired_shop_released" in audit_actions(merchant_id)

    def test_deleted_with_keep_user_data_keeps_the_merchant_and_allows_reinstall(self, shop):
        shop.send(shop.webhook_request("checkout.order.placed", order_payload()))
        row = stored_shop(shop.shop_id)
        merchant_id, connection_id = row.connection.merchant_id, row.connection_id
        assert shop.send(shop.lifecycle_request("app.deleted", keep_user_data=True)).status == 204

        row = stored_shop(shop.shop_id)
        assert (row.app_state, row.connection.status) == ("deleted", "disabled")
        assert row.secret_encrypted is None and row.connection.credentials_encrypted is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopwareEvent)) == 1
        assert shop.send(shop.webhook_request("checkout.order.placed", order_payload())).status == 404

        shop.shop_secret = None  # a reinstalled app has no secret to sign the previous signature with
        shop.register()
        row = stored_shop(shop.shop_id)
        assert (row.connection_id, row.connection.merchant_id) == (connection_id, merchant_id)
        assert (row.app_state, row.connection.status) == ("registered", "active")

    def test_deleted_without_keep_user_data_purges_the_shop(self, shop, make_shop, create_merchant):
        other = make_shop(shop_url="https://other.example")
        other.register()
        bystander = create_merchant("Bystander GmbH")
        shop.send(shop.lifecycle_request("app.activated"))
        shop.send(shop.webhook_request("checkout.order.placed", order_payload()))
        other.send(other.webhook_request("checkout.order.placed", order_payload()))
        row = stored_shop(shop.shop_id)
        merchant_id, connection_id = row.connection.merchant_id, row.connection_id

        assert shop.send(shop.lifecycle_request("app.deleted")).status == 204

        db.session.expire_all()
        assert db.session.get(Merchant, merchant_id) is None
        for table in db.metadata.sorted_tables:
            for column, owner in (("merchant_id", merchant_id), ("connection_id", connection_id)):
                if column in table.c:
                    left = db.session.scalar(
                        sa.select(sa.func.count()).select_from(table).where(table.c[column] == owner)
                    )
                    assert left == 0, f"{table.name} keeps rows of the purged shop"
        assert stored_shop(other.shop_id).connection.status == "active"
        assert db.session.get(Merchant, bystander.id) is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopwareEvent)) == 1
        purge = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "shopware.shop_purged")
        ).one()
        assert purge.details == {"shop_id": shop.shop_id, "merchant_id": merchant_id, "deleted": "merchant"}
        assert shop.send(shop.webhook_request("checkout.order.placed", order_payload())).status == 404

    def test_purge_spares_a_merchant_with_other_shops(self, shop):
        row = stored_shop(shop.shop_id)
        merchant_id = row.connection.merchant_id
        db.session.add(
            ShopConnection(merchant_id=merchant_id, platform="woocommerce", shop_url="https://woo.example")
        )
        db.session.commit()
        assert shop.send(shop.lifecycle_request("app.deleted")).status == 204
        db.session.expire_all()
        assert db.session.get(Merchant, merchant_id) is not None
        platforms = db.session.scalars(sa.select(ShopConnection.platform).filter_by(merchant_id=merchant_id))
        assert list(platforms) == ["woocommerce"]

    def test_keep_user_data_must_be_a_boolean(self, shop):
        request = shop.webhook_request("app.deleted", {"keepUserData": "no"}, path="/shopware/lifecycle")
        assert shop.send(request).status == 422
        assert stored_shop(shop.shop_id).app_state == "registered"


class TestWebhooks:
    def test_a_webhook_records_the_versions_the_shop_reports(self, shop):
        shop.app_version, shop.sw_version = "1.2.0", "6.6.10.4"
        assert shop.send(shop.webhook_request("checkout.order.placed", order_payload())).status == 204
        db.session.expire_all()
        row = stored_shop(shop.shop_id)
        assert (row.app_version, row.shopware_version) == ("1.2.0", "6.6.10.4")

    @pytest.mark.parametrize("reported", ["6.6\x00", "6.6.10.4 \u202e", "6." + "1" * 60, "latest; DROP"])
    def test_a_version_header_that_is_no_version_is_not_stored(self, shop, reported):
        # PostgreSQL refuses NUL in text: stored, it failed the request after the event was accepted.
        shop.app_version, shop.sw_version = "1.2.0", "6.6.10.4"
        assert shop.send(shop.webhook_request("checkout.order.placed", order_payload())).status == 204
        request = shop.webhook_request("checkout.order.placed", order_payload())
        request.headers["sw-version"] = reported
        assert shop.send(request).status == 204
        db.session.expire_all()
        assert stored_shop(shop.shop_id).shopware_version == "6.6.10.4"

    def test_order_event_is_stored_for_the_worker(self, shop):
        answer = shop.send(shop.webhook_request("checkout.order.placed", order_payload(), event_id="e1"))
        assert (answer.status, answer.body) == (204, b"")
        event = db.session.scalars(sa.select(ShopwareEvent)).one()
        assert (event.event_id, event.event_name, event.order_id, event.status) == (
            "e1",
            "checkout.order.placed",
            ORDER_ID,
            "pending",
        )

    def test_retried_delivery_is_dropped_by_event_id(self, shop):
        delivery = shop.webhook_request(
            "state_enter.order_transaction.state.paid", order_payload(), event_id="e2"
        )
        assert shop.send(delivery).status == 204
        assert shop.send(delivery).status == 204
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopwareEvent)) == 1

    def test_a_delivery_whose_connection_is_gone_is_refused_as_such(self, shop, caplog):
        row = stored_shop(shop.shop_id)
        connection_id = row.connection_id
        db.session.execute(sa.delete(ShopConnection).where(ShopConnection.id == connection_id))
        with caplog.at_level(logging.INFO, logger="backend.shopware.services"):
            stored = services.record_webhook(connection_id, "checkout.order.placed", "gone", order_payload())
        assert stored is None
        assert f"shopware event gone refused: its connection {connection_id} is gone" in caplog.messages
        assert "duplicate" not in caplog.text
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopwareEvent)) == 0

    def test_same_event_id_of_another_shop_is_not_a_duplicate(self, shop, make_shop):
        other = make_shop(shop_url="https://other.example")
        other.register()
        shop.send(shop.webhook_request("checkout.order.placed", order_payload(), event_id="same"))
        other.send(other.webhook_request("checkout.order.placed", order_payload(), event_id="same"))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopwareEvent)) == 2

    def test_events_naming_no_order_are_acknowledged_and_ignored(self, shop):
        written = [{"entity": "order_transaction", "operation": "update", "primaryKey": ORDER_ID}]
        assert shop.send(shop.webhook_request("order_transaction.written", written)).status == 204
        assert shop.send(shop.webhook_request("product.written", written)).status == 204
        statuses = db.session.scalars(sa.select(ShopwareEvent.status))
        assert list(statuses) == ["ignored", "ignored"]

    def test_missing_signature_is_refused(self, shop):
        request = shop.webhook_request("checkout.order.placed", order_payload())
        del request.headers[SHOP_SIGNATURE_HEADER]
        answer = shop.send(request)
        assert (answer.status, error_of(answer)) == (401, "missing_signature")

    def test_signature_with_another_secret_is_refused(self, shop):
        request = shop.webhook_request("checkout.order.placed", order_payload())
        request.headers[SHOP_SIGNATURE_HEADER] = sign("not-the-shop-secret", request.body)
        answer = shop.send(request)
        assert (answer.status, error_of(answer)) == (401, "invalid_signature")

    def test_tampered_body_is_refused(self, shop):
        request = shop.webhook_request("checkout.order.placed", order_payload())
        request.body = request.body.replace(b"10001", b"10002")
        assert shop.send(request).status == 401
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopwareEvent)) == 0

    def test_replay_outside_the_window_is_refused(self, shop):
        shop.clock = shifted_clock(-STALE)
        answer = shop.send(shop.webhook_request("checkout.order.placed", order_payload()))
        assert (answer.status, error_of(answer)) == (401, "stale_timestamp")

    def test_unknown_shop_is_not_found(self, shop, make_shop):
        stranger = make_shop()
        stranger.shop_secret = shop.shop_secret
        answer = stranger.send(stranger.webhook_request("checkout.order.placed", order_payload()))
        assert (answer.status, error_of(answer)) == (404, "unknown_shop")

    def test_body_that_is_not_json_is_malformed(self, shop):
        request = ShopRequest(
            "POST", "/shopware/webhooks", {SHOP_SIGNATURE_HEADER: sign(shop.shop_secret, b"[1")}, b"[1"
        )
        assert shop.send(request).status == 422

    def test_signed_body_without_event_id_is_malformed(self, shop):
        request = shop.webhook_request("checkout.order.placed", order_payload())
        body = json.loads(request.body)
        del body["source"]["eventId"]
        request.body = json.dumps(body).encode()
        request.headers[SHOP_SIGNATURE_HEADER] = sign(shop.shop_secret, request.body)
        answer = shop.send(request)
        assert answer.status == 422
        assert "eventId" in json.dumps(answer.json()["details"])


@pytest.fixture
def reviews(monkeypatch) -> list[tuple[str, str]]:
    """Record the after-order reviews dispatch asks for (tests/shopware/test_after_order.py runs them for real)."""
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(
        after_order,
        "review_order",
        lambda connection_id, order_id, *, reason: calls.append((order_id, reason)),
    )
    return calls


class TestOrderEventDispatch:
    @pytest.fixture(autouse=True)
    def recorded_reviews(self, reviews):
        """Record the after-order reviews instead of running them."""

    @pytest.fixture
    def synced(self, monkeypatch):
        calls = []

        def queue(connection_id, external_id, *, reason):
            calls.append((db.session.get(ShopConnection, connection_id).shop_id, external_id, reason))

        monkeypatch.setattr(services, "request_order_sync", queue)
        return calls

    def test_each_order_event_queues_a_refetch_of_its_order(self, shop, synced):
        shop.send(shop.webhook_request("checkout.order.placed", order_payload()))
        shop.send(shop.webhook_request("state_enter.order_transaction.state.paid", order_payload()))
        assert services.dispatch_order_events() == "2 handed on, 0 failed"
        assert synced == [
            (shop.shop_id, ORDER_ID, "checkout.order.placed"),
            (shop.shop_id, ORDER_ID, "state_enter.order_transaction.state.paid"),
        ]
        done = db.session.scalars(sa.select(ShopwareEvent).filter_by(status="done")).all()
        assert len(done) == 2 and all(event.processed_at is not None for event in done)
        assert services.dispatch_order_events() == "0 handed on, 0 failed"

    def test_failing_event_is_retried_then_given_up(self, shop, monkeypatch):
        def broken(connection_id, external_id, *, reason):
            raise RuntimeError("database hiccup")

        monkeypatch.setattr(services, "request_order_sync", broken)
        shop.send(shop.webhook_request("checkout.order.placed", order_payload()))
        assert services.dispatch_order_events() == "0 handed on, 1 failed"
        event = db.session.scalars(sa.select(ShopwareEvent)).one()
        assert (event.status, event.attempts, event.last_error) == (
            "pending",
            1,
            "RuntimeError: database hiccup",
        )
        for _ in range(services.MAX_DISPATCH_ATTEMPTS - 1):
            services.dispatch_order_events()
        assert (event.status, event.attempts) == ("failed", services.MAX_DISPATCH_ATTEMPTS)

    def test_prune_drops_old_finished_events_and_abandoned_registrations(self, shop, make_shop):
        shop.send(shop.webhook_request("checkout.order.placed", order_payload(), event_id="kept-pending"))
        shop.send(shop.webhook_request("product.written", [], event_id="old-ignored"))
        shop.send(shop.webhook_request("product.written", [], event_id="new-ignored"))
        abandoned = make_shop(shop_url="https://abandoned.example")
        abandoned.send(abandoned.registration_request())
        db.session.execute(
            sa.update(ShopwareEvent)
            .where(ShopwareEvent.event_id.in_(["kept-pending", "old-ignored"]))
            .values(received_at=services.utcnow() - timedelta(days=8))
        )
        db.session.commit()

        assert services.prune_shopware_records() == "1 events, 0 abandoned registrations, 0 gateway decisions"
        later = services.utcnow() + timedelta(days=2)
        assert (
            services.prune_shopware_records(later)
            == "0 events, 1 abandoned registrations, 0 gateway decisions"
        )
        db.session.commit()
        assert sorted(db.session.scalars(sa.select(ShopwareEvent.event_id))) == [
            "kept-pending",
            "new-ignored",
        ]
        assert list(db.session.scalars(sa.select(Merchant.name))) == ["shop.example"]


class TestWorkerWiring:
    def test_order_events_reach_the_order_sync_outbox(self, app, shop, reviews):
        jobs = periodic_jobs(app.config)
        assert {"shopware-dispatch-events", "shopware-prune"} <= set(jobs)
        shop.send(shop.webhook_request("checkout.order.placed", order_payload()))
        shop.send(shop.webhook_request("state_enter.order_transaction.state.paid", order_payload()))
        shop.send(shop.webhook_request("checkout.order.payment_method.changed", order_payload()))
        assert jobs["shopware-dispatch-events"].run() == "3 handed on, 0 failed"
        assert [reason for _, reason in reviews] == [
            "checkout.order.placed",
            "checkout.order.payment_method.changed",
        ]
        request = db.session.scalars(sa.select(OrderSyncRequest)).one()
        assert (request.connection_id, request.external_id, request.reason) == (
            stored_shop(shop.shop_id).connection_id,
            ORDER_ID,
            "checkout.order.payment_method.changed",
        )


class TestAdminPage:
    """The module page opens the merchant console with a console session bound to the shop's merchant."""

    def console_session(self, answer):
        assert answer.status == 303, answer.body
        location = urlsplit(answer.header("Location"))
        token = parse_qs(location.query)[console_sessions.SESSION_FIELD][0]
        return location, console_sessions.verify_session(token)

    def test_signed_query_opens_the_console_with_a_session(self, shop):
        location, session = self.console_session(shop.open_iframe(user_language="de-DE"))
        connection = stored_shop(shop.shop_id).connection
        assert location.path == "/console/"
        assert (session.merchant_id, session.connection_id) == (connection.merchant_id, connection.id)
        assert (session.language, session.channel) == ("de", "shopware")
        assert session.actor.startswith(f"shopware-admin:{shop.shop_id}")
        page = shop.send(ShopRequest("GET", f"{location.path}?{location.query}", {}))
        assert page.status == 200
        assert b'<html lang="de" data-channel="shopware" data-name-user="/console/session/user">' in page.body
        assert "frame-ancestors https://shop.example" in page.header("Content-Security-Policy")
        assert page.header("Cache-Control") == "no-store"

    @pytest.mark.parametrize(
        ("referer", "confirmed", "allowed"),
        [
            (
                "https://admin.shop.example/admin#/sw/order/index",
                "https://admin.shop.example",
                "https://admin.shop.example",
            ),
            (
                "https://admin.shop.example:8443/admin",
                "https://admin.shop.example:8443",
                "https://admin.shop.example:8443",
            ),
            # Any page that got hold of a signed module URL names itself; unconfirmed, it may not frame.
            ("https://evil.example/admin", None, None),
            ("https://evil.example/admin", "https://admin.shop.example", None),
            ("https://admin.shop.example:8443/admin", "https://admin.shop.example", None),
            ("*", None, None),
            ("https://*.example/admin", None, None),
            ("javascript:alert(1)", None, None),
            (None, "https://admin.shop.example", None),
        ],
    )
    def test_an_administration_on_another_host_may_frame_its_session_only_when_confirmed(
        self, shop, referer, confirmed, allowed
    ):
        """The Administration may run on a host other than the shop URL, once the merchant confirmed it."""
        connection = stored_shop(shop.shop_id).connection
        if confirmed:
            services.set_admin_addresses(connection.merchant_id, {connection.id: confirmed}, actor="test")
            db.session.commit()
        headers = {"Referer": referer} if referer else {}
        location, session = self.console_session(shop.send(ShopRequest("GET", shop.iframe_path(), headers)))
        assert session.frame_origin == allowed
        page = shop.send(ShopRequest("GET", f"{location.path}?{location.query}", {}))
        ancestors = page.header("Content-Security-Policy").split("frame-ancestors ", 1)[1].split()
        assert ancestors == sorted(filter(None, {"https://shop.example", allowed}))
        other = console_sessions.start_session(
            session.merchant_id, user_name="Anna", language="de", channel=console_sessions.CHANNEL_LINK
        )
        assert console_sessions.frame_origins(session.merchant_id, other) == ["https://shop.example"]

    @pytest.mark.parametrize("language", ["de", "en"])
    def test_the_merchant_confirms_the_administration_address_in_the_settings(self, client, shop, language):
        connection = stored_shop(shop.shop_id).connection
        token = console_sessions.start_session(
            connection.merchant_id, user_name="Anna", language=language, channel=console_sessions.CHANNEL_LINK
        ).token
        page = client.get("/console/settings", query_string={"session_token": token}).get_data(as_text=True)
        label = {"de": "Adresse der Administration für", "en": "Administration address for"}[language]
        assert f"{label} https://shop.example" in page
        field = f"admin_address/{connection.id}"
        refused = client.post("/console/settings/shopware", data={"session_token": token, field: "ftp://x"})
        assert refused.status_code == 422
        problem = {
            "de": "Geben Sie die Adresse an, unter der die Administration öffnet, etwa https://admin.example.com",
            "en": "give the address the Administration opens at, such as https://admin.example.com",
        }[language]
        assert problem in refused.get_data(as_text=True)
        assert stored_shop(shop.shop_id).admin_origin is None
        saved = client.post(
            "/console/settings/shopware",
            data={"session_token": token, field: "https://admin.shop.example/admin#/sw/dashboard"},
        )
        assert saved.status_code == 303
        db.session.expire_all()
        assert stored_shop(shop.shop_id).admin_origin == "https://admin.shop.example"
        assert "shopware.admin_address_set" in audit_actions(connection.merchant_id)
        page = client.get("/console/settings", query_string={"session_token": token}).get_data(as_text=True)
        assert 'value="https://admin.shop.example"' in page

    def test_taking_the_administration_address_back_ends_its_framing(self, shop):
        connection = stored_shop(shop.shop_id).connection
        services.set_admin_addresses(
            connection.merchant_id, {connection.id: "https://admin.shop.example/admin"}, actor="test"
        )
        db.session.commit()
        headers = {"Referer": "https://admin.shop.example/admin"}
        _, session = self.console_session(shop.send(ShopRequest("GET", shop.iframe_path(), headers)))
        page = f"/console/?session_token={session.token}"
        policy = shop.send(ShopRequest("GET", page, {})).header("Content-Security-Policy")
        assert policy.split("frame-ancestors ", 1)[1] == "https://admin.shop.example https://shop.example"
        services.set_admin_addresses(connection.merchant_id, {connection.id: ""}, actor="test")
        db.session.commit()
        policy = shop.send(ShopRequest("GET", page, {})).header("Content-Security-Policy")
        assert policy.split("frame-ancestors ", 1)[1] == "https://shop.example"

    def test_english_for_other_languages(self, shop):
        _, session = self.console_session(shop.open_iframe(user_language="en-GB"))
        assert session.language == "en"

    def test_the_redirect_is_not_cached_and_refers_only_the_administrations_origin(self, shop):
        answer = shop.open_iframe()
        assert answer.header("Cache-Control") == "no-store"
        # The console page learns where the Administration runs (the Admin Extension SDK posts there), no more.
        assert answer.header("Referrer-Policy") == "strict-origin"

    def test_selected_orders_open_their_handovers(self, shop):
        order_id = "0190d1e3b4a5c6d7e8f9a0b1c2d3e4f5"
        location, _ = self.console_session(
            shop.open_iframe(
                f"/shopware/admin/handovers?order_ids={order_id},not-an-id", user_language="en-GB"
            )
        )
        assert location.path == "/console/handovers"
        assert parse_qs(location.query)["orders"] == [order_id]

    def test_forged_query_is_refused(self, shop):
        forged = shop.iframe_path(user_language="de-DE").replace("de-DE", "en-GB")
        answer = shop.send(ShopRequest("GET", forged, {}))
        assert (answer.status, error_of(answer)) == (401, "invalid_signature")

    def test_query_without_signature_is_refused(self, shop):
        path = shop.iframe_path().split("&shopware-shop-signature=")[0]
        answer = shop.send(ShopRequest("GET", path, {}))
        assert (answer.status, error_of(answer)) == (401, "missing_signature")

    def test_stale_query_is_refused(self, shop):
        shop.clock = shifted_clock(-timedelta(minutes=16))
        answer = shop.open_iframe()
        assert (answer.status, error_of(answer)) == (401, "stale_timestamp")

    @pytest.mark.parametrize("version", ["6.6.4.0", "6.6.8.0", "6.7.0.0"])
    def test_module_opens_hours_after_login_on_every_version(self, make_shop, version):
        login = datetime.now(UTC) - timedelta(hours=3)
        now = [login]
        shop = make_shop(sw_version=version, clock=lambda: now[0])
        now[0] = datetime.now(UTC)
        shop.register()
        now[0] = login
        shop.log_in()
        now[0] = datetime.now(UTC)
        assert shop.open_iframe().status == 303  # on to the console

    def test_login_signed_url_is_not_accepted_forever(self, make_shop):
        shop = make_shop(sw_version="6.6.4.0")
        shop.register()
        answer = shop.open_iframe(timestamp=shop.timestamp() - 13 * 3600)
        assert (answer.status, error_of(answer)) == (401, "stale_timestamp")

    def test_unknown_shop_is_not_found(self, shop, make_shop):
        stranger = make_shop()
        stranger.shop_secret = shop.shop_secret
        assert stranger.open_iframe().status == 404

    def test_posts_go_to_the_console_not_the_module_url(self, shop):
        answer = shop.send(ShopRequest("POST", "/shopware/admin/handovers", {}, b"decision=approve&ids=7"))
        assert answer.status == 405

    def test_session_of_a_purged_shop_is_void(self, shop):
        _, session = self.console_session(shop.open_iframe())
        shop.send(shop.lifecycle_request("app.deleted"))
        with pytest.raises(console_sessions.InvalidConsoleSessionError):
            console_sessions.verify_session(session.token)


class TestOverRealHttp:
    def test_shop_registers_sends_events_and_opens_the_module(self, make_shop, http):
        shop: ShopSimulator = make_shop(http)
        shop.register()
        assert shop.send(shop.lifecycle_request("app.activated")).status == 204
        delivery = shop.webhook_request("checkout.order.placed", order_payload(), event_id="http-1")
        assert shop.send(delivery).status == 204
        assert shop.send(delivery).status == 204
        tampered = shop.webhook_request("checkout.order.placed", order_payload())
        tampered.body = tampered.body.replace(b"10001", b"99999")
        assert shop.send(tampered).status == 401
        opened = shop.open_iframe(user_language="en-GB")
        assert opened.status == 303
        page = shop.send(ShopRequest("GET", opened.header("Location"), {}))
        assert page.status == 200 and b'data-channel="shopware"' in page.body
        row = stored_shop(shop.shop_id)
        assert (row.app_state, row.connection.status) == ("active", "active")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopwareEvent)) == 1


class TestPrivacyPage:
    def test_manifest_privacy_url_shows_what_the_app_processes(self, shopware_app):
        response = shopware_app.test_client().get("/shopware/privacy")
        assert response.status_code == 200 and response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "Art. 6 Abs. 1 lit. f DSGVO" in page and "Art. 6(1)(f) GDPR" in page
