"""The base rate of §247 BGB as data: bundled values plus those the operator adds at run time.

The Deutsche Bundesbank fixes the base rate for each half-year on 1 January and 1 July. A rate is valid
for exactly its own half-year: a table that lacks the rate of a half-year cannot answer for any day in it,
and ``rate_on`` raises ``UnknownBaseRate`` naming the day rather than carrying a stale rate forward
(interest computed on last year's rate would be a wrong claim against the debtor). Even an unchanged rate
is published again (2026-01-01 = 2025-07-01), so every half-year gets its own row.

The bundled CSV (``data/base_rates.csv``) holds every half-year since §247 BGB took effect (1 January 2002)
that was confirmed when it was written, each with its source. Newer values come from the database:
``claimbridge rates sync`` reads the Bundesbank's series (``connectors.bundesbank``) and stores new
half-years after ``half_year_rates`` validated them, and an operator can add one with ``claimbridge rates
add``. Build the table from both: ``bundled_table().with_rates(rates_from_db)``.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import TextIO

CHANGE_MONTHS = (1, 7)
# Plausibility bounds only: catch "152" typed for "1.52"; the rate has been between -0.88 and 12 since 1999.
_MIN_PERCENT = Decimal("-10")
_MAX_PERCENT = Decimal("20")


class UnknownBaseRate(LookupError):
    """No base rate is known for ``missing``; the operator must add the rate of its half-year."""

    def __init__(self, missing: date) -> None:
        self.missing = missing
        self.half_year_start = half_year_start(missing)
        super().__init__(
            f"no base rate known for {missing.isoformat()}: "
            f"add the rate valid from {self.half_year_start.isoformat()}"
        )


def half_year_start(day: date) -> date:
    """Return the 1 January or 1 July that starts the half-year containing ``day``."""
    return date(day.year, 1 if day.month < 7 else 7, 1)


def half_year_end(day: date) -> date:
    """Return the 30 June or 31 December that ends the half-year containing ``day``."""
    return date(day.year, 6, 30) if day.month < 7 else date(day.year, 12, 31)


@dataclass(frozen=True)
class BaseRate:
    """The base rate in percent valid from ``valid_from`` (a 1 January or 1 July) for one half-year."""

    valid_from: date
    percent: Decimal
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.valid_from, date) or (self.valid_from.month, self.valid_from.day) not in (
            (1, 1),
            (7, 1),
        ):
            raise ValueError(f"valid_from: rates change only on 1 January or 1 July, not {self.valid_from}")
        if not isinstance(self.percent, Decimal) or not self.percent.is_finite():
            raise ValueError(f"percent: must be a finite Decimal, not {self.percent!r}")
        if self.percent.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValueError(f"percent: the Bundesbank publishes two decimals, not {self.percent}")
        if not _MIN_PERCENT <= self.percent <= _MAX_PERCENT:
            raise ValueError(f"percent: {self.percent} is outside {_MIN_PERCENT}..{_MAX_PERCENT}")
        if not self.source or not self.source.strip():
            raise ValueError("source: say where the rate was published")

    @property
    def valid_until(self) -> date:
        """Return the last day of this rate's half-year."""
        return half_year_end(self.valid_from)


@dataclass(frozen=True)
class RateSegment:
    """Consecutive days, ``first_day`` to ``last_day`` inclusive, under one base rate."""

    first_day: date
    last_day: date
    base_rate: BaseRate

    @property
    def days(self) -> int:
        """Return the number of calendar days in the segment, both ends included."""
        return (self.last_day - self.first_day).days + 1


class BaseRateTable:
    """Base rates by half-year; answers only for half-years it holds a rate for."""

    def __init__(self, rates: Iterable[BaseRate]) -> None:
        by_start: dict[date, BaseRate] = {}
        for rate in rates:
            known = by_start.get(rate.valid_from)
            if known is not None and known.percent != rate.percent:
                raise ValueError(
                    f"conflicting base rates for {rate.valid_from.isoformat()}: "
                    f"{known.percent} ({known.source}) and {rate.percent} ({rate.source})"
                )
            by_start.setdefault(rate.valid_from, rate)
        self._by_start = dict(sorted(by_start.items()))

    def __repr__(self) -> str:
        return f"BaseRateTable({len(self._by_start)} rates, covered until {self.covered_until})"

    @property
    def rates(self) -> tuple[BaseRate, ...]:
        """Return the rates ordered by ``valid_from``."""
        return tuple(self._by_start.values())

    @property
    def covered_until(self) -> date | None:
        """Return the last day of the last half-year with a rate, or None for an empty table."""
        if not self._by_start:
            return None
        return half_year_end(next(reversed(self._by_start)))

    def with_rates(self, rates: Iterable[BaseRate]) -> BaseRateTable:
        """Return a new table with ``rates`` added; a different percent for a known half-year is an error."""
        return BaseRateTable([*self.rates, *rates])

    def rate_on(self, day: date) -> BaseRate:
        """Return the base rate valid on ``day`` or raise ``UnknownBaseRate``."""
        rate = self._by_start.get(half_year_start(day))
        if rate is None:
            raise UnknownBaseRate(day)
        return rate

    def segments(self, first_day: date, last_day: date) -> tuple[RateSegment, ...]:
        """Split the days ``first_day``..``last_day`` (inclusive) at each 1 January and 1 July."""
        if last_day < first_day:
            return ()
        segments = []
        start = first_day
        while start <= last_day:
            end = min(half_year_end(start), last_day)
            segments.append(RateSegment(start, end, self.rate_on(start)))
            start = end + timedelta(days=1)
        return tuple(segments)


