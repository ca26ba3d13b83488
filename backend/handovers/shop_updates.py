"""Writes to the shop about handovers and payments: queued once per key, sent by a worker until acknowledged.

``process_shop_updates`` writes to the shop and retries with the shop outbox policy (``backend.outbox``)
until it acknowledges, parking what keeps failing; case fields and payment amounts are rendered when sent, so
the latest state wins whatever order retries happen in.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from backend.extensions import db, dialect_insert, utcnow
from backend.handovers.leases import submission_lease
from backend.handovers.models import Handover, HandoverStatus, ShopUpdate, ShopUpdateKind
from backend.merchants.models import ShopConnection
from backend.outbox import lease_due, park_where, record_failure
from backend.receivables.models import Receivable

logger = logging.getLogger(__name__)

SHOP_PLATFORMS = ("shopware", "woocommerce")
CASE_FIELD_STATUS = "claimbridge_case_status"
CASE_FIELD_ID = "claimbridge_case_id"
CASE_FIELD_HANDED_OVER_AT = "claimbridge_handed_over_at"


def shop_connections(merchant_id: int) -> list[ShopConnection]:
    """Return the merchant's active shop connections that take updates, oldest first."""
    return list(
        db.session.scalars(
            sa.select(ShopConnection)
            .where(
                ShopConnection.merchant_id == merchant_id,
                ShopConnection.status == "active",
                ShopConnection.platform.in_(SHOP_PLATFORMS),
            )
            .order_by(ShopConnection.id)
        )
    )


