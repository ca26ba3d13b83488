"""WooCommerce-specific behaviour: OAuth 1.0a signing, Basic auth over TLS, states, webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask, request

from connectors import errors
from connectors.http import Backoff
from connectors.shops import OrderState, WooCommerceConnector
from connectors.shops.woocommerce import (
    WEBHOOK_TOPICS,
    OAuth1QueryAuth,
    is_webhook_ping,
    map_state,
    oauth1_signature,
    verify_webhook_signature,
)
from tests.fakes.server import FakeServer, serve
from tests.fakes.woocommerce_rest import FakeWooCommerce

CONSUMER_KEY = "ck_1234567890abcdef1234567890abcdef12345678"
CONSUMER_SECRET = "cs_abcdef1234567890abcdef1234567890abcdef"


@pytest.fixture
def fake() -> FakeWooCommerce:
    return FakeWooCommerce()


@pytest.fixture
def server(fake: FakeWooCommerce) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


def make_connector(url: str, backoff: Backoff, sleeps, **options) -> WooCommerceConnector:
    return WooCommerceConnector(
        url, CONSUMER_KEY, CONSUMER_SECRET, allow_private=True, backoff=backoff, sleep=sleeps, **options
    )


@pytest.fixture
def connector(server: FakeServer, no_wait: Backoff, sleeps) -> WooCommerceConnector:
    return make_connector(server.url, no_wait, sleeps)


class TestOAuth1Signer:
    def test_reproduces_the_documented_vector(self) -> None:
        params = {
            "status": "pending,on-hold",
            "per_page": "100",
            "oauth_consumer_key": CONSUMER_KEY,
            "oauth_nonce": "abcdef0123456789",
            "oauth_signature_method": "HMAC-SHA256",
            "oauth_timestamp": "1700000000",
        }
        signature = oauth1_signature("GET", "http://shop.test/wp-json/wc/v3/orders", params, CONSUMER_SECRET)
        assert signature == "m6hRxlV/qSanCTY2iZinls6oOcw3BeV2JW6CHN2MP/U="

    def test_signs_url_with_the_documented_vector(self) -> None:
        auth = OAuth1QueryAuth(CONSUMER_KEY, CONSUMER_SECRET)
        url = "http://shop.test/wp-json/wc/v3/orders?status=pending,on-hold&per_page=100"
        signed = auth.sign_url("GET", url, nonce="abcdef0123456789", timestamp=1700000000)
        query = parse_qs(urlsplit(signed).query)
        assert query["oauth_signature"] == ["m6hRxlV/qSanCTY2iZinls6oOcw3BeV2JW6CHN2MP/U="]
        assert query["status"] == ["pending,on-hold"]
        assert query["oauth_signature_method"] == ["HMAC-SHA256"]

    def test_orders_keys_bytewise_like_strcmp(self) -> None:
        upper_first = {"Zeta": "1", "alpha": "2", "oauth_signature_method": "HMAC-SHA256"}
        swapped = {"alpha": "2", "Zeta": "1", "oauth_signature_method": "HMAC-SHA256"}
        url = "http://shop.test/wp-json/wc/v3/orders"
        assert oauth1_signature("GET", url, upper_first, "cs") == oauth1_signature("GET", url, swapped, "cs")

    def test_encodes_reserved_characters(self) -> None:
        url = "http://shop.test/wp-json/wc/v3/orders"
        plain = oauth1_signature("GET", url, {"search": "a/b c"}, "cs")
        assert plain != oauth1_signature("GET", url, {"search": "a%2Fb%20c"}, "cs")

    def test_uses_a_fresh_nonce_per_attempt(self, fake, server, connector) -> None:
        fake.add_order()
        server.fail_next(2, status=503, path="/wp-json/wc/v3/orders")
        list(connector.iter_orders())
        nonces = [
            parse_qs(r.query_string)["oauth_nonce"][0] for r in server.requests_to("/wp-json/wc/v3/orders")
        ]
        assert len(nonces) == 3
        assert len(set(nonces)) == 3


class TestFakeAuthentication:
    def test_rejects_reused_nonce(self, fake, server, no_wait, sleeps) -> None:
        connector = make_connector(server.url, no_wait, sleeps)
        connector.auth = OAuth1QueryAuth(CONSUMER_KEY, CONSUMER_SECRET, nonce=lambda: "same-nonce")
        connector.verify()
        with pytest.raises(errors.AuthError) as caught:
            connector.verify()
        assert caught.value.body["code"] == "woocommerce_rest_authentication_error"
        assert "nonce has already been used" in caught.value.body["message"]

    @pytest.mark.parametrize("skew_minutes", [-16, 16])
    def test_rejects_timestamp_outside_fifteen_minutes(self, fake, connector, skew_minutes) -> None:
        fake.clock.advance(skew_minutes * 60)
        with pytest.raises(errors.AuthError, match="Invalid timestamp"):
            connector.verify()

    def test_accepts_timestamp_within_fifteen_minutes(self, fake, connector) -> None:
        fake.clock.advance(14 * 60)
        connector.verify()

    def test_signs_against_the_home_url(self, no_wait, sleeps) -> None:
        fake = FakeWooCommerce()
        with fake.serve() as server:
            fake.home_url = server.url.replace("127.0.0.1", "localhost")
            with pytest.raises(errors.AuthError, match="signature does not match"):
                make_connector(server.url, no_wait, sleeps).verify()

    def test_rejects_wrong_secret(self, server, no_wait, sleeps) -> None:
        connector = WooCommerceConnector(
            server.url, CONSUMER_KEY, "cs_wrong", allow_private=True, backoff=no_wait
        )
        with pytest.raises(errors.AuthError, match="signature does not match"):
            connector.verify()

    def test_rejects_writes_with_a_read_only_key(self, fake, connector) -> None:
        order_id = fake.add_order()
        fake.key_permissions = "read"
        with pytest.raises(errors.AuthError, match="write permissions"):
            connector.write_case_fields(str(order_id), {"claimbridge_case_status": "open"})

    def test_refuses_unauthenticated_requests(self, server) -> None:
        response = requests.get(f"{server.url}/wp-json/wc/v3/orders", timeout=5)
        assert response.status_code == 401
        assert response.json()["code"] == "woocommerce_rest_cannot_view"

    def test_a_shop_out_of_reach_leaves_no_oauth_parameters_in_the_error(self, no_wait, sleeps) -> None:
        """Over plain HTTP the OAuth 1.0a parameters travel in the query, which urllib3's message repeats."""
        with FakeWooCommerce().serve() as gone:
            url = gone.url
        connector = make_connector(url, no_wait, sleeps, max_retries=0)
        with pytest.raises(errors.ConnectionError) as caught:
            list(connector.iter_orders())
        message = str(caught.value)
        assert "oauth_consumer_key=***" in message
        assert CONSUMER_KEY not in message
        assert "oauth_signature=***" in message

    def test_uses_basic_auth_over_https(self, no_wait, sleeps) -> None:
        fake = FakeWooCommerce()
        with fake.serve(tls=True) as server:
            session = requests.Session()
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override session.verify
            session.verify = server.ca_path
            connector = make_connector(server.url, no_wait, sleeps, session=session)
            connector.verify()
            sent = server.requests[-1]
        assert sent.headers["Authorization"].startswith("Basic ")
        assert "oauth_signature" not in sent.query_string


