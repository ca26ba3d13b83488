"""Worker-side helpers for outbox tables: lease due rows to one worker, and back off between retries.

A lease is ``next_attempt_at`` moved into the future: other workers skip the row until it runs out, so a
worker that dies mid-row leaves it to the next one once the lease expires. On PostgreSQL the due rows are
picked with ``FOR UPDATE SKIP LOCKED``, so concurrent workers lease disjoint rows; SQLite has one writer
and ignores the lock clause.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from backend.extensions import db

# Beyond this many doublings every sensible base is far past any cap; it keeps timedelta from overflowing.
MAX_DOUBLINGS = 32


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
