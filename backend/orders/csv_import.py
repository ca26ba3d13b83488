"""Open items from a CSV file: the column set, a streaming line reader and per-row validation.

No Flask and no database here: ``backend.orders.services`` reads the file once (``read_rows``), checks each
row (``RowChecker``) and stores it; a row identical to the one a receivable was last imported from
(``row_digest``) is skipped before validation. Rows are validated with the push API's ``OrderPushSchema``, so
both accept the same orders. Memory stays bounded: one row at a time, plus the set of external ids seen (to report duplicates).
Loading a row through marshmallow costs more than storing it, so ``_CellLoader`` applies the schema's own
fields cell by cell and remembers what each cell text gave (cells repeat: currencies, countries, dates, names).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import hmac
import io
import itertools
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any, NamedTuple

from marshmallow import Schema, ValidationError, fields, validate

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
# Part of every ``row_digest`` key: raise it when what a row imports as changes (rules, columns, mapping), so
# rows imported before are read again instead of skipped as unchanged.
DIGEST_VERSION = 1

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


class _Columns:
    """A file's header: the columns' names in file order, and what ``CsvRow`` reads through them."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.external_id = names.index("external_id")
        by_name = sorted(range(len(names)), key=names.__getitem__)
        self.in_name_order = operator.itemgetter(*by_name)
        self.prefix = CELL_SEPARATOR.join(names[index] for index in by_name) + "\x1e"


# No valid cell holds it (``unsafe_text_problem`` refuses control characters), so joined cells of a valid
# row split back into those cells only.
CELL_SEPARATOR = "\x1f"


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row as read (cell texts in file order), or ``problem`` when it could not be split into cells."""

    row: int
    values: list[str]
    columns: _Columns | None = None
    external_id: str = ""  # the external id cell, stripped ("" for an unreadable row)
    problem: RowError | None = None

    def cells(self) -> dict[str, str]:
        """Return the cells by column name, stripped."""
        return dict(zip(self.columns.names, map(str.strip, self.values), strict=True))

    def content(self) -> str:
        """Return the columns and cells as ``row_digest`` hashes them: by column name, as read."""
        return self.columns.prefix + CELL_SEPARATOR.join(self.columns.in_name_order(self.values))


class HeaderError(ValueError):
    """The header row is unusable (missing, unknown or repeated columns); no row was read."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(f"{e.column or 'header'}: {e.message}" for e in errors))
        self.errors = errors


class _SchemaPlan:
    """What ``_CellLoader`` needs of one schema, read from its fields once."""

    def __init__(self, schema: Schema) -> None:
        self.required = frozenset(name for name, loader in schema.load_fields.items() if loader.required)
        self.defaults = {
            name: loader.load_default
            for name, loader in schema.load_fields.items()
            if not loader.required and not callable(loader.load_default)
        }
        self.factories = {
            name: loader.load_default
            for name, loader in schema.load_fields.items()
            if not loader.required and callable(loader.load_default)
        }
        self.fields = {
            name: loader
            for name, loader in schema.load_fields.items()
            if not isinstance(loader, fields.Nested)
        }
        self.nested = {
            name: _SchemaPlan(loader.schema)
            for name, loader in schema.load_fields.items()
            if isinstance(loader, fields.Nested)
        }
        # Plain texts with at most a length rule take no marshmallow call: (shortest, longest) by field.
        self.texts = {
            name: bounds for name, loader in self.fields.items() if (bounds := _text_bounds(loader))
        }
        self.cell_loaders = {name: _cell_loader(loader) for name, loader in self.fields.items()}
        self.post_load = _CellLoader.NESTED_POST_LOAD.get(type(schema))
        self.cells: dict[str, dict[str, Any]] = {name: {} for name in self.fields}


def _cell_loader(loader: fields.Field) -> Callable[[str], Any]:
    """Return ``loader.deserialize`` for a cell's text, without the bookkeeping marshmallow does per call.

    The same steps for a value that is present and not None: the field's ``_deserialize``, then each of its
    validators (a plain function returning False fails, as in marshmallow). A field with hooks of its own
    keeps ``deserialize``.
    """
    if loader.pre_load or loader.post_load:
        return loader.deserialize
    convert, validators = loader._deserialize, tuple(loader.validators)

    def load(text: str) -> Any:
        value = convert(text, None, None)
        for validator in validators:
            if validator(value) is False:
                raise ValidationError("")
        return value

    return load


def _text_bounds(loader: fields.Field) -> tuple[int, float] | None:
    """Return the length bounds of a plain ``fields.String`` whose only rules are lengths, else None."""
    if type(loader) is not fields.String or not all(
        type(rule) is validate.Length for rule in loader.validators
    ):
        return None
    if any(rule.equal is not None for rule in loader.validators):
        return None
    shortest = max((rule.min for rule in loader.validators if rule.min is not None), default=0)
    longest = min((rule.max for rule in loader.validators if rule.max is not None), default=math.inf)
    return shortest, longest


