"""ledger bookings: money events carry amount, value date, source and an external id unique per receivable

The history written before the ledger is turned into bookings, as ``payment_bookings`` used to read it:
bank payments (``payment``) keep their booking date; agency payments (``collection_payment``) become
``payment`` events on their value date; each sync that raised the paid amount gets a ``payment`` of the
difference on the shop's paid date (else the day of the sync); an amount paid before the receivable was
created is booked on its paid date (else its creation day), and credit notes on the invoice date.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 16:00:00

"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BERLIN = ZoneInfo("Europe/Berlin")
ZERO = Decimal("0.00")

events = sa.table(
    "receivable_events",
    sa.column("id", sa.Integer),
    sa.column("receivable_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("actor", sa.String),
    sa.column("data", backend.types.JSONType),
    sa.column("amount", backend.types.Money),
    sa.column("booked_on", sa.Date),
    sa.column("source", sa.String),
    sa.column("external_id", sa.String),
    sa.column("created_at", backend.types.UTCDateTime()),
)
receivables = sa.table(
    "receivables",
    sa.column("id", sa.Integer),
    sa.column("paid_amount", backend.types.Money),
    sa.column("credited_amount", backend.types.Money),
    sa.column("paid_at", backend.types.UTCDateTime()),
    sa.column("invoice_date", sa.Date),
    sa.column("created_at", backend.types.UTCDateTime()),
)


def _day(moment: datetime) -> date:
    return moment.astimezone(BERLIN).date()


def _moment(value: object) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else None


def _booking(
    receivable_id: int,
    actor: str,
    created_at: datetime,
    kind: str,
    amount: Decimal,
    day: date,
    **data: object,
) -> dict:
    return {
        "receivable_id": receivable_id,
        "kind": kind,
        "actor": actor,
        "data": {"amount": str(amount), "booked_on": day.isoformat(), "source": "shop", **data},
        "amount": amount,
        "booked_on": day,
        "source": "shop",
        "external_id": None,
        "created_at": created_at,
    }


def _backfill() -> None:
    bind = op.get_bind()
    history = bind.execute(
        sa.select(events)
        .where(events.c.kind.in_(["payment", "collection_payment", "synced"]))
        .order_by(events.c.receivable_id, events.c.created_at, events.c.id)
    ).all()
    booked: dict[int, Decimal] = {}
    new_rows = []
    for event in history:
        data = event.data or {}
        if event.kind == "payment":
            amount = Decimal(data["amount"])
            match = data.get("payment_match")
            bind.execute(
                events.update()
                .where(events.c.id == event.id)
                .values(
                    amount=amount,
                    booked_on=date.fromisoformat(data["booking_date"]),
                    source="bank_statement",
                    external_id=None if match is None else f"payment_match:{match}",
                )
            )
        elif event.kind == "collection_payment":
            amount = Decimal(data["amount"])
            bind.execute(
                events.update()
                .where(events.c.id == event.id)
                .values(
                    kind="payment",
                    amount=amount,
                    booked_on=date.fromisoformat(data["value_date"]),
                    source="agency",
                    data={**data, "source": "agency", "booked_on": data["value_date"]},
                )
            )
        else:
            change = data.get("paid_amount")
            if not change:
                continue
            amount = Decimal(str(change[1])) - Decimal(str(change[0]))
            if amount <= 0:
                continue
            reported = data.get("paid_at")
            paid_at = _moment(reported[1]) if reported else None
            day = _day(paid_at or event.created_at)
            new_rows.append(
                _booking(
                    event.receivable_id,
                    event.actor,
                    event.created_at,
                    "payment",
                    amount,
                    day,
                    paid_amount=change,
                )
            )
        booked[event.receivable_id] = booked.get(event.receivable_id, ZERO) + amount
    owed = bind.execute(
        sa.select(receivables).where(sa.or_(receivables.c.paid_amount > 0, receivables.c.credited_amount > 0))
    ).all()
    for receivable in owed:
        initial = receivable.paid_amount - booked.get(receivable.id, ZERO)
        if initial > 0:
            paid_at = receivable.paid_at if receivable.id not in booked and receivable.paid_at else None
            day = _day(paid_at or receivable.created_at)
            new_rows.append(
                _booking(receivable.id, "migration", receivable.created_at, "payment", initial, day)
            )
        if receivable.credited_amount > 0:
            credit = receivable.credited_amount
            new_rows.append(
                _booking(
                    receivable.id,
                    "migration",
                    receivable.created_at,
                    "credit",
                    credit,
                    receivable.invoice_date,
                    reason="credit_note",
                )
            )
    if new_rows:
        op.bulk_insert(events, new_rows)


def upgrade():
    with op.batch_alter_table("receivable_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amount", backend.types.Money, nullable=True))
        batch_op.add_column(sa.Column("booked_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(
            "uq_receivable_events_receivable_external", ["receivable_id", "external_id"]
        )
    _backfill()


def downgrade():
    # The old history reads shop payments from ``synced`` events and the rest from the receivable's amounts.
    bind = op.get_bind()
    op.execute(events.delete().where(events.c.kind == "credit"))
    op.execute(
        events.delete().where(events.c.kind == "payment", events.c.source.in_(["shop", "api", "import"]))
    )
    for event in bind.execute(sa.select(events).where(events.c.kind == "payment")).all():
        data = dict(event.data or {})
        if event.source == "agency":
            kind, data["value_date"] = "collection_payment", event.booked_on.isoformat()
        else:
            kind, data["booking_date"] = "payment", event.booked_on.isoformat()
        bind.execute(events.update().where(events.c.id == event.id).values(kind=kind, data=data))
    with op.batch_alter_table("receivable_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_receivable_events_receivable_external", type_="unique")
        batch_op.drop_column("external_id")
        batch_op.drop_column("source")
        batch_op.drop_column("booked_on")
        batch_op.drop_column("amount")
