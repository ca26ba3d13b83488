"""POST /api/v1/orders/batch: many pushed orders at once, each as PUT /orders/{id} would, all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from backend.orders.schemas import ORDER_BATCH_MAX
from backend.receivables.ledger import EventKind
from backend.receivables.models import Receivable, ReceivableEvent
from backend.receivables.payment_references import reference_salt
from backend.receivables.reference_codes import make_reference
from tests.orders.test_push import order_body


@pytest.fixture
def headers(merchant, auth_headers):
    return auth_headers(merchant, "orders:write")


def batch(*orders):
    return {"orders": list(orders)}


def item(external_id, **overrides):
    return {"external_id": external_id, **order_body(number=f"RE-{external_id}", **overrides)}


def events(db, receivable_id):
    return db.session.scalars(
        sa.select(ReceivableEvent.kind).filter_by(receivable_id=receivable_id).order_by(ReceivableEvent.id)
    ).all()


class TestOrderBatch:
    def test_creates_updates_and_reports_each_order(self, client, db, headers):
        first = client.post(
            "/api/v1/orders/batch",
            json=batch(item("B-1"), item("B-2", state="partially_paid", paid_amount="19.00")),
            headers=headers,
        )
        assert first.status_code == 200, first.get_json()
        body = first.get_json()
        assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
        assert [(r["external_id"], r["outcome"]) for r in body["results"]] == [
            ("B-1", "created"),
            ("B-2", "created"),
        ]
        part_paid = db.session.get(Receivable, body["results"][1]["id"])
        assert (part_paid.state, part_paid.paid_amount, part_paid.due_date.isoformat()) == (
            "partially_paid",
            Decimal("19.00"),
            "2024-05-16",
        )
        assert part_paid.payment_reference and part_paid.email_key
        # The history explains the paid amount, as for a single push.
        assert events(db, part_paid.id) == [EventKind.CREATED, EventKind.PAYMENT]

        second = client.post(
            "/api/v1/orders/batch",
            json=batch(item("B-1"), item("B-2", state="paid", paid_amount="119.00"), item("B-3")),
            headers=headers,
        ).get_json()
        assert [(r["external_id"], r["outcome"]) for r in second["results"]] == [
            ("B-1", "unchanged"),
            ("B-2", "updated"),
            ("B-3", "created"),
        ]
        db.session.expire_all()
        paid = db.session.get(Receivable, part_paid.id)
        assert (paid.state, paid.paid_amount) == ("paid", Decimal("119.00"))
        assert events(db, paid.id) == [
            EventKind.CREATED,
            EventKind.PAYMENT,
            EventKind.PAYMENT,
            EventKind.SYNCED,
        ]

    def test_a_batch_and_single_pushes_store_the_same_receivable(self, client, db, headers):
        client.put("/api/v1/orders/S-1", json=order_body(number="RE-S-1"), headers=headers)
        client.post("/api/v1/orders/batch", json=batch(item("S-2")), headers=headers)
        single, batched = db.session.scalars(sa.select(Receivable).order_by(Receivable.external_id))
        skip = {"id", "external_id", "number", "payment_reference", "created_at", "updated_at"}
        columns = [c.key for c in Receivable.__table__.columns if c.key not in skip]
        assert {c: getattr(single, c) for c in columns} == {c: getattr(batched, c) for c in columns}
        # Its id was reserved before the INSERT, which wrote the reference with the row.
        assert batched.payment_reference == make_reference(batched.id, reference_salt(batched.merchant_id))

    def test_one_invalid_order_stores_none_and_is_named_by_index(self, client, db, headers):
        response = client.post(
            "/api/v1/orders/batch",
            json=batch(item("B-1"), item("B-2", total="zwölf")),
            headers=headers,
        )
        assert response.status_code == 422
        assert "/orders/1/total" in response.get_json()["details"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Receivable)) == 0

    def test_an_id_twice_is_refused(self, client, db, headers):
        response = client.post("/api/v1/orders/batch", json=batch(item("B-1"), item("B-1")), headers=headers)
        assert response.status_code == 422
        assert "/orders/1/external_id" in response.get_json()["details"]

    def test_size_is_bounded(self, client, headers):
        assert client.post("/api/v1/orders/batch", json=batch(), headers=headers).status_code == 422
        too_many = batch(*(item(f"B-{n}") for n in range(ORDER_BATCH_MAX + 1)))
        assert client.post("/api/v1/orders/batch", json=too_many, headers=headers).status_code == 422

    def test_needs_the_write_scope(self, client, merchant, auth_headers):
        reader = auth_headers(merchant, "handovers:read")
        assert client.post("/api/v1/orders/batch", json=batch(item("B-1")), headers=reader).status_code == 403


# COPY's text format gives tabs, newlines, backslashes and "\N" (its NULL) meanings of their own.
AWKWARD = 'O\'Brien "the" \\ back\\slash\ttab\nline \\N \\. ü 𝄞'


def awkward_order(external_id):
    largest = "999999999999.99"
    return {
        "external_id": external_id,
        **order_body(
            number=f'RE-\\N\t"{external_id}"',
            total=largest,
            state="partially_paid",
            paid_amount="999999999999.98",
            buyer={"email": "o.brien@example.com", "first_name": AWKWARD[:100], "last_name": "\\."},
            billing_address={
                "street": AWKWARD,
                "house_number": "1\t2",
                "city": "Zürich \\ 𝄞",
                "country": "ch",
            },
            items=[{"name": AWKWARD, "quantity": 1, "unit_price": largest, "total": largest}],
        ),
    }


class TestAwkwardValues:
    def test_a_batch_stores_them_as_a_single_push_does(self, client, db, headers):
        """On PostgreSQL a batch goes in with COPY, a single push with INSERT: both store the same."""
        single = awkward_order("S-1")
        external_id = single.pop("external_id")
        assert client.put(f"/api/v1/orders/{external_id}", json=single, headers=headers).status_code == 201
        response = client.post("/api/v1/orders/batch", json=batch(awkward_order("S-2")), headers=headers)
        assert response.status_code == 200, response.get_json()

        pushed, batched = db.session.scalars(sa.select(Receivable).order_by(Receivable.external_id))
        assert batched.billing_address["street"] == AWKWARD
        assert batched.line_items[0]["name"] == AWKWARD
        assert batched.total_amount == Decimal("999999999999.99")
        skip = {"id", "external_id", "number", "payment_reference", "created_at", "updated_at"}
        columns = [c.key for c in Receivable.__table__.columns if c.key not in skip]
        assert {c: getattr(batched, c) for c in columns} == {c: getattr(pushed, c) for c in columns}
        assert batched.number.replace("S-2", "S-1") == pushed.number

        def history(receivable):
            return db.session.execute(
                sa.select(
                    ReceivableEvent.kind,
                    ReceivableEvent.amount,
                    ReceivableEvent.booked_on,
                    ReceivableEvent.source,
                    ReceivableEvent.external_id,
                    ReceivableEvent.data,
                )
                .filter_by(receivable_id=receivable.id)
                .order_by(ReceivableEvent.id)
            ).all()

        assert history(batched) == history(pushed)
        assert [event.kind for event in history(batched)] == [EventKind.CREATED, EventKind.PAYMENT]
