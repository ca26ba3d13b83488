"""Ingestion of invoice orders into receivables: one idempotent upsert for every source.

Sources: shop webhooks (which only say "re-fetch this order", queued in ``OrderSyncRequest``), the periodic
reconciliation poll per connection (``modified_after`` from a stored cursor, with overlap, so a lost or
coalesced webhook is caught within one interval), the push API and the CSV import.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hmac
import logging
import multiprocessing
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backend.background import BackgroundJob
from backend.dates import berlin_date
from backend.dunning.law import ClaimSettings, debtor_kind_from
from backend.errors import ConflictError, NotFoundError, UserValueError
from backend.extensions import (
    PreparedStatement,
    bulk_write_cache,
    db,
    dialect_insert,
    keep_statistics,
    one_of,
    plan_for_growing_tables,
    utcnow,
)
from backend.merchants.connectors import (
    INACTIVE_CONNECTION,
    connector_for,
    for_each_active_connection,
    inactive_connection_ids,
    invoice_methods_of,
)
from backend.merchants.models import ApiClient, Merchant, ShopConnection
from backend.orders.csv_import import (
    MAX_EXTERNAL_ID,
    CellFields,
    CsvRow,
    CsvRows,
    RowChecker,
    RowError,
    _CellLoader,
    check_cells,
    digest_key,
    row_digest,
)
from backend.orders.models import OrderSyncRequest
from backend.orders.push import shop_order_from_push
from backend.outbox import lease_due, park, park_where, record_failure
from backend.receivables import ledger
from backend.receivables.ledger import MoneySource
from backend.receivables.models import Receivable
from backend.receivables.payment_references import ReferenceMaker, assign_payment_reference
from backend.receivables.states import State, state_from_shop
from backend.risk.identity import keyed_hash, normalise_address, normalise_email
from backend.risk.inputs import Address as RiskAddress
from connectors.errors import ConnectorError
from connectors.errors import NotFoundError as ShopOrderNotFound
from connectors.shops.base import ShopConnector, ShopOrder

logger = logging.getLogger(__name__)

RECONCILE_OVERLAP = timedelta(minutes=10)
SYNC_LEASE = timedelta(minutes=5)
RECONCILE_CHECKPOINT = 100
SHOP_PLATFORMS = ("shopware", "woocommerce")
DISPUTABLE = frozenset({State.OPEN.value, State.PARTIALLY_PAID.value, State.PAID.value})
RECHECK_BATCH = 100  # WooCommerce's per_page maximum
# Receivables whose order can still change what is owed: re-read them even when the shop's date says nothing.
RECHECKED_STATES = frozenset({State.OPEN, State.PARTIALLY_PAID, State.DISPUTED, State.IN_COLLECTION})
IMPORT_BATCH = 1000  # rows stored per set of statements


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


def payment_terms_days(merchant: Merchant) -> int:
    """Return the merchant's payment term in days (its claim settings; default 14)."""
    return ClaimSettings.from_settings(merchant.settings).payment_terms_days


def _address_dict(address: Any) -> dict[str, Any] | None:
    # vars(), not asdict(): the shop dataclasses are flat, and asdict's deep copy cost bulk imports dearly.
    return None if address is None else {k: v for k, v in vars(address).items() if v is not None}


class _BuyerKeys:
    """The identity keys of orders' buyers, each computed once per e-mail and per billing address.

    One lives as long as a batch or an import: an import's buyers repeat (a customer with many open items),
    and the keys are only the risk area's functions applied to the same texts.
    """

    LIMIT = 4096  # per kind: enough for the repeating buyers, and unique ones do not pile up

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._emails: dict[str, str | None] = {}
        self._addresses: dict[tuple[tuple[str, Any], ...], str | None] = {}

    def __call__(self, email: str | None, billing_address: dict[str, Any]) -> tuple[str | None, str | None]:
        """Return the e-mail key and the billing address key (None where the order lacks the data)."""
        email = email or ""
        email_key = self._emails.get(email, False)
        if email_key is False:
            email_key = keyed_hash(self._secret, "email", normalise_email(email)) or None
            _remember(self._emails, email, email_key)
        # The address dict's items in their order: equal items are an equal address (another order only misses).
        address = tuple(billing_address.items())
        address_key = self._addresses.get(address, False)
        if address_key is False:
            billing = RiskAddress.from_payload(billing_address)
            address_key = keyed_hash(self._secret, "address", normalise_address(billing)) or None
            _remember(self._addresses, address, address_key)
        return email_key, address_key


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _BuyerKeys.LIMIT:
        memo.clear()
    memo[key] = value


def _paid_amount(order: ShopOrder, receivable: Receivable | None) -> Decimal:
    """Take the shop's paid amount when it reports one; a shop that only says "paid" means the total."""
    known = receivable.paid_amount if receivable is not None else ledger.ZERO
    if order.paid_amount is not None:
        return max(order.paid_amount, known)
    if order.state == State.PAID:
        return max(order.total, known)
    return known


def _find_receivable(connection: ShopConnection, external_id: str) -> Receivable | None:
    return db.session.scalar(
        sa.select(Receivable).filter_by(connection_id=connection.id, external_id=external_id)
    )


def _is_older_snapshot(order: ShopOrder, receivable: Receivable | None) -> bool:
    known = receivable.source_modified_at if receivable is not None else None
    return known is not None and order.modified_at is not None and order.modified_at < known


