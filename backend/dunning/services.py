"""Dunning with a database: schedules, settings, stops, base rates, the evaluation and the sending jobs.

Evaluation (``queue_due_notices``) is one set-based statement per batch (``due_selection``): it joins the
receivables with each merchant's effective schedule (saved stages, else ``schedule.default_schedule``) and
with the last sent notice, and mirrors ``schedule.next_stage``:

- ``dunning_level`` is the level of the last live notice (reminder 1, dunning 2, final notice 3; 0 = none);
  the candidate is the first stage whose level is above it;
- the candidate is due once ``due_date + offset_days <= today`` (Europe/Berlin) and, after the first notice,
  once the previous notice was *sent* and its stated deadline has passed (``deadline_on < today``);
- only receivables that are owed money and free to dun: state open or partially_paid, in euro, balance
  above zero, not disputed, no stop on the order, no stop on the buyer.

The selected rows are locked (``FOR UPDATE OF receivables SKIP LOCKED`` on PostgreSQL, so many workers split
the work; SQLite serialises writers) and, in the same transaction, each gets a queued notice and its new
``dunning_level``. A payment, a dispute or a stop therefore ends dunning at once: the statement no longer
selects the receivable, and the sending step re-checks the receivable and cancels a queued notice that is no
longer owed (``dunning_blocker``). See ``backend.dunning.models`` for the exactly-once argument.

Channels: ``email`` notices are rendered on the day they are sent (amounts, interest and deadline as of that
day) and go out by SMTP; ``shop`` notices get a ``ShopAction`` outbox row that ``process_shop_actions`` hands to
the caller's connector function; ``none`` notices are only recorded, dated the day they were decided.

Payments and credits for claims come from the receivable's ledger (``backend.receivables.ledger.payment_bookings``):
each booking carries its value date and source.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from backend.audit.services import record_event
from backend.dunning import claims, law
from backend.dunning.base_rates import (
    BaseRate,
    BaseRateTable,
    UnknownBaseRate,
    bundled_table,
    current_rate_status,
    half_year_rates,
)
from backend.dunning.claims import BookingKind, Claim, ClaimBreakdown, DebtorKind, NoticeKind
from backend.dunning.errors import MissingBaseRateError, UnsupportedClaimError
from backend.dunning.law import DUE_DATE_BASES, ClaimSettings
from backend.dunning.models import (
    BaseRateRecord,
    DunningBuyerStop,
    DunningNotice,
    DunningScheduleRecord,
    DunningStageRecord,
    NoticeStatus,
    ShopAction,
    ShopActionStatus,
)
from backend.dunning.notices import Language, PaymentDetails, RenderedNotice, notice_content, render_notice
from backend.dunning.schedule import (
    DEFAULT_GRACE_BANKING_DAYS,
    GRACE_BANKING_DAYS,
    KIND_RANK,
    Channel,
    DunningSchedule,
    ScheduleError,
    default_schedule,
    fee_limit,
    fee_rule,
    latest_due_date_past_grace,
)
from backend.errors import UserValueError
from backend.extensions import db, utcnow
from backend.merchants.connectors import connector_for
from backend.merchants.models import Merchant
from backend.outbox import backoff, lease_due
from backend.payments.girocode import GiroCodeError, girocode, girocode_payload, girocode_png
from backend.payments.receivable_references import assign_payment_reference
from backend.receivables import ledger
from backend.receivables.ledger import EventKind, payment_bookings
from backend.receivables.models import Receivable
from backend.receivables.states import OUTSTANDING
from backend.risk.identity import keyed_hash, normalise_email
from backend.types import Money
from backend.woocommerce.services import woocommerce_shops_without_plugin
from connectors.bundesbank import SERIES as BUNDESBANK_SERIES
from connectors.bundesbank import BundesbankClient
from connectors.errors import ConflictError, ConnectorError, NotFoundError
from connectors.mail import Mailer, MailError, MailRejectedError, SmtpMailer, build_message, message_id_for
from connectors.shops.woocommerce import WooCommerceConnector

logger = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")
LEVELS = {kind: rank + 1 for kind, rank in KIND_RANK.items()}
SUPPORTED_CURRENCY = claims.SUPPORTED_CURRENCY
GERMAN_SPEAKING_COUNTRIES = frozenset({"DE", "AT", "CH", "LI", "LU"})
NOTICE_LANGUAGES = ("auto", "de", "en")
EVALUATION_BATCH = 500
MAX_CONFLICTS = 5
SEND_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 10
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=6)
BLOCKED_RETRY = timedelta(hours=1)
# Notices ClaimBridge only records (the merchant's system sends them, or the merchant posts the letter).
RECORDED_CHANNELS = ("none", "letter")


def berlin_today(now: datetime | None = None) -> date:
    """Return today's calendar day in Europe/Berlin (legal dates count in local days)."""
    return (now or utcnow()).astimezone(BERLIN).date()


def berlin_date(moment: datetime) -> date:
    """Return the Europe/Berlin calendar day of an aware moment."""
    return moment.astimezone(BERLIN).date()


# -- base rates ----------------------------------------------------------------------------------------------


def stored_base_rates() -> list[BaseRate]:
    """Return the rates operators added, oldest first."""
    rows = db.session.scalars(sa.select(BaseRateRecord).order_by(BaseRateRecord.valid_from))
    return [BaseRate(row.valid_from, row.percent, row.source) for row in rows]


def base_rate_table() -> BaseRateTable:
    """Return the bundled base rates plus the ones operators added."""
    return bundled_table(stored_base_rates())


def add_base_rate(rate: BaseRate, *, actor: str) -> BaseRateRecord:
    """Store a new base rate; refuse one that contradicts a known rate for the same half-year."""
    try:
        base_rate_table().with_rates([rate])
    except ValueError as error:
        raise UserValueError(str(error), details={"/valid_from": [str(error)]}) from None
    if db.session.get(BaseRateRecord, rate.valid_from) is not None:
        raise UserValueError(f"a base rate for {rate.valid_from.isoformat()} is already stored")
    record = BaseRateRecord(
        valid_from=rate.valid_from, percent=rate.percent, source=rate.source, created_by=actor
    )
    db.session.add(record)
    record_event(
        "base_rate.added",
        actor=actor,
        target_type="base_rate",
        target_id=rate.valid_from.isoformat(),
        details={"percent": str(rate.percent), "source": rate.source},
    )
    return record


