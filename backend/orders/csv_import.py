"""Open items from a CSV file: the column set, a streaming line reader and per-row validation.

No Flask and no database here: ``backend.orders.services`` runs the two passes (check, then import) over
``parse_rows``. Rows are validated with the push API's ``OrderPushSchema``, so both accept the same orders.
Memory stays bounded: one row at a time, plus the set of external ids seen (to report duplicates).
Loading a row through marshmallow costs more than storing it, so ``_CellLoader`` applies the schema's own
fields cell by cell and remembers what each cell text gave (cells repeat: currencies, countries, dates, names).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any

from marshmallow import Schema, ValidationError, fields

from backend.dates import BERLIN
from backend.orders.schemas import (
    OrderPushSchema,
    PushAddressSchema,
    order_consistency_errors,
    upper_country,
    upper_currency,
)
from backend.untrusted import unsafe_text_problem

DEFAULT_PAYMENT_METHOD = "invoice"
MAX_EXTERNAL_ID = 100

ORDER_COLUMNS = (
    "number",
    "total",
    "currency",
    "payment_method",
    "ordered_at",
    "invoice_date",
    "due_date",
    "paid_amount",
    "state",
    "risk_check_id",
    "debtor_kind",
    "vat_id",
    "invoice_has_default_notice",
    "shipped_at",
)
BUYER_COLUMNS = ("email", "first_name", "last_name", "company", "phone", "customer_id")
ADDRESS_COLUMNS = (
    "first_name",
    "last_name",
    "company",
    "street",
    "house_number",
    "postal_code",
    "city",
    "country",
)
COLUMNS = ("external_id", *ORDER_COLUMNS, *dict.fromkeys(BUYER_COLUMNS + ADDRESS_COLUMNS))
REQUIRED_COLUMNS = ("external_id", "number", "total", "currency", "ordered_at", "country")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class RowError:
    """One problem: ``row`` counts the header as row 1 (as spreadsheets number rows); ``column`` may be ""."""

    row: int
    column: str
    message: str


@dataclass(frozen=True)
class ParsedRow:
    """One data row: validated ``data`` (an ``OrderPushSchema`` load) or its errors."""

    row: int
    external_id: str
    data: dict[str, Any] | None
    errors: list[RowError] = field(default_factory=list)


class HeaderError(ValueError):
    """The header row is unusable (missing, unknown or repeated columns); no row was read."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(f"{e.column or 'header'}: {e.message}" for e in errors))
        self.errors = errors


