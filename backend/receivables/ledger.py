"""The receivable's ledger: the only code that changes a receivable's state, money or history.

Every verb writes the change and its ``ReceivableEvent`` together, so the history explains every amount:

- Money moves only through ``record_payment`` (money received) and ``record_credit`` (refunds and credit
  notes: what the buyer no longer owes). Each booking carries its value date (``booked_on``, a Europe/Berlin
  day), its ``MoneySource`` and, when the sender has one, an ``external_id`` that makes it idempotent: a
  second booking with the same id books nothing and returns the first event (a unique index backs this).
- A shop reports cumulative amounts, not bookings: ``sync_from_shop`` books the growth of the shop's paid
  amount as one payment of the difference, dated by the shop's paid date when this report brought a new one,
  else by the day we learned of it (``create_receivable`` does the same for an order that arrives paid).
- States change by ``move_to`` (the lifecycle of ``backend.receivables.states``), by the money verbs (an
  outstanding receivable becomes ``partially_paid`` or ``paid``), by disputes, handover and the shop's report.
- ``payment_bookings`` turns the money events back into the bookings (``backend.receivables.bookings``) of
  the legal claim (``backend.dunning.claims``); it is the only source of bookings for a claim.
- Imports use the set-based verbs ``create_receivables`` and ``record_payments`` (and
  ``store_payment_references``): the same rows and events as their one-by-one counterparts, written with one
  statement per table for a whole batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.util import identity_key

from backend.dates import BERLIN, berlin_date
from backend.errors import ConflictError
from backend.extensions import (
    db,
    dialect_insert,
    insert_rare_clashes,
    insert_rows,
    one_of,
    reserve_ids,
    update_rows,
    utcnow,
)
from backend.receivables.bookings import Booking, BookingKind
from backend.receivables.models import Receivable, ReceivableEvent
from backend.receivables.states import OUTSTANDING, State, check_transition, state_from_shop

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
HANDED_OVER_STOP_REASON = "handed over to collection"
# Fields of a shop's report whose changes the ``synced`` event lists.
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
    "invoice_has_default_notice",
    "risk_check_id",
)
# Columns only this module writes (``tests/receivables/test_single_writer.py`` enforces it).
GUARDED_COLUMNS = frozenset(
    {
        "state",
        "total_amount",
        "paid_amount",
        "credited_amount",
        "paid_at",
        "dunning_level",
        "dunning_stopped_at",
        "dunning_stop_reason",
        "disputed_at",
        "dispute_reason",
        "buyer_erased_at",
    }
)
# What an erasure removes from a receivable and a later sync from the shop may not bring back (Art. 17 GDPR).
# The name, company and billing address stay: they are the invoice's recipient (§ 14(4) UStG), kept with the
# invoice for the bookkeeping retention (§ 147 AO, § 257 HGB).
ERASED_BUYER_FIELDS = ("email", "phone", "customer_id")
ERASED_COLUMNS = ("shipping_address", "email_key", "address_key", "import_digest")


class EventKind(StrEnum):
    """What happened to a receivable; one entry of its history each."""

    CREATED = "created"
    SYNCED = "synced"
    PAYMENT = "payment"
    CREDIT = "credit"
    STATE_CHANGED = "state_changed"
    DISPUTED = "disputed"
    DISPUTE_RESOLVED = "dispute_resolved"
    DUNNING_STOPPED = "dunning_stopped"
    DUNNING_RESUMED = "dunning_resumed"
    DUNNING_NOTICE_QUEUED = "dunning_notice_queued"
    DUNNING_NOTICE_RECORDED = "dunning_notice_recorded"
    DUNNING_NOTICE_SENT = "dunning_notice_sent"
    DUNNING_NOTICE_CANCELLED = "dunning_notice_cancelled"
    HANDOVER_PROPOSED = "handover_proposed"
    HANDOVER_APPROVED = "handover_approved"
    HANDOVER_REJECTED = "handover_rejected"
    HANDOVER_WITHDRAWN = "handover_withdrawn"
    HANDOVER_REJECTED_BY_AGENCY = "handover_rejected_by_agency"
    HANDOVER_DOCUMENT_FALLBACK = "handover_document_fallback"
    HANDED_OVER = "handed_over"
    DIRECT_PAYMENT_AFTER_HANDOVER = "direct_payment_after_handover"
    BUYER_ERASED = "buyer_erased"


MONEY_KINDS = frozenset({EventKind.PAYMENT, EventKind.CREDIT})
# Kinds whose verbs change the receivable itself; ``record_history`` cannot write them.
CHANGING_KINDS = MONEY_KINDS | {
    EventKind.CREATED,
    EventKind.SYNCED,
    EventKind.STATE_CHANGED,
    EventKind.DISPUTED,
    EventKind.DISPUTE_RESOLVED,
    EventKind.DUNNING_STOPPED,
    EventKind.DUNNING_RESUMED,
    EventKind.HANDED_OVER,
    EventKind.BUYER_ERASED,
}


class MoneySource(StrEnum):
    """Where a booking came from."""

    SHOP = "shop"
    BANK_STATEMENT = "bank_statement"
    AGENCY = "agency"
    API = "api"
    IMPORT = "import"


def _noon(day: date) -> datetime:
    """Return noon of a Berlin day in UTC: the moment a booking dated ``day`` stands for."""
    return datetime.combine(day, time(12), tzinfo=BERLIN).astimezone(UTC)


def _state_by(balance: Decimal, paid_amount: Decimal) -> State:
    if balance <= 0:
        return State.PAID
    return State.PARTIALLY_PAID if paid_amount > 0 else State.OPEN


def state_by_amounts(receivable: Receivable) -> State:
    """Return the state the amounts give: paid when nothing is owed, else partially paid or open."""
    return _state_by(receivable.balance, receivable.paid_amount)


def _state_after(state: str, balance: Decimal, paid_amount: Decimal) -> State:
    """Return the state after money moved: ``balance`` and ``paid_amount`` are the amounts after it."""
    current = State(state)
    if current in OUTSTANDING:
        return _state_by(balance, paid_amount)
    if current is State.DISPUTED and balance <= 0:
        return State.PAID
    # in_collection stays until the agency closes the case; paid, cancelled and refunded stay as they are.
    return current


def _state_after_money(receivable: Receivable) -> State:
    return _state_after(receivable.state, receivable.balance, receivable.paid_amount)


def _json_value(value: Any) -> Any:
    return value if isinstance(value, str | int | bool | type(None)) else str(value)


def _actor(actor: str | None) -> str:
    return (actor or "system")[:200]


# -- history -------------------------------------------------------------------------------------------------


_EVENTS = ReceivableEvent.__table__
# The INSERT of one entry, its values bound as ``history_*`` parameters (``_entry``). A constant statement: no ORM
# object left pending to force a flush before the next query (which made bulk imports flush once per row), and a
# statement that carries it as a CTE (``with_history_entry``) is compiled once.
_ENTRY = sa.insert(_EVENTS).values(
    {
        name: sa.bindparam(f"history_{name}", type_=_EVENTS.c[name].type)
        for name in ("receivable_id", "kind", "actor", "data", "created_at")
    }
)


def _entry(receivable_id: int, kind: EventKind, actor: str | None, data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "history_receivable_id": receivable_id,
        "history_kind": kind.value,
        "history_actor": _actor(actor),
        "history_data": dict(data),
        "history_created_at": utcnow(),
    }


def _append(receivable_id: int, kind: EventKind, actor: str | None, data: Mapping[str, Any]) -> None:
    db.session.execute(_ENTRY, _entry(receivable_id, kind, actor, data))


def _history_kind(kind: EventKind) -> EventKind:
    kind = EventKind(kind)
    if kind in CHANGING_KINDS:
        raise ValueError(f"{kind} changes the receivable; use its ledger verb")
    return kind


def record_history(
    receivable_id: int, kind: EventKind, *, actor: str, data: Mapping[str, Any] | None = None
) -> None:
    """Add an entry that changes nothing on the receivable (a notice queued, a handover proposed …)."""
    add_history_entry(history_entry(receivable_id, kind, actor=actor, data=data or {}))


def with_history_entry(statement: sa.Update) -> sa.Update:
    """Return ``statement`` that also adds a history entry (PostgreSQL: a data-modifying CTE), one round trip.

    The entry's values are the parameters ``history_entry`` returns; like ``record_history``, only for entries
    that change nothing on the receivable.
    """
    return statement.add_cte(_ENTRY.cte("history_entry"))


def history_entry(
    receivable_id: int, kind: EventKind, *, actor: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the parameters of a history entry (as ``record_history`` adds) for ``with_history_entry``."""
    return _entry(receivable_id, _history_kind(kind), actor, data)