def base_rate_status(today: date | None = None) -> dict[str, object]:
    """Return whether the current half-year's base rate is known (health endpoint, doctor, console)."""
    return current_rate_status(base_rate_table(), today or berlin_today())


def sync_base_rates(today: date | None = None, *, client: BundesbankClient | None = None) -> str:
    """Add the half-years the Bundesbank published that we do not know yet; never change a known rate.

    The whole series is validated first (``half_year_rates``; and every half-year we know must agree with
    it): any doubt stores nothing and raises, so a wrong or garbled answer cannot put a rate into a claim.
    """
    today = today or berlin_today()
    client = client or BundesbankClient(
        current_app.config["CLAIMBRIDGE_BASE_RATE_URL"],
        allow_private=current_app.config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"],
    )
    try:
        observations = client.base_rate_series()
    finally:
        client.close()
    source = f"Deutsche Bundesbank, Zeitreihe {BUNDESBANK_SERIES}, abgerufen am {today.isoformat()}"
    published = half_year_rates(((o.month, o.percent) for o in observations), source)
    known = base_rate_table()
    known.with_rates(published)  # raises ValueError on any half-year where the Bundesbank says otherwise
    new = [
        rate
        for rate in published
        if rate.valid_from not in {k.valid_from for k in known.rates} and rate.valid_from <= today
    ]
    for rate in new:
        add_base_rate(rate, actor="bundesbank sync")
    added = ", ".join(f"{rate.valid_from.isoformat()} {rate.percent} %" for rate in new) or "nothing new"
    status = current_rate_status(known.with_rates(new), today)
    return f"{len(published)} half-years checked, added: {added}; current half-year: {status['status']}"


def sync_base_rates_when_missing(today: date | None = None) -> str:
    """Run ``sync_base_rates`` when the current half-year's rate is unknown (the worker's weekly job)."""
    status = base_rate_status(today)
    if status["status"] == "ok":
        return f"base rate of the half-year from {status['half_year']} known; nothing to fetch"
    return sync_base_rates(today)


# -- schedules -----------------------------------------------------------------------------------------------


def get_schedules(merchant_id: int) -> dict[DebtorKind, DunningSchedule]:
    """Return the merchant's consumer and business schedules (defaults where none was saved)."""
    saved = {
        row.debtor_kind: row
        for row in db.session.scalars(sa.select(DunningScheduleRecord).filter_by(merchant_id=merchant_id))
    }
    stages = db.session.scalars(
        sa.select(DunningStageRecord).filter_by(merchant_id=merchant_id).order_by(DunningStageRecord.level)
    ).all()
    schedules = {}
    for debtor_kind in DebtorKind:
        record = saved.get(debtor_kind.value)
        if record is None:
            schedules[debtor_kind] = default_schedule(debtor_kind)
            continue
        schedules[debtor_kind] = DunningSchedule.from_dict(
            {
                "debtor_kind": debtor_kind.value,
                "handover_after_days": record.handover_after_days,
                "grace_banking_days": record.grace_banking_days,
                "letter_cost": record.letter_cost,
                "stages": [
                    {
                        "kind": stage.kind,
                        "offset_days": stage.offset_days,
                        "fee": stage.fee,
                        "payment_deadline_days": stage.payment_deadline_days,
                        "channel": stage.channel,
                    }
                    for stage in stages
                    if stage.debtor_kind == debtor_kind.value
                ],
            }
        )
    return schedules


def fee_rules(schedule: DunningSchedule) -> dict[str, dict[str, str]]:
    """Return, per channel, the highest lawful fee of a later notice and why (what the console shows)."""
    return {
        channel.value: {
            "max_fee": f"{fee_limit(channel, schedule.letter_cost):.2f}",
            "rule": fee_rule(channel, schedule.debtor_kind, schedule.letter_cost),
        }
        for channel in claims.Channel
    }


def schedules_document(schedules: dict[DebtorKind, DunningSchedule]) -> dict[str, Any]:
    """Return both schedules as the API shows them, each with its fee rules."""
    return {
        kind.value: {**schedules[kind].to_dict(), "fee_rules": fee_rules(schedules[kind])}
        for kind in DebtorKind
    }


def _schedule_pointer(debtor_kind: str, field: str) -> str:
    """Turn ``stages[1].fee`` into ``/consumer/stages/1/fee``."""
    parts = field.replace("[", ".").replace("]", "").split(".")
    return "/" + "/".join([debtor_kind, *[part for part in parts if part]])


def parse_schedules(document: dict[str, Any]) -> dict[DebtorKind, DunningSchedule]:
    """Validate both schedules with ``schedule.py``; raise UserValueError with JSON pointers."""
    schedules = {}
    problems: dict[str, list[str]] = {}
    for debtor_kind in DebtorKind:
        raw = document.get(debtor_kind.value)
        if not isinstance(raw, dict):
            problems[f"/{debtor_kind.value}"] = ["a schedule object is required"]
            continue
        stated = raw.get("debtor_kind", debtor_kind.value)
        if stated != debtor_kind.value:
            problems[f"/{debtor_kind.value}/debtor_kind"] = [f"must be {debtor_kind.value!r} here"]
            continue
        # The fee rules are shown with a schedule and may come back with it; they are derived, not stored.
        raw = {key: value for key, value in raw.items() if key != "fee_rules"}
        try:
            schedules[debtor_kind] = DunningSchedule.from_dict({**raw, "debtor_kind": debtor_kind.value})
        except ScheduleError as error:
            problems[_schedule_pointer(debtor_kind.value, error.field)] = [error.reason]
    if problems:
        raise UserValueError("The dunning schedule is invalid.", details=problems)
    return schedules


