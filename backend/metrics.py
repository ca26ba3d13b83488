"""Process metrics the request path and the risk check count (prometheus_client; multiprocess under gunicorn).

Under gunicorn ``PROMETHEUS_MULTIPROC_DIR`` is set before any worker imports this module
(``backend/gunicorn_conf.py``), so every worker writes its counts to files there and ``/metrics`` adds them up,
whichever worker answers the scrape. Levels read from the database (handovers, jobs, outboxes) are not kept
here but computed at scrape time (``backend/ops/metrics.py``): the database is the same for every worker.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from flask import Flask, Response
from prometheus_client import Counter, Histogram

from backend.extensions import current_g, current_request

REQUEST_SECONDS = Histogram(
    "claimbridge_http_request_duration_seconds",
    "Time from the first request hook to the response, per endpoint, method and status.",
    ("endpoint", "method", "status"),
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
RISK_DECISIONS = Counter(
    "claimbridge_risk_decisions_total", "Risk checks decided, by decision.", ("decision",)
)
RISK_REASONS = Counter(
    "claimbridge_risk_reasons_total",
    "Reasons that fired in risk checks, by decision and reason code.",
    ("decision", "reason"),
)


@functools.cache
def _series(metric: Counter | Histogram, *labels: str) -> Any:
    """Return the child of ``metric`` for ``labels``, looked up once (``labels()`` takes a lock and checks)."""
    return metric.labels(*labels)


def count_risk_decision(decision: str, reasons: list[str]) -> None:
    """Count one risk decision and each reason that made it."""
    _series(RISK_DECISIONS, decision).inc()
    for reason in reasons:
        _series(RISK_REASONS, decision, reason).inc()


def _start_timer() -> None:
    current_g().metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = current_g().pop("metrics_started", None)
    if started is not None:
        # The endpoint name, never the path: ids in paths would make a series per row.
        req = current_request()
        endpoint = req.endpoint or "unmatched"
        method = req.method if req.method in METHODS else "other"  # a client may send any token
        _series(REQUEST_SECONDS, endpoint, method, str(response.status_code)).observe(
            time.perf_counter() - started
        )
    return response


def init_request_metrics(app: Flask) -> None:
    """Time every request by endpoint."""
    app.before_request(_start_timer)
    app.after_request(_observe)
