"""The claim frozen on a handover and the §13a RDG case built from it for the agency."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from backend.dates import BERLIN, berlin_date
from backend.dunning.claims import ClaimBreakdown
from backend.dunning.models import DunningNotice
from backend.dunning.receivable_claims import sent_notices
from backend.extensions import db
from backend.handovers.documents import CaseDocument
from backend.handovers.models import Handover
from backend.handovers.rules import creditor_postal_address, debtor_postal_address, get_rules
from backend.handovers.statement import STAGE_LABELS
from backend.merchants.models import Merchant
from connectors.agencies.base import (
    CaseRejected,
    Charge,
    ChargeType,
    Claim,
    Creditor,
    Debtor,
    DebtorKind,
    DebtorPayment,
    HandoverCase,
    LineItem,
)
from connectors.agencies.base import DunningNotice as CaseNotice

# §288(5) sentence 3 BGB: the flat fee counts against the costs of pursuing the claim, so the agency must not
# charge collection costs on top of it without crediting it (no double recovery).
FLAT_FEE_REASON = (
    "Verzugspauschale nach § 288 Abs. 5 BGB; sie ist auf die Kosten der Rechtsverfolgung (Inkassokosten) "
    "anzurechnen (§ 288 Abs. 5 Satz 3 BGB)"
)


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


def build_case(handover: Handover) -> HandoverCase:
    """Return everything the agency needs, from the receivable and the frozen claim."""
    receivable = handover.receivable
    merchant = db.session.get(Merchant, handover.merchant_id)
    rule = get_rules(handover.merchant_id)
    creditor_address = creditor_postal_address(rule)
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
        address=debtor_postal_address(receivable),
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


def submission_sha256(case: HandoverCase, attached: CaseDocument) -> str:
    """Return the SHA-256 of what went to the agency: the case data and the attached document's bytes."""
    data = dataclasses.asdict(dataclasses.replace(case, document=None))
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode())
    digest.update(hashlib.sha256(attached.document.content).digest())
    return digest.hexdigest()
