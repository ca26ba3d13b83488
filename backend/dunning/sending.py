"""Sending queued e-mail notices by SMTP, leased a few at a time, with retries and proof of sending.

``email`` notices are rendered on the day they are sent (amounts, interest and deadline as of that day).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from backend.dates import berlin_today
from backend.dunning import claims
from backend.dunning.base_rates import BaseRateTable
from backend.dunning.models import DunningBuyerStop, DunningNotice, NoticeStatus, ShopAction, ShopActionStatus
from backend.dunning.notice_building import (
    MailIdentity,
    NoticeNotSendable,
    PreparedNotice,
    build_notice_email,
    mail_identity,
    payment_deadline,
    recorded_notice_sha256,
)
from backend.dunning.rate_store import base_rate_table
from backend.dunning.receivable_claims import claim_notices_of
from backend.dunning.stops import dunning_blocker, stopped_buyers_of
from backend.extensions import PreparedStatement, db, one_of, utcnow
from backend.merchants.models import Merchant
from backend.outbox import backoff, lease_due
from backend.receivables import ledger
from backend.receivables.bookings import Booking
from backend.receivables.ledger import EventKind
from backend.receivables.models import Receivable
from connectors.mail import FlatMessage, Mailer, MailError, MailRejectedError, SmtpMailer

logger = logging.getLogger(__name__)
_NOTICES = DunningNotice.__table__
# One statement for every update of a notice, its SET clause given by the parameters: cached once per set of
# columns, where values in the statement made SQLAlchemy compute a cache key from them for every execution.
_UPDATE_NOTICE = _NOTICES.update().where(_NOTICES.c.id == sa.bindparam("notice_id"))


SEND_LEASE = timedelta(minutes=10)
LEASE_BATCH = 50
# Rows read for a batch are read again for the notices still to go once they are this old (a slow server).
READ_AGAIN_AFTER = 5.0
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
    deadline_on: date | None = None,
) -> None:
    """Record a notice as sent, with its proof: channel, time, message id and content hash.

    ``deadline_on`` is the ``payment_deadline`` the notice stated, when the caller has it.
    """
    deadline_on = deadline_on or payment_deadline(notice, sent_on)
    if content_sha256 is None:  # no e-mail of ours: the hash of what the notice stated
        set_committed_value(notice, "sent_on", sent_on)
        set_committed_value(notice, "deadline_on", deadline_on)
        content_sha256 = recorded_notice_sha256(notice)
    _record_sent(notice, _sent_values(sent_on, message_id, language, content_sha256, deadline_on))


def _sent_values(
    sent_on: date, message_id: str | None, language: str | None, content_sha256: str, deadline_on: date
) -> dict[str, Any]:
    """Return the columns marking a notice sent writes."""
    return {
        "status": NoticeStatus.SENT.value,
        "sent_on": sent_on,
        "sent_at": utcnow(),
        "deadline_on": deadline_on,
        "message_id": message_id,
        "language": language,
        "content_sha256": content_sha256,
        "last_error": None,
    }


def _sent_entry(notice: DunningNotice) -> dict[str, Any]:
    """Return the parameters of a sent notice's history entry (``ledger.history_entry``), once marked sent."""
    return ledger.history_entry(
        notice.receivable_id,
        EventKind.DUNNING_NOTICE_SENT,
        actor="dunning",
        data={
            "notice_id": notice.id,
            "kind": notice.kind,
            "channel": notice.channel,
            "sent_on": notice.sent_on.isoformat(),
            "message_id": notice.message_id,
            "content_sha256": notice.content_sha256,
        },
    )


def _record_sent(notice: DunningNotice, values: dict[str, Any]) -> None:
    """Mark a notice sent with these columns (``_sent_values``) and add its history entry: two statements."""
    _update_notice(notice, **values)
    ledger.add_history_entry(_sent_entry(notice))


def _update_notice(notice: DunningNotice, **values: Any) -> None:
    """Write ``values`` to the notice's row in one UPDATE and keep the loaded object in step with it.

    A plain UPDATE instead of the unit of work's flush, which cost more than the statement; the object then
    holds the written values as unchanged ones, so no later flush writes them again.
    """
    db.session.execute(_UPDATE_NOTICE, {"notice_id": notice.id, **values})
    _keep_written(notice, values)