def add_history_entry(entry: Mapping[str, Any]) -> None:
    """Add the history entry ``history_entry`` returned in a statement of its own (where no CTE can: SQLite)."""
    db.session.execute(_ENTRY, entry)


# -- money ---------------------------------------------------------------------------------------------------


def _booked_before(receivable: Receivable, external_id: str | None) -> ReceivableEvent | None:
    if external_id is None:
        return None
    return db.session.scalar(
        sa.select(ReceivableEvent).filter_by(receivable_id=receivable.id, external_id=external_id)
    )


def _check_booking(amount: Decimal, booked_on: date) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValueError(f"a booking needs a positive Decimal amount, not {amount!r}")
    if not isinstance(booked_on, date) or isinstance(booked_on, datetime):
        raise TypeError(f"booked_on must be a calendar day, not {booked_on!r}")


def _book(
    receivable: Receivable,
    kind: EventKind,
    amount: Decimal,
    booked_on: date,
    source: MoneySource | str,
    *,
    external_id: str | None,
    actor: str | None,
    data: Mapping[str, Any],
) -> ReceivableEvent:
    """Write one money event; the caller has checked it and changed the amount it books."""
    event = ReceivableEvent(
        receivable_id=receivable.id,
        kind=kind.value,
        actor=_actor(actor),
        amount=amount,
        booked_on=booked_on,
        source=MoneySource(source).value,
        external_id=external_id,
        data={"amount": str(amount), "booked_on": booked_on.isoformat(), "source": str(source), **data},
        created_at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    return event


def _move_money(
    receivable: Receivable,
    kind: EventKind,
    amount: Decimal,
    booked_on: date,
    source: MoneySource | str,
    *,
    external_id: str | None,
    actor: str | None,
    data: Mapping[str, Any],
) -> ReceivableEvent:
    """Add ``amount`` to the paid or credited amount, let the state follow, and book it once."""
    _check_booking(amount, booked_on)
    existing = _booked_before(receivable, external_id)
    if existing is not None:
        return existing
    column = "paid_amount" if kind is EventKind.PAYMENT else "credited_amount"
    before_amount, before_state = getattr(receivable, column), receivable.state
    setattr(receivable, column, before_amount + amount)
    if kind is EventKind.PAYMENT:
        receivable.paid_at = _noon(booked_on)
    receivable.state = _state_after_money(receivable).value
    changes = {
        column: [str(before_amount), str(before_amount + amount)],
        "state": [before_state, receivable.state],
    }
    return _book(
        receivable,
        kind,
        amount,
        booked_on,
        source,
        external_id=external_id,
        actor=actor,
        data={**changes, **data},
    )


def record_payment(
    receivable: Receivable,
    amount: Decimal,
    booked_on: date,
    source: MoneySource | str,
    *,
    external_id: str | None = None,
    actor: str | None = None,
    note: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> ReceivableEvent:
    """Book money received on ``booked_on`` (its value date); idempotent by ``external_id``.

    An outstanding receivable becomes partially paid or paid (a disputed one paid once nothing is owed);
    one in collection stays there until the agency closes the case. ``paid_at`` becomes noon of the day.
    """
    data = {**({"note": note} if note else {}), **(details or {})}
    return _move_money(
        receivable,
        EventKind.PAYMENT,
        amount,
        booked_on,
        source,
        external_id=external_id,
        actor=actor,
        data=data,
    )


def record_credit(
    receivable: Receivable,
    amount: Decimal,
    booked_on: date,
    source: MoneySource | str,
    *,
    reason: str,
    external_id: str | None = None,
    actor: str | None = None,
) -> ReceivableEvent:
    """Book a refund or credit note (``reason``): the buyer owes ``amount`` less from ``booked_on``.

    Idempotent by ``external_id``; an outstanding receivable with nothing left becomes paid.
    """
    return _move_money(
        receivable,
        EventKind.CREDIT,
        amount,
        booked_on,
        source,
        external_id=external_id,
        actor=actor,
        data={"reason": reason},
    )


# -- money in batches ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment for ``record_payments``: money received for a receivable on a value date."""

    receivable_id: int
    amount: Decimal
    booked_on: date
    external_id: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Settled:
    """A receivable as ``record_payments`` left it: what callers need to tell others about the payments."""

    id: int
    merchant_id: int
    connection_id: int
    external_id: str
    payment_reference: str | None
    currency: str
    email_key: str | None
    state: str
    total_amount: Decimal
    paid_amount: Decimal
    credited_amount: Decimal
    paid_at: datetime | None

    @property
    def balance(self) -> Decimal:
        """What is still owed on the principal, never negative."""
        return max(ZERO, self.total_amount - self.paid_amount - self.credited_amount)


@dataclass(frozen=True, slots=True)
class PaymentsBooked:
    """What ``record_payments`` did: the receivables as they are now, and each new booking's balance after it."""

    receivables: dict[int, Settled]
    balance_after: dict[str, Decimal]  # by the payment's external id; payments booked before are absent


def _forget_loaded(receivable_ids: Iterable[int]) -> None:
    """Expire receivables this session holds, so none of them shows amounts from before a set-based write."""
    if not any(key[0] is Receivable for key in db.session.identity_map):
        return  # a bulk booking's session holds none: spares an identity key per receivable
    for receivable_id in receivable_ids:
        loaded = db.session.identity_map.get(identity_key(Receivable, receivable_id))
        if loaded is not None:
            db.session.expire(loaded)


def record_payments(payments: Sequence[Payment], source: MoneySource | str, *, actor: str) -> PaymentsBooked:
    """Book many payments as ``record_payment`` books each, in the given order, with a few statements.

    The receivables are read and locked with one SELECT, their new amounts and states written with one
    executemany UPDATE and the events with one executemany INSERT; a payment whose ``external_id`` its
    receivable has booked already books nothing.
    """
    for payment in payments:
        _check_booking(payment.amount, payment.booked_on)
    ids = sorted({payment.receivable_id for payment in payments})
    if not ids:
        return PaymentsBooked({}, {})
    columns = [getattr(Receivable, name) for name in Settled.__slots__]
    settled = {
        row.id: Settled(*row)
        for row in db.session.execute(sa.select(*columns).where(one_of(Receivable.id, ids)).with_for_update())
    }
    # By receivable alone, the external ids compared here: with both as lists PostgreSQL's index scan probed every
    # pair of them (500 x 500 per batch, 50 ms each, 1 s of a statement import's 10,000 transfers).
    booked = {
        tuple(row)
        for row in db.session.execute(
            sa.select(ReceivableEvent.receivable_id, ReceivableEvent.external_id).where(
                one_of(ReceivableEvent.receivable_id, ids), ReceivableEvent.external_id.is_not(None)
            )
        )
    }
    now, source_value = utcnow(), MoneySource(source).value
    events, touched, balance_after = [], set(), {}
    for payment in payments:
        receivable = settled[payment.receivable_id]
        if (receivable.id, payment.external_id) in booked:
            continue
        booked.add((receivable.id, payment.external_id))
        before_amount, before_state = receivable.paid_amount, receivable.state
        receivable.paid_amount = before_amount + payment.amount
        receivable.paid_at = _noon(payment.booked_on)
        receivable.state = _state_after(before_state, receivable.balance, receivable.paid_amount).value
        touched.add(receivable.id)
        balance_after[payment.external_id] = receivable.balance
        events.append(
            {
                "receivable_id": receivable.id,
                "kind": EventKind.PAYMENT.value,
                "actor": _actor(actor),
                "amount": payment.amount,
                "booked_on": payment.booked_on,
                "source": source_value,
                "external_id": payment.external_id,
                "data": {
                    "amount": str(payment.amount),
                    "booked_on": payment.booked_on.isoformat(),
                    "source": str(source),
                    "paid_amount": [str(before_amount), str(receivable.paid_amount)],
                    "state": [before_state, receivable.state],
                    **payment.details,
                },
                "created_at": now,
            }
        )
    if touched:
        update_rows(
            Receivable.__table__,
            [
                {
                    "id": receivable.id,
                    "paid_amount": receivable.paid_amount,
                    "paid_at": receivable.paid_at,
                    "state": receivable.state,
                }
                for receivable in map(settled.__getitem__, sorted(touched))
            ],
            key="id",
            updated_at=now,
        )
        insert_rows(ReceivableEvent.__table__, events)
        _forget_loaded(touched)
    return PaymentsBooked(settled, balance_after)


def payment_bookings(receivable: Receivable) -> list[Booking]:
    """Return the payments and credits of a receivable as the legal claim books them, by value date."""
    return payment_bookings_of([receivable])[receivable.id]


def payment_bookings_of(receivables: Sequence[Receivable]) -> dict[int, list[Booking]]:
    """Return ``payment_bookings`` of many receivables by receivable id, read in one statement."""
    events: dict[int, list[tuple[str, date, Decimal]]] = {receivable.id: [] for receivable in receivables}
    if events:
        rows = db.session.execute(
            sa.select(
                ReceivableEvent.receivable_id,
                ReceivableEvent.kind,
                ReceivableEvent.booked_on,
                ReceivableEvent.amount,
            )
            .where(
                one_of(ReceivableEvent.receivable_id, list(events)),
                ReceivableEvent.kind.in_([kind.value for kind in MONEY_KINDS]),
            )
            .order_by(ReceivableEvent.receivable_id, ReceivableEvent.booked_on, ReceivableEvent.id)
        )
        for receivable_id, kind, booked_on, amount in rows:
            events[receivable_id].append((kind, booked_on, amount))
    return {receivable.id: _bookings(receivable, events[receivable.id]) for receivable in receivables}


def _bookings(receivable: Receivable, events: list[tuple[str, date, Decimal]]) -> list[Booking]:
    """Turn a receivable's money events (kind, value date, amount; by value date) into its bookings."""
    bookings = []
    paid = credited = ZERO
    for kind, booked_on, amount in events:
        if kind == EventKind.PAYMENT:
            bookings.append(Booking(BookingKind.PAYMENT, booked_on, amount))
            paid += amount
        else:
            bookings.append(Booking(BookingKind.CREDIT, booked_on, amount))
            credited += amount
    # Amounts no booking explains (rows written around the ledger): dated as early as we can know them,
    # which never claims more interest than is owed.
    if receivable.paid_amount > paid:
        logger.warning("receivable %s: paid amount without bookings", receivable.id)
        bookings.insert(
            0, Booking(BookingKind.PAYMENT, berlin_date(receivable.created_at), receivable.paid_amount - paid)
        )
    if receivable.credited_amount > credited:
        logger.warning("receivable %s: credited amount without bookings", receivable.id)
        bookings.insert(
            0, Booking(BookingKind.CREDIT, receivable.invoice_date, receivable.credited_amount - credited)
        )
    return bookings


# -- shops, pushes and imports -------------------------------------------------------------------------------


def _shop_payment_day(paid_at: datetime | None, known: datetime | None) -> date:
    """Date a payment a shop reports: by its paid date when the report brought a new one, else today."""
    return berlin_date(paid_at if paid_at is not None and paid_at != known else utcnow())


def _book_shop_growth(
    receivable: Receivable,
    paid_amount: Decimal,
    paid_at: datetime | None,
    source: MoneySource | str,
    actor: str,
    *,
    known_paid_at: datetime | None,
) -> None:
    growth = paid_amount - receivable.paid_amount
    if growth <= 0:
        return
    day = _shop_payment_day(paid_at, known_paid_at)
    before = receivable.paid_amount
    receivable.paid_amount = paid_amount
    # The shop's cumulative amount names the booking: a report processed twice books once.
    _book(
        receivable,
        EventKind.PAYMENT,
        growth,
        day,
        source,
        external_id=f"{MoneySource(source).value}:paid:{paid_amount}",
        actor=actor,
        data={"paid_amount": [str(before), str(paid_amount)], "reported": True},
    )


def create_receivable(
    values: Mapping[str, Any],
    *,
    state: State | str,
    paid_amount: Decimal,
    paid_at: datetime | None,
    source: MoneySource | str,
    actor: str,
) -> Receivable | None:
    """Insert a receivable in the state its source reports and book what was already paid.

    Returns None when its (connection, external id) row appeared meanwhile: ON CONFLICT instead of a
    savepoint, because on SQLite a savepoint opened outside a transaction commits on release.
    """
    table = Receivable.__table__
    statement = (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=["connection_id", "external_id"])
        .returning(table.c.id)
    )
    row = {
        **values,
        "state": State(state).value,
        "paid_amount": ZERO,
        "credited_amount": ZERO,
        "paid_at": paid_at,
    }
    # A Core INSERT with the values as parameters: its compiled form is cached across rows, which the ORM's
    # bulk path is not (a bulk import spent most of its time there).
    receivable_id = db.session.scalar(statement, row)
    if receivable_id is None:
        return None
    receivable = db.session.get(Receivable, receivable_id)
    _append(
        receivable.id,
        EventKind.CREATED,
        actor,
        {"state": receivable.state, "total": str(values["total_amount"])},
    )
    _book_shop_growth(receivable, paid_amount, paid_at, source, actor, known_paid_at=None)
    return receivable


@dataclass(frozen=True, slots=True)
class NewReceivable:
    """One receivable for ``create_receivables``: ``create_receivable``'s arguments but source and actor."""

    values: Mapping[str, Any]
    state: State | str
    paid_amount: Decimal
    paid_at: datetime | None


def create_receivables(
    new: Sequence[NewReceivable],
    source: MoneySource | str,
    *,
    actor: str,
    reference: Callable[[int], str] | None = None,
) -> dict[tuple[int, str], int]:
    """Insert many receivables as ``create_receivable`` inserts each, with one statement per table.

    Every ``values`` must have the same keys; ``reference`` makes a new receivable's payment reference from
    its id. Returns the new ids by (connection id, external id); a receivable whose (connection, external id)
    row exists already is left out, for the caller to update.
    """
    if not new:
        return {}
    table = Receivable.__table__
    rows = [
        {
            **item.values,
            "state": State(item.state).value,
            "paid_amount": max(item.paid_amount, ZERO),
            "credited_amount": ZERO,
            "paid_at": item.paid_at,
            "dunning_level": 0,
        }
        for item in new
    ]
    ids = reserve_ids(table, len(rows))
    for row, receivable_id in zip(rows, ids, strict=True):
        row["id"] = receivable_id
        row["payment_reference"] = reference(receivable_id) if reference is not None else None
    # The callers looked their (connection, external id) up in this transaction: only another writer clashes.
    inserted = insert_rare_clashes(table, rows, unique=("connection_id", "external_id"))
    created = {(row["connection_id"], row["external_id"]): row["id"] for row in rows if row["id"] in inserted}
    now, source_value = utcnow(), MoneySource(source).value
    events = []
    for item, row in zip(new, rows, strict=True):
        receivable_id = created.get((row["connection_id"], row["external_id"]))
        if receivable_id is None:
            continue
        event = {"receivable_id": receivable_id, "actor": _actor(actor), "created_at": now}
        events.append(
            {
                **event,
                "kind": EventKind.CREATED.value,
                "data": {"state": row["state"], "total": str(row["total_amount"])},
                "amount": None,
                "booked_on": None,
                "source": None,
                "external_id": None,
            }
        )
        if row["paid_amount"] > 0:
            # As ``_book_shop_growth`` books what a new receivable arrives with.
            day = _shop_payment_day(item.paid_at, None)
            paid = row["paid_amount"]
            events.append(
                {
                    **event,
                    "kind": EventKind.PAYMENT.value,
                    "data": {
                        "amount": str(paid),
                        "booked_on": day.isoformat(),
                        "source": str(source),
                        "paid_amount": [str(ZERO), str(paid)],
                        "reported": True,
                    },
                    "amount": paid,
                    "booked_on": day,
                    "source": source_value,
                    "external_id": f"{source_value}:paid:{paid}",
                }
            )
    insert_rows(ReceivableEvent.__table__, events)
    return created


def store_payment_references(references: Iterable[tuple[int, str]]) -> None:
    """Store the payment references of receivables that have none yet: (receivable id, reference).

    ``updated_at`` stays: a reference is derived from the id, not a change (an import's row digest binds to it).
    """
    rows = [
        {"receivable_id": receivable_id, "reference": reference} for receivable_id, reference in references
    ]
    if rows:
        table = Receivable.__table__
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("receivable_id"), table.c.payment_reference.is_(None))
            .values(payment_reference=sa.bindparam("reference"), updated_at=table.c.updated_at),
            rows,
        )
        _forget_loaded(row["receivable_id"] for row in rows)