class TestOrders:
    def test_sends_per_page_comma_lists_and_gmt_dates(self, fake, server, connector) -> None:
        first, second = fake.add_order(), fake.add_order(status="pending")
        since = datetime(2020, 1, 1, tzinfo=UTC)
        found = list(connector.iter_orders(modified_after=since, platform_states=["pending", "on-hold"]))
        assert {o.external_id for o in found} == {str(first), str(second)}
        query = parse_qs(server.requests_to("/wp-json/wc/v3/orders")[0].query_string)
        assert query["status"] == ["pending,on-hold"]
        assert query["per_page"] == ["100"]
        assert query["modified_after"] == ["2020-01-01T00:00:00"]
        assert query["dates_are_gmt"] == ["true"]

    def test_caps_page_size_at_100(self, server, no_wait, sleeps) -> None:
        assert make_connector(server.url, no_wait, sleeps, page_size=500).page_size == 100

    @pytest.mark.parametrize(
        ("status", "meta_state", "is_invoice", "paid", "expected"),
        [
            ("on-hold", None, True, False, OrderState.OPEN),
            ("completed", None, True, True, OrderState.OPEN),
            ("processing", "paid", True, True, OrderState.PAID),
            ("processing", "partially_paid", True, True, OrderState.PARTIALLY_PAID),
            ("on-hold", "disputed", True, False, OrderState.DISPUTED),
            ("processing", None, False, True, OrderState.PAID),
            ("pending", None, False, False, OrderState.OPEN),
            ("cancelled", "paid", True, False, OrderState.CANCELLED),
            ("failed", None, False, False, OrderState.CANCELLED),
            ("refunded", "paid", False, True, OrderState.REFUNDED),
        ],
    )
    def test_maps_states(self, status, meta_state, is_invoice, paid, expected) -> None:
        date_paid = datetime(2025, 1, 1, tzinfo=UTC) if paid else None
        assert map_state(status, meta_state, is_invoice=is_invoice, date_paid=date_paid) == expected

    def test_shipped_invoice_order_stays_open(self, fake, connector) -> None:
        order_id = fake.add_order(status="completed", paid_at=datetime(2025, 1, 2, tzinfo=UTC))
        order = connector.get_order(str(order_id))
        assert order.state == OrderState.OPEN
        assert order.paid_at is None

    def test_mark_paid_moves_on_hold_order_to_processing(self, fake, connector) -> None:
        order_id = fake.add_order(status="on-hold")
        connector.mark_paid(str(order_id))
        assert fake.order(order_id)["status"] == "processing"
        assert fake.meta(order_id)["_claimbridge_payment_state"] == "paid"

    def test_mark_paid_keeps_a_completed_status(self, fake, connector) -> None:
        order_id = fake.add_order(status="completed")
        order = connector.mark_paid(str(order_id))
        assert fake.order(order_id)["status"] == "completed"
        assert order.state == OrderState.PAID

    def test_notes_are_private(self, fake, connector) -> None:
        order_id = fake.add_order()
        connector.add_order_note(str(order_id), "Reminder sent")
        assert fake.notes[order_id][0]["customer_note"] is False

    def test_notify_admin_needs_the_plugin(self, no_wait, sleeps) -> None:
        fake = FakeWooCommerce(plugin_installed=False)
        with fake.serve() as server, pytest.raises(errors.NotFoundError, match="rest_no_route"):
            make_connector(server.url, no_wait, sleeps).notify_admin("hello")