def replace_schedules(merchant_id: int, document: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Validate and store both schedules; return them as stored.

    A ``shop`` stage is refused while a WooCommerce shop of the merchant lacks the ClaimBridge plugin, which
    is what sends the notice there.
    """
    schedules = parse_schedules(document)
    if any(stage.channel == Channel.SHOP for schedule in schedules.values() for stage in schedule.stages):
        _require_shop_channel(merchant_id)
    before = schedules_document(get_schedules(merchant_id))
    db.session.execute(sa.delete(DunningStageRecord).filter_by(merchant_id=merchant_id))
    db.session.execute(sa.delete(DunningScheduleRecord).filter_by(merchant_id=merchant_id))
    for debtor_kind, schedule in schedules.items():
        db.session.add(
            DunningScheduleRecord(
                merchant_id=merchant_id,
                debtor_kind=debtor_kind.value,
                handover_after_days=schedule.handover_after_days,
                grace_banking_days=schedule.grace_banking_days,
                letter_cost=schedule.letter_cost,
                updated_by=actor,
            )
        )
    db.session.flush()
    for debtor_kind, schedule in schedules.items():
        for stage in schedule.stages:
            db.session.add(
                DunningStageRecord(
                    merchant_id=merchant_id,
                    debtor_kind=debtor_kind.value,
                    level=LEVELS[stage.kind],
                    kind=stage.kind.value,
                    offset_days=stage.offset_days,
                    fee=stage.fee,
                    payment_deadline_days=stage.payment_deadline_days,
                    channel=stage.channel.value,
                )
            )
    after = schedules_document(schedules)
    record_event(
        "dunning_schedule.replaced",
        actor=actor,
        merchant_id=merchant_id,
        target_type="merchant",
        target_id=merchant_id,
        details={"before": before, "after": after},
    )
    return after


def _require_shop_channel(merchant_id: int) -> None:
    """Refuse the shop channel for a merchant whose WooCommerce shop cannot send notices (no plugin)."""
    lacking = woocommerce_shops_without_plugin(merchant_id)
    if lacking:
        urls = ", ".join(connection.shop_url for connection in lacking)
        raise UserValueError(
            f"The shop channel needs the ClaimBridge plugin in every WooCommerce shop; {urls} has none "
            "(its wc-claimbridge/v1/status route does not answer). Install and activate the plugin, or choose "
            "e-mail for these stages.",
            code="shop_channel_unavailable",
            details={"connections": [connection.id for connection in lacking]},
        )


# -- merchant settings for notices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DunningSettings:
    """What a merchant's notices say about payment, in which language, and where replies go."""

    account_holder: str | None = None
    iban: str | None = None
    bic: str | None = None
    notice_language: str = "auto"
    reply_to: str | None = None

    @property
    def has_payment_details(self) -> bool:
        return bool(self.account_holder and self.iban and self.bic)

    def to_dict(self) -> dict[str, Any]:
        return {
            "payment_details": {"account_holder": self.account_holder, "iban": self.iban, "bic": self.bic},
            "notice_language": self.notice_language,
            "reply_to": self.reply_to,
        }


def get_dunning_settings(merchant: Merchant) -> DunningSettings:
    """Return the merchant's dunning settings (stored under ``settings["dunning"]``)."""
    stored = (merchant.settings or {}).get("dunning") or {}
    payment = stored.get("payment_details") or {}
    return DunningSettings(
        account_holder=payment.get("account_holder"),
        iban=payment.get("iban"),
        bic=payment.get("bic"),
        notice_language=stored.get("notice_language", "auto"),
        reply_to=stored.get("reply_to"),
    )


def validated_bank_account(iban: str, bic: str | None) -> tuple[str, str]:
    """Return the IBAN (compact) and BIC checked with schwifty; the BIC is derived when left out."""
    try:
        parsed = IBAN(iban)
    except SchwiftyException as error:
        raise UserValueError(
            "The IBAN is invalid.", details={"/payment_details/iban": [str(error)]}
        ) from None
    if bic:
        try:
            parsed_bic = BIC(bic)
        except SchwiftyException as error:
            raise UserValueError(
                "The BIC is invalid.", details={"/payment_details/bic": [str(error)]}
            ) from None
    else:
        parsed_bic = parsed.bic
        if parsed_bic is None:
            raise UserValueError(
                "The BIC of this IBAN is not known; give it.",
                details={"/payment_details/bic": ["required for this IBAN"]},
            )
    return parsed.compact, str(parsed_bic)


def update_dunning_settings(merchant: Merchant, values: dict[str, Any], *, actor: str) -> DunningSettings:
    """Validate and store the merchant's dunning settings."""
    payment = values["payment_details"]
    iban, bic = validated_bank_account(payment["iban"], payment.get("bic"))
    document = {
        "payment_details": {"account_holder": payment["account_holder"].strip(), "iban": iban, "bic": bic},
        "notice_language": values.get("notice_language", "auto"),
        "reply_to": values.get("reply_to"),
    }
    # Reassigned, not mutated in place, so SQLAlchemy sees the JSON change.
    merchant.settings = {**(merchant.settings or {}), "dunning": document}
    record_event(
        "dunning_settings.updated",
        actor=actor,
        merchant_id=merchant.id,
        target_type="merchant",
        target_id=merchant.id,
        details={"notice_language": document["notice_language"], "iban_last4": iban[-4:]},
    )
    return get_dunning_settings(merchant)


# -- what the merchant's invoices and customers are, for the law --------------------------------------------


def get_claim_settings(merchant: Merchant) -> ClaimSettings:
    """Return the merchant's claim settings (defaults where none were saved)."""
    return ClaimSettings.from_settings(merchant.settings)


def update_claim_settings(merchant: Merchant, values: dict[str, Any], *, actor: str) -> ClaimSettings:
    """Validate and store the merchant's claim settings (only the keys given change)."""
    current = get_claim_settings(merchant).to_dict()
    document = {**current, **values}
    try:
        document["land"] = law.check_land(document["land"])
    except law.UnknownLand as error:
        raise UserValueError("The Land is unknown.", details={"/land": [str(error)]}) from None
    if document["due_date_from"] not in DUE_DATE_BASES:
        raise UserValueError(
            "The due date basis is unknown.",
            details={"/due_date_from": [f"one of {', '.join(DUE_DATE_BASES)}"]},
        )
    merchant.settings = {**(merchant.settings or {}), "claims": document}
    record_event(
        "claim_settings.updated",
        actor=actor,
        merchant_id=merchant.id,
        target_type="merchant",
        target_id=merchant.id,
        details={"before": current, "after": document},
    )
    return get_claim_settings(merchant)


def merchant_land(merchant_id: int) -> str | None:
    """Return the merchant's Land for §193 BGB, or None (nationwide holidays only)."""
    merchant = db.session.get(Merchant, merchant_id)
    return get_claim_settings(merchant).land if merchant is not None else None


# -- stops ---------------------------------------------------------------------------------------------------


def email_key_for(email: str) -> str:
    """Return the keyed hash receivables carry for a buyer's e-mail address."""
    key = keyed_hash(current_app.config["CLAIMBRIDGE_IDENTITY_KEY"], "email", normalise_email(email))
    if not key:
        raise UserValueError("The e-mail address is empty.", details={"/email": ["must not be empty"]})
    return key


def set_buyer_stop(merchant_id: int, email: str, *, stopped: bool, reason: str, actor: str) -> dict[str, Any]:
    """Stop (or resume) dunning every receivable of the buyer with ``email``; return the outcome."""
    email_key = email_key_for(email)
    existing = db.session.scalar(
        sa.select(DunningBuyerStop).filter_by(merchant_id=merchant_id, email_key=email_key)
    )
    if stopped and existing is None:
        db.session.add(
            DunningBuyerStop(merchant_id=merchant_id, email_key=email_key, reason=reason, created_by=actor)
        )
    elif stopped and existing is not None:
        existing.reason = reason
    elif existing is not None:
        db.session.delete(existing)
    receivables = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Receivable)
        .filter_by(merchant_id=merchant_id, email_key=email_key)
    )
    record_event(
        "dunning.buyer_stopped" if stopped else "dunning.buyer_resumed",
        actor=actor,
        merchant_id=merchant_id,
        target_type="buyer",
        target_id=email_key[:16],
        details={"reason": reason, "receivables": receivables},
    )
    return {"stopped": stopped, "reason": reason if stopped else None, "receivables": receivables}