def store_import_digests(digests: Iterable[tuple[int, str, datetime]]) -> None:
    """Note on receivables the CSV row each stands for: (receivable id, digest, its ``updated_at``, kept as is).

    ``updated_at`` is written back unchanged (a digest is no change of the receivable; and the digest binds
    to it). Receivables whose buyer was erased keep none: the digest is derived from the contact data.
    """
    rows = [
        {"receivable_id": receivable_id, "digest": digest, "stored_updated_at": updated_at}
        for receivable_id, digest, updated_at in digests
    ]
    if rows:
        table = Receivable.__table__
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("receivable_id"), table.c.buyer_erased_at.is_(None))
            .values(import_digest=sa.bindparam("digest"), updated_at=sa.bindparam("stored_updated_at")),
            rows,
        )
        _forget_loaded(row["receivable_id"] for row in rows)


def sync_from_shop(
    receivable: Receivable,
    values: Mapping[str, Any],
    *,
    state: State | str,
    paid_amount: Decimal,
    paid_at: datetime | None,
    source: MoneySource | str,
    actor: str,
) -> dict[str, tuple[Any, Any]]:
    """Take a shop's (or push's, or import's) report of a known receivable; return what changed.

    ``values`` are the order's descriptive fields and its total; ``paid_amount`` is the cumulative amount the
    source says was paid (growth is booked as one payment); ``state`` is what the source reports, and local
    decisions (dispute, collection) win over it (``state_from_shop``).
    """
    before = {name: getattr(receivable, name) for name in TRACKED_FIELDS}
    _book_shop_growth(receivable, paid_amount, paid_at, source, actor, known_paid_at=receivable.paid_at)
    for name, value in values.items():
        if name in {"state", "paid_amount", "credited_amount"}:
            raise ValueError(f"{name} is not a descriptive field")
        if receivable.buyer_erased_at is not None and name in ERASED_COLUMNS:
            continue
        if receivable.buyer_erased_at is not None and name == "buyer":
            value = {key: item for key, item in value.items() if key not in ERASED_BUYER_FIELDS}
        setattr(receivable, name, value)
    receivable.paid_at = paid_at
    receivable.state = state_from_shop(receivable.state, state).value
    changed = {
        name: (_json_value(before[name]), _json_value(getattr(receivable, name)))
        for name in TRACKED_FIELDS
        if before[name] != getattr(receivable, name)
    }
    if changed:
        _append(receivable.id, EventKind.SYNCED, actor, {name: list(pair) for name, pair in changed.items()})
    return changed


