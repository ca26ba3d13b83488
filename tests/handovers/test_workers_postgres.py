"""Several ``claimbridge worker`` processes on PostgreSQL, one killed mid-submission: every case exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.handovers.models import Handover
from backend.handovers.proposals import propose_handovers
from tests.factories import make_connection, overdue_receivable
from tests.handovers.conftest import set_rules
from tests.processes import wait_for, worker_processes

WORKERS = 3
ORDERS = 6


@pytest.fixture
def start_worker(app: Any) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    with worker_processes(app) as start:
        yield start


@pytest.mark.postgres_only
def test_every_case_is_created_once_and_mirrored_back_with_a_worker_killed_mid_submission(
    app: Any, merchant: Any, paywise: Any, shopware: Any, start_worker: Callable[[], subprocess.Popen[bytes]]
) -> None:
    fake_agency, agency_server = paywise
    shop, shop_server = shopware
    set_rules(
        merchant,
        agency="http",
        agency_base_url=agency_server.url,
        api_key=fake_agency.api_key,
        auto_approve_consumer_up_to=Decimal("10000.00"),
    )
    connection = make_connection(
        merchant, "shopware", shop_server.url, api_key=shop.client_id, secret_key=shop.client_secret
    )
    orders = {}
    for _ in range(ORDERS):
        order_id = shop.add_order(total="119.00")
        orders[order_id] = overdue_receivable(connection, order_id).id
    propose_handovers()
    references = list(db.session.scalars(sa.select(Handover.idempotency_key).filter_by(status="approved")))
    assert len(references) == ORDERS
    # Slow claim creation: whichever worker is killed is in the middle of a submission.
    agency_server.delay_next(ORDERS, seconds=1.5, path="/v1/claims/")

    workers = [start_worker() for _ in range(WORKERS)]
    wait_for(lambda: any(fake_agency.debtor_count(ref) for ref in references), "a first submission to start")
    os.kill(workers[0].pid, signal.SIGKILL)
    workers[0].wait()

    def all_submitted() -> bool:
        statuses = db.session.scalars(sa.select(Handover.status)).all()
        return statuses == ["submitted"] * ORDERS

    wait_for(all_submitted, "every handover to be submitted")
    assert {ref: fake_agency.claim_count(ref) for ref in references} == dict.fromkeys(references, 1)

    for reference in references:
        fake_agency.accept(reference)
        fake_agency.advance(reference, legal_stage="judicial_dunning", payment="40.00")

    def mirrored() -> bool:
        return all(
            (shop.order(order_id)["customFields"] or {}).get("claimbridge_case_status") == "judicial_dunning"
            and shop.payment_state(order_id) == "paid_partially"
            for order_id in orders
        )

    wait_for(mirrored, "every case's status and payment to reach the shop")
    assert {ref: fake_agency.claim_count(ref) for ref in references} == dict.fromkeys(references, 1)
    assert all(workers[i].poll() is None for i in range(1, WORKERS))