def parse_base_rate(valid_from: str, percent: str, source: str) -> BaseRate:
    """Build a ``BaseRate`` from text (ISO date, decimal with a point); raise ValueError naming the field."""
    try:
        day = date.fromisoformat(valid_from.strip())
    except ValueError:
        raise ValueError(f"valid_from: {valid_from!r} is not an ISO date (YYYY-MM-DD)") from None
    try:
        value = Decimal(percent.strip())
    except InvalidOperation:
        raise ValueError(f"percent: {percent!r} is not a decimal number") from None
    return BaseRate(day, value, source.strip())


def read_rates_csv(stream: TextIO) -> list[BaseRate]:
    """Read rates from CSV with the columns ``valid_from,percent,source``."""
    reader = csv.DictReader(stream)
    expected = ["valid_from", "percent", "source"]
    if reader.fieldnames != expected:
        raise ValueError(f"base rate CSV must have the columns {expected}, not {reader.fieldnames}")
    rates = []
    for line_number, row in enumerate(reader, start=2):
        try:
            rates.append(parse_base_rate(row["valid_from"], row["percent"], row["source"]))
        except ValueError as exc:
            raise ValueError(f"base rate CSV line {line_number}: {exc}") from None
    return rates


@functools.cache
def bundled_rates() -> tuple[BaseRate, ...]:
    """Return the rates shipped in ``data/base_rates.csv``."""
    data = resources.files("backend.dunning").joinpath("data/base_rates.csv")
    with data.open(encoding="utf-8", newline="") as stream:
        return tuple(read_rates_csv(stream))


def bundled_table(extra: Sequence[BaseRate] = ()) -> BaseRateTable:
    """Return the table of bundled rates plus ``extra`` (e.g. rows the operator stored in the database)."""
    return BaseRateTable(bundled_rates()).with_rates(extra)


def half_year_rates(months: Iterable[tuple[date, Decimal]], source: str) -> list[BaseRate]:
    """Return one rate per half-year from monthly observations (month start, percent).

    A half-year counts only when its first month (January or July) is observed, and every observed month of
    it must show the same rate (the rate changes only on 1 January and 1 July); anything else is a
    ``ValueError`` and nothing from the series may be used.
    """
    by_half_year: dict[date, dict[date, Decimal]] = {}
    for month, percent in months:
        by_half_year.setdefault(half_year_start(month), {})[month] = percent
    rates = []
    for start, observed in sorted(by_half_year.items()):
        values = set(observed.values())
        if len(values) > 1:
            listing = ", ".join(f"{month:%Y-%m} {value}" for month, value in sorted(observed.items()))
            raise ValueError(f"the rate changes inside the half-year from {start.isoformat()}: {listing}")
        if start in observed:
            rates.append(BaseRate(start, observed[start], source))
    return rates


def current_rate_status(table: BaseRateTable, today: date) -> dict[str, object]:
    """Return whether the rate of ``today``'s half-year is known, for health checks and the console."""
    start = half_year_start(today)
    try:
        rate = table.rate_on(today)
    except UnknownBaseRate:
        return {
            "status": "missing",
            "half_year": start.isoformat(),
            "known_until": table.covered_until.isoformat() if table.covered_until else None,
            "message": (
                f"The base rate (§247 BGB) valid from {start.isoformat()} is not known yet: default interest "
                f"for days from then on is not claimed. Run `claimbridge rates sync`, or add the rate the "
                f"Deutsche Bundesbank published with `claimbridge rates add {start.isoformat()} PERCENT`."
            ),
        }
    return {
        "status": "ok",
        "half_year": start.isoformat(),
        "percent": str(rate.percent),
        "known_until": rate.valid_until.isoformat(),
        "message": f"Base rate {rate.percent} % valid from {start.isoformat()} ({rate.source}).",
    }
