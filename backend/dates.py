"""Calendar days in Europe/Berlin: due dates and legal deadlines count in local days, storage stays UTC."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from backend.extensions import utcnow

BERLIN = ZoneInfo("Europe/Berlin")


def berlin_date(moment: datetime) -> date:
    """Return the Europe/Berlin calendar day of an aware moment."""
    return moment.astimezone(BERLIN).date()


def berlin_today(now: datetime | None = None) -> date:
    """Return today's calendar day in Europe/Berlin."""
    return berlin_date(now or utcnow())
