"""Demo data for the quick start: a merchant, an API client with every scope, and sample receivables.

The receivables go through the real services: pushed like an accounting export would push them, dunned by
the dunning job (the demo merchant's schedule records notices instead of mailing them, channel ``none``) and
proposed for handover by the handover job. To show every stage the dunning job is replayed day by day over
the last weeks; that replay runs only while the demo merchant's receivables are the only ones in the
database, so it can never date notices back for a real merchant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from backend.auth.services import create_client
from backend.dates import berlin_today
from backend.dunning.evaluation import queue_due_notices
from backend.dunning.merchant_settings import get_schedules, replace_schedules, schedules_document
from backend.dunning.rate_store import base_rate_status
from backend.extensions import db
from backend.handovers.models import Handover
from backend.handovers.proposals import propose_handovers
from backend.handovers.readiness import handover_blockers
from backend.handovers.rules import update_rules
from backend.merchants.models import SCOPES, Merchant, ShopConnection
from backend.merchants.services import create_merchant
from backend.orders.schemas import OrderPushSchema
from backend.orders.services import push_order
from backend.receivables.models import Receivable

DEMO_MERCHANT_NAME = "Demo Shop GmbH"
DEMO_CREDITOR = {"street": "Hafenstraße", "house_number": "5", "postal_code": "20457", "city": "Hamburg"}
# (order number, buyer, article, total, invoiced how many days ago): current, reminded, past its final notice.
DEMO_ORDERS = (
    ("DEMO-1001", ("Jonas", "Becker"), "Espressotassen, 6 Stück", "49.90", 5),
    ("DEMO-1002", ("Lea", "Wagner"), "Handfilter Keramik", "34.50", 24),
    ("DEMO-1003", ("Anna", "Schmidt"), "Kaffeemühle Aurora", "119.00", 80),
)
PAYMENT_DAYS = 14


@dataclass(frozen=True)
class DemoResult:
    merchant_id: int
    client_id: str
    client_secret: str
    receivables: list[dict[str, Any]] = field(default_factory=list)
    today: date | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "merchant_id": self.merchant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "receivables": self.receivables,
        }

    def instructions(self, base_url: str) -> str:
        """Return copy-and-paste commands that exercise the demo."""
        lines = "\n".join(
            f"  {r['number']}: {r['state']}, {r['notices']} notice(s), handover {r['handover'] or '-'}"
            + (f" (blocked: {'; '.join(r['blockers'])})" if r["blockers"] and not r["handover"] else "")
            for r in self.receivables
        )
        proposed = [r for r in self.receivables if r["handover"] == "proposed"]
        approve = "".join(
            f"""
Approve the handover proposal of {r["number"]} (claim {r["claim"]}), as the merchant would in the console:
  claimbridge handovers approve {r["handover_id"]} --by "you@example.com"
  claimbridge handovers run"""
            for r in proposed
        )
        rate = base_rate_status(self.today)
        rate_note = "" if rate["status"] == "ok" else f"\nNote: {rate['message']}\n"
        return f"""Demo merchant {self.merchant_id} ready.
