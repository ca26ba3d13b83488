"""Errors of the dunning area that the API answers with their own codes."""

from __future__ import annotations

from backend.dunning.base_rates import UnknownBaseRate
from backend.errors import ConflictError


class MissingBaseRateError(ConflictError):
    """A claim needs a base rate nobody has added yet (409, naming the half-year)."""

    code = "unknown_base_rate"

    def __init__(self, error: UnknownBaseRate) -> None:
        half_year = error.half_year_start.isoformat()
        super().__init__(
            f"No base rate is known for the half-year starting {half_year}; "
            f"the operator adds it with: claimbridge rates add {half_year} <percent> --source …",
            details={"missing_half_year": half_year, "day": error.missing.isoformat()},
        )


class UnsupportedClaimError(ConflictError):
    """The receivable cannot be computed as a claim (e.g. not in euro, or nothing invoiced)."""

    code = "unsupported_claim"