class _CellLoader:
    """Load rows with ``OrderPushSchema``'s own fields, remembering each (field, cell text) result.

    Only a row whose every cell loads and whose amounts, dates and state agree is taken from here; any
    other row (a missing required field, a field the schema does not know, a cell a field refuses) goes to
    ``OrderPushSchema.load``, so its errors read exactly as the push API's. The schemas' hooks are the same
    functions (``upper_country``, ``order_consistency_errors``, ``upper_currency``).
    """

    CACHE_LIMIT = 4096  # per field: enough for the repeating cells, and unique ones do not pile up
    NESTED_POST_LOAD = {PushAddressSchema: upper_country}

    def __init__(self) -> None:
        self.schema = OrderPushSchema()
        self._plan = _SchemaPlan(self.schema)

    def load(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Return the row's load; raise ``ValidationError`` (from the schema itself) when it is wrong."""
        data = self._load(self._plan, payload)
        if data is None or order_consistency_errors(data):
            return self.schema.load(payload)
        return upper_currency(data)

    def _load(self, plan: _SchemaPlan, payload: dict[str, Any]) -> dict[str, Any] | None:
        if not plan.required <= payload.keys():
            return None
        data = plan.defaults.copy()
        for name, factory in plan.factories.items():
            if name not in payload:
                data[name] = factory()
        for name, text in payload.items():
            bounds = plan.texts.get(name)
            if bounds is not None:
                if not bounds[0] <= len(text) <= bounds[1]:
                    return None
                data[name] = text
                continue
            cells = plan.cells.get(name)
            if cells is None:
                nested = plan.nested.get(name)
                value = None if nested is None else self._load(nested, text)
                if value is None:
                    return None
            elif text in cells:
                value = cells[text]
            else:
                try:
                    value = plan.cell_loaders[name](text)
                except ValidationError:
                    return None
                if len(cells) >= self.CACHE_LIMIT:
                    cells.clear()
                cells[text] = value
            data[name] = value
        return data if plan.post_load is None else plan.post_load(data)


class _CountedBytes(io.RawIOBase):
    """A binary stream read through, reporting the size of each chunk read."""

    def __init__(self, stream: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        super().__init__()
        self._stream = stream
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = self._stream.readinto(buffer)
        self._on_bytes(size)
        return size


def read_lines(stream: IO[bytes], on_bytes: Callable[[int], None] = lambda size: None) -> Iterator[str]:
    """Yield the text lines of a UTF-8 file (BOM skipped), reporting the bytes read for a progress bar.

    Undecodable bytes become U+FFFD, which ``parse_rows`` reports for the row and column they are in. Lines
    are split and decoded by ``io.TextIOWrapper`` (``newline=""``, as ``csv`` wants), the bytes are reported
    per chunk read: a Python step per line cost about 7 µs a row, a fifth of an unchanged row's time.
    """
    buffered = io.BufferedReader(_CountedBytes(stream, on_bytes), 1 << 16)
    yield from io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline="")


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


@dataclass(frozen=True)
class CsvRows:
    """A file's data rows, read as iterated (once), and its header's ``columns``, known before any row."""

    columns: _Columns
    rows: Iterator[CsvRow]

    def __iter__(self) -> Iterator[CsvRow]:
        return self.rows


def read_rows(lines: Iterable[str]) -> CsvRows:
    """Split CSV lines into rows of cells by column (comma or semicolon separated, header row first).

    The header is read and checked here (``HeaderError``); the data rows as the result is iterated.
    """
    lines = iter(lines)
    first = next(lines, None)
    if first is None or not first.strip():
        raise HeaderError([RowError(1, "", "the file has no header row")])
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    _check_header(header)
    columns = _Columns(header)
    return CsvRows(columns, _data_rows(reader, columns))


def _data_rows(reader: Iterator[list[str]], columns: _Columns) -> Iterator[CsvRow]:
    """Yield the data rows after the header (row 1), numbered as spreadsheets number them."""
    header = columns.names
    number = 1
    while True:
        number += 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. a field over csv.field_size_limit(); the next line may be fine
            yield CsvRow(number, [], problem=RowError(number, "", f"unreadable CSV: {error}"))
            continue
        if not "".join(values).strip():
            continue
        if len(values) != len(header):
            message = f"expected {len(header)} fields, found {len(values)}"
            yield CsvRow(number, [], problem=RowError(number, "", message))
            continue
        yield CsvRow(number, values, columns, values[columns.external_id].strip())


class CellCheck(NamedTuple):
    """What a row's cells say without the rest of the file: problems in their text, the load or its errors.

    A child process sends many (``services._RowChecks``), as plain tuples of the three (``CellFields``):
    a named tuple pickles through Python calls, at ten times a plain tuple's cost.
    """

    text_errors: list[RowError]
    data: dict[str, Any] | None
    load_errors: list[RowError]


# A ``CellCheck`` or its plain tuple.
CellFields = tuple[list[RowError], dict[str, Any] | None, list[RowError]]


def check_cells(row: CsvRow, loader: _CellLoader) -> CellCheck:
    """Check a readable row's cells (texts, then the push schema): everything but its id's uniqueness."""
    cells = row.cells()
    errors = []
    joined = "".join(cells.values())
    if "\ufffd" in joined or unsafe_text_problem(joined):  # rare: then find the cells
        errors += [
            RowError(row.row, name, "not valid UTF-8 text")
            for name, value in cells.items()
            if "\ufffd" in value
        ]
        errors += [
            RowError(row.row, name, problem)
            for name, value in cells.items()
            if (problem := unsafe_text_problem(value))
        ]
    try:
        return CellCheck(errors, loader.load(_payload(cells)), [])
    except ValidationError as error:
        return CellCheck(
            errors, None, [RowError(row.row, column, message) for column, message in _flatten(error.messages)]
        )


class RowChecker:
    """Validate the rows of one file in order: the push schema's rules, and no external id twice."""

    def __init__(self) -> None:
        self.loader = _CellLoader()
        self._seen: dict[str, int] = {}

    def check(self, row: CsvRow, cells: CellFields | None = None) -> ParsedRow:
        """Return the row's load or its errors; ``cells`` is ``check_cells`` of the row when done elsewhere."""
        if row.problem is not None:
            return ParsedRow(row.row, "", None, [row.problem])
        text_errors, data, load_errors = check_cells(row, self.loader) if cells is None else cells
        errors = [*text_errors, *_id_errors(row.row, row.external_id, self._seen), *load_errors]
        return ParsedRow(row.row, row.external_id, None if errors else data, errors)

    def check_known(self, row: CsvRow) -> list[RowError]:
        """Check a row whose cells were imported as valid before (see ``row_digest``): only its id can clash."""
        return _id_errors(row.row, row.external_id, self._seen)


def parse_rows(lines: Iterable[str]) -> Iterator[ParsedRow]:
    """Parse and validate CSV rows one by one (``read_rows``, then ``RowChecker.check``)."""
    checker = RowChecker()
    for row in read_rows(lines):
        yield checker.check(row)


def digest_key(secret: bytes, context: str) -> bytes:
    """Return the key of ``row_digest`` for one import: the secret and what else decides a row's receivable."""
    return hmac.new(secret, f"csv-import:{DIGEST_VERSION}:{context}".encode(), hashlib.sha256).digest()


def row_digest(key: bytes, row: CsvRow, updated_at: str) -> str:
    """Return the digest of a row's columns and cell texts, bound to its receivable's ``updated_at`` (ISO text).

    Equal digests mean the same columns with the same cell texts (column order and quoting aside) under the
    same key, for a receivable nothing wrote to since: importing the row again would change nothing.
    """
    message = f"{row.content()}\x1e{updated_at}".encode()
    return hashlib.blake2b(message, key=key, digest_size=16).hexdigest()


def _id_errors(number: int, external_id: str, seen: dict[str, int]) -> list[RowError]:
    if not external_id:
        return [RowError(number, "external_id", "Missing data for required field.")]
    if len(external_id) > MAX_EXTERNAL_ID:
        return [RowError(number, "external_id", f"Longer than maximum length {MAX_EXTERNAL_ID}.")]
    if external_id in seen:
        return [
            RowError(number, "external_id", f"{external_id!r} already appears in row {seen[external_id]}")
        ]
    seen[external_id] = number
    return []


def _payload(row: Mapping[str, str]) -> dict[str, Any]:
    """Shape a row like the push API's body; empty cells are absent."""

    def present(names: Iterable[str]) -> dict[str, str]:
        return {name: row[name] for name in names if row.get(name)}

    payload: dict[str, Any] = present(ORDER_COLUMNS)
    payload.setdefault("payment_method", DEFAULT_PAYMENT_METHOD)
    for name in ("ordered_at", "shipped_at"):
        if name in payload:
            payload[name] = _berlin_midnight(payload[name])
    payload["buyer"] = present(BUYER_COLUMNS)
    payload["billing_address"] = present(ADDRESS_COLUMNS)
    return payload


@functools.lru_cache(maxsize=4096)
def _berlin_midnight(text: str) -> str:
    """Return a day ("2024-05-01") as the start of that day in Berlin; any other text as it is."""
    if _DAY.fullmatch(text):
        # An impossible date stays as it is, and the schema reports it.
        with contextlib.suppress(ValueError):
            return datetime.combine(date.fromisoformat(text), time(), BERLIN).isoformat()
    return text


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
