"""Parked shop writes across the three outboxes: list them, retry or discard one; depth and parked per outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.audit.services import record_event
from backend.dunning.models import DunningNotice, NoticeStatus, ShopAction, ShopActionStatus
from backend.errors import ConflictError, NotFoundError
from backend.extensions import db, utcnow
from backend.handovers.models import ShopUpdate
from backend.merchants.models import ShopConnection
from backend.orders.models import OrderSyncRequest
from backend.receivables.models import Receivable

OUTBOXES = ("shop_updates", "shop_actions", "order_syncs")


@dataclass(frozen=True)
class ParkedItem:
    """One parked item of any shop outbox, as the API, CLI and console show it."""

    outbox: str
    id: int
    merchant_id: int
    connection_id: int
    kind: str
    order_id: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    parked_at: datetime


def _model(outbox: str) -> Any:
    models = {"shop_updates": ShopUpdate, "shop_actions": ShopAction, "order_syncs": OrderSyncRequest}
    if outbox not in models:
        raise NotFoundError(f"no outbox {outbox!r}; one of {', '.join(OUTBOXES)}")
    return models[outbox]


def _waiting(outbox: str) -> sa.ColumnElement[bool]:
    """Return the condition of an outbox's items that wait to be sent (neither done nor parked)."""
    model = _model(outbox)
    if outbox == "shop_updates":
        return sa.and_(model.done_at.is_(None), model.parked_at.is_(None))
    if outbox == "shop_actions":
        pending = (ShopActionStatus.PENDING.value, ShopActionStatus.RUNNING.value)
        return sa.and_(model.status.in_(pending), model.parked_at.is_(None))
    return model.parked_at.is_(None)


def _created(outbox: str) -> sa.ColumnElement[datetime]:
    return OrderSyncRequest.requested_at if outbox == "order_syncs" else _model(outbox).created_at


def _parked_of(outbox: str, kind: sa.ColumnElement[str], order_id: sa.ColumnElement[str]) -> sa.Select[Any]:
    """Return the parked items of one outbox with the columns of ``ParkedItem``."""
    model = _model(outbox)
    return (
        sa.select(
            sa.literal(outbox).label("outbox"),
            model.id.label("id"),
            ShopConnection.merchant_id.label("merchant_id"),
            model.connection_id.label("connection_id"),
            kind.label("kind"),
            order_id.label("order_id"),
            model.attempts.label("attempts"),
            model.last_error.label("last_error"),
            _created(outbox).label("created_at"),
            model.parked_at.label("parked_at"),
        )
        .join(ShopConnection, ShopConnection.id == model.connection_id)
        .where(model.parked_at.is_not(None))
    )


def _parked_selection() -> sa.Subquery:
    """Return every parked item of every outbox as one subquery."""
    actions = _parked_of("shop_actions", ShopAction.action, Receivable.external_id).join(
        Receivable, Receivable.id == ShopAction.receivable_id
    )
    return sa.union_all(
        _parked_of("shop_updates", ShopUpdate.kind, ShopUpdate.external_order_id),
        actions,
        _parked_of("order_syncs", sa.literal("order_sync"), OrderSyncRequest.external_id),
    ).subquery("parked")


def parked_items(
    merchant_id: int | None, *, outbox: str | None = None, item_id: int | None = None, limit: int = 100
) -> list[ParkedItem]:
    """Return parked items, oldest parked first: one merchant's, or (``merchant_id`` None) every merchant's."""
    parked = _parked_selection()
    query = sa.select(parked).order_by(parked.c.parked_at, parked.c.outbox, parked.c.id).limit(limit)
    if merchant_id is not None:
        query = query.where(parked.c.merchant_id == merchant_id)
    if outbox is not None:
        query = query.where(parked.c.outbox == outbox)
    if item_id is not None:
        query = query.where(parked.c.id == item_id)
    return [ParkedItem(**row._asdict()) for row in db.session.execute(query)]


def parked_count(merchant_id: int) -> int:
    """Return how many of the merchant's shop writes are parked."""
    parked = _parked_selection()
    return db.session.scalar(sa.select(sa.func.count()).where(parked.c.merchant_id == merchant_id)) or 0


def _parked_row(outbox: str, item_id: int, merchant_id: int | None) -> tuple[Any, ShopConnection]:
    """Return a parked item's row and its connection (another merchant's is not found); lock the row."""
    model = _model(outbox)
    query = (
        sa.select(model, ShopConnection)
        .join(ShopConnection, ShopConnection.id == model.connection_id)
        .where(model.id == item_id)
        .with_for_update(of=model)
    )
    if merchant_id is not None:
        query = query.where(ShopConnection.merchant_id == merchant_id)
    found = db.session.execute(query).one_or_none()
    if found is None:
        raise NotFoundError(f"{outbox} item {item_id} not found")
    row, connection = found
    if row.parked_at is None:
        raise ConflictError(
            "This item is not parked; its worker is still sending it.",
            code="not_parked",
            details={"outbox": outbox, "id": item_id},
        )
    return row, connection


def retry_parked(outbox: str, item_id: int, *, merchant_id: int | None, actor: str) -> ParkedItem:
    """Put a parked item back into its outbox with a fresh count of tries; return it as it was parked."""
    row, connection = _parked_row(outbox, item_id, merchant_id)
    [item] = parked_items(merchant_id, outbox=outbox, item_id=item_id, limit=1)
    if connection.status != "active":
        raise ConflictError(
            f"The shop connection is {connection.status}; connect the shop again before retrying.",
            code="connection_not_active",
            details={"connection_id": connection.id},
        )
    row.parked_at = None
    row.attempts = 0
    row.next_attempt_at = utcnow()
    if outbox == "shop_actions":
        row.status = ShopActionStatus.PENDING.value
        notice = db.session.get(DunningNotice, row.notice_id) if row.notice_id else None
        if notice is not None and notice.status == NoticeStatus.FAILED.value:
            notice.status = NoticeStatus.QUEUED.value
    _audit("shop_outbox.retried", item, actor)
    return item


def discard_parked(outbox: str, item_id: int, *, merchant_id: int | None, actor: str) -> ParkedItem:
    """Delete a parked item for good (the audit trail keeps what it was); return it."""
    row, _ = _parked_row(outbox, item_id, merchant_id)
    [item] = parked_items(merchant_id, outbox=outbox, item_id=item_id, limit=1)
    db.session.delete(row)
    _audit("shop_outbox.discarded", item, actor)
    return item


def _audit(action: str, item: ParkedItem, actor: str) -> None:
    record_event(
        action,
        actor=actor,
        merchant_id=item.merchant_id,
        target_type=item.outbox,
        target_id=item.id,
        details={
            "kind": item.kind,
            "connection": item.connection_id,
            "order": item.order_id,
            "attempts": item.attempts,
            "last_error": item.last_error,
        },
    )


def outbox_depths(now: datetime | None = None) -> dict[str, dict[str, float]]:
    """Return per shop outbox its depth (waiting to be sent), parked items and the oldest waiting item's age (s).

    Read by ``/metrics``; one statement per outbox, all merchants.
    """
    now = now or utcnow()
    levels = {}
    for outbox in OUTBOXES:
        model, waiting = _model(outbox), _waiting(outbox)
        depth, oldest, parked = db.session.execute(
            sa.select(
                sa.func.count().filter(waiting),
                sa.func.min(_created(outbox)).filter(waiting),
                sa.func.count().filter(model.parked_at.is_not(None)),
            ).select_from(model)
        ).one()
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        levels[outbox] = {"depth": depth, "parked": parked, "oldest_seconds": max(age, 0.0)}
    return levels
