"""Sending queued e-mail notices by SMTP, leased a few at a time, with retries and proof of sending.

``email`` notices are rendered on the day they are sent (amounts, interest and deadline as of that day).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.dates import berlin_today
from backend.dunning.base_rates import BaseRateTable
from backend.dunning.models import DunningNotice, NoticeStatus, ShopAction, ShopActionStatus
from backend.dunning.notice_building import (
    MailIdentity,
    NoticeNotSendable,
    build_notice_email,
    mail_identity,
    payment_deadline,
    recorded_notice_sha256,
)
from backend.dunning.rate_store import base_rate_table
from backend.dunning.stops import dunning_blocker
from backend.extensions import db, utcnow
from backend.merchants.models import Merchant
from backend.outbox import backoff, lease_due
from backend.receivables import ledger
from backend.receivables.ledger import EventKind
from backend.receivables.models import Receivable
from connectors.mail import Mailer, MailError, MailRejectedError, SmtpMailer, flatten

logger = logging.getLogger(__name__)


SEND_LEASE = timedelta(minutes=10)
LEASE_BATCH = 20
MAX_ATTEMPTS = 10
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=6)
BLOCKED_RETRY = timedelta(hours=1)


def _retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter, so failed sends of many workers do not retry in step."""
    return backoff(attempts, base=RETRY_BASE, cap=RETRY_MAX, jitter=(0.8, 1.2))


def _lease_notices(now: datetime, limit: int) -> list[int]:
    """Lease up to ``limit`` due e-mail notices to this worker (SKIP LOCKED on PostgreSQL); return their ids.

    A lease is no attempt: a notice of the batch left untried (a slow server) must not run out of attempts.
    """
    return lease_due(
        DunningNotice,
        DunningNotice.status.in_((NoticeStatus.QUEUED.value, NoticeStatus.SENDING.value)),
        DunningNotice.next_attempt_at <= now,
        DunningNotice.channel == "email",
        now=now,
        lease=SEND_LEASE,
        limit=limit,
        order_by=(DunningNotice.next_attempt_at, DunningNotice.id),
        values={"status": NoticeStatus.SENDING.value},
    )


def _release_level(receivable: Receivable, notice: DunningNotice) -> None:
    """Put ``dunning_level`` back to the last live notice, so the stage is decided again when owed again."""
    if receivable.dunning_level != notice.level:
        return
    live = db.session.scalar(
        sa.select(sa.func.max(DunningNotice.level)).where(
            DunningNotice.receivable_id == receivable.id,
            DunningNotice.id != notice.id,
            DunningNotice.status != NoticeStatus.CANCELLED.value,
        )
    )
    ledger.set_dunning_level(receivable, live or 0)


def cancel_notice(notice: DunningNotice, reason: str) -> None:
    """Cancel a notice that must not go out any more, and its shop action; the caller commits."""
    receivable = db.session.get(
        Receivable, notice.receivable_id, with_for_update=True, populate_existing=True
    )
    notice.status = NoticeStatus.CANCELLED.value
    notice.last_error = reason[:500]
    db.session.execute(
        sa.update(ShopAction)
        .where(ShopAction.notice_id == notice.id, ShopAction.status != ShopActionStatus.DONE.value)
        .values(status=ShopActionStatus.CANCELLED.value, last_error=reason[:500])
    )
    _release_level(receivable, notice)
    ledger.record_history(
        receivable.id,
        EventKind.DUNNING_NOTICE_CANCELLED,
        actor="dunning",
        data={"notice_id": notice.id, "reason": reason},
    )
    logger.info("notice %s cancelled: %s", notice.id, reason)


def _retry_or_fail(notice: DunningNotice, error: str, *, permanent: bool) -> str:
    """Schedule another attempt with backoff, or give up; return the outcome name."""
    notice.last_error = error[:500]
    if permanent or notice.attempts >= MAX_ATTEMPTS:
        notice.status = NoticeStatus.FAILED.value
        logger.warning("%r failed for good after %s attempt(s): %s", notice, notice.attempts, error)
        return "failed"
    notice.status = NoticeStatus.QUEUED.value
    notice.next_attempt_at = utcnow() + _retry_delay(notice.attempts)
    logger.info("%r will be retried (attempt %s): %s", notice, notice.attempts, error)
    return "retried"


def mark_sent(
    notice: DunningNotice,
    sent_on: date,
    *,
    message_id: str | None,
    language: str | None,
    content_sha256: str | None = None,
) -> None:
    """Record a notice as sent, with its proof: channel, time, message id and content hash."""
    notice.status = NoticeStatus.SENT.value
    notice.sent_on = sent_on
    notice.sent_at = utcnow()
    notice.deadline_on = payment_deadline(notice, sent_on)
    notice.message_id = message_id
    notice.language = language
    notice.content_sha256 = content_sha256 or recorded_notice_sha256(notice)
    notice.last_error = None
    ledger.record_history(
        notice.receivable_id,
        EventKind.DUNNING_NOTICE_SENT,
        actor="dunning",
        data={
            "notice_id": notice.id,
            "kind": notice.kind,
            "channel": notice.channel,
            "sent_on": sent_on.isoformat(),
            "message_id": notice.message_id,
            "content_sha256": notice.content_sha256,
        },
    )