def _keep_written(notice: DunningNotice, values: dict[str, Any]) -> None:
    """Set the loaded notice's fields to the values written to its row, as unchanged ones."""
    for key, value in values.items():
        set_committed_value(notice, key, value)


def configured_mailer() -> Mailer | None:
    """Return the SMTP mailer from ``CLAIMBRIDGE_SMTP_URL``, or None when it is not set."""
    url = current_app.config.get("CLAIMBRIDGE_SMTP_URL")
    return SmtpMailer.from_url(url) if url else None


@dataclass(frozen=True)
class _Leased:
    """A leased notice with its rows and what building it reads, read together with its batch."""

    notice: DunningNotice
    receivable: Receivable
    merchant: Merchant
    bookings: list[Booking]
    sent: list[claims.DunningNotice]
    buyer_is_stopped: bool


def _load_batch(notice_ids: Sequence[int]) -> list[_Leased]:
    """Read leased notices with their receivables and merchants, bookings, sent notices and buyer stops.

    Four statements for the batch however large, instead of four per notice. The rows overwrite what the
    session still holds from earlier (``populate_existing``): every notice is decided on rows read for it.
    """
    rows = db.session.execute(
        sa.select(DunningNotice, Receivable, Merchant)
        .join(Receivable, Receivable.id == DunningNotice.receivable_id)
        .join(Merchant, Merchant.id == Receivable.merchant_id)
        .where(one_of(DunningNotice.id, notice_ids))
        .order_by(DunningNotice.id)
        .execution_options(populate_existing=True)
    ).all()
    receivables = list({receivable.id: receivable for _, receivable, _ in rows}.values())
    bookings = ledger.payment_bookings_of(receivables)
    sent = claim_notices_of([receivable.id for receivable in receivables])
    stopped = stopped_buyers_of(receivables)
    return [
        _Leased(
            notice,
            receivable,
            merchant,
            bookings[receivable.id],
            sent[receivable.id],
            receivable.id in stopped,
        )
        for notice, receivable, merchant in rows
    ]


def _leased_notices(notice_ids: Sequence[int], settle: Callable[[], None]) -> Iterator[_Leased]:
    """Yield the leased notices in order, read in batches.

    What is left is read again when a notice's rows may have changed since they were read: a second notice of
    a receivable whose first one this run just handled, or rows older than ``READ_AGAIN_AFTER``. Before reading
    again, ``settle`` marks sent what the server accepted, so a second notice's claim counts the first. The
    first notice of a read always goes, however long the read took.
    """
    left = list(notice_ids)
    while left:
        read_at, batch, receivables = time.monotonic(), _load_batch(left), set()
        left = []
        for position, leased in enumerate(batch):
            if position and (
                leased.receivable.id in receivables or time.monotonic() - read_at > READ_AGAIN_AFTER
            ):
                left = [later.notice.id for later in batch[position:]]
                settle()
                break
            receivables.add(leased.receivable.id)
            yield leased


_RECEIVABLES, _STOPS = Receivable.__table__, DunningBuyerStop.__table__
# Count a notice's attempt only if its receivable is as its batch read it (``updated_at``) and its buyer is not
# stopped; return its id if it was counted: one statement, built once and on the tables, not the ORM classes
# (building it cost more than running it). Deciding in the statement, not on values it returns, leaves nothing
# to write back, so on PostgreSQL it may commit on its own. Each subquery reads one table: SQLite's UPDATE names
# columns without their tables, even in subqueries.
_RECEIVABLE_ID = sa.bindparam("its_receivable")
_COUNT_ATTEMPT = (
    _UPDATE_NOTICE.values(attempts=sa.bindparam("tried"))
    .where(
        sa.select(_RECEIVABLES.c.updated_at).where(_RECEIVABLES.c.id == _RECEIVABLE_ID).scalar_subquery()
        == sa.bindparam("read_updated_at", type_=_RECEIVABLES.c.updated_at.type),
        ~sa.select(_STOPS.c.merchant_id)
        .where(
            sa.tuple_(_STOPS.c.merchant_id, _STOPS.c.email_key).in_(
                sa.select(_RECEIVABLES.c.merchant_id, _RECEIVABLES.c.email_key).where(
                    _RECEIVABLES.c.id == _RECEIVABLE_ID
                )
            )
        )
        .exists(),
    )
    .returning(_NOTICES.c.id)
)