class TestWebhooks:
    @pytest.fixture
    def receiver(self) -> Iterator[tuple[FakeServer, list[tuple[bool, bool]]]]:
        """A delivery endpoint that records (is_ping, signature_valid) per request."""
        seen: list[tuple[bool, bool]] = []
        app = Flask("receiver")

        @app.post("/hooks/woocommerce")
        def receive():
            body = request.get_data()
            signature = request.headers.get("X-WC-Webhook-Signature")
            seen.append(
                (is_webhook_ping(request.headers, body), verify_webhook_signature("s3cret", body, signature))
            )
            return "", 200

        with serve(app) as running:
            yield running, seen

    def test_creates_hooks_once_and_rearms_them(self, fake, connector, receiver) -> None:
        receiver_server, _ = receiver
        fake.allow_port(receiver_server.port)
        urls = {topic: f"{receiver_server.url}/hooks/woocommerce" for topic in WEBHOOK_TOPICS}
        first = connector.ensure_webhooks(urls, "s3cret")
        fake.webhooks[first["order.updated"]]["status"] = "disabled"
        second = connector.ensure_webhooks(urls, "s3cret")
        assert first == second
        assert sorted(hook["topic"] for hook in fake.webhooks.values()) == sorted(WEBHOOK_TOPICS)
        assert {hook["status"] for hook in fake.webhooks.values()} == {"active"}

    def test_creating_a_hook_pings_it_and_deliveries_are_signed(self, fake, connector, receiver) -> None:
        receiver_server, seen = receiver
        fake.allow_port(receiver_server.port)
        hook_ids = connector.ensure_webhooks(
            {"order.updated": f"{receiver_server.url}/hooks/woocommerce"}, "s3cret"
        )
        order_id = fake.add_order()
        assert fake.deliver_webhook(hook_ids["order.updated"], order_id).status_code == 200
        assert seen == [(True, False), (False, True)]

    def test_a_port_wordpress_refuses_gets_neither_ping_nor_delivery(self, fake, connector, receiver) -> None:
        receiver_server, seen = receiver  # a random port: not 80/443/8080, not allowed by the shop
        hook_ids = connector.ensure_webhooks(
            {"order.updated": f"{receiver_server.url}/hooks/woocommerce"}, "s3cret"
        )
        assert fake.deliver_webhook(hook_ids["order.updated"], fake.add_order()) is None
        assert seen == []

    def test_shop_disables_a_hook_after_repeated_failures_and_it_can_be_re_enabled(
        self, fake, connector
    ) -> None:
        hook_ids = connector.ensure_webhooks({"order.updated": "http://127.0.0.1:8080/nobody-home"}, "s3cret")
        hook_id = hook_ids["order.updated"]
        order_id = fake.add_order()
        for _ in range(7):  # class-wc-webhook.php: more than five consecutive failures disable it
            fake.deliver_webhook(hook_id, order_id)
        assert {hook["id"]: hook["status"] for hook in connector.webhooks()} == {hook_id: "disabled"}
        assert connector.set_webhook_status(hook_id, "active")["status"] == "active"

    def test_deletes_hooks_for_good_and_tolerates_gone_ones(self, fake, connector) -> None:
        hook_ids = connector.ensure_webhooks({"order.created": "http://127.0.0.1:8080/x"}, "s3cret")
        connector.delete_webhook(hook_ids["order.created"])
        connector.delete_webhook(hook_ids["order.created"])
        assert connector.webhooks() == []


