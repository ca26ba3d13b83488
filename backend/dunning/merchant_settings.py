"""A merchant's dunning settings: the schedules per debtor kind, payment details for notices, and claim settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from backend.audit.services import record_event
from backend.dunning import claims, law
from backend.dunning.claims import DebtorKind
from backend.dunning.law import DUE_DATE_BASES, ClaimSettings
from backend.dunning.models import DunningScheduleRecord, DunningStageRecord
from backend.dunning.schedule import (
    KIND_RANK,
    Channel,
    DunningSchedule,
    ScheduleError,
    default_schedule,
    fee_limit,
    fee_rule,
)
from backend.errors import UserValueError
from backend.extensions import db
from backend.merchants.connectors import connector_for
from backend.merchants.models import Merchant, ShopConnection
from connectors.errors import ConnectorError

LEVELS = {kind: rank + 1 for kind, rank in KIND_RANK.items()}
NOTICE_LANGUAGES = ("auto", "de", "en")
# The plugin answers its status route at once; a shop that keeps the merchant waiting counts as without it.
PLUGIN_CHECK_TIMEOUT = (3.0, 10.0)


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


def woocommerce_shops_without_plugin(merchant_id: int) -> list[ShopConnection]:
    """Return the merchant's active WooCommerce connections where the ClaimBridge plugin does not answer.

    Every shop is asked now (its status route): the merchant may just have installed, or removed, the plugin.
    The connection's health learns the plugin's version at the next reconcile.
    """
    lacking = []
    connections = db.session.scalars(
        sa.select(ShopConnection)
        .filter_by(merchant_id=merchant_id, platform="woocommerce", status="active")
        .order_by(ShopConnection.id)
    )
    for connection in connections:
        connector = connector_for(connection, timeout=PLUGIN_CHECK_TIMEOUT, max_retries=0)
        try:
            connector.plugin_status()
        except ConnectorError:  # no route (plugin inactive), refused, or not answering: no plugin for us
            lacking.append(connection)
        finally:
            connector.close()
    return lacking


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
