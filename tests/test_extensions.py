"""Bulk-write helpers of backend.extensions that the imports lean on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import IntEnum
from typing import Any

import pytest
import sqlalchemy as sa
from psycopg.types.array import ListBinaryDumper
from sqlalchemy.dialects.postgresql import JSONB

from backend.audit.models import AuditEvent
from backend.extensions import (
    BULK_WRITE_CACHE_KIB,
    BinaryList,
    PreparedStatement,
    _array_of,
    bulk_write_cache,
    execute_many,
    header_of,
    insert_rows,
    keep_statistics,
    one_of,
    request_connection,
    reserve_ids,
    update_rows,
)
from backend.risk.models import RiskCheck
from backend.types import JSONType, Money, UTCDateTime

GROWING = sa.Table("growing", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("label", sa.Text))


def _add(db, start, count):
    db.session.execute(GROWING.insert(), [{"id": n, "label": f"n{n}"} for n in range(start, start + count)])


def _counted(db):
    return db.session.scalar(sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('growing')"))


def _column_statistics(db):
    return db.session.scalar(
        sa.text("SELECT count(*) FROM pg_stats WHERE tablename = 'growing' AND attname = 'label'")
    )


def _pages(db):
    return db.session.scalar(sa.text("SELECT pg_relation_size('growing') / 8192"))


class TestKeepStatistics:
    @pytest.mark.postgres_only  # SQLite keeps no row counts for its plans
    def test_analyzes_a_growing_table_once_per_doubling_on_postgresql(self, db):
        db.session.execute(sa.text("CREATE TEMPORARY TABLE growing (id integer, label text) ON COMMIT DROP"))
        _add(db, 0, 1000)
        keep_statistics(GROWING, ("label",), added=1000)  # never analyzed: no statistics to trust
        assert _counted(db) == 1000
        counted_pages = _pages(db)

        added = 1000
        while _pages(db) <= 2 * counted_pages and added <= 2 * 1000:
            keep_statistics(GROWING, ("label",), added=added)  # not yet twice the pages or rows: they stand
            assert _counted(db) == 1000
            _add(db, added, 100)
            added += 100
        keep_statistics(GROWING, ("label",), added=added)
        assert _counted(db) == added
        keep_statistics(
            GROWING, ("label",), added=added
        )  # just counted: once per doubling, not once per batch
        assert _counted(db) == added

    @pytest.fixture
    def committed_table(self, db):
        """The growing table created in a transaction of its own, so other sessions see it."""
        with db.engine.begin() as setup:
            setup.execute(sa.text("CREATE TABLE growing (id integer, label text)"))
        yield
        db.session.rollback()
        with db.engine.begin() as setup:
            setup.execute(sa.text("DROP TABLE growing"))

    @pytest.mark.postgres_only
    def test_an_analysis_rolled_back_is_made_again(self, db, committed_table):
        """A failed import's ANALYZE leaves its row count (written in place) but takes the column statistics back."""
        _add(db, 0, 1000)
        keep_statistics(GROWING, ("label",), added=1000)
        db.session.rollback()
        assert _counted(db) == 1000 and not _column_statistics(db)

        _add(db, 0, 10)
        keep_statistics(GROWING, ("label",), added=10)

        assert _column_statistics(db)

    @pytest.mark.postgres_only
    def test_rows_another_sessions_analyze_left_out_are_counted(self, db, committed_table):
        """Autovacuum's ANALYZE meanwhile counts this transaction's pages but not its uncommitted rows."""
        _add(db, 0, 5000)
        with db.engine.begin() as other:
            other.execute(sa.text("ANALYZE growing"))
        assert _counted(db) == 0

        keep_statistics(GROWING, ("label",), added=5000)

        assert _counted(db) == 5000


