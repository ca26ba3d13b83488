"""Calendar and status rules of the BGB that dunning dates rest on. Pure, no I/O.

- **Working days (§193 BGB).** When the last day of a period, or the day by which performance is due, is a
  Saturday, a Sunday or a public holiday, the next working day takes its place. Holidays come from the
  ``holidays`` library: the nationwide ones always, and those of the merchant's Land when the merchant set it
  (``land``, an ISO 3166-2:DE code such as ``"BY"``). Strictly the Land of the place of performance counts;
  every extra holiday only moves a date later, so a wider calendar claims less, never more.
- **Limitation (§§195, 199(1), 212(1) No. 1, 188(2), 193 BGB).** Three years, starting at the end of the year
  in which the claim fell due (a claim "arises" in the sense of §199 when it can be demanded). A partial
  payment, instalment or other acknowledgment by the debtor while the period runs makes it begin again
  (§212(1) No. 1): three years from the day after, ending on the day with the same date (§188(2); 29 February
  ends on 28 February, §188(3)). A restart never shortens the period already running. §193 applies to the
  last day. An acknowledgment after the end does not revive a barred claim.
- **Consumer or business (§§13, 14 BGB).** What the merchant states explicitly for the order wins; else the
  shop's own account type, a VAT identification number (issued only to businesses), the merchant's setting
  that it sells to businesses only. A company name alone proves nothing (a private buyer may fill it in);
  in doubt a natural person is a consumer (§13 BGB).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from stdnum.eu import vat

LIMITATION_YEARS = 3
DUE_DATE_BASES = ("invoice_date", "shipment")
# The sixteen Länder (ISO 3166-2:DE), as the holidays library names its German subdivisions.
LANDS = ("BB", "BE", "BW", "BY", "HB", "HE", "HH", "MV", "NI", "NW", "RP", "SH", "SL", "SN", "ST", "TH")


class DebtorKind(enum.StrEnum):
    """Whether the debtor is a consumer (§13 BGB) or a business (§14 BGB)."""

    CONSUMER = "consumer"
    BUSINESS = "business"


class UnknownLand(ValueError):
    """The Land code is not one of Germany's sixteen."""


def check_land(land: str | None) -> str | None:
    """Return ``land`` upper-cased, or raise ``UnknownLand`` when it is not a German Land code."""
    if land is None:
        return None
    code = land.strip().upper()
    if code not in LANDS:
        raise UnknownLand(f"{land!r} is not a German Land; use one of {', '.join(LANDS)}")
    return code


@functools.lru_cache(maxsize=64)
def _holidays(year: int, land: str | None) -> frozenset[date]:
    import holidays  # imported on first use: half a second the web workers' start need not pay

    nationwide = holidays.country_holidays("DE", years=year)
    regional = holidays.country_holidays("DE", subdiv=land, years=year) if land else {}
    return frozenset([*nationwide, *regional])


def public_holiday(day: date, land: str | None = None) -> bool:
    """Say whether ``day`` is a public holiday nationwide or in ``land``."""
    return day in _holidays(day.year, land)


def is_working_day(day: date, land: str | None = None) -> bool:
    """Say whether ``day`` is neither a Saturday, a Sunday nor a public holiday (§193 BGB)."""
    return day.weekday() < 5 and not public_holiday(day, land)


def next_working_day(day: date, land: str | None = None) -> date:
    """Return ``day``, or the next working day when it is a Saturday, Sunday or public holiday (§193 BGB)."""
    while not is_working_day(day, land):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, count: int, land: str | None = None) -> date:
    """Return the working day ``count`` working days after ``day`` (banking days for transfers)."""
    for _ in range(count):
        day = next_working_day(day + timedelta(days=1), land)
    return day


def same_day_years_later(day: date, years: int) -> date:
    """Return the day with the same date ``years`` later; 29 February becomes 28 February (§188(3) BGB)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 2, 28)


def limitation_date(due_date: date, acknowledgments: Iterable[date] = (), land: str | None = None) -> date:
    """Return the last day on which the claim is not yet time-barred (module docstring)."""
    last_day = next_working_day(date(due_date.year + LIMITATION_YEARS, 12, 31), land)
    for acknowledged in sorted(acknowledgments):
        if acknowledged > last_day:
            break
        restarted = next_working_day(same_day_years_later(acknowledged, LIMITATION_YEARS), land)
        last_day = max(last_day, restarted)
    return last_day


def debtor_kind_from(
    *,
    stated: str | None = None,
    account_type: str | None = None,
    vat_id: str | None = None,
    merchant_sells_to_businesses_only: bool = False,
) -> DebtorKind:
    """Return consumer or business from what the shop knows; consumer when nothing says business.

    Only a valid EU VAT id (country prefix, that country's national pattern and check digits) says business:
    buyers type "-", "keine" or their tax number into optional VAT fields, and a consumer taken for a business
    would be charged B2B interest (§288(2) BGB) and the €40 flat fee (§288(5) BGB) they do not owe.
    """
    if stated:
        return DebtorKind(stated)
    if account_type:
        kind = account_type.strip().lower()
        if kind == "business":
            return DebtorKind.BUSINESS
        if kind in ("private", "consumer"):
            return DebtorKind.CONSUMER
    if vat_id and vat.is_valid(vat_id):
        return DebtorKind.BUSINESS
    if merchant_sells_to_businesses_only:
        return DebtorKind.BUSINESS
    return DebtorKind.CONSUMER


# Days from the invoice (or shipment) to the due date until the merchant sets a payment term.
DEFAULT_PAYMENT_TERMS_DAYS = 14


@dataclass(frozen=True)
class ClaimSettings:
    """Facts about a merchant that decide dates and debtor kinds (stored in ``Merchant.settings["claims"]``).

    - ``land``: the merchant's German Land (ISO 3166-2:DE, e.g. "BY"); its public holidays extend §193 BGB.
    - ``sells_to_businesses_only``: a B2B shop; its buyers are businesses unless an order says otherwise.
    - ``invoices_carry_default_notice``: the merchant's invoices to consumers carry the §286(3) notice, so
      consumer claims reach default 30 days after due date and receipt without a Mahnung (an order may say
      otherwise).
    - ``due_date_from``: the payment term runs from the invoice date, or from shipment when the merchant
      invoices on shipment (orders are then tracked once they are shipped).
    - ``payment_terms_days``: the payment term, days from that date to the due date (shops show the same date
      in their payment instructions; an older top-level ``payment_terms_days`` setting is still read).
    """

    land: str | None = None
    sells_to_businesses_only: bool = False
    invoices_carry_default_notice: bool = False
    due_date_from: str = "invoice_date"
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> ClaimSettings:
        """Read the settings stored under ``"claims"`` (defaults for what is missing)."""
        stored = (settings or {}).get("claims") or {}
        return cls(
            land=stored.get("land"),
            sells_to_businesses_only=bool(stored.get("sells_to_businesses_only", False)),
            invoices_carry_default_notice=bool(stored.get("invoices_carry_default_notice", False)),
            due_date_from=stored.get("due_date_from", "invoice_date"),
            payment_terms_days=int(
                stored.get(
                    "payment_terms_days",
                    (settings or {}).get("payment_terms_days", DEFAULT_PAYMENT_TERMS_DAYS),
                )
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as stored and shown."""
        return {
            "land": self.land,
            "sells_to_businesses_only": self.sells_to_businesses_only,
            "invoices_carry_default_notice": self.invoices_carry_default_notice,
            "due_date_from": self.due_date_from,
            "payment_terms_days": self.payment_terms_days,
        }
