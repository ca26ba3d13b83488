"""What the console pages show, gathered from the areas' own services; every query scoped to one merchant.

Decisions and settings go through the same service functions the JSON API calls; this module only reads
and assembles what a page needs, so neither templates nor scripts hold business rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from marshmallow import ValidationError

from backend.console.forms import FormField, document_from_form, error_map, policy_fields, schedule_document
from backend.dates import berlin_today
from backend.dunning.claims import MAX_DUNNING_FEE, ClaimBreakdown
from backend.dunning.errors import MissingBaseRateError, UnsupportedClaimError
from backend.dunning.merchant_settings import (
    get_claim_settings,
    get_dunning_settings,
    get_schedules,
    replace_schedules,
    schedules_document,
    update_claim_settings,
    update_dunning_settings,
)
from backend.dunning.models import DunningNotice
from backend.dunning.notice_building import mail_identity
from backend.dunning.rate_store import base_rate_table
from backend.dunning.receivable_claims import claim_on, notices_of
from backend.dunning.schedule import MIN_FIRST_OFFSET_DAYS
from backend.dunning.schemas import ClaimSettingsSchema, DunningSettingsSchema
from backend.dunning.sending import configured_mailer
from backend.errors import NotFoundError, UserValueError, json_pointers
from backend.extensions import db
from backend.handovers.decisions import buyer_name, get_handover, payments_of, status_history
from backend.handovers.models import Handover, HandoverPayment, HandoverStatusUpdate
from backend.handovers.proposals import proposal_count
from backend.handovers.readiness import handover_blockers
from backend.handovers.rules import get_rules, rules_document, update_rules
from backend.handovers.schemas import HandoverRulesSchema
from backend.merchants import policy_store
from backend.merchants.models import ShopConnection
from backend.merchants.services import get_merchant
from backend.payments.models import BankTransactionRecord, PaymentMatch
from backend.receivables import services as receivable_services
from backend.receivables.models import Receivable
from backend.risk import services as risk_services
from backend.risk.messages import explain_reason, message_for
from backend.risk.models import RiskCheck
from backend.shop_outbox.services import parked_count


@dataclass(frozen=True)
class AttentionItem:
    """Something that needs the merchant: a text key, how many, and the console page that deals with it."""

    key: str
    count: int
    page: str
    params: dict[str, str] = field(default_factory=dict)


def _count(statement: sa.Select[Any]) -> int:
    return db.session.scalar(statement) or 0


def attention_items(merchant_id: int, today: date | None = None) -> list[AttentionItem]:
    """Return what needs the merchant now, most pressing first (empty when nothing does)."""
    today = today or berlin_today()
    items = []
    proposals = proposal_count(merchant_id)
    if proposals:
        items.append(AttentionItem("proposals", proposals, "console.handovers", {"status": "proposed"}))
    reviews = _count(
        sa.select(sa.func.count())
        .select_from(PaymentMatch)
        .where(PaymentMatch.merchant_id == merchant_id, PaymentMatch.status == "review")
    )
    if reviews:
        items.append(AttentionItem("payment_reviews", reviews, "console.payments"))
    failing = parked_count(merchant_id)
    if failing:
        items.append(
            AttentionItem("failed_shop_updates", failing, "console.overview", {"_anchor": "shop-updates"})
        )
    covered_until = base_rate_table().covered_until
    if covered_until is None or covered_until < today:
        items.append(AttentionItem("missing_base_rate", 1, "console.overview"))
    if not get_dunning_settings(get_merchant(merchant_id)).has_payment_details:
        items.append(
            AttentionItem("missing_payment_details", 1, "console.settings", {"_anchor": "section-creditor"})
        )
    rule = get_rules(merchant_id)
    if rule is None or not rule.creditor_address:
        items.append(
            AttentionItem("missing_creditor_address", 1, "console.settings", {"_anchor": "section-creditor"})
        )
    if not connections_of(merchant_id):
        items.append(AttentionItem("no_connection", 1, "console.overview"))
    return items


def connections_of(merchant_id: int) -> list[ShopConnection]:
    """Return the merchant's shop connections, oldest first."""
    return list(
        db.session.scalars(
            sa.select(ShopConnection)
            .where(ShopConnection.merchant_id == merchant_id)
            .order_by(ShopConnection.id)
        )
    )


