"""The built-in agency's inbox: per-merchant cases, staff events over the API and the CLI."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from backend.cases.models import AgencyCase
from backend.cli import main
from backend.extensions import db
from backend.handovers.proposals import propose_handovers
from backend.handovers.submission import submit_approved_handovers
from tests.factories import make_connection, overdue_receivable
from tests.handovers.conftest import set_rules


def _case_of(merchant: Any) -> AgencyCase:
    set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
    overdue_receivable(make_connection(merchant), f"order-{merchant.id}")
    propose_handovers()
    submit_approved_handovers()
    return db.session.scalar(sa.select(AgencyCase).filter_by(merchant_id=merchant.id))


class TestInbox:
    def test_staff_see_only_their_merchants_cases(
        self, client: Any, create_merchant: Any, auth_headers: Any
    ) -> None:
        first, second = create_merchant("Erster"), create_merchant("Zweiter")
        case = _case_of(first)
        _case_of(second)

        listing = client.get("/api/v1/agency/cases", headers=auth_headers(first, "cases:write")).get_json()
        foreign = client.post(
            f"/api/v1/agency/cases/{case.id}/events",
            json={"legal_stage": "foreclosure"},
            headers=auth_headers(second, "cases:write"),
        )

        assert [item["id"] for item in listing["items"]] == [case.id]
        assert foreign.status_code == 404

    def test_events_are_validated_with_json_pointers(
        self, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        case = _case_of(merchant)
        headers = auth_headers(merchant, "cases:write")

        empty = client.post(f"/api/v1/agency/cases/{case.id}/events", json={}, headers=headers)
        bad = client.post(
            f"/api/v1/agency/cases/{case.id}/events",
            json={"legal_stage": "prison", "payment": {"amount": "-1"}},
            headers=headers,
        )
        scope = client.post(
            f"/api/v1/agency/cases/{case.id}/events", json={"note": "x"}, headers=auth_headers(merchant)
        )

        assert empty.status_code == 422
        assert bad.status_code == 422 and {"/legal_stage", "/payment/amount"} <= set(
            bad.get_json()["details"]
        )
        assert scope.status_code == 403

    def test_a_payment_cannot_have_been_received_in_the_future(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        from backend.cases.services import payments_of

        case = _case_of(merchant)
        stage = case.legal_stage
        answer = client.post(
            f"/api/v1/agency/cases/{case.id}/events",
            json={"legal_stage": "foreclosure", "payment": {"amount": "10.00", "value_date": "9999-12-31"}},
            headers=auth_headers(merchant, "cases:write"),
        )
        typed = app.test_cli_runner().invoke(
            main, ["cases", "event", str(case.id), "--payment", "10.00", "--value-date", "2099-01-01"]
        )

        assert answer.status_code == 422 and "/payment/value_date" in answer.get_json()["details"]
        assert typed.exit_code == 1 and "after today" in typed.output
        db.session.expire_all()
        assert (payments_of(case), case.legal_stage) == ([], stage)

    def test_cli_lists_cases_and_books_a_payment_once(self, app: Any, merchant: Any) -> None:
        case = _case_of(merchant)
        runner = app.test_cli_runner()

        listed = runner.invoke(main, ["cases", "list"])
        args = ["cases", "event", str(case.id), "--legal-stage", "judicial_dunning", "--payment", "12.50"]
        booked = runner.invoke(main, [*args, "--reference", "bank-1"])
        again = runner.invoke(main, [*args, "--reference", "bank-1"])
        invalid = [
            runner.invoke(main, ["cases", "event", str(case.id), "--payment", amount])
            for amount in ("12.505", "1E+12")
        ]

        assert listed.exit_code == 0 and case.invoice_number in listed.output
        assert booked.exit_code == 0 and "judicial_dunning/in_progress/partially_paid" in booked.output
        assert again.exit_code == 0
        db.session.refresh(case)
        from backend.cases.services import payments_of

        assert [p.amount for p in payments_of(case)] == [Decimal("12.50")]
        assert [result.exit_code for result in invalid] == [2, 2]
