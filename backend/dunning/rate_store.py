"""Base rates with a database: the bundled table plus the rates operators added, and the Bundesbank sync."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import current_app

from backend.audit.services import record_event
from backend.dates import berlin_today
from backend.dunning.base_rates import (
    BaseRate,
    BaseRateTable,
    bundled_table,
    current_rate_status,
    half_year_rates,
)
from backend.dunning.models import BaseRateRecord
from backend.errors import UserValueError
from backend.extensions import db
from connectors.bundesbank import SERIES as BUNDESBANK_SERIES
from connectors.bundesbank import BundesbankClient


def stored_base_rates() -> list[BaseRate]:
    """Return the rates operators added, oldest first."""
    rows = db.session.scalars(sa.select(BaseRateRecord).order_by(BaseRateRecord.valid_from))
    return [BaseRate(row.valid_from, row.percent, row.source) for row in rows]


def base_rate_table() -> BaseRateTable:
    """Return the bundled base rates plus the ones operators added."""
    return bundled_table(stored_base_rates())


def add_base_rate(rate: BaseRate, *, actor: str) -> BaseRateRecord:
    """Store a new base rate; refuse one that contradicts a known rate for the same half-year."""
    try:
        base_rate_table().with_rates([rate])
    except ValueError as error:
        raise UserValueError(str(error), details={"/valid_from": [str(error)]}) from None
    if db.session.get(BaseRateRecord, rate.valid_from) is not None:
        raise UserValueError(f"a base rate for {rate.valid_from.isoformat()} is already stored")
    record = BaseRateRecord(
        valid_from=rate.valid_from, percent=rate.percent, source=rate.source, created_by=actor
    )
    db.session.add(record)
    record_event(
        "base_rate.added",
        actor=actor,
        target_type="base_rate",
        target_id=rate.valid_from.isoformat(),
        details={"percent": str(rate.percent), "source": rate.source},
    )
    return record


def base_rate_status(today: date | None = None) -> dict[str, object]:
    """Return whether the current half-year's base rate is known (health endpoint, doctor, console)."""
    return current_rate_status(base_rate_table(), today or berlin_today())


def sync_base_rates(today: date | None = None, *, client: BundesbankClient | None = None) -> str:
    """Add the half-years the Bundesbank published that we do not know yet; never change a known rate.

    The whole series is validated first (``half_year_rates``; and every half-year we know must agree with
    it): any doubt stores nothing and raises, so a wrong or garbled answer cannot put a rate into a claim.
    """
    today = today or berlin_today()
    client = client or BundesbankClient(
        current_app.config["CLAIMBRIDGE_BASE_RATE_URL"],
        allow_private=current_app.config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"],
    )
    try:
        observations = client.base_rate_series()
    finally:
        client.close()
    source = f"Deutsche Bundesbank, Zeitreihe {BUNDESBANK_SERIES}, abgerufen am {today.isoformat()}"
    published = half_year_rates(((o.month, o.percent) for o in observations), source)
    known = base_rate_table()
    known.with_rates(published)  # raises ValueError on any half-year where the Bundesbank says otherwise
    new = [
        rate
        for rate in published
        if rate.valid_from not in {k.valid_from for k in known.rates} and rate.valid_from <= today
    ]
    for rate in new:
        add_base_rate(rate, actor="bundesbank sync")
    added = ", ".join(f"{rate.valid_from.isoformat()} {rate.percent} %" for rate in new) or "nothing new"
    status = current_rate_status(known.with_rates(new), today)
    return f"{len(published)} half-years checked, added: {added}; current half-year: {status['status']}"


def sync_base_rates_when_missing(today: date | None = None) -> str:
    """Run ``sync_base_rates`` when the current half-year's rate is unknown (the worker's weekly job)."""
    status = base_rate_status(today)
    if status["status"] == "ok":
        return f"base rate of the half-year from {status['half_year']} known; nothing to fetch"
    return sync_base_rates(today)
