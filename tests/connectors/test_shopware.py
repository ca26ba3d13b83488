"""Shopware-specific behaviour: tokens, criteria, the payment state machine, countries, custom fields."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from connectors import errors
from connectors.http import Backoff
from connectors.shops import OrderState, PaymentAction, ShopwareConnector
from connectors.shops.base import NOTES_FIELD
from connectors.shops.shopware import MAX_NOTE_LINES, map_state, storage_datetime
from tests.fakes.server import FakeServer
from tests.fakes.shopware_admin import MANIFEST, FakeShopwareAdmin, manifest_privileges
from tests.fakes.shopware_shop import ADMINISTRATION_PRIVILEGES, app_install_errors


@pytest.fixture
def fake() -> FakeShopwareAdmin:
    return FakeShopwareAdmin()


@pytest.fixture
def server(fake: FakeShopwareAdmin) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


@pytest.fixture
def connector(fake: FakeShopwareAdmin, server: FakeServer, no_wait: Backoff, sleeps) -> ShopwareConnector:
    return ShopwareConnector(
        server.url, fake.client_id, fake.client_secret, allow_private=True, backoff=no_wait, sleep=sleeps
    )


class TestToken:
    def test_reuses_cached_token(self, fake, connector) -> None:
        connector.verify()
        connector.verify()
        assert fake.tokens_issued == 1

    def test_renews_expired_token_once_after_401(self, fake, server, connector) -> None:
        connector.verify()
        fake.expire_tokens()
        connector.verify()
        assert fake.tokens_issued == 2
        assert len(server.requests_to("/api/oauth/token")) == 2

    def test_renews_token_within_30_seconds_of_expiry(self, no_wait) -> None:
        short_lived = FakeShopwareAdmin(token_lifetime=25)
        with short_lived.serve() as short_server:
            connector = ShopwareConnector(
                short_server.url,
                short_lived.client_id,
                short_lived.client_secret,
                allow_private=True,
                backoff=no_wait,
            )
            connector.verify()
            connector.verify()
        assert short_lived.tokens_issued == 2

    def test_raises_auth_error_when_renewal_is_refused(self, fake, connector) -> None:
        connector.verify()
        fake.client_secret = "rotated-by-the-merchant"
        fake.expire_tokens()
        with pytest.raises(errors.AuthError, match="Client authentication failed"):
            connector.verify()

    def test_retries_a_failed_token_request(self, server, connector, sleeps) -> None:
        server.fail_next(1, status=503, path="/api/oauth/token")
        connector.verify()
        assert len(server.requests_to("/api/oauth/token")) == 2
        assert len(sleeps.calls) == 1

    def test_sends_credentials_in_the_token_request_body(self, server, connector) -> None:
        connector.verify()
        token_request = server.requests_to("/api/oauth/token")[0]
        assert b"grant_type=client_credentials" in token_request.body
        assert b"client_secret=" in token_request.body


class TestSearch:
    def test_sends_criteria_with_total_count_and_associations(self, fake, server, connector) -> None:
        fake.add_order()
        since = datetime(2025, 1, 1, 12, tzinfo=UTC)
        list(connector.iter_orders(modified_after=since, payment_method="payment_invoicepayment"))
        criteria = server.requests_to("/api/search/order")[0].json()
        assert criteria["total-count-mode"] == 1
        assert criteria["page"] == 1
        assert {"transactions", "orderCustomer", "billingAddress", "lineItems", "currency"} <= set(
            criteria["associations"]
        )
        assert criteria["associations"]["transactions"]["associations"].keys() == {
            "stateMachineState",
            "paymentMethod",
        }
        assert {
            "type": "equalsAny",
            "field": "transactions.paymentMethod.technicalName",
            "value": ["payment_invoicepayment"],
        } in criteria["filter"]

    def test_filters_by_payment_state(self, fake, connector) -> None:
        fake.add_order(payment_state="open")
        reminded = fake.add_order(payment_state="reminded")
        found = [o.external_id for o in connector.iter_orders(platform_states=["reminded"])]
        assert found == [reminded]

    def test_current_payment_is_the_newest_transaction(self, fake, connector) -> None:
        order_id = fake.add_order(payment_method="payment_cashpayment", payment_state="cancelled")
        fake.add_transaction(
            order_id,
            payment_method="payment_invoicepayment",
            state="paid",
            created_at=fake.clock.now() + timedelta(minutes=5),
        )
        order = connector.get_order(order_id)
        assert order.state == OrderState.PAID
        assert order.payment_method == "payment_invoicepayment"

    def test_resolves_country_ids_once(self, fake, connector) -> None:
        for _ in range(3):
            fake.add_order(country="AT")
        connector.page_size = 1
        countries = {o.billing_address.country for o in connector.iter_orders()}
        assert countries == {"AT"}
        assert fake.country_lookups == 1
        assert connector.country_iso(fake.country_id("AT")) == "AT"
        assert fake.country_lookups == 1

    def test_reads_invoice_date_from_invoice_document(self, fake, connector) -> None:
        invoiced = datetime(2025, 2, 1, 8, 30, tzinfo=UTC)
        order_id = fake.add_order(invoice_created_at=invoiced)
        assert connector.get_order(order_id).invoiced_at == invoiced


class TestLegalFacts:
    def test_reads_account_type_vat_id_and_the_invoice_notice_field(self, fake, connector) -> None:
        business = fake.add_order(
            account_type="business",
            vat_ids=("DE136695976",),
            custom_fields={"claimbridge_invoice_has_default_notice": True},
        )
        private = fake.add_order(company="Erikas Hobbykeller")
        first, second = connector.get_order(business), connector.get_order(private)
        assert (first.account_type, first.vat_id, first.invoice_has_default_notice) == (
            "business",
            "DE136695976",
            True,
        )
        # A company on a private account is still a private account; nothing is said about the notice.
        assert (second.account_type, second.vat_id, second.invoice_has_default_notice) == (
            "private",
            None,
            None,
        )

    def test_a_shipped_delivery_dates_the_shipment(self, fake, connector) -> None:
        order_id = fake.add_order()
        assert connector.get_order(order_id).shipped_at is None
        delivery = fake.orders[order_id]["deliveries"][0]
        delivery.update(
            stateMachineState={"technicalName": "shipped"}, updatedAt="2026-03-04T10:00:00.000+00:00"
        )
        assert connector.get_order(order_id).shipped_at == datetime(2026, 3, 4, 10, tzinfo=UTC)


SHOPWARE_VERSIONS = ("6.6.4.0", "6.6.8.0", "6.7.0.0")


class TestTransitions:
    @pytest.fixture(params=SHOPWARE_VERSIONS)
    def fake(self, request) -> FakeShopwareAdmin:
        return FakeShopwareAdmin(version=request.param)

    def test_suppresses_shop_mails(self, fake, connector) -> None:
        order_id = fake.add_order()
        connector.mark_paid(order_id)
        transaction = fake.order(order_id)["transactions"][0]
        assert transaction["mailsSent"] == [False]
        assert fake.payment_state(order_id) == "paid"

    @pytest.mark.parametrize("action", [PaymentAction.PAY, PaymentAction.PAY_PARTIALLY])
    @pytest.mark.parametrize("start", ["open", "reminded", "paid_partially", "in_progress", "failed"])
    def test_payments_arrive_from_every_unpaid_state(self, fake, connector, start, action) -> None:
        order_id = fake.add_order(payment_state=start)
        connector.transition_payment(order_id, action, amount=None)
        expected = "paid" if action == PaymentAction.PAY else "paid_partially"
        assert fake.payment_state(order_id) == expected

    def test_learns_the_shops_names_after_one_refusal(self, fake, server, connector) -> None:
        first, second = fake.add_order(payment_state="reminded"), fake.add_order(payment_state="reminded")
        connector.mark_paid(first)
        connector.mark_paid(second)
        names = [request.path.rsplit("/", 1)[-1] for request in server.requests if "/state/" in request.path]
        expected = "paid" if fake.version.startswith("6.7") else "pay"
        assert names[-1] == expected and names.count(expected) == 2
        assert len(names) <= 3  # at most one refused name, then the one that works

    def test_surfaces_illegal_transitions(self, fake, connector) -> None:
        order_id = fake.add_order(payment_state="refunded")
        with pytest.raises(errors.ClientError) as caught:
            connector.transition_payment(order_id, PaymentAction.REMIND)
        assert caught.value.status == 400
        assert caught.value.body["errors"][0]["code"] == "SYSTEM__ILLEGAL_STATE_TRANSITION"
        assert fake.payment_state(order_id) == "refunded"

    def test_cancel_is_allowed_from_every_state(self, fake, connector) -> None:
        order_id = fake.add_order(payment_state="refunded")
        connector.transition_payment(order_id, PaymentAction.CANCEL)
        assert fake.payment_state(order_id) == "cancelled"


class TestShopwareDouble:
    """The double's state machine and ACL follow Shopware's, not our connector's, expectations."""

    def test_6_6_refuses_the_6_7_names_from_reminded(self, no_wait) -> None:
        fake = FakeShopwareAdmin(version="6.6.8.0")
        order_id = fake.add_order(payment_state="reminded")
        with fake.serve() as server:
            connector = ShopwareConnector(
                server.url, fake.client_id, fake.client_secret, allow_private=True, backoff=no_wait
            )
            transaction_id = fake.order(order_id)["transactions"][0]["id"]
            with pytest.raises(errors.ClientError) as caught:
                connector.request("POST", f"_action/order_transaction/{transaction_id}/state/paid", json={})
        parameters = caught.value.body["errors"][0]["meta"]["parameters"]
        assert "pay" in parameters["possibleTransitions"] and "paid" not in parameters["possibleTransitions"]

    def test_transition_to_the_current_state_is_a_no_op(self, fake, server, connector) -> None:
        order_id = fake.add_order(payment_state="paid")
        transaction_id = fake.order(order_id)["transactions"][0]["id"]
        response = connector.request("POST", f"_action/order_transaction/{transaction_id}/state/pay", json={})
        assert response.status_code == 200 and fake.transitions == []
        assert fake.payment_state(order_id) == "paid"

    def test_writes_outside_the_manifest_permissions_are_forbidden(self, no_wait) -> None:
        fake = FakeShopwareAdmin(privileges={"order:read"})
        order_id = fake.add_order()
        with fake.serve() as server:
            connector = ShopwareConnector(
                server.url, fake.client_id, fake.client_secret, allow_private=True, backoff=no_wait
            )
            with pytest.raises(errors.AuthError) as caught:
                connector.write_case_fields(order_id, {"claimbridge_case_status": "open"})
        assert caught.value.status == 403
        assert caught.value.body["errors"][0]["code"] == "FRAMEWORK__MISSING_PRIVILEGE_ERROR"

    def test_the_manifest_grants_everything_the_connector_does(self, fake, connector) -> None:
        order_id = fake.add_order(invoice_created_at=datetime(2024, 5, 1, tzinfo=UTC))
        fake.add_document(order_id)
        connector.get_order(order_id)
        list(connector.iter_orders(payment_method="payment_invoicepayment"))
        connector.transition_payment(order_id, PaymentAction.REMIND)
        connector.add_order_note(order_id, "checked")
        connector.write_customer_fields(
            fake.order(order_id)["orderCustomer"]["customerId"], {"claimbridge_x": 1}
        )
        connector.notify_admin("hello")
        assert connector.invoice_document(order_id) is not None
        assert fake.notifications[0]["id"]

    @pytest.mark.parametrize(
        ("order_state", "payment_state", "expected"),
        [
            ("open", "open", OrderState.OPEN),
            ("open", "reminded", OrderState.OPEN),
            ("in_progress", "paid", OrderState.PAID),
            ("completed", "paid_partially", OrderState.PARTIALLY_PAID),
            ("open", "refunded", OrderState.REFUNDED),
            ("completed", "refunded_partially", OrderState.PAID),
            ("open", "chargeback", OrderState.DISPUTED),
            ("open", "cancelled", OrderState.CANCELLED),
            ("cancelled", "open", OrderState.CANCELLED),
            ("open", "failed", OrderState.OPEN),
            ("open", None, OrderState.OPEN),
        ],
    )
    def test_maps_states(self, order_state, payment_state, expected) -> None:
        assert map_state(order_state, payment_state) == expected