Receivables:
{lines}
  client_id:     {self.client_id}
  client_secret: {self.client_secret}
{approve}
{rate_note}
Try it (with the server running):
  TOKEN=$(curl -s -u '{self.client_id}:{self.client_secret}' -d grant_type=client_credentials \\
      {base_url}/oauth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/merchant
  curl -s -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/connections
  curl -s -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/handovers?status=proposed
  claimbridge handovers list --merchant {self.merchant_id}
  curl -s {base_url}/healthz
  open {base_url}/docs for the API reference
"""


def create_demo() -> DemoResult:
    """Create (or reuse) the demo merchant and issue a fresh client for it."""
    merchant = db.session.scalar(db.select(Merchant).filter_by(name=DEMO_MERCHANT_NAME))
    if merchant is None:
        merchant = create_merchant(DEMO_MERCHANT_NAME, actor="demo")
        db.session.add(
            ShopConnection(
                merchant_id=merchant.id,
                platform="api",
                name="Demo accounting export",
                shop_url="https://shop.example.com",
                status="active",
            )
        )
    new = create_client(merchant.id, list(SCOPES), name="demo", actor="demo")
    receivables = _demo_receivables(merchant, new.client.client_id)
    return DemoResult(
        merchant_id=merchant.id,
        client_id=new.client.client_id,
        client_secret=new.client_secret,
        receivables=receivables,
        today=berlin_today(),
    )


def _push_demo_orders(merchant: Merchant, client_id: str, today: date) -> None:
    for number, (first_name, last_name), article, total, days_ago in DEMO_ORDERS:
        invoiced = today - timedelta(days=days_ago)
        data = OrderPushSchema().load(
            {
                "number": number,
                "total": total,
                "currency": "EUR",
                "payment_method": "invoice",
                "ordered_at": datetime.combine(invoiced, time(10), tzinfo=UTC).isoformat(),
                "invoice_date": invoiced.isoformat(),
                "due_date": (invoiced + timedelta(days=PAYMENT_DAYS)).isoformat(),
                "buyer": {
                    "email": f"{first_name.lower()}.{last_name.lower()}@example.org",
                    "first_name": first_name,
                    "last_name": last_name,
                },
                "billing_address": {
                    "first_name": first_name,
                    "last_name": last_name,
                    "street": "Berger Straße",
                    "house_number": "12",
                    "postal_code": "60316",
                    "city": "Frankfurt am Main",
                    "country": "DE",
                },
                "items": [{"name": article, "quantity": 1, "unit_price": total, "total": total}],
            }
        )
        push_order(merchant.id, number, data, client_id=client_id, actor="demo")


def _replay_dunning(merchant: Merchant, today: date) -> None:
    """Run the dunning job for each past day, unless another merchant's receivables could be touched."""
    others = db.session.scalar(
        sa.select(sa.func.count()).select_from(Receivable).where(Receivable.merchant_id != merchant.id)
    )
    start = today - timedelta(days=max(days for *_, days in DEMO_ORDERS))
    days = [start + timedelta(days=n) for n in range((today - start).days + 1)] if not others else [today]
    db.session.commit()
    for day in days:
        queue_due_notices(day)


def _demo_receivables(merchant: Merchant, client_id: str) -> list[dict[str, Any]]:
    """Create the demo receivables once, dun and propose them, and describe where each one stands."""
    today = berlin_today()
    existing = db.session.scalar(sa.select(Receivable.id).filter_by(merchant_id=merchant.id).limit(1))
    if existing is None:
        document = schedules_document(get_schedules(merchant.id))
        for schedule in document.values():
            for stage in schedule["stages"]:
                stage["channel"] = "none"  # recorded, not mailed: the demo has no SMTP server
        replace_schedules(merchant.id, document, actor="demo")
        update_rules(
            merchant.id,
            {"minimum_amount": 0, "agency": "builtin", "creditor_address": DEMO_CREDITOR},
            actor="demo",
        )
        _push_demo_orders(merchant, client_id, today)
        _replay_dunning(merchant, today)
        propose_handovers(today)
    rows = db.session.scalars(
        sa.select(Receivable).filter_by(merchant_id=merchant.id).order_by(Receivable.id)
    ).all()
    return [_describe(receivable, today) for receivable in rows]


def _claim_summary(frozen: dict[str, Any]) -> str:
    """Return the frozen claim in one line: total, its parts and the default date."""
    parts = f"principal {frozen['principal']}, fees {frozen['dunning_fees']}, interest {frozen['interest']}"
    unpaid = frozen.get("interest_unpaid_from")
    if unpaid:
        parts += f", no interest claimed from {unpaid} (base rate not yet known)"
    return f"EUR {frozen['total']}: {parts}; in default since {frozen['default_start']}"


def _describe(receivable: Receivable, today: date) -> dict[str, Any]:
    handover = db.session.scalar(
        sa.select(Handover).filter_by(receivable_id=receivable.id).order_by(Handover.id.desc()).limit(1)
    )
    return {
        "id": receivable.id,
        "number": receivable.number,
        "state": receivable.state,
        "due_date": receivable.due_date.isoformat(),
        "notices": receivable.dunning_level,
        "handover": handover.status if handover else None,
        "handover_id": handover.id if handover else None,
        "claim": _claim_summary(handover.breakdown) if handover else None,
        "blockers": [] if handover else handover_blockers(receivable, today),
    }
