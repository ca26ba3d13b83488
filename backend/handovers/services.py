"""Handover to collection: proposals, the merchant's decisions, exactly-once submission, status mirrored back.

Proposals (``propose_handovers``): one set-based statement (``candidate_selection``) finds receivables that
pass the gate of collection.md in SQL — outstanding (open or partially paid), undisputed, no dunning stop on
order or buyer, balance above the merchant's minimum, a *sent* final notice whose deadline plus the schedule's
``handover_after_days`` has passed (``schedule.handover_ready_on``), limitation not expired, and no handover
yet. The final notice is the last stage of every schedule and the dunning job only reaches it through the
earlier ones, so "the configured stages were sent" is the final notice being sent. Each candidate then gets
its claim computed by ``backend.dunning.claims`` (default must be established) and frozen into a ``proposed``
handover; the merchant's auto-approval rule may approve it at once. Rejected and withdrawn proposals are not
proposed again automatically.

Submission (``submit_approved_handovers``): a worker leases one approved handover at a time (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL; ``next_attempt_at`` is the lease expiry, ``lease_token`` fences a worker whose
lease ran out), builds the §13a case, commits, and calls the adapter outside any transaction (the built-in
agency writes into the same transaction that records the result). The adapter looks the case up by the
handover's idempotency key before creating it. Transport errors retry with exponential backoff and jitter;
``CaseRejected`` ends in ``rejected_by_agency`` with the reason. Success moves the receivable to
``in_collection`` (which stops dunning; the order's dunning stop is set too, so it stays stopped).

Mirroring (``poll_submitted_handovers``): reads each submitted case's status, records changes and the
agency's payments (once per payment id), raises the receivable's paid amount (``paid`` once nothing is left;
the receivable stays ``in_collection`` while the case runs), and queues ``ShopUpdate`` rows. It also notices
payments the shop reported after handover (the receivable's paid amount grew beyond what handover and agency
explain) and reports them to the agency with a stable key. ``process_shop_updates`` writes to the shop and
retries until it acknowledges; case fields and payment amounts are rendered when sent, so the latest state
wins whatever order retries happen in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from backend.audit.services import record_event
from backend.crypto import encrypt_text
from backend.dunning.claims import ClaimBreakdown, NoticeKind
from backend.dunning.errors import MissingBaseRateError, UnsupportedClaimError
from backend.dunning.models import DunningBuyerStop, DunningNotice, DunningScheduleRecord, NoticeStatus
from backend.dunning.schedule import DEFAULT_HANDOVER_AFTER_DAYS
from backend.dunning.services import (
    berlin_date,
    berlin_today,
    claim_on,
    dunning_blocker,
    limitation_floor,
    sent_notices,
)
from backend.errors import ConflictError, NotFoundError, UserValueError
from backend.extensions import db, utcnow
from backend.handovers.agencies import agency_for, agency_name
from backend.handovers.documents import CaseDocument, DocumentSource
from backend.handovers.errors import AgencyRefusedError, AgencyUnavailableError, HandoverStateError
from backend.handovers.models import (
    OPEN_STATUSES,
    Handover,
    HandoverPayment,
    HandoverRule,
    HandoverStatus,
    HandoverStatusUpdate,
    PaymentSource,
    ShopUpdate,
    ShopUpdateKind,
)
from backend.handovers.statement import STAGE_LABELS
from backend.handovers.states import check_transition
from backend.merchants.connectors import connector_for
from backend.merchants.models import Merchant, ShopConnection
from backend.outbox import backoff, lease_due
from backend.receivables import ledger
from backend.receivables.ledger import EventKind, MoneySource
from backend.receivables.models import Receivable
from backend.receivables.states import OUTSTANDING, State
from connectors.agencies.base import (
    CaseRef,
    CaseRejected,
    CaseStatus,
    Charge,
    ChargeType,
    Claim,
    Creditor,
    Debtor,
    DebtorKind,
    DebtorPayment,
    HandoverCase,
    LineItem,
    PaymentState,
    PostalAddress,
    SubmissionState,
)
from connectors.agencies.base import DunningNotice as CaseNotice
from connectors.errors import ClientError, ConnectorError, RateLimitError, UnsafeURLError
from connectors.errors import ConflictError as AgencyConflict
from connectors.errors import NotFoundError as AgencyNotFound
from connectors.ssrf import validate_public_url

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
SHOP_PLATFORMS = ("shopware", "woocommerce")
PROPOSAL_BATCH = 200
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
SHOP_RETRY_MAX = timedelta(hours=6)
DECISIONS = {"approve": HandoverStatus.APPROVED, "reject": HandoverStatus.REJECTED}
CASE_FIELD_STATUS = "claimbridge_case_status"
CASE_FIELD_ID = "claimbridge_case_id"
CASE_FIELD_HANDED_OVER_AT = "claimbridge_handed_over_at"
BERLIN = ZoneInfo("Europe/Berlin")
# §288(5) sentence 3 BGB: the flat fee counts against the costs of pursuing the claim, so the agency must not
# charge collection costs on top of it without crediting it (no double recovery).
FLAT_FEE_REASON = (
    "Verzugspauschale nach § 288 Abs. 5 BGB; sie ist auf die Kosten der Rechtsverfolgung (Inkassokosten) "
    "anzurechnen (§ 288 Abs. 5 Satz 3 BGB)"
)


def submission_lease() -> timedelta:
    """Return how long a worker holds a handover or shop write it sends (``CLAIMBRIDGE_HANDOVER_LEASE_SECONDS``)."""
    return current_app.config["CLAIMBRIDGE_HANDOVER_LEASE"]


def _insert(target: Any) -> Any:
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


def _backoff(attempts: int, cap: timedelta) -> timedelta:
    """Return the wait before the next try: exponential from 30 s, capped, with jitter over [d/2, d]."""
    return backoff(attempts, base=RETRY_BASE, cap=cap, jitter=(0.5, 1.0))


# -- rules ---------------------------------------------------------------------------------------------------


def get_rules(merchant_id: int) -> HandoverRule | None:
    """Return the merchant's handover rules, or None when the defaults apply."""
    return db.session.get(HandoverRule, merchant_id)


