"""Tests for the §247 BGB base-rate table."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from backend.dunning.base_rates import (
    BaseRate,
    BaseRateTable,
    UnknownBaseRate,
    bundled_rates,
    bundled_table,
    current_rate_status,
    half_year_rates,
    parse_base_rate,
    read_rates_csv,
)

SOURCE = "Deutsche Bundesbank"


def rate(valid_from: str, percent: str) -> BaseRate:
    return BaseRate(date.fromisoformat(valid_from), Decimal(percent), SOURCE)


class TestBundledRates:
    def test_holds_every_half_year_since_section_247_took_effect(self) -> None:
        # §247 BGB applies from 1 January 2002; no half-year may be missing up to the last confirmed one.
        starts = [r.valid_from for r in bundled_rates()]
        assert starts[0] == date(2002, 1, 1) and starts[-1] == date(2026, 1, 1)
        assert len(starts) == 2 * (2026 - 2002) + 1 == len(set(starts))
        values = {r.valid_from.isoformat(): r.percent for r in bundled_rates()}
        # Spot checks against the Bundesbank's announcements, including the 2020-2022 values (-0.88).
        for day, percent in {
            "2002-01-01": "2.57",
            "2008-01-01": "3.32",
            "2009-07-01": "0.12",
            "2016-07-01": "-0.88",
            "2020-01-01": "-0.88",
            "2022-07-01": "-0.88",
            "2023-01-01": "1.62",
            "2023-07-01": "3.12",
            "2024-01-01": "3.62",
            "2024-07-01": "3.37",
            "2025-01-01": "2.27",
            "2025-07-01": "1.27",
            "2026-01-01": "1.27",
        }.items():
            assert values[day] == Decimal(percent), day
        assert all("Bundesbank" in r.source for r in bundled_rates())

    def test_is_covered_until_the_end_of_the_last_half_year(self) -> None:
        assert bundled_table().covered_until == date(2026, 6, 30)


class TestBaseRateTable:
    def test_rate_on_returns_the_rate_of_the_half_year(self) -> None:
        table = bundled_table()
        assert table.rate_on(date(2024, 6, 30)).percent == Decimal("3.62")
        assert table.rate_on(date(2024, 7, 1)).percent == Decimal("3.37")
        assert table.rate_on(date(2024, 12, 31)).percent == Decimal("3.37")

    def test_refuses_a_day_after_the_last_known_half_year(self) -> None:
        with pytest.raises(UnknownBaseRate) as excinfo:
            bundled_table().rate_on(date(2026, 7, 1))
        assert excinfo.value.missing == date(2026, 7, 1)
        assert excinfo.value.half_year_start == date(2026, 7, 1)
        assert "2026-07-01" in str(excinfo.value)

    def test_refuses_a_gap_instead_of_carrying_the_previous_rate_forward(self) -> None:
        table = BaseRateTable([rate("2024-01-01", "3.62"), rate("2025-01-01", "2.27")])
        with pytest.raises(UnknownBaseRate) as excinfo:
            table.rate_on(date(2024, 9, 1))
        assert excinfo.value.half_year_start == date(2024, 7, 1)

    def test_refuses_a_day_before_the_first_rate(self) -> None:
        with pytest.raises(UnknownBaseRate):
            bundled_table().rate_on(date(2001, 12, 31))  # before §247 BGB (2002) there is no base rate

    def test_segments_split_at_each_change_date(self) -> None:
        segments = bundled_table().segments(date(2024, 6, 15), date(2025, 1, 10))
        assert [(s.first_day, s.last_day, s.base_rate.percent, s.days) for s in segments] == [
            (date(2024, 6, 15), date(2024, 6, 30), Decimal("3.62"), 16),
            (date(2024, 7, 1), date(2024, 12, 31), Decimal("3.37"), 184),
            (date(2025, 1, 1), date(2025, 1, 10), Decimal("2.27"), 10),
        ]

    def test_segments_of_an_empty_period_are_empty(self) -> None:
        assert bundled_table().segments(date(2024, 6, 15), date(2024, 6, 14)) == ()

    def test_segments_raise_when_the_period_runs_past_the_table(self) -> None:
        with pytest.raises(UnknownBaseRate) as excinfo:
            bundled_table().segments(date(2026, 6, 1), date(2026, 7, 5))
        assert excinfo.value.missing == date(2026, 7, 1)

    def test_with_rates_extends_the_table_at_run_time(self) -> None:
        table = bundled_table().with_rates([rate("2026-07-01", "1.52")])
        assert table.rate_on(date(2026, 8, 1)).percent == Decimal("1.52")
        assert table.covered_until == date(2026, 12, 31)
        assert bundled_table().covered_until == date(2026, 6, 30)

    def test_accepts_the_same_rate_twice(self) -> None:
        table = bundled_table().with_rates([rate("2026-01-01", "1.27")])
        assert len(table.rates) == len(bundled_rates())

    def test_rejects_a_conflicting_rate_for_a_known_half_year(self) -> None:
        with pytest.raises(ValueError, match="conflicting base rates for 2026-01-01"):
            bundled_table().with_rates([rate("2026-01-01", "1.52")])


class TestBaseRate:
    @pytest.mark.parametrize(
        ("valid_from", "percent", "source", "message"),
        [
            (date(2026, 3, 1), Decimal("1.52"), SOURCE, "valid_from"),
            (date(2026, 7, 1), Decimal("1.525"), SOURCE, "two decimals"),
            (date(2026, 7, 1), Decimal("152"), SOURCE, "outside"),
            (date(2026, 7, 1), Decimal("NaN"), SOURCE, "finite"),
            (date(2026, 7, 1), Decimal("1.52"), " ", "source"),
        ],
    )
    def test_rejects_invalid_values(
        self, valid_from: date, percent: Decimal, source: str, message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            BaseRate(valid_from, percent, source)

    def test_allows_a_negative_rate(self) -> None:
        assert BaseRate(date(2022, 1, 1), Decimal("-0.88"), SOURCE).percent == Decimal("-0.88")

    def test_parse_base_rate_reads_cli_input(self) -> None:
        parsed = parse_base_rate("2026-07-01", "1.52", " Bundesbank press release ")
        assert parsed == BaseRate(date(2026, 7, 1), Decimal("1.52"), "Bundesbank press release")

    @pytest.mark.parametrize(
        ("valid_from", "percent", "field"),
        [("1.7.2026", "1.52", "valid_from"), ("2026-07-01", "1,52", "percent")],
    )
    def test_parse_base_rate_names_the_bad_field(self, valid_from: str, percent: str, field: str) -> None:
        with pytest.raises(ValueError, match=f"^{field}:"):
            parse_base_rate(valid_from, percent, SOURCE)


class TestReadRatesCsv:
    def test_names_the_line_of_a_bad_row(self) -> None:
        data = "valid_from,percent,source\n2024-01-01,3.62,x\n2024-02-01,3.62,x\n"
        with pytest.raises(ValueError, match="line 3: valid_from"):
            read_rates_csv(io.StringIO(data))

    def test_rejects_unexpected_columns(self) -> None:
        with pytest.raises(ValueError, match="columns"):
            read_rates_csv(io.StringIO("date,rate\n2024-01-01,3.62\n"))


class TestHalfYearsFromTheSeries:
    def test_one_rate_per_half_year_from_its_first_month(self) -> None:
        months = [(date(2026, m, 1), Decimal("1.27")) for m in range(1, 7)] + [
            (date(2026, 7, 1), Decimal("1.52"))
        ]
        assert [(r.valid_from, r.percent) for r in half_year_rates(months, SOURCE)] == [
            (date(2026, 1, 1), Decimal("1.27")),
            (date(2026, 7, 1), Decimal("1.52")),
        ]

    def test_a_half_year_without_its_first_month_is_not_taken(self) -> None:
        assert half_year_rates([(date(2026, 8, 1), Decimal("1.52"))], SOURCE) == []

    def test_a_change_inside_a_half_year_refuses_the_series(self) -> None:
        months = [(date(2026, 7, 1), Decimal("1.52")), (date(2026, 8, 1), Decimal("1.62"))]
        with pytest.raises(ValueError, match="changes inside the half-year from 2026-07-01"):
            half_year_rates(months, SOURCE)

    def test_status_says_when_the_current_half_year_is_unknown(self) -> None:
        status = current_rate_status(bundled_table(), date(2026, 12, 6))
        assert status["status"] == "missing" and status["half_year"] == "2026-07-01"
        assert "rates sync" in str(status["message"])
        assert current_rate_status(bundled_table(), date(2026, 3, 1))["status"] == "ok"
