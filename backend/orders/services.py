"""Ingestion of invoice orders into receivables: one idempotent upsert for every source.

Sources: shop webhooks (which only say "re-fetch this order", queued in ``OrderSyncRequest``), the periodic
reconciliation poll per connection (``modified_after`` from a stored cursor, with overlap, so a lost or
coalesced webhook is caught within one interval), the push API and the CSV import.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from backend.extensions import db, utcnow
from backend.merchants.connectors import connector_for
from backend.merchants.models import Merchant, ShopConnection
from backend.orders.models import OrderSyncRequest, Receivable, ReceivableEvent
from backend.orders.states import State, state_from_shop
from backend.risk.identity import keyed_hash, normalise_address, normalise_email
from backend.risk.inputs import Address as RiskAddress
from backend.risk.services import get_policy
from connectors.errors import ConnectorError
from connectors.errors import NotFoundError as ShopOrderNotFound
from connectors.shops.base import ShopOrder

logger = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT_PAYMENT_TERMS_DAYS = 14
RECONCILE_OVERLAP = timedelta(minutes=10)
SYNC_LEASE = timedelta(minutes=5)
SYNC_MAX_BACKOFF = timedelta(hours=6)
TRACKED_FIELDS = (
    "number",
    "state",
    "platform_state",
    "currency",
    "total_amount",
    "paid_amount",
    "payment_method",
    "invoice_date",
    "due_date",
    "paid_at",
    "debtor_kind",
    "risk_check_id",
)


@dataclass
class UpsertResult:
    """What one upsert did: ``receivable`` is None when the order is not an invoice order."""

    receivable: Receivable | None
    created: bool = False
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        if self.receivable is None:
            return "skipped"
        if self.created:
            return "created"
        return "updated" if self.changed else "unchanged"


def berlin_date(moment: datetime) -> date:
    """Return the Europe/Berlin calendar day of a UTC moment (legal deadlines count in local days)."""
    return moment.astimezone(BERLIN).date()


def payment_terms_days(merchant: Merchant) -> int:
    """Return the merchant's payment term in days (default 14)."""
    return int(merchant.settings.get("payment_terms_days", DEFAULT_PAYMENT_TERMS_DAYS))


def _address_dict(address: Any) -> dict[str, Any] | None:
    return None if address is None else {k: v for k, v in asdict(address).items() if v is not None}


def _identity_keys(order: ShopOrder) -> tuple[str | None, str | None]:
    secret = current_app.config["CLAIMBRIDGE_IDENTITY_KEY"]
    email_key = keyed_hash(secret, "email", normalise_email(order.buyer.email or "")) or None
    billing = RiskAddress.from_payload(_address_dict(order.billing_address) or {})
    address_key = keyed_hash(secret, "address", normalise_address(billing)) or None
    return email_key, address_key


def _paid_amount(order: ShopOrder, receivable: Receivable | None) -> Decimal:
    """Take the shop's paid amount when it reports one; a shop that only says "paid" means the total."""
    known = receivable.paid_amount if receivable is not None else Decimal("0.00")
    if order.paid_amount is not None:
        return max(order.paid_amount, known)
    if order.state == State.PAID:
        return max(order.total, known)
    return known


def _record(receivable: Receivable, kind: str, actor: str, data: dict[str, Any]) -> None:
    db.session.add(ReceivableEvent(receivable_id=receivable.id, kind=kind, actor=actor, data=data))


def _json_value(value: Any) -> Any:
    return value if isinstance(value, str | int | bool | type(None)) else str(value)


def upsert_order(
    connection: ShopConnection,
    order: ShopOrder,
    *,
    actor: str,
    due_date: date | None = None,
    track_any_method: bool = False,
) -> UpsertResult:
    """Create or update the receivable of a shop order; idempotent by (connection, external id).

    Orders paid another way than by invoice are not stored unless already tracked (or ``track_any_method``,
    for pushes and imports, where the merchant sends only invoice orders).
    """
    receivable = db.session.scalar(
        sa.select(Receivable).filter_by(connection_id=connection.id, external_id=order.external_id)
    )
    policy = get_policy(connection.merchant_id)
    if receivable is None and not track_any_method and order.payment_method not in policy.invoice_methods:
        return UpsertResult(receivable=None)

    invoice_date = berlin_date(order.invoiced_at or order.ordered_at)
    if due_date is None:
        if receivable is not None and receivable.invoice_date == invoice_date:
            due_date = receivable.due_date
        else:
            due_date = invoice_date + timedelta(days=payment_terms_days(connection.merchant))
    email_key, address_key = _identity_keys(order)
    values: dict[str, Any] = {
        "number": order.number,
        "platform_state": "/".join(filter(None, [order.platform_order_state, order.platform_payment_state])),
        "currency": order.currency.upper(),
        "total_amount": order.total,
        "paid_amount": _paid_amount(order, receivable),
        "payment_method": order.payment_method,
        "debtor_kind": "business" if order.billing_address.company else "consumer",
        "ordered_at": order.ordered_at,
        "invoice_date": invoice_date,
        "due_date": due_date,
        "paid_at": order.paid_at,
        "buyer": {k: v for k, v in asdict(order.buyer).items() if v not in (None, "")},
        "billing_address": _address_dict(order.billing_address) or {},
        "shipping_address": _address_dict(order.shipping_address),
        "line_items": [
            {**asdict(item), "unit_price": str(item.unit_price), "total": str(item.total)}
            for item in order.line_items
        ],
        "email_key": email_key,
        "address_key": address_key,
        "risk_check_id": order.risk_check_id or (receivable.risk_check_id if receivable else None),
        "source_modified_at": order.modified_at,
    }
    created = receivable is None
    if created:
        receivable = Receivable(
            merchant_id=connection.merchant_id,
            connection_id=connection.id,
            external_id=order.external_id,
            state=State(order.state).value,
            **values,
        )
        db.session.add(receivable)
        db.session.flush()
        _record(receivable, "created", actor, {"state": receivable.state, "total": str(order.total)})
        logger.info(
            "receivable %s created from %s order %s", receivable.id, connection.platform, order.number
        )
        return UpsertResult(receivable=receivable, created=True)

    values["state"] = state_from_shop(receivable.state, order.state).value
    changed = {
        name: (_json_value(getattr(receivable, name)), _json_value(values[name]))
        for name in TRACKED_FIELDS
        if getattr(receivable, name) != values[name]
    }
    for name, value in values.items():
        setattr(receivable, name, value)
    if changed:
        _record(receivable, "synced", actor, {name: list(pair) for name, pair in changed.items()})
    return UpsertResult(receivable=receivable, changed=changed)


