"""Worked examples for the calendar rules (§§187, 188, 193 BGB), limitation (§§195, 199, 212) and §§13/14 BGB."""

from __future__ import annotations

from datetime import date

import pytest

from backend.dunning.law import (
    DebtorKind,
    UnknownLand,
    add_working_days,
    check_land,
    debtor_kind_from,
    is_working_day,
    limitation_date,
    next_working_day,
    same_day_years_later,
)


class TestWorkingDays:
    @pytest.mark.parametrize(
        ("day", "expected"),
        [
            (date(2024, 6, 7), date(2024, 6, 7)),  # Friday
            (date(2024, 6, 8), date(2024, 6, 10)),  # Saturday -> Monday
            (date(2024, 6, 9), date(2024, 6, 10)),  # Sunday -> Monday
            (date(2026, 1, 1), date(2026, 1, 2)),  # New Year's Day (Thursday) -> Friday
            (date(2026, 4, 3), date(2026, 4, 7)),  # Good Friday -> Sat, Sun, Easter Monday -> Tuesday
            (date(2026, 10, 3), date(2026, 10, 5)),  # German Unity Day is a Saturday anyway -> Monday
            (date(2025, 12, 25), date(2025, 12, 29)),  # Christmas Thu, Boxing Day Fri, weekend -> Monday
            (date(2025, 12, 31), date(2025, 12, 31)),  # New Year's Eve is a working day
        ],
    )
    def test_moves_weekends_and_nationwide_holidays(self, day: date, expected: date) -> None:
        assert next_working_day(day) == expected

    def test_a_lands_own_holiday_counts_only_there(self) -> None:
        # Epiphany (6 January) is a holiday in Bavaria, not nationwide; 6 January 2026 is a Tuesday.
        assert is_working_day(date(2026, 1, 6))
        assert next_working_day(date(2026, 1, 6), "BY") == date(2026, 1, 7)
        # Reformation Day (31 October) in Saxony; 31 October 2025 is a Friday -> Monday 3 November.
        assert next_working_day(date(2025, 10, 31), "SN") == date(2025, 11, 3)
        assert next_working_day(date(2025, 10, 31), "BY") == date(2025, 10, 31)

    def test_banking_days_skip_weekends_and_holidays(self) -> None:
        # Thursday 2 April 2026 + 2 banking days: Good Friday, weekend and Easter Monday are skipped ->
        # Tuesday 7 April, Wednesday 8 April.
        assert add_working_days(date(2026, 4, 2), 2) == date(2026, 4, 8)
        assert add_working_days(date(2026, 4, 2), 0) == date(2026, 4, 2)

    def test_checks_land_codes(self) -> None:
        assert check_land(" by ") == "BY"
        assert check_land(None) is None
        with pytest.raises(UnknownLand, match="not a German Land"):
            check_land("XX")


