"""Receivable states and the transitions between them, enforced in this one place.

``open``            invoiced, nothing (or nothing yet) paid
``partially_paid``  some payment arrived, a balance remains
``paid``            nothing remains (payments, credits and refunds cover the total)
``cancelled``       the order was cancelled before payment; no claim
``refunded``        the money was returned / the goods came back; no claim
``disputed``        the buyer contests the claim: dunning and handover stop until resolved
``in_collection``   handed over to a collection agency; shop payments are still recorded and reported

Shop updates move a receivable between the first five freely (shops correct themselves), but never out of
``in_collection`` except to ``paid``, and never out of ``disputed`` except by resolving the dispute.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    IN_COLLECTION = "in_collection"


STATES = tuple(state.value for state in State)

# States in which money is still owed and dunning may run.
OUTSTANDING = frozenset({State.OPEN, State.PARTIALLY_PAID})

# States a shop synchronisation may set on its own.
SHOP_STATES = frozenset({State.OPEN, State.PARTIALLY_PAID, State.PAID, State.CANCELLED, State.REFUNDED})

_ALLOWED: dict[State, frozenset[State]] = {
    State.OPEN: frozenset(State) - {State.OPEN},
    State.PARTIALLY_PAID: frozenset(State) - {State.PARTIALLY_PAID},
    State.PAID: frozenset({State.OPEN, State.PARTIALLY_PAID, State.REFUNDED, State.DISPUTED}),
    State.CANCELLED: frozenset({State.OPEN}),
    State.REFUNDED: frozenset({State.OPEN, State.PARTIALLY_PAID}),
    State.DISPUTED: frozenset(
        {State.OPEN, State.PARTIALLY_PAID, State.PAID, State.CANCELLED, State.REFUNDED}
    ),
    State.IN_COLLECTION: frozenset({State.PAID, State.PARTIALLY_PAID, State.OPEN}),
}


class TransitionError(ValueError):
    """A state change the lifecycle does not allow."""


def can_transition(current: State | str, target: State | str) -> bool:
    """Say whether ``current`` may become ``target`` (staying put is always allowed)."""
    current, target = State(current), State(target)
    return current == target or target in _ALLOWED[current]


def check_transition(current: State | str, target: State | str) -> None:
    """Raise TransitionError unless ``current`` may become ``target``."""
    if not can_transition(current, target):
        raise TransitionError(f"a receivable cannot go from {current} to {target}")


def state_from_shop(current: State | str, reported: State | str) -> State:
    """Return the state after a shop reports ``reported``; local decisions (dispute, collection) win."""
    current, reported = State(current), State(reported)
    if current == State.DISPUTED:
        return current if reported in OUTSTANDING else reported
    if current == State.IN_COLLECTION:
        return State.PAID if reported == State.PAID else current
    return reported if reported in SHOP_STATES else current
