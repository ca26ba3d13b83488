"""Exactly-once submission of approved handovers to their agencies (the worker side).

A worker leases one approved handover at a time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL;
``next_attempt_at`` is the lease expiry, ``lease_token`` fences a worker whose lease ran out), builds the §13a
case, commits, and calls the adapter outside any transaction (the built-in agency writes into the same
transaction that records the result). The adapter looks the case up by the handover's idempotency key before
creating it. Transport errors retry with exponential backoff and jitter; ``CaseRejected`` ends in
``rejected_by_agency`` with the reason. Success moves the receivable to ``in_collection`` (which stops
dunning; the order's dunning stop is set too, so it stays stopped).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from backend.audit.services import record_event
from backend.dates import berlin_today
from backend.dunning.errors import MissingBaseRateError, UnsupportedClaimError
from backend.dunning.receivable_claims import claim_on
from backend.dunning.stops import dunning_blocker
from backend.extensions import db, utcnow
from backend.handovers.agencies import agency_for
from backend.handovers.case import build_case, freeze_breakdown, submission_sha256
from backend.handovers.documents import CaseDocument, DocumentSource
from backend.handovers.leases import retry_delay, submission_lease
from backend.handovers.models import Handover, HandoverStatus
from backend.handovers.shop_updates import queue_case_fields, queue_order_note
from backend.handovers.states import check_transition
from backend.outbox import lease_due
from backend.receivables import ledger
from backend.receivables.ledger import EventKind
from backend.receivables.states import State
from connectors.agencies.base import CaseRef, CaseRejected, HandoverCase
from connectors.errors import ConnectorError

logger = logging.getLogger(__name__)


def _lease_next(now: datetime, token: str) -> int | None:
    """Lease one due approved (or retrying) handover to this worker; commit; return its id."""
    leased = lease_due(
        Handover,
        Handover.status.in_((HandoverStatus.APPROVED.value, HandoverStatus.SUBMITTING.value)),
        Handover.next_attempt_at <= now,
        now=now,
        lease=submission_lease(),
        limit=1,
        order_by=(Handover.next_attempt_at, Handover.id),
        values={
            "status": HandoverStatus.SUBMITTING.value,
            "lease_token": token,
            "attempts": Handover.attempts + 1,
        },
    )
    return leased[0] if leased else None


def _holding_lease(handover_id: int, token: str) -> Handover | None:
    """Lock the handover and return it if this worker still holds its lease."""
    handover = db.session.scalar(sa.select(Handover).filter_by(id=handover_id).with_for_update())
    if (
        handover is None
        or handover.status != HandoverStatus.SUBMITTING.value
        or handover.lease_token != token
    ):
        return None
    return handover


def submit_approved_handovers(limit: int = 50) -> str:
    """Hand approved handovers to their agencies, one leased handover at a time; commits per handover."""
    counts: Counter[str] = Counter()
    for _ in range(limit):
        token = uuid.uuid4().hex
        handover_id = _lease_next(utcnow(), token)
        if handover_id is None:
            break
        counts[_submit_one(handover_id, token)] += 1
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "nothing to submit"


def last_balance_check(handover: Handover, today: date) -> tuple[HandoverStatus, str] | None:
    """Return where an approved handover must go instead of the agency, and why, or None when it may go.

    The claim was frozen when it was proposed; payments, credit notes, a dispute or a stop may have come
    since. A claim no longer owed (or barred, disputed, stopped) is withdrawn; one whose payments or credits
    changed is proposed again with the claim as it is today, for the merchant to approve anew.
    """
    receivable = handover.receivable
    blocker = dunning_blocker(receivable)
    if blocker is not None:
        return HandoverStatus.WITHDRAWN, f"last check before handover: {blocker}"
    try:
        current = claim_on(receivable, today)
    except (MissingBaseRateError, UnsupportedClaimError) as error:
        return HandoverStatus.WITHDRAWN, f"last check before handover: {error}"
    frozen = handover.breakdown
    principal = current.principal - current.credits + current.refunds
    if (current.payments_total, principal) != (Decimal(frozen["payments"]), Decimal(frozen["principal"])):
        return HandoverStatus.PROPOSED, (
            f"last check before handover: payments or credits changed since the claim was frozen "
            f"(paid {frozen['payments']} then, {current.payments_total} now); proposed again"
        )
    return None


def _hold_back(handover_id: int, token: str, target: HandoverStatus, reason: str) -> str:
    """Keep a handover from the agency after the last balance check; re-freeze it when proposed again."""
    handover = _holding_lease(handover_id, token)
    if handover is None:
        db.session.rollback()
        return "lease lost"
    handover.lease_token = None
    if target is HandoverStatus.PROPOSED:
        breakdown = claim_on(handover.receivable, berlin_today())
        handover.breakdown = freeze_breakdown(breakdown)
        handover.principal = Decimal(handover.breakdown["principal"])
        handover.total = breakdown.balance
        handover.paid_at_handover = handover.receivable.paid_amount
        handover.attempts = 0
    handover.decided_at = None if target is HandoverStatus.PROPOSED else utcnow()
    handover.decided_by = None if target is HandoverStatus.PROPOSED else "last balance check"
    handover.decision_note = reason[:1000]
    check_transition(handover.status, target)
    handover.status = target.value
    ledger.record_history(
        handover.receivable_id,
        EventKind(f"handover_{target.value}"),
        actor="last balance check",
        data={"handover": handover.id, "note": reason},
    )
    record_event(
        f"handover.{target.value}",
        actor="last balance check",
        merchant_id=handover.merchant_id,
        target_type="handover",
        target_id=handover.id,
        details={"from": HandoverStatus.SUBMITTING.value, "note": reason},
    )
    db.session.commit()
    logger.info("handover %s held back: %s", handover_id, reason)
    return "held back"


def _submit_one(handover_id: int, token: str) -> str:
    handover = db.session.get(Handover, handover_id)
    merchant_id, key = handover.merchant_id, handover.idempotency_key
    # Only before the first attempt: after one, the agency may hold the case already (a lost answer).
    held_back = last_balance_check(handover, berlin_today()) if handover.attempts == 1 else None
    if held_back is not None:
        return _hold_back(handover_id, token, *held_back)
    try:
        case = build_case(handover)
        agency = agency_for(merchant_id)
        documents = DocumentSource(handover)
    except CaseRejected as rejection:
        return _finish_rejected(handover_id, token, rejection)
    except Exception as error:  # a broken configuration must not stop the other handovers
        logger.exception("handover %s cannot be prepared", handover_id)
        return _retry_submission(handover_id, token, error)
    # End the read transaction: the shop and agency calls may be slow and must not hold anything open.
    db.session.commit()
    attached = documents.fetch(case)
    case = dataclasses.replace(case, document=attached.document)
    try:
        ref = agency.submit_case(case)
    except CaseRejected as rejection:
        db.session.rollback()
        return _finish_rejected(handover_id, token, rejection)
    except ConnectorError as error:
        db.session.rollback()
        return _retry_submission(handover_id, token, error)
    except Exception as error:
        db.session.rollback()
        logger.exception("handover %s: submitting %s failed", handover_id, key)
        return _retry_submission(handover_id, token, error)
    finally:
        agency.close()
    return _finish_submitted(handover_id, token, ref, attached, case)


def _retry_submission(handover_id: int, token: str, error: Exception) -> str:
    handover = _holding_lease(handover_id, token)
    if handover is None:
        db.session.rollback()
        return "lease lost"
    handover.lease_token = None
    handover.next_attempt_at = utcnow() + retry_delay(handover.attempts)
    handover.last_error = f"{type(error).__name__}: {error}"[:500]
    logger.warning(
        "handover %s: submission attempt %s failed: %s", handover_id, handover.attempts, type(error).__name__
    )
    db.session.commit()
    return "retrying"


def _finish_rejected(handover_id: int, token: str, rejection: CaseRejected) -> str:
    handover = _holding_lease(handover_id, token)
    if handover is None:
        db.session.rollback()
        return "lease lost"
    reject_by_agency(handover, rejection.reason, rejection.field_errors)
    db.session.commit()
    return "rejected by agency"


def reject_by_agency(handover: Handover, reason: str, field_errors: Mapping[str, list[str]]) -> None:
    """Close a handover the agency refused; a receivable already in collection goes back to the merchant."""
    check_transition(handover.status, HandoverStatus.REJECTED_BY_AGENCY)
    previous = handover.status
    handover.status = HandoverStatus.REJECTED_BY_AGENCY.value
    handover.rejection_reason = reason[:1000]
    handover.rejection_details = {"field_errors": dict(field_errors)}
    handover.lease_token = None
    handover.closed_at = utcnow()
    receivable = handover.receivable
    if previous == HandoverStatus.SUBMITTED.value and receivable.state == State.IN_COLLECTION.value:
        # Back to the merchant; the order's dunning stop keeps dunning from starting over.
        ledger.reopen(receivable, reason="the agency refused the case", actor="agency")
    ledger.record_history(
        receivable.id,
        EventKind.HANDOVER_REJECTED_BY_AGENCY,
        actor="agency",
        data={"handover": handover.id, "reason": reason},
    )
    record_event(
        "handover.rejected_by_agency",
        actor=f"agency:{handover.agency}",
        merchant_id=handover.merchant_id,
        target_type="handover",
        target_id=handover.id,
        details={"reason": reason, "field_errors": dict(field_errors)},
    )
    queue_order_note(handover, f"Collection agency refused the case: {reason}", "rejected")


def _finish_submitted(
    handover_id: int, token: str, ref: CaseRef, attached: CaseDocument, case: HandoverCase
) -> str:
    handover = _holding_lease(handover_id, token)
    if handover is None:
        db.session.rollback()  # the worker that took the lease over records the same case (found by reference)
        return "lease lost"
    now = utcnow()
    check_transition(handover.status, HandoverStatus.SUBMITTED)
    handover.status = HandoverStatus.SUBMITTED.value
    handover.case_id = ref.case_id
    handover.agency = ref.agency
    handover.submitted_at = now
    handover.lease_token = None
    handover.last_error = None
    handover.document_source = attached.source
    handover.document_note = attached.note
    handover.content_sha256 = submission_sha256(case, attached)
    receivable = handover.receivable
    if attached.note is not None:
        ledger.record_history(
            receivable.id,
            EventKind.HANDOVER_DOCUMENT_FALLBACK,
            actor="worker",
            data={"handover": handover.id, "why": attached.note},
        )
        record_event(
            "handover.document_fallback",
            actor="worker",
            merchant_id=handover.merchant_id,
            target_type="handover",
            target_id=handover.id,
            details={"document": attached.document.filename, "why": attached.note},
        )
    ledger.hand_over(
        receivable, data={"handover": handover.id, "case": ref.case_id, "agency": ref.agency}, actor="worker"
    )
    record_event(
        "handover.submitted",
        actor="worker",
        merchant_id=handover.merchant_id,
        target_type="handover",
        target_id=handover.id,
        details={"agency": ref.agency, "case": ref.case_id, "content_sha256": handover.content_sha256},
    )
    queue_case_fields(handover, "submitted")
    queue_order_note(handover, f"Handed over to collection ({ref.agency}, case {ref.case_id}).", "submitted")
    db.session.commit()
    return "submitted"
