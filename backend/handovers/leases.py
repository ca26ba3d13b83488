"""How long a handover worker holds what it sends, and how long submission waits after a failed try."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from backend.outbox import backoff

RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)


def submission_lease() -> timedelta:
    """Return how long a worker holds a handover or shop write it sends (``CLAIMBRIDGE_HANDOVER_LEASE_SECONDS``)."""
    return current_app.config["CLAIMBRIDGE_HANDOVER_LEASE"]


def retry_delay(attempts: int) -> timedelta:
    """Return the wait before the next try: exponential from 30 s, capped, with jitter over [d/2, d]."""
    return backoff(attempts, base=RETRY_BASE, cap=RETRY_MAX, jitter=(0.5, 1.0))
