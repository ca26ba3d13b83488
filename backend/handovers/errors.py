"""Errors of the handovers area."""

from backend.errors import ConflictError


class HandoverStateError(ConflictError):
    """The handover is not in a state that allows the requested decision (409)."""

    code = "handover_state"