def buyer_stopped(receivable: Receivable) -> bool:
    """Say whether the receivable's buyer is under a dunning stop."""
    if receivable.email_key is None:
        return False
    return (
        db.session.scalar(
            sa.select(DunningBuyerStop.id).filter_by(
                merchant_id=receivable.merchant_id, email_key=receivable.email_key
            )
        )
        is not None
    )


def dunning_blocker(receivable: Receivable) -> str | None:
    """Return why the receivable must not be dunned now, or None (the Python twin of the SQL filter)."""
    if receivable.state not in OUTSTANDING:
        return f"receivable is {receivable.state}"
    if receivable.disputed_at is not None:
        return "receivable is disputed"
    if receivable.dunning_stopped_at is not None:
        return "dunning is stopped for this order"
    if receivable.currency != SUPPORTED_CURRENCY:
        return f"only {SUPPORTED_CURRENCY} claims are dunned"
    if receivable.balance <= 0:
        return "nothing is owed"
    if buyer_stopped(receivable):
        return "dunning is stopped for this buyer"
    barred_after = limitation_date_of(receivable)
    if berlin_today() > barred_after:
        return f"the claim is time-barred since {barred_after + timedelta(days=1)} (§§195, 199 BGB)"
    return None


# -- claims --------------------------------------------------------------------------------------------------


def sent_notices(receivable_id: int) -> list[DunningNotice]:
    """Return the notices that went out (or were recorded), oldest first."""
    return list(
        db.session.scalars(
            sa.select(DunningNotice)
            .filter_by(receivable_id=receivable_id, status=NoticeStatus.SENT.value)
            .order_by(DunningNotice.sent_on, DunningNotice.level)
        )
    )


def claim_of(receivable: Receivable, extra_notices: Iterable[claims.DunningNotice] = ()) -> Claim:
    """Build the legal claim of a receivable from its amounts, sent notices and payment history."""
    if receivable.currency != SUPPORTED_CURRENCY:
        raise UnsupportedClaimError(
            f"only {SUPPORTED_CURRENCY} claims can be computed, not {receivable.currency}"
        )
    if receivable.total_amount <= 0:
        raise UnsupportedClaimError("the receivable has no positive invoice total")
    notices = [
        claims.DunningNotice(
            NoticeKind(notice.kind),
            notice.sent_on,
            notice.fee,
            deadline_on=notice.deadline_on,
            channel=claims.Channel(notice.channel),
        )
        for notice in sent_notices(receivable.id)
        if notice.sent_on is not None
    ]
    return Claim(
        principal=receivable.total_amount,
        invoice_date=receivable.invoice_date,
        due_date=receivable.due_date,
        debtor_kind=DebtorKind(receivable.debtor_kind),
        invoice_has_default_notice=receivable.invoice_has_default_notice,
        notices=[*notices, *extra_notices],
        bookings=payment_bookings(receivable),
        land=merchant_land(receivable.merchant_id),
    )


def limitation_date_of(receivable: Receivable) -> date:
    """Return the last day the receivable is not time-barred: from its due date, restarted by payments."""
    payments = [b.booked_on for b in payment_bookings(receivable) if b.kind is BookingKind.PAYMENT]
    return law.limitation_date(receivable.due_date, payments, merchant_land(receivable.merchant_id))


def limitation_floor(today: date) -> date:
    """Return the earliest due date that can still be enforceable on ``today`` without a restart.

    The SQL selections use it as a coarse filter; a claim kept alive only by a payment (§212) is left to
    the merchant rather than dunned automatically, which claims less, never more.
    """
    return date(today.year - law.LIMITATION_YEARS, 1, 1)


def claim_on(receivable: Receivable, as_of: date) -> ClaimBreakdown:
    """Return the claim on ``as_of``; a missing base rate is a 409 naming the half-year."""
    claim = claim_of(receivable)
    try:
        return claims.claim_breakdown(claim, as_of, base_rate_table())
    except UnknownBaseRate as error:
        raise MissingBaseRateError(error) from None


# -- evaluation: which receivables are due for which stage ---------------------------------------------------


def _days_before(day: date, days: sa.ColumnElement[int], dialect: str) -> sa.ColumnElement[date]:
    """Return SQL for ``day - days`` (a stage offset column) in the given dialect."""
    if dialect == "postgresql":
        return sa.cast(sa.literal(day, sa.Date), sa.Date) - days
    return sa.func.date(sa.literal(day.isoformat()), "-" + sa.cast(days, sa.String) + " days")