def _reported(
    order: ShopOrder,
    receivable: Any,
    due_date: date | None,
    terms: _OrderTerms,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return what an order says of its receivable: descriptive ``values`` and the ledger's ``report``.

    ``receivable`` is the stored one (an ORM object or a row with its columns) or None for a new order.
    """
    claim_settings = terms.claim_settings
    invoice_date = berlin_date(order.invoiced_at or order.ordered_at)
    term_start = invoice_date
    if claim_settings.due_date_from == "shipment" and order.shipped_at is not None:
        term_start = max(invoice_date, berlin_date(order.shipped_at))
    if due_date is None:
        if receivable is not None and receivable.invoice_date == invoice_date and term_start == invoice_date:
            due_date = receivable.due_date
        else:
            due_date = term_start + timedelta(days=terms.terms_days)
    billing_address = _address_dict(order.billing_address) or {}
    email_key, address_key = terms.buyer_keys(order.buyer.email, billing_address)
    values: dict[str, Any] = {
        "number": order.number,
        "platform_state": "/".join(filter(None, [order.platform_order_state, order.platform_payment_state])),
        "currency": order.currency.upper(),
        "total_amount": order.total,
        "payment_method": order.payment_method,
        # A company name alone proves nothing: in doubt a natural person is a consumer (§13 BGB).
        "debtor_kind": debtor_kind_from(
            stated=order.debtor_kind,
            account_type=order.account_type,
            vat_id=order.vat_id,
            merchant_sells_to_businesses_only=claim_settings.sells_to_businesses_only,
        ).value,
        "invoice_has_default_notice": (
            order.invoice_has_default_notice
            if order.invoice_has_default_notice is not None
            else claim_settings.invoices_carry_default_notice
        ),
        "ordered_at": order.ordered_at,
        "invoice_date": invoice_date,
        "due_date": due_date,
        "buyer": {k: v for k, v in vars(order.buyer).items() if v not in (None, "")},
        "billing_address": billing_address,
        "shipping_address": _address_dict(order.shipping_address),
        "line_items": [
            {**vars(item), "unit_price": str(item.unit_price), "total": str(item.total)}
            for item in order.line_items
        ],
        "email_key": email_key,
        "address_key": address_key,
        "risk_check_id": order.risk_check_id or (receivable.risk_check_id if receivable else None),
        "source_modified_at": order.modified_at,
    }
    report = {"state": order.state, "paid_amount": _paid_amount(order, receivable), "paid_at": order.paid_at}
    return values, report


def upsert_order(
    connection: ShopConnection,
    order: ShopOrder,
    *,
    actor: str,
    due_date: date | None = None,
    track_any_method: bool = False,
    source: MoneySource | None = None,
) -> UpsertResult:
    """Create or update the receivable of a shop order; idempotent by (connection, external id).

    Orders paid another way than by invoice are not stored unless already tracked (or ``track_any_method``,
    for pushes and imports, where the merchant sends only invoice orders). The receivable's amounts and
    state change through its ledger, which books growth of the paid amount as a payment from ``source``
    (default: the shop, or the API for the merchant's "api" connection).
    """
    if source is None:
        source = MoneySource.SHOP if connection.platform in SHOP_PLATFORMS else MoneySource.API
    receivable = _find_receivable(connection, order.external_id)
    if (
        receivable is None
        and not track_any_method
        and (order.payment_method not in invoice_methods_of(connection) or not order.placed)
    ):
        # Only orders the buyer placed on invoice are claims (not pending checkouts, not failed payments).
        return UpsertResult(receivable=None)
    if _is_older_snapshot(order, receivable):
        # A reconciliation page fetched before a webhook's re-fetch must not undo what that re-fetch applied.
        return UpsertResult(receivable=receivable)

    terms = _OrderTerms.of(connection)
    if (
        receivable is None
        and not track_any_method
        and terms.claim_settings.due_date_from == "shipment"
        and order.shipped_at is None
    ):
        # The merchant invoices on shipment: a shop order not shipped yet has no invoice and nothing is due.
        # (Pushes and imports stand for invoices already issued.)
        return UpsertResult(receivable=None)
    values, report = _reported(order, receivable, due_date, terms)
    report = {**report, "source": source, "actor": actor}
    if receivable is None:
        identity = {
            "merchant_id": connection.merchant_id,
            "connection_id": connection.id,
            "external_id": order.external_id,
        }
        receivable = ledger.create_receivable(identity | values, **report)
        if receivable is not None:
            assign_payment_reference(receivable)
            _book_refunds(receivable, order, actor)
            logger.info(
                "receivable %s created from %s order %s", receivable.id, connection.platform, order.number
            )
            return UpsertResult(receivable=receivable, created=True)
        # Another worker created it between our lookup and our insert: update theirs instead.
        receivable = _find_receivable(connection, order.external_id)
        if receivable is None or _is_older_snapshot(order, receivable):
            return UpsertResult(receivable=receivable)
        report["paid_amount"] = _paid_amount(order, receivable)
    changed = ledger.sync_from_shop(receivable, values, **report)
    if order.state == State.DISPUTED and receivable.disputed_at is None and receivable.state in DISPUTABLE:
        # A chargeback in the shop (the payment was reversed) contests the claim: dunning waits for the merchant.
        ledger.open_dispute(
            receivable, reason=f"chargeback reported by the {connection.platform} shop", actor=actor
        )
        changed["state"] = (changed.get("state", (None,))[0], receivable.state)
    if _book_refunds(receivable, order, actor):
        changed["refunds"] = (None, [refund.external_id for refund in order.refunds])
    return UpsertResult(receivable=receivable, changed=changed)


def _book_refunds(receivable: Receivable, order: ShopOrder, actor: str) -> bool:
    """Book the order's refunds as credits on their days (once each, by refund id); say whether any was new.

    A refund is what the buyer no longer owes, dated when the shop recorded it, so the claim and its
    interest shrink from that day (from the invoice date when the shop gives no date: never over-claim);
    the shop's refund id makes the booking idempotent.
    """
    booked_any = False
    for refund in order.refunds:
        if refund.amount <= 0:
            continue
        key = f"refund:{refund.external_id}"
        before = receivable.credited_amount
        ledger.record_credit(
            receivable,
            refund.amount,
            berlin_date(refund.refunded_at) if refund.refunded_at else receivable.invoice_date,
            MoneySource.SHOP,
            reason="refund",
            external_id=key,
            actor=actor,
        )
        booked_any = booked_any or receivable.credited_amount != before
    return booked_any


def request_order_sync(connection_id: int, external_id: str, *, reason: str) -> None:
    """Queue an order for re-fetching from its shop (what a webhook means); repeated requests coalesce."""
    now = utcnow()
    connection = db.session.connection()
    _sync_request_upsert(connection.dialect.name).execute(
        connection,
        {
            "connection_id": connection_id,
            "external_id": str(external_id),
            "reason": reason,
            "next_attempt_at": now,
            "attempts": 0,
            "requested_at": now,
        },
    )


@functools.cache
def _sync_request_upsert(dialect: str) -> PreparedStatement:
    """Return the upsert of an order sync request, compiled once per database (built anew, or run through
    ``Connection.execute``, it cost a webhook more CPU than the database's work)."""
    insert = dialect_insert(OrderSyncRequest.__table__, dialect)
    # requested_at moves on every request, so a worker that is fetching the older state keeps the row.
    upsert = insert.on_conflict_do_update(
        index_elements=["connection_id", "external_id"],
        set_={
            "reason": insert.excluded.reason,
            "next_attempt_at": insert.excluded.next_attempt_at,
            "attempts": 0,
            "requested_at": insert.excluded.requested_at,
            "parked_at": None,
        },
    )
    return PreparedStatement(
        upsert,
        column_keys=["connection_id", "external_id", "reason", "next_attempt_at", "attempts", "requested_at"],
    )


def _claim_sync_requests(limit: int) -> list[OrderSyncRequest]:
    """Lease due requests to this worker (SKIP LOCKED on PostgreSQL); a crashed worker's lease runs out."""
    now = utcnow()
    park_where(
        OrderSyncRequest,
        OrderSyncRequest.connection_id.in_(inactive_connection_ids()),
        reason=INACTIVE_CONNECTION,
        now=now,
    )
    ids = lease_due(
        OrderSyncRequest,
        OrderSyncRequest.parked_at.is_(None),
        OrderSyncRequest.next_attempt_at <= now,
        now=now,
        lease=SYNC_LEASE,
        limit=limit,
        order_by=(OrderSyncRequest.next_attempt_at,),
    )
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(OrderSyncRequest)
            .where(OrderSyncRequest.id.in_(ids))
            .order_by(OrderSyncRequest.next_attempt_at)
        )
    )


def _retry_later(request: OrderSyncRequest, error: Exception) -> None:
    outcome = record_failure(request, f"{type(error).__name__}: {error}", utcnow())
    logger.warning(
        "order sync %s:%s failed (attempt %s, %s): %s",
        request.connection_id,
        request.external_id,
        request.attempts,
        outcome,
        type(error).__name__,
    )


def _finish_sync_request(request_id: int, requested_at: datetime) -> None:
    """Drop a handled request unless the shop asked again meanwhile (then the newer state is fetched next)."""
    db.session.execute(
        sa.delete(OrderSyncRequest).where(
            OrderSyncRequest.id == request_id, OrderSyncRequest.requested_at == requested_at
        )
    )


def _fetch_with(connector: ShopConnector, external_id: str) -> ShopOrder | None:
    """Return the shop's current order, or None when the shop no longer has it."""
    try:
        return connector.get_order(external_id)
    except ShopOrderNotFound:
        return None


def _fetch_order(connection: ShopConnection, external_id: str) -> ShopOrder | None:
    """Return the shop's current order, or None when the shop no longer has it."""
    connector = connector_for(connection)
    try:
        return _fetch_with(connector, external_id)
    finally:
        connector.close()


def cancel_deleted_order(connection: ShopConnection, external_id: str, *, actor: str) -> Receivable | None:
    """Cancel the receivable of an order the shop deleted for good (no claim without the order)."""
    receivable = _find_receivable(connection, external_id)
    if receivable is None:
        return None
    receivable.platform_state = "deleted"
    # A case already with the agency stays there (state_from_shop); everything else ends with the order.
    target = state_from_shop(receivable.state, State.CANCELLED)
    if ledger.move_to(receivable, target, reason="order deleted in the shop", actor=actor):
        logger.info("receivable %s: its order %s was deleted in the shop", receivable.id, external_id)
    return receivable


def process_order_sync_requests(limit: int = 100) -> int:
    """Re-fetch queued orders and upsert them; return how many were synced. Commits per order."""
    synced = 0
    for request in _claim_sync_requests(limit):
        request_id, requested_at, reason = request.id, request.requested_at, request.reason
        connection = db.session.get(ShopConnection, request.connection_id)
        if connection.status != "active":
            park(request, INACTIVE_CONNECTION, utcnow())
            db.session.commit()
            continue
        if connection.platform not in SHOP_PLATFORMS:
            _finish_sync_request(request_id, requested_at)
            db.session.commit()
            continue
        try:
            order = _fetch_order(connection, request.external_id)
            if order is not None:
                upsert_order(connection, order, actor=f"sync:{reason}")
                synced += 1
            else:
                cancel_deleted_order(connection, request.external_id, actor=f"sync:{reason}")
            _finish_sync_request(request_id, requested_at)
        except ConnectorError as error:
            _retry_later(request, error)
        # Anything else (undecryptable credentials, an order the mapping cannot read) must not stop the other
        # orders of the batch: the request is retried with backoff and the error logged with its traceback.
        except Exception as error:
            db.session.rollback()
            logger.exception("order sync %s:%s failed", connection.id, request.external_id)
            retry = db.session.get(OrderSyncRequest, request_id)
            if retry is not None:
                _retry_later(retry, error)
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
        """Count one upsert under its outcome."""
        setattr(self, result.outcome, getattr(self, result.outcome) + 1)

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, {self.skipped} skipped"


def reconcile_connection(
    connection: ShopConnection, *, checkpoint: Callable[[], None] | None = None
) -> ReconcileResult:
    """Poll a shop for invoice orders changed since the stored cursor (with overlap) and upsert them.

    WooCommerce connections also get the trash polled and their tracked orders re-read by id (on posts storage
    a meta-only change does not move ``date_modified``, and deletions show up only as missing orders); their
    webhooks and plugin are the WooCommerce area's job (``woocommerce.services.reconcile_shops``).
    ``checkpoint`` (e.g. ``db.session.commit``) is called every ``RECONCILE_CHECKPOINT`` orders so a long poll
    does not hold one write transaction open; the cursor only moves once the whole poll succeeded.
    """
    result = ReconcileResult()
    started = utcnow()
    since = connection.sync_cursor - RECONCILE_OVERLAP if connection.sync_cursor else None
    newest = connection.sync_cursor
    woocommerce = connection.platform == "woocommerce"
    filters: dict[str, Any] = {"payment_method": list(invoice_methods_of(connection))}
    if woocommerce:
        filters["include_trashed"] = True
    connector = connector_for(connection)
    polled: set[str] = set()
    try:
        orders = connector.iter_orders(modified_after=since, **filters)
        for count, order in enumerate(orders, start=1):
            polled.add(order.external_id)
            result.add(upsert_order(connection, order, actor="reconcile"))
            if order.modified_at and (newest is None or order.modified_at > newest):
                newest = order.modified_at
            if checkpoint is not None and count % RECONCILE_CHECKPOINT == 0:
                checkpoint()
        if woocommerce:
            _recheck_tracked_orders(connection, connector, result, checkpoint, polled=polled)
    finally:
        connector.close()
    # A shop without invoice orders yet: start from this run, or every run would page through all its orders.
    connection.sync_cursor = newest or started
    connection.last_synced_at = utcnow()
    result.cursor = connection.sync_cursor
    logger.info("connection %s reconciled: %s", connection.id, result)
    return result


def _recheck_tracked_orders(
    connection: ShopConnection,
    connector: ShopConnector,
    result: ReconcileResult,
    checkpoint: Callable[[], None] | None,
    *,
    polled: set[str],
) -> None:
    """Re-read by id the orders of receivables still in play (and trashed ones) that the poll did not bring.

    Orders the shop no longer has were deleted for good: their receivables are cancelled.
    """
    tracked = db.session.scalars(
        sa.select(Receivable.external_id)
        .where(
            Receivable.connection_id == connection.id,
            sa.or_(
                Receivable.state.in_(sorted(RECHECKED_STATES)),
                Receivable.platform_state.startswith("trash"),
            ),
        )
        .order_by(Receivable.id)
    ).all()
    tracked = [external_id for external_id in tracked if external_id not in polled]
    for start in range(0, len(tracked), RECHECK_BATCH):
        batch = tracked[start : start + RECHECK_BATCH]
        seen = set()
        for order in connector.iter_orders(external_ids=batch, include_trashed=True):
            seen.add(order.external_id)
            result.add(upsert_order(connection, order, actor="reconcile"))
        for external_id in batch:
            if external_id not in seen and _fetch_with(connector, external_id) is None:
                cancel_deleted_order(connection, external_id, actor="reconcile")
        if checkpoint is not None:
            checkpoint()


def reconcile_all_connections() -> str:
    """Reconcile every active shop connection, committing each; one failing shop does not stop the others."""
    done, failed = for_each_active_connection(
        SHOP_PLATFORMS,
        lambda connection: reconcile_connection(connection, checkpoint=db.session.commit),
        doing="reconciling",
    )
    return f"{done} reconciled, {failed} failed"


def api_connection(merchant_id: int, *, create: bool = True) -> ShopConnection | None:
    """Return the merchant's connection for pushed and imported orders (platform "api"), made on first use."""
    connection = db.session.scalar(
        sa.select(ShopConnection)
        .filter_by(merchant_id=merchant_id, platform="api", status="active")
        .order_by(ShopConnection.id)
        .limit(1)
    )
    if connection is None and create:
        connection = ShopConnection(
            merchant_id=merchant_id, platform="api", name="API and imports", shop_url="", status="active"
        )
        db.session.add(connection)
        db.session.flush()
    return connection


def push_target(merchant_id: int, connection_id: int | None) -> ShopConnection:
    """Return the connection pushed orders go to: the given one (the API client's own) or the "api" one."""
    if connection_id is None:
        return api_connection(merchant_id)
    connection = db.session.scalar(
        sa.select(ShopConnection).filter_by(id=connection_id, merchant_id=merchant_id)
    )
    if connection is None:
        raise NotFoundError(f"connection {connection_id} not found")
    if connection.status != "active":
        raise ConflictError(
            f"connection {connection_id} is {connection.status}; orders cannot be added to it"
        )
    return connection


def _client_target(merchant_id: int, client_id: str) -> ShopConnection:
    """Return the connection an API client's pushes go to (see ``push_target``)."""
    connection_id = db.session.scalar(
        sa.select(ApiClient.connection_id).filter_by(client_id=client_id, merchant_id=merchant_id)
    )
    return push_target(merchant_id, connection_id)


def push_order(
    merchant_id: int, external_id: str, data: dict[str, Any], *, client_id: str, actor: str
) -> UpsertResult:
    """Create or update the receivable of a pushed order (validated by ``OrderPushSchema``).

    It belongs to the pushing API client's own connection when the client has one, else to the merchant's
    "api" connection.
    """
    if len(external_id) > MAX_EXTERNAL_ID:
        raise UserValueError(
            "The order id is too long.", details={"/external_id": [f"At most {MAX_EXTERNAL_ID} characters."]}
        )
    connection = _client_target(merchant_id, client_id)
    order = shop_order_from_push(external_id, data)
    return upsert_order(
        connection,
        order,
        actor=actor,
        due_date=data["due_date"],
        track_any_method=True,
        source=MoneySource.API,
    )


def push_orders(
    merchant_id: int, orders: list[dict[str, Any]], *, client_id: str, actor: str
) -> list[tuple[str, int]]:
    """Create or update the receivables of a batch of pushed orders (``OrderBatchSchema``), as ``push_order``.

    Returns (outcome, receivable id) per order, in order.
    """
    connection = _client_target(merchant_id, client_id)
    pushed = [
        PushedOrder(order["external_id"], {k: v for k, v in order.items() if k != "external_id"})
        for order in orders
    ]
    return upsert_pushed_orders(connection, pushed, actor=actor, source=MoneySource.API)


@dataclass(frozen=True, slots=True)
class PushedOrder:
    """One order of a batch push or an import: its id in the sending system and its ``OrderPushSchema`` load.

    ``row`` is an imported order's CSV row, whose digest the receivable keeps (``ImportDigests``). An imported
    new order planned from its report (``_check_rows``) comes without its load (``data`` None).
    """

    external_id: str
    data: dict[str, Any] | None
    row: CsvRow | None = None


class ImportDigests:
    """The ``row_digest`` of one connection's CSV rows, keyed by what else decides their receivables.

    That is the identity key (the hashes stored with a receivable) and the merchant's claim settings (due
    dates, debtor kinds, the default notice); the connection is part of it so a digest means one place.
    """

    def __init__(self, connection: ShopConnection) -> None:
        settings = ClaimSettings.from_settings(connection.merchant.settings)
        context = f"{connection.id}|{settings!r}"
        self._key = digest_key(current_app.config["CLAIMBRIDGE_IDENTITY_KEY"], context)

    def __call__(self, row: CsvRow, updated_at: datetime | str) -> str:
        """Return the digest of a row for a receivable last written at ``updated_at`` (or its isoformat)."""
        return row_digest(
            self._key, row, updated_at if isinstance(updated_at, str) else updated_at.isoformat()
        )


def _unchanged(row: Any, order: ShopOrder, values: dict[str, Any], report: dict[str, Any]) -> bool:
    """Say whether upserting the order would change nothing on its stored receivable (``row``)."""
    return (
        not order.refunds
        and order.state != State.DISPUTED
        and report["paid_amount"] == row.paid_amount
        and report["paid_at"] == row.paid_at
        and state_from_shop(row.state, report["state"]).value == row.state
        and all(getattr(row, name) == value for name, value in values.items())
    )


def upsert_pushed_orders(
    connection: ShopConnection,
    orders: Sequence[PushedOrder],
    *,
    actor: str,
    source: MoneySource,
    digests: ImportDigests | None = None,
) -> list[tuple[str, int]]:
    """Upsert a batch of pushed or imported orders as ``upsert_order`` does each, with set-based statements.

    The stored receivables are read with one SELECT; unchanged ones are left alone, new ones are inserted
    with their history through ``ledger.create_receivables``, changed ones take ``upsert_order``. External
    ids must be unique within the batch. With ``digests``, every receivable of an order with a ``row`` keeps
    its row's digest. Returns (outcome, receivable id) per order, in order.
    """
    if not orders:
        return []
    stored = _stored_receivables(connection, [item.external_id for item in orders])
    planned = _plan_orders(connection, orders, stored, _OrderTerms.of(connection), digests)
    return _write_orders(connection, planned, actor=actor, source=source, digests=digests)


def _stored_receivables(connection: ShopConnection, external_ids: list[str]) -> dict[str, Any]:
    """Return the connection's stored receivables among ``external_ids`` as rows, by external id."""
    if not external_ids:
        return {}
    table = Receivable.__table__
    return {
        row.external_id: row
        for row in db.session.execute(
            sa.select(table).where(
                table.c.connection_id == connection.id, one_of(table.c.external_id, external_ids)
            )
        )
    }


@dataclass(frozen=True, slots=True)
class _OrderTerms:
    """What decides a receivable beyond its order, read once per batch or import: the merchant's settings for
    dates and debtor kind, and the buyers' identity keys."""

    claim_settings: ClaimSettings
    terms_days: int
    buyer_keys: _BuyerKeys

    @classmethod
    def of(cls, connection: ShopConnection) -> _OrderTerms:
        return cls(
            ClaimSettings.from_settings(connection.merchant.settings),
            payment_terms_days(connection.merchant),
            _BuyerKeys(current_app.config["CLAIMBRIDGE_IDENTITY_KEY"]),
        )


@dataclass
class _PlannedOrders:
    """A batch of orders compared with its stored receivables (``_plan_orders``), to be written."""

    orders: Sequence[PushedOrder]
    outcomes: dict[str, tuple[str, int]] = field(default_factory=dict)  # the unchanged ones
    changed: list[tuple[PushedOrder, ShopOrder]] = field(default_factory=list)
    new: list[tuple[PushedOrder, ledger.NewReceivable]] = field(default_factory=list)


Reported = tuple[dict[str, Any], dict[str, Any]]  # ``_reported``'s values and report


def _report_new(item: PushedOrder, terms: _OrderTerms) -> Reported:
    """Return ``_reported`` of an order without a stored receivable."""
    return _reported(shop_order_from_push(item.external_id, item.data), None, item.data["due_date"], terms)


def _plan_orders(
    connection: ShopConnection,
    orders: Sequence[PushedOrder],
    stored: dict[str, Any],
    terms: _OrderTerms,
    digests: ImportDigests | None,
    reported: Mapping[str, Reported] | None = None,
) -> _PlannedOrders:
    """Sort a batch into unchanged, changed and new orders and build the new receivables; no database access.

    ``reported`` holds ``_report_new`` of new orders where it was done already (``_RowCheck``).
    """
    planned = _PlannedOrders(orders)
    now = utcnow()
    stamp = now.isoformat()  # what new receivables' digests bind to, converted once
    for item in orders:
        row = stored.get(item.external_id)
        if row is None:
            known = reported.get(item.external_id) if reported is not None else None
            values, report = known if known is not None else _report_new(item, terms)
            written = {
                "merchant_id": connection.merchant_id,
                "connection_id": connection.id,
                "external_id": item.external_id,
                "created_at": now,
                "updated_at": now,
                "import_digest": (
                    digests(item.row, stamp) if digests is not None and item.row is not None else None
                ),
            }
            planned.new.append((item, ledger.NewReceivable(written | values, **report)))
            continue
        order = shop_order_from_push(item.external_id, item.data)
        values, report = _reported(order, row, item.data["due_date"], terms)
        if _unchanged(row, order, values, report):
            planned.outcomes[item.external_id] = ("unchanged", row.id)
        else:
            planned.changed.append((item, order))
    return planned


def _write_orders(
    connection: ShopConnection,
    planned: _PlannedOrders,
    *,
    actor: str,
    source: MoneySource,
    digests: ImportDigests | None,
) -> list[tuple[str, int]]:
    """Write a planned batch: changed orders one by one, new ones as one set; return the outcomes in order."""
    outcomes = planned.outcomes
    for item, order in planned.changed:
        outcomes[item.external_id] = _upsert_one(connection, item, order, actor=actor, source=source)
    created = ledger.create_receivables(
        [receivable for _, receivable in planned.new],
        source,
        actor=actor,
        reference=ReferenceMaker(connection.merchant_id).make,
    )
    for item, _ in planned.new:
        receivable_id = created.get((connection.id, item.external_id))
        if receivable_id is None:  # another request created it meanwhile: update theirs
            if item.data is None:  # planned from its report alone (``_check_rows``): load the row again
                item = PushedOrder(item.external_id, check_cells(item.row, _CellLoader()).data, item.row)
            order = shop_order_from_push(item.external_id, item.data)
            outcomes[item.external_id] = _upsert_one(connection, item, order, actor=actor, source=source)
        else:
            outcomes[item.external_id] = ("created", receivable_id)
    if created:
        logger.info("%s receivables created from %s orders", len(created), connection.platform)
    if digests is not None:
        _store_digests(planned.orders, outcomes, digests, created=set(created.values()))
    return [outcomes[item.external_id] for item in planned.orders]


def _store_digests(
    orders: Sequence[PushedOrder],
    outcomes: dict[str, tuple[str, int]],
    digests: ImportDigests,
    *,
    created: set[int],
) -> None:
    """Store the row digest of each receivable an imported order updated or found unchanged.

    New receivables got theirs with the INSERT; an unchanged one whose digest is already right is left alone.
    The digest binds to ``updated_at`` as it is after this batch's writes, read back once.
    """
    rows = {
        outcomes[item.external_id][1]: item.row
        for item in orders
        if item.row is not None and outcomes[item.external_id][1] not in created
    }
    if not rows:
        return
    db.session.flush()
    table = Receivable.__table__
    current = db.session.execute(
        sa.select(table.c.id, table.c.updated_at, table.c.import_digest).where(one_of(table.c.id, list(rows)))
    )
    ledger.store_import_digests(
        (row.id, digest, row.updated_at)
        for row in current
        if not hmac.compare_digest(digest := digests(rows[row.id], row.updated_at), row.import_digest or "")
    )


def _upsert_one(
    connection: ShopConnection, item: PushedOrder, order: ShopOrder, *, actor: str, source: MoneySource
) -> tuple[str, int]:
    result = upsert_order(
        connection, order, actor=actor, due_date=item.data["due_date"], track_any_method=True, source=source
    )
    return result.outcome, result.receivable.id


@dataclass
class ImportCheck:
    """What an import's pass over the file found (a dry run counts new and known orders)."""

    rows: int = 0
    invalid_rows: int = 0
    new: int = 0
    existing: int = 0


def _count_existing(connection: ShopConnection | None, external_ids: list[str]) -> int:
    if connection is None or not external_ids:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Receivable)
        .where(Receivable.connection_id == connection.id, one_of(Receivable.external_id, external_ids))
    )


