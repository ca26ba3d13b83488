"""Marshmallow building blocks shared by every area: row ids, paging, money, country codes and UTC date-times."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pycountry
from marshmallow import Schema, ValidationError, fields, validate

from backend.types import MAX_ROW_ID, MONEY_MAX, fits_money

MAX_PAGE = 1_000_000


def row_id(*, strict: bool = True, **options: Any) -> fields.Integer:
    """Return a field for one row id; anything outside the INTEGER range is a 422, never a database error."""
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=MAX_ROW_ID), **options)


class PageArgsSchema(Schema):
    """``page`` and ``per_page`` query arguments; subclasses set ``per_page``'s default and ceiling."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


def per_page_field(default: int, maximum: int = 200) -> fields.Integer:
    """Return a ``per_page`` field with its own default and ceiling."""
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=maximum))


def money_amount(value: Decimal) -> None:
    """Refuse an amount a Money column cannot store exactly (a ``fields.Decimal`` validator, no extra parsing).

    Without it ``"0.001"`` is rounded by the database and ``"1e-999999999"`` is stored on SQLite, a 500 on
    PostgreSQL and a megabyte when shown.
    """
    if not fits_money(value):
        raise ValidationError(f"Not an amount in cents of at most {MONEY_MAX}.")


# The latest day an order's dates may name: a claim's own dates (payment term, default, limitation) lie years
# beyond them, and dates near year 9999 overflowed there (a 500 on the push, then on every read of the claim).
LATEST_BUSINESS_DAY = date(2199, 12, 31)


def business_day(value: date) -> None:
    """Refuse a date, or date-time, after ``LATEST_BUSINESS_DAY`` (a ``fields.Date``/``DateTime`` validator)."""
    day = value.date() if isinstance(value, datetime) else value
    if day > LATEST_BUSINESS_DAY:
        raise ValidationError(f"Must not be after {LATEST_BUSINESS_DAY.isoformat()}.")


COUNTRY_CODES = frozenset(country.alpha_2 for country in pycountry.countries)


def _known_country(value: str) -> None:
    if value.upper() not in COUNTRY_CODES:
        raise ValidationError("Use an ISO 3166-1 alpha-2 code.")


def country_code(**options: Any) -> fields.String:
    """Return a field for an ISO 3166-1 alpha-2 country code (any case); ``XX`` and other unknowns are a 422."""
    return fields.String(validate=_known_country, metadata={"pattern": "^[A-Za-z]{2}$"}, **options)


class UTCDateTimeField(fields.AwareDateTime):
    """An ISO 8601 date-time with an offset (or ``default_timezone``), loaded as an aware UTC datetime.

    A value whose UTC instant falls outside years 1 to 9999 (``0001-01-01T00:00:00+01:00``) is a 422 naming the
    field; it would otherwise overflow when it is compared with or stored as a UTC timestamp.
    """

    default_error_messages = {"utc_range": "Not a date-time between years 1 and 9999 in UTC."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        loaded = super()._deserialize(value, attr, data, **kwargs)
        try:
            return loaded.astimezone(UTC)
        except OverflowError as error:
            raise self.make_error("utc_range") from error