@dataclass(frozen=True)
class HandoverListRow:
    """One handover as the list shows it."""

    handover: Handover
    receivable: Receivable
    buyer_name: str
    days_overdue: int


def handover_rows(handover_list: list[Handover], today: date | None = None) -> list[HandoverListRow]:
    """Return list rows (with buyer and days overdue) for handovers already scoped to one merchant."""
    today = today or berlin_today()
    return [
        HandoverListRow(
            handover=handover,
            receivable=handover.receivable,
            buyer_name=buyer_name(handover.receivable),
            days_overdue=max(0, (today - handover.receivable.due_date).days),
        )
        for handover in handover_list
    ]


def handover_ids_of_orders(merchant_id: int, connection_id: int, order_ids: list[str]) -> list[int]:
    """Return the handovers of the given shop orders (the Shopware action button's selection)."""
    return list(
        db.session.scalars(
            sa.select(Handover.id)
            .join(Receivable, Receivable.id == Handover.receivable_id)
            .where(
                Handover.merchant_id == merchant_id,
                Receivable.connection_id == connection_id,
                Receivable.external_id.in_(order_ids),
            )
            .order_by(Handover.id.desc())
        )
    )


@dataclass(frozen=True)
class HandoverDetail:
    """Everything needed to decide on one handover."""

    handover: Handover
    receivable: Receivable
    buyer_name: str
    days_overdue: int
    notices: list[DunningNotice]
    claim: ClaimBreakdown | None
    claim_problem: str | None
    blockers: list[str]
    status_history: list[HandoverStatusUpdate]
    payments: list[HandoverPayment]


def handover_detail(merchant_id: int, handover_id: int, today: date | None = None) -> HandoverDetail:
    """Return one of the merchant's handovers with its notices, today's claim and what blocks it."""
    today = today or berlin_today()
    handover = get_handover(merchant_id, handover_id)
    receivable = handover.receivable
    claim, problem = _claim_today(receivable, today)
    # A proposal was checked when it was made; whether it would be proposed again matters only before that.
    blockers = [] if handover.status != "proposed" else handover_blockers(receivable, today)
    blockers = [reason for reason in blockers if not reason.startswith("a handover exists already")]
    return HandoverDetail(
        handover=handover,
        receivable=receivable,
        buyer_name=buyer_name(receivable),
        days_overdue=max(0, (today - receivable.due_date).days),
        notices=[notice for notice in notices_of(receivable.id) if notice.sent_on is not None],
        claim=claim,
        claim_problem=problem,
        blockers=blockers,
        status_history=status_history(handover.id),
        payments=payments_of(handover.id),
    )


@dataclass(frozen=True)
class ReceivableDetail:
    """One receivable with its claim today, notices, history and handover, for the receivable page."""

    receivable: Receivable
    buyer_name: str
    days_overdue: int
    notices: list[DunningNotice]
    claim: ClaimBreakdown | None
    claim_problem: str | None
    events: list[Any]
    handover: Handover | None


def _claim_today(receivable: Receivable, today: date) -> tuple[ClaimBreakdown | None, str | None]:
    try:
        return claim_on(receivable, today), None
    except (MissingBaseRateError, UnsupportedClaimError) as error:
        return None, str(error)


def receivable_detail(merchant_id: int, receivable_id: int, today: date | None = None) -> ReceivableDetail:
    """Return one of the merchant's receivables with everything its page shows."""
    today = today or berlin_today()
    receivable = receivable_services.get_receivable(merchant_id, receivable_id)
    claim, problem = _claim_today(receivable, today)
    handover = db.session.scalar(
        sa.select(Handover).filter_by(receivable_id=receivable.id).order_by(Handover.id.desc()).limit(1)
    )
    return ReceivableDetail(
        receivable=receivable,
        buyer_name=buyer_name(receivable),
        days_overdue=max(0, (today - receivable.due_date).days),
        notices=notices_of(receivable.id),
        claim=claim,
        claim_problem=problem,
        events=list(reversed(receivable_services.events_of(receivable.id))),
        handover=handover,
    )


@dataclass(frozen=True)
class RiskDecisionView:
    """A stored checkout decision in words: its rule, and each reason's observation and advice, weightiest first."""

    check: RiskCheck
    rule_message: str
    reasons: list[dict[str, Any]]