class TestBulkWriteCache:
    def test_a_bulk_write_gets_a_larger_sqlite_cache_and_gives_it_back(self, db):
        """On SQLite the connection's page cache grows for the import and shrinks after it, also on an error."""
        sqlite = db.session.get_bind().dialect.name == "sqlite"

        def cache_size():
            return db.session.connection().exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None

        before = cache_size()
        with bulk_write_cache():
            assert cache_size() == (-BULK_WRITE_CACHE_KIB if sqlite else None)
        assert cache_size() == before
        with pytest.raises(RuntimeError), bulk_write_cache():
            raise RuntimeError("the import failed")
        assert cache_size() == before


PRICED = sa.Table(
    "priced",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("state", sa.String(20)),
    sa.Column("amount", Money),
    sa.Column("paid_at", UTCDateTime),
    sa.Column("note", sa.Text),
)


class TestUpdateRows:
    def test_sets_each_rows_own_values_and_the_fixed_ones_and_leaves_other_rows(self, db):
        bind = db.session.connection()
        PRICED.create(bind)
        try:
            db.session.execute(
                PRICED.insert(),
                [{"id": n, "state": "open", "amount": Decimal("1.00"), "note": "old"} for n in (1, 2, 3)],
            )
            paid = datetime(2024, 3, 13, 11, 0, tzinfo=UTC)
            update_rows(
                PRICED,
                [
                    {"id": 3, "state": "paid", "amount": Decimal("12.34"), "paid_at": paid},
                    {"id": 1, "state": "partially_paid", "amount": Decimal("0.01"), "paid_at": None},
                ],
                key="id",
                note="new",
            )
            rows = db.session.execute(sa.select(PRICED).order_by(PRICED.c.id)).all()
        finally:
            db.session.rollback()
            PRICED.drop(db.session.connection(), checkfirst=True)
            db.session.commit()
        assert [tuple(row) for row in rows] == [
            (1, "partially_paid", Decimal("0.01"), None, "new"),
            (2, "open", Decimal("1.00"), None, "old"),
            (3, "paid", Decimal("12.34"), paid, "new"),
        ]


class Size(IntEnum):
    SMALL = 1
    LARGE = 100_000  # beyond a smallint: an array sized by the last element would wrap it


@pytest.mark.postgres_only  # SQLite gets plain values
class TestArrayParameters:
    def _sent(self, db, run):
        """Run ``run()`` and return (its result, the kinds of the parameters of its statements, in order)."""
        sent: list[list[str]] = []

        def spy(connection, cursor, statement, parameters, context, executemany):
            sent.append([type(value).__name__ for value in parameters.values()])

        sa.event.listen(db.engine, "before_cursor_execute", spy)
        try:
            return run(), sent
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", spy)

    def test_ids_texts_and_timestamps_go_in_binary_amounts_as_text(self, db):
        PRICED.create(db.session.connection())
        paid = datetime(2024, 3, 13, 13, 0, tzinfo=timezone(timedelta(hours=2)))
        try:
            db.session.execute(
                PRICED.insert(), [{"id": n, "state": "open", "amount": Decimal("5.00")} for n in (1, 2)]
            )
            rows = [{"id": Size.LARGE, "state": "paid", "amount": Decimal("12.34"), "paid_at": paid}]
            db.session.execute(PRICED.update().where(PRICED.c.id == 2).values(id=Size.LARGE))
            _, sent = self._sent(db, lambda: update_rows(PRICED, rows, key="id"))
            found, looked_up = self._sent(
                db,
                lambda: db.session.scalars(
                    sa.select(PRICED.c.id).where(one_of(PRICED.c.id, [Size.LARGE, 1]))
                ),
            )
            found = sorted(found)
            stored = db.session.execute(sa.select(PRICED).where(PRICED.c.id == Size.LARGE)).one()
            dumper = db.session.connection().connection.dbapi_connection.adapters.get_dumper(BinaryList, "s")
        finally:
            db.session.rollback()
            PRICED.drop(db.session.connection(), checkfirst=True)
            db.session.commit()
        assert sent == [["BinaryList", "BinaryList", "list", "BinaryList"]]  # id, state, amount, paid_at
        assert tuple(stored) == (Size.LARGE, "paid", Decimal("12.34"), paid, None)
        assert stored.paid_at.utcoffset() == timedelta(0) and stored.paid_at.hour == 11
        assert looked_up == [["BinaryList"]] and found == [1, Size.LARGE]
        assert issubclass(dumper, ListBinaryDumper)  # the connection was told (app.py)

    def test_each_element_type_is_a_statement_of_its_own(self, db):
        """The compiled statement (and its ``::TYPE[]`` cast) is cached by the element type."""
        statements = {
            str(sa.select(sa.literal(1)).where(one_of(column, [])).compile(db.engine))
            for column in (PRICED.c.id, PRICED.c.state, PRICED.c.paid_at)
        }
        keys = {_array_of(column.type)._static_cache_key for column in PRICED.c if column.name != "amount"}
        assert len(statements) == 3 and len(keys) == 4


