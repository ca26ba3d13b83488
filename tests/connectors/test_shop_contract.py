"""The contract every ShopConnector fulfils, run against each platform's fake shop over real HTTP, and against a
real WooCommerce 7.9 shop (HPOS, behind a recording proxy) where ``CLAIMBRIDGE_WOOCOMMERCE_DIR`` names one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors import errors
from connectors.shops import OrderState, PaymentAction
from connectors.shops.base import RISK_CHECK_FIELD

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class TestVerify:
    def test_accepts_valid_credentials(self, shop) -> None:
        shop.connector().verify()

    def test_rejects_wrong_credentials(self, shop) -> None:
        connector = shop.connector()
        wrong = type(connector)(
            shop.server.url, "wrong-key", "wrong-secret", allow_private=True, backoff=shop.backoff
        )
        with pytest.raises(errors.AuthError):
            wrong.verify()


class TestIterOrders:
    def test_walks_every_page(self, shop) -> None:
        ids = [shop.seed(created_at=T0 + timedelta(minutes=n)) for n in range(5)]
        shop.server.clear_requests()
        seen = [order.external_id for order in shop.connector().iter_orders()]
        assert seen == ids
        assert len(shop.server.requests_to(shop.orders_path)) == 3

    def test_returns_nothing_for_an_empty_shop(self, shop) -> None:
        assert list(shop.connector().iter_orders()) == []

    def test_filters_by_modified_after(self, shop) -> None:
        old = shop.seed(created_at=T0)
        new = shop.seed(created_at=T0 + timedelta(hours=2))
        changed = shop.seed(created_at=T0)
        shop.touch(changed, T0 + timedelta(hours=3))
        found = {o.external_id for o in shop.connector().iter_orders(modified_after=T0 + timedelta(hours=1))}
        assert found == {new, changed}
        assert old not in found

    def test_refuses_naive_modified_after(self, shop) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            list(shop.connector().iter_orders(modified_after=datetime(2025, 1, 1)))

    def test_filters_by_payment_method(self, shop) -> None:
        invoice = shop.seed()
        shop.seed(payment_method=shop.other_payment_method)
        connector = shop.connector()
        method = connector.get_order(invoice).payment_method
        assert [o.external_id for o in connector.iter_orders(payment_method=[method])] == [invoice]

    def test_filters_by_external_ids(self, shop) -> None:
        ids = [shop.seed() for _ in range(3)]
        assert [o.external_id for o in shop.connector().iter_orders(external_ids=[ids[1]])] == [ids[1]]

    def test_refuses_unknown_filters(self, shop) -> None:
        with pytest.raises(ValueError, match="unsupported filters"):
            list(shop.connector().iter_orders(colour="red"))


class TestGetOrder:
    def test_normalises_the_order(self, shop) -> None:
        external_id = shop.seed(total="249.90", created_at=T0, risk_check_id="rc_42")
        order = shop.connector().get_order(external_id)
        assert order.external_id == external_id
        assert order.number
        assert order.total == Decimal("249.90")
        assert isinstance(order.total, Decimal)
        assert order.currency == "EUR"
        assert order.state == OrderState.OPEN
        assert order.paid_amount == Decimal("0")
        assert order.ordered_at == T0
        assert order.ordered_at.tzinfo is not None
        assert order.risk_check_id == "rc_42"
        assert order.case_fields[RISK_CHECK_FIELD] == "rc_42"
        assert order.buyer.email == "erika@example.com"
        assert order.buyer.last_name == "Mustermann"
        address = order.billing_address
        assert (address.street, address.house_number) == ("Musterstraße", "12a")
        assert (address.postal_code, address.city, address.country) == ("10115", "Berlin", "DE")
        assert order.shipping_address is not None
        assert order.shipping_address.country == "DE"
        assert len(order.line_items) == 1
        assert order.line_items[0].total == Decimal("249.90")
        assert order.line_items[0].name == "Kaffeemühle"

    def test_raises_not_found_for_unknown_order(self, shop) -> None:
        unknown = "0" * 32 if shop.platform == "shopware" else "999999"
        with pytest.raises(errors.NotFoundError):
            shop.connector().get_order(unknown)


class TestPaymentTransitions:
    def test_marks_order_paid(self, shop) -> None:
        external_id = shop.seed(total="119.00")
        order = shop.connector().mark_paid(external_id)
        assert order.state == OrderState.PAID
        assert order.paid_amount == Decimal("119.00")
        assert order.paid_at is not None

    def test_marking_paid_twice_changes_nothing(self, shop) -> None:
        external_id = shop.seed()
        connector = shop.connector()
        first = connector.mark_paid(external_id)
        second = connector.mark_paid(external_id)
        assert second.state == OrderState.PAID
        assert second.paid_at == first.paid_at

    def test_records_partial_payment(self, shop) -> None:
        external_id = shop.seed(total="100.00")
        order = shop.connector().mark_paid(external_id, amount=Decimal("40.00"), partial=True)
        assert order.state == OrderState.PARTIALLY_PAID
        assert order.paid_amount == Decimal("40.00")

    def test_completes_a_partial_payment(self, shop) -> None:
        external_id = shop.seed(total="100.00")
        connector = shop.connector()
        connector.mark_paid(external_id, amount=Decimal("40.00"), partial=True)
        assert connector.mark_paid(external_id).state == OrderState.PAID

    def test_marks_reminded_without_changing_receivable_state(self, shop) -> None:
        external_id = shop.seed()
        order = shop.connector().mark_reminded(external_id)
        assert order.state == OrderState.OPEN
        assert order.platform_payment_state == "reminded"

    def test_cancels_payment(self, shop) -> None:
        external_id = shop.seed()
        order = shop.connector().transition_payment(external_id, PaymentAction.CANCEL)
        assert order.state == OrderState.CANCELLED


class TestCaseFieldsAndNotes:
    def test_merges_case_fields(self, shop) -> None:
        external_id = shop.seed(risk_check_id="rc_1")
        connector = shop.connector()
        connector.write_case_fields(external_id, {"claimbridge_case_status": "dunning_1"})
        connector.write_case_fields(external_id, {"claimbridge_case_id": "case-7"})
        stored = shop.case_fields(external_id)
        assert stored["claimbridge_case_status"] == "dunning_1"
        assert stored["claimbridge_case_id"] == "case-7"
        assert stored[RISK_CHECK_FIELD] == "rc_1"
        assert connector.get_order(external_id).case_fields["claimbridge_case_id"] == "case-7"

    def test_refuses_fields_outside_namespace(self, shop) -> None:
        external_id = shop.seed()
        with pytest.raises(ValueError, match="claimbridge_"):
            shop.connector().write_case_fields(external_id, {"status": "paid"})

    def test_adds_notes_visible_to_staff(self, shop) -> None:
        external_id = shop.seed()
        connector = shop.connector()
        connector.add_order_note(external_id, "First reminder sent")
        connector.add_order_note(external_id, "Handed over to collection")
        notes = shop.notes(external_id)
        assert len(notes) == 2
        assert notes[0].endswith("First reminder sent")
        assert notes[1].endswith("Handed over to collection")

    def test_a_note_sent_again_is_kept_once(self, shop) -> None:
        external_id = shop.seed()
        connector = shop.connector()
        connector.add_order_note(external_id, "Handed over to collection")
        connector.add_order_note(external_id, "Handed over to collection")  # a retry after a lost answer
        assert len(shop.notes(external_id)) == 1

    def test_notifies_admins(self, shop) -> None:
        shop.connector().notify_admin("3 orders are ready for handover")
        assert shop.admin_notices() == ["3 orders are ready for handover"]


class TestResilience:
    def test_honours_retry_after(self, shop) -> None:
        external_id = shop.seed()
        shop.server.fail_next(1, status=429, retry_after=3, path=shop.orders_path)
        assert shop.connector().get_order(external_id).external_id == external_id
        assert shop.sleeps.calls == [3.0]

    def test_retries_server_errors_then_succeeds(self, shop) -> None:
        shop.seed()
        shop.server.fail_next(2, status=503, path=shop.orders_path)
        assert len(list(shop.connector().iter_orders())) == 1
        assert len(shop.sleeps.calls) == 2

    def test_raises_server_error_when_retries_are_exhausted(self, shop) -> None:
        shop.seed()
        shop.server.fail_next(10, status=502, path=shop.orders_path)
        with pytest.raises(errors.ServerError) as caught:
            list(shop.connector(max_retries=2).iter_orders())
        assert caught.value.status == 502
        assert len(shop.server.requests_to(shop.orders_path)) == 3

    def test_does_not_retry_client_errors(self, shop) -> None:
        shop.seed()
        shop.server.fail_next(1, status=400, path=shop.orders_path)
        with pytest.raises(errors.ClientError):
            list(shop.connector().iter_orders())
        assert len(shop.server.requests_to(shop.orders_path)) == 1
        assert shop.sleeps.calls == []


class TestSSRF:
    @pytest.mark.parametrize(
        "url",
        ["http://169.254.169.254", "http://10.0.0.8", "file:///etc/passwd", "gopher://shop.example"],
    )
    def test_refuses_unsafe_shop_urls(self, shop, url) -> None:
        with pytest.raises(errors.UnsafeURLError):
            shop.connector_at(url, allow_private=False)

    def test_refuses_loopback_unless_private_urls_are_allowed(self, shop) -> None:
        with pytest.raises(errors.UnsafeURLError):
            shop.connector(allow_private=False)
        shop.connector(allow_private=True).verify()

    def test_refuses_redirect_to_private_address(self, shop) -> None:
        shop.seed()
        metadata = "http://169.254.169.254/latest/meta-data/"
        shop.server.fail_next(1, status=302, headers={"Location": metadata}, path=shop.orders_path)
        with pytest.raises(errors.UnsafeURLError, match="redirects are not followed"):
            list(shop.connector().iter_orders())
