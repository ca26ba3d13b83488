"""A double of the Bundesbank statistics web service's data endpoint for the §247 BGB base-rate series.

Copies the documented behaviour (bundesbank.de, "Web service interface: Data"): ``GET
/rest/data/BBIN1/M.DE.BBK.BBKBAS2.EUR.ME``, the format chosen by ``Accept`` (SDMX-CSV for
``application/vnd.sdmx.data+csv;version=1.0.0``; anything else gets SDMX-JSON, the default, which our client
never asks for, so the double answers 406 to make a wrong request visible), ``startPeriod=YYYY-MM`` limits
the months, an unknown series is a 404. The SDMX-CSV body has the standard columns (``DATAFLOW``, the
series' dimensions, ``TIME_PERIOD``, ``OBS_VALUE``) and one row per month with the rate at the month's end.

The observations are the real published base rates (the bundled table) expanded to months. Months after
June 2026 carry ``EXTRA_MONTHS``: test values standing for a half-year the Bundesbank publishes later, not a
published rate.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from werkzeug.wrappers import Request, Response

from backend.dunning.base_rates import bundled_rates

PATH = "/rest/data/BBIN1/M.DE.BBK.BBKBAS2.EUR.ME"
SDMX_CSV = "application/vnd.sdmx.data+csv"
HEADER = "DATAFLOW,BBK_STD_FREQ,BBK_STD_COUNTRY,BBK_STD_INST,BBK_STD_ITEM,BBK_STD_CURRENCY,BBK_STD_TYPE,TIME_PERIOD,OBS_VALUE,BBK_OBS_STATUS"


def monthly(rates: Iterable[tuple[date, Decimal]]) -> list[tuple[date, Decimal]]:
    """Expand half-year rates to the six months each one is in force."""
    months = []
    for valid_from, percent in rates:
        months.extend((date(valid_from.year, valid_from.month + offset, 1), percent) for offset in range(6))
    return months


class FakeBundesbank:
    """WSGI app serving the base-rate series; ``observations`` can be changed by a test."""

    def __init__(self, extra_months: Iterable[tuple[date, Decimal]] = ()) -> None:
        self.observations = [*monthly((r.valid_from, r.percent) for r in bundled_rates()), *extra_months]

    def body(self, start: str | None) -> str:
        out = io.StringIO()
        out.write(HEADER + "\r\n")
        for month, percent in sorted(self.observations):
            period = f"{month:%Y-%m}"
            if start and period < start:
                continue
            out.write(f"BBK:BBIN1(1.0),M,DE,BBK,BBKBAS2,EUR,ME,{period},{percent:.2f},A\r\n")
        return out.getvalue()

    def __call__(self, environ: dict, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        if request.method != "GET" or request.path != PATH:
            response = Response("No results found.", status=404, mimetype="text/plain")
        elif SDMX_CSV not in request.headers.get("Accept", ""):
            response = Response("Not Acceptable", status=406, mimetype="text/plain")
        else:
            body = self.body(request.args.get("startPeriod"))
            response = Response(body, mimetype="application/vnd.sdmx.data+csv; version=1.0.0; charset=utf-8")
        return response(environ, start_response)