def rules_document(merchant_id: int) -> dict[str, Any]:
    """Return the rules as the API shows them (the API key only as whether it is set)."""
    rule = get_rules(merchant_id)
    return {
        "minimum_amount": rule.minimum_amount if rule else ZERO,
        "auto_approve_consumer_up_to": rule.auto_approve_consumer_up_to if rule else None,
        "auto_approve_business_up_to": rule.auto_approve_business_up_to if rule else None,
        "agency": rule.agency if rule else "builtin",
        "agency_base_url": rule.agency_base_url if rule else None,
        "agency_api_key_set": bool(rule and rule.agency_api_key_encrypted),
        "creditor_address": (rule.creditor_address or None) if rule else None,
    }


def update_rules(merchant_id: int, values: Mapping[str, Any], *, actor: str) -> dict[str, Any]:
    """Replace the merchant's rules (validated by ``HandoverRulesSchema``); keep a stored key unless a new one comes."""
    rule = get_rules(merchant_id)
    if rule is None:
        rule = HandoverRule(merchant_id=merchant_id, updated_by=actor)
        db.session.add(rule)
    api_key = values.get("agency_api_key")
    if values["agency"] == "http" and not (api_key or rule.agency_api_key_encrypted):
        raise UserValueError(
            "An HTTP agency needs its API key.", details={"/agency_api_key": ["Required for agency http."]}
        )
    if values["agency"] == "http" and not values.get("agency_base_url"):
        raise UserValueError(
            "An HTTP agency needs its base URL.", details={"/agency_base_url": ["Required for agency http."]}
        )
    if values.get("agency_base_url"):
        # Checked now, not first at handover time, where a refused URL only loops in the worker's log.
        try:
            validate_public_url(
                values["agency_base_url"], current_app.config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"]
            )
        except UnsafeURLError as error:
            raise UserValueError(
                "The agency URL cannot be used.", details={"/agency_base_url": [str(error)]}
            ) from error
    rule.minimum_amount = values["minimum_amount"]
    rule.auto_approve_consumer_up_to = values.get("auto_approve_consumer_up_to")
    rule.auto_approve_business_up_to = values.get("auto_approve_business_up_to")
    rule.agency = values["agency"]
    rule.agency_base_url = values.get("agency_base_url")
    rule.creditor_address = dict(values["creditor_address"])
    if api_key:
        rule.agency_api_key_encrypted = encrypt_text(api_key)
    rule.updated_by = actor
    db.session.flush()
    record_event(
        "handover_rules.updated",
        actor=actor,
        merchant_id=merchant_id,
        target_type="handover_rules",
        target_id=merchant_id,
        details={"agency": rule.agency, "minimum_amount": str(rule.minimum_amount)},
    )
    return rules_document(merchant_id)


# -- the gate ------------------------------------------------------------------------------------------------


def _plus_days(
    day: sa.ColumnElement[date], days: sa.ColumnElement[int], dialect: str
) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return day + days
    return sa.func.date(day, "+" + sa.cast(days, sa.String) + " days")


def candidate_selection(
    today: date, dialect: str, *, merchant_id: int | None = None, limit: int | None = None, lock: bool = True
) -> sa.Select[Any]:
    """Return the statement selecting receivables that pass the SQL part of the gate on ``today``."""
    receivable = Receivable.__table__
    final = DunningNotice.__table__.alias("final_notice")
    schedule = DunningScheduleRecord.__table__
    rule = HandoverRule.__table__
    handover = Handover.__table__
    stop = DunningBuyerStop.__table__
    after_days = sa.func.coalesce(schedule.c.handover_after_days, DEFAULT_HANDOVER_AFTER_DAYS)
    ready_on = _plus_days(final.c.deadline_on, after_days, dialect)
    today_value: Any = today if dialect == "postgresql" else today.isoformat()
    query = (
        sa.select(receivable.c.id, receivable.c.merchant_id)
        .select_from(
            receivable.join(
                final,
                sa.and_(
                    final.c.receivable_id == receivable.c.id,
                    final.c.kind == NoticeKind.FINAL_NOTICE.value,
                    final.c.status == NoticeStatus.SENT.value,
                ),
            )
            .outerjoin(
                schedule,
                sa.and_(
                    schedule.c.merchant_id == receivable.c.merchant_id,
                    schedule.c.debtor_kind == receivable.c.debtor_kind,
                ),
            )
            .outerjoin(rule, rule.c.merchant_id == receivable.c.merchant_id)
        )
        .where(
            receivable.c.state.in_(sorted(state.value for state in OUTSTANDING)),
            receivable.c.disputed_at.is_(None),
            receivable.c.dunning_stopped_at.is_(None),
            receivable.c.total_amount - receivable.c.paid_amount - receivable.c.credited_amount
            > sa.func.coalesce(rule.c.minimum_amount, ZERO),
            final.c.sent_on > receivable.c.due_date,
            final.c.deadline_on.is_not(None),
            ready_on <= today_value,
            receivable.c.due_date >= limitation_floor(today),
            ~sa.exists().where(handover.c.receivable_id == receivable.c.id),
            ~sa.exists().where(
                stop.c.merchant_id == receivable.c.merchant_id, stop.c.email_key == receivable.c.email_key
            ),
        )
        .order_by(receivable.c.id)
    )
    if merchant_id is not None:
        query = query.where(receivable.c.merchant_id == merchant_id)
    if limit is not None:
        query = query.limit(limit)
    if lock:
        query = query.with_for_update(skip_locked=True, of=receivable)
    return query


def _postal_address(data: Mapping[str, Any] | None) -> PostalAddress | None:
    """Return the postal address a stored address dict describes, or None when street, code or city is missing."""
    if not data or not all(data.get(key) for key in ("street", "postal_code", "city")):
        return None
    return PostalAddress(
        street=data["street"],
        postal_code=data["postal_code"],
        city=data["city"],
        country=data.get("country") or "DE",
        house_number=data.get("house_number"),
    )


def _creditor_address(rule: HandoverRule | None) -> PostalAddress | None:
    return _postal_address(rule.creditor_address if rule else None)


def _debtor_address(receivable: Receivable) -> PostalAddress | None:
    return _postal_address(receivable.billing_address)


def _record_blockers(receivable: Receivable, rule: HandoverRule | None) -> list[str]:
    """Return the gate conditions SQL cannot see (addresses), the Python part of the gate."""
    blockers = []
    if _debtor_address(receivable) is None:
        blockers.append("the billing address is incomplete (street, postal code and city are needed)")
    if _creditor_address(rule) is None:
        blockers.append("the merchant's creditor address is not set in the handover rules")
    return blockers


