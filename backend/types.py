"""Column types shared by every domain area."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from backend.extensions import UTCDateTime

JSONType = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""JSON document column: JSONB on PostgreSQL, JSON text on SQLite; Python None is SQL NULL."""

Money = sa.Numeric(14, 2, asdecimal=True)
MONEY_MAX = Decimal("999999999999.99")  # the most a Money column holds
MAX_ROW_ID = 2**31 - 1  # primary keys are INTEGER columns on PostgreSQL


def fits_money(amount: Decimal) -> bool:
    """Tell whether a Money column stores ``amount`` exactly (finite, at most 2 places, within range)."""
    return amount.is_finite() and abs(amount) <= MONEY_MAX and amount == amount.quantize(Decimal("0.01"))


"""Amount in major units with cents, returned as Decimal (NUMERIC on PostgreSQL, exact decimal text on SQLite)."""

__all__ = ["JSONType", "Money", "UTCDateTime"]