def risk_decision(merchant_id: int, check_id: str | None, language: str) -> RiskDecisionView | None:
    """Return the merchant's stored risk check of an order in ``language``, None when it has none stored."""
    if not check_id:
        return None
    try:
        check = risk_services.get_risk_check(merchant_id, check_id)
    except NotFoundError:
        return None
    reasons = [explain_reason(reason, language) for reason in check.reasons]
    return RiskDecisionView(
        check=check,
        rule_message=message_for(check.rule, language),
        reasons=sorted(reasons, key=lambda reason: -int(reason.get("weight") or 0)),
    )


@dataclass(frozen=True)
class PaymentMatchRow:
    """A proposed or applied allocation of a transfer to a receivable, with both sides."""

    match: PaymentMatch
    transaction: BankTransactionRecord
    receivable: Receivable


def payment_match_rows(
    merchant_id: int, statuses: tuple[str, ...], *, latest: int | None = None
) -> list[PaymentMatchRow]:
    """Return the merchant's matches of the given statuses (oldest first, or only the latest N, newest first)."""
    query = (
        sa.select(PaymentMatch, BankTransactionRecord, Receivable)
        .join(BankTransactionRecord, BankTransactionRecord.id == PaymentMatch.transaction_id)
        .join(Receivable, Receivable.id == PaymentMatch.receivable_id)
        .where(PaymentMatch.merchant_id == merchant_id, PaymentMatch.status.in_(statuses))
    )
    if latest is not None:
        query = query.order_by(PaymentMatch.id.desc()).limit(latest)
    else:
        query = query.order_by(PaymentMatch.id)
    return [
        PaymentMatchRow(match, transaction, receivable)
        for match, transaction, receivable in db.session.execute(query)
    ]


# -- settings ------------------------------------------------------------------------------------------------


class SettingsRejected(Exception):
    """A settings section was refused: its field errors by JSON pointer, and the values that were posted."""

    def __init__(self, errors: dict[str, list[str]], posted: dict[str, Any]) -> None:
        super().__init__(f"{len(errors)} invalid settings fields")
        self.errors = errors
        self.posted = posted


@dataclass(frozen=True)
class SettingsView:
    """What the settings page shows: each section's current (or just posted) values and the legal limits."""

    policy_fields: list[FormField]
    bureau_account_configured: bool
    schedules: dict[str, Any]
    fee_limit: Decimal
    first_notice_min_days: int
    rules: dict[str, Any]
    creditor: dict[str, Any]
    claims: dict[str, Any]
    mail_from: str | None
    mail_configured: bool


def _rules_values(merchant_id: int) -> dict[str, Any]:
    document = rules_document(merchant_id)
    document.pop("agency_api_key_set")
    return document


def _creditor_values(merchant_id: int) -> dict[str, Any]:
    settings = get_dunning_settings(get_merchant(merchant_id))
    return {
        **settings.to_dict(),
        "creditor_address": _rules_values(merchant_id)["creditor_address"] or {},
    }


def settings_view(merchant_id: int, posted: Mapping[str, dict[str, Any]]) -> SettingsView:
    """Return the settings page's content; a section that was just refused shows what was posted."""
    policy = policy_store.policy_document(merchant_id)
    shown_policy = posted.get("policy") or policy
    fields = [
        FormField(field.pointer, field.kind, _at(shown_policy, field.pointer, field.value), field.choices)
        for field in policy_fields(policy)
    ]
    sender = mail_identity(configured_mailer())
    rules = rules_document(merchant_id)
    return SettingsView(
        policy_fields=fields,
        bureau_account_configured=bool(policy.get("bureau_account", {}).get("configured")),
        schedules=posted.get("dunning") or schedules_document(get_schedules(merchant_id)),
        fee_limit=MAX_DUNNING_FEE,
        first_notice_min_days=MIN_FIRST_OFFSET_DAYS,
        rules={**rules, **posted.get("handover", {})},
        creditor=posted.get("creditor") or _creditor_values(merchant_id),
        claims=posted.get("claims") or get_claim_settings(get_merchant(merchant_id)).to_dict(),
        mail_from=sender.address if sender else None,
        mail_configured=sender is not None,
    )


def _at(document: Mapping[str, Any], pointer: str, default: Any) -> Any:
    value: Any = document
    for part in pointer.strip("/").split("/"):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


