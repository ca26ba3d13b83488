"""Reading receivables with filters and aging, and the merchant's manual actions on them.

Aging counts calendar days past the due date in Europe/Berlin: ``0-30`` is due today up to 30 days ago,
``90+`` is more than 90 days. Aging and ``overdue`` only consider receivables on which money is still owed
(open, partially paid, disputed or in collection, with a balance above zero).

Every manual action (dispute, resolving it, stopping and resuming dunning) changes the receivable through
its ledger (``backend.receivables.ledger``), which writes the history; this module adds the audit event.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from backend.audit.services import record_event
from backend.errors import ConflictError, NotFoundError
from backend.extensions import db
from backend.receivables import ledger
from backend.receivables.ledger import EventKind
from backend.receivables.models import Receivable, ReceivableEvent
from backend.receivables.states import State, TransitionError

AGING_BUCKETS: dict[str, tuple[int, int | None]] = {
    "0-30": (0, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "90+": (91, None),
}
OWED_STATES = (State.OPEN, State.PARTIALLY_PAID, State.DISPUTED, State.IN_COLLECTION)
RESOLVED_STATES = (State.OPEN, State.PARTIALLY_PAID, State.PAID, State.CANCELLED, State.REFUNDED)


@dataclass(frozen=True)
class ReceivableQuery:
    """Filters and page of a receivables listing."""

    states: tuple[str, ...] = ()
    overdue: bool | None = None
    aging: str | None = None
    number: str | None = None
    page: int = 1
    per_page: int = 20


def _owed() -> sa.ColumnElement[bool]:
    balance = Receivable.total_amount - Receivable.paid_amount - Receivable.credited_amount
    return sa.and_(Receivable.state.in_([state.value for state in OWED_STATES]), balance > 0)


def list_receivables(merchant_id: int, query: ReceivableQuery, today: date) -> tuple[list[Receivable], int]:
    """Return one page of the merchant's receivables (most overdue first) and the total count."""
    conditions: list[sa.ColumnElement[bool]] = [Receivable.merchant_id == merchant_id]
    if query.states:
        conditions.append(Receivable.state.in_(query.states))
    if query.overdue is True:
        conditions += [_owed(), Receivable.due_date < today]
    elif query.overdue is False:
        conditions.append(sa.not_(sa.and_(_owed(), Receivable.due_date < today)))
    if query.aging is not None:
        least, most = AGING_BUCKETS[query.aging]
        conditions += [_owed(), Receivable.due_date <= today - timedelta(days=least)]
        if most is not None:
            conditions.append(Receivable.due_date >= today - timedelta(days=most))
    if query.number:
        conditions.append(Receivable.number.icontains(query.number.strip(), autoescape=True))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Receivable).where(*conditions))
    rows = db.session.scalars(
        sa.select(Receivable)
        .where(*conditions)
        .order_by(Receivable.due_date, Receivable.id)
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    )
    return list(rows), total or 0


def get_receivable(merchant_id: int, receivable_id: int, *, for_update: bool = False) -> Receivable:
    """Return one of the merchant's receivables; another merchant's is simply not found."""
    statement = sa.select(Receivable).filter_by(id=receivable_id, merchant_id=merchant_id)
    if for_update:
        statement = statement.with_for_update()
    receivable = db.session.scalar(statement)
    if receivable is None:
        raise NotFoundError(f"receivable {receivable_id} not found")
    return receivable


def events_of(receivable_id: int) -> list[ReceivableEvent]:
    """Return a receivable's history, oldest first."""
    return list(
        db.session.scalars(
            sa.select(ReceivableEvent)
            .filter_by(receivable_id=receivable_id)
            .order_by(ReceivableEvent.created_at, ReceivableEvent.id)
        )
    )


def _audit(receivable: Receivable, kind: EventKind, actor: str, details: dict[str, Any]) -> None:
    record_event(
        f"receivable.{kind}",
        actor=actor,
        merchant_id=receivable.merchant_id,
        target_type="receivable",
        target_id=receivable.id,
        details=details,
    )


def dispute_receivable(merchant_id: int, receivable_id: int, *, reason: str, actor: str) -> Receivable:
    """Mark the claim as contested: dunning and handover stop until the dispute is resolved."""
    receivable = get_receivable(merchant_id, receivable_id, for_update=True)
    previous = receivable.state
    with _conflict_on_transition():
        ledger.open_dispute(receivable, reason=reason, actor=actor)
    _audit(receivable, EventKind.DISPUTED, actor, {"reason": reason, "previous_state": previous})
    return receivable


def resolve_dispute(
    merchant_id: int, receivable_id: int, *, note: str, actor: str, state: str | None = None
) -> Receivable:
    """End a dispute; the receivable returns to the state its amounts give, or to ``state`` when given."""
    receivable = get_receivable(merchant_id, receivable_id, for_update=True)
    reason = receivable.dispute_reason
    with _conflict_on_transition():
        ledger.resolve_dispute(receivable, note=note, actor=actor, state=state)
    _audit(
        receivable,
        EventKind.DISPUTE_RESOLVED,
        actor,
        {"note": note, "reason": reason, "state": receivable.state},
    )
    return receivable


def stop_dunning(merchant_id: int, receivable_id: int, *, reason: str, actor: str) -> Receivable:
    """Stop dunning this order (idempotent; a repeated stop updates the reason)."""
    receivable = get_receivable(merchant_id, receivable_id, for_update=True)
    ledger.stop_dunning(receivable, reason=reason, actor=actor)
    _audit(receivable, EventKind.DUNNING_STOPPED, actor, {"reason": reason})
    return receivable


def resume_dunning(merchant_id: int, receivable_id: int, *, actor: str) -> Receivable:
    """Lift this order's dunning stop (idempotent); dunning continues with its next stage."""
    receivable = get_receivable(merchant_id, receivable_id, for_update=True)
    reason = receivable.dunning_stop_reason
    if ledger.resume_dunning(receivable, actor=actor):
        _audit(receivable, EventKind.DUNNING_RESUMED, actor, {"reason": reason})
    return receivable


@contextmanager
def _conflict_on_transition() -> Iterator[None]:
    """Turn a transition the lifecycle forbids into a 409."""
    try:
        yield
    except TransitionError as error:
        raise ConflictError(str(error), code="invalid_transition") from None