class TestRefundsAndLifecycle:
    @pytest.mark.parametrize("storage", ["posts", "hpos"])
    def test_partial_refund_is_read_with_its_date(self, fake, connector, storage) -> None:
        fake.storage = storage  # on HPOS the refund objects say 0.00 and "" (the order's list is right)
        order_id = fake.add_order(total="89.90")
        when = datetime(2025, 5, 6, 22, 30, tzinfo=UTC)
        fake.refund(order_id, "44.95", reason="Rücksendung", when=when)
        order = connector.get_order(str(order_id))
        assert order.state == OrderState.OPEN
        assert [(r.amount, r.refunded_at, r.reason) for r in order.refunds] == [
            (Decimal("44.95"), when, "Rücksendung")
        ]

    def test_full_refund_of_an_unpaid_order_is_no_payment(self, fake, connector) -> None:
        order_id = fake.add_order(total="89.90")
        fake.refund(order_id, "89.90")
        order = connector.get_order(str(order_id))
        assert (order.state, order.paid_amount) == (OrderState.REFUNDED, Decimal("0"))
        assert sum(r.amount for r in order.refunds) == Decimal("89.90")

    @pytest.mark.parametrize(("status", "placed"), [("pending", False), ("failed", False), ("on-hold", True)])
    def test_only_placed_orders_are_placed(self, fake, connector, status, placed) -> None:
        assert connector.get_order(str(fake.add_order(status=status))).placed is placed

    def test_trash_is_polled_only_when_asked_for(self, fake, connector) -> None:
        kept, trashed = fake.add_order(), fake.add_order()
        fake.trash_order(trashed)
        assert [o.external_id for o in connector.iter_orders()] == [str(kept)]
        found = {o.external_id: o for o in connector.iter_orders(include_trashed=True)}
        assert set(found) == {str(kept), str(trashed)}
        assert found[str(trashed)].state == OrderState.CANCELLED
        fake.restore_order(trashed)
        assert connector.get_order(str(trashed)).state == OrderState.OPEN

    def test_deleted_order_is_not_found(self, fake, connector) -> None:
        order_id = fake.add_order()
        fake.delete_order(order_id)
        with pytest.raises(errors.NotFoundError):
            connector.get_order(str(order_id))

    def test_meta_only_change_moves_date_modified_on_hpos_only(self, connector, fake) -> None:
        posts_order = fake.add_order()
        before = fake.order_dates(posts_order)["modified"]
        fake.clock.advance(60)
        connector.write_case_fields(str(posts_order), {"claimbridge_case_status": "open"})
        assert fake.order_dates(posts_order)["modified"] == before
        fake.storage = "hpos"
        connector.write_case_fields(str(posts_order), {"claimbridge_case_status": "dunning"})
        assert fake.order_dates(posts_order)["modified"] > before

    def test_backend_meta_is_protected_and_older_plain_keys_still_read(self, fake, connector) -> None:
        order_id = fake.add_order(meta={"claimbridge_risk_check_id": "rc_old"})
        connector.write_case_fields(str(order_id), {"claimbridge_case_id": "case-1"})
        assert "_claimbridge_case_id" in fake.meta(order_id)
        assert "claimbridge_case_id" not in fake.meta(order_id)
        assert connector.get_order(str(order_id)).risk_check_id == "rc_old"


