"""Worker-side helpers for outbox tables: lease due rows to one worker, back off between retries, park.

A lease is ``next_attempt_at`` moved into the future: other workers skip the row until it runs out, so a
worker that dies mid-row leaves it to the next one once the lease expires. On PostgreSQL the due rows are
picked with ``FOR UPDATE SKIP LOCKED``, so concurrent workers lease disjoint rows; SQLite has one writer
and ignores the lock clause.

The shop outboxes (``ShopUpdate``, ``ShopAction``, ``OrderSyncRequest``) share one retry policy
(``record_failure``): a failed try waits ``shop_retry_delay`` and counts; after ``MAX_SHOP_ATTEMPTS`` tries,
or at once when retrying cannot help (the shop's connection is disabled, the shop refused for good), the
item is *parked*: ``parked_at`` is set, no worker takes it, and it waits for a person to retry or discard it
(``backend.shop_outbox``). Nothing is retried forever and nothing is dropped silently.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from backend.extensions import db

# Beyond this many doublings every sensible base is far past any cap; it keeps timedelta from overflowing.
MAX_DOUBLINGS = 32
# Twelve tries from 30 s doubling up to 6 h: about a day of an unreachable shop before a person must look.
MAX_SHOP_ATTEMPTS = 12
SHOP_RETRY_BASE = timedelta(seconds=30)
SHOP_RETRY_CAP = timedelta(hours=6)
SHOP_RETRY_JITTER = (0.5, 1.0)


class OutboxItem(Protocol):
    """The columns every shop outbox row has."""

    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    parked_at: datetime | None


def lease_due(
    model: Any,
    *conditions: sa.ColumnElement[bool],
    now: datetime,
    lease: timedelta,
    limit: int,
    order_by: Iterable[sa.ColumnElement[Any]] | None = None,
    values: Mapping[str, Any] | None = None,
) -> list[int]:
    """Lease up to ``limit`` rows of ``model`` that meet ``conditions`` until ``now + lease``; commit; return ids.

    ``values`` are set on the leased rows as well (a status, a lease token, an attempt count).
    """
    due = (
        sa.select(model.id)
        .where(*conditions)
        .order_by(*(order_by if order_by is not None else (model.id,)))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    # FOR UPDATE re-checks the conditions on the row it locks, so the UPDATE does not repeat them (repeating
    # them made PostgreSQL lease nothing for some one-row leases of the dunning worker).
    ids = list(
        db.session.scalars(
            sa.update(model)
            .where(model.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=now + lease, **(values or {}))
            .returning(model.id)
        )
    )
    db.session.commit()
    return sorted(ids)


def backoff(
    attempts: int, *, base: timedelta, cap: timedelta, jitter: tuple[float, float] = (1.0, 1.0)
) -> timedelta:
    """Return the wait before the next try: ``base`` doubled per failed attempt, capped, times a jitter factor.

    ``jitter`` is the range the factor is drawn from, so that many workers' retries do not fall in step.
    """
    doublings = min(max(attempts - 1, 0), MAX_DOUBLINGS)
    return min(base * 2**doublings, cap) * random.uniform(*jitter)


def shop_retry_delay(attempts: int) -> timedelta:
    """Return the wait after a shop outbox item's ``attempts``-th failed try (one policy for every shop write)."""
    return backoff(attempts, base=SHOP_RETRY_BASE, cap=SHOP_RETRY_CAP, jitter=SHOP_RETRY_JITTER)


def park(item: OutboxItem, reason: str, now: datetime) -> None:
    """Park an outbox item: no worker takes it again until a person retries it."""
    item.parked_at = now
    item.last_error = reason[:500]


def record_failure(
    item: OutboxItem,
    reason: str,
    now: datetime,
    *,
    permanent: bool = False,
    wait_at_least: timedelta | None = None,
) -> str:
    """Count one failed try of an outbox item; retry it with backoff or park it; return "retrying" or "parked".

    ``permanent`` parks at once (waiting cannot help); ``wait_at_least`` stretches the wait (a ``Retry-After``).
    """
    item.attempts += 1
    if permanent or item.attempts >= MAX_SHOP_ATTEMPTS:
        park(item, reason, now)
        return "parked"
    item.next_attempt_at = now + max(shop_retry_delay(item.attempts), wait_at_least or timedelta(0))
    item.last_error = reason[:500]
    return "retrying"


def park_where(model: Any, *conditions: sa.ColumnElement[bool], reason: str, now: datetime) -> list[int]:
    """Park every unparked row of ``model`` that meets ``conditions``; return their ids (the caller commits)."""
    return sorted(
        db.session.scalars(
            sa.update(model)
            .where(model.parked_at.is_(None), *conditions)
            .values(parked_at=now, last_error=reason[:500])
            .returning(model.id)
        )
    )