class _CellLoader:
    """Load rows with ``OrderPushSchema``'s own fields, remembering each (field, cell text) result.

    Only a row whose every cell loads and whose amounts, dates and state agree is taken from here; any
    other row goes to ``OrderPushSchema.load``, so its errors read exactly as the push API's. The schemas'
    hooks are the same functions (``upper_country``, ``order_consistency_errors``, ``upper_currency``).
    """

    CACHE_LIMIT = 4096  # per field: enough for the repeating cells, and unique ones do not pile up
    NESTED_POST_LOAD = {PushAddressSchema: upper_country}

    def __init__(self) -> None:
        self.schema = OrderPushSchema()
        self._cache: dict[int, dict[str, Any]] = {}

    def load(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Return the row's load; raise ``ValidationError`` (from the schema itself) when it is wrong."""
        data = self._load(self.schema, payload)
        if data is None or order_consistency_errors(data):
            return self.schema.load(payload)
        return upper_currency(data)

    def _load(self, schema: Schema, payload: dict[str, Any]) -> dict[str, Any] | None:
        data: dict[str, Any] = {}
        for name, loader in schema.load_fields.items():
            if name not in payload:
                if loader.required:
                    return None
                default = loader.load_default
                data[name] = default() if callable(default) else default
            elif isinstance(loader, fields.Nested):
                nested = self._load(loader.schema, payload[name])
                if nested is None:
                    return None
                data[name] = nested
            else:
                cells = self._cache.setdefault(id(loader), {})
                text = payload[name]
                if text not in cells:
                    try:
                        value = loader.deserialize(text)
                    except ValidationError:
                        return None
                    if len(cells) >= self.CACHE_LIMIT:
                        cells.clear()
                    cells[text] = value
                data[name] = cells[text]
        post_load = self.NESTED_POST_LOAD.get(type(schema))
        return data if post_load is None else post_load(data)


def read_lines(stream: IO[bytes], on_bytes: Callable[[int], None] = lambda size: None) -> Iterator[str]:
    """Yield the text lines of a UTF-8 file (BOM skipped), reporting the bytes read for a progress bar.

    Undecodable bytes become U+FFFD, which ``parse_rows`` reports for the row and column they are in.
    """
    encoding = "utf-8-sig"
    for raw in stream:
        on_bytes(len(raw))
        yield raw.decode(encoding, errors="replace")
        encoding = "utf-8"


def _check_header(names: list[str]) -> None:
    errors = [RowError(1, name, "unknown column") for name in names if name not in COLUMNS]
    errors += [
        RowError(1, name, "column appears twice") for name in dict.fromkeys(names) if names.count(name) > 1
    ]
    errors += [
        RowError(1, name, "required column is missing") for name in REQUIRED_COLUMNS if name not in names
    ]
    if errors:
        raise HeaderError(errors)


def parse_rows(lines: Iterable[str]) -> Iterator[ParsedRow]:
    """Parse and validate CSV rows one by one (comma or semicolon separated, header row first)."""
    lines = iter(lines)
    first = next(lines, None)
    if first is None or not first.strip():
        raise HeaderError([RowError(1, "", "the file has no header row")])
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    _check_header(header)
    loader = _CellLoader()
    seen: dict[str, int] = {}
    number = 1
    while True:
        number += 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. a field over csv.field_size_limit(); the next line may be fine
            yield ParsedRow(number, "", None, [RowError(number, "", f"unreadable CSV: {error}")])
            continue
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            message = f"expected {len(header)} fields, found {len(values)}"
            yield ParsedRow(number, "", None, [RowError(number, "", message)])
            continue
        yield _parse_row(
            number, dict(zip(header, (value.strip() for value in values), strict=True)), loader, seen
        )


def _parse_row(number: int, row: dict[str, str], loader: _CellLoader, seen: dict[str, int]) -> ParsedRow:
    errors = [
        RowError(number, name, "not valid UTF-8 text") for name, value in row.items() if "\ufffd" in value
    ]
    errors += [
        RowError(number, name, problem)
        for name, value in row.items()
        if (problem := unsafe_text_problem(value))
    ]
    external_id = row["external_id"]
    if not external_id:
        errors.append(RowError(number, "external_id", "Missing data for required field."))
    elif len(external_id) > MAX_EXTERNAL_ID:
        errors.append(RowError(number, "external_id", f"Longer than maximum length {MAX_EXTERNAL_ID}."))
    elif external_id in seen:
        errors.append(
            RowError(number, "external_id", f"{external_id!r} already appears in row {seen[external_id]}")
        )
    else:
        seen[external_id] = number
    try:
        data = loader.load(_payload(row))
    except ValidationError as error:
        errors += [RowError(number, column, message) for column, message in _flatten(error.messages)]
        data = None
    return ParsedRow(number, external_id, None if errors else data, errors)


def _payload(row: Mapping[str, str]) -> dict[str, Any]:
    """Shape a row like the push API's body; empty cells are absent."""

    def present(names: Iterable[str]) -> dict[str, str]:
        return {name: row[name] for name in names if row.get(name)}

    payload: dict[str, Any] = present(ORDER_COLUMNS)
    payload.setdefault("payment_method", DEFAULT_PAYMENT_METHOD)
    for name in ("ordered_at", "shipped_at"):
        day = payload.get(name, "")
        if _DAY.fullmatch(day):
            # An impossible date stays as it is, and the schema reports it.
            with contextlib.suppress(ValueError):
                payload[name] = datetime.combine(date.fromisoformat(day), time(), BERLIN).isoformat()
    payload["buyer"] = present(BUYER_COLUMNS)
    payload["billing_address"] = present(ADDRESS_COLUMNS)
    return payload


def _flatten(messages: Any, column: str = "") -> Iterator[tuple[str, str]]:
    """Yield (column, message) from marshmallow's nested messages; a CSV column is the innermost field."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, "" if key == "_schema" else str(key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, column)
    else:
        yield column, str(messages)
