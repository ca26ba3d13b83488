"""Unit tests for the shared order normalisation helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.shops.base import check_case_fields, parse_utc, split_street, to_decimal


class TestSplitStreet:
    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            ("Musterstraße 12a", ("Musterstraße", "12a")),
            ("Hauptstr. 5", ("Hauptstr.", "5")),
            ("Am Markt 3-5", ("Am Markt", "3-5")),
            ("Straße des 17. Juni 114 b", ("Straße des 17. Juni", "114b")),
            ("Lindenallee 7/9", ("Lindenallee", "7/9")),
            ("Postfach", ("Postfach", None)),
            ("  ", (None, None)),
            (None, (None, None)),
        ],
    )
    def test_splits_house_number(self, line, expected) -> None:
        assert split_street(line) == expected


class TestToDecimal:
    @pytest.mark.parametrize(("value", "expected"), [("19.99", "19.99"), (Decimal("1.10"), "1.10"), (7, "7")])
    def test_converts_exactly(self, value, expected) -> None:
        assert to_decimal(value) == Decimal(expected)

    def test_refuses_garbage(self) -> None:
        with pytest.raises(ValueError, match="not an amount"):
            to_decimal("twelve")


class TestParseUtc:
    def test_converts_offsets_to_utc(self) -> None:
        assert parse_utc("2025-03-01T10:00:00.000+01:00") == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def test_takes_naive_values_as_utc(self) -> None:
        assert parse_utc("2025-03-01T10:00:00") == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)

    def test_passes_missing_values_through(self) -> None:
        assert parse_utc(None) is None


def test_case_fields_must_use_the_claimbridge_prefix() -> None:
    check_case_fields({"claimbridge_case_status": "open"})
    with pytest.raises(ValueError, match="customFields"):
        check_case_fields({"customFields": {}})
