"""The shop outbox against a Shopware Admin API and a WooCommerce REST API that refuse, fail or hang for a while.

Three orders are handed over (built-in agency) and the agency books a payment on each, which queues case
fields, order notes and the payment state for the shop. Then the shop misbehaves while the worker writes.

What must hold afterwards, on both platforms:
- every effect is done: each order shows its case status, the agency's payment and its payment state;
- nothing is duplicated: every queued note is in the shop exactly once, even when the shop applied a write
  whose answer never arrived (a hang past the client's timeout);
- nothing is lost: no write is left undone or given up;
- a 429 is honoured: no write to that shop is sent again before its ``Retry-After``, and the other writes
  waiting for the same shop are not sent into the refusal either.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from backend.cases.models import AgencyCase
from backend.cases.services import record_case_event
from backend.extensions import db, utcnow
from backend.handovers.mirroring import poll_submitted_handovers
from backend.handovers.models import ShopUpdate
from backend.handovers.proposals import propose_handovers
from backend.handovers.shop_updates import process_shop_updates
from backend.handovers.submission import submit_approved_handovers
from backend.receivables.models import Receivable
from tests.factories import make_connection, overdue_receivable
from tests.fakes.server import FakeServer
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.woocommerce_rest import FakeWooCommerce
from tests.handovers.conftest import set_rules

ORDERS = 3
RETRY_AFTER = 30


@dataclass
class Shop:
    """One platform's double, served, with readers for what the shop shows."""

    server: FakeServer
    write_path: str  # where order writes go (faults are injected there, not at the token endpoint)
    add_order: Callable[[], str]
    notes: Callable[[str], list[str]]
    case_status: Callable[[str], str | None]
    paid_amount: Callable[[str], str | None]
    hang_first_note: Callable[[str, float], None]  # the shop applies the order's first note, answers late


def _shopware(merchant: Any) -> Iterator[Shop]:
    fake = FakeShopwareAdmin()
    with fake.serve() as server:
        connection = make_connection(
            merchant, "shopware", server.url, api_key=fake.client_id, secret_key=fake.client_secret
        )

        def add_order() -> str:
            order_id = fake.add_order(total="119.00")
            overdue_receivable(connection, order_id)
            return order_id

        def notes(order_id: str) -> list[str]:
            text = (fake.order(order_id)["customFields"] or {}).get("claimbridge_notes") or ""
            return [line.split(": ", 1)[1] for line in text.splitlines()]  # "<stamp>: <text>"

        def field(name: str) -> Callable[[str], str | None]:
            return lambda order_id: (fake.order(order_id)["customFields"] or {}).get(name)

        def hang_first_note(order_id: str, seconds: float) -> None:
            # Case fields and notes are both PATCHes of the order: the case fields go first, then the note.
            server.delay_next(1, seconds=0, path=f"/api/order/{order_id}")
            server.delay_next(1, seconds=seconds, path=f"/api/order/{order_id}")

        yield Shop(
            server,
            "/api/order",
            add_order,
            notes,
            field("claimbridge_case_status"),
            field("claimbridge_paid_amount"),
            hang_first_note,
        )


def _woocommerce(merchant: Any) -> Iterator[Shop]:
    fake = FakeWooCommerce()
    with fake.serve() as server:
        connection = make_connection(
            merchant,
            "woocommerce",
            server.url,
            consumer_key=fake.consumer_key,
            consumer_secret=fake.consumer_secret,
        )

        def add_order() -> str:
            order_id = str(fake.add_order(total="119.00"))
            overdue_receivable(connection, order_id)
            return order_id

        def notes(order_id: str) -> list[str]:
            return [note["note"] for note in fake.notes[int(order_id)]]

        def field(name: str) -> Callable[[str], str | None]:
            return lambda order_id: fake.case_fields(int(order_id)).get(name)

        def hang_first_note(order_id: str, seconds: float) -> None:
            server.delay_next(1, seconds=seconds, path=f"/wp-json/wc/v3/orders/{order_id}/notes")

        yield Shop(
            server,
            "/wp-json/wc/v3/orders",
            add_order,
            notes,
            field("claimbridge_case_status"),
            field("claimbridge_paid_amount"),
            hang_first_note,
        )