_SENT_COLUMNS = (
    "status",
    "sent_on",
    "sent_at",
    "deadline_on",
    "message_id",
    "language",
    "content_sha256",
    "last_error",
)
# PostgreSQL: the same, and the notice the server accepted before marked sent with its history entry, in one
# statement (data-modifying CTEs) instead of three round trips.
_MARK_SENT_AND_COUNT_ATTEMPT = ledger.with_history_entry(
    _COUNT_ATTEMPT.add_cte(
        _NOTICES.update()
        .where(_NOTICES.c.id == sa.bindparam("sent_notice_id"))
        .values({name: sa.bindparam(f"sent_{name}", type_=_NOTICES.c[name].type) for name in _SENT_COLUMNS})
        .cte("sent_notice")
    )
)

# On the run's own connection the statement goes to the driver's cursor, compiled once: SQLAlchemy's execution
# around it (cache lookup, execution context, result) cost 350 us of client CPU against 210 us for the driver's.
_ON_OWN_CONNECTION = {
    statement: PreparedStatement(statement) for statement in (_COUNT_ATTEMPT, _MARK_SENT_AND_COUNT_ATTEMPT)
}


def _count_attempt_if_still_as_read(
    leased: _Leased, sent: tuple[DunningNotice, dict[str, Any]] | None, own: sa.Connection | None
) -> bool:
    """Count the notice's attempt if its receivable and buyer stop are as they were read; say whether they are.

    Every change of a receivable's money or state writes its row (``updated_at``), and a buyer stop is a row of
    its own; the batch may be seconds old by the time a notice is handed over. One statement counts the attempt
    if neither changed (a notice not tried spends none). ``sent`` is a notice to mark sent with these columns
    (``_sent_values``) first: on PostgreSQL in the same statement, which runs on ``own`` (the run's connection in
    autocommit) when the session holds no transaction and nothing to write, so it commits by itself.
    """
    notice, receivable = leased.notice, leased.receivable
    parameters = {
        "notice_id": notice.id,
        "tried": notice.attempts + 1,
        "its_receivable": receivable.id,
        "read_updated_at": receivable.updated_at,
    }
    statement = _COUNT_ATTEMPT
    if sent is not None:
        sent_notice, values = sent
        if db.session.get_bind().dialect.name != "postgresql":
            _record_sent(sent_notice, values)
        else:
            _keep_written(sent_notice, values)
            statement = _MARK_SENT_AND_COUNT_ATTEMPT
            parameters |= {f"sent_{key}": value for key, value in values.items()}
            parameters |= {"sent_notice_id": sent_notice.id, **_sent_entry(sent_notice)}
    session = db.session()
    if own is not None and _holds_nothing(session):
        counted = bool(_ON_OWN_CONNECTION[statement].rows(own, parameters))
    else:  # joins what the session holds; the run's commit ends it
        counted = session.connection().execute(statement, parameters).first() is not None
    if not counted:
        return False
    set_committed_value(notice, "attempts", notice.attempts + 1)
    return True


@contextlib.contextmanager
def _own_connection() -> Iterator[sa.Connection | None]:
    """Hold a connection in autocommit for the run's statements that commit by themselves (PostgreSQL only).

    Each notice's statement then spares the BEGIN and COMMIT round trips and the session's checkout of a
    connection from the pool, most of the client's cost of the statement. It is used only while the session
    holds no transaction, so it never waits for a lock the session holds. SQLite has no round trips to spare.
    """
    if db.engine.dialect.name != "postgresql":
        yield None
        return
    with db.engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


def _holds_nothing(session: sa.orm.Session) -> bool:
    """Say whether the session holds no transaction and nothing to write."""
    return not (session.in_transaction() or session.new or session.dirty or session.deleted)


def _commit_keeping_loaded() -> None:
    """Commit without expiring the loaded objects, so the batch's rows are not read again one by one.

    Nothing another worker may do meanwhile changes what marking a notice sent or retried writes: the notice is
    leased to us, and those writes set its fields outright. A session that holds nothing has nothing to commit:
    on PostgreSQL each notice's statement commits on its own connection, and the session's commit of nothing
    still cost 50 us of bookkeeping per notice.
    """
    session = db.session()
    if _holds_nothing(session):
        return
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit


@dataclass
class _Accepted:
    """A notice the SMTP server accepted, to be marked sent by the next commit."""

    notice: DunningNotice
    message_id: str
    language: str
    content_sha256: str
    deadline: date