def configured_mailer() -> Mailer | None:
    """Return the SMTP mailer from ``CLAIMBRIDGE_SMTP_URL``, or None when it is not set."""
    url = current_app.config.get("CLAIMBRIDGE_SMTP_URL")
    return SmtpMailer.from_url(url) if url else None


def _load_notice(notice_id: int) -> tuple[DunningNotice, Receivable, Merchant]:
    """Load a notice with its receivable and merchant in one statement.

    The caller holds the merchant while it works, so the merchant's settings (Land, payment details) read on
    the way come from the session instead of one more SELECT each time. The rows overwrite what the session
    still holds from an earlier notice (``_commit_keeping_loaded``): every notice is decided on fresh rows.
    """
    notice, receivable, merchant = db.session.execute(
        sa.select(DunningNotice, Receivable, Merchant)
        .join(Receivable, Receivable.id == DunningNotice.receivable_id)
        .join(Merchant, Merchant.id == Receivable.merchant_id)
        .where(DunningNotice.id == notice_id)
        .execution_options(populate_existing=True)
    ).one()
    return notice, receivable, merchant


def _commit_keeping_loaded() -> None:
    """Commit without expiring the loaded objects, so the notice is not read again after the hand-over.

    Nothing another worker may do meanwhile changes what marking it sent or retried writes: the notice is
    leased to us, and those writes set its fields outright.
    """
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit


def _send_one(notice_id: int, mailer: Mailer, sender: MailIdentity, today: date, rates: BaseRateTable) -> str:
    """Send one leased notice; return the outcome (sent, cancelled, retried, failed)."""
    notice, receivable, merchant = _load_notice(notice_id)
    bookings = ledger.payment_bookings(receivable)
    blocker = dunning_blocker(receivable, bookings=bookings)
    if blocker is not None:
        cancel_notice(notice, blocker)
        db.session.commit()
        return "cancelled"
    notice.attempts += 1  # tried now: counted before the hand-over, so a worker dying in it still counts
    try:
        message, language = build_notice_email(
            notice, receivable, merchant, today, sender, bookings=bookings, rates=rates
        )
    except NoticeNotSendable as error:
        if error.permanent:
            outcome = _retry_or_fail(notice, str(error), permanent=True)
        else:
            # Waiting for the merchant or the operator to act is not a failed attempt.
            notice.status = NoticeStatus.QUEUED.value
            notice.attempts -= 1
            notice.next_attempt_at = utcnow() + BLOCKED_RETRY
            notice.last_error = str(error)[:500]
            outcome = "waiting"
        db.session.commit()
        return outcome
    except ValueError as error:
        # Inconsistent receivable data (e.g. nothing left to claim): an operator has to look at it.
        outcome = _retry_or_fail(notice, f"cannot build the notice: {error}", permanent=True)
        db.session.commit()
        return outcome
    # The proof is the hash of the very bytes the server gets: flattened once, hashed, sent as they are.
    content = flatten(message)
    # No transaction stays open while we talk to the SMTP server.
    _commit_keeping_loaded()
    try:
        message_id = mailer.send(message, content)
    except MailError as error:
        outcome = _retry_or_fail(
            notice,
            f"{type(error).__name__}: {error}",
            permanent=isinstance(error, MailRejectedError),
        )
        db.session.commit()
        return outcome
    sha256 = hashlib.sha256(content).hexdigest()
    mark_sent(notice, today, message_id=message_id, language=language, content_sha256=sha256)
    kind, receivable_id = notice.kind, notice.receivable_id  # read before the commit expires them
    db.session.commit()
    logger.info("notice %s (%s) sent for receivable %s", notice_id, kind, receivable_id)
    return "sent"


def send_queued_notices(today: date | None = None, *, mailer: Mailer | None = None, limit: int = 200) -> str:
    """Send queued e-mail notices (and take over those of crashed workers); commits per notice."""
    today = today or berlin_today()
    mailer = mailer or configured_mailer()
    if mailer is None:
        return "SMTP not configured (CLAIMBRIDGE_SMTP_URL)"
    sender = mail_identity(mailer)
    if sender is None:
        return "no sender address (CLAIMBRIDGE_MAIL_FROM)"
    outcomes: Counter[str] = Counter()
    rates = base_rate_table()  # read once for the run: operators add a rate twice a year
    with mailer.connection():
        while (left := limit - outcomes.total()) > 0:
            # A few at a time: one lease commit for the batch, and a crashed worker strands only these until
            # their lease runs out (as it would one notice).
            leased = _lease_notices(utcnow(), min(LEASE_BATCH, left))
            if not leased:
                break
            leased_at = utcnow()
            for notice_id in leased:
                if utcnow() - leased_at > SEND_LEASE / 2:
                    break  # a slow server: the rest waits for its lease to run out, then any worker takes it
                outcomes[_send_one(notice_id, mailer, sender, today, rates)] += 1
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "nothing to send"