class TestReserveIds:
    def test_ids_are_new_and_distinct(self, db, merchant):
        events = AuditEvent.__table__
        stored = db.session.scalar(sa.select(sa.func.max(events.c.id))) or 0
        ids = reserve_ids(events, 3)
        assert len(set(ids)) == 3
        assert min(ids) > stored
        if db.engine.dialect.name == "postgresql":  # drawn from the sequence: never handed out again
            assert min(reserve_ids(events, 2)) > max(ids)


def _autocommits(connection: sa.Connection) -> bool:
    return connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


class TestHeaderOf:
    def test_reads_a_header_as_werkzeug_does(self, app):
        headers = {"Accept-Language": "de-DE,de;q=0.9", "X-Request-Id": "req-12345678"}
        with app.test_request_context("/", headers=headers) as context:
            req = context.request
            for name in ("Accept-Language", "accept-language", "X-Request-Id", "X-Not-Sent"):
                assert header_of(req, name) == req.headers.get(name)
            assert header_of(req, "X-Not-Sent") is None


class TestRequestConnection:
    """A view marked ``@autocommit`` runs in autocommit on PostgreSQL only, unless its request holds a transaction."""

    @pytest.mark.parametrize(
        ("method", "path", "marked"),
        [("POST", "/api/v1/risk-checks", True), ("PUT", "/api/v1/policy", False), ("GET", "/nowhere", False)],
    )
    def test_autocommit_for_a_marked_view_on_postgresql(self, app, db, method, path, marked):
        with app.test_request_context(path, method=method):
            connection = request_connection()
            assert _autocommits(connection) is (marked and db.engine.dialect.name == "postgresql")
            assert request_connection() is connection  # the view's call after the token lookup's
            db.session.remove()

    def test_a_request_holding_a_transaction_keeps_it(self, app, db):
        with app.test_request_context("/api/v1/risk-checks", method="POST"):
            db.session.execute(sa.text("SELECT 1"))
            connection = request_connection()
            assert not _autocommits(connection)
            assert connection is db.session.connection()
            db.session.remove()

    def test_outside_a_request_the_sessions_connection(self, app, db):
        connection = request_connection()
        assert not _autocommits(connection)
        assert connection is db.session.connection()


