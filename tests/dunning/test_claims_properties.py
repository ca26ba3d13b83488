"""Property-based tests for the invariants of the claim calculation."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.dunning.base_rates import bundled_table
from backend.dunning.claims import (
    Channel,
    Claim,
    ClaimBreakdown,
    DebtorKind,
    DunningNotice,
    NoticeKind,
    accrue_interest,
    claim_breakdown,
)
from backend.receivables.bookings import Booking, BookingKind

RATES = bundled_table()
CENT = Decimal("0.01")
LAST_DAY = date(2026, 6, 30)

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50000.00"), places=2)
fees = st.sampled_from([Decimal("0.00"), Decimal("1.20"), Decimal("2.50"), Decimal("5.00")])


@st.composite
def claims(draw: st.DrawFn) -> Claim:
    invoice_date = draw(st.dates(date(2023, 1, 1), date(2025, 6, 30)))
    due_date = invoice_date + timedelta(days=draw(st.integers(0, 30)))
    principal = draw(amounts)
    notices = [
        DunningNotice(
            draw(st.sampled_from(list(NoticeKind))),
            due_date + timedelta(days=offset),
            draw(fees),
            channel=draw(st.sampled_from(list(Channel))),
        )
        for offset in draw(st.lists(st.integers(1, 120), max_size=3, unique=True))
    ]
    bookings = [
        Booking(
            draw(st.sampled_from(list(BookingKind))),
            due_date + timedelta(days=draw(st.integers(-10, 200))),
            draw(st.decimals(min_value=CENT, max_value=principal * Decimal("1.2"), places=2)),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    return Claim(
        principal=principal,
        invoice_date=invoice_date,
        due_date=due_date,
        debtor_kind=draw(st.sampled_from(list(DebtorKind))),
        invoice_has_default_notice=draw(st.booleans()),
        notices=notices,
        bookings=bookings,
    )


def as_of_for(claim: Claim, days: int) -> date:
    return min(claim.due_date + timedelta(days=days), LAST_DAY)


def last_event(claim: Claim) -> date:
    return max([claim.due_date, *(n.sent_on for n in claim.notices), *(b.booked_on for b in claim.bookings)])


def balance(result: ClaimBreakdown) -> Decimal:
    return result.balance


class TestClaimInvariants:
    @settings(deadline=None)
    @given(claims(), st.integers(0, 300))
    def test_total_is_the_sum_of_its_parts(self, claim: Claim, days: int) -> None:
        result = claim_breakdown(claim, as_of_for(claim, days), RATES)
        assert result.total_outstanding == (
            result.principal_outstanding + result.costs_outstanding + result.interest_outstanding
        )
        assert result.balance == (
            result.principal
            - result.credits
            + result.refunds
            + result.dunning_fees
            + result.flat_fee
            + result.interest
            - result.payments_total
        )
        assert result.interest == sum((s.amount for s in result.interest_segments), Decimal(0))

    @settings(deadline=None)
    @given(claims(), st.integers(0, 300))
    def test_nothing_is_ever_negative(self, claim: Claim, days: int) -> None:
        result = claim_breakdown(claim, as_of_for(claim, days), RATES)
        parts = [
            result.principal_outstanding,
            result.costs_outstanding,
            result.interest_outstanding,
            result.overpaid,
            result.dunning_fees,
            *(s.amount for s in result.interest_segments),
            *(line.charged for line in result.fees),
        ]
        assert all(part >= 0 for part in parts)

    @settings(deadline=None)
    @given(claims(), st.integers(0, 250), st.integers(0, 50))
    def test_interest_never_decreases_as_time_passes(self, claim: Claim, days: int, later: int) -> None:
        earlier = claim_breakdown(claim, as_of_for(claim, days), RATES)
        after = claim_breakdown(claim, as_of_for(claim, days + later), RATES)
        assert after.interest >= earlier.interest

    @settings(deadline=None)
    @given(claims(), st.integers(1, 60))
    def test_paying_the_outstanding_total_settles_the_claim(self, claim: Claim, gap: int) -> None:
        pay_on = min(last_event(claim) + timedelta(days=gap), LAST_DAY)
        if pay_on <= last_event(claim):
            return
        before = claim_breakdown(claim, pay_on - timedelta(days=1), RATES)
        if before.total_outstanding == 0:
            return
        paid = replace(
            claim, bookings=[*claim.bookings, Booking(BookingKind.PAYMENT, pay_on, before.total_outstanding)]
        )
        after = claim_breakdown(paid, pay_on, RATES)
        assert after.total_outstanding == 0
        assert after.overpaid == before.overpaid

    @settings(deadline=None)
    @given(claims(), st.integers(0, 200), st.integers(0, 100), amounts)
    def test_a_payment_lowers_the_balance_by_at_least_its_amount(
        self, claim: Claim, pay_after: int, days_after: int, amount: Decimal
    ) -> None:
        pay_on = as_of_for(claim, pay_after)
        as_of = min(pay_on + timedelta(days=days_after), LAST_DAY)
        paid = replace(claim, bookings=[*claim.bookings, Booking(BookingKind.PAYMENT, pay_on, amount)])
        without = claim_breakdown(claim, as_of, RATES)
        with_payment = claim_breakdown(paid, as_of, RATES)
        # Splitting one interest segment at the payment may shift rounding by one cent.
        assert without.balance - with_payment.balance >= amount - CENT

    @settings(deadline=None)
    @given(claims(), st.integers(0, 300))
    def test_a_business_owes_at_least_the_interest_of_a_consumer(self, claim: Claim, days: int) -> None:
        as_of = as_of_for(claim, days)
        # With the §286(3) notice on the invoice both kinds fall into default on the same day.
        noticed = replace(claim, invoice_has_default_notice=True)
        consumer = claim_breakdown(replace(noticed, debtor_kind=DebtorKind.CONSUMER), as_of, RATES)
        business = claim_breakdown(replace(noticed, debtor_kind=DebtorKind.BUSINESS), as_of, RATES)
        assert business.default_start == consumer.default_start
        assert business.interest >= consumer.interest


class TestInterestSplitting:
    @settings(deadline=None)
    @given(
        amounts,
        st.dates(date(2023, 1, 1), date(2026, 6, 29)),
        st.integers(1, 600),
        st.integers(0, 599),
        st.sampled_from(list(DebtorKind)),
    )
    def test_splitting_a_period_changes_interest_by_at_most_one_cent(
        self, principal: Decimal, first_day: date, length: int, split_at: int, kind: DebtorKind
    ) -> None:
        last_day = min(first_day + timedelta(days=length), LAST_DAY)
        middle = min(first_day + timedelta(days=split_at), last_day)
        whole = accrue_interest(principal, first_day, last_day, RATES, kind)
        parts = accrue_interest(principal, first_day, middle, RATES, kind) + accrue_interest(
            principal, middle + timedelta(days=1), last_day, RATES, kind
        )
        total_whole = sum((s.amount for s in whole), Decimal(0))
        total_parts = sum((s.amount for s in parts), Decimal(0))
        assert abs(total_whole - total_parts) <= CENT
        if middle == last_day or ((middle + timedelta(days=1)).day == 1 and middle.month in (6, 12)):
            # Split at a base-rate change (or not at all): the segments are identical.
            assert total_whole == total_parts
        assert sum(s.days for s in parts) == sum(s.days for s in whole)
