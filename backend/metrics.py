"""Process metrics the request path and the risk check count (prometheus_client; multiprocess under gunicorn).

Under gunicorn ``PROMETHEUS_MULTIPROC_DIR`` is set before any worker imports this module
(``backend/gunicorn_conf.py``), so every worker writes its counts to files there and ``/metrics`` adds them up,
whichever worker answers the scrape. Levels read from the database (handovers, jobs, outboxes) are not kept
here but computed at scrape time (``backend/ops/metrics.py``): the database is the same for every worker.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram(
    "claimbridge_http_request_duration_seconds",
    "Time from the first request hook to the response, per endpoint, method and status.",
    ("endpoint", "method", "status"),
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RISK_DECISIONS = Counter(
    "claimbridge_risk_decisions_total", "Risk checks decided, by decision.", ("decision",)
)
RISK_REASONS = Counter(
    "claimbridge_risk_reasons_total",
    "Reasons that fired in risk checks, by decision and reason code.",
    ("decision", "reason"),
)


def count_risk_decision(decision: str, reasons: list[str]) -> None:
    """Count one risk decision and each reason that made it."""
    RISK_DECISIONS.labels(decision).inc()
    for reason in reasons:
        RISK_REASONS.labels(decision, reason).inc()


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        # The endpoint name, never the path: ids in paths would make a series per row.
        endpoint = request.endpoint or "unmatched"
        REQUEST_SECONDS.labels(endpoint, request.method, str(response.status_code)).observe(
            time.perf_counter() - started
        )
    return response


def init_request_metrics(app: Flask) -> None:
    """Time every request by endpoint."""
    app.before_request(_start_timer)
    app.after_request(_observe)
