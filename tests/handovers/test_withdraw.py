"""Withdrawing a submitted case: the agency is told, the receivable leaves in_collection, refusals surface."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.cases import services as inbox
from backend.cases.models import AgencyCase
from backend.extensions import db
from backend.handovers.models import Handover
from backend.handovers.proposals import propose_handovers
from backend.handovers.submission import submit_approved_handovers
from tests.factories import make_connection, overdue_receivable
from tests.handovers.conftest import set_rules

WRITE = "handovers:read handovers:write"
AUTO = {"auto_approve_consumer_up_to": Decimal("1000.00")}


def _submitted(merchant: Any) -> Handover:
    overdue_receivable(make_connection(merchant), "w-1", total="119.00")
    propose_handovers()
    submit_approved_handovers()
    (handover,) = db.session.scalars(sa.select(Handover)).all()
    assert handover.status == "submitted", handover.last_error
    return handover


def _withdraw(
    client: Any, headers: dict[str, str], handover: Handover, note: str = "Kunde zahlt direkt"
) -> Any:
    return client.post(
        f"/api/v1/handovers/{handover.id}/withdraw", json={"by": "inhaber", "note": note}, headers=headers
    )


class TestBuiltinWithdrawal:
    def test_withdrawal_stops_the_case_and_reopens_the_receivable_once(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        set_rules(merchant, **AUTO)
        handover = _submitted(merchant)
        headers = auth_headers(merchant, WRITE)

        first = _withdraw(client, headers, handover)
        again = _withdraw(client, headers, handover)

        assert first.status_code == 200, first.get_json()
        body = first.get_json()
        assert body["status"] == "withdrawn" and body["withdrawn_by"].endswith("(inhaber)")
        assert again.status_code == 200 and again.get_json()["withdrawn_at"] == body["withdrawn_at"]
        case = db.session.scalar(sa.select(AgencyCase))
        assert case.processing_state == "canceled_by_client"
        receivable = db.session.get(Handover, handover.id).receivable
        assert receivable.state == "open"
        assert receivable.dunning_stopped_at is not None  # dunning does not restart by itself
        events = db.session.scalars(sa.select(AuditEvent).filter_by(action="handover.withdrawn")).all()
        assert len(events) == 1
        propose_handovers()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Handover)) == 1

    def test_payments_the_agency_collected_before_the_withdrawal_are_kept(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        set_rules(merchant, **AUTO)
        handover = _submitted(merchant)
        case = db.session.scalar(sa.select(AgencyCase))
        inbox.record_case_event(
            case, {"payment": {"amount": Decimal("40.00"), "reference": "p1"}}, actor="staff"
        )
        db.session.commit()

        response = _withdraw(client, auth_headers(merchant, WRITE), handover)

        assert response.status_code == 200
        assert response.get_json()["collected_total"] == "40.00"
        receivable = db.session.get(Handover, handover.id).receivable
        assert (receivable.state, receivable.paid_amount) == ("partially_paid", Decimal("40.00"))


class TestPaywiseWithdrawal:
    def test_a_released_claim_is_withdrawn_once(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any, paywise: Any
    ) -> None:
        fake, server = paywise
        set_rules(merchant, agency="http", agency_base_url=server.url, api_key=fake.api_key, **AUTO)
        handover = _submitted(merchant)
        fake.accept(handover.idempotency_key)
        headers = auth_headers(merchant, WRITE)

        first = _withdraw(client, headers, handover)
        second = _withdraw(client, headers, handover)

        assert first.status_code == second.status_code == 200
        assert fake.claim(handover.idempotency_key)["withdrawal"]["reason"] == "Kunde zahlt direkt"
        assert len([r for r in server.requests if r.path.endswith("/withdrawal/")]) == 1
        assert fake.mandate(handover.idempotency_key)["processing_state"] == "canceled_by_client"

    def test_a_refusal_by_the_agency_is_surfaced_and_changes_nothing(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any, paywise: Any
    ) -> None:
        fake, server = paywise
        set_rules(merchant, agency="http", agency_base_url=server.url, api_key=fake.api_key, **AUTO)
        handover = _submitted(merchant)
        fake.accept(handover.idempotency_key)
        refusal = {"detail": "Mandate is in judicial proceedings and cannot be withdrawn."}
        server.fail_next(1, status=400, body=refusal, path=f"/v1/claims/{handover.case_id}/withdrawal/")

        response = _withdraw(client, auth_headers(merchant, WRITE), handover)

        assert response.status_code == 409
        body = response.get_json()
        assert body["error"] == "agency_refused"
        assert "judicial proceedings" in body["message"]
        db.session.expire_all()
        handover = db.session.get(Handover, handover.id)
        assert (handover.status, handover.receivable.state) == ("submitted", "in_collection")
        assert fake.claim(handover.idempotency_key)["withdrawal"] is None

    def test_an_unreachable_agency_is_a_502_to_retry(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any, paywise: Any
    ) -> None:
        fake, server = paywise
        set_rules(merchant, agency="http", agency_base_url=server.url, api_key=fake.api_key, **AUTO)
        handover = _submitted(merchant)
        server.fail_next(10, status=503, path="/v1")

        response = _withdraw(client, auth_headers(merchant, WRITE), handover)

        assert (response.status_code, response.get_json()["error"]) == (502, "agency_unavailable")
        server.clear_faults()
        assert _withdraw(client, auth_headers(merchant, WRITE), handover).get_json()["status"] == "withdrawn"