class TestPreparedStatement:
    """A statement compiled once gives the values ``Connection.execute`` gives, and fails as SQLAlchemy does."""

    @staticmethod
    def _check_row(merchant_id: int, now: datetime) -> dict[str, Any]:
        """A stored risk check's columns: every one given, those a check needs with values."""
        return {column.key: None for column in RiskCheck.__table__.c} | {
            "merchant_id": merchant_id,
            "amount": Decimal("149.90"),
            "currency": "EUR",
            "decision": "accept",
            "score": 7,
            "rule": "score_accept",
            "latency_ms": 1.5,
            "created_at": now,
            "expires_at": now + timedelta(minutes=30),
        }

    def test_inserts_and_reads_the_values_execute_would(self, db, merchant):
        now = datetime(2026, 12, 7, 5, 30, 1, 250, tzinfo=UTC)
        checks = RiskCheck.__table__
        row = self._check_row(merchant.id, now) | {
            "id": "check-1",
            "reasons": [{"code": "FIRST_ORDER", "weight": 7, "params": {}}],
            "warnings": [],
            "offered_methods": ["invoice"],
            "hidden_methods": [],
            "email_key": "e" * 64,
        }
        connection = db.session.connection()
        PreparedStatement(sa.insert(checks), column_keys=checks.c.keys()).execute(connection, row)
        read = (
            sa.select(
                checks.c.id,
                checks.c.amount,
                checks.c.reasons,
                checks.c.raw_input,
                checks.c.created_at,
                (checks.c.created_at >= sa.bindparam("since")).label("recent"),
            )
            .where(checks.c.merchant_id == sa.bindparam("merchant_id"))
            .limit(1)  # a bind parameter with a value of its own
        )
        params = {"merchant_id": merchant.id, "since": now - timedelta(days=1)}
        rows = PreparedStatement(read).rows(connection, params)
        assert rows == [tuple(found) for found in connection.execute(read, params)]
        assert rows == [("check-1", Decimal("149.90"), row["reasons"], None, now, True)]

    def test_a_parameter_named_in_several_places_has_its_value_converted_in_each(self, db):
        at = sa.bindparam("at", type_=UTCDateTime)
        read = sa.select(at.label("first"), sa.bindparam("n", type_=sa.Integer).label("n"), at.label("again"))
        params = {"at": datetime(2026, 12, 7, 8, 40, tzinfo=UTC), "n": 3}
        connection = db.session.connection()
        rows = PreparedStatement(read).rows(connection, params)
        assert rows == [tuple(found) for found in connection.execute(read, params)]
        assert rows == [(params["at"], 3, params["at"])]

    def test_a_failing_read_raises_sqlalchemys_error(self, db):
        missing = sa.select(sa.table("no_such_table", sa.column("id")).c.id)
        with pytest.raises(sa.exc.DBAPIError):
            PreparedStatement(missing).rows(db.session.connection(), {})

    def test_a_parameter_not_given_is_refused_not_bound_as_null(self, db, merchant):
        checks = RiskCheck.__table__
        read = sa.select(checks.c.id).where(
            checks.c.merchant_id == sa.bindparam("merchant_id"), checks.c.created_at >= sa.bindparam("since")
        )
        with pytest.raises(sa.exc.InvalidRequestError, match="'since'"):
            PreparedStatement(read).rows(db.session.connection(), {"merchant_id": merchant.id})
        insert = PreparedStatement(sa.insert(checks), column_keys=checks.c.keys())
        row = {column.key: None for column in checks.c if column.key != "latency_ms"}
        with pytest.raises(sa.exc.InvalidRequestError, match="'latency_ms'"):
            insert.execute(db.session.connection(), row)

    def test_a_statement_leaving_a_python_default_unapplied_is_refused(self):
        checks = RiskCheck.__table__
        with pytest.raises(ValueError, match="created_at"):
            PreparedStatement(sa.insert(checks))  # every column as a parameter, the defaults never applied
        with pytest.raises(ValueError, match="'latency_ms'"):
            PreparedStatement(
                sa.insert(checks),
                column_keys=[column.key for column in checks.c if column.key != "latency_ms"],
            )
        with pytest.raises(ValueError, match="touched_at"):
            PreparedStatement(sa.update(STAMPED).values(note=sa.bindparam("note")))
        PreparedStatement(sa.insert(PRICED))  # no Python defaults: every column a parameter
        PreparedStatement(sa.update(STAMPED).values(note=sa.bindparam("note"), touched_at=sa.bindparam("at")))

    def test_documents_given_as_text_are_stored_as_the_types_conversion_stores_them(self, db, merchant):
        checks = RiskCheck.__table__
        documents = {
            "reasons": [
                {"code": "HIGH_AMOUNT", "weight": 20, "params": {"limit": "500.00", "name": 'Mü "x"'}}
            ],
            "warnings": [],
            "offered_methods": ["invoice", "sepa"],
            "hidden_methods": ["invoice"],
            "bureau": None,
            "raw_input": {"amount": 149.9, "email": "a@example.com"},
        }
        row = self._check_row(merchant.id, datetime(2026, 12, 7, 5, 30, tzinfo=UTC))
        connection = db.session.connection()
        connection.execute(sa.insert(checks), row | documents | {"id": "by-execute"})
        as_text = {name: None if doc is None else json.dumps(doc) for name, doc in documents.items()}
        PreparedStatement(
            sa.insert(checks), column_keys=checks.c.keys(), documents_as_text=list(documents)
        ).execute(connection, row | as_text | {"id": "as-text"})
        read = sa.select(
            *(checks.c[name] for name in documents),
            *(sa.cast(checks.c[name], sa.Text) for name in documents),
            *(checks.c[name].is_(None) for name in documents),
        ).where(checks.c.id == sa.bindparam("id"))
        stored = connection.execute(read, {"id": "as-text"}).one()
        assert stored == connection.execute(read, {"id": "by-execute"}).one()
        assert stored[: len(documents)] == tuple(documents.values())

    def test_documents_as_text_must_name_json_parameters_given_at_each_run(self, db):
        connection = db.session.connection()
        checks = RiskCheck.__table__
        for names, refused in ((["currency"], "not a JSON parameter"), (["reason"], "no bind parameters")):
            statement = PreparedStatement(
                sa.insert(checks), column_keys=checks.c.keys(), documents_as_text=names
            )
            with pytest.raises(ValueError, match=refused):
                statement.execute(connection, {})
        own = sa.select(sa.bindparam("doc", [1], type_=JSONType).label("doc"))
        with pytest.raises(ValueError, match="value of its own"):
            PreparedStatement(own, documents_as_text=["doc"]).rows(connection, {})

    def test_a_failing_write_raises_sqlalchemys_error(self, db):
        insert = PreparedStatement(sa.insert(PRICED))
        connection = db.session.connection()
        PRICED.create(connection)
        try:
            row = {"id": 1, "amount": Decimal("1.00"), "state": "open", "paid_at": None, "note": None}
            insert.execute(connection, row)
            with pytest.raises(sa.exc.IntegrityError):
                insert.execute(connection, row)
        finally:
            db.session.rollback()
            PRICED.drop(db.session.connection(), checkfirst=True)
            db.session.commit()

    def test_an_update_returns_its_rows_converted(self, db):
        connection = db.session.connection()
        PRICED.create(connection)
        try:
            connection.execute(PRICED.insert(), [{"id": 1, "amount": Decimal("1.00"), "state": "open"}])
            paid = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
            settle = (
                PRICED.update()
                .where(PRICED.c.id == sa.bindparam("priced_id"), PRICED.c.state == "open")
                .values(state="paid", paid_at=sa.bindparam("paid"))
                .returning(PRICED.c.amount, PRICED.c.paid_at)
            )
            prepared = PreparedStatement(settle)
            first = prepared.rows(connection, {"priced_id": 1, "paid": paid})
            again = prepared.rows(connection, {"priced_id": 1, "paid": paid})
        finally:
            db.session.rollback()
            PRICED.drop(db.session.connection(), checkfirst=True)
            db.session.commit()
        assert (first, again) == ([(Decimal("1.00"), paid)], [])