def handover_blockers(receivable: Receivable, today: date | None = None) -> list[str]:
    """Return every unmet handover condition of a receivable (empty when it may be proposed)."""
    today = today or berlin_today()
    rule = get_rules(receivable.merchant_id)
    blockers = []
    existing = db.session.scalar(
        sa.select(Handover).filter_by(receivable_id=receivable.id).order_by(Handover.id.desc()).limit(1)
    )
    if existing is not None:
        blockers.append(f"a handover exists already (status {existing.status})")
    reason = dunning_blocker(receivable)
    if reason is not None:
        blockers.append(reason)
    minimum = rule.minimum_amount if rule else ZERO
    if receivable.balance <= minimum:
        blockers.append(f"the balance {receivable.balance} is not above the minimum {minimum}")
    final = next((n for n in sent_notices(receivable.id) if n.kind == NoticeKind.FINAL_NOTICE.value), None)
    if final is None or final.deadline_on is None:
        blockers.append("the final notice has not been sent")
    else:
        ready_on = final.deadline_on + timedelta(days=_handover_after_days(receivable))
        if ready_on > today:
            blockers.append(f"the final notice's deadline has not passed; ready on {ready_on.isoformat()}")
        if final.sent_on <= receivable.due_date:
            blockers.append("the final notice was sent before the due date")
    blockers.extend(_record_blockers(receivable, rule))
    if receivable.currency == "EUR" and receivable.total_amount > 0:
        try:
            breakdown = claim_on(receivable, today)
        except (MissingBaseRateError, UnsupportedClaimError) as error:
            blockers.append(str(error))
        else:
            if breakdown.time_barred:
                blockers.append(
                    f"the claim is time-barred since {breakdown.limitation_date + timedelta(days=1)}"
                )
            elif breakdown.default_start is None:
                blockers.append("default (Verzug) is not established")
    return blockers


def _handover_after_days(receivable: Receivable) -> int:
    record = db.session.get(DunningScheduleRecord, (receivable.merchant_id, receivable.debtor_kind))
    return record.handover_after_days if record else DEFAULT_HANDOVER_AFTER_DAYS


# -- proposals -----------------------------------------------------------------------------------------------


def freeze_breakdown(breakdown: ClaimBreakdown) -> dict[str, Any]:
    """Return the claim breakdown as stored on the handover: every amount as a decimal string."""
    return {
        "as_of": breakdown.as_of.isoformat(),
        "principal": str(breakdown.principal - breakdown.credits + breakdown.refunds),
        "dunning_fees": str(breakdown.dunning_fees),
        "flat_fee": str(breakdown.flat_fee),
        "interest": str(breakdown.interest),
        "payments": str(breakdown.payments_total),
        "total": str(breakdown.balance),
        "default_start": breakdown.default_start.isoformat() if breakdown.default_start else None,
        "first_dunning_notice_on": (
            breakdown.first_dunning_notice_on.isoformat() if breakdown.first_dunning_notice_on else None
        ),
        "limitation_date": breakdown.limitation_date.isoformat(),
        "interest_unpaid_from": (
            breakdown.interest_unpaid_from.isoformat() if breakdown.interest_unpaid_from else None
        ),
        "interest_segments": [
            {
                "first_day": s.first_day.isoformat(),
                "last_day": s.last_day.isoformat(),
                "principal": str(s.principal),
                "rate": str(s.rate),
                "amount": str(s.amount),
            }
            for s in breakdown.interest_segments
        ],
        "fees": [
            {"kind": f.notice_kind.value, "sent_on": f.sent_on.isoformat(), "amount": str(f.charged)}
            for f in breakdown.fees
            if f.charged > 0
        ],
        "payment_list": [
            {"booked_on": p.booked_on.isoformat(), "amount": str(p.amount)} for p in breakdown.payments
        ],
    }


def _auto_approval_limit(rule: HandoverRule | None, debtor_kind: str) -> Decimal | None:
    if rule is None:
        return None
    return rule.auto_approve_business_up_to if debtor_kind == "business" else rule.auto_approve_consumer_up_to


def _propose(receivable: Receivable, today: date, now: datetime, *, actor: str = "worker") -> Handover | None:
    rule = get_rules(receivable.merchant_id)
    if _record_blockers(receivable, rule):
        return None
    try:
        breakdown = claim_on(receivable, today)
    except (MissingBaseRateError, UnsupportedClaimError) as error:
        logger.warning("receivable %s cannot be proposed: %s", receivable.id, error)
        return None
    if breakdown.time_barred or breakdown.default_start is None or breakdown.balance <= 0:
        return None
    frozen = freeze_breakdown(breakdown)
    statement = (
        _insert(Handover)
        .values(
            merchant_id=receivable.merchant_id,
            receivable_id=receivable.id,
            status=HandoverStatus.PROPOSED.value,
            idempotency_key=f"cb-{uuid.uuid4().hex}",
            agency=agency_name(rule),
            currency=receivable.currency,
            principal=Decimal(frozen["principal"]),
            total=breakdown.balance,
            breakdown=frozen,
            paid_at_handover=receivable.paid_amount,
            limitation_date=breakdown.limitation_date,
            proposed_at=now,
            next_attempt_at=now,
            attempts=0,
            collected_total=ZERO,
            direct_total=ZERO,
            rejection_details={},
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["receivable_id"], index_where=Handover.status.in_(OPEN_STATUSES)
        )
        .returning(Handover.id)
    )
    handover_id = db.session.scalar(statement)
    if handover_id is None:
        return None
    handover = db.session.get(Handover, handover_id)
    ledger.record_history(
        receivable.id,
        EventKind.HANDOVER_PROPOSED,
        actor=actor,
        data={"handover": handover.id, "total": frozen["total"]},
    )
    record_event(
        "handover.proposed",
        actor=actor,
        merchant_id=receivable.merchant_id,
        target_type="handover",
        target_id=handover.id,
        details={"receivable": receivable.id, "total": frozen["total"]},
    )
    limit = _auto_approval_limit(rule, receivable.debtor_kind)
    if limit is not None and handover.total <= limit:
        _decide(
            handover,
            HandoverStatus.APPROVED,
            actor="auto-approval rule",
            note=f"{receivable.debtor_kind} claim up to {limit}",
        )
    return handover