# -- state ---------------------------------------------------------------------------------------------------


def _set_state(receivable: Receivable, target: State) -> None:
    """Change the state as the lifecycle allows (``TransitionError`` otherwise); paid gets its moment."""
    check_transition(receivable.state, target)
    receivable.state = target.value
    if target is State.PAID and receivable.paid_at is None:
        receivable.paid_at = utcnow()


def move_to(receivable: Receivable, state: State | str, *, reason: str, actor: str | None = None) -> bool:
    """Move the receivable to ``state`` (``TransitionError`` if the lifecycle forbids it); False if already there."""
    target = State(state)
    if receivable.state == target.value:
        return False
    before = receivable.state
    _set_state(receivable, target)
    _append(
        receivable.id, EventKind.STATE_CHANGED, actor, {"state": [before, target.value], "reason": reason}
    )
    return True


def reopen(receivable: Receivable, *, reason: str, actor: str | None = None) -> bool:
    """Move the receivable to the state its amounts give (open, partially paid or paid)."""
    return move_to(receivable, state_by_amounts(receivable), reason=reason, actor=actor)


def open_dispute(receivable: Receivable, *, reason: str, actor: str) -> None:
    """Mark the claim as contested: dunning and handover stop until the dispute is resolved."""
    if receivable.disputed_at is not None:
        raise ConflictError(f"receivable {receivable.id} is already disputed", code="already_disputed")
    previous = receivable.state
    _set_state(receivable, State.DISPUTED)
    receivable.disputed_at = utcnow()
    receivable.dispute_reason = reason
    _append(receivable.id, EventKind.DISPUTED, actor, {"reason": reason, "previous_state": previous})