def _effective_stages() -> sa.CTE:
    """Every merchant's stages: the saved ones, else the default schedule's (for each debtor kind)."""
    stage = DunningStageRecord.__table__
    schedule = DunningScheduleRecord.__table__
    merchant = Merchant.__table__
    parts: list[sa.Select[Any]] = [
        sa.select(
            stage.c.merchant_id,
            stage.c.debtor_kind,
            stage.c.level,
            stage.c.kind,
            stage.c.offset_days,
            stage.c.fee,
            stage.c.payment_deadline_days,
            stage.c.channel,
            schedule.c.grace_banking_days,
        ).join(
            schedule,
            sa.and_(
                schedule.c.merchant_id == stage.c.merchant_id, schedule.c.debtor_kind == stage.c.debtor_kind
            ),
        )
    ]
    for debtor_kind in DebtorKind:
        saved = sa.exists().where(
            schedule.c.merchant_id == merchant.c.id, schedule.c.debtor_kind == debtor_kind.value
        )
        for default in default_schedule(debtor_kind).stages:
            parts.append(
                sa.select(
                    merchant.c.id,
                    sa.literal(debtor_kind.value, sa.String),
                    sa.literal(LEVELS[default.kind], sa.Integer),
                    sa.literal(default.kind.value, sa.String),
                    sa.literal(default.offset_days, sa.Integer),
                    sa.literal(default.fee, Money),
                    sa.literal(default.payment_deadline_days, sa.Integer),
                    sa.literal(default.channel.value, sa.String),
                    sa.literal(DEFAULT_GRACE_BANKING_DAYS, sa.Integer),
                ).where(~saved)
            )
    return sa.union_all(*parts).cte("effective_stages")


def _grace_passed_by(today: date, transitions: sa.CTE) -> sa.ColumnElement[date]:
    """Return SQL for the latest due date whose grace period (1-3 banking days) has passed by ``today``."""
    low, high = GRACE_BANKING_DAYS
    return sa.case(
        *(
            (transitions.c.grace_banking_days == days, latest_due_date_past_grace(today, days))
            for days in range(low, high + 1)
        ),
        else_=latest_due_date_past_grace(today, high),
    )


def due_selection(
    today: date, dialect: str, *, limit: int | None = None, lock: bool = True
) -> sa.Select[Any]:
    """Return the one statement that selects receivables due for their next stage on ``today``.

    Each row: receivable id, merchant, connection, new level, kind, fee, deadline days and channel. With
    ``lock`` the receivables are claimed ``FOR UPDATE SKIP LOCKED`` (ignored on SQLite).
    """
    stages = _effective_stages()
    previous_level = sa.func.coalesce(
        sa.func.lag(stages.c.level).over(
            partition_by=(stages.c.merchant_id, stages.c.debtor_kind), order_by=stages.c.level
        ),
        0,
    )
    transitions = sa.select(
        stages,
        previous_level.label("from_level"),
        _days_before(today, stages.c.offset_days, dialect).label("due_by"),
    ).cte("transitions")
    receivable = Receivable.__table__
    previous = DunningNotice.__table__.alias("previous_notice")
    stop = DunningBuyerStop.__table__
    query = (
        sa.select(
            receivable.c.id.label("receivable_id"),
            receivable.c.merchant_id,
            receivable.c.connection_id,
            transitions.c.level,
            transitions.c.kind,
            transitions.c.fee,
            transitions.c.payment_deadline_days,
            transitions.c.channel,
        )
        .select_from(
            receivable.join(
                transitions,
                sa.and_(
                    transitions.c.merchant_id == receivable.c.merchant_id,
                    transitions.c.debtor_kind == receivable.c.debtor_kind,
                    receivable.c.dunning_level >= transitions.c.from_level,
                    receivable.c.dunning_level < transitions.c.level,
                ),
            ).outerjoin(
                previous,
                sa.and_(
                    previous.c.receivable_id == receivable.c.id,
                    previous.c.level == receivable.c.dunning_level,
                    previous.c.status == NoticeStatus.SENT.value,
                ),
            )
        )
        .where(
            receivable.c.state.in_(sorted(state.value for state in OUTSTANDING)),
            receivable.c.disputed_at.is_(None),
            receivable.c.dunning_stopped_at.is_(None),
            receivable.c.currency == SUPPORTED_CURRENCY,
            receivable.c.total_amount - receivable.c.paid_amount - receivable.c.credited_amount > 0,
            receivable.c.due_date <= transitions.c.due_by,
            receivable.c.due_date >= limitation_floor(today),
            sa.or_(
                transitions.c.from_level > 0, receivable.c.due_date <= _grace_passed_by(today, transitions)
            ),
            sa.or_(receivable.c.dunning_level == 0, previous.c.deadline_on < today),
            ~sa.exists().where(
                stop.c.merchant_id == receivable.c.merchant_id, stop.c.email_key == receivable.c.email_key
            ),
        )
    )
    # No ORDER BY: workers claim whatever is due (SKIP LOCKED), and PostgreSQL can stop at the LIMIT
    # instead of sorting every due row first.
    if limit is not None:
        query = query.limit(limit)
    if lock:
        query = query.with_for_update(skip_locked=True, of=receivable)
    return query


def _deadline(notice: DunningNotice, sent_on: date) -> date:
    """Return the payment deadline a notice sent on ``sent_on`` states (§193 BGB applied)."""
    day = sent_on + timedelta(days=notice.payment_deadline_days)
    return law.next_working_day(day, merchant_land(notice.merchant_id))


