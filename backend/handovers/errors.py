"""Errors of the handovers area."""

from backend.errors import AppError, ConflictError


class HandoverStateError(ConflictError):
    """The handover is not in a state that allows the requested decision (409)."""

    code = "handover_state"


class AgencyRefusedError(ConflictError):
    """The agency refused what we asked (e.g. a withdrawal); its answer is in the message (409)."""

    code = "agency_refused"


class AgencyUnavailableError(AppError):
    """The agency could not be reached or failed; nothing changed here, try again later (502)."""

    http_status = 502
    code = "agency_unavailable"