class TestCustomFields:
    def test_writes_customer_fields(self, fake, connector) -> None:
        order_id = fake.add_order()
        customer_id = fake.order(order_id)["orderCustomer"]["customerId"]
        connector.write_customer_fields(customer_id, {"claimbridge_invoice_blocked": True})
        assert fake.customers[customer_id]["customFields"] == {"claimbridge_invoice_blocked": True}

    def test_keeps_the_newest_note_lines(self, fake, connector) -> None:
        order_id = fake.add_order()
        old = "\n".join(f"2025-01-01 00:00 UTC: note {n}" for n in range(MAX_NOTE_LINES))
        fake.order(order_id)["customFields"] = {NOTES_FIELD: old}
        connector.add_order_note(order_id, "latest\nnote")
        lines = fake.order(order_id)["customFields"][NOTES_FIELD].splitlines()
        assert len(lines) == MAX_NOTE_LINES
        assert lines[0].endswith("note 1")
        assert lines[-1].endswith(": latest note")


def test_storage_datetime_is_utc_in_shopware_format() -> None:
    berlin_noon = datetime(2025, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert storage_datetime(berlin_noon) == "2025-07-01 10:00:00.000"


def _exercise(fake: FakeShopwareAdmin, no_wait: Backoff) -> None:
    """Make every Admin API call ClaimBridge makes, as the app integration."""
    order_id = fake.add_order(payment_state="reminded")
    fake.add_document(order_id)
    with fake.serve() as server:
        connector = ShopwareConnector(
            server.url, fake.client_id, fake.client_secret, allow_private=True, backoff=no_wait, max_retries=0
        )
        connector.verify()
        list(connector.iter_orders(payment_method="payment_invoicepayment"))
        connector.mark_paid(order_id)
        connector.add_order_note(order_id, "checked")
        connector.write_customer_fields(
            fake.order(order_id)["orderCustomer"]["customerId"], {"claimbridge_invoice_blocked": True}
        )
        connector.notify_admin("hello")
        assert connector.invoice_document(order_id) is not None


class TestManifestPermissions:
    """The manifest asks for exactly what the code uses: everything works with it, nothing without any part."""

    def test_the_manifest_grants_everything_the_connector_does(self, no_wait) -> None:
        _exercise(FakeShopwareAdmin(), no_wait)

    @pytest.mark.parametrize("privilege", sorted(manifest_privileges() - ADMINISTRATION_PRIVILEGES))
    def test_every_permission_is_used(self, privilege, no_wait) -> None:
        """(What the Administration needs in the browser is proven by tests/console/test_browser.py.)"""
        remaining = manifest_privileges() - {privilege}
        manifest = MANIFEST.read_text(encoding="utf-8")
        entity, _, kind = privilege.partition(":")
        element = (
            f"<permission>{privilege}</permission>" if kind == "create" and entity == "notification" else None
        )
        element = element or f"<{kind}>{entity}</{kind}>"
        webhooks_refused = element in manifest and app_install_errors(manifest.replace(element, "")) != []
        try:
            _exercise(FakeShopwareAdmin(privileges=remaining), no_wait)
        except errors.AuthError as error:
            assert error.status == 403
            return
        assert webhooks_refused, (
            f"{privilege} is granted but neither a webhook nor an Admin API call needs it"
        )