def request_order_sync(connection: ShopConnection, external_id: str, *, reason: str) -> None:
    """Queue an order for re-fetching from its shop (what a webhook means); repeated requests coalesce."""
    table = OrderSyncRequest.__table__
    now = utcnow()
    values = {
        "connection_id": connection.id,
        "external_id": external_id,
        "reason": reason,
        "next_attempt_at": now,
    }
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(**values, attempts=0, requested_at=now)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["connection_id", "external_id"],
            set_={"reason": reason, "next_attempt_at": now, "attempts": 0},
        )
    )


def _claim_sync_requests(limit: int) -> list[OrderSyncRequest]:
    """Lease due requests to this worker (SKIP LOCKED on PostgreSQL); a crashed worker's lease runs out."""
    now = utcnow()
    due = (
        sa.select(OrderSyncRequest.id)
        .where(OrderSyncRequest.next_attempt_at <= now)
        .order_by(OrderSyncRequest.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(
        db.session.scalars(
            sa.update(OrderSyncRequest)
            .where(OrderSyncRequest.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=now + SYNC_LEASE)
            .returning(OrderSyncRequest.id)
        )
    )
    db.session.commit()
    if not ids:
        return []
    return list(db.session.scalars(sa.select(OrderSyncRequest).where(OrderSyncRequest.id.in_(ids))))


def _retry_later(request: OrderSyncRequest, error: Exception) -> None:
    request.attempts += 1
    delay = min(timedelta(seconds=30) * 2 ** (request.attempts - 1), SYNC_MAX_BACKOFF)
    request.next_attempt_at = utcnow() + delay
    request.last_error = f"{type(error).__name__}: {error}"[:500]
    logger.warning(
        "order sync %s:%s failed (attempt %s): %s",
        request.connection_id,
        request.external_id,
        request.attempts,
        type(error).__name__,
    )


def process_order_sync_requests(limit: int = 100) -> int:
    """Re-fetch queued orders and upsert them; return how many were synced. Commits per order."""
    synced = 0
    for request in _claim_sync_requests(limit):
        connection = db.session.get(ShopConnection, request.connection_id)
        try:
            connector = connector_for(connection)
            try:
                order = connector.get_order(request.external_id)
            finally:
                connector.close()
            upsert_order(connection, order, actor=f"sync:{request.reason}")
            db.session.delete(request)
            synced += 1
        except ShopOrderNotFound:
            logger.info("order %s no longer exists in shop %s", request.external_id, connection.id)
            db.session.delete(request)
        except ConnectorError as error:
            _retry_later(request, error)
        db.session.commit()
    return synced


@dataclass
class ReconcileResult:
    """Counts of one reconciliation run."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    cursor: datetime | None = None

    def add(self, result: UpsertResult) -> None:
        setattr(self, result.outcome, getattr(self, result.outcome) + 1)

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, {self.skipped} skipped"


def reconcile_connection(connection: ShopConnection) -> ReconcileResult:
    """Poll a shop for invoice orders changed since the stored cursor (with overlap) and upsert them."""
    result = ReconcileResult()
    policy = get_policy(connection.merchant_id)
    since = connection.sync_cursor - RECONCILE_OVERLAP if connection.sync_cursor else None
    newest = connection.sync_cursor
    connector = connector_for(connection)
    try:
        for order in connector.iter_orders(modified_after=since, payment_method=list(policy.invoice_methods)):
            result.add(upsert_order(connection, order, actor="reconcile"))
            if order.modified_at and (newest is None or order.modified_at > newest):
                newest = order.modified_at
    finally:
        connector.close()
    connection.sync_cursor = newest
    connection.last_synced_at = utcnow()
    result.cursor = newest
    logger.info("connection %s reconciled: %s", connection.id, result)
    return result


def reconcile_all_connections() -> str:
    """Reconcile every active shop connection; one failing shop does not stop the others."""
    connections = db.session.scalars(
        sa.select(ShopConnection).where(
            ShopConnection.status == "active", ShopConnection.platform.in_(("shopware", "woocommerce"))
        )
    ).all()
    failures = 0
    for connection in connections:
        try:
            reconcile_connection(connection)
            db.session.commit()
        except ConnectorError as error:
            db.session.rollback()
            failures += 1
            logger.warning("reconciling connection %s failed: %s", connection.id, type(error).__name__)
    return f"{len(connections) - failures} reconciled, {failures} failed"
