from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests

from connectors import errors
from connectors.agencies.base import (
    CaseRejected,
    DebtorKind,
    DebtorPayment,
    HandoverCase,
    LegalStage,
    PaymentState,
    ProcessingState,
    SubmissionState,
)
from connectors.agencies.paywise import PaywiseAgency, claim_payload, debtor_payload, rejection_from
from tests.connectors.agencies.conftest import INVOICE_PDF, make_case
from tests.connectors.conftest import SleepRecorder
from tests.fakes.agency import FakePaywise
from tests.fakes.server import FakeServer

WORST_CASE = {
    "duplicate_references": "accept"
}  # the agency stores duplicates: only our look-ups prevent them


class WorkerKilled(Exception):
    """Stands in for a worker dying mid-submission."""


class TestPayloads:
    def test_total_is_principal_plus_charges_minus_payments(self, case: HandoverCase) -> None:
        payload = claim_payload(case, "debtor-1")
        assert payload["main_claim_amount"] == {"value": "119.00", "currency": "EUR"}
        assert payload["additional_charges_amount"] == {"value": "3.31", "currency": "EUR"}
        assert payload["total_claim_amount"] == {"value": "103.31", "currency": "EUR"}

    def test_business_debtor_is_sent_as_organization(self, case: HandoverCase) -> None:
        business = replace(case.debtor, kind=DebtorKind.BUSINESS, organization="Café Beispiel OHG")
        payload = debtor_payload(replace(case, debtor=business))
        assert payload["acting_as"] == "business"
        assert payload["organization"] == {"name": "Café Beispiel OHG"}
        assert "person" not in payload

    def test_rejection_names_every_field(self) -> None:
        error = errors.ClientError(
            "400", status=400, body={"addresses": ["This list may not be empty."], "debtor": ["Missing."]}
        )
        rejection = rejection_from(error)
        assert rejection.reason == "addresses: This list may not be empty.; debtor: Missing."
        assert rejection.field_errors["addresses"] == ["This list may not be empty."]


