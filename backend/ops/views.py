"""``/metrics`` for Prometheus, guarded by ``CLAIMBRIDGE_METRICS_TOKEN`` or, without one, loopback only."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Response, current_app, request
from flask.typing import ResponseReturnValue

from backend.ops.metrics import render_metrics


def _allowed() -> tuple[bool, int]:
    """Say whether this scrape may read the metrics, and the status to refuse it with."""
    token = current_app.config["CLAIMBRIDGE_METRICS_TOKEN"]
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), token.encode()), 401
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    return loopback, 403


def metrics() -> ResponseReturnValue:
    """Expose request latency, risk decisions, handovers, jobs and outboxes in Prometheus' text format."""
    allowed, status = _allowed()
    if not allowed:
        message = (
            "send the configured metrics token as a bearer token"
            if status == 401
            else "metrics are served to loopback clients only; set CLAIMBRIDGE_METRICS_TOKEN to scrape remotely"
        )
        headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if status == 401 else {}
        return (
            {"error": "unauthorized" if status == 401 else "forbidden", "message": message},
            status,
            headers,
        )
    body, content_type = render_metrics()
    return Response(body, content_type=content_type)