def resolve_dispute(
    receivable: Receivable, *, note: str, actor: str, state: State | str | None = None
) -> None:
    """End a dispute; the receivable returns to the state its amounts give, or to ``state`` when given."""
    if receivable.disputed_at is None and receivable.state != State.DISPUTED:
        raise ConflictError(f"receivable {receivable.id} is not disputed", code="not_disputed")
    if state is not None:
        _set_state(receivable, State(state))
    elif receivable.state == State.DISPUTED:
        _set_state(receivable, state_by_amounts(receivable))
    data = {"note": note, "reason": receivable.dispute_reason, "state": receivable.state}
    receivable.disputed_at = None
    receivable.dispute_reason = None
    _append(receivable.id, EventKind.DISPUTE_RESOLVED, actor, data)


# -- dunning -------------------------------------------------------------------------------------------------


def stop_dunning(receivable: Receivable, *, reason: str, actor: str) -> None:
    """Stop dunning this order (idempotent; a repeated stop updates the reason)."""
    if receivable.dunning_stopped_at is None:
        receivable.dunning_stopped_at = utcnow()
    receivable.dunning_stop_reason = reason
    _append(receivable.id, EventKind.DUNNING_STOPPED, actor, {"reason": reason})


def resume_dunning(receivable: Receivable, *, actor: str) -> bool:
    """Lift this order's dunning stop; False when there was none (then nothing is written)."""
    if receivable.dunning_stopped_at is None:
        return False
    data = {"reason": receivable.dunning_stop_reason}
    receivable.dunning_stopped_at = None
    receivable.dunning_stop_reason = None
    _append(receivable.id, EventKind.DUNNING_RESUMED, actor, data)
    return True