@pytest.fixture(params=["shopware", "woocommerce"])
def shop(request: pytest.FixtureRequest, app: Any, merchant: Any) -> Iterator[Shop]:
    serve = _shopware if request.param == "shopware" else _woocommerce
    yield from serve(merchant)


@pytest.fixture
def orders(shop: Shop, merchant: Any) -> list[str]:
    """Hand three orders over and book an agency payment on each: the shop outbox has work queued."""
    set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
    order_ids = [shop.add_order() for _ in range(ORDERS)]
    propose_handovers()
    submit_approved_handovers()
    for number, case in enumerate(db.session.scalars(sa.select(AgencyCase).order_by(AgencyCase.id)), 1):
        payment = {"amount": Decimal("40.00"), "reference": f"pay-{number}"}
        record_case_event(case, {"legal_stage": "judicial_dunning", "payment": payment}, actor="agency staff")
    db.session.commit()
    poll_submitted_handovers()
    assert _pending() > ORDERS  # case fields, notes and payments for every order
    return order_ids


def _pending() -> int:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ShopUpdate).where(ShopUpdate.done_at.is_(None))
    )


def _make_due() -> None:
    db.session.execute(
        sa.update(ShopUpdate)
        .where(ShopUpdate.done_at.is_(None))
        .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
    )
    db.session.commit()


def _drain(rounds: int = 20) -> None:
    """Run the outbox until nothing is left, making retries due at once (as if their backoff had passed)."""
    for _ in range(rounds):
        _make_due()
        process_shop_updates()
        if not _pending():
            return
    raise AssertionError(f"{_pending()} shop writes never finished")


def _assert_every_effect_once(shop: Shop, order_ids: list[str]) -> None:
    queued = db.session.scalars(sa.select(ShopUpdate).where(ShopUpdate.kind == "note")).all()
    for order_id in order_ids:
        expected = sorted(u.payload["text"] for u in queued if u.external_order_id == order_id)
        assert expected and sorted(shop.notes(order_id)) == expected, order_id
        assert shop.case_status(order_id) == "judicial_dunning"
        assert shop.paid_amount(order_id) == "40.00"
    receivables = db.session.scalars(sa.select(Receivable)).all()
    assert [r.paid_amount for r in receivables] == [Decimal("40.00")] * ORDERS


def test_a_429_is_honoured_for_every_write_to_that_shop_and_all_writes_land_once(
    shop: Shop, orders: list[str]
) -> None:
    shop.server.fail_next(1, status=429, retry_after=RETRY_AFTER, path=shop.write_path)
    shop.server.clear_requests()
    started = utcnow()

    process_shop_updates()

    writes = shop.server.requests_to(shop.write_path)
    assert len(writes) == 1, "writes were sent into the shop's 429"
    db.session.expire_all()
    waiting = db.session.scalars(sa.select(ShopUpdate).where(ShopUpdate.done_at.is_(None))).all()
    assert len(waiting) > ORDERS
    assert all(u.next_attempt_at >= started + timedelta(seconds=RETRY_AFTER) for u in waiting)

    _drain()
    _assert_every_effect_once(shop, orders)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_period_of_5xx_delays_the_writes_and_loses_or_repeats_none(
    shop: Shop, orders: list[str], status: int
) -> None:
    shop.server.fail_next(6, status=status, path=shop.write_path)

    process_shop_updates()
    assert _pending()  # the shop refused: work is waiting, not dropped
    _drain()

    _assert_every_effect_once(shop, orders)
    attempts = db.session.scalars(sa.select(ShopUpdate.attempts)).all()
    assert max(attempts) >= 1


def test_a_write_the_shop_applied_but_never_answered_is_not_repeated(
    app: Any, shop: Shop, orders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "CLAIMBRIDGE_CONNECTOR_TIMEOUT", 0.5)
    # The first note of each order hangs past our read timeout; the shop still applies it after the pause.
    for order_id in orders:
        shop.hang_first_note(order_id, 1.5)

    process_shop_updates()
    time.sleep(2)  # the hung writes land while their retries wait for their backoff
    _drain()

    _assert_every_effect_once(shop, orders)