class _Gate:
    """Whether the hand-over thread may end a message's data, answered once by the run (``Mailer.deliver_when``)."""

    def __init__(self) -> None:
        self._asked = threading.Event()
        self._answered = threading.Event()
        self._taken = threading.Event()
        self._go = False

    def let_go(self) -> None:
        """Let the message go; if the hand-over thread is waiting for that, wait until it took the answer.

        Otherwise the data's end would go out only when this thread next lets the interpreter go (it builds the
        next notice meanwhile), and its reply would come that much later. A thread still sending the data finds
        the answer when it asks.
        """
        self._go = True
        self._answered.set()
        if self._asked.is_set():
            self._taken.wait()

    def withhold(self) -> None:
        """Withhold the message, unless it was let go."""
        self._answered.set()

    def ready(self) -> bool:
        """Wait for the answer and return it (in the hand-over thread); no answer within the lease withholds."""
        self._asked.set()
        answered = self._answered.wait(SEND_LEASE.total_seconds())
        self._taken.set()
        return answered and self._go


@dataclass
class _HandOver:
    """A notice on its way to the SMTP server (in the hand-over thread), its reply still to come."""

    notice: DunningNotice
    message: FlatMessage
    prepared: PreparedNotice
    reply: Future[str]


class _Run:
    """One run of the sending job over leased notices, one commit per notice.

    The commit that makes a notice's attempt durable before its hand-over also marks the notice before it sent
    (the server accepted that one meanwhile). So at any moment at most one notice is handed over and not yet
    marked sent, as with a commit of its own for each: the one e-mail a crash can repeat (models.py). The
    SMTP conversation runs in a thread of its own. A notice is handed over at the end of its data, not before
    (the server accepts nothing earlier): its envelope and data go out while that commit runs, and only the
    data's end waits for it (``_Gate``). The next notice is built meanwhile; its hand-over waits for the reply.
    """

    def __init__(
        self,
        mailer: Mailer,
        sender: MailIdentity,
        today: date,
        rates: BaseRateTable,
        smtp: ThreadPoolExecutor,
        own: sa.Connection | None,
    ) -> None:
        self.mailer, self.sender, self.today, self.rates, self.smtp = mailer, sender, today, rates, smtp
        self.own = own
        self.accepted: _Accepted | None = None
        self.handing_over: _HandOver | None = None
        self.outcomes: Counter[str] = Counter()

    def accepted_sent(self) -> tuple[DunningNotice, dict[str, Any]] | None:
        """Return the notice the server accepted last with the columns marking it sent, if there is one."""
        accepted = self.accepted
        if accepted is None:
            return None
        values = _sent_values(
            self.today, accepted.message_id, accepted.language, accepted.content_sha256, accepted.deadline
        )
        return accepted.notice, values

    def commit(self) -> None:
        """Commit, with the notice the server accepted last marked sent."""
        sent, self.accepted = self.accepted_sent(), None
        if sent is not None:
            _record_sent(*sent)
        _commit_keeping_loaded()

    def settle(self) -> None:
        """Wait for the server's reply to the notice handed over last: accepted, or to be tried again."""
        handing_over, self.handing_over = self.handing_over, None
        if handing_over is None:
            return
        notice = handing_over.notice
        try:
            message_id = handing_over.reply.result()
        except MailError as error:
            outcome = _retry_or_fail(
                notice, f"{type(error).__name__}: {error}", permanent=isinstance(error, MailRejectedError)
            )
            self.commit()
            self.outcomes[outcome] += 1
            return
        # The proof is the hash of the very bytes the server got.
        self.accepted = _Accepted(
            notice,
            message_id,
            handing_over.prepared.language,
            hashlib.sha256(handing_over.message.content).hexdigest(),
            handing_over.prepared.deadline,
        )
        self.outcomes["sent"] += 1
        logger.info("notice %s (%s) sent for receivable %s", notice.id, notice.kind, notice.receivable_id)

    def send(self, leased: _Leased, stop_at: datetime, *, fresh: bool = False) -> bool:
        """Hand one leased notice to the server (or cancel, hold back, fail it); False when it is ``stop_at``.

        A notice whose receivable or buyer changed since its batch was read is decided again on rows read now
        (``fresh``); if they change once more meanwhile, it waits for its lease to run out.
        """
        notice, receivable = leased.notice, leased.receivable
        blocker = dunning_blocker(
            receivable, bookings=leased.bookings, buyer_is_stopped=leased.buyer_is_stopped
        )
        if blocker is not None:
            cancel_notice(notice, blocker)
            self.commit()
            self.outcomes["cancelled"] += 1
            return True
        try:
            message, prepared = build_notice_email(
                notice,
                receivable,
                leased.merchant,
                self.today,
                self.sender,
                bookings=leased.bookings,
                sent=leased.sent,
                rates=self.rates,
            )
        except NoticeNotSendable as error:
            if error.permanent:
                notice.attempts += 1
                outcome = _retry_or_fail(notice, str(error), permanent=True)
            else:
                # Waiting for the merchant or the operator to act is not a failed attempt.
                notice.status = NoticeStatus.QUEUED.value
                notice.next_attempt_at = utcnow() + BLOCKED_RETRY
                notice.last_error = str(error)[:500]
                outcome = "waiting"
            self.commit()
            self.outcomes[outcome] += 1
            return True
        except ValueError as error:
            # Inconsistent receivable data (e.g. nothing left to claim): an operator has to look at it.
            notice.attempts += 1
            outcome = _retry_or_fail(notice, f"cannot build the notice: {error}", permanent=True)
            self.commit()
            self.outcomes[outcome] += 1
            return True
        # The server gets the envelope and the data while the attempt is counted; the data's end waits for it.
        gate = _Gate()
        let_go = False
        handing_over = _HandOver(
            notice, message, prepared, self.smtp.submit(self.mailer.deliver_when, message, gate.ready)
        )
        try:
            self.settle()
            if utcnow() > stop_at:
                # A slow server: the rest waits for its lease to run out, then any worker takes it.
                return False
            # Tried now: counted before the hand-over, so a worker dying in it still counts.
            # The notice accepted before is marked sent by the same transaction (on PostgreSQL the same statement).
            still_as_read = _count_attempt_if_still_as_read(leased, self.accepted_sent(), self.own)
            self.accepted = None
            # No transaction stays open while the server has the notice, nor while a withheld one is dropped
            # (on SQLite it would hold the write lock over the network); the notice before is marked sent first.
            self.commit()
            if still_as_read:
                gate.let_go()
                let_go = True
                self.handing_over = handing_over
                return True
        finally:
            if not let_go:
                # Withheld: the server drops the unfinished data with the connection, closed before anything
                # else uses the mailer.
                gate.withhold()
                if handing_over.reply.exception() is None:
                    logger.error("notice %s: the mailer delivered a withheld message", notice.id)
        # Paid, disputed or stopped since the batch was read: what was built may claim too much.
        (again,) = _load_batch([notice.id])
        return True if fresh else self.send(again, stop_at, fresh=True)

    def finish(self) -> None:
        """Settle the last hand-over and commit."""
        self.settle()
        self.commit()

    def abandon(self) -> None:
        """After an error: roll back what was half done, and still mark sent what the server accepted."""
        db.session.rollback()
        if self.handing_over is not None:
            with contextlib.suppress(BaseException):
                self.settle()
        self.commit()


