"""The handover state machine, in this one place.

``proposed``            the worker found the receivable ready; waits for the merchant (or an auto rule)
``approved``            the merchant agreed; the submission job will hand it over
``rejected``            the merchant said no; never proposed again automatically
``withdrawn``           the merchant took it back (after submission the agency was told and agreed)
``submitting``          a worker is handing it over (leased), or retries after an agency error
``submitted``           the agency has the case; its status and payments are mirrored back
``rejected_by_agency``  the agency refused it (at once or after its review); the reason goes to the merchant
``closed``              the agency finished the case (ended, cancelled, fully paid)
"""

from __future__ import annotations

from backend.handovers.models import HandoverStatus

_ALLOWED: dict[HandoverStatus, frozenset[HandoverStatus]] = {
    HandoverStatus.PROPOSED: frozenset(
        {HandoverStatus.APPROVED, HandoverStatus.REJECTED, HandoverStatus.WITHDRAWN}
    ),
    HandoverStatus.APPROVED: frozenset({HandoverStatus.SUBMITTING, HandoverStatus.WITHDRAWN}),
    # The last balance check before the first attempt may hold a case back: proposed again, or withdrawn.
    HandoverStatus.SUBMITTING: frozenset(
        {
            HandoverStatus.SUBMITTED,
            HandoverStatus.REJECTED_BY_AGENCY,
            HandoverStatus.PROPOSED,
            HandoverStatus.WITHDRAWN,
        }
    ),
    # An agency reviews a released case asynchronously and may still refuse it; the merchant may withdraw it.
    HandoverStatus.SUBMITTED: frozenset(
        {HandoverStatus.CLOSED, HandoverStatus.REJECTED_BY_AGENCY, HandoverStatus.WITHDRAWN}
    ),
    HandoverStatus.REJECTED: frozenset(),
    HandoverStatus.WITHDRAWN: frozenset(),
    HandoverStatus.REJECTED_BY_AGENCY: frozenset(),
    HandoverStatus.CLOSED: frozenset(),
}


class HandoverTransitionError(ValueError):
    """A handover state change the lifecycle does not allow."""


def can_transition(current: HandoverStatus | str, target: HandoverStatus | str) -> bool:
    """Say whether a handover in ``current`` may move to ``target``."""
    return HandoverStatus(target) in _ALLOWED[HandoverStatus(current)]


def check_transition(current: HandoverStatus | str, target: HandoverStatus | str) -> None:
    """Raise HandoverTransitionError unless ``current`` may become ``target``."""
    if not can_transition(current, target):
        raise HandoverTransitionError(f"a handover cannot go from {current} to {target}")