class TestLimitation:
    def test_counts_from_the_end_of_the_year_the_claim_fell_due(self) -> None:
        # Invoice of 21 December 2022, due 1 February 2023: the period starts at the end of 2023 (§199(1)
        # No. 1: the claim arises when it can be demanded) and ends 31 December 2026 (§195: three years),
        # a Thursday. Counted from the invoice date it would wrongly end a year earlier.
        assert limitation_date(date(2023, 2, 1)) == date(2026, 12, 31)

    @pytest.mark.parametrize(
        ("due", "expires"),
        [
            (date(2024, 1, 1), date(2027, 12, 31)),  # Friday
            (date(2024, 12, 31), date(2027, 12, 31)),
            # 31 December 2028 is a Sunday, 1 January 2029 a holiday (§193) -> Tuesday 2 January 2029.
            (date(2025, 3, 1), date(2029, 1, 2)),
        ],
    )
    def test_ends_on_the_31st_of_december_three_years_on_or_the_next_working_day(
        self, due: date, expires: date
    ) -> None:
        assert limitation_date(due) == expires

    def test_a_partial_payment_restarts_the_period(self) -> None:
        # Due 1 February 2023 (regular end 31 December 2026); €50 paid on Monday 10 May 2024 acknowledges
        # the claim (§212(1) No. 1): three new years from 11 May 2024 end on 10 May 2027 (§188(2)), a Monday.
        assert limitation_date(date(2023, 2, 1), [date(2024, 5, 10)]) == date(2027, 5, 10)

    def test_a_restart_ending_on_a_holiday_moves_to_the_next_working_day(self) -> None:
        # Paid 1 May 2024 -> 1 May 2027, a Saturday and Labour Day -> Monday 3 May 2027 (§193).
        assert limitation_date(date(2023, 2, 1), [date(2024, 5, 1)]) == date(2027, 5, 3)

    def test_a_restart_never_shortens_the_running_period(self) -> None:
        # Paid 1 March 2023, before the regular period even began: 1 March 2026 is earlier than 31 Dec 2026.
        assert limitation_date(date(2023, 2, 1), [date(2023, 3, 1)]) == date(2026, 12, 31)

    def test_a_payment_after_the_end_does_not_revive_the_claim(self) -> None:
        # Regular end 31 December 2025 (due 2022); a payment on 5 January 2026 comes too late for §212.
        assert limitation_date(date(2022, 5, 10), [date(2026, 1, 5)]) == date(2025, 12, 31)

    def test_restarts_chain(self) -> None:
        # Due 2023 -> 31 Dec 2026; paid 1 Dec 2026 -> 1 Dec 2029 (Saturday) -> Monday 3 Dec 2029;
        # paid again 3 Dec 2029, still in time -> 3 Dec 2032, a Friday.
        assert limitation_date(date(2023, 2, 1), [date(2026, 12, 1), date(2029, 12, 3)]) == date(2032, 12, 3)

    def test_the_29th_of_february_ends_on_the_28th(self) -> None:
        assert same_day_years_later(date(2024, 2, 29), 3) == date(2027, 2, 28)
        # Paid 29 Feb 2024 -> 28 Feb 2027, a Sunday -> Monday 1 March 2027.
        assert limitation_date(date(2023, 2, 1), [date(2024, 2, 29)]) == date(2027, 3, 1)


class TestDebtorKind:
    @pytest.mark.parametrize(
        ("facts", "expected"),
        [
            ({}, DebtorKind.CONSUMER),  # nothing known: a natural person is a consumer (§13)
            ({"stated": "business"}, DebtorKind.BUSINESS),
            (
                {"stated": "consumer", "vat_id": "DE136695976"},
                DebtorKind.CONSUMER,
            ),  # the merchant's word wins
            ({"account_type": "business"}, DebtorKind.BUSINESS),  # Shopware customer accountType
            ({"account_type": "private", "merchant_sells_to_businesses_only": True}, DebtorKind.CONSUMER),
            ({"vat_id": "DE136695976"}, DebtorKind.BUSINESS),  # only businesses get a VAT id
            ({"vat_id": "  "}, DebtorKind.CONSUMER),
            # Only a valid VAT id says business: filler, words, a bad check digit or a non-EU number do not.
            ({"vat_id": "-"}, DebtorKind.CONSUMER),
            ({"vat_id": "keine"}, DebtorKind.CONSUMER),
            ({"vat_id": "DE123456789"}, DebtorKind.CONSUMER),  # check digit wrong
            ({"vat_id": "136695976"}, DebtorKind.CONSUMER),  # no country prefix
            ({"vat_id": "CHE-116.281.710"}, DebtorKind.CONSUMER),
            ({"vat_id": "de 136 695 976"}, DebtorKind.BUSINESS),  # spacing and case as buyers type them
            ({"vat_id": "ATU13585627"}, DebtorKind.BUSINESS),
            ({"merchant_sells_to_businesses_only": True}, DebtorKind.BUSINESS),
        ],
    )
    def test_from_what_the_shop_knows(self, facts: dict[str, object], expected: DebtorKind) -> None:
        assert debtor_kind_from(**facts) is expected  # type: ignore[arg-type]

    def test_rejects_an_unknown_stated_kind(self) -> None:
        with pytest.raises(ValueError):
            debtor_kind_from(stated="robot")


def test_the_lands_are_the_holiday_librarys_german_subdivisions() -> None:
    import holidays

    from backend.dunning.law import LANDS

    assert set(LANDS) == {code for code in holidays.Germany.subdivisions if len(code) == 2}