def _queue_batch(today: date, now: datetime, dialect: str, batch_size: int) -> Counter[str]:
    """Claim one batch of due receivables and queue their notices; the caller commits."""
    rows = db.session.execute(due_selection(today, dialect, limit=batch_size)).all()
    counts: Counter[str] = Counter()
    notices = []
    for row in rows:
        notice = DunningNotice(
            merchant_id=row.merchant_id,
            receivable_id=row.receivable_id,
            kind=row.kind,
            level=row.level,
            channel=row.channel,
            fee=Decimal(row.fee).quantize(claims.CENT),
            payment_deadline_days=row.payment_deadline_days,
            queued_on=today,
            status=NoticeStatus.QUEUED.value,
            attempts=0,
            next_attempt_at=now,
        )
        if row.channel in RECORDED_CHANNELS:
            # The merchant's own system dunns or the merchant posts the letter: we record the notice as
            # given on the day it was due.
            notice.status = NoticeStatus.SENT.value
            notice.sent_on = today
            # A day decided late (a replay of past days) is recorded at noon of that day, so the time of
            # sending and its legal day agree.
            notice.sent_at = now if berlin_date(now) == today else datetime.combine(today, time(12), BERLIN)
            notice.deadline_on = _deadline(notice, today)
        notices.append((row, notice))
        db.session.add(notice)
        counts[row.channel] += 1
    db.session.flush()
    for row, notice in notices:
        if row.channel in RECORDED_CHANNELS:
            notice.content_sha256 = recorded_notice_sha256(notice)
        if row.channel == "shop":
            db.session.add(
                ShopAction(
                    merchant_id=row.merchant_id,
                    connection_id=row.connection_id,
                    receivable_id=row.receivable_id,
                    notice_id=notice.id,
                    action="remind",
                    next_attempt_at=now,
                )
            )
        recorded = row.channel in RECORDED_CHANNELS
        kind = EventKind.DUNNING_NOTICE_RECORDED if recorded else EventKind.DUNNING_NOTICE_QUEUED
        ledger.record_history(
            row.receivable_id,
            kind,
            actor="dunning",
            data={"notice_id": notice.id, "kind": row.kind, "channel": row.channel},
        )
    ledger.set_dunning_levels((row.receivable_id, row.level) for row in rows)
    return counts


def queue_due_notices(today: date | None = None, *, batch_size: int = EVALUATION_BATCH) -> str:
    """Queue every notice due on ``today`` (Berlin), batch by batch, committing each batch."""
    today = today or berlin_today()
    dialect = db.session.get_bind().dialect.name
    totals: Counter[str] = Counter()
    conflicts = 0
    while True:
        try:
            counts = _queue_batch(today, utcnow(), dialect, batch_size)
            db.session.commit()
        except sa.exc.IntegrityError:
            # Another worker queued one of these stages first (the unique index caught it): start over.
            db.session.rollback()
            conflicts += 1
            if conflicts > MAX_CONFLICTS:
                raise
            continue
        totals.update(counts)
        if sum(counts.values()) < batch_size:
            break
    queued = sum(totals.values())
    recorded = sum(totals[channel] for channel in RECORDED_CHANNELS)
    return f"{queued} due ({totals['email']} email, {totals['shop']} shop, {recorded} recorded)"


# -- sending -------------------------------------------------------------------------------------------------


def _retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter, so failed sends of many workers do not retry in step."""
    return backoff(attempts, base=RETRY_BASE, cap=RETRY_MAX, jitter=(0.8, 1.2))


def _lease_next(
    model: type[DunningNotice] | type[ShopAction],
    waiting: tuple[str, str],
    now: datetime,
    *conditions: sa.ColumnElement[bool],
) -> int | None:
    """Lease one due row of ``model`` to this worker (SKIP LOCKED on PostgreSQL); return its id."""
    leased = lease_due(
        model,
        model.status.in_(waiting),
        model.next_attempt_at <= now,
        *conditions,
        now=now,
        lease=SEND_LEASE,
        limit=1,
        order_by=(model.next_attempt_at, model.id),
        values={"status": waiting[1], "attempts": model.attempts + 1},
    )
    return leased[0] if leased else None


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


def _cancel(notice: DunningNotice, reason: str) -> None:
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


def _retry_or_fail(row: DunningNotice | ShopAction, error: str, *, permanent: bool) -> str:
    """Schedule another attempt with backoff, or give up; return the outcome name."""
    row.last_error = error[:500]
    notice = isinstance(row, DunningNotice)
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = NoticeStatus.FAILED.value if notice else ShopActionStatus.FAILED.value
        logger.warning("%r failed for good after %s attempt(s): %s", row, row.attempts, error)
        return "failed"
    row.status = NoticeStatus.QUEUED.value if notice else ShopActionStatus.PENDING.value
    row.next_attempt_at = utcnow() + _retry_delay(row.attempts)
    logger.info("%r will be retried (attempt %s): %s", row, row.attempts, error)
    return "retried"


def recorded_notice_sha256(notice: DunningNotice) -> str:
    """Return the SHA-256 of what a notice without an e-mail of ours stated (kind, dates, fee, channel)."""
    record = {
        "notice": notice.id,
        "receivable": notice.receivable_id,
        "kind": notice.kind,
        "channel": notice.channel,
        "sent_on": notice.sent_on.isoformat() if notice.sent_on else None,
        "deadline_on": notice.deadline_on.isoformat() if notice.deadline_on else None,
        "fee": str(notice.fee),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _mark_sent(
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
    notice.deadline_on = _deadline(notice, sent_on)
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


def notice_language(receivable: Receivable, settings: DunningSettings) -> Language:
    """Return the notice language: the merchant's choice, or German for German-speaking countries."""
    if settings.notice_language in ("de", "en"):
        return settings.notice_language  # type: ignore[return-value]
    country = str((receivable.billing_address or {}).get("country") or "DE").upper()
    return "de" if country in GERMAN_SPEAKING_COUNTRIES else "en"


def debtor_name(receivable: Receivable) -> str:
    """Return the name to address the debtor by."""
    billing = receivable.billing_address or {}
    buyer = receivable.buyer or {}
    if receivable.debtor_kind == DebtorKind.BUSINESS and billing.get("company"):
        return str(billing["company"])
    for source in (billing, buyer):
        name = " ".join(str(source[key]) for key in ("first_name", "last_name") if source.get(key))
        if name:
            return name
    return str(buyer.get("company") or billing.get("company") or buyer.get("email") or receivable.number)


