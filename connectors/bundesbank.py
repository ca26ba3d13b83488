"""The Deutsche Bundesbank's statistics web service, for the base rate of §247 BGB.

Documented API (bundesbank.de, "Web service interface: Data"; statistiken.bundesbank.de, "Use of the
Bundesbank SDMX Web Service API"): ``GET https://api.statistiken.bundesbank.de/rest/data/{flowRef}/{key}``,
no authentication; the format is chosen by the ``Accept`` header, SDMX-CSV with
``application/vnd.sdmx.data+csv;version=1.0.0``. The base rate is the series
``BBIN1.M.DE.BBK.BBKBAS2.EUR.ME`` ("Base rate as per Civil Code / End of month / SU0115"): one observation
per month, the rate in force at the month's end, in percent with two decimals. SDMX-CSV names its columns
after the data structure; the two this client needs have fixed names in the SDMX-CSV standard:
``TIME_PERIOD`` ("2026-07") and ``OBS_VALUE`` ("1.27", empty for a missing observation).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from connectors.errors import ConnectorError
from connectors.http import DEFAULT_TIMEOUT, HttpClient

SERIES = "BBIN1.M.DE.BBK.BBKBAS2.EUR.ME"
SDMX_CSV = "application/vnd.sdmx.data+csv;version=1.0.0"


class MalformedSeries(ConnectorError):
    """The answer is not the SDMX-CSV series we asked for; nothing from it may be used."""


@dataclass(frozen=True)
class MonthlyRate:
    """The base rate in force at the end of ``month`` (the first day of that month stands for it)."""

    month: date
    percent: Decimal


class BundesbankClient(HttpClient):
    """Reads the base-rate series from the Bundesbank's statistics web service.

    ``url`` is the series' address, ``…/rest/data/{flowRef}/{key}``.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        allow_private: bool = False,
        max_retries: int = 2,
    ) -> None:
        # The series key is the last path segment: /rest/data/{flowRef}/{key}.
        base, _, self.key = url.rstrip("/").rpartition("/")
        super().__init__(base, timeout=timeout, allow_private=allow_private, max_retries=max_retries)

    def base_rate_series(self, start: date | None = None) -> list[MonthlyRate]:
        """Return the monthly base rates, oldest first (from ``start``'s month when given)."""
        params = {"startPeriod": f"{start:%Y-%m}"} if start else None
        response = self.request("GET", self.key, params=params, headers={"Accept": SDMX_CSV})
        return parse_sdmx_csv(response.content.decode("utf-8-sig"))


def parse_sdmx_csv(text: str) -> list[MonthlyRate]:
    """Parse SDMX-CSV observations; raise ``MalformedSeries`` for anything but monthly percentages."""
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    if "TIME_PERIOD" not in columns or "OBS_VALUE" not in columns:
        raise MalformedSeries(f"not SDMX-CSV: columns {columns[:8]}")
    rates = []
    for line, row in enumerate(reader, start=2):
        period, value = (row.get("TIME_PERIOD") or "").strip(), (row.get("OBS_VALUE") or "").strip()
        if not value:
            continue  # a month without an observation (yet)
        try:
            year, month = (int(part) for part in period.split("-"))
            rates.append(MonthlyRate(date(year, month, 1), Decimal(value)))
        except (ValueError, InvalidOperation):
            raise MalformedSeries(f"line {line}: {period!r} {value!r} is not a monthly rate") from None
    return sorted(rates, key=lambda rate: rate.month)
