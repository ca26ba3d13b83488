"""Benchmark sending dunning notices: N queued e-mail notices sent by K worker processes to a local SMTP server.

Target (issue 19): at least 200 notices/s per worker process, scaling with worker processes on PostgreSQL,
every notice delivered exactly once.

    python benchmarks/notice_sending.py                                     # SQLite, one worker
    python benchmarks/notice_sending.py --database-url postgresql://postgres@127.0.0.1:5432/test --workers 1,2,4

Each run ingests N invoice orders of one merchant (due long enough ago for the payment reminder), queues their
reminders with ``queue_due_notices`` and then starts K processes that each build one notice's e-mail to warm up
(``warm_up``) and, on the clock, call ``send_queued_notices`` until nothing is left, as ``claimbridge worker`` does. The SMTP server is aiosmtpd (tests/fakes/smtp.py) in this
process. Printed per run: wall time from the workers' start to the last notice sent, notices/s in all and per
worker, the CPU time per notice of the workers (user + system, all workers together), on PostgreSQL of their
server backends (read from /proc, so the server must run on this machine) and of this process (the SMTP server;
all of them share the machine's cores), and the exactly-once check: messages received,
distinct notices among them, notices marked sent. CPU times are the figures to compare on a loaded machine.

``--profile DIR`` writes each worker's cProfile statistics to ``DIR/worker-<run>-<n>.prof``, timed by the worker's
main thread's CPU time: wall time books lock and I/O waits to whatever runs (on a loaded machine ``zlib.compress``
showed 2 ms per notice that way against 0.1 ms of CPU). The SMTP hand-over thread is not profiled.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import queue
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from risk_check_http import prepare_database, reset_postgres  # noqa: E402

INVOICED = date(2025, 6, 2)
REMINDER_DAY = date(2025, 6, 23)  # due 16 June + 7 days (tests/dunning/test_worker.py)
MAIL_FROM = "mahnwesen@claimbridge.example"


def queue_notices(count: int, run: int) -> int:
    """Ingest ``count`` invoice orders for a new connection and queue their reminders; return the merchant id."""
    from backend import create_app
    from backend.dunning.evaluation import queue_due_notices
    from backend.extensions import db
    from backend.merchants.services import create_merchant
    from tests.dunning.factories import set_payment_details
    from tests.factories import make_connection, shop_order, upsert

    with create_app().app_context():
        merchant = create_merchant(f"Notices {run} GmbH")
        db.session.commit()
        set_payment_details(merchant)
        connection = make_connection(merchant)
        for n in range(count):
            upsert(
                connection,
                shop_order(
                    f"{run}-{n}",
                    number=f"RE-{run}-{n}",
                    invoiced_on=INVOICED,
                    email=f"buyer{n}@example.org",
                    total=f"{100 + n % 900}.00",
                ),
            )
        queue_due_notices(REMINDER_DAY)
        db.session.commit()
        return merchant.id


def backends_cpu() -> dict[int, float]:
    """Return the CPU seconds (user + system) of each PostgreSQL backend serving this process, by pid.

    The backends are found by the application name every connection of the process gives (``PGAPPNAME``), the
    seconds in /proc (the server runs on this machine).
    """
    from backend.extensions import db

    with db.engine.connect() as connection:
        pids = connection.scalars(
            sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": os.environ["PGAPPNAME"]},
        ).all()
    seconds = {}
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime and stime
    return seconds


def warm_up() -> None:
    """Build one queued notice's e-mail and forget it, as a worker that has sent before has its modules imported.

    The benchmarks run with PYTHONDONTWRITEBYTECODE, so each worker compiled the holidays package on its first
    notice (0.25 s of CPU, a quarter of a millisecond per notice at 1,000 notices); the figures are per notice
    of a running worker.
    """
    from backend.dunning.models import DunningNotice
    from backend.dunning.notice_building import build_notice_email, mail_identity
    from backend.extensions import db
    from backend.merchants.models import Merchant
    from backend.receivables.models import Receivable

    notice = db.session.scalars(sa.select(DunningNotice).limit(1)).one()
    receivable = db.session.get(Receivable, notice.receivable_id)
    merchant = db.session.get(Merchant, receivable.merchant_id)
    sender = mail_identity()
    assert receivable is not None and merchant is not None and sender is not None
    build_notice_email(notice, receivable, merchant, REMINDER_DAY, sender)
    db.session.rollback()


def send_until_done(
    ready: multiprocessing.Event,
    start: multiprocessing.Event,
    cpu: multiprocessing.Queue,
    profile: str | None,
) -> None:
    """One worker process: build the app, then send queued notices until none is left.

    Puts its CPU seconds and, on PostgreSQL, those of its server backends meanwhile (a backend opened meanwhile
    counts from its start).
    """
    from backend import create_app
    from backend.dunning.sending import send_queued_notices
    from backend.extensions import db

    os.environ["PGAPPNAME"] = f"notice-worker-{os.getpid()}"
    app = create_app()
    with app.app_context():
        on_postgres = db.engine.dialect.name == "postgresql"
        warm_up()  # connects, too, before the clock starts
        ready.set()
        start.wait()
        profiler = cProfile.Profile(time.thread_time) if profile else None
        started, backends_started = time.process_time(), backends_cpu() if on_postgres else {}
        if profiler:
            profiler.enable()
        while send_queued_notices(REMINDER_DAY) != "nothing to send":
            pass
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        worker_cpu = time.process_time() - started
        backends = backends_cpu() if on_postgres else {}
        # The query of the first reading is counted; it costs what one notice's statement does.
        cpu.put((worker_cpu, sum(used - backends_started.get(pid, 0.0) for pid, used in backends.items())))


def sent_in_database(merchant_id: int) -> Counter[str]:
    """Return the merchant's notices by status."""
    from backend import create_app
    from backend.dunning.models import DunningNotice
    from backend.extensions import db
    from backend.receivables.models import Receivable

    with create_app().app_context():
        rows = db.session.execute(
            sa.select(DunningNotice.status, sa.func.count())
            .join(Receivable, Receivable.id == DunningNotice.receivable_id)
            .where(Receivable.merchant_id == merchant_id)
            .group_by(DunningNotice.status)
        )
        return Counter(dict(rows.all()))