# A readable row's ``check_cells`` and, for a valid new order, its ``_report_new``; plain tuples, which travel
# between processes at a fraction of a dataclass's or a named tuple's cost.
_CheckedRow = tuple[CellFields, Reported | None]


def _check_rows(
    rows: Iterable[CsvRow], new: frozenset[str], loader: _CellLoader, terms: _OrderTerms | None
) -> list[_CheckedRow]:
    """Check the rows' cells; nothing else is read.

    With ``terms`` (the rows will be stored), a valid row whose external id is in ``new`` comes with its
    ``_report_new`` instead of its load, any other valid row with its load; without, no valid row has either.
    """
    checked = []
    for row in rows:
        cells = check_cells(row, loader)
        reported = None
        if cells.data is not None and not cells.text_errors and (terms is None or row.external_id in new):
            if terms is not None:
                reported = _report_new(PushedOrder(row.external_id, cells.data), terms)
            cells = cells._replace(data=None)  # not needed: a load costs more to send than to make
        checked.append((tuple(cells), reported))
    return checked


class _RowChecks:
    """Run ``_check_rows`` for one batch at a time: here, or in a child process while this one writes.

    Checking and planning a row costs about as much CPU as writing it, so a file of more than one batch is
    checked by a forked child (``use_process``) while this process writes the batch before: two cores instead
    of one. The child reads nothing but the rows it is sent (cells by file order, as ``CsvRow`` holds them)
    and answers with their checks; the file, the database and the all-or-nothing decision stay here.
    """

    def __init__(self, loader: _CellLoader, terms: _OrderTerms | None) -> None:
        self._loader, self._terms = loader, terms
        self._pending: tuple[list[CsvRow], frozenset[str]] | None = None
        self._pipe: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    def use_process(self, columns: Any) -> None:
        """Check the next batches in a child process; ``columns`` is the file's header (``CsvRows.columns``)."""
        if self._process is not None:
            return
        context = multiprocessing.get_context("fork")  # the child needs the loaded code, not a new import
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(
            target=_check_in_child,
            args=(child_end, columns, self._loader, self._terms),
            name="import-checker",
            daemon=True,
        )
        self._process.start()
        child_end.close()

    def submit(self, rows: list[CsvRow], new: frozenset[str], *, storing: bool) -> None:
        """Start checking a batch's readable rows (``new``: the external ids without a stored receivable)."""
        if self._pipe is not None:
            self._pipe.send(([(row.row, row.values, row.external_id) for row in rows], new, storing))
        else:
            self._pending = (rows, new, storing)

    def result(self) -> list[_CheckedRow]:
        """Return the submitted batch's checks, in row order."""
        if self._pipe is None:
            rows, new, storing = self._pending
            self._pending = None
            return _check_rows(rows, new, self._loader, self._terms if storing else None)
        answer = self._pipe.recv()
        if isinstance(answer, str):
            raise RuntimeError(f"checking rows failed in the child process:\n{answer}")
        return answer

    def __enter__(self) -> _RowChecks:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is None:
            return
        with contextlib.suppress(OSError):
            self._pipe.send(None)
        self._process.join(timeout=5)
        if self._process.is_alive():  # only when this process failed while the child was still checking
            self._process.terminate()
            self._process.join()
        self._pipe.close()


