"""The receivable ledger: every money movement dated and sourced, and the claim built from those bookings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from backend.cases import services as inbox
from backend.cases.models import AgencyCase
from backend.dunning.services import berlin_today
from backend.extensions import db
from backend.handovers.models import Handover
from backend.handovers.services import propose_handovers, submit_approved_handovers
from tests.handovers.conftest import _current_base_rate, overdue_receivable, set_rules, shop_connection

# The autouse fixture adds the 2026-07-01 base rate the bundled table lacks.
__all__ = ["_current_base_rate"]

WRITE = "handovers:read handovers:write"


class TestAgencyPaymentDating:
    def test_a_payment_the_agency_collected_is_booked_on_its_value_date(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
        overdue_receivable(shop_connection(merchant), "agency-dated", total="119.00")
        propose_handovers()
        submit_approved_handovers()
        handover = db.session.scalar(sa.select(Handover))
        assert handover.status == "submitted", handover.last_error
        collected_on = berlin_today() - timedelta(days=20)
        inbox.record_case_event(
            db.session.scalar(sa.select(AgencyCase)),
            {"payment": {"amount": Decimal("40.00"), "reference": "p1", "value_date": collected_on}},
            actor="staff",
        )
        db.session.commit()
        headers = auth_headers(merchant, WRITE)
        withdrawn = client.post(
            f"/api/v1/handovers/{handover.id}/withdraw", json={"by": "inhaber"}, headers=headers
        )
        assert withdrawn.status_code == 200, withdrawn.get_json()

        claim = client.get(f"/api/v1/receivables/{handover.receivable_id}/claim", headers=headers)

        assert claim.status_code == 200, claim.get_json()
        payments = [(p["booked_on"], p["amount"]) for p in claim.get_json()["payments"]]
        assert payments == [(collected_on.isoformat(), "40.00")]
