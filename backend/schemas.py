"""Marshmallow building blocks shared by every area: row ids, paging and country codes."""

from __future__ import annotations

from typing import Any

import pycountry
from marshmallow import Schema, ValidationError, fields, validate

MAX_ROW_ID = 2**31 - 1  # primary keys are INTEGER columns on PostgreSQL
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


COUNTRY_CODES = frozenset(country.alpha_2 for country in pycountry.countries)


def _known_country(value: str) -> None:
    if value.upper() not in COUNTRY_CODES:
        raise ValidationError("Use an ISO 3166-1 alpha-2 code.")


def country_code(**options: Any) -> fields.String:
    """Return a field for an ISO 3166-1 alpha-2 country code (any case); ``XX`` and other unknowns are a 422."""
    return fields.String(validate=_known_country, metadata={"pattern": "^[A-Za-z]{2}$"}, **options)