def _check_in_child(pipe: Connection, columns: Any, loader: _CellLoader, terms: _OrderTerms | None) -> None:
    """Answer each batch sent by ``_RowChecks`` until None comes; a failure is answered with its traceback."""
    # What the fork inherited lives as long as this process: the collector's full passes skip it (they walked
    # all of it, about 3 % of the child's CPU time, and wrote to pages the fork shares with the parent).
    gc.freeze()
    while (job := pipe.recv()) is not None:
        cells, new, storing = job
        try:
            rows = [CsvRow(number, values, columns, external_id) for number, values, external_id in cells]
            pipe.send(_check_rows(rows, new, loader, terms if storing else None))
        except Exception:
            pipe.send(traceback.format_exc())
            return


def import_rows(
    rows: CsvRows,
    connection: ShopConnection | None,
    on_error: Callable[[RowError], None],
    *,
    actor: str | None,
    fork: bool = False,
) -> tuple[ImportCheck, ReconcileResult]:
    """Read a file once: report every problem to ``on_error`` and, while none was found, store its rows.

    Rows are checked and stored ``IMPORT_BATCH`` at a time; with ``actor`` None (a dry run) nothing is stored
    and known orders are only counted. A row identical to the one its receivable was last imported from,
    with nothing written to the receivable since (``ImportDigests``), is unchanged without being validated
    again. A batch is read from the database, checked and planned (``_plan_orders``), and written by a
    ``BackgroundJob`` while the next batch is checked and planned: its stored receivables are read before the
    batch before it is handed to the writer. (A later batch cannot need that batch's receivables: an
    external id twice in a file is an error.) With ``fork`` (a process of its own, such as the CLI's, not a
    web worker), the batches after the first are checked and planned in a child process (``_RowChecks``).
    The caller commits only when ``check.invalid_rows`` is 0 and rolls back otherwise, so a file with any
    bad row imports nothing.
    """
    check, result = ImportCheck(), ReconcileResult()
    checker = RowChecker()
    digests = ImportDigests(connection) if actor is not None else None
    terms = _OrderTerms.of(connection) if digests is not None else None
    batch: list[CsvRow] = []
    planned: _PlannedOrders | None = None  # the batch before, written once this one's rows are read

    def report(errors: list[RowError]) -> None:
        check.invalid_rows += 1
        for error in errors:
            on_error(error)

    def count(outcomes: list[tuple[str, int]]) -> None:
        for outcome, _ in outcomes:
            setattr(result, outcome, getattr(result, outcome) + 1)

    def write(writing: _PlannedOrders) -> Callable[[], list[tuple[str, int]]]:
        return functools.partial(
            _write_orders, connection, writing, actor=actor, source=MoneySource.IMPORT, digests=digests
        )

    def flush(writer: BackgroundJob[list[tuple[str, int]]]) -> None:
        nonlocal planned
        if not batch:
            return
        count(writer.wait() or [])
        storing = digests is not None and not check.invalid_rows
        keep_statistics(Receivable.__table__, ("connection_id", "external_id"), added=result.created)
        known = _stored_digests(connection, batch) if storing else {}
        fresh: list[CsvRow] = []
        for row in batch:
            digest, stamp = known.get(row.external_id, (None, ""))
            if digest is not None and hmac.compare_digest(digest, digests(row, stamp)):
                if errors := checker.check_known(row):
                    report(errors)
                else:
                    result.unchanged += 1
            else:
                fresh.append(row)
        readable = [row for row in fresh if row.problem is None]
        # Only receivables the digests' lookup found are read whole: a batch of new orders needs no second
        # lookup. (One stored in between is found by the insert, which updates it instead.)
        stored_rows = _stored_receivables(
            connection, [row.external_id for row in readable if row.external_id in known]
        )
        new = frozenset(row.external_id for row in readable if row.external_id not in stored_rows)
        checks.submit(readable, new, storing=storing)
        if planned is not None:
            writer.start(write(planned))
            planned = None
        checked = iter(checks.result())
        orders: list[PushedOrder] = []
        reported: dict[str, Reported] = {}
        for row in fresh:
            cells, known = next(checked) if row.problem is None else (None, None)
            parsed = checker.check(row, cells)
            if parsed.errors:
                report(parsed.errors)
                continue
            orders.append(PushedOrder(parsed.external_id, parsed.data, row))
            if known is not None:
                reported[parsed.external_id] = known
        if not storing or check.invalid_rows:
            count(writer.wait() or [])
            check.existing += _count_existing(connection, [item.external_id for item in orders])
        elif orders:
            planned = _plan_orders(connection, orders, stored_rows, terms, digests, reported)
        batch.clear()

    threaded = db.session.get_bind().dialect.name == "postgresql"
    with (
        plan_for_growing_tables(),
        bulk_write_cache(),
        _RowChecks(checker.loader, terms) as checks,
        BackgroundJob[list[tuple[str, int]]](threaded=threaded, name="import-writer") as writer,
    ):
        for row in rows:
            check.rows += 1
            batch.append(row)
            if len(batch) == IMPORT_BATCH:
                if fork:  # a file of more than a batch: checked in a child, forked before any writer thread
                    checks.use_process(rows.columns)
                flush(writer)
        flush(writer)
        count(writer.wait() or [])
        if planned is not None and not check.invalid_rows:
            count(write(planned)())
    if actor is not None and not check.invalid_rows:
        check.existing = result.updated + result.unchanged
    check.new = check.rows - check.invalid_rows - check.existing
    return check, result


def _stored_digests(connection: ShopConnection, rows: list[CsvRow]) -> dict[str, tuple[str | None, str]]:
    """Return the import digest (None without one) and ``updated_at`` (isoformat) of the batch's stored receivables.

    ``updated_at`` is read as the driver gives it and converted once per distinct value (a batch's receivables
    were mostly written at one time): converting it per row cost an unchanged row a third of its time.
    """
    table = Receivable.__table__
    dialect = db.session.get_bind().dialect
    convert = table.c.updated_at.type.dialect_impl(dialect).result_processor(dialect, None) or (lambda v: v)
    stamps: dict[Any, str] = {}
    found = {}
    for external_id, digest, written in db.session.execute(
        sa.select(
            table.c.external_id,
            table.c.import_digest,
            sa.type_coerce(table.c.updated_at, sa.types.NullType()).label("updated_at"),
        ).where(
            table.c.connection_id == connection.id,
            one_of(table.c.external_id, [row.external_id for row in rows if row.problem is None]),
        )
    ):
        stamp = stamps.get(written)
        if stamp is None:
            stamp = stamps[written] = convert(written).isoformat()
        found[external_id] = (digest, stamp)
    return found
