"""Handover and case sync against a paywise-style agency that answers 500 or hangs for a while.

The agency double stores duplicates as they come (``duplicate_references="accept"``): only our side can keep a
case from being filed twice. Three overdue orders in a WooCommerce shop are approved for handover.

What must hold afterwards:
- every case is at the agency exactly once (one debtor, one claim per handover), even when the agency stored a
  create whose answer was lost (500) or came after our timeout;
- every handover ends ``submitted`` and its receivable ``in_collection``, handed over once in its history;
- while the agency's status is unavailable nothing changes; once it answers, each collected payment is booked
  once on the receivable, each payment the shop reported is reported to the agency once, and the shop hears
  of the case's progress once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.handovers.mirroring import poll_submitted_handovers
from backend.handovers.models import Handover, HandoverPayment, ShopUpdate
from backend.handovers.proposals import propose_handovers
from backend.handovers.submission import submit_approved_handovers
from backend.receivables.models import Receivable, ReceivableEvent
from tests.factories import make_connection, overdue_receivable
from tests.fakes.agency import FakePaywise
from tests.fakes.server import FakeServer
from tests.fakes.woocommerce_rest import FakeWooCommerce
from tests.handovers.conftest import set_rules

ORDERS = 3
TIMEOUT = 0.5  # CLAIMBRIDGE_CONNECTOR_TIMEOUT in these tests
HANG = 1.5  # how long a hanging agency holds a request before it carries it out anyway


@pytest.fixture
def agency() -> Iterator[tuple[FakePaywise, FakeServer]]:
    fake = FakePaywise(duplicate_references="accept")
    with fake.serve() as server:
        yield fake, server


@pytest.fixture
def references(
    app: Any, merchant: Any, agency: tuple[FakePaywise, FakeServer], monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """Approve three handovers to the agency; return their idempotency keys (the agency's your_reference)."""
    fake, server = agency
    monkeypatch.setitem(app.config, "CLAIMBRIDGE_CONNECTOR_TIMEOUT", TIMEOUT)
    set_rules(
        merchant,
        agency="http",
        agency_base_url=server.url,
        api_key=fake.api_key,
        auto_approve_consumer_up_to=Decimal("1000.00"),
    )
    shop = FakeWooCommerce()
    with shop.serve() as shop_server:
        connection = make_connection(
            merchant,
            "woocommerce",
            shop_server.url,
            consumer_key=shop.consumer_key,
            consumer_secret=shop.consumer_secret,
        )
        for _ in range(ORDERS):
            overdue_receivable(connection, str(shop.add_order(total="119.00")))
        propose_handovers()
        keys = list(db.session.scalars(sa.select(Handover.idempotency_key).filter_by(status="approved")))
        assert len(keys) == ORDERS
        yield keys


def _make_due() -> None:
    """Let the worker's backoff pass."""
    db.session.execute(sa.update(Handover).values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC)))
    db.session.commit()


def _submit_until_done(rounds: int = 10) -> None:
    for _ in range(rounds):
        _make_due()
        submit_approved_handovers()
        if set(db.session.scalars(sa.select(Handover.status))) == {"submitted"}:
            return
    raise AssertionError(f"handovers not submitted: {db.session.scalars(sa.select(Handover.status)).all()}")


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _assert_each_case_once(fake: FakePaywise, references: list[str]) -> None:
    assert {ref: (fake.debtor_count(ref), fake.claim_count(ref)) for ref in references} == dict.fromkeys(
        references, (1, 1)
    )
    assert set(db.session.scalars(sa.select(Handover.status))) == {"submitted"}
    assert set(db.session.scalars(sa.select(Receivable.state))) == {"in_collection"}
    handed_over = db.session.scalars(
        sa.select(ReceivableEvent.receivable_id).where(ReceivableEvent.kind == "handed_over")
    ).all()
    assert sorted(handed_over) == sorted(db.session.scalars(sa.select(Receivable.id)))


class TestHandover:
    def test_a_period_of_500s_and_lost_answers_file_each_case_once(
        self, agency: tuple[FakePaywise, FakeServer], references: list[str]
    ) -> None:
        fake, server = agency
        server.fail_next(8, status=500, path="/v1/")
        fake.lose_next_response("/v1/debtors/")  # stored, but the answer is a 500
        fake.lose_next_response("/v1/claims/")

        assert "retrying" in submit_approved_handovers()
        _submit_until_done()

        _assert_each_case_once(fake, references)

    def test_a_create_that_lands_after_our_timeout_is_adopted_not_filed_again(
        self, agency: tuple[FakePaywise, FakeServer], references: list[str]
    ) -> None:
        fake, server = agency
        server.delay_next(ORDERS, seconds=HANG, path="/v1/claims/", method="POST")

        submit_approved_handovers()
        # The worker waits its backoff (30 s and more) before it tries again; the hung creates land meanwhile.
        _wait_for(lambda: all(fake.claim_count(ref) for ref in references), "the hung creates to land")
        _submit_until_done()

        _assert_each_case_once(fake, references)


class TestCaseSync:
    @pytest.fixture
    def submitted(self, agency: tuple[FakePaywise, FakeServer], references: list[str]) -> list[str]:
        fake, _ = agency
        _submit_until_done()
        for reference in references:
            fake.accept(reference)
            fake.advance(reference, legal_stage="judicial_dunning", payment="30.00", title="Mahnbescheid")
        # The buyer also paid 10.00 to the shop after the handover; the agency must hear of it once.
        for receivable in db.session.scalars(sa.select(Receivable)):
            receivable.paid_amount += Decimal("10.00")
        db.session.commit()
        return references

    @pytest.mark.parametrize("fault", ["500", "hang"])
    def test_an_unavailable_agency_changes_nothing_and_every_effect_comes_once_afterwards(
        self, agency: tuple[FakePaywise, FakeServer], submitted: list[str], fault: str
    ) -> None:
        fake, server = agency
        if fault == "500":
            server.fail_next(100, status=500, path="/v1/claims/")
        else:
            server.delay_next(100, seconds=HANG, path="/v1/claims/")

        outcome = poll_submitted_handovers()

        assert "unavailable" in outcome, outcome
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(ShopUpdate).filter_by(kind="payment"))
            == 0
        )
        assert {r.paid_amount for r in db.session.scalars(sa.select(Receivable))} == {Decimal("10.00")}

        server.clear_faults()
        fake.lose_next_response("/v1/payments/")  # the report of a shop payment is stored, its answer lost
        poll_submitted_handovers()
        poll_submitted_handovers()
        poll_submitted_handovers()

        for reference in submitted:
            reported = [p for p in fake.payments_for(reference) if p.get("your_reference")]
            assert [p["amount"]["value"] for p in reported] == ["10.00"], reference
        receivables = db.session.scalars(sa.select(Receivable)).all()
        assert {r.paid_amount for r in receivables} == {Decimal("40.00")}
        agency_payments = db.session.scalars(sa.select(HandoverPayment).filter_by(source="agency")).all()
        assert sorted(p.amount for p in agency_payments) == [Decimal("30.00")] * ORDERS
        payment_writes = db.session.scalars(sa.select(ShopUpdate).filter_by(kind="payment")).all()
        assert len(payment_writes) == ORDERS
        assert set(db.session.scalars(sa.select(Handover.legal_stage))) == {"judicial_dunning"}