def propose_handovers(today: date | None = None, *, batch_size: int = PROPOSAL_BATCH) -> str:
    """Turn every receivable that passes the gate into a proposed handover; tell shops about new ones."""
    today = today or berlin_today()
    now = utcnow()
    dialect = db.session.get_bind().dialect.name
    counts: Counter[str] = Counter()
    new_by_merchant: Counter[int] = Counter()
    seen: set[int] = set()
    while True:
        rows = [
            row
            for row in db.session.execute(candidate_selection(today, dialect, limit=batch_size)).all()
            if row.id not in seen
        ]
        if not rows:
            break
        for row in rows:
            seen.add(row.id)
            handover = _propose(db.session.get(Receivable, row.id), today, now)
            counts["proposed" if handover else "blocked"] += 1
            if handover is not None:
                new_by_merchant[row.merchant_id] += 1
                counts[handover.status] += handover.status == HandoverStatus.APPROVED
        db.session.commit()
    for merchant_id, count in new_by_merchant.items():
        _queue_proposal_notices(merchant_id, count)
    db.session.commit()
    return f"{counts['proposed']} proposed ({counts['approved']} auto-approved), {counts['blocked']} blocked"


def propose_handover(receivable: Receivable, *, actor: str, today: date | None = None) -> Handover:
    """Propose one receivable at the merchant's request; it must meet every condition the job checks."""
    today = today or berlin_today()
    blockers = handover_blockers(receivable, today)
    if blockers:
        raise ConflictError(
            "This receivable cannot be handed over yet: " + "; ".join(blockers),
            code="handover_not_ready",
            details={"blockers": blockers},
        )
    handover = _propose(receivable, today, utcnow(), actor=actor)
    if handover is None:
        raise ConflictError(
            "The claim cannot be computed for a handover today (see the receivable's readiness).",
            code="handover_not_ready",
        )
    return handover


def _queue_proposal_notices(merchant_id: int, count: int) -> None:
    open_count = proposal_count(merchant_id)
    text = (
        f"ClaimBridge: {count} new handover proposal(s) to a collection agency; "
        f"{open_count} waiting for your decision."
    )
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    for connection in _shop_connections(merchant_id):
        queue_shop_update(
            merchant_id=merchant_id,
            connection_id=connection.id,
            handover_id=None,
            external_order_id=None,
            kind=ShopUpdateKind.ADMIN_NOTICE,
            key=f"proposals:{connection.id}:{stamp}",
            payload={"text": text},
        )


def proposal_count(merchant_id: int) -> int:
    """Return how many of the merchant's handovers wait for a decision."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Handover)
            .filter_by(merchant_id=merchant_id, status=HandoverStatus.PROPOSED.value)
        )
        or 0
    )


def handover_summary(merchant_id: int) -> dict[str, Any]:
    """Return the merchant's handover counts by status (what the WooCommerce plugin shows)."""
    rows = db.session.execute(
        sa.select(Handover.status, sa.func.count())
        .filter_by(merchant_id=merchant_id)
        .group_by(Handover.status)
    ).all()
    by_status = {status.value: 0 for status in HandoverStatus}
    by_status.update({status: count for status, count in rows})
    return {"proposed": by_status[HandoverStatus.PROPOSED.value], "by_status": by_status}


# -- the merchant's decisions --------------------------------------------------------------------------------


