"""``/metrics`` for Prometheus, guarded by ``CLAIMBRIDGE_METRICS_TOKEN``.

Without a token, only development serves it, to loopback clients: behind a reverse proxy on the same host every
client is loopback, so outside development no token means no metrics (404).
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Response, current_app, request
from flask.typing import ResponseReturnValue

from backend.ops.metrics import render_metrics

REFUSALS = {
    401: ("unauthorized", "send the configured metrics token as a bearer token"),
    403: (
        "forbidden",
        "without CLAIMBRIDGE_METRICS_TOKEN, development serves metrics to loopback clients only; set it to scrape",
    ),
    404: ("not_found", "metrics are served only with CLAIMBRIDGE_METRICS_TOKEN set"),
}


def _allowed() -> tuple[bool, int]:
    """Say whether this scrape may read the metrics, and the status to refuse it with."""
    token = current_app.config["CLAIMBRIDGE_METRICS_TOKEN"]
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), token.encode()), 401
    if current_app.config["CLAIMBRIDGE_ENV"] != "development":
        return False, 404
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    return loopback, 403


def metrics() -> ResponseReturnValue:
    """Expose request latency, risk decisions, handovers, jobs and outboxes in Prometheus' text format."""
    allowed, status = _allowed()
    if not allowed:
        error, message = REFUSALS[status]
        headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if status == 401 else {}
        return {"error": error, "message": message}, status, headers
    body, content_type = render_metrics()
    return Response(body, content_type=content_type)
