"""A receivable's money movements as values: what the ledger's events read back as and a claim is computed from.

Pure, no I/O: ``backend.receivables.ledger.payment_bookings`` makes them from the ledger's events, and
``backend.dunning.claims`` takes them in a ``Claim``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


class BookingKind(enum.StrEnum):
    """Money movements on a receivable."""

    PAYMENT = "payment"
    CREDIT = "credit"
    REFUND = "refund"


def require_money(name: str, value: object, *, positive: bool) -> None:
    """Raise unless ``value`` is a finite Decimal in whole cents, zero or more (more than zero if ``positive``)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name}: must be a finite Decimal, not {value!r}")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"{name}: {value} has fractions of a cent")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name}: must be {'positive' if positive else 'zero or more'}, not {value}")


@dataclass(frozen=True)
class Booking:
    """A payment received, a credit note issued or a refund paid out, effective from ``booked_on``."""

    kind: BookingKind
    booked_on: date
    amount: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", BookingKind(self.kind))
        require_money("amount", self.amount, positive=True)
