"""The contract every CollectionAgency fulfils: the built-in agency and the paywise adapter pass the same tests.

Each implementation comes with a driver that plays the agency's staff (take the case on, collect a payment)
and reads what the agency booked, the way the operator API and paywise's own API show it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backend.cases import services as builtin_cases
from backend.cases.agency import BuiltinAgency
from connectors.agencies.base import (
    CaseRef,
    CaseRejected,
    CollectionAgency,
    DebtorPayment,
    HandoverCase,
    LegalStage,
    PaymentState,
    ProcessingState,
    SubmissionState,
)
from tests.fakes.agency import FakePaywise


class BuiltinDriver:
    """The built-in agency: staff work the case through the operator services."""

    def __init__(self, merchant_id: int) -> None:
        self.agency: CollectionAgency = BuiltinAgency(merchant_id)
        self.merchant_id = merchant_id

    def _case(self, ref: CaseRef) -> Any:
        return builtin_cases.get_case(self.merchant_id, int(ref.case_id))

    def accept(self, ref: CaseRef) -> None:
        """The built-in agency takes every filed case on at once."""

    def collect(self, ref: CaseRef, amount: str, value_date: date) -> None:
        payment = {"amount": Decimal(amount), "value_date": value_date, "reference": f"bank-{amount}"}
        builtin_cases.record_case_event(self._case(ref), {"payment": payment}, actor="staff")

    def booked_direct_payments(self, ref: CaseRef, key: str) -> list[tuple[Decimal, date]]:
        payments = builtin_cases.payments_of(self._case(ref), "direct")
        return [(p.amount, p.value_date) for p in payments if p.reference == key]


class PaywiseDriver:
    """The paywise adapter against the paywise double: staff act in the double."""

    def __init__(self, agency: CollectionAgency, fake: FakePaywise) -> None:
        self.agency = agency
        self.fake = fake

    def accept(self, ref: CaseRef) -> None:
        self.fake.accept(ref.your_reference)

    def collect(self, ref: CaseRef, amount: str, value_date: date) -> None:
        self.fake.advance(ref.your_reference, payment=amount, value_date=value_date)

    def booked_direct_payments(self, ref: CaseRef, key: str) -> list[tuple[Decimal, date]]:
        return [
            (Decimal(p["amount"]["value"]), date.fromisoformat(p["value_date"]))
            for p in self.fake.payments_for(ref.your_reference)
            if p["your_reference"] == key
        ]


class AgencyContract:
    """What the handover worker relies on; each subclass supplies a ``driver`` for one implementation."""

    def test_find_case_sees_the_case_only_once_submitted(self, driver, case: HandoverCase) -> None:
        assert driver.agency.find_case(case.your_reference) is None
        ref = driver.agency.submit_case(case)
        assert driver.agency.find_case(case.your_reference) == ref
        assert ref.your_reference == case.your_reference

    def test_submitting_twice_files_one_case(self, driver, case: HandoverCase) -> None:
        assert driver.agency.submit_case(case) == driver.agency.submit_case(case)

    def test_a_case_without_a_debtor_address_is_rejected(self, driver, case: HandoverCase) -> None:
        homeless = replace(case, debtor=replace(case.debtor, address=None))
        with pytest.raises(CaseRejected) as caught:
            driver.agency.submit_case(homeless)
        assert caught.value.field_errors
        assert driver.agency.find_case(case.your_reference) is None

    def test_an_accepted_case_owes_the_claim_less_what_was_paid_before(
        self, driver, case: HandoverCase
    ) -> None:
        ref = driver.agency.submit_case(case)
        driver.accept(ref)
        status = driver.agency.get_status(ref)
        assert status.submission is SubmissionState.ACCEPTED
        assert (status.legal_stage, status.processing_state, status.payment_state) == (
            LegalStage.EXTRAJUDICIAL,
            ProcessingState.IN_PROGRESS,
            PaymentState.UNPAID,
        )
        assert status.balance is not None
        assert (status.balance.principal, status.balance.interest, status.balance.costs) == (
            Decimal("100.00"),
            Decimal("0.81"),
            Decimal("2.50"),
        )
        assert status.balance.total == case.claim.total == Decimal("103.31")
        assert status.collected_payments == ()
        assert status.agency_reference
        assert not status.closed

    def test_collected_payments_come_back_with_their_value_date_costs_first(
        self, driver, case: HandoverCase
    ) -> None:
        ref = driver.agency.submit_case(case)
        driver.accept(ref)
        driver.collect(ref, "50.00", date(2025, 4, 2))
        status = driver.agency.get_status(ref)
        assert status.payment_state is PaymentState.PARTIALLY_PAID
        assert [(p.amount, p.value_date) for p in status.collected_payments] == [
            (Decimal("50.00"), date(2025, 4, 2))
        ]
        assert status.collected_payments[0].id
        assert status.collected_total == Decimal("50.00")
        # §367 BGB: costs, then interest, then principal.
        assert status.balance is not None
        assert (status.balance.costs, status.balance.interest, status.balance.principal) == (
            Decimal("0.00"),
            Decimal("0.00"),
            Decimal("53.31"),
        )

    def test_a_payment_to_the_merchant_is_booked_once_and_is_not_collected(
        self, driver, case: HandoverCase
    ) -> None:
        ref = driver.agency.submit_case(case)
        driver.accept(ref)
        payment = DebtorPayment("shop-pay-2", Decimal("30.00"), date(2025, 4, 1))
        driver.agency.report_direct_payment(ref, payment)
        driver.agency.report_direct_payment(ref, payment)
        assert driver.booked_direct_payments(ref, "shop-pay-2") == [(Decimal("30.00"), date(2025, 4, 1))]
        status = driver.agency.get_status(ref)
        assert status.payment_state is PaymentState.PARTIALLY_PAID
        assert status.collected_payments == ()

    def test_withdrawing_twice_cancels_the_case_once(self, driver, case: HandoverCase) -> None:
        ref = driver.agency.submit_case(case)
        driver.accept(ref)
        driver.agency.withdraw(ref, "Kunde hat Ware zurückgesandt")
        driver.agency.withdraw(ref, "Kunde hat Ware zurückgesandt")
        status = driver.agency.get_status(ref)
        assert status.processing_state is ProcessingState.CANCELED_BY_CLIENT
        assert status.closed


class TestBuiltinAgency(AgencyContract):
    @pytest.fixture
    def driver(self, merchant: Any) -> BuiltinDriver:
        return BuiltinDriver(merchant.id)


class TestPaywiseAgency(AgencyContract):
    @pytest.fixture
    def driver(self, agency: CollectionAgency, fake: FakePaywise) -> PaywiseDriver:
        return PaywiseDriver(agency, fake)
