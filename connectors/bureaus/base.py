"""The ``CreditBureau`` interface and the provider-neutral ``BureauResult``.

A bureau is asked only for invoice orders above the policy's amount threshold (the backend decides with
``backend.risk.engine.should_call_bureau``). Implementations raise the typed errors of
``connectors.errors`` for transport failures (``TimeoutError``, ``ConnectionError``, ``ServerError``) and
``BureauError`` when the bureau answered but refused or failed the check; callers turn either into
``BureauResult.failure(...)`` so the policy's fail mode decides.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connectors.errors import ConnectorError

TRAFFIC_LIGHTS = ("G", "Y", "R")


class BureauError(ConnectorError):
    """The bureau answered but could not score the person (bad parameters, account problem, bureau error)."""

    def __init__(
        self, message: str, *, error_code: str = "", customer_message: str = "", **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.error_code = error_code
        self.customer_message = customer_message


@dataclass(frozen=True, slots=True)
class BureauPerson:
    """The person and address to score, as the buyer entered them."""

    first_name: str
    last_name: str
    street: str
    postal_code: str
    city: str
    country: str
    date_of_birth: date | None = None
    company: str = ""


@dataclass(frozen=True, slots=True)
class CorrectedAddress:
    """Name and address as the bureau corrected them; "" where it returned nothing."""

    first_name: str = ""
    last_name: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""


@dataclass(frozen=True, slots=True)
class BureauResult:
    """A bureau's answer, or why there is none (``error`` set, everything else empty)."""

    provider: str
    traffic_light: str = ""
    score_value: int | None = None
    person_status: str = ""
    person_status_meaning: str = ""
    corrected_address: CorrectedAddress | None = None
    # The few response fields worth keeping for audit (never the request's personal data).
    raw: Mapping[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        """Tell whether the bureau delivered a result."""
        return not self.error

    @classmethod
    def failure(cls, provider: str, error: str) -> BureauResult:
        """Build the result of a failed or timed-out bureau call."""
        return cls(provider=provider, error=error or "unknown error")


class CreditBureau(abc.ABC):
    """A credit bureau that scores a person at an address, within ``timeout_budget`` seconds all told."""

    provider: str
    timeout_budget: float

    @abc.abstractmethod
    def score(self, person: BureauPerson) -> BureauResult:
        """Score a person; raise ``ConnectorError`` subclasses when no result can be had."""
