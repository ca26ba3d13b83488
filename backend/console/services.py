"""What the console pages show, gathered from the areas' own services; every query scoped to one merchant.

Decisions and settings go through the same service functions the JSON API calls; this module only reads
and assembles what a page needs, so neither templates nor scripts hold business rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from backend.dunning.claims import ClaimBreakdown
from backend.dunning.errors import MissingBaseRateError, UnsupportedClaimError
from backend.dunning.models import DunningNotice
from backend.dunning.services import base_rate_table, berlin_today, claim_on, get_dunning_settings, notices_of
from backend.extensions import db
from backend.handovers import services as handovers
from backend.handovers.models import Handover, HandoverPayment, HandoverStatusUpdate, ShopUpdate
from backend.merchants.models import ShopConnection
from backend.merchants.services import get_merchant
from backend.payments.models import PaymentMatch
from backend.receivables.models import Receivable


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
    proposals = handovers.proposal_count(merchant_id)
    if proposals:
        items.append(AttentionItem("proposals", proposals, "console.handovers", {"status": "proposed"}))
    reviews = _count(
        sa.select(sa.func.count())
        .select_from(PaymentMatch)
        .where(PaymentMatch.merchant_id == merchant_id, PaymentMatch.status == "review")
    )
    if reviews:
        items.append(AttentionItem("payment_reviews", reviews, "console.overview"))
    failing = _count(
        sa.select(sa.func.count())
        .select_from(ShopUpdate)
        .where(
            ShopUpdate.merchant_id == merchant_id,
            ShopUpdate.done_at.is_(None),
            ShopUpdate.last_error.is_not(None),
        )
    )
    if failing:
        items.append(AttentionItem("failed_shop_updates", failing, "console.overview"))
    covered_until = base_rate_table().covered_until
    if covered_until is None or covered_until < today:
        items.append(AttentionItem("missing_base_rate", 1, "console.overview"))
    if not get_dunning_settings(get_merchant(merchant_id)).has_payment_details:
        items.append(AttentionItem("missing_payment_details", 1, "console.overview"))
    rule = handovers.get_rules(merchant_id)
    if rule is None or not rule.creditor_address:
        items.append(AttentionItem("missing_creditor_address", 1, "console.overview"))
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
            buyer_name=handovers.buyer_name(handover.receivable),
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
    handover = handovers.get_handover(merchant_id, handover_id)
    receivable = handover.receivable
    claim, problem = None, None
    try:
        claim = claim_on(receivable, today)
    except (MissingBaseRateError, UnsupportedClaimError) as error:
        problem = str(error)
    # A proposal was checked when it was made; whether it would be proposed again matters only before that.
    blockers = [] if handover.status != "proposed" else handovers.handover_blockers(receivable, today)
    blockers = [reason for reason in blockers if not reason.startswith("a handover exists already")]
    return HandoverDetail(
        handover=handover,
        receivable=receivable,
        buyer_name=handovers.buyer_name(receivable),
        days_overdue=max(0, (today - receivable.due_date).days),
        notices=[notice for notice in notices_of(receivable.id) if notice.sent_on is not None],
        claim=claim,
        claim_problem=problem,
        blockers=blockers,
        status_history=handovers.status_history(handover.id),
        payments=handovers.payments_of(handover.id),
    )