def list_handovers(
    merchant_id: int, *, status: str | None, page: int, per_page: int, search: str | None = None
) -> tuple[list[Handover], int]:
    """Return one page of the merchant's handovers (newest first) and the total count.

    ``search`` matches words of the order number, the buyer's name, company or e-mail (case-insensitive).
    """
    conditions: list[sa.ColumnElement[bool]] = [Handover.merchant_id == merchant_id]
    if status is not None:
        conditions.append(Handover.status == status)
    words = (search or "").split()[:5]
    if words:
        # Every word must appear in the order number or the buyer's data (first and last name are separate).
        matches = [
            sa.or_(
                Receivable.number.icontains(word, autoescape=True),
                *(
                    sa.cast(column, sa.String).icontains(word, autoescape=True)
                    for column in (Receivable.buyer, Receivable.billing_address)
                ),
            )
            for word in words
        ]
        conditions.append(
            Handover.receivable_id.in_(
                sa.select(Receivable.id).where(Receivable.merchant_id == merchant_id, *matches)
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Handover).where(*conditions)) or 0
    rows = db.session.scalars(
        sa.select(Handover)
        .where(*conditions)
        .order_by(Handover.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


def get_handover(merchant_id: int, handover_id: int, *, for_update: bool = False) -> Handover:
    """Return one of the merchant's handovers; another merchant's is not found."""
    query = sa.select(Handover).filter_by(id=handover_id, merchant_id=merchant_id)
    if for_update:
        query = query.with_for_update()
    handover = db.session.scalar(query)
    if handover is None:
        raise NotFoundError(f"handover {handover_id} not found")
    return handover


def status_history(handover_id: int) -> list[HandoverStatusUpdate]:
    """Return the agency status changes of a handover, oldest first."""
    return list(
        db.session.scalars(
            sa.select(HandoverStatusUpdate)
            .filter_by(handover_id=handover_id)
            .order_by(HandoverStatusUpdate.id)
        )
    )


def payments_of(handover_id: int) -> list[HandoverPayment]:
    """Return the payments recorded on a handover, oldest first."""
    return list(
        db.session.scalars(
            sa.select(HandoverPayment).filter_by(handover_id=handover_id).order_by(HandoverPayment.id)
        )
    )


def _decide(handover: Handover, target: HandoverStatus, *, actor: str, note: str | None) -> None:
    try:
        check_transition(handover.status, target)
    except ValueError as error:
        raise HandoverStateError(str(error), details={"id": handover.id, "status": handover.status}) from None
    previous = handover.status
    handover.status = target.value
    handover.decided_at = utcnow()
    handover.decided_by = actor[:300]
    handover.decision_note = note
    if target is HandoverStatus.APPROVED:
        handover.next_attempt_at = utcnow()
    ledger.record_history(
        handover.receivable_id,
        EventKind(f"handover_{target.value}"),
        actor=actor,
        data={"handover": handover.id, "note": note},
    )
    record_event(
        f"handover.{target.value}",
        actor=actor,
        merchant_id=handover.merchant_id,
        target_type="handover",
        target_id=handover.id,
        details={"from": previous, "note": note},
    )


def decide_handover(
    merchant_id: int, handover_id: int, decision: str, *, actor: str, note: str | None
) -> Handover:
    """Approve, reject or withdraw one handover; repeating a decision already taken is a no-op."""
    target = HandoverStatus.WITHDRAWN if decision == "withdraw" else DECISIONS[decision]
    handover = get_handover(merchant_id, handover_id, for_update=True)
    if handover.status != target.value:
        _decide(handover, target, actor=actor, note=note)
    return handover


def withdraw_handover(merchant_id: int, handover_id: int, *, actor: str, note: str | None) -> Handover:
    """Take a handover back; a submitted one is withdrawn at the agency first (repeating is a no-op).

    After submission the agency is asked to stop; if it refuses, nothing changes here and its answer is
    raised as ``AgencyRefusedError`` (409), and an unreachable agency as ``AgencyUnavailableError`` (502).
    Once the agency agreed, a final status read records what it collected until then, the handover becomes
    ``withdrawn`` and the receivable leaves ``in_collection``: ``paid`` when nothing is left, else
    ``partially_paid`` or ``open`` by what was paid. The order's dunning stop stays (dunning does not start
    over by itself; the merchant lifts the stop to dun again) and the receivable is not proposed again
    automatically.
    """
    handover = get_handover(merchant_id, handover_id)
    if handover.status != HandoverStatus.SUBMITTED.value:
        return decide_handover(merchant_id, handover_id, "withdraw", actor=actor, note=note)
    ref = CaseRef(
        agency=handover.agency or "", case_id=handover.case_id or "", your_reference=handover.idempotency_key
    )
    reason = note or "withdrawn by the creditor"
    agency = agency_for(merchant_id)
    # End the read transaction: the agency call may be slow (the built-in agency writes in the next one).
    db.session.commit()
    try:
        _withdraw_at_agency(agency, ref, reason, handover_id)
        final = _final_status(agency, ref, handover_id)
    finally:
        agency.close()
    handover = get_handover(merchant_id, handover_id, for_update=True)
    if handover.status != HandoverStatus.SUBMITTED.value:
        # A concurrent request withdrew it, or the poller already saw the withdrawal and closed the case.
        return handover
    receivable = handover.receivable
    if final is not None and _record_agency_payments(handover, receivable, final):
        _queue_shop_payment(handover, receivable)
    check_transition(handover.status, HandoverStatus.WITHDRAWN)
    handover.status = HandoverStatus.WITHDRAWN.value
    handover.withdrawn_at = handover.closed_at = utcnow()
    handover.withdrawn_by = actor[:300]
    if receivable.state == State.IN_COLLECTION.value:
        ledger.reopen(receivable, reason="withdrawn from collection", actor=actor)
    ledger.record_history(
        receivable.id, EventKind.HANDOVER_WITHDRAWN, actor=actor, data={"handover": handover.id, "note": note}
    )
    record_event(
        "handover.withdrawn",
        actor=actor,
        merchant_id=merchant_id,
        target_type="handover",
        target_id=handover.id,
        details={"from": HandoverStatus.SUBMITTED.value, "note": note, "case": handover.case_id},
    )
    _queue_case_fields(handover, "withdrawn")
    _queue_order_note(handover, f"Withdrawn from collection ({handover.agency}): {reason}", "withdrawn")
    return handover


def _withdraw_at_agency(agency: Any, ref: CaseRef, reason: str, handover_id: int) -> None:
    try:
        agency.withdraw(ref, reason)
    except (ClientError, AgencyConflict, AgencyNotFound) as error:
        db.session.rollback()
        raise AgencyRefusedError(
            f"the agency refused the withdrawal: {error}",
            details={"id": handover_id, "agency_status": error.status},
        ) from None
    except ConnectorError as error:
        db.session.rollback()
        raise AgencyUnavailableError(
            f"the agency could not be asked to withdraw the case ({type(error).__name__}); try again",
            details={"id": handover_id},
        ) from None


def _final_status(agency: Any, ref: CaseRef, handover_id: int) -> CaseStatus | None:
    """Return the case's status after the withdrawal, or None when the agency cannot say right now."""
    try:
        return agency.get_status(ref)
    except ConnectorError as error:
        logger.warning("handover %s: no final status after withdrawal: %s", handover_id, type(error).__name__)
        return None


def decide_many(
    merchant_id: int, decision: str, ids: Iterable[int], *, actor: str, note: str | None
) -> list[Handover]:
    """Decide several handovers at once: all or none (an unknown id is 404, a wrong state 409)."""
    wanted = sorted(set(ids))
    rows = {
        row.id: row
        for row in db.session.scalars(
            sa.select(Handover)
            .where(Handover.merchant_id == merchant_id, Handover.id.in_(wanted))
            .order_by(Handover.id)
            .with_for_update()
        )
    }
    missing = [handover_id for handover_id in wanted if handover_id not in rows]
    if missing:
        raise NotFoundError("some handovers were not found", details={"/ids": [f"unknown: {missing}"]})
    return [
        decide_handover(merchant_id, handover_id, decision, actor=actor, note=note) for handover_id in wanted
    ]


@dataclasses.dataclass(frozen=True)
class HandoverRow:
    """One handover proposal as the admin page shows it (what ``list_handover_rows`` returns)."""

    id: int
    order_number: str
    buyer_name: str
    principal: Decimal
    interest: Decimal
    fees: Decimal
    total: Decimal
    currency: str
    status: str


def list_handover_rows(merchant_id: int) -> list[HandoverRow]:
    """Return the merchant's open proposals for the Shopware admin page."""
    rows = db.session.execute(
        sa.select(Handover, Receivable)
        .join(Receivable, Receivable.id == Handover.receivable_id)
        .where(Handover.merchant_id == merchant_id, Handover.status == HandoverStatus.PROPOSED.value)
        .order_by(Handover.id)
    ).all()
    return [
        HandoverRow(
            id=handover.id,
            order_number=receivable.number,
            buyer_name=buyer_name(receivable),
            principal=handover.principal,
            interest=Decimal(handover.breakdown["interest"]),
            fees=Decimal(handover.breakdown["dunning_fees"]) + Decimal(handover.breakdown["flat_fee"]),
            total=handover.total,
            currency=handover.currency,
            status=handover.status,
        )
        for handover, receivable in rows
    ]


def buyer_name(receivable: Receivable) -> str:
    buyer = receivable.buyer or {}
    billing = receivable.billing_address or {}
    person = " ".join(p for p in (buyer.get("first_name"), buyer.get("last_name")) if p)
    return billing.get("company") or buyer.get("company") or person or buyer.get("email") or ""


# -- the §13a case -------------------------------------------------------------------------------------------


def build_case(handover: Handover) -> HandoverCase:
    """Return everything the agency needs, from the receivable and the frozen claim."""
    receivable = handover.receivable
    merchant = db.session.get(Merchant, handover.merchant_id)
    rule = get_rules(handover.merchant_id)
    creditor_address = _creditor_address(rule)
    if creditor_address is None:
        raise CaseRejected("the merchant's creditor address is missing")
    frozen = handover.breakdown
    buyer = receivable.buyer or {}
    billing = receivable.billing_address or {}
    key = handover.idempotency_key
    charges = [
        Charge(
            ChargeType.DUNNING_FEE,
            Decimal(fee["amount"]),
            f"Mahnkosten (Brief) der {STAGE_LABELS[fee['kind']]} vom {date.fromisoformat(fee['sent_on']):%d.%m.%Y}",
            date.fromisoformat(fee["sent_on"]),
        )
        for fee in frozen["fees"]
    ]
    if Decimal(frozen["flat_fee"]) > 0:
        charges.append(Charge(ChargeType.FLAT_FEE, Decimal(frozen["flat_fee"]), FLAT_FEE_REASON))
    points = "9" if receivable.debtor_kind == "business" else "5"
    charges.extend(
        Charge(
            ChargeType.INTEREST,
            Decimal(segment["amount"]),
            f"Verzugszinsen, Basiszinssatz + {points} Prozentpunkte",
            rate=Decimal(segment["rate"]),
            period_start=date.fromisoformat(segment["first_day"]),
            period_end=date.fromisoformat(segment["last_day"]),
        )
        for segment in frozen["interest_segments"]
        if Decimal(segment["amount"]) > 0
    )
    names = ", ".join(item.get("name", "") for item in receivable.line_items or [] if item.get("name"))
    ordered_on = berlin_date(receivable.ordered_at)
    claim = Claim(
        your_reference=key,
        invoice_number=receivable.number,
        subject_matter=f"Bestellung {receivable.number} vom {ordered_on:%d.%m.%Y}"
        + (f": {names}" if names else ""),
        order_date=ordered_on,
        invoice_date=receivable.invoice_date,
        due_date=receivable.due_date,
        principal=Decimal(frozen["principal"]),
        reminder_date=_optional_date(frozen["first_dunning_notice_on"]),
        delay_date=_optional_date(frozen["default_start"]),
        charges=tuple(charges),
        payments=tuple(
            DebtorPayment(f"{key}:paid:{index}", Decimal(p["amount"]), date.fromisoformat(p["booked_on"]))
            for index, p in enumerate(frozen["payment_list"])
            if Decimal(p["amount"]) > 0
        ),
        items=tuple(
            LineItem(
                str(item.get("name") or "Position"),
                int(item.get("quantity") or 1),
                Decimal(str(item["total"])),
            )
            for item in receivable.line_items or []
            if item.get("total") is not None
        ),
        currency=receivable.currency,
    )
    debtor = Debtor(
        kind=DebtorKind(receivable.debtor_kind),
        address=_debtor_address(receivable),
        first_name=buyer.get("first_name") or billing.get("first_name"),
        last_name=buyer.get("last_name") or billing.get("last_name"),
        organization=billing.get("company") or buyer.get("company")
        if receivable.debtor_kind == "business"
        else None,
        email=buyer.get("email"),
        phone=buyer.get("phone"),
    )
    history = tuple(
        CaseNotice(stage=notice.kind, sent_at=_sent_at(notice), deadline=notice.deadline_on, fee=notice.fee)
        for notice in sent_notices(receivable.id)
        if notice.sent_on is not None
    )
    return HandoverCase(
        creditor=Creditor(merchant.name, creditor_address),
        debtor=debtor,
        claim=claim,
        dunning_history=history,
    )


def _sent_at(notice: DunningNotice) -> datetime:
    """Return when a notice went out; its legal day ``sent_on`` wins over a recording time on another day."""
    if notice.sent_at is not None and berlin_date(notice.sent_at) == notice.sent_on:
        return notice.sent_at
    return datetime.combine(notice.sent_on, time(12), tzinfo=BERLIN)


def _optional_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# -- submission ----------------------------------------------------------------------------------------------


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
    handover.next_attempt_at = utcnow() + _backoff(handover.attempts, RETRY_MAX)
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
    _reject_by_agency(handover, rejection.reason, rejection.field_errors)
    db.session.commit()
    return "rejected by agency"


def _reject_by_agency(handover: Handover, reason: str, field_errors: Mapping[str, list[str]]) -> None:
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
    _queue_order_note(handover, f"Collection agency refused the case: {reason}", "rejected")


def submission_sha256(case: HandoverCase, attached: CaseDocument) -> str:
    """Return the SHA-256 of what went to the agency: the case data and the attached document's bytes."""
    data = dataclasses.asdict(dataclasses.replace(case, document=None))
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode())
    digest.update(hashlib.sha256(attached.document.content).digest())
    return digest.hexdigest()


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
    _queue_case_fields(handover, "submitted")
    _queue_order_note(handover, f"Handed over to collection ({ref.agency}, case {ref.case_id}).", "submitted")
    db.session.commit()
    return "submitted"


# -- mirroring back ------------------------------------------------------------------------------------------


def poll_submitted_handovers(limit: int = 200) -> str:
    """Read the agency status of submitted cases and mirror it; report shop payments; commits per handover."""
    rows = db.session.scalars(
        sa.select(Handover.id)
        .where(Handover.status == HandoverStatus.SUBMITTED.value)
        .order_by(sa.func.coalesce(Handover.last_polled_at, Handover.submitted_at), Handover.id)
        .limit(limit)
    ).all()
    db.session.commit()
    counts: Counter[str] = Counter()
    for handover_id in rows:
        try:
            counts[_poll_one(handover_id)] += 1
        except ConnectorError as error:
            db.session.rollback()
            logger.warning("handover %s: agency status unavailable: %s", handover_id, type(error).__name__)
            counts["unavailable"] += 1
        except Exception:
            db.session.rollback()
            logger.exception("handover %s: mirroring failed", handover_id)
            counts["failed"] += 1
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "nothing to poll"


def _poll_one(handover_id: int) -> str:
    handover = db.session.get(Handover, handover_id)
    ref = CaseRef(
        agency=handover.agency or "", case_id=handover.case_id or "", your_reference=handover.idempotency_key
    )
    agency = agency_for(handover.merchant_id)
    try:
        _record_shop_payments(handover)
        db.session.commit()
        _report_shop_payments(handover, ref, agency)
        status = agency.get_status(ref)
    finally:
        agency.close()
    handover = db.session.scalar(sa.select(Handover).filter_by(id=handover_id).with_for_update())
    if handover.status != HandoverStatus.SUBMITTED.value:
        db.session.rollback()
        return "skipped"
    outcome = apply_status(handover, status)
    db.session.commit()
    return outcome


def _record_shop_payments(handover: Handover) -> None:
    """Record growth of the receivable's paid amount that handover and agency do not explain: the shop's."""
    receivable = db.session.scalar(
        sa.select(Receivable).filter_by(id=handover.receivable_id).with_for_update()
    )
    explained = handover.paid_at_handover + handover.collected_total + handover.direct_total
    extra = receivable.paid_amount - explained
    if extra <= 0:
        return
    db.session.add(
        HandoverPayment(
            handover_id=handover.id,
            source=PaymentSource.SHOP.value,
            external_id=f"{handover.idempotency_key}:shop:{receivable.paid_amount}",
            amount=extra,
            value_date=berlin_date(receivable.paid_at or utcnow()),
        )
    )
    handover.direct_total += extra
    ledger.record_history(
        receivable.id,
        EventKind.DIRECT_PAYMENT_AFTER_HANDOVER,
        actor="worker",
        data={"handover": handover.id, "amount": str(extra)},
    )


def _report_shop_payments(handover: Handover, ref: CaseRef, agency: Any) -> None:
    """Tell the agency about shop payments not reported yet; each carries its stable key."""
    pending = db.session.scalars(
        sa.select(HandoverPayment)
        .filter_by(handover_id=handover.id, source=PaymentSource.SHOP.value, reported_at=None)
        .order_by(HandoverPayment.id)
    ).all()
    for payment in pending:
        agency.report_direct_payment(
            ref, DebtorPayment(payment.external_id, payment.amount, payment.value_date)
        )
        payment.reported_at = utcnow()
        record_event(
            "handover.direct_payment_reported",
            actor="worker",
            merchant_id=handover.merchant_id,
            target_type="handover",
            target_id=handover.id,
            details={"amount": str(payment.amount), "key": payment.external_id},
        )
        db.session.commit()


def apply_status(handover: Handover, status: CaseStatus) -> str:
    """Record what changed at the agency: status history, collected payments, the receivable, shop updates."""
    now = utcnow()
    handover.last_polled_at = now
    snapshot = {
        "submission_state": status.submission.value,
        "legal_stage": status.legal_stage.value if status.legal_stage else None,
        "processing_state": status.processing_state.value if status.processing_state else None,
        "payment_state": status.payment_state.value,
        "balance_total": status.balance.total if status.balance else None,
    }
    changed = any(getattr(handover, name) != value for name, value in snapshot.items())
    if changed:
        for name, value in snapshot.items():
            setattr(handover, name, value)
        handover.agency_reference = status.agency_reference or handover.agency_reference
        db.session.add(HandoverStatusUpdate(handover_id=handover.id, title=status.last_update, **snapshot))
    receivable = handover.receivable
    new_payments = _record_agency_payments(handover, receivable, status)
    if status.submission is SubmissionState.REJECTED:
        _reject_by_agency(handover, status.rejection_reason or "rejected by the agency", {})
        return "rejected by agency"
    fully_paid = status.payment_state is PaymentState.FULLY_PAID or (
        status.balance is not None and status.balance.total <= 0 and status.collected_payments
    )
    if fully_paid and receivable.state == State.IN_COLLECTION.value:
        ledger.move_to(
            receivable, State.PAID, reason="the agency reports it paid", actor=f"agency:{handover.agency}"
        )
    if new_payments:
        _queue_shop_payment(handover, receivable)
    if changed:
        number = db.session.scalar(
            sa.select(sa.func.count()).select_from(HandoverStatusUpdate).filter_by(handover_id=handover.id)
        )
        _queue_case_fields(handover, f"status:{number}")
        _queue_order_note(
            handover,
            f"Collection case: {snapshot['legal_stage'] or snapshot['submission_state']}, "
            f"{snapshot['processing_state'] or '-'}, {snapshot['payment_state']}"
            + (f" ({status.last_update})" if status.last_update else ""),
            f"status:{number}",
        )
    if status.closed:
        check_transition(handover.status, HandoverStatus.CLOSED)
        handover.status = HandoverStatus.CLOSED.value
        handover.closed_at = now
        if receivable.state == State.IN_COLLECTION.value:
            ledger.reopen(receivable, reason="the agency closed the case", actor=f"agency:{handover.agency}")
        record_event(
            "handover.closed",
            actor=f"agency:{handover.agency}",
            merchant_id=handover.merchant_id,
            target_type="handover",
            target_id=handover.id,
            details=snapshot | {"balance_total": str(snapshot["balance_total"])},
        )
        _queue_case_fields(handover, "closed")
        return "closed"
    return "changed" if changed or new_payments else "unchanged"


def _record_agency_payments(handover: Handover, receivable: Receivable, status: CaseStatus) -> int:
    known = set(
        db.session.scalars(
            sa.select(HandoverPayment.external_id).filter_by(
                handover_id=handover.id, source=PaymentSource.AGENCY.value
            )
        )
    )
    added = 0
    for payment in status.collected_payments:
        if payment.id in known:
            continue
        db.session.add(
            HandoverPayment(
                handover_id=handover.id,
                source=PaymentSource.AGENCY.value,
                external_id=payment.id,
                amount=payment.amount,
                value_date=payment.value_date,
            )
        )
        handover.collected_total += payment.amount
        ledger.record_payment(
            receivable,
            payment.amount,
            payment.value_date,
            MoneySource.AGENCY,
            external_id=f"{handover.idempotency_key}:agency:{payment.id}",
            actor=f"agency:{handover.agency}",
            details={"handover": handover.id},
        )
        added += 1
    return added


# -- the shop outbox -----------------------------------------------------------------------------------------


def _shop_connections(merchant_id: int) -> list[ShopConnection]:
    return list(
        db.session.scalars(
            sa.select(ShopConnection)
            .where(
                ShopConnection.merchant_id == merchant_id,
                ShopConnection.status == "active",
                ShopConnection.platform.in_(SHOP_PLATFORMS),
            )
            .order_by(ShopConnection.id)
        )
    )


def queue_shop_update(
    *,
    merchant_id: int,
    connection_id: int,
    external_order_id: str | None,
    kind: ShopUpdateKind,
    key: str,
    payload: dict[str, Any],
    handover_id: int | None = None,
) -> None:
    """Queue a write to the shop once per ``key`` (a repeated key adds nothing); ``process_shop_updates`` sends it."""
    now = utcnow()
    db.session.execute(
        _insert(ShopUpdate)
        .values(
            merchant_id=merchant_id,
            connection_id=connection_id,
            handover_id=handover_id,
            external_order_id=external_order_id,
            kind=kind.value,
            payload=payload,
            idempotency_key=key[:200],
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )


def _queue_for_order(handover: Handover, kind: ShopUpdateKind, suffix: str, payload: dict[str, Any]) -> None:
    receivable = handover.receivable
    connection = db.session.get(ShopConnection, receivable.connection_id)
    if connection is None or connection.platform not in SHOP_PLATFORMS:
        return
    queue_shop_update(
        merchant_id=handover.merchant_id,
        connection_id=connection.id,
        handover_id=handover.id,
        external_order_id=receivable.external_id,
        kind=kind,
        key=f"{handover.idempotency_key}:{kind.value}:{suffix}",
        payload=payload,
    )


def _queue_case_fields(handover: Handover, suffix: str) -> None:
    _queue_for_order(handover, ShopUpdateKind.CASE_FIELDS, suffix, {})


def _queue_order_note(handover: Handover, text: str, suffix: str) -> None:
    _queue_for_order(handover, ShopUpdateKind.NOTE, suffix, {"text": text})


def _queue_shop_payment(handover: Handover, receivable: Receivable) -> None:
    _queue_for_order(handover, ShopUpdateKind.PAYMENT, f"paid:{handover.collected_total}", {})


def case_fields(handover: Handover) -> dict[str, Any]:
    """Return the ``claimbridge_*`` fields that show the case in the shop order, as of now."""
    status = handover.status
    if status == HandoverStatus.SUBMITTED.value and handover.legal_stage:
        status = handover.legal_stage
    return {
        CASE_FIELD_STATUS: status,
        CASE_FIELD_ID: handover.agency_reference or handover.case_id,
        CASE_FIELD_HANDED_OVER_AT: handover.submitted_at.isoformat() if handover.submitted_at else None,
        "claimbridge_case_agency": handover.agency,
        "claimbridge_case_payment_state": handover.payment_state,
        "claimbridge_case_processing_state": handover.processing_state,
        "claimbridge_case_collected": str(handover.collected_total),
        "claimbridge_case_balance": None if handover.balance_total is None else str(handover.balance_total),
    }


def _perform(update: ShopUpdate) -> None:
    connection = db.session.get(ShopConnection, update.connection_id)
    # No retry inside the call: a write whose answer was lost may still land, and an immediate second write to
    # the order could be overwritten by it. Every failure goes back to the outbox, which holds the order's
    # later writes behind it and honours the shop's Retry-After.
    connector = connector_for(connection, max_retries=0)
    try:
        kind = ShopUpdateKind(update.kind)
        if kind is ShopUpdateKind.ADMIN_NOTICE:
            connector.notify_admin(
                update.payload["text"],
                order_id=update.external_order_id,
                idempotency_key=update.idempotency_key,
            )
            return
        if kind is ShopUpdateKind.CASE_FIELDS:
            connector.write_case_fields(
                update.external_order_id, case_fields(db.session.get(Handover, update.handover_id))
            )
        elif kind is ShopUpdateKind.NOTE:
            connector.add_order_note(update.external_order_id, update.payload["text"])
        else:
            receivable = db.session.scalars(
                sa.select(Receivable).filter_by(
                    connection_id=update.connection_id, external_id=update.external_order_id
                )
            ).one()
            # Amount and state as of now, so retries in any order leave the latest payment state in the shop.
            amount = min(receivable.paid_amount, receivable.total_amount)
            connector.mark_paid(update.external_order_id, amount, partial=receivable.balance > 0)
    finally:
        connector.close()


def _hold_shop_writes(connection_id: int, until: datetime) -> None:
    """Keep every pending write to one shop until ``until`` (the shop answered 429 with a Retry-After)."""
    db.session.execute(
        sa.update(ShopUpdate)
        .where(
            ShopUpdate.connection_id == connection_id,
            ShopUpdate.done_at.is_(None),
            ShopUpdate.next_attempt_at < until,
        )
        .values(next_attempt_at=until)
    )


def process_shop_updates(limit: int = 100) -> str:
    """Write queued updates (handovers', payments') to the shops; retry with backoff until each acknowledges.

    A shop that answers 429 gets nothing more until its ``Retry-After`` has passed: not that write, nor any
    other write waiting for it. After a failed write to an order, that order's later writes wait their turn.
    """
    counts: Counter[str] = Counter()
    now = utcnow()
    leased = lease_due(
        ShopUpdate,
        ShopUpdate.done_at.is_(None),
        ShopUpdate.next_attempt_at <= now,
        now=now,
        lease=submission_lease(),
        limit=limit,
    )
    held: dict[Any, datetime] = {}  # a shop (connection id) or one order that must wait, and until when
    for update_id in leased:
        update = db.session.get(ShopUpdate, update_id)
        order = (update.connection_id, update.external_order_id)
        wait_until = held.get(update.connection_id) or held.get(order)
        if wait_until is not None:
            update.next_attempt_at = wait_until
            db.session.commit()
            counts["held back"] += 1
            continue
        try:
            _perform(update)
        except Exception as error:
            db.session.rollback()
            update = db.session.get(ShopUpdate, update_id)
            update.attempts += 1
            wait = _backoff(update.attempts, SHOP_RETRY_MAX)
            if isinstance(error, RateLimitError):
                wait = max(wait, timedelta(seconds=error.retry_after or 0))
                held[update.connection_id] = utcnow() + wait
                _hold_shop_writes(update.connection_id, held[update.connection_id])
            update.next_attempt_at = utcnow() + wait
            if update.external_order_id is not None:
                # Writes to one order keep their order: a note must not overtake one that may still land late.
                held[order] = update.next_attempt_at
            update.last_error = f"{type(error).__name__}: {error}"[:500]
            if isinstance(error, ConnectorError):
                logger.warning(
                    "shop update %s failed (attempt %s): %s", update_id, update.attempts, type(error).__name__
                )
            else:
                logger.exception("shop update %s failed", update_id)
            counts["retrying"] += 1
        else:
            update.done_at = utcnow()
            counts["done"] += 1
        db.session.commit()
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "nothing to write"