STAMPED = sa.Table(
    "stamped",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("note", sa.Text),
    sa.Column("touched_at", UTCDateTime, onupdate=datetime.now),
)


class TestExecuteMany:
    def test_a_parameter_not_given_is_refused(self, db):
        rename = (
            PRICED.update().where(PRICED.c.id == sa.bindparam("row_id")).values(note=sa.bindparam("row_note"))
        )
        with pytest.raises(sa.exc.InvalidRequestError, match="'row_id'"):
            execute_many(rename, [{"row_note": "a"}])


CODED = sa.Table(
    "coded",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(10), nullable=False, unique=True),
    sa.Column("label", sa.Text, nullable=False),
)


class TestInsertRows:
    @pytest.mark.parametrize("conflicts_rare", [False, True])
    def test_skips_rows_that_clash_and_leaves_the_id_to_its_default(self, db, conflicts_rare):
        CODED.create(db.session.connection())
        try:
            db.session.execute(CODED.insert(), [{"code": "a", "label": "stored"}])
            stored = insert_rows(
                CODED,
                [
                    {"code": "b", "label": "new"},
                    {"code": "a", "label": "clash"},
                    {"code": "c", "label": "new"},
                ],
                skip_conflicts_on=["code"],
                conflicts_rare=conflicts_rare,
            )
            assert insert_rows(CODED, [{"code": "d", "label": "new"}], skip_conflicts_on=["code"]) == 1
            rows = db.session.execute(sa.select(CODED.c.code, CODED.c.label).order_by(CODED.c.id)).all()
            ids = db.session.scalars(sa.select(CODED.c.id)).all()
        finally:
            db.session.rollback()
            CODED.drop(db.session.connection(), checkfirst=True)
            db.session.commit()
        assert stored == 2
        assert [tuple(row) for row in rows] == [("a", "stored"), ("b", "new"), ("c", "new"), ("d", "new")]
        assert len(set(ids)) == 4 and None not in ids

    @pytest.mark.parametrize("with_document", [False, True])
    def test_skipping_clashes_stores_rows_with_and_without_documents_alike(self, db, with_document):
        """On PostgreSQL rows with a document go through a temporary copy of the table, the others by ``unnest``."""
        noted = sa.Table(
            "noted",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("code", sa.String(10), nullable=False, unique=True),
            sa.Column("noted_at", UTCDateTime, nullable=False),
            sa.Column("doc", JSONType),
        )
        noted_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        rows = [
            {"code": code, "noted_at": noted_at, **({"doc": {"n": code}} if with_document else {})}
            for code in ("a", "b")
        ]
        noted.create(db.session.connection())
        try:
            db.session.execute(noted.insert(), [{"code": "a", "noted_at": datetime(2025, 1, 1, tzinfo=UTC)}])
            stored = insert_rows(noted, rows, skip_conflicts_on=["code"])
            got = db.session.execute(
                sa.select(noted.c.code, noted.c.noted_at, noted.c.doc).order_by(noted.c.id)
            ).all()
        finally:
            db.session.rollback()
            noted.drop(db.session.connection(), checkfirst=True)
            db.session.commit()
        assert stored == 1
        assert [tuple(row) for row in got] == [
            ("a", datetime(2025, 1, 1, tzinfo=UTC), None),
            ("b", noted_at, {"n": "b"} if with_document else None),
        ]

    def test_json_documents_are_stored_as_the_types_own_conversion_stores_them(self, db):
        """On PostgreSQL the documents go into ``COPY`` as text: the same documents, SQL NULL and JSON null as an
        INSERT stores them."""
        documents = sa.Table(
            "documents",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("doc", JSONType),
            sa.Column("kept", sa.JSON(none_as_null=False).with_variant(JSONB(), "postgresql")),
        )
        values = [
            ({"name": 'Müller \\ "Söhne"\t', "n": [1, 2.5, True, None]}, ["ä", {}]),
            (None, None),
            (sa.JSON.NULL, "text"),
            ([], 0),
        ]
        documents.create(db.session.connection())
        try:
            rows = [{"id": n, "doc": doc, "kept": kept} for n, (doc, kept) in enumerate(values, start=1)]
            assert insert_rows(documents, rows) == len(values)
            stored = db.session.execute(
                sa.select(
                    documents.c.doc,
                    documents.c.kept,
                    documents.c.doc.is_(None),
                    documents.c.kept.is_(None),
                ).order_by(documents.c.id)
            ).all()
        finally:
            db.session.rollback()
            documents.drop(db.session.connection(), checkfirst=True)
            db.session.commit()
        assert [tuple(row) for row in stored] == [
            ({"name": 'Müller \\ "Söhne"\t', "n": [1, 2.5, True, None]}, ["ä", {}], False, False),
            (None, None, True, False),
            (None, "text", False, False),
            ([], 0, False, False),
        ]