def send_queued_notices(today: date | None = None, *, mailer: Mailer | None = None, limit: int = 200) -> str:
    """Send queued e-mail notices (and take over those of crashed workers); one commit per notice."""
    today = today or berlin_today()
    mailer = mailer or configured_mailer()
    if mailer is None:
        return "SMTP not configured (CLAIMBRIDGE_SMTP_URL)"
    sender = mail_identity(mailer)
    if sender is None:
        return "no sender address (CLAIMBRIDGE_MAIL_FROM)"
    with (
        ThreadPoolExecutor(1, thread_name_prefix="smtp") as smtp,
        mailer.connection(),
        _own_connection() as own,
    ):
        run = _Run(mailer, sender, today, base_rate_table(), smtp, own)  # rates read once: added twice a year
        while (left := limit - run.outcomes.total()) > 0:
            # A batch at a time: one lease commit for the batch, and a crashed worker strands only these until
            # their lease runs out (as it would one notice).
            leased = _lease_notices(utcnow(), min(LEASE_BATCH, left))
            if not leased:
                break
            stop_at = utcnow() + SEND_LEASE / 2
            try:
                for notice in _leased_notices(leased, settle=run.finish):
                    if not run.send(notice, stop_at):
                        break
                run.finish()
            except BaseException:
                run.abandon()
                raise
            db.session.expire_all()
    outcomes = run.outcomes
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "nothing to send"
