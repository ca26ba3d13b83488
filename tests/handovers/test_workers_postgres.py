"""Several ``claimbridge worker`` processes on PostgreSQL, one killed mid-submission: every case exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.handovers.models import Handover
from backend.handovers.proposals import propose_handovers
from tests.factories import make_connection, overdue_receivable
from tests.handovers.conftest import set_rules

WORKERS = 3
ORDERS = 6
DEADLINE = 90.0


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        db.session.rollback()  # see other processes' commits
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def start_worker(app: Any) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    environ = {
        **os.environ,
        "CLAIMBRIDGE_ENV": "testing",
        "CLAIMBRIDGE_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "CLAIMBRIDGE_INSTANCE_PATH": app.instance_path,
        "CLAIMBRIDGE_ALLOW_PRIVATE_URLS": "true",
        "CLAIMBRIDGE_PUBLIC_URL": "http://127.0.0.1:5000",
        "CLAIMBRIDGE_HANDOVER_LEASE_SECONDS": "4",
        "CLAIMBRIDGE_HANDOVER_JOB_SECONDS": "1",
    }
    claimbridge = str(Path(sys.executable).with_name("claimbridge"))
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [claimbridge, "worker", "--interval", "0.2"],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