class TestBuyerFacts:
    """The VAT id as German shops' plugins keep it, and the §286(3) notice field, read from the order's meta."""

    @pytest.mark.parametrize(
        "key",
        [
            "_billing_vat_id",  # Germanized Pro
            "_billing_vat_number",  # WooCommerce EU VAT Number 2.3.21+
            "_vat_number",  # WooCommerce EU VAT Number before 2.3.21
            "billing_vat",  # German Market
            "_billing_eu_vat_number",  # EU/UK VAT for WooCommerce (WPFactory)
            "yweu_billing_vat",  # YITH WooCommerce EU VAT
            "_shipping_vat_id",  # Germanized Pro, shipping address
        ],
    )
    def test_reads_the_vat_id_where_each_plugin_keeps_it(self, fake, connector, key) -> None:
        order_id = fake.add_order(company="Huber GmbH", meta={key: " DE136695976 "})
        assert connector.get_order(str(order_id)).vat_id == "DE136695976"

    def test_the_billing_vat_id_wins_and_blank_values_do_not_count(self, fake, connector) -> None:
        order_id = fake.add_order(
            meta={"_shipping_vat_id": "ATU12345678", "_billing_vat_id": "", "billing_vat": "DE999999999"}
        )
        assert connector.get_order(str(order_id)).vat_id == "DE999999999"
        assert connector.get_order(str(fake.add_order(company="Huber GmbH"))).vat_id is None

    @pytest.mark.parametrize(
        ("meta", "expected"),
        [
            ({"_claimbridge_invoice_has_default_notice": "yes"}, True),
            ({"_claimbridge_invoice_has_default_notice": "no"}, False),
            ({"_claimbridge_invoice_has_default_notice": "1"}, True),
            ({"_claimbridge_invoice_has_default_notice": True}, True),
            ({"claimbridge_invoice_has_default_notice": "0"}, False),
            ({"_claimbridge_invoice_has_default_notice": ""}, None),
            ({"_claimbridge_invoice_has_default_notice": "maybe"}, None),
            ({}, None),
        ],
    )
    def test_reads_whether_the_invoice_carried_the_default_notice(
        self, fake, connector, meta, expected
    ) -> None:
        assert connector.get_order(str(fake.add_order(meta=meta))).invoice_has_default_notice is expected


