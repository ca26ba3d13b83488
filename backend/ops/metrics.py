"""The ``/metrics`` exposition: process counters plus levels read from the database at scrape time.

Levels (handovers by state, job lag and lease age, outbox depth and parked items) come from the database, so
any web worker answers the same, and nothing has to be kept in step by the worker processes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from backend.extensions import db, utcnow
from backend.handovers.models import HANDOVER_STATUSES, Handover
from backend.shop_outbox.services import outbox_depths
from backend.worker import JobLease

logger = logging.getLogger(__name__)


class DatabaseCollector(Collector):
    """Collect levels from the database; a database that does not answer is reported, not raised."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("claimbridge_database_up", "1 when the database answered this scrape.")
        try:
            families = list(self._levels())
        except sa.exc.SQLAlchemyError as error:
            db.session.rollback()
            logger.warning("metrics: database unavailable (%s)", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        finally:
            db.session.rollback()  # a scrape holds no transaction open
        up.add_metric([], 1)
        yield up
        yield from families

    def _levels(self) -> Iterator[Metric]:
        now = utcnow()
        handovers = GaugeMetricFamily("claimbridge_handovers", "Handovers by state.", labels=("state",))
        by_state = dict(
            db.session.execute(sa.select(Handover.status, sa.func.count()).group_by(Handover.status)).all()
        )
        for state in HANDOVER_STATUSES:
            handovers.add_metric([state], by_state.get(state, 0))
        yield handovers

        lag = GaugeMetricFamily(
            "claimbridge_job_lag_seconds",
            "How long a due job has waited for a worker (0 when not due).",
            labels=("job",),
        )
        lease = GaugeMetricFamily(
            "claimbridge_job_lease_age_seconds",
            "How long the running job has held its lease (0 when idle).",
            labels=("job",),
        )
        failed = GaugeMetricFamily(
            "claimbridge_job_last_run_failed", "1 when the job's last run failed.", labels=("job",)
        )
        for job in db.session.scalars(sa.select(JobLease).order_by(JobLease.name)):
            running = job.leased_until is not None and job.leased_until >= now
            waited = 0.0 if running else max((now - job.next_run_at).total_seconds(), 0.0)
            held = (now - job.leased_at).total_seconds() if running and job.leased_at else 0.0
            lag.add_metric([job.name], waited)
            lease.add_metric([job.name], max(held, 0.0))
            failed.add_metric([job.name], 1 if job.last_result == "failed" else 0)
        yield from (lag, lease, failed)

        depth = GaugeMetricFamily(
            "claimbridge_outbox_depth", "Items waiting to be sent, per outbox.", labels=("outbox",)
        )
        parked = GaugeMetricFamily(
            "claimbridge_outbox_parked", "Items given up on, waiting for a person.", labels=("outbox",)
        )
        oldest = GaugeMetricFamily(
            "claimbridge_outbox_oldest_seconds",
            "Age of the oldest waiting item, per outbox.",
            labels=("outbox",),
        )
        for name, counts in outbox_depths(now).items():
            depth.add_metric([name], counts["depth"])
            parked.add_metric([name], counts["parked"])
            oldest.add_metric([name], counts["oldest_seconds"])
        yield from (depth, parked, oldest)


def render_metrics() -> tuple[bytes, str]:
    """Return the exposition text and its content type: every worker's counters and the database levels."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_ProcessRegistry())
    registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _ProcessRegistry(Collector):
    """This process's own metrics (one process: tests, ``flask run``)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
