"""`kill -9` of a `claimbridge worker` in the middle of the shop-write job; a second worker takes over.

Three orders of a Shopware shop were handed over (built-in agency), which queued their case fields and notes.
A first worker starts writing them while the shop answers slowly, and is killed with SIGKILL in the middle of a
write, holding the job's lease and the leases of the writes it had taken. Only then does a second worker start.

What must hold afterwards:
- the job's lease is freed (it expires without the dead worker's heartbeat) and the second worker runs the job;
- every write is done, each exactly once: every note the outbox holds is in the shop once, including the one
  the dead worker had sent when it died, and every order shows its current case status;
- the second worker is still running.
"""

from __future__ import annotations

import os
import signal
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from backend.extensions import db, utcnow
from backend.handovers.models import Handover, ShopUpdate
from backend.handovers.proposals import propose_handovers
from backend.handovers.shop_updates import case_fields
from backend.handovers.submission import submit_approved_handovers
from backend.worker import JobLease
from tests.factories import make_connection, overdue_receivable
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.handovers.conftest import set_rules
from tests.processes import wait_for, worker_processes

ORDERS = 3
JOB = "handovers-shop-updates"


def test_a_worker_killed_mid_job_leaves_its_work_to_the_next_which_does_it_once(
    app: Any, merchant: Any
) -> None:
    shop = FakeShopwareAdmin()
    with shop.serve() as server, worker_processes(app) as start_worker:
        connection = make_connection(
            merchant, "shopware", server.url, api_key=shop.client_id, secret_key=shop.client_secret
        )
        set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
        orders = []
        for _ in range(ORDERS):
            order_id = shop.add_order(total="119.00")
            overdue_receivable(connection, order_id)
            orders.append(order_id)
        propose_handovers()
        submit_approved_handovers()
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(ShopUpdate).filter_by(kind="note"))
            == ORDERS
        )
        # Every order write takes 1.5 s: the first worker is surely in the middle of one when it dies.
        server.delay_next(100, seconds=1.5, path="/api/order/", method="PATCH")

        first = start_worker()
        wait_for(lambda: bool(server.requests_to("/api/order/")), "the first worker to start writing")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        killed_at = utcnow()
        lease = db.session.get(JobLease, JOB)
        # Still held by the dead worker: only a finished job releases its lease.
        assert lease.leased_until is not None
        assert db.session.scalar(
            sa.select(sa.func.count()).select_from(ShopUpdate).where(ShopUpdate.done_at.is_(None))
        )

        second = start_worker()

        def finished_since_the_kill() -> bool:
            lease = db.session.get(JobLease, JOB)
            pending = db.session.scalar(
                sa.select(sa.func.count()).select_from(ShopUpdate).where(ShopUpdate.done_at.is_(None))
            )
            return pending == 0 and lease.last_finished_at is not None and lease.last_finished_at > killed_at

        wait_for(finished_since_the_kill, "the second worker to finish the writes")

        second.send_signal(signal.SIGSTOP)  # hold the worker still while the shop is compared with the outbox
        db.session.rollback()
        queued = db.session.scalars(sa.select(ShopUpdate).filter_by(kind="note")).all()
        for handover in db.session.scalars(sa.select(Handover)):
            order_id = handover.receivable.external_id
            fields = shop.order(order_id)["customFields"]
            written = [line.split(": ", 1)[1] for line in fields["claimbridge_notes"].splitlines()]
            expected = [u.payload["text"] for u in queued if u.external_order_id == order_id and u.done_at]
            assert sorted(written) == sorted(expected), order_id
            assert fields["claimbridge_case_status"] == case_fields(handover)["claimbridge_case_status"]
        second.send_signal(signal.SIGCONT)
        assert second.poll() is None