def set_dunning_levels(levels: Iterable[tuple[int, int]]) -> None:
    """Record the level of the notice just decided for many receivables at once: (receivable id, level)."""
    rows = [{"id": receivable_id, "dunning_level": level} for receivable_id, level in levels]
    if rows:
        db.session.execute(sa.update(Receivable), rows)


def set_dunning_level(receivable: Receivable, level: int) -> None:
    """Put the receivable's dunning level back to its last live notice (a notice was cancelled)."""
    receivable.dunning_level = level


# -- collection ----------------------------------------------------------------------------------------------


def hand_over(receivable: Receivable, *, data: Mapping[str, Any], actor: str) -> None:
    """Move the receivable into collection; the order's dunning stays stopped even after it returns."""
    move_to(receivable, State.IN_COLLECTION, reason="handed over", actor=actor)
    if receivable.dunning_stopped_at is None:
        receivable.dunning_stopped_at = utcnow()
        receivable.dunning_stop_reason = HANDED_OVER_STOP_REASON
    _append(receivable.id, EventKind.HANDED_OVER, actor, data)


# -- data protection -----------------------------------------------------------------------------------------


def erase_buyer_contact(receivable: Receivable, *, actor: str) -> list[str]:
    """Remove the buyer's contact data and identity keys, keeping the invoice's recipient; return what went.

    Money, state and history stay as they are: the receivable remains a complete bookkeeping record.
    """
    removed = sorted(key for key in receivable.buyer if key in ERASED_BUYER_FIELDS)
    receivable.buyer = {
        key: value for key, value in receivable.buyer.items() if key not in ERASED_BUYER_FIELDS
    }
    removed += [name for name in ERASED_COLUMNS if getattr(receivable, name) is not None]
    for name in ERASED_COLUMNS:
        setattr(receivable, name, None)
    receivable.buyer_erased_at = utcnow()
    _append(receivable.id, EventKind.BUYER_ERASED, actor, {"removed": removed})
    return removed
