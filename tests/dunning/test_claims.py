"""Worked examples for the claim calculation, each checked against a hand calculation in its comment.

Interest = principal x (base rate + points) / 100 x days / 365 per segment, rounded half-up to cents.
Base rates: 2024-01-01 3.62 %, 2024-07-01 3.37 %.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backend.dunning.base_rates import BaseRateTable, UnknownBaseRate, bundled_table
from backend.dunning.claims import (
    Channel,
    Claim,
    ClaimBreakdown,
    DebtorKind,
    DunningNotice,
    FeeReason,
    NoticeKind,
    accrue_interest,
    claim_breakdown,
    default_start,
)
from backend.dunning.law import next_working_day
from backend.receivables.bookings import Booking, BookingKind

RATES = bundled_table()
D = Decimal


def make_claim(**overrides: object) -> Claim:
    """Invoice of 22 May 2024 over €1,000.00, due Wednesday 5 June 2024; first Mahnung sent 13 June."""
    values: dict[str, object] = {
        "principal": D("1000.00"),
        "invoice_date": date(2024, 5, 22),
        "due_date": date(2024, 6, 5),
        "debtor_kind": DebtorKind.CONSUMER,
        "notices": [DunningNotice(NoticeKind.REMINDER, date(2024, 6, 13))],
    }
    values.update(overrides)
    return Claim(**values)  # type: ignore[arg-type]


def breakdown(claim: Claim, as_of: date = date(2024, 8, 15)) -> ClaimBreakdown:
    return claim_breakdown(claim, as_of, RATES)


class TestDefaultStart:
    def test_starts_the_day_after_the_mahnung_is_received(self) -> None:
        # Reminder sent Thu 13 June (after the due date, so legally a Mahnung), received Fri 14 June
        # (sent + 1 day), default from Sat 15 June (§187(1): the day of receipt does not count).
        assert default_start(make_claim(), as_of=date(2024, 8, 15)) == date(2024, 6, 15)

    def test_is_none_before_the_default_has_begun(self) -> None:
        assert default_start(make_claim(), as_of=date(2024, 6, 14)) is None
        assert default_start(make_claim(), as_of=date(2024, 6, 15)) == date(2024, 6, 15)

    def test_honours_an_explicit_receipt_date_of_the_notice(self) -> None:
        notice = DunningNotice(NoticeKind.DUNNING, date(2024, 6, 13), received_on=date(2024, 6, 17))
        assert default_start(make_claim(notices=[notice]), date(2024, 8, 15)) == date(2024, 6, 18)

    def test_ignores_a_notice_sent_on_the_due_date(self) -> None:
        # A Mahnung must follow the due date (§286(1)); on 5 June the debtor could still pay in time.
        claim = make_claim(notices=[DunningNotice(NoticeKind.REMINDER, date(2024, 6, 5))])
        assert default_start(claim, date(2024, 8, 15)) is None

    def test_moves_a_weekend_due_date_to_monday(self) -> None:
        # Due Sat 8 June 2024 -> payable until Mon 10 June (§193). A notice sent on the 10th is too early;
        # one sent Tue 11 June is received Wed 12 June, default from Thu 13 June.
        early = make_claim(
            due_date=date(2024, 6, 8), notices=[DunningNotice(NoticeKind.REMINDER, date(2024, 6, 10))]
        )
        assert default_start(early, date(2024, 8, 15)) is None
        later = make_claim(
            due_date=date(2024, 6, 8), notices=[DunningNotice(NoticeKind.REMINDER, date(2024, 6, 11))]
        )
        assert default_start(later, date(2024, 8, 15)) == date(2024, 6, 13)

    def test_thirty_day_route_needs_the_invoice_notice_for_a_consumer(self) -> None:
        # Invoice Fri 1 March 2024, received Mon 4 March (+3 days), due Fri 15 March. The 30 days run from
        # the later of both, 15 March: 16 March .. 14 April, a Sunday, so the period ends Mon 15 April
        # (§193) and default starts Tue 16 April.
        base = {"invoice_date": date(2024, 3, 1), "due_date": date(2024, 3, 15), "notices": []}
        assert default_start(make_claim(**base), date(2024, 8, 15)) is None
        noticed = make_claim(**base, invoice_has_default_notice=True)
        assert default_start(noticed, date(2024, 8, 15)) == date(2024, 4, 16)
        business = make_claim(**base, debtor_kind=DebtorKind.BUSINESS)
        assert default_start(business, date(2024, 8, 15)) == date(2024, 4, 16)

    def test_thirty_day_route_counts_from_receipt_when_that_is_later(self) -> None:
        # Due on the invoice date 1 March, received 4 March: 30 days end Wed 3 April, default 4 April.
        claim = make_claim(
            invoice_date=date(2024, 3, 1),
            due_date=date(2024, 3, 1),
            notices=[],
            debtor_kind=DebtorKind.BUSINESS,
        )
        assert default_start(claim, date(2024, 8, 15)) == date(2024, 4, 4)

    def test_the_earlier_route_applies(self) -> None:
        # Business, due 5 June, received 25 May: the 30-day route gives 6 July (5 July is a Friday);
        # the Mahnung of 13 June gives 15 June, which is earlier.
        claim = make_claim(debtor_kind=DebtorKind.BUSINESS)
        assert default_start(claim, date(2024, 8, 15)) == date(2024, 6, 15)
        assert default_start(
            make_claim(debtor_kind=DebtorKind.BUSINESS, notices=[]), date(2024, 8, 15)
        ) == date(2024, 7, 6)

    def test_no_default_when_paid_in_full_before_it_starts(self) -> None:
        claim = make_claim(bookings=[Booking(BookingKind.PAYMENT, date(2024, 6, 15), D("1000.00"))])
        assert default_start(claim, date(2024, 8, 15)) is None
        assert breakdown(claim).total_outstanding == 0


class TestInterest:
    def test_consumer_interest_across_a_base_rate_change(self) -> None:
        # 15 June .. 15 August 2024 on €1,000.00, consumer (base + 5 points):
        #   15.06.-30.06.: 16 days x 8.62 % -> 1000 x 8.62 x 16 / 36500 = 3.7786 -> 3.78
        #   01.07.-15.08.: 46 days x 8.37 % -> 1000 x 8.37 x 46 / 36500 = 10.5485 -> 10.55
        #   interest 14.33; total 1,014.33; no flat fee, no fees.
        result = breakdown(make_claim())
        assert [(s.first_day, s.last_day, s.days, s.rate, s.amount) for s in result.interest_segments] == [
            (date(2024, 6, 15), date(2024, 6, 30), 16, D("8.62"), D("3.78")),
            (date(2024, 7, 1), date(2024, 8, 15), 46, D("8.37"), D("10.55")),
        ]
        assert result.interest == D("14.33")
        assert result.flat_fee == 0
        assert result.total_outstanding == D("1014.33")
        assert result.default_start == date(2024, 6, 15)
        assert result.first_dunning_notice_on == date(2024, 6, 13)
        assert result.days_overdue == 71  # 5 June -> 15 August

    def test_business_interest_and_flat_fee(self) -> None:
        # Same period, business (base + 9 points):
        #   16 days x 12.62 % -> 1000 x 12.62 x 16 / 36500 = 5.5321 -> 5.53
        #   46 days x 12.37 % -> 1000 x 12.37 x 46 / 36500 = 15.5896 -> 15.59
        #   interest 21.12 + flat fee 40.00 (§288(5)) + principal 1,000.00 = 1,061.12
        result = breakdown(make_claim(debtor_kind=DebtorKind.BUSINESS))
        assert [s.amount for s in result.interest_segments] == [D("5.53"), D("15.59")]
        assert result.interest == D("21.12")
        assert result.flat_fee == D("40.00")
        assert result.total_outstanding == D("1061.12")

    def test_partial_payment_goes_to_costs_then_interest_then_principal(self) -> None:
        # Business, default from 15 June, €100.00 paid on 11 July. Interest up to 10 July:
        #   15.06.-30.06.: 5.53 (as above); 01.07.-10.07.: 10 days x 12.37 % = 3.3890 -> 3.39; sum 8.92.
        # §367: 40.00 to the flat fee, 8.92 to interest, 51.08 to principal -> principal 948.92.
        #   11.07.-15.08.: 36 days x 12.37 % on 948.92 = 948.92 x 12.37 x 36 / 36500 = 11.5773 -> 11.58
        # Outstanding on 15 August: 948.92 + 11.58 = 960.50; interest in total 8.92 + 11.58 = 20.50.
        claim = make_claim(
            debtor_kind=DebtorKind.BUSINESS,
            bookings=[Booking(BookingKind.PAYMENT, date(2024, 7, 11), D("100.00"))],
        )
        result = breakdown(claim)
        (payment,) = result.payments
        assert (payment.to_costs, payment.to_interest, payment.to_principal) == (
            D("40.00"),
            D("8.92"),
            D("51.08"),
        )
        assert [(s.first_day, s.last_day, s.principal, s.amount) for s in result.interest_segments] == [
            (date(2024, 6, 15), date(2024, 6, 30), D("1000.00"), D("5.53")),
            (date(2024, 7, 1), date(2024, 7, 10), D("1000.00"), D("3.39")),
            (date(2024, 7, 11), date(2024, 8, 15), D("948.92"), D("11.58")),
        ]
        assert result.principal_outstanding == D("948.92")
        assert result.costs_outstanding == 0
        assert result.interest_outstanding == D("11.58")
        assert result.interest == D("20.50")
        assert result.total_outstanding == D("960.50")

    def test_partial_payment_before_default_reduces_the_principal_that_bears_interest(self) -> None:
        # €400.00 paid on 10 June, before default: interest runs on 600.00 from 15 June.
        #   16 days x 8.62 % on 600 = 2.2672 -> 2.27; 46 days x 8.37 % on 600 = 6.3291 -> 6.33; sum 8.60.
        claim = make_claim(bookings=[Booking(BookingKind.PAYMENT, date(2024, 6, 10), D("400.00"))])
        result = breakdown(claim)
        assert result.interest == D("8.60")
        assert result.total_outstanding == D("608.60")

    def test_no_interest_on_the_day_of_payment_for_the_amount_paid(self) -> None:
        # Balance on 14 July: 1,000.00 + 3.78 + 14 days x 8.37 % (3.2104 -> 3.21) = 1,006.99.
        # Paid on 15 July: nothing is left, and no interest arises for 15 July.
        owed = breakdown(make_claim(), date(2024, 7, 14)).total_outstanding
        assert owed == D("1006.99")
        paid = make_claim(bookings=[Booking(BookingKind.PAYMENT, date(2024, 7, 15), owed)])
        result = breakdown(paid)
        assert result.total_outstanding == 0
        assert result.overpaid == 0
        assert result.days_overdue == 0

    def test_accrue_interest_is_zero_for_no_days(self) -> None:
        assert (
            accrue_interest(D("100.00"), date(2024, 7, 2), date(2024, 7, 1), RATES, DebtorKind.CONSUMER) == ()
        )

    def test_charges_no_interest_for_days_without_a_known_base_rate(self) -> None:
        # The table knows rates until 30 June 2026 (a table ending there): interest is charged through that
        # day and nothing after; no rate is guessed. Default from 15 June 2024 (see TestDefaultStart).
        table = BaseRateTable(rate for rate in RATES.rates if rate.valid_from <= date(2026, 1, 1))
        result = claim_breakdown(make_claim(), date(2026, 8, 31), table)
        assert result.interest_segments[-1].last_day == date(2026, 6, 30)
        assert result.interest_unpaid_from == date(2026, 7, 1)
        assert result.interest == claim_breakdown(make_claim(), date(2026, 6, 30), table).interest

    def test_raises_when_a_base_rate_inside_the_period_is_missing(self) -> None:
        table = BaseRateTable(rate for rate in RATES.rates if rate.valid_from != date(2024, 7, 1))
        with pytest.raises(UnknownBaseRate) as excinfo:
            claim_breakdown(make_claim(), date(2024, 8, 15), table)
        assert excinfo.value.missing == date(2024, 7, 1)


class TestFees:
    def test_no_fee_on_the_notice_that_creates_default_and_fees_on_later_ones(self) -> None:
        # The reminder of 13 June creates default (fee stated 2.50 is not owed); the Mahnung of 27 June
        # and the final notice of 11 July are sent in default: 2 x 2.50 = 5.00.
        # Total on 15 August: 1,000.00 + 14.33 interest + 5.00 fees = 1,019.33.
        claim = make_claim(
            notices=[
                DunningNotice(NoticeKind.REMINDER, date(2024, 6, 13), D("2.50"), channel=Channel.LETTER),
                DunningNotice(NoticeKind.DUNNING, date(2024, 6, 27), D("2.50"), channel=Channel.LETTER),
                DunningNotice(NoticeKind.FINAL_NOTICE, date(2024, 7, 11), D("2.50"), channel=Channel.LETTER),
            ]
        )
        result = breakdown(claim)
        assert [(line.notice_kind, line.charged, line.reason) for line in result.fees] == [
            (NoticeKind.REMINDER, D("0.00"), FeeReason.NOT_IN_DEFAULT),
            (NoticeKind.DUNNING, D("2.50"), FeeReason.CHARGED),
            (NoticeKind.FINAL_NOTICE, D("2.50"), FeeReason.CHARGED),
        ]
        assert result.dunning_fees == D("5.00")
        assert result.total_outstanding == D("1019.33")

    def test_caps_a_fee_above_the_limit(self) -> None:
        claim = make_claim(
            notices=[
                DunningNotice(NoticeKind.REMINDER, date(2024, 6, 13)),
                DunningNotice(NoticeKind.DUNNING, date(2024, 6, 27), D("10.00"), channel=Channel.LETTER),
            ]
        )
        (line,) = breakdown(claim).fees
        assert (line.stated, line.charged, line.reason) == (D("10.00"), D("2.50"), FeeReason.CAPPED)

    def test_a_business_pays_dunning_fees_only_beyond_the_flat_fee(self) -> None:
        # §288(5) sentence 3: the €40 flat fee is credited against costs of pursuing the claim.
        claim = make_claim(
            debtor_kind=DebtorKind.BUSINESS,
            notices=[
                DunningNotice(NoticeKind.REMINDER, date(2024, 6, 13)),
                DunningNotice(NoticeKind.DUNNING, date(2024, 6, 27), D("2.50"), channel=Channel.LETTER),
                DunningNotice(NoticeKind.FINAL_NOTICE, date(2024, 7, 11), D("2.50"), channel=Channel.LETTER),
            ],
        )
        result = breakdown(claim)
        assert [line.reason for line in result.fees] == [FeeReason.CREDITED_TO_FLAT_FEE] * 2
        assert result.dunning_fees == 0
        assert result.flat_fee == D("40.00")
        assert result.total_outstanding == D("1061.12")

    def test_a_fee_after_default_by_the_thirty_day_route_is_owed(self) -> None:
        # Default from 16 April by §286(3) (see TestDefaultStart); the first notice on 2 May is sent in
        # default, so it may carry a fee.
        claim = make_claim(
            invoice_date=date(2024, 3, 1),
            due_date=date(2024, 3, 15),
            invoice_has_default_notice=True,
            notices=[DunningNotice(NoticeKind.DUNNING, date(2024, 5, 2), D("2.50"), channel=Channel.LETTER)],
        )
        result = breakdown(claim, date(2024, 5, 2))
        assert result.default_start == date(2024, 4, 16)
        assert result.dunning_fees == D("2.50")


class TestCreditsAndRefunds:
    def test_credit_note_and_refund_after_full_payment_settle_to_zero(self) -> None:
        claim = make_claim(
            bookings=[
                Booking(BookingKind.PAYMENT, date(2024, 6, 10), D("1000.00")),
                Booking(BookingKind.CREDIT, date(2024, 6, 20), D("1000.00")),
                Booking(BookingKind.REFUND, date(2024, 6, 25), D("1000.00")),
            ]
        )
        assert breakdown(claim, date(2024, 6, 21)).overpaid == D("1000.00")
        result = breakdown(claim)
        assert (result.total_outstanding, result.overpaid, result.interest) == (0, 0, 0)

    def test_a_reversed_payment_reopens_the_principal(self) -> None:
        # Paid in full on 14 June, before default would have begun on 15 June, so the Mahnung of 13 June
        # had no effect; charged back on 1 July: €1,000.00 is open again, without interest until a new
        # Mahnung puts the debtor in default.
        claim = make_claim(
            bookings=[
                Booking(BookingKind.PAYMENT, date(2024, 6, 14), D("1000.00")),
                Booking(BookingKind.REFUND, date(2024, 7, 1), D("1000.00")),
            ]
        )
        assert default_start(claim, date(2024, 8, 15)) is None
        assert breakdown(claim).total_outstanding == D("1000.00")

    def test_a_mahnung_after_a_reversed_payment_starts_default(self) -> None:
        # As above, plus a Mahnung sent 1 August, received 2 August: default from 3 August.
        # 13 days x 8.37 % on 1,000.00 = 1000 x 8.37 x 13 / 36500 = 2.9811 -> 2.98.
        claim = make_claim(
            notices=[
                DunningNotice(NoticeKind.REMINDER, date(2024, 6, 13)),
                DunningNotice(NoticeKind.DUNNING, date(2024, 8, 1)),
            ],
            bookings=[
                Booking(BookingKind.PAYMENT, date(2024, 6, 14), D("1000.00")),
                Booking(BookingKind.REFUND, date(2024, 7, 1), D("1000.00")),
            ],
        )
        result = breakdown(claim)
        assert result.default_start == date(2024, 8, 3)
        assert result.interest == D("2.98")

    def test_credit_note_reduces_the_principal_that_bears_interest(self) -> None:
        # Return of goods worth €400.00 credited on 10 June: same figures as a payment on that day.
        claim = make_claim(bookings=[Booking(BookingKind.CREDIT, date(2024, 6, 10), D("400.00"))])
        result = breakdown(claim)
        assert result.credits == D("400.00")
        assert result.total_outstanding == D("608.60")


class TestClaimValidation:
    @pytest.mark.parametrize(
        ("overrides", "error"),
        [
            ({"principal": 1000.0}, TypeError),
            ({"principal": D("0.00")}, ValueError),
            ({"principal": D("10.001")}, ValueError),
            ({"currency": "CHF"}, ValueError),
            ({"due_date": date(2024, 5, 1)}, ValueError),
            ({"debtor_kind": "robot"}, ValueError),
        ],
    )
    def test_rejects_bad_input(self, overrides: dict[str, object], error: type[Exception]) -> None:
        with pytest.raises(error):
            make_claim(**overrides)

    def test_rejects_a_non_positive_booking(self) -> None:
        with pytest.raises(ValueError, match="amount"):
            Booking(BookingKind.PAYMENT, date(2024, 6, 1), D("0.00"))


class TestNextWorkingDay:
    @pytest.mark.parametrize(
        ("day", "expected"),
        [
            (date(2024, 6, 7), date(2024, 6, 7)),  # Friday
            (date(2024, 6, 8), date(2024, 6, 10)),  # Saturday
            (date(2024, 6, 9), date(2024, 6, 10)),  # Sunday
        ],
    )
    def test_moves_weekends_to_monday(self, day: date, expected: date) -> None:
        assert next_working_day(day) == expected


class TestMahnungWithDeadline:
    # Consumer, €500.00 due Tue 24 March 2026; reminder sent Tue 31 March 2026, received Wed 1 April.
    DUE = date(2026, 3, 24)

    def claim(self, deadline: date | None) -> Claim:
        notice = DunningNotice(NoticeKind.REMINDER, date(2026, 3, 31), deadline_on=deadline)
        return make_claim(
            principal=D("500.00"), invoice_date=date(2026, 3, 10), due_date=self.DUE, notices=[notice]
        )

    def test_without_a_deadline_default_starts_the_day_after_receipt(self) -> None:
        # Received 1 April, default from 2 April (§286(1), §187(1)).
        assert default_start(self.claim(None), date(2026, 4, 30)) == date(2026, 4, 2)

    def test_with_a_deadline_default_starts_the_day_after_the_deadline(self) -> None:
        # "Please pay by 07.04." grants time until then: default from 8 April, not 2 April.
        # Interest 8 .. 30 April = 23 days x (1.27 + 5) % on 500.00 = 500 x 6.27 x 23 / 36500 = 1.9755 -> 1.98.
        result = claim_breakdown(self.claim(date(2026, 4, 7)), date(2026, 4, 30), RATES)
        assert result.default_start == date(2026, 4, 8)
        assert result.interest == D("1.98")
        assert default_start(self.claim(date(2026, 4, 7)), date(2026, 4, 7)) is None

    def test_a_deadline_before_receipt_does_not_bring_default_forward(self) -> None:
        # A deadline on the sending day itself: default still waits for receipt (1 April) + 1.
        assert default_start(self.claim(date(2026, 3, 31)), date(2026, 4, 30)) == date(2026, 4, 2)


class TestHolidays:
    def test_a_thirty_day_period_ending_on_new_years_day_ends_on_the_2nd(self) -> None:
        # Business, invoice 18 Nov 2025 (received 21 Nov), due Tue 2 Dec 2025. 30 days from 2 Dec end on
        # Thu 1 Jan 2026, New Year's Day (§193) -> Fri 2 Jan; default from Sat 3 Jan 2026.
        # Interest 3 .. 31 Jan = 29 days x (1.27 + 9) % on 1,000.00 = 1000 x 10.27 x 29 / 36500 = 8.1597
        # -> 8.16 (starting on 2 January would have charged 30 days, 8.44: one day too much).
        claim = make_claim(
            invoice_date=date(2025, 11, 18),
            due_date=date(2025, 12, 2),
            debtor_kind=DebtorKind.BUSINESS,
            notices=[],
        )
        result = claim_breakdown(claim, date(2026, 1, 31), RATES)
        assert result.default_start == date(2026, 1, 3)
        assert result.interest == D("8.16")
        assert result.flat_fee == D("40.00")

    def test_a_due_date_on_a_holiday_of_the_merchants_land(self) -> None:
        # Due Tue 6 Jan 2026, Epiphany in Bavaria: payable there until Wed 7 Jan (§193), so a notice sent
        # on 7 Jan is no Mahnung for a Bavarian merchant; nationwide it is (received 8 Jan, default 9 Jan).
        notices = [DunningNotice(NoticeKind.REMINDER, date(2026, 1, 7))]
        base = {"invoice_date": date(2025, 12, 23), "due_date": date(2026, 1, 6), "notices": notices}
        assert default_start(make_claim(**base), date(2026, 2, 1)) == date(2026, 1, 9)
        assert default_start(make_claim(**base, land="BY"), date(2026, 2, 1)) is None


class TestTimeBarred:
    def test_counts_limitation_from_the_due_date(self) -> None:
        # Invoice 21 Dec 2022, due 1 Feb 2023: barred after 31 December 2026, not 2025.
        claim = make_claim(invoice_date=date(2022, 12, 21), due_date=date(2023, 2, 1), notices=[])
        assert claim_breakdown(claim, date(2026, 1, 15), RATES).limitation_date == date(2026, 12, 31)

    def test_a_time_barred_claim_has_no_default_no_interest_and_no_fees(self) -> None:
        # Due 10 May 2022: barred after 31 December 2025. In January 2026 a reminder, a Mahnung (letter,
        # 1.00) and a final notice went out; the debtor can refuse to pay (§214), so there is no default
        # (BGH: no Verzug while a defence exists), no interest, no fee: only the principal stays.
        claim = make_claim(
            invoice_date=date(2022, 4, 26),
            due_date=date(2022, 5, 10),
            notices=[
                DunningNotice(NoticeKind.REMINDER, date(2026, 1, 5)),
                DunningNotice(NoticeKind.DUNNING, date(2026, 1, 12), D("1.00"), channel=Channel.LETTER),
                DunningNotice(NoticeKind.FINAL_NOTICE, date(2026, 1, 19)),
            ],
        )
        result = claim_breakdown(claim, date(2026, 1, 31), RATES)
        assert result.time_barred and result.limitation_date == date(2025, 12, 31)
        assert result.default_start is None
        assert (result.interest, result.dunning_fees, result.flat_fee) == (0, 0, 0)
        assert [line.reason for line in result.fees] == [FeeReason.TIME_BARRED]
        assert result.total_outstanding == D("1000.00")

    def test_a_partial_payment_keeps_the_claim_alive(self) -> None:
        # Same claim, €100.00 paid on 3 March 2025 (§212(1) No. 1): new end Wed 3 March 2028. On
        # 31 Jan 2026 the claim is enforceable; the reminder of 5 January (received 6 Jan) puts the debtor
        # in default from 7 January: 25 days x 6.27 % on 900.00 = 900 x 6.27 x 25 / 36500 = 3.8651 -> 3.87.
        claim = make_claim(
            invoice_date=date(2022, 4, 26),
            due_date=date(2022, 5, 10),
            notices=[DunningNotice(NoticeKind.REMINDER, date(2026, 1, 5))],
            bookings=[Booking(BookingKind.PAYMENT, date(2025, 3, 3), D("100.00"))],
        )
        result = claim_breakdown(claim, date(2026, 1, 31), RATES)
        assert not result.time_barred and result.limitation_date == date(2028, 3, 3)
        assert result.default_start == date(2026, 1, 7)
        assert result.interest == D("3.87")


class TestFeesByChannel:
    def test_no_fee_is_owed_for_an_email_or_a_shop_reminder(self) -> None:
        # Default from 15 June by the reminder; the Mahnung of 27 June by e-mail and the final notice of
        # 11 July sent by the shop stated 2.50 each (an old schedule): neither cost anything, nothing owed.
        claim = make_claim(
            notices=[
                DunningNotice(NoticeKind.REMINDER, date(2024, 6, 13)),
                DunningNotice(NoticeKind.DUNNING, date(2024, 6, 27), D("2.50"), channel=Channel.EMAIL),
                DunningNotice(NoticeKind.FINAL_NOTICE, date(2024, 7, 11), D("2.50"), channel=Channel.SHOP),
            ]
        )
        result = breakdown(claim)
        assert [(line.charged, line.reason) for line in result.fees] == [
            (D("0.00"), FeeReason.NO_COSTS),
            (D("0.00"), FeeReason.NO_COSTS),
        ]
        assert result.total_outstanding == D("1014.33")  # principal + interest only (see TestInterest)
