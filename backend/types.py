"""Column types shared by every domain area."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from backend.extensions import UTCDateTime

JSONType = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""JSON document column: JSONB on PostgreSQL, JSON text on SQLite; Python None is SQL NULL."""

Money = sa.Numeric(14, 2, asdecimal=True)
"""Amount in major units with cents, returned as Decimal (NUMERIC on PostgreSQL, exact decimal text on SQLite)."""

__all__ = ["JSONType", "Money", "UTCDateTime"]