class TestShopAndPlugin:
    def test_reads_the_home_url_from_the_rest_index(self, fake, connector, server) -> None:
        assert connector.home_url() == server.url

    def test_lists_payment_gateways(self, connector) -> None:
        ids = [gateway["id"] for gateway in connector.payment_gateways()]
        assert {"invoice", "german_market_purchase_on_account", "bacs"} <= set(ids)

    def test_plugin_status_or_not_found(self, fake, connector) -> None:
        assert connector.plugin_status()["routes"] == ["notices", "dunning-notices"]
        fake.plugin_installed = False
        with pytest.raises(errors.NotFoundError):
            connector.plugin_status()

    def test_dunning_notice_is_sent_once_per_notice_id(self, fake, connector) -> None:
        notice = {"notice_id": "cb-notice-1", "order_id": fake.add_order(), "stage": "reminder"}
        first = connector.send_dunning_notice(notice)
        assert connector.send_dunning_notice(notice) == first
        assert list(fake.dunning_notices) == ["cb-notice-1"]

    def test_disabled_notice_email_is_a_conflict(self, fake, connector) -> None:
        fake.email_enabled = False
        with pytest.raises(errors.ConflictError):
            connector.send_dunning_notice({"notice_id": "n", "order_id": 1})

    def test_admin_notice_carries_order_and_idempotency_key(self, fake, connector) -> None:
        order_id = fake.add_order()
        connector.notify_admin("Handover proposed", order_id=str(order_id), idempotency_key="k1")
        connector.notify_admin("Handover proposed", order_id=str(order_id), idempotency_key="k1")
        assert fake.notices == [
            {"message": "Handover proposed", "level": "info", "order_id": order_id, "idempotency_key": "k1"}
        ]

    def test_shop_wide_notice_has_no_order_and_a_key_of_its_own(self, fake, connector) -> None:
        connector.notify_admin("Webhooks re-enabled")
        connector.notify_admin("Webhooks re-enabled")
        assert [notice["message"] for notice in fake.notices] == ["Webhooks re-enabled"] * 2
        assert all("order_id" not in notice for notice in fake.notices)
        assert fake.notices[0]["idempotency_key"] != fake.notices[1]["idempotency_key"]

    def test_notice_for_an_unknown_order_is_not_found(self, fake, connector) -> None:
        with pytest.raises(errors.NotFoundError):
            connector.notify_admin("Handover proposed", order_id="424242", idempotency_key="k2")


class TestWebhookSignature:
    body = b'{"id":1001,"status":"processing"}'

    def _sign(self, secret: str, body: bytes) -> str:
        return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()

    def test_accepts_valid_signature(self) -> None:
        assert verify_webhook_signature("s3cret", self.body, self._sign("s3cret", self.body))

    @pytest.mark.parametrize("signature", [None, "", "bm90IGl0", "x" * 44])
    def test_rejects_missing_or_wrong_signature(self, signature) -> None:
        assert not verify_webhook_signature("s3cret", self.body, signature)

    def test_rejects_tampered_body(self) -> None:
        signature = self._sign("s3cret", self.body)
        assert not verify_webhook_signature("s3cret", self.body.replace(b"1001", b"1002"), signature)

    @pytest.mark.parametrize(
        ("headers", "body", "expected"),
        [
            ({}, b"webhook_id=12", True),
            ({"X-WC-Webhook-Signature": "abc"}, b"webhook_id=12", False),
            ({}, b'{"id": 12}', False),
            ({}, b"webhook_id=12&x=1", False),
        ],
    )
    def test_recognises_ping(self, headers, body, expected) -> None:
        assert is_webhook_ping(headers, body) is expected


def test_modified_after_is_sent_as_gmt(fake, connector) -> None:
    base = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    early = fake.add_order(created_at=base)
    late = fake.add_order(created_at=base + timedelta(hours=2))
    found = [o.external_id for o in connector.iter_orders(modified_after=base + timedelta(hours=1))]
    assert found == [str(late)]
    assert str(early) not in found
