"""The receivable ledger: every money movement dated and sourced, and the claim built from those bookings."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from backend.cases import services as inbox
from backend.cases.models import AgencyCase
from backend.dates import berlin_today
from backend.extensions import db
from backend.handovers.models import Handover
from backend.handovers.proposals import propose_handovers
from backend.handovers.submission import submit_approved_handovers
from backend.merchants.models import ShopConnection
from backend.receivables import ledger
from backend.receivables.ledger import EventKind, MoneySource
from backend.receivables.models import Receivable, ReceivableEvent
from connectors.shops.base import OrderState
from tests.factories import (
    add_sent_notice,
    make_connection,
    make_receivable,
    overdue_receivable,
    shop_order,
    upsert,
)
from tests.handovers.conftest import _current_base_rate, set_rules

# The autouse fixture adds the 2026-07-01 base rate the bundled table lacks.
__all__ = ["_current_base_rate"]

READ = "handovers:read"
WRITE = "handovers:read handovers:write"


class TestAgencyPaymentDating:
    def test_a_payment_the_agency_collected_is_booked_on_its_value_date(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
        overdue_receivable(make_connection(merchant), "agency-dated", total="119.00")
        propose_handovers()
        submit_approved_handovers()
        handover = db.session.scalar(sa.select(Handover))
        assert handover.status == "submitted", handover.last_error
        collected_on = berlin_today() - timedelta(days=20)
        inbox.record_case_event(
            db.session.scalar(sa.select(AgencyCase)),
            {"payment": {"amount": Decimal("40.00"), "reference": "p1", "value_date": collected_on}},
            actor="staff",
        )
        db.session.commit()
        headers = auth_headers(merchant, WRITE)
        withdrawn = client.post(
            f"/api/v1/handovers/{handover.id}/withdraw", json={"by": "inhaber"}, headers=headers
        )
        assert withdrawn.status_code == 200, withdrawn.get_json()

        claim = client.get(f"/api/v1/receivables/{handover.receivable_id}/claim", headers=headers)

        assert claim.status_code == 200, claim.get_json()
        payments = [(p["booked_on"], p["amount"]) for p in claim.get_json()["payments"]]
        assert payments == [(collected_on.isoformat(), "40.00")]


class TestClaimFromEveryKindOfBooking:
    def test_shop_bank_agency_and_refund_bookings_give_the_hand_calculated_claim(
        self, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        # Consumer invoice over 500.00 of 5 Jan 2026, due 19 Jan (14 days). A reminder sent on 26 Jan is
        # received on 27 Jan and asks for payment within 7 days, by Mon 2 Feb, so default starts on 3 Feb
        # (§286(1); a Mahnung with a deadline grants that time); it creates default, so it costs nothing.
        # Base rate 1.27 % (from 1 Jan 2026) + 5 points = 6.27 % a year, actual/365, each segment rounded
        # half-up to cents; a booking takes effect at the start of its day and a payment pays interest
        # before principal (§367(1)); a refund (credit) reduces the principal only.
        #
        #  segment          days  principal   interest = principal * 6.27 % * days / 365
        #  03.02.-09.02.      7    500.00     0.601232… → 0.60
        #  10.02. shop payment 100.00:    0.60 interest, 99.40 principal → 400.60
        #  10.02.-01.03.     20    400.60     1.376307… → 1.38
        #  02.03. bank transfer 150.00:   1.38 interest, 148.62 principal → 251.98
        #  02.03.-31.03.     30    251.98     1.298560… → 1.30
        #  01.04. agency payment 50.00:   1.30 interest, 48.70 principal → 203.28
        #  01.04.-14.04.     14    203.28     0.488874… → 0.49
        #  15.04. refund 20.00:           principal → 183.28 (the 0.49 interest stays owed)
        #  15.04.-30.04.     16    183.28     0.503744… → 0.50
        #
        #  interest 0.60 + 1.38 + 1.30 + 0.49 + 0.50 = 4.27, of it outstanding 0.49 + 0.50 = 0.99
        #  owed on 30 Apr 2026: principal 183.28 + interest 0.99 = 184.27
        connection = make_connection(merchant)
        order = shop_order(
            "hand-1",
            invoiced_on=date(2026, 1, 5),
            total="500.00",
            state=OrderState.PARTIALLY_PAID,
            paid_amount="100.00",
            paid_on=date(2026, 2, 10),
        )
        receivable = upsert(connection, order)
        assert receivable.due_date == date(2026, 1, 19)
        add_sent_notice(receivable, "reminder", date(2026, 1, 26))
        ledger.record_payment(
            receivable, Decimal("150.00"), date(2026, 3, 2), MoneySource.BANK_STATEMENT, external_id="tx-1"
        )
        ledger.record_payment(
            receivable, Decimal("50.00"), date(2026, 4, 1), MoneySource.AGENCY, external_id="agency-1"
        )
        ledger.record_credit(
            receivable,
            Decimal("20.00"),
            date(2026, 4, 15),
            MoneySource.SHOP,
            reason="refund",
            external_id="r-1",
        )
        db.session.commit()

        response = client.get(
            f"/api/v1/receivables/{receivable.id}/claim?as_of=2026-04-30",
            headers=auth_headers(merchant, READ),
        )

        assert response.status_code == 200, response.get_json()
        claim = response.get_json()
        assert [
            (s["first_day"], s["days"], s["principal"], s["amount"]) for s in claim["interest_segments"]
        ] == [
            ("2026-02-03", 7, "500.00", "0.60"),
            ("2026-02-10", 20, "400.60", "1.38"),
            ("2026-03-02", 30, "251.98", "1.30"),
            ("2026-04-01", 14, "203.28", "0.49"),
            ("2026-04-15", 16, "183.28", "0.50"),
        ]
        assert [
            (p["booked_on"], p["amount"], p["to_interest"], p["to_principal"]) for p in claim["payments"]
        ] == [
            ("2026-02-10", "100.00", "0.60", "99.40"),
            ("2026-03-02", "150.00", "1.38", "148.62"),
            ("2026-04-01", "50.00", "1.30", "48.70"),
        ]
        assert (claim["credits"], claim["interest"], claim["interest_outstanding"]) == (
            "20.00",
            "4.27",
            "0.99",
        )
        assert (claim["principal_outstanding"], claim["total_outstanding"]) == ("183.28", "184.27")
        assert (receivable.paid_amount, receivable.credited_amount, receivable.balance) == (
            Decimal("300.00"),
            Decimal("20.00"),
            Decimal("180.00"),
        )


class TestMoneyVerbs:
    @pytest.fixture
    def receivable(self, merchant: Any) -> Receivable:
        return upsert(
            make_connection(merchant), shop_order("m-1", invoiced_on=date(2026, 1, 5), total="100.00")
        )

    def test_a_payment_repeated_with_its_external_id_books_once(self, receivable: Receivable) -> None:
        first = ledger.record_payment(
            receivable, Decimal("30.00"), date(2026, 2, 1), MoneySource.BANK_STATEMENT, external_id="tx-9"
        )
        again = ledger.record_payment(
            receivable, Decimal("30.00"), date(2026, 2, 1), MoneySource.BANK_STATEMENT, external_id="tx-9"
        )
        db.session.commit()

        assert again.id == first.id
        assert (receivable.paid_amount, receivable.state) == (Decimal("30.00"), "partially_paid")
        assert [(b.kind.value, b.booked_on, b.amount) for b in ledger.payment_bookings(receivable)] == [
            ("payment", date(2026, 2, 1), Decimal("30.00"))
        ]

    def test_a_credit_repeated_with_its_external_id_books_once(self, receivable: Receivable) -> None:
        first = ledger.record_credit(
            receivable,
            Decimal("100.00"),
            date(2026, 2, 3),
            MoneySource.SHOP,
            reason="credit_note",
            external_id="c",
        )
        again = ledger.record_credit(
            receivable,
            Decimal("100.00"),
            date(2026, 2, 3),
            MoneySource.SHOP,
            reason="credit_note",
            external_id="c",
        )

        assert again.id == first.id
        assert (receivable.credited_amount, receivable.balance, receivable.state) == (
            Decimal("100.00"),
            Decimal("0.00"),
            "paid",
        )
        assert (first.kind, first.source, first.data["reason"]) == ("credit", "shop", "credit_note")

    def test_the_same_shop_report_twice_books_its_payment_once(self, receivable: Receivable) -> None:
        connection = db.session.get(ShopConnection, receivable.connection_id)
        paid = shop_order(
            "m-1",
            invoiced_on=date(2026, 1, 5),
            total="100.00",
            state=OrderState.PAID,
            paid_amount="100.00",
            paid_on=date(2026, 1, 20),
        )
        upsert(connection, paid)
        upsert(connection, paid)

        assert [(b.booked_on, b.amount) for b in ledger.payment_bookings(receivable)] == [
            (date(2026, 1, 20), Decimal("100.00"))
        ]
        event = db.session.scalar(
            sa.select(ReceivableEvent).filter_by(receivable_id=receivable.id, kind="payment")
        )
        assert (event.source, event.external_id) == ("api", "api:paid:100.00")

    def test_payments_in_collection_leave_the_state_to_the_agency(self, receivable: Receivable) -> None:
        ledger.hand_over(receivable, data={"handover": 1}, actor="worker")
        ledger.record_payment(receivable, Decimal("100.00"), date(2026, 3, 1), MoneySource.AGENCY)

        assert (receivable.state, receivable.balance) == ("in_collection", Decimal("0.00"))
        assert receivable.dunning_stop_reason == "handed over to collection"

    @pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00"), Decimal("NaN")])
    def test_a_booking_needs_a_positive_amount(self, receivable: Receivable, amount: Decimal) -> None:
        with pytest.raises(ValueError, match="positive"):
            ledger.record_payment(receivable, amount, date(2026, 2, 1), MoneySource.API)

    def test_history_entries_cannot_change_the_receivable(self, receivable: Receivable) -> None:
        with pytest.raises(ValueError, match="ledger verb"):
            ledger.record_history(receivable.id, EventKind.PAYMENT, actor="someone", data={"amount": "5.00"})
        with pytest.raises(ValueError, match="ledger verb"):
            ledger.history_entry(receivable.id, EventKind.PAYMENT, actor="someone", data={"amount": "5.00"})


class TestCreateReceivables:
    def test_a_receivable_stored_meanwhile_is_left_out_and_gets_no_history(self, db, merchant):
        """Another request created one of the batch's orders first: the batch inserts the others only."""
        connection = make_connection(merchant)
        existing = make_receivable(connection, "C-1")
        history_before = db.session.scalars(
            sa.select(ReceivableEvent.kind).filter_by(receivable_id=existing.id)
        ).all()
        table = Receivable.__table__
        stored = db.session.execute(sa.select(table).where(table.c.id == existing.id)).mappings().one()
        set_by_the_ledger = {"id", "payment_reference", "state", "paid_amount", "credited_amount", "paid_at"}
        values = {
            key: value for key, value in stored.items() if key not in set_by_the_ledger | {"dunning_level"}
        }

        created = ledger.create_receivables(
            [
                ledger.NewReceivable({**values, "number": "clash"}, "open", Decimal("5.00"), None),
                ledger.NewReceivable(
                    {**values, "external_id": "C-2"}, "partially_paid", Decimal("5.00"), None
                ),
            ],
            MoneySource.IMPORT,
            actor="test",
        )

        assert list(created) == [(connection.id, "C-2")]
        db.session.expire_all()
        assert db.session.get(Receivable, existing.id).number == existing.number
        assert (
            db.session.scalars(sa.select(ReceivableEvent.kind).filter_by(receivable_id=existing.id)).all()
            == history_before
        )
        new = db.session.get(Receivable, created[(connection.id, "C-2")])
        assert (new.state, new.paid_amount) == ("partially_paid", Decimal("5.00"))
        assert db.session.scalars(
            sa.select(ReceivableEvent.kind).filter_by(receivable_id=new.id).order_by(ReceivableEvent.id)
        ).all() == [EventKind.CREATED, EventKind.PAYMENT]