def _optional(value: str | None) -> str | None:
    return (value or "").strip() or None


def save_settings(
    merchant_id: int, section: str, form: Mapping[str, str], *, actor: str, check_only: bool = False
) -> dict[str, Any]:
    """Hand one settings section to its area's service; raise SettingsRejected with the field errors.

    ``check_only`` validates the risk policy without storing it (its service caches what it stores); the
    other sections are checked by saving, and the caller rolls the transaction back.
    """
    if section == "policy":
        document = document_from_form(policy_fields(policy_store.policy_document(merchant_id)), form)
        if check_only:
            _call(lambda: policy_store.validated_policy(document), document)
        else:
            _call(lambda: policy_store.update_policy(merchant_id, document, actor=actor), document)
        return document
    if section == "dunning":
        document = schedule_document(form, schedules_document(get_schedules(merchant_id)))
        _call(lambda: replace_schedules(merchant_id, document, actor=actor), document)
        return document
    if section == "handover":
        values = {
            **_rules_values(merchant_id),
            "minimum_amount": (form.get("minimum_amount") or "").strip().replace(",", ".") or "0",
            "auto_approve_consumer_up_to": _optional(form.get("auto_approve_consumer_up_to")),
            "auto_approve_business_up_to": _optional(form.get("auto_approve_business_up_to")),
            "agency": form.get("agency", ""),
            "agency_base_url": _optional(form.get("agency_base_url")),
            "agency_api_key": _optional(form.get("agency_api_key")),
        }
        shown = {key: value for key, value in values.items() if key != "agency_api_key"}
        _call(
            lambda: update_rules(merchant_id, HandoverRulesSchema().load(values), actor=actor),
            shown,
        )
        return shown
    if section == "claims":
        return _save_claims(merchant_id, form, actor=actor)
    return _save_creditor(merchant_id, form, actor=actor)


def _save_claims(merchant_id: int, form: Mapping[str, str], *, actor: str) -> dict[str, Any]:
    terms = (form.get("payment_terms_days") or "").strip()
    values: dict[str, Any] = {
        "payment_terms_days": int(terms)
        if terms.isascii() and terms.isdecimal() and len(terms) < 6
        else terms,
        "due_date_from": form.get("due_date_from", ""),
        "land": form.get("land") or None,
        "sells_to_businesses_only": form.get("sells_to_businesses_only") == "1",
        "invoices_carry_default_notice": form.get("invoices_carry_default_notice") == "1",
    }
    merchant = get_merchant(merchant_id)
    _call(lambda: update_claim_settings(merchant, ClaimSettingsSchema().load(values), actor=actor), values)
    return values


def _save_creditor(merchant_id: int, form: Mapping[str, str], *, actor: str) -> dict[str, Any]:
    address = {
        name: (form.get(f"creditor_address/{name}") or "").strip()
        for name in ("street", "house_number", "postal_code", "city", "country")
    }
    address["house_number"] = address["house_number"] or None
    address["country"] = address["country"].upper() or "DE"
    notices = {
        "payment_details": {
            "account_holder": (form.get("account_holder") or "").strip(),
            "iban": (form.get("iban") or "").strip(),
            "bic": _optional(form.get("bic")),
        },
        "notice_language": form.get("notice_language", "auto"),
        "reply_to": _optional(form.get("reply_to")),
    }
    posted = {**notices, "creditor_address": address}
    errors: dict[str, list[str]] = {}
    merchant = get_merchant(merchant_id)
    for run in (
        lambda: update_dunning_settings(merchant, DunningSettingsSchema().load(notices), actor=actor),
        lambda: update_rules(
            merchant_id,
            HandoverRulesSchema().load({**_rules_values(merchant_id), "creditor_address": address}),
            actor=actor,
        ),
    ):
        try:
            _call(run, posted)
        except SettingsRejected as rejected:
            errors.update(rejected.errors)
    if errors:
        raise SettingsRejected(errors, posted)
    return posted


def _call(run: Any, posted: dict[str, Any]) -> None:
    try:
        run()
    except ValidationError as error:
        raise SettingsRejected(json_pointers(error.messages), posted) from None
    except UserValueError as error:
        raise SettingsRejected(error_map(error.details) or {"/": [error.message]}, posted) from None
