"""WooCommerce orders over their life: only placed ones are claims; trash, restore and deletion are noticed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backend.dunning.receivable_claims import claim_on
from backend.dunning.stops import dunning_blocker
from backend.orders.services import process_order_sync_requests, reconcile_all_connections
from backend.receivables.ledger import payment_bookings
from backend.receivables.models import Receivable, ReceivableEvent
from tests.orders.support import CONNECT_SCOPES, connect


@pytest.fixture
def shop(woocommerce, backend_server):
    """A shop that reaches the backend (its port added with ``http_allowed_safe_ports``)."""
    woocommerce.fake.allow_port(backend_server.port)
    return woocommerce


@pytest.fixture
def connection_id(client, merchant, auth_headers, shop):
    response = connect(client, auth_headers(merchant, CONNECT_SCOPES), shop, "woocommerce")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def receivable_of(db, order_id) -> Receivable | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Receivable).filter_by(external_id=str(order_id)))


def events(db, receivable) -> list[tuple[str, dict]]:
    return db.session.execute(
        sa.select(ReceivableEvent.kind, ReceivableEvent.data)
        .filter_by(receivable_id=receivable.id)
        .order_by(ReceivableEvent.id)
    ).all()


class TestPlacedOrdersOnly:
    @pytest.mark.parametrize("status", ["pending", "failed"])
    def test_unplaced_invoice_orders_are_no_claims(self, db, shop, connection_id, status):
        shop.fake.add_order(payment_method="invoice", status=status)
        reconcile_all_connections()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Receivable)) == 0

    @pytest.mark.parametrize("status", ["on-hold", "processing", "completed"])
    def test_placed_invoice_orders_are_claims(self, db, shop, connection_id, status):
        order_id = shop.fake.add_order(payment_method="german_market_purchase_on_account", status=status)
        reconcile_all_connections()
        assert receivable_of(db, order_id).state == "open"


class TestTrashRestoreDelete:
    def test_posts_storage_trash_and_restore_arrive_by_webhook(self, db, shop, connection_id):
        fake = shop.fake
        order_id = fake.add_order(payment_method="invoice")
        reconcile_all_connections()
        fake.trash_order(order_id)  # posts storage: order.deleted is delivered
        assert process_order_sync_requests() == 1
        trashed = receivable_of(db, order_id)
        assert (trashed.state, trashed.platform_state) == ("cancelled", "trash")
        assert dunning_blocker(trashed) is not None

        fake.restore_order(order_id)  # order.restored
        assert process_order_sync_requests() == 1
        assert receivable_of(db, order_id).state == "open"

    def test_hpos_trash_sends_nothing_and_the_poll_sees_it(self, db, shop, connection_id):
        fake = shop.fake
        fake.storage = "hpos"
        order_id = fake.add_order(payment_method="invoice")
        reconcile_all_connections()
        fake.trash_order(order_id)
        assert process_order_sync_requests() == 0  # WooCommerce 7.9 fires no webhook for HPOS trash
        reconcile_all_connections()
        assert receivable_of(db, order_id).state == "cancelled"
        fake.restore_order(order_id)
        reconcile_all_connections()
        assert receivable_of(db, order_id).state == "open"

    @pytest.mark.parametrize("storage", ["posts", "hpos"])
    def test_permanent_deletion_cancels_with_an_event(self, db, shop, connection_id, storage):
        fake = shop.fake
        fake.storage = storage
        order_id = fake.add_order(payment_method="invoice")
        reconcile_all_connections()
        fake.delete_order(order_id)  # no webhook at all
        reconcile_all_connections()
        deleted = receivable_of(db, order_id)
        assert (deleted.state, deleted.platform_state) == ("cancelled", "deleted")
        reasons = [data.get("reason") for kind, data in events(db, deleted) if kind == "state_changed"]
        assert reasons == ["order deleted in the shop"]

    def test_meta_only_change_on_posts_storage_is_seen_by_id(self, db, shop, connection_id):
        fake = shop.fake
        order_id = fake.add_order(payment_method="invoice", total="50.00")
        reconcile_all_connections()
        fake.clock.advance(12 * 60)  # past the poll's overlap
        # How another tool marks an invoice paid: meta only, date_modified stays on posts storage.
        fake.orders[order_id]["meta_data"].append(
            {"id": 9, "key": "_claimbridge_payment_state", "value": "paid"}
        )
        reconcile_all_connections()
        assert receivable_of(db, order_id).state == "paid"


class TestRefunds:
    def test_partial_refund_is_a_dated_credit_that_lowers_balance_and_claim(self, db, shop, connection_id):
        fake = shop.fake
        order_id = fake.add_order(
            payment_method="invoice", total="89.90", created_at=datetime(2025, 5, 2, 10, tzinfo=UTC)
        )
        reconcile_all_connections()
        fake.refund(order_id, "44.95", reason="Rücksendung", when=datetime(2025, 5, 20, 9, tzinfo=UTC))
        assert process_order_sync_requests() == 1  # order.updated fires on refunds
        receivable = receivable_of(db, order_id)
        assert (receivable.credited_amount, receivable.balance) == (Decimal("44.95"), Decimal("44.95"))
        (credit,) = [data for kind, data in events(db, receivable) if kind == "credit"]
        assert credit["reason"] == "refund"
        (booking,) = [b for b in payment_bookings(receivable)]
        assert (booking.amount, booking.booked_on) == (Decimal("44.95"), date(2025, 5, 20))
        claim = claim_on(receivable, date(2025, 7, 1))
        assert claim.principal_outstanding == Decimal("44.95")

    def test_the_same_refund_seen_twice_is_booked_once(self, db, shop, connection_id):
        fake = shop.fake
        order_id = fake.add_order(payment_method="invoice", total="50.00")
        fake.refund(order_id, "10.00")
        reconcile_all_connections()
        fake.clock.advance(12 * 60)
        fake.touch(order_id)
        reconcile_all_connections()
        assert receivable_of(db, order_id).credited_amount == Decimal("10.00")

    def test_fully_refunded_unpaid_order_owes_nothing_and_was_never_paid(self, db, shop, connection_id):
        fake = shop.fake
        order_id = fake.add_order(payment_method="invoice", total="89.90")
        reconcile_all_connections()
        fake.refund(order_id, "89.90")
        process_order_sync_requests()
        receivable = receivable_of(db, order_id)
        assert (receivable.state, receivable.paid_amount, receivable.balance) == (
            "refunded",
            Decimal("0.00"),
            Decimal("0.00"),
        )

    def test_hpos_refund_is_booked_at_the_orders_amount_on_the_refund_day(self, db, shop, connection_id):
        fake = shop.fake
        fake.storage = "hpos"  # the refund objects say amount 0.00 and reason "" there
        created = datetime(2025, 5, 2, 10, tzinfo=UTC)
        order_id = fake.add_order(payment_method="invoice", total="89.90", created_at=created)
        reconcile_all_connections()
        fake.refund(order_id, "44.95", reason="Rücksendung", when=datetime(2025, 5, 20, 9, tzinfo=UTC))
        process_order_sync_requests()
        receivable = receivable_of(db, order_id)
        (booking,) = payment_bookings(receivable)
        assert (booking.amount, booking.booked_on) == (Decimal("44.95"), date(2025, 5, 20))
        assert receivable.balance == Decimal("44.95")


class TestBuyerFacts:
    """Consumer or business, and the §286(3) route, decided from a WooCommerce order as from any other shop."""

    def test_a_vat_id_in_the_billing_meta_makes_a_business_and_a_company_name_alone_does_not(
        self, db, shop, connection_id
    ):
        with_vat_id = shop.fake.add_order(
            payment_method="invoice", company="Huber GmbH", meta={"_billing_vat_id": "DE136695976"}
        )
        company_only = shop.fake.add_order(payment_method="invoice", company="Huber GmbH")
        reconcile_all_connections()
        assert receivable_of(db, with_vat_id).debtor_kind == "business"
        assert receivable_of(db, company_only).debtor_kind == "consumer"

    def test_filler_in_a_vat_field_leaves_a_consumer(self, db, shop, connection_id):
        dash = shop.fake.add_order(payment_method="invoice", meta={"_billing_vat_id": "-"})
        none = shop.fake.add_order(payment_method="invoice", meta={"billing_vat": "keine"})
        reconcile_all_connections()
        assert [receivable_of(db, order).debtor_kind for order in (dash, none)] == ["consumer", "consumer"]

    def test_a_consumer_whose_invoice_carried_the_notice_is_in_default_30_days_after_the_due_date(
        self, db, shop, connection_id
    ):
        ordered = datetime(2026, 9, 1, 10, tzinfo=UTC)  # a Tuesday
        noticed = shop.fake.add_order(
            payment_method="invoice",
            created_at=ordered,
            meta={"_claimbridge_invoice_has_default_notice": "yes"},
        )
        silent = shop.fake.add_order(payment_method="invoice", created_at=ordered)
        reconcile_all_connections()
        receivable = receivable_of(db, noticed)
        assert (receivable.debtor_kind, receivable.invoice_has_default_notice) == ("consumer", True)
        # Invoice 01.09.2026, due 15.09. (14 days); received 04.09. (+3 days), before the due date, so the
        # 30 days run from 15.09.: the last day is Thursday 15.10.2026, default starts on 16.10. (§286(3) BGB).
        assert receivable.due_date == date(2026, 9, 15)
        assert claim_on(receivable, date(2026, 12, 1)).default_start == date(2026, 10, 16)
        # Without the notice and without a Mahnung a consumer is not in default at all.
        assert receivable_of(db, silent).invoice_has_default_notice is False
        assert claim_on(receivable_of(db, silent), date(2026, 12, 1)).default_start is None