class TestSubmission:
    def test_agency_receives_the_complete_section_13a_data(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase
    ) -> None:
        ref = agency.submit_case(case)

        claim = fake.claim(case.your_reference)
        assert (ref.agency, ref.case_id, ref.your_reference) == ("paywise", claim["id"], case.your_reference)
        assert claim["submission_state"] == "released"
        assert claim["document_reference"] == "RE-2025-0042"
        assert claim["subject_matter"] == "Lieferung Kaffeemühle Modell Aurora"
        assert (claim["occurence_date"], claim["document_date"], claim["due_date"]) == (
            "2025-01-03",
            "2025-01-06",
            "2025-01-20",
        )
        assert (claim["reminder_date"], claim["delay_date"]) == ("2025-02-03", "2025-02-06")
        assert claim["claim_disputed"] is False
        fee, interest = claim["additional_charges"]
        assert (fee["type"], fee["amount"]["value"], fee["subject_matter"]) == (
            "reminder_fee",
            "2.50",
            "Mahngebühr 2. Mahnung",
        )
        assert interest["type"] == "interest"
        assert "7.27 % p.a. vom 06.02.2025 bis 10.03.2025" in interest["subject_matter"]
        assert {"type": "interest:rate_percent_per_year", "value": "7.27"} in interest["metadata"]
        assert [(p["your_reference"], p["amount"]["value"]) for p in claim["payments"]] == [
            ("shop-pay-1", "19.00")
        ]
        assert claim["items"] == [
            {
                "description": "Kaffeemühle Aurora",
                "quantity": 1,
                "unit": "pcs",
                "amount": {"value": "119.00", "currency": "EUR"},
            }
        ]
        assert [(e["title"], e["occurence"]) for e in claim["events"]] == [
            ("Zahlungserinnerung", "2025-01-27T08:00:00Z"),
            ("1. Mahnung", "2025-02-03T08:00:00Z"),
            ("2. Mahnung", "2025-02-17T08:00:00Z"),
        ]
        assert {"type": "creditor:name", "value": "Röstwerk Beispiel GmbH"} in claim["metadata"]
        assert fake.document_contents(case.your_reference) == [
            ("RE-2025-0042.pdf", "application/pdf", INVOICE_PDF)
        ]

        debtor = fake.debtor(case.your_reference)
        assert claim["debtor"] == debtor["id"]
        assert debtor["acting_as"] == "consumer"
        assert debtor["person"] == {
            "salutation": "Frau",
            "first_name": "Anna",
            "last_name": "Schmidt",
            "birth_date": "1985-04-12",
        }
        assert debtor["addresses"] == [
            {"street": "Berger Str. 12", "zip": "60316", "city": "Frankfurt am Main", "country": "DE"}
        ]
        assert debtor["communication_channels"] == [
            {"type": "email", "value": "anna.schmidt@example.org"},
            {"type": "phone", "value": "+49 69 1234567"},
        ]

    def test_find_case_sees_the_submitted_case(self, agency: PaywiseAgency, case: HandoverCase) -> None:
        assert agency.find_case(case.your_reference) is None
        ref = agency.submit_case(case)
        assert agency.find_case(case.your_reference) == ref

    @pytest.mark.parametrize("fake_options", [WORST_CASE])
    def test_submitting_twice_files_one_claim(
        self, make_agency: Callable[..., PaywiseAgency], fake: FakePaywise, case: HandoverCase
    ) -> None:
        first = make_agency().submit_case(case)
        second = make_agency().submit_case(case)
        assert first == second
        assert fake.claim_count(case.your_reference) == 1
        assert fake.debtor_count(case.your_reference) == 1
        assert len(fake.document_contents(case.your_reference)) == 1

    @pytest.mark.parametrize("fake_options", [WORST_CASE])
    def test_crash_after_remote_create_is_resumed_not_duplicated(
        self,
        make_agency: Callable[..., PaywiseAgency],
        fake: FakePaywise,
        case: HandoverCase,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        dying = make_agency()

        def die(claim: dict[str, Any]) -> dict[str, Any]:
            raise WorkerKilled

        monkeypatch.setattr(dying, "_release", die)
        with pytest.raises(WorkerKilled):
            dying.submit_case(case)
        assert fake.claim(case.your_reference)["submission_state"] == "created"

        ref = make_agency().submit_case(case)

        assert fake.claim_count(case.your_reference) == 1
        assert fake.claim(case.your_reference)["submission_state"] == "released"
        assert ref.case_id == fake.claim(case.your_reference)["id"]
        assert len(fake.document_contents(case.your_reference)) == 1

    @pytest.mark.parametrize("fake_options", [WORST_CASE])
    @pytest.mark.parametrize("path", ["/v1/debtors/", "/v1/claims/"])
    def test_lost_create_response_is_looked_up_not_resent(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase, path: str
    ) -> None:
        fake.lose_next_response(path)
        agency.submit_case(case)
        assert fake.claim_count(case.your_reference) == 1
        assert fake.debtor_count(case.your_reference) == 1
        assert fake.claim(case.your_reference)["submission_state"] == "released"

    def test_conflict_on_create_adopts_the_existing_claim(
        self,
        make_agency: Callable[..., PaywiseAgency],
        fake: FakePaywise,
        case: HandoverCase,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        make_agency().submit_case(case)
        racing = make_agency()
        real_find = racing._find
        blind_calls = {"claims": 2}  # the racer's look-ups ran before the other worker's create landed

        def stale_find(collection: str, your_reference: str) -> dict[str, Any] | None:
            if blind_calls.get(collection, 0) > 0:
                blind_calls[collection] -= 1
                return None
            return real_find(collection, your_reference)

        monkeypatch.setattr(racing, "_find", stale_find)
        ref = racing.submit_case(case)
        assert fake.claim_count(case.your_reference) == 1
        assert ref.case_id == fake.claim(case.your_reference)["id"]

    def test_released_claim_is_not_touched_again(
        self, agency: PaywiseAgency, server: FakeServer, case: HandoverCase
    ) -> None:
        agency.submit_case(case)
        server.clear_requests()
        agency.submit_case(case)
        assert [r.method for r in server.requests] == ["GET"]


class TestRejection:
    @pytest.mark.parametrize(
        "fake_options",
        [
            {"minimum_amount": Decimal("150.00")},
            {"minimum_amount": Decimal("150.00"), "validation_status": 422},
        ],
    )
    def test_claim_below_minimum_is_rejected_with_reason(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase
    ) -> None:
        with pytest.raises(CaseRejected) as caught:
            agency.submit_case(case)
        assert "below 150.00 EUR" in caught.value.reason
        assert list(caught.value.field_errors) == ["main_claim_amount"]
        assert caught.value.status == fake.validation_status
        assert fake.claim_count(case.your_reference) == 0

    def test_missing_address_is_rejected(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase
    ) -> None:
        homeless = replace(case, debtor=replace(case.debtor, address=None))
        with pytest.raises(CaseRejected) as caught:
            agency.submit_case(homeless)
        assert caught.value.field_errors == {"addresses": ["This list may not be empty."]}
        assert fake.claim_count(case.your_reference) == 0

    def test_non_euro_claim_is_refused_before_any_call(
        self, agency: PaywiseAgency, server: FakeServer, case: HandoverCase
    ) -> None:
        with pytest.raises(CaseRejected, match="EUR"):
            agency.submit_case(replace(case, claim=replace(case.claim, currency="CHF")))
        assert server.requests == []


class TestStatus:
    def test_acceptance_is_asynchronous(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase
    ) -> None:
        ref = agency.submit_case(case)
        submitted = agency.get_status(ref)
        assert (submitted.submission, submitted.legal_stage, submitted.processing_state) == (
            SubmissionState.SUBMITTED,
            None,
            None,
        )

        fake.review(case.your_reference)
        assert agency.get_status(ref).submission is SubmissionState.IN_REVIEW

        fake.accept(case.your_reference)
        accepted = agency.get_status(ref)
        assert accepted.submission is SubmissionState.ACCEPTED
        assert accepted.legal_stage is LegalStage.EXTRAJUDICIAL
        assert accepted.processing_state is ProcessingState.IN_PROGRESS
        assert accepted.payment_state is PaymentState.UNPAID
        assert accepted.agency_reference == fake.mandate(case.your_reference)["reference_number"]
        assert accepted.balance is not None
        assert (accepted.balance.principal, accepted.balance.interest, accepted.balance.costs) == (
            Decimal("100.00"),
            Decimal("0.81"),
            Decimal("2.50"),
        )
        assert accepted.balance.total == Decimal("103.31")
        assert not accepted.closed

    def test_asynchronous_rejection_carries_the_reason(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase
    ) -> None:
        ref = agency.submit_case(case)
        fake.review(case.your_reference)
        fake.reject(case.your_reference, "Forderung bestritten laut Schuldnerauskunft")

        status = agency.get_status(ref)
        assert status.submission is SubmissionState.REJECTED
        assert status.rejection_reason == "Forderung bestritten laut Schuldnerauskunft"
        assert status.closed
        with pytest.raises(CaseRejected, match="bestritten"):
            agency.submit_case(case)

    def test_stage_changes_and_collected_payments_are_polled(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase
    ) -> None:
        ref = agency.submit_case(case)
        fake.accept(case.your_reference)

        fake.advance(case.your_reference, payment="50.00", value_date=date(2025, 4, 2))
        fake.advance(case.your_reference, legal_stage="judicial_dunning", title="Mahnbescheid beantragt")
        status = agency.get_status(ref)
        assert status.legal_stage is LegalStage.JUDICIAL_DUNNING
        assert status.last_update == "Mahnbescheid beantragt"
        assert status.payment_state is PaymentState.PARTIALLY_PAID
        assert [(p.amount, p.value_date) for p in status.collected_payments] == [
            (Decimal("50.00"), date(2025, 4, 2))
        ]
        assert status.collected_payments[0].id
        # §367 BGB: costs, then interest, then principal.
        assert status.balance is not None
        assert (status.balance.costs, status.balance.interest, status.balance.principal) == (
            Decimal("0.00"),
            Decimal("0.00"),
            Decimal("53.31"),
        )

        fake.advance(case.your_reference, payment="53.31", legal_stage="ended", processing_state="ended")
        final = agency.get_status(ref)
        assert final.payment_state is PaymentState.FULLY_PAID
        assert final.collected_total == Decimal("103.31")
        assert final.closed


class TestDirectPayments:
    @pytest.mark.parametrize("fake_options", [WORST_CASE, {}])
    def test_reported_once_even_when_sent_twice(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase
    ) -> None:
        ref = agency.submit_case(case)
        fake.accept(case.your_reference)
        payment = DebtorPayment("shop-pay-2", Decimal("30.00"), date(2025, 4, 1))

        agency.report_direct_payment(ref, payment)
        agency.report_direct_payment(ref, payment)

        reported = [p for p in fake.payments_for(case.your_reference) if p["your_reference"] == "shop-pay-2"]
        assert [(p["amount"]["value"], p["value_date"]) for p in reported] == [("30.00", "2025-04-01")]
        status = agency.get_status(ref)
        assert status.payment_state is PaymentState.PARTIALLY_PAID
        assert status.collected_payments == ()  # paid to the merchant, not collected by the agency

    @pytest.mark.parametrize("fake_options", [WORST_CASE])
    def test_lost_reply_does_not_book_twice(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase
    ) -> None:
        ref = agency.submit_case(case)
        fake.lose_next_response("/v1/payments/")
        agency.report_direct_payment(ref, DebtorPayment("shop-pay-3", Decimal("10.00"), date(2025, 4, 1)))
        assert [p["your_reference"] for p in fake.payments_for(case.your_reference)].count("shop-pay-3") == 1


class TestWithdrawal:
    def test_withdrawing_an_accepted_case_cancels_it_once(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase
    ) -> None:
        ref = agency.submit_case(case)
        fake.accept(case.your_reference)

        agency.withdraw(ref, "Kunde hat Ware zurückgesandt")
        agency.withdraw(ref, "Kunde hat Ware zurückgesandt")

        status = agency.get_status(ref)
        assert status.processing_state is ProcessingState.CANCELED_BY_CLIENT
        assert status.closed
        assert fake.claim(case.your_reference)["withdrawal"]["reason"] == "Kunde hat Ware zurückgesandt"
        titles = [u["title"] for u in fake.mandate(case.your_reference)["status_updates"]]
        assert titles.count("Auftrag durch Mandant zurückgezogen") == 1

    def test_withdrawing_during_review_cancels_it(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase
    ) -> None:
        ref = agency.submit_case(case)
        fake.review(case.your_reference)
        agency.withdraw(ref, "Zahlung eingegangen")
        status = agency.get_status(ref)
        assert (status.submission, status.processing_state) == (
            SubmissionState.IN_REVIEW,
            ProcessingState.CANCELED_BY_CLIENT,
        )

    def test_withdrawing_an_unreleased_draft_deletes_it(
        self, agency: PaywiseAgency, fake: FakePaywise, case: HandoverCase, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def die(claim: dict[str, Any]) -> dict[str, Any]:
            raise WorkerKilled

        monkeypatch.setattr(agency, "_release", die)
        with pytest.raises(WorkerKilled):
            agency.submit_case(case)
        draft = agency.find_case(case.your_reference)
        assert draft is not None

        agency.withdraw(draft, "Händler hat abgebrochen")
        agency.withdraw(draft, "Händler hat abgebrochen")
        assert agency.find_case(case.your_reference) is None
        assert fake.claim_count(case.your_reference) == 0


class TestFailures:
    def test_a_period_of_500s_is_retried_until_success(
        self,
        agency: PaywiseAgency,
        fake: FakePaywise,
        server: FakeServer,
        sleeps: SleepRecorder,
        case: HandoverCase,
    ) -> None:
        server.fail_next(4, status=500)
        ref = agency.submit_case(case)
        assert len(sleeps.calls) == 4
        assert fake.claim_count(case.your_reference) == 1
        assert ref == agency.find_case(case.your_reference)
        server.fail_next(3, status=503, path="/v1/claims/")
        assert agency.get_status(ref).submission is SubmissionState.SUBMITTED

    @pytest.mark.parametrize("fake_options", [WORST_CASE])
    def test_500s_on_every_create_are_retried_without_duplicates(
        self, agency: PaywiseAgency, fake: FakePaywise, sleeps: SleepRecorder, case: HandoverCase
    ) -> None:
        for path in ("/v1/debtors/", "/v1/claims/", "/v1/payments/"):
            fake.fail_next_posts(2, path=path)
        ref = agency.submit_case(case)
        agency.report_direct_payment(ref, DebtorPayment("shop-pay-4", Decimal("5.00"), date(2025, 4, 1)))
        assert len(sleeps.calls) == 6
        assert fake.debtor_count(case.your_reference) == 1
        assert fake.claim_count(case.your_reference) == 1
        assert [p["your_reference"] for p in fake.payments_for(case.your_reference)].count("shop-pay-4") == 1

    def test_gives_up_with_a_server_error_when_500s_persist(
        self,
        make_agency: Callable[..., PaywiseAgency],
        fake: FakePaywise,
        server: FakeServer,
        case: HandoverCase,
    ) -> None:
        server.fail_next(50, status=500)
        with pytest.raises(errors.ServerError):
            make_agency(max_retries=2).submit_case(case)
        server.clear_faults()
        assert fake.claim_count(case.your_reference) == 0

    def test_wrong_api_key_is_an_auth_error(
        self, make_agency: Callable[..., PaywiseAgency], fake: FakePaywise, case: HandoverCase
    ) -> None:
        wrong = make_agency(api_key="pw_test_revoked")
        with pytest.raises(errors.AuthError) as caught:
            wrong.submit_case(case)
        assert caught.value.status == 401
        with pytest.raises(errors.AuthError):
            wrong.verify()
        assert fake.claim_count(case.your_reference) == 0

    def test_api_key_travels_as_bearer_token(
        self, agency: PaywiseAgency, server: FakeServer, fake: FakePaywise
    ) -> None:
        agency.verify()
        assert server.requests[-1].headers["Authorization"] == f"Bearer {fake.api_key}"


class TestFakePaywise:
    """The fake behaves as paywise documents it, so the client tests above mean something."""

    def test_requests_without_token_are_refused(self, server: FakeServer) -> None:
        response = requests.get(f"{server.url}/v1/claims/", timeout=5)
        assert response.status_code == 401

    def test_released_claim_cannot_change(
        self, agency: PaywiseAgency, fake: FakePaywise, server: FakeServer, case: HandoverCase
    ) -> None:
        ref = agency.submit_case(case)
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        patch = requests.patch(
            f"{server.url}/v1/claims/{ref.case_id}/",
            json={"subject_matter": "anders"},
            headers=headers,
            timeout=5,
        )
        upload = requests.post(
            f"{server.url}/v1/claims/{ref.case_id}/documents/",
            files={"file": ("extra.pdf", b"%PDF", "application/pdf")},
            headers=headers,
            timeout=5,
        )
        assert (patch.status_code, upload.status_code) == (409, 409)
        assert fake.claim(case.your_reference)["subject_matter"] == case.claim.subject_matter

    def test_duplicate_reference_conflicts(
        self, agency: PaywiseAgency, fake: FakePaywise, server: FakeServer
    ) -> None:
        case = make_case("cb-dup")
        agency.submit_case(case)
        body = dict(fake.claim_payloads[-1])
        response = requests.post(
            f"{server.url}/v1/claims/",
            json=body,
            headers={"Authorization": f"Bearer {fake.api_key}"},
            timeout=5,
        )
        assert response.status_code == 409
        assert fake.claim_count("cb-dup") == 1

    def test_total_must_add_up(self, agency: PaywiseAgency, fake: FakePaywise, server: FakeServer) -> None:
        agency.submit_case(make_case("cb-sum"))
        body = {
            **fake.claim_payloads[-1],
            "your_reference": "cb-sum-2",
            "total_claim_amount": {"value": "1.00", "currency": "EUR"},
        }
        response = requests.post(
            f"{server.url}/v1/claims/",
            json=body,
            headers={"Authorization": f"Bearer {fake.api_key}"},
            timeout=5,
        )
        assert response.status_code == 400
        assert "total_claim_amount" in response.json()