def stop_if_one_failed(processes: list[multiprocessing.process.BaseProcess]) -> None:
    """End the benchmark when a worker process died (its traceback is above) instead of waiting for it forever."""
    failed = [process.exitcode for process in processes if process.exitcode not in (None, 0)]
    if failed:
        for process in processes:
            process.kill()
        raise SystemExit(f"a worker process failed (exit code {failed[0]}); its error is printed above")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is reset!); default SQLite")
    parser.add_argument("--notices", type=int, default=2000, help="notices queued for each run")
    parser.add_argument("--workers", default="1", help="worker process counts to run, comma-separated")
    parser.add_argument("--profile", metavar="DIR", help="write each worker's cProfile statistics into DIR")
    args = parser.parse_args()
    worker_counts = [int(part) for part in args.workers.split(",")]

    from tests.fakes.smtp import FakeSmtpServer

    workdir = tempfile.mkdtemp(prefix="cb-notices-")
    env = {"CLAIMBRIDGE_INSTANCE_PATH": workdir, "CLAIMBRIDGE_LOG_LEVEL": "WARNING"}
    if args.database_url:
        reset_postgres(args.database_url)
        env["CLAIMBRIDGE_DATABASE_URL"] = args.database_url
    with FakeSmtpServer() as smtp:
        env["CLAIMBRIDGE_SMTP_URL"] = smtp.url()
        env["CLAIMBRIDGE_MAIL_FROM"] = f"ClaimBridge <{MAIL_FROM}>"
        os.environ.update(env)
        prepare_database({**os.environ})
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
        results = []
        for run, workers in enumerate(worker_counts, start=1):
            merchant_id = queue_notices(args.notices, run)
            before = len(smtp.messages)
            context = multiprocessing.get_context("spawn")
            ready = [context.Event() for _ in range(workers)]
            start = context.Event()
            cpu = context.Queue()
            profiles = [
                str(Path(args.profile, f"worker-{run}-{n}.prof")) if args.profile else None
                for n in range(1, workers + 1)
            ]
            processes = [
                context.Process(target=send_until_done, args=(r, start, cpu, p))
                for r, p in zip(ready, profiles, strict=True)
            ]
            for process in processes:
                process.start()
            for event in ready:
                while not event.wait(1):
                    stop_if_one_failed(processes)
            started, server_started = time.perf_counter(), time.process_time()
            start.set()
            used = []
            while len(used) < len(processes):
                try:
                    used.append(cpu.get(timeout=1))
                except queue.Empty:
                    stop_if_one_failed(processes)
            worker_cpu = sum(worker for worker, _ in used)
            database_cpu = sum(backend for _, backend in used)
            for process in processes:
                process.join()
            seconds = time.perf_counter() - started
            server_cpu = time.process_time() - server_started
            received = smtp.messages[before:]
            subjects = Counter(mail.message["Subject"] for mail in received)
            statuses = sent_in_database(merchant_id)
            counts = len(received), len(subjects), statuses
            results.append((workers, seconds, worker_cpu, database_cpu, server_cpu, *counts))

    backend = "postgresql" if args.database_url else "sqlite"
    print(f"database: {backend}, {args.notices} notices per run, SMTP: aiosmtpd on 127.0.0.1")
    print(f"load average at the end: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    for workers, seconds, worker_cpu, database_cpu, server_cpu, received, distinct, statuses in results:
        rate = args.notices / seconds
        exactly_once = received == distinct == statuses["sent"] == args.notices
        database = ""
        if backend == "postgresql":
            database = f" their PostgreSQL backends {database_cpu / args.notices * 1000:.2f} ms,"
        print(
            f"{workers} worker(s): {seconds:6.1f} s  {rate:7.0f} notices/s  {rate / workers:6.0f} per worker"
            f"  | CPU per notice: workers {worker_cpu / args.notices * 1000:.2f} ms"
            f" ({args.notices / worker_cpu:.0f} notices per CPU second),{database} SMTP server"
            f" {server_cpu / args.notices * 1000:.2f} ms"
            f"  | received {received}, distinct {distinct}, marked sent {statuses['sent']},"
            f" other {sum(statuses.values()) - statuses['sent']}: exactly once {'yes' if exactly_once else 'NO'}"
        )
    print("target: >= 200 notices/s per worker, scaling with workers on PostgreSQL, exactly once")


if __name__ == "__main__":
    main()