class NoticeNotSendable(Exception):
    """The notice cannot be sent as things stand; ``permanent`` says whether waiting can help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class MailIdentity:
    """The address notices come from; its domain names every Message-ID."""

    address: str
    domain: str


def mail_identity(mailer: Mailer | None = None) -> MailIdentity | None:
    """Return the sender from ``CLAIMBRIDGE_MAIL_FROM`` (else the SMTP URL's ``from``), or None."""
    configured = current_app.config.get("CLAIMBRIDGE_MAIL_FROM")
    if not configured and isinstance(mailer, SmtpMailer):
        configured = mailer.sender
    address = parseaddr(configured or "")[1]
    if "@" not in address:
        return None
    return MailIdentity(address=address, domain=address.rpartition("@")[2])


@dataclass(frozen=True)
class PreparedNotice:
    """A notice rendered as of the day it is sent, with what every channel needs to deliver it."""

    rendered: RenderedNotice
    language: Language
    recipient: str
    breakdown: ClaimBreakdown
    reference: str
    deadline: date
    settings: DunningSettings
    inline_images: dict[str, bytes]


def prepare_notice(
    notice: DunningNotice,
    receivable: Receivable,
    merchant: Merchant,
    sent_on: date,
    *,
    image_domain: str | None = None,
) -> PreparedNotice:
    """Render a notice as of ``sent_on``; raise ``NoticeNotSendable`` when it cannot go.

    With ``image_domain`` (an e-mail's) the HTML embeds the GiroCode as an inline image named in that domain.
    """
    recipient = (receivable.buyer or {}).get("email")
    if not recipient:
        raise NoticeNotSendable("the buyer has no e-mail address", permanent=True)
    settings = get_dunning_settings(merchant)
    if not settings.has_payment_details:
        raise NoticeNotSendable("the merchant has not set payment details for notices", permanent=False)
    this_notice = claims.DunningNotice(NoticeKind(notice.kind), sent_on, notice.fee)
    claim = claim_of(receivable, [this_notice])
    try:
        breakdown = claims.claim_breakdown(claim, sent_on, base_rate_table())
    except UnknownBaseRate as error:
        raise NoticeNotSendable(str(error), permanent=False) from None
    if breakdown.time_barred:
        raise NoticeNotSendable(f"the claim is time-barred since {breakdown.limitation_date}", permanent=True)
    language = notice_language(receivable, settings)
    reference = assign_payment_reference(receivable)
    deadline = _deadline(notice, sent_on)
    images: dict[str, bytes] = {}
    qr_png = _girocode_png(settings, breakdown.total_outstanding, reference) if image_domain else None
    if qr_png:
        images[f"girocode-{notice.id}@{image_domain}"] = qr_png
    content = notice_content(
        claim,
        breakdown,
        kind=NoticeKind(notice.kind),
        language=language,
        merchant_name=merchant.name,
        debtor_name=debtor_name(receivable),
        invoice_number=receivable.number,
        payment_deadline=deadline,
        payment=PaymentDetails(
            account_holder=settings.account_holder or "",
            iban=settings.iban or "",
            bic=settings.bic or "",
            reference=reference,
        ),
        girocode_cid=next(iter(images), None),
    )
    return PreparedNotice(
        rendered=render_notice(content),
        language=language,
        recipient=str(recipient),
        breakdown=breakdown,
        reference=reference,
        deadline=deadline,
        settings=settings,
        inline_images=images,
    )


def build_notice_email(
    notice: DunningNotice, receivable: Receivable, merchant: Merchant, sent_on: date, sender: MailIdentity
) -> tuple[EmailMessage, Language]:
    """Render a notice as of ``sent_on`` into an e-mail; raise ``NoticeNotSendable`` when it cannot go."""
    prepared = prepare_notice(notice, receivable, merchant, sent_on, image_domain=sender.domain)
    rendered = prepared.rendered
    message = build_message(
        to=[prepared.recipient],
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender=formataddr((merchant.name, sender.address)),
        reply_to=prepared.settings.reply_to,
        message_id=message_id_for(f"dunning-notice-{notice.id}", sender.domain),
        inline_images=prepared.inline_images or None,
    )
    return message, prepared.language


def plugin_notice_payload(
    notice: DunningNotice, receivable: Receivable, merchant: Merchant, sent_on: date
) -> dict[str, Any]:
    """Return the whole notice as the ClaimBridge WordPress plugin's ``dunning-notices`` route takes it."""
    prepared = prepare_notice(notice, receivable, merchant, sent_on)
    breakdown, settings = prepared.breakdown, prepared.settings
    payload = ""
    try:
        payload = girocode_payload(
            name=settings.account_holder or "",
            iban=settings.iban or "",
            bic=settings.bic or "",
            amount=breakdown.total_outstanding,
            reference=prepared.reference,
        )
    except GiroCodeError as error:
        logger.warning("notice %s without GiroCode: %s", notice.id, error)
    return {
        "notice_id": f"claimbridge-notice-{notice.id}",
        "order_id": int(receivable.external_id),
        "stage": notice.kind,
        "language": prepared.language,
        "recipient": {"email": prepared.recipient, "name": debtor_name(receivable)},
        "subject": prepared.rendered.subject,
        "text": prepared.rendered.text,
        "html": prepared.rendered.html,
        "amounts": {
            "principal": f"{breakdown.principal_outstanding:.2f}",
            "fees": f"{breakdown.costs_outstanding:.2f}",
            "interest": f"{breakdown.interest_outstanding:.2f}",
            "total": f"{breakdown.total_outstanding:.2f}",
            "currency": breakdown.currency,
        },
        "deadline": prepared.deadline.isoformat(),
        "payment_reference": prepared.reference,
        "creditor": {
            "name": settings.account_holder or "",
            "iban": settings.iban or "",
            "bic": settings.bic or "",
        },
        "girocode": payload,
    }


def _girocode_png(settings: DunningSettings, amount: Decimal, reference: str) -> bytes | None:
    """Return the EPC QR code for paying ``amount``, or None when the details do not fit one (notice goes)."""
    try:
        code = girocode(
            name=settings.account_holder or "",
            iban=settings.iban or "",
            bic=settings.bic or "",
            amount=amount,
            reference=reference,
        )
    except GiroCodeError as error:
        logger.warning("notice without GiroCode: %s", error)
        return None
    return girocode_png(code)


def configured_mailer() -> Mailer | None:
    """Return the SMTP mailer from ``CLAIMBRIDGE_SMTP_URL``, or None when it is not set."""
    url = current_app.config.get("CLAIMBRIDGE_SMTP_URL")
    return SmtpMailer.from_url(url) if url else None


def _send_one(notice_id: int, mailer: Mailer, sender: MailIdentity, today: date) -> str:
    """Send one leased notice; return the outcome (sent, cancelled, retried, failed)."""
    notice = db.session.get(DunningNotice, notice_id)
    receivable = db.session.get(Receivable, notice.receivable_id)
    blocker = dunning_blocker(receivable)
    if blocker is not None:
        _cancel(notice, blocker)
        db.session.commit()
        return "cancelled"
    merchant = db.session.get(Merchant, receivable.merchant_id)
    try:
        message, language = build_notice_email(notice, receivable, merchant, today, sender)
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
    # No transaction stays open while we talk to the SMTP server.
    db.session.commit()
    try:
        message_id = mailer.send(message)
    except MailError as error:
        notice = db.session.get(DunningNotice, notice_id)
        outcome = _retry_or_fail(
            notice,
            f"{type(error).__name__}: {error}",
            permanent=isinstance(error, MailRejectedError),
        )
        db.session.commit()
        return outcome
    notice = db.session.get(DunningNotice, notice_id)
    sha256 = hashlib.sha256(message.as_bytes()).hexdigest()
    _mark_sent(notice, today, message_id=message_id, language=language, content_sha256=sha256)
    db.session.commit()
    logger.info("notice %s (%s) sent for receivable %s", notice.id, notice.kind, notice.receivable_id)
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
    for _ in range(limit):
        waiting = (NoticeStatus.QUEUED.value, NoticeStatus.SENDING.value)
        notice_id = _lease_next(DunningNotice, waiting, utcnow(), DunningNotice.channel == "email")
        if notice_id is None:
            break
        outcomes[_send_one(notice_id, mailer, sender, today)] += 1
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "nothing to send"


# -- shop channel (the seam for the shop connectors) ---------------------------------------------------------


@dataclass(frozen=True)
class ShopDelivery:
    """What the shop said about a notice it sent itself (absent for a bare payment-state transition)."""

    message_id: str | None
    language: str | None


ShopPerformer = Callable[[ShopAction, Receivable], ShopDelivery | None]


def process_shop_actions(perform: ShopPerformer, today: date | None = None, *, limit: int = 50) -> str:
    """Hand queued shop actions to ``perform`` (which calls the shop) and record the outcome.

    ``perform(action, receivable)`` returns when the shop did it and raises ``ConnectorError`` otherwise
    (``AuthError``/``ClientError`` give up after a few tries like any other, since the merchant must act),
    or ``NoticeNotSendable``. A notice whose receivable was paid, disputed or stopped meanwhile is cancelled
    instead of performed. A notice counts as sent only when ``perform`` returned. Commits per action.
    """
    today = today or berlin_today()
    outcomes: Counter[str] = Counter()
    waiting = (ShopActionStatus.PENDING.value, ShopActionStatus.RUNNING.value)
    for _ in range(limit):
        action_id = _lease_next(ShopAction, waiting, utcnow())
        if action_id is None:
            break
        action = db.session.get(ShopAction, action_id)
        receivable = db.session.get(Receivable, action.receivable_id)
        notice = db.session.get(DunningNotice, action.notice_id) if action.notice_id else None
        blocker = dunning_blocker(receivable)
        if blocker is not None:
            if notice is not None:
                _cancel(notice, blocker)
            action.status = ShopActionStatus.CANCELLED.value
            db.session.commit()
            outcomes["cancelled"] += 1
            continue
        db.session.commit()
        try:
            delivery = perform(action, receivable)
        except (ConnectorError, NoticeNotSendable) as error:
            db.session.rollback()
            action = db.session.get(ShopAction, action_id)
            permanent = isinstance(error, NoticeNotSendable | ShopRefusedNotice) and error.permanent
            outcome = _retry_or_fail(action, f"{type(error).__name__}: {error}", permanent=permanent)
            if outcome == "failed" and action.notice_id:
                failed_notice = db.session.get(DunningNotice, action.notice_id)
                failed_notice.status = NoticeStatus.FAILED.value
                failed_notice.last_error = action.last_error
            db.session.commit()
            outcomes[outcome] += 1
            continue
        action = db.session.get(ShopAction, action_id)
        action.status = ShopActionStatus.DONE.value
        action.done_at = utcnow()
        action.last_error = None
        if action.notice_id:
            _mark_sent(
                db.session.get(DunningNotice, action.notice_id),
                today,
                message_id=(delivery.message_id if delivery else None) or f"shop-action-{action.id}",
                language=delivery.language if delivery else None,
            )
        db.session.commit()
        outcomes["done"] += 1
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "nothing to do"


# -- history -------------------------------------------------------------------------------------------------


class ShopRefusedNotice(ConnectorError):
    """The shop's plugin answered but will not send the notice (its e-mail is disabled, or no plugin)."""

    permanent = True


def remind_in_shop(action: ShopAction, receivable: Receivable) -> ShopDelivery | None:
    """Have the shop deliver the notice: WooCommerce mails it through the ClaimBridge plugin, Shopware runs
    its ``remind`` payment transition."""
    connector = connector_for(receivable.connection)
    try:
        if isinstance(connector, WooCommerceConnector) and action.notice_id is not None:
            return _send_through_plugin(connector, action, receivable)
        connector.mark_reminded(receivable.external_id)
        return None
    finally:
        connector.close()


def _send_through_plugin(
    connector: WooCommerceConnector, action: ShopAction, receivable: Receivable
) -> ShopDelivery:
    """Send the whole notice to the plugin's ``dunning-notices`` route; only its 2xx means sent."""
    notice = db.session.get(DunningNotice, action.notice_id)
    merchant = db.session.get(Merchant, receivable.merchant_id)
    payload = plugin_notice_payload(notice, receivable, merchant, berlin_today())
    db.session.commit()  # no transaction stays open while the shop mails
    try:
        answer = connector.send_dunning_notice(payload)
    except ConflictError as error:
        if error.remote_code == "claimbridge_email_disabled":
            raise ShopRefusedNotice(
                "the merchant disabled the ClaimBridge dunning e-mail in WooCommerce", status=409
            ) from error
        raise
    except NotFoundError as error:
        if error.remote_code == "rest_no_route":
            raise ShopRefusedNotice(
                "the shop has no ClaimBridge plugin to send notices", status=404
            ) from error
        raise
    return ShopDelivery(message_id=str(answer.get("message_id") or "") or None, language=payload["language"])


def send_shop_reminders(today: date | None = None) -> str:
    """Run the queued shop-channel notices through the merchants' shops."""
    return process_shop_actions(remind_in_shop, today)


def notices_of(receivable_id: int) -> list[DunningNotice]:
    """Return every notice of a receivable (any status), in the order they were decided."""
    return list(
        db.session.scalars(
            sa.select(DunningNotice).filter_by(receivable_id=receivable_id).order_by(DunningNotice.id)
        )
    )