def queue_shop_update(
    *,
    merchant_id: int,
    connection_id: int,
    external_order_id: str | None,
    kind: ShopUpdateKind,
    key: str,
    payload: dict[str, Any],
    handover_id: int | None = None,
) -> None:
    """Queue a write to the shop once per ``key`` (a repeated key adds nothing); ``process_shop_updates`` sends it."""
    now = utcnow()
    db.session.execute(
        dialect_insert(ShopUpdate)
        .values(
            merchant_id=merchant_id,
            connection_id=connection_id,
            handover_id=handover_id,
            external_order_id=external_order_id,
            kind=kind.value,
            payload=payload,
            idempotency_key=key[:200],
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )


def _queue_for_order(handover: Handover, kind: ShopUpdateKind, suffix: str, payload: dict[str, Any]) -> None:
    receivable = handover.receivable
    connection = db.session.get(ShopConnection, receivable.connection_id)
    if connection is None or connection.platform not in SHOP_PLATFORMS:
        return
    queue_shop_update(
        merchant_id=handover.merchant_id,
        connection_id=connection.id,
        handover_id=handover.id,
        external_order_id=receivable.external_id,
        kind=kind,
        key=f"{handover.idempotency_key}:{kind.value}:{suffix}",
        payload=payload,
    )


def queue_case_fields(handover: Handover, suffix: str) -> None:
    """Queue writing the case fields to the handover's order (rendered when sent)."""
    _queue_for_order(handover, ShopUpdateKind.CASE_FIELDS, suffix, {})


def queue_order_note(handover: Handover, text: str, suffix: str) -> None:
    """Queue a note on the handover's order."""
    _queue_for_order(handover, ShopUpdateKind.NOTE, suffix, {"text": text})


def queue_shop_payment(handover: Handover, receivable: Receivable) -> None:
    """Queue marking the handover's order paid as far as it is paid (rendered when sent)."""
    _queue_for_order(handover, ShopUpdateKind.PAYMENT, f"paid:{handover.collected_total}", {})


def case_fields(handover: Handover) -> dict[str, Any]:
    """Return the ``claimbridge_*`` fields that show the case in the shop order, as of now."""
    status = handover.status
    if status == HandoverStatus.SUBMITTED.value and handover.legal_stage:
        status = handover.legal_stage
    return {
        CASE_FIELD_STATUS: status,
        CASE_FIELD_ID: handover.agency_reference or handover.case_id,
        CASE_FIELD_HANDED_OVER_AT: handover.submitted_at.isoformat() if handover.submitted_at else None,
        "claimbridge_case_agency": handover.agency,
        "claimbridge_case_payment_state": handover.payment_state,
        "claimbridge_case_processing_state": handover.processing_state,
        "claimbridge_case_collected": str(handover.collected_total),
        "claimbridge_case_balance": None if handover.balance_total is None else str(handover.balance_total),
    }


def _perform(update: ShopUpdate) -> None:
    from backend.merchants.connectors import connector_for  # here: see process_shop_updates

    connection = db.session.get(ShopConnection, update.connection_id)
    # No retry inside the call: a write whose answer was lost may still land, and an immediate second write to
    # the order could be overwritten by it. Every failure goes back to the outbox, which holds the order's
    # later writes behind it and honours the shop's Retry-After.
    connector = connector_for(connection, max_retries=0)
    try:
        kind = ShopUpdateKind(update.kind)
        if kind is ShopUpdateKind.ADMIN_NOTICE:
            connector.notify_admin(
                update.payload["text"],
                order_id=update.external_order_id,
                idempotency_key=update.idempotency_key,
            )
            return
        if kind is ShopUpdateKind.CASE_FIELDS:
            connector.write_case_fields(
                update.external_order_id, case_fields(db.session.get(Handover, update.handover_id))
            )
        elif kind is ShopUpdateKind.NOTE:
            connector.add_order_note(update.external_order_id, update.payload["text"])
        else:
            receivable = db.session.scalars(
                sa.select(Receivable).filter_by(
                    connection_id=update.connection_id, external_id=update.external_order_id
                )
            ).one()
            # Amount and state as of now, so retries in any order leave the latest payment state in the shop.
            amount = min(receivable.paid_amount, receivable.total_amount)
            connector.mark_paid(update.external_order_id, amount, partial=receivable.balance > 0)
    finally:
        connector.close()


def _hold_shop_writes(connection_id: int, until: datetime) -> None:
    """Keep every pending write to one shop until ``until`` (the shop answered 429 with a Retry-After)."""
    db.session.execute(
        sa.update(ShopUpdate)
        .where(
            ShopUpdate.connection_id == connection_id,
            ShopUpdate.done_at.is_(None),
            ShopUpdate.parked_at.is_(None),
            ShopUpdate.next_attempt_at < until,
        )
        .values(next_attempt_at=until)
    )


def process_shop_updates(limit: int = 100) -> str:
    """Write queued updates (handovers', payments') to the shops; retry with backoff, park what keeps failing.

    A shop that answers 429 gets nothing more until its ``Retry-After`` has passed: not that write, nor any
    other write waiting for it. After a failed write to an order, that order's later writes wait their turn.
    Updates for a connection that is no longer active are parked at once (``backend.outbox``).
    """
    # Here, not at the top: the shop connectors bring requests and the platforms' clients, which a process
    # that only queues updates (a statement import applying payments) need not load at start-up.
    from backend.merchants.connectors import INACTIVE_CONNECTION, inactive_connection_ids
    from connectors.errors import ConnectorError, RateLimitError

    counts: Counter[str] = Counter()
    now = utcnow()
    parked = park_where(
        ShopUpdate,
        ShopUpdate.done_at.is_(None),
        ShopUpdate.connection_id.in_(inactive_connection_ids()),
        reason=INACTIVE_CONNECTION,
        now=now,
    )
    counts["parked"] += len(parked)
    leased = lease_due(
        ShopUpdate,
        ShopUpdate.done_at.is_(None),
        ShopUpdate.parked_at.is_(None),
        ShopUpdate.next_attempt_at <= now,
        now=now,
        lease=submission_lease(),
        limit=limit,
    )
    held: dict[Any, datetime] = {}  # a shop (connection id) or one order that must wait, and until when
    for update_id in leased:
        update = db.session.get(ShopUpdate, update_id)
        order = (update.connection_id, update.external_order_id)
        wait_until = held.get(update.connection_id) or held.get(order)
        if wait_until is not None:
            update.next_attempt_at = wait_until
            db.session.commit()
            counts["held back"] += 1
            continue
        try:
            _perform(update)
        except Exception as error:
            db.session.rollback()
            update = db.session.get(ShopUpdate, update_id)
            retry_after = (
                timedelta(seconds=error.retry_after or 0) if isinstance(error, RateLimitError) else None
            )
            outcome = record_failure(
                update, f"{type(error).__name__}: {error}", utcnow(), wait_at_least=retry_after
            )
            if outcome == "retrying" and retry_after is not None:
                held[update.connection_id] = update.next_attempt_at
                _hold_shop_writes(update.connection_id, update.next_attempt_at)
            if outcome == "retrying" and update.external_order_id is not None:
                # Writes to one order keep their order: a note must not overtake one that may still land late.
                held[order] = update.next_attempt_at
            if isinstance(error, ConnectorError):
                logger.warning(
                    "shop update %s failed (attempt %s, %s): %s",
                    update_id,
                    update.attempts,
                    outcome,
                    type(error).__name__,
                )
            else:
                logger.exception("shop update %s failed (%s)", update_id, outcome)
            counts[outcome] += 1
        else:
            update.done_at = utcnow()
            counts["done"] += 1
        db.session.commit()
    return (
        ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()) if count)
        or "nothing to write"
    )
