"""The background worker: periodic jobs, each claimed by one worker at a time through a lease row.

A lease is short (``LEASE``) and renewed by a heartbeat thread while its job runs, so a worker that is killed
(``kill -9``, a lost machine) frees its jobs within a minute however long they take. The loop outlives the
database: when a round fails because the database is away, it logs once, waits with backoff and goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db, utcnow
from backend.types import UTCDateTime

logger = logging.getLogger(__name__)


class JobLease(db.Model):
    """When a periodic job last ran, and until when a worker holds it."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the running worker took it
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[str | None] = mapped_column(sa.String(500))

    def __repr__(self) -> str:
        return f"<JobLease {self.name} next={self.next_run_at}>"


@dataclass(frozen=True)
class Job:
    """A periodic job: a function run every ``interval``; it returns a short summary and never commits."""

    name: str
    interval: timedelta
    run: Callable[[], str | int | None]
    lease: timedelta = timedelta(minutes=1)


# How long a claimed job stays claimed without a heartbeat: the longest a dead worker blocks a job.
LEASE = timedelta(minutes=1)
MAX_OUTAGE_PAUSE = 60.0  # seconds between rounds at most while the database is away


def _claim(job: Job, now: datetime) -> bool:
    """Take the job's lease if it is due and nobody holds it; atomic on SQLite and PostgreSQL."""
    if db.session.get(JobLease, job.name) is None:
        try:
            with db.session.begin_nested():
                db.session.add(JobLease(name=job.name, next_run_at=now))
        except sa.exc.IntegrityError:
            pass
        db.session.commit()
    claimed = db.session.execute(
        sa.update(JobLease)
        .where(
            JobLease.name == job.name,
            JobLease.next_run_at <= now,
            sa.or_(JobLease.leased_until.is_(None), JobLease.leased_until < now),
        )
        .values(leased_until=now + job.lease, leased_at=now)
    )
    db.session.commit()
    return claimed.rowcount == 1


def _release(job: Job, result: str) -> None:
    now = utcnow()
    db.session.execute(
        sa.update(JobLease)
        .where(JobLease.name == job.name)
        .values(
            leased_until=None,
            leased_at=None,
            last_finished_at=now,
            next_run_at=now + job.interval,
            last_result=result[:500],
        )
    )
    db.session.commit()


class LeaseHeartbeat:
    """Renew a job's lease every third of its length, from a thread with its own connection."""

    def __init__(self, app: Flask, job: Job) -> None:
        self._app = app
        self._job = job
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job.name}", daemon=True)

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _beat(self) -> None:
        period = self._job.lease.total_seconds() / 3
        while not self._stopped.wait(period):
            try:
                with self._app.app_context(), db.engine.begin() as connection:
                    connection.execute(
                        sa.update(JobLease)
                        .where(JobLease.name == self._job.name, JobLease.leased_until.is_not(None))
                        .values(leased_until=utcnow() + self._job.lease)
                    )
            except sa.exc.SQLAlchemyError as error:  # the job itself will notice a lost database
                logger.warning("job %s: lease not renewed (%s)", self._job.name, type(error).__name__)


def run_due_jobs(jobs: Mapping[str, Job], now: datetime | None = None) -> dict[str, str]:
    """Run every job that is due and not held by another worker; return each one's summary."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    results: dict[str, str] = {}
    for job in jobs.values():
        if not _claim(job, now or utcnow()):
            continue
        started = time.perf_counter()
        try:
            with LeaseHeartbeat(app, job):
                outcome = job.run()
                db.session.commit()
            summary = "ok" if outcome is None else str(outcome)
        except Exception:
            db.session.rollback()
            logger.exception("job %s failed", job.name)
            summary = "failed"
        _release(job, summary)
        logger.info("job %s: %s in %.0f ms", job.name, summary, (time.perf_counter() - started) * 1000)
        results[job.name] = summary
    return results


def run_forever(
    app: Flask,
    jobs: Mapping[str, Job],
    *,
    interval: float | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Run due jobs in a loop until ``stop()`` is true; a database outage pauses it, never ends it."""
    pause = interval if interval is not None else app.config["CLAIMBRIDGE_WORKER_INTERVAL"]
    logger.info("worker started, %d jobs, checking every %ss", len(jobs), pause)
    failures = 0
    while not stop():
        with app.app_context():
            try:
                run_due_jobs(jobs)
            except sa.exc.SQLAlchemyError as error:
                failures += 1
                db.session.rollback()
                log = logger.error if failures == 1 else logger.debug
                log("worker round failed, database unavailable? (%s: %s)", type(error).__name__, error)
            else:
                if failures:
                    logger.info("worker round succeeded again after %d failed rounds", failures)
                failures = 0
            finally:
                db.session.remove()
        wait = min(pause * 2 ** min(failures, 6), MAX_OUTAGE_PAUSE) if failures else pause
        _sleep_unless_stopped(wait, stop)


def _sleep_unless_stopped(seconds: float, stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop() and (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(remaining, 0.5))
