"""From an order past its final notice to a case at the agency, and back into the shop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from backend.cases.models import AgencyCase, AgencyCasePayment
from backend.dates import berlin_today
from backend.extensions import db, utcnow
from backend.handovers.mirroring import poll_submitted_handovers
from backend.handovers.models import Handover, HandoverPayment, HandoverStatusUpdate
from backend.handovers.proposals import propose_handovers
from backend.handovers.submission import submit_approved_handovers
from backend.receivables.models import Receivable
from tests.factories import make_connection, overdue_receivable
from tests.handovers.conftest import drain_shop_updates, set_rules

WRITE = "handovers:read handovers:write"


def _only_handover() -> Handover:
    (handover,) = db.session.scalars(sa.select(Handover)).all()
    return handover


def _make_due() -> None:
    db.session.execute(sa.update(Handover).values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC)))
    db.session.commit()


class TestProposals:
    def test_order_past_final_notice_becomes_a_proposal_with_frozen_claim(
        self, app: Any, merchant: Any
    ) -> None:
        set_rules(merchant)
        receivable = overdue_receivable(make_connection(merchant), "o-1")

        assert propose_handovers().startswith("1 proposed")
        assert propose_handovers().startswith("0 proposed")

        handover = _only_handover()
        assert (handover.receivable_id, handover.status) == (receivable.id, "proposed")
        frozen = handover.breakdown
        assert frozen["principal"] == "119.00"
        assert frozen["dunning_fees"] == "5.00"
        assert Decimal(frozen["interest"]) > 0
        assert Decimal(frozen["total"]) == Decimal("124.00") + Decimal(frozen["interest"])
        assert handover.total == Decimal(frozen["total"])
        assert frozen["default_start"] is not None and frozen["limitation_date"]

    def test_receivable_without_final_notice_is_not_proposed_and_says_why(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        set_rules(merchant)
        receivable = overdue_receivable(
            make_connection(merchant), "o-2", notices=(("reminder", 7, 5, "0.00"),)
        )

        propose_handovers()

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Handover)) == 0
        response = client.get(
            f"/api/v1/receivables/{receivable.id}/handover-readiness", headers=auth_headers(merchant)
        )
        assert response.status_code == 200
        body = response.get_json()
        assert body["ready"] is False
        assert "the final notice has not been sent" in body["blockers"]

    def test_balance_at_or_below_minimum_and_disputed_claims_are_not_proposed(
        self, app: Any, merchant: Any
    ) -> None:
        set_rules(merchant, minimum_amount=Decimal("200.00"))
        connection = make_connection(merchant)
        overdue_receivable(connection, "small", total="119.00")
        disputed = overdue_receivable(connection, "disputed", total="500.00")
        disputed.disputed_at = datetime.now(UTC)
        disputed.state = "disputed"
        db.session.commit()

        propose_handovers()

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Handover)) == 0

    def test_auto_approval_rule_approves_small_consumer_claims(self, app: Any, merchant: Any) -> None:
        set_rules(merchant, auto_approve_consumer_up_to=Decimal("150.00"))
        connection = make_connection(merchant)
        overdue_receivable(connection, "small", total="119.00")
        overdue_receivable(connection, "large", total="900.00")

        propose_handovers()

        statuses = dict(
            db.session.execute(
                sa.select(Receivable.external_id, Handover.status).join(Handover.receivable)
            ).all()
        )
        assert statuses == {"small": "approved", "large": "proposed"}
        handover = db.session.scalar(sa.select(Handover).filter_by(status="approved"))
        assert handover.decided_by == "auto-approval rule"


class TestLawfulHandover:
    def test_a_time_barred_claim_is_not_proposed(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        # Invoiced about four years ago: due in 2022, barred after 31 December 2025 (§§195, 199 BGB).
        set_rules(merchant)
        receivable = overdue_receivable(make_connection(merchant), "old", days_ago=1500)
        assert receivable.due_date.year <= 2022

        propose_handovers()

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Handover)) == 0
        body = client.get(
            f"/api/v1/receivables/{receivable.id}/handover-readiness", headers=auth_headers(merchant)
        ).get_json()
        assert any("time-barred" in blocker for blocker in body["blockers"])

    def test_a_payment_after_approval_sends_the_claim_back_for_a_new_approval(
        self, app: Any, merchant: Any
    ) -> None:
        set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
        receivable = overdue_receivable(make_connection(merchant), "paid-some")
        propose_handovers()
        handover = _only_handover()
        assert handover.status == "approved" and handover.breakdown["payments"] == "0.00"
        receivable.paid_amount = Decimal("20.00")  # the shop reported a part payment meanwhile
        db.session.commit()

        assert submit_approved_handovers() == "1 held back"

        handover = _only_handover()
        assert handover.status == "proposed" and handover.decided_by is None
        assert handover.breakdown["payments"] == "20.00"
        assert "payments or credits changed" in handover.decision_note
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AgencyCase)) == 0

    def test_a_claim_paid_in_full_after_approval_is_withdrawn(self, app: Any, merchant: Any) -> None:
        set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
        receivable = overdue_receivable(make_connection(merchant), "paid-all")
        propose_handovers()
        receivable.paid_amount = receivable.total_amount
        receivable.state = "paid"
        db.session.commit()

        submit_approved_handovers()

        handover = _only_handover()
        assert (handover.status, handover.decided_by) == ("withdrawn", "last balance check")
        assert "receivable is paid" in handover.decision_note
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AgencyCase)) == 0

    def test_the_case_credits_the_flat_fee_against_collection_costs_and_records_proof(
        self, app: Any, merchant: Any
    ) -> None:
        set_rules(merchant, auto_approve_business_up_to=Decimal("1000.00"))
        receivable = overdue_receivable(make_connection(merchant), "b2b", vat_id="DE136695976")
        assert receivable.debtor_kind == "business"
        propose_handovers()
        submit_approved_handovers()

        (case,) = db.session.scalars(sa.select(AgencyCase)).all()
        charges = {c["type"]: c for c in case.data["claim"]["charges"]}
        assert charges["flat_fee"]["amount"] == "40.00"
        assert "anzurechnen (§ 288 Abs. 5 Satz 3 BGB)" in charges["flat_fee"]["reason"]
        # The €40 covers the letter fees (§288(5) sentence 3), so no separate fee line is charged.
        assert "dunning_fee" not in charges
        handover = _only_handover()
        assert handover.status == "submitted" and len(handover.content_sha256) == 64
        assert (handover.case_id, handover.agency, handover.submitted_at) != (None, None, None)


class TestBuiltinAgency:
    def test_approved_case_reaches_the_inbox_once_and_its_status_reaches_shopware(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any, shopware: Any, shopware_order: Any
    ) -> None:
        fake, _ = shopware
        set_rules(merchant)
        receivable = shopware_order("119.00")
        propose_handovers()
        drain_shop_updates()
        assert any("handover proposal" in n["message"] for n in fake.notifications)
        handover = _only_handover()

        response = client.post(
            f"/api/v1/handovers/{handover.id}/approve",
            json={"by": "inhaber@shop.example", "note": "ok"},
            headers=auth_headers(merchant, WRITE),
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["decided_by"].endswith("(inhaber@shop.example)")

        submit_approved_handovers()
        submit_approved_handovers()

        (case,) = db.session.scalars(sa.select(AgencyCase)).all()
        assert case.your_reference == handover.idempotency_key
        data = case.data
        assert data["creditor"]["name"] == merchant.name
        assert data["creditor"]["address"]["city"] == "Hamburg"
        assert (
            data["debtor"]["last_name"] == "Schmidt" and data["debtor"]["address"]["postal_code"] == "60316"
        )
        assert data["debtor"]["email"] == "anna.schmidt@example.org"
        assert data["claim"]["invoice_number"] == receivable.number
        assert data["claim"]["principal"] == "119.00"
        assert {c["type"] for c in data["claim"]["charges"]} == {"dunning_fee", "interest"}
        assert all(
            c["rate"] and c["period_start"] for c in data["claim"]["charges"] if c["type"] == "interest"
        )
        assert [n["stage"] for n in data["dunning_history"]] == ["reminder", "dunning", "final_notice"]
        assert data["claim"]["items"][0]["description"] == "Kaffeemühle Aurora"
        db.session.refresh(receivable)
        assert receivable.state == "in_collection" and receivable.dunning_stopped_at is not None

        staff = auth_headers(merchant, "cases:write")
        response = client.post(
            f"/api/v1/agency/cases/{case.id}/events",
            json={"legal_stage": "judicial_dunning", "payment": {"amount": "50.00", "reference": "pay-1"}},
            headers=staff,
        )
        assert response.status_code == 200, response.get_json()
        poll_submitted_handovers()
        poll_submitted_handovers()
        drain_shop_updates()

        fields = fake.order(receivable.external_id)["customFields"]
        assert fields["claimbridge_case_status"] == "judicial_dunning"
        assert fields["claimbridge_case_id"] == f"CB-{case.id}"
        assert fields["claimbridge_handed_over_at"]
        assert fields["claimbridge_paid_amount"] == "50.00"
        assert fake.payment_state(receivable.external_id) == "paid_partially"
        db.session.refresh(receivable)
        assert receivable.paid_amount == Decimal("50.00") and receivable.state == "in_collection"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(HandoverPayment)) == 1

        detail = client.get(f"/api/v1/handovers/{handover.id}", headers=auth_headers(merchant)).get_json()
        assert detail["legal_stage"] == "judicial_dunning"
        assert [p["amount"] for p in detail["payments"]] == ["50.00"]
        assert detail["status_history"][-1]["payment_state"] == "partially_paid"

    def test_payment_the_shop_reports_after_handover_is_reported_to_the_agency_once(
        self, app: Any, merchant: Any
    ) -> None:
        set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
        receivable = overdue_receivable(make_connection(merchant), "o-3")
        propose_handovers()
        submit_approved_handovers()
        receivable.paid_amount += Decimal("20.00")  # what ingestion does when the shop reports a payment
        db.session.commit()

        poll_submitted_handovers()
        poll_submitted_handovers()

        (payment,) = db.session.scalars(sa.select(AgencyCasePayment)).all()
        assert (payment.source, payment.amount) == ("direct", Decimal("20.00"))
        db.session.refresh(receivable)
        assert receivable.state == "in_collection" and receivable.dunning_stopped_at is not None

    def test_a_shop_payment_dated_after_today_is_reported_as_of_today(self, app: Any, merchant: Any) -> None:
        # A mistyped year must neither stall the case's updates nor let interest run on to that day.
        set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
        receivable = overdue_receivable(make_connection(merchant), "o-5")
        propose_handovers()
        submit_approved_handovers()
        receivable.paid_amount += Decimal("20.00")
        receivable.paid_at = utcnow() + timedelta(days=400)
        db.session.commit()

        poll_submitted_handovers()

        (payment,) = db.session.scalars(sa.select(AgencyCasePayment)).all()
        assert (payment.amount, payment.value_date) == (Decimal("20.00"), berlin_today())

    def test_full_payment_at_the_agency_pays_the_receivable_and_closing_closes_the_handover(
        self, app: Any, merchant: Any
    ) -> None:
        set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
        receivable = overdue_receivable(make_connection(merchant), "o-4")
        propose_handovers()
        submit_approved_handovers()
        handover = _only_handover()
        case = db.session.scalar(sa.select(AgencyCase))
        from backend.cases.services import record_case_event

        record_case_event(case, {"payment": {"amount": handover.total, "reference": "all"}}, actor="staff")
        db.session.commit()
        poll_submitted_handovers()
        db.session.refresh(receivable)
        assert receivable.state == "paid"

        record_case_event(case, {"processing_state": "ended", "legal_stage": "ended"}, actor="staff")
        db.session.commit()
        poll_submitted_handovers()
        db.session.refresh(handover)
        assert handover.status == "closed"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(HandoverStatusUpdate)) >= 2


class TestHttpAgency:
    def test_paywise_gets_one_claim_despite_500s_and_its_progress_reaches_woocommerce(
        self, app: Any, merchant: Any, paywise: Any, woocommerce: Any
    ) -> None:
        fake_agency, agency_server = paywise
        shop, shop_server = woocommerce
        set_rules(
            merchant,
            agency="http",
            agency_base_url=agency_server.url,
            api_key=fake_agency.api_key,
            auto_approve_consumer_up_to=Decimal("1000.00"),
        )
        connection = make_connection(
            merchant,
            "woocommerce",
            shop_server.url,
            consumer_key=shop.consumer_key,
            consumer_secret=shop.consumer_secret,
        )
        order_id = shop.add_order(total="119.00")
        receivable = overdue_receivable(connection, str(order_id))
        propose_handovers()
        handover = _only_handover()

        agency_server.fail_next(12, path="/v1")
        assert "retrying" in submit_approved_handovers()
        db.session.refresh(handover)
        assert (handover.status, handover.last_error is not None) == ("submitting", True)
        for _ in range(10):
            _make_due()
            if "submitted" in submit_approved_handovers():
                break
        db.session.refresh(handover)
        assert handover.status == "submitted"
        reference = handover.idempotency_key
        assert fake_agency.claim_count(reference) == 1
        claim = fake_agency.claim(reference)
        assert claim["main_claim_amount"] == {"value": "119.00", "currency": "EUR"}
        assert claim["document_reference"] == receivable.number
        assert {c["type"] for c in claim["additional_charges"]} == {"reminder_fee", "interest"}
        assert [e["title"] for e in claim["events"]] == ["reminder", "dunning", "final_notice"]
        assert fake_agency.debtor(reference)["person"]["last_name"] == "Schmidt"

        fake_agency.accept(reference)
        fake_agency.advance(
            reference, legal_stage="judicial_dunning", payment="30.00", title="Mahnbescheid beantragt"
        )
        agency_server.fail_next(2, path="/v1")
        poll_submitted_handovers()
        poll_submitted_handovers()
        drain_shop_updates()

        meta = shop.case_fields(order_id)
        assert meta["claimbridge_case_status"] == "judicial_dunning"
        assert meta["claimbridge_case_id"] == fake_agency.mandate(reference)["reference_number"]
        assert meta["claimbridge_paid_amount"] == "30.00"
        assert meta["claimbridge_payment_state"] == "partially_paid"
        assert any("judicial_dunning" in note["note"] for note in shop.notes[order_id])
        db.session.refresh(receivable)
        assert receivable.paid_amount == Decimal("30.00")

    def test_a_case_the_agency_refuses_comes_back_with_the_reason(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        from tests.fakes.agency import FakePaywise

        fake_agency = FakePaywise(minimum_amount=Decimal("500.00"))
        with fake_agency.serve() as server:
            set_rules(merchant, agency="http", agency_base_url=server.url, api_key=fake_agency.api_key)
            overdue_receivable(make_connection(merchant), "o-5")
            propose_handovers()
            handover = _only_handover()
            client.post(
                f"/api/v1/handovers/{handover.id}/approve",
                json={"by": "x"},
                headers=auth_headers(merchant, WRITE),
            )
            submit_approved_handovers()

        body = client.get(
            "/api/v1/handovers?status=rejected_by_agency", headers=auth_headers(merchant)
        ).get_json()
        (item,) = body["items"]
        assert "main_claim_amount" in item["rejection_details"]["field_errors"]
        assert item["rejection_reason"]
