"""Extension singletons, initialised by the app factory in a fixed order."""

from __future__ import annotations

import itertools
import json
import operator
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask, Request, current_app, g, has_request_context, request
from flask.ctx import _AppCtxGlobals
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so Alembic migrations are portable."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp that is always stored and returned as an aware UTC datetime (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def current_request() -> Request:
    """Return the request itself: its context-local proxy ``flask.request`` looks it up again on every use."""
    return request._get_current_object()  # type: ignore[attr-defined]


def header_of(req: Request, name: str) -> str | None:
    """Return the request header ``name`` as ``req.headers.get(name)`` does, read from the WSGI environ.

    werkzeug finds a header that was not sent by raising and catching a KeyError. Not for Content-Type and
    Content-Length, which the environ keeps without the ``HTTP_`` prefix.
    """
    return req.environ.get("HTTP_" + name.upper().replace("-", "_"))


def current_g() -> _AppCtxGlobals:
    """Return ``flask.g`` itself, not its context-local proxy (as ``current_request``)."""
    return g._get_current_object()  # type: ignore[attr-defined]


# Where Authlib keeps the request's bearer token on ``g`` (its ``current_token`` reads it there).
BEARER_TOKEN_IN_G = "authlib_server_oauth2_token"  # noqa: S105 - an attribute name, not a secret


def request_token() -> Any:
    """Return the bearer token the request was authenticated with (``backend.auth``'s grant), or None:
    Authlib's ``current_token``, read from ``g`` itself rather than through two context-local proxies. Here,
    below ``backend.auth``, so that the access log can name the merchant without importing it."""
    return current_g().get(BEARER_TOKEN_IN_G)


def current_application() -> Flask:
    """Return the app itself, not its context-local proxy ``flask.current_app`` (as ``current_request``)."""
    return current_app._get_current_object()  # type: ignore[attr-defined]


def autocommit(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose writes are single statements, each durable on its own (see ``request_connection``)."""
    view.autocommit = True  # type: ignore[attr-defined]
    return view


def request_connection() -> sa.Connection:
    """Return the session's connection; on PostgreSQL in autocommit for a view marked ``@autocommit``.

    In autocommit each statement commits on its own, which spares the BEGIN and COMMIT round trips; the
    bearer-token lookup, an API request's first statement, takes the connection this way, so the request opens
    no transaction at all. SQLite has no round trips to spare, and flipping its driver's isolation level costs
    more than it saves. A request that already holds a transaction keeps it.
    """
    session = db.session()
    if (
        not session.in_transaction()  # the view's own call after the token lookup's: the same connection
        and has_request_context()
        and db.engine.dialect.name == "postgresql"
        and getattr(
            current_application().view_functions.get(current_request().endpoint or ""), "autocommit", False
        )
    ):
        return session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session.connection()


_REQUIRED = object()  # the own value of a bind parameter that has none: each run must give one


@dataclass(frozen=True, slots=True)
class _CompiledStatement:
    sql: str
    positional: bool
    # Name, conversion and own value (``_REQUIRED`` if none) of each bind parameter, in the order a positional
    # statement takes them.
    binds: list[tuple[str, Callable[[Any], Any] | None, Any]]
    types: list[sa.types.TypeEngine[Any]]  # of the returned columns (none for an INSERT without RETURNING)
    dated: frozenset[str]  # the bind parameters of days and timestamps
    # ``binds`` with each parameter once, and (None if none repeats) for each position of ``binds`` the index of
    # its parameter here: a positional statement takes a parameter named several times (the context read's
    # merchant and dates) at each place, converted once.
    distinct: list[tuple[str, Callable[[Any], Any] | None, Any]]
    places: list[int] | None


def _compile(
    statement: sa.Executable,
    dialect: sa.Dialect,
    column_keys: Sequence[str] | None,
    documents_as_text: Collection[str] = (),
) -> _CompiledStatement:
    """Compile ``statement`` for ``dialect`` with the values of ``column_keys`` given at each run, and look up
    each bind parameter's conversion (none for the JSON parameters of ``documents_as_text``, each of which
    must be a JSON bind parameter given at each run: otherwise ValueError).

    A statement that leaves a column to a default computed in Python (which ``Connection.execute`` would fill
    in) is refused: its SQL text, run with the given values, would store NULL instead.
    """
    compiled = _refusing_python_defaults(statement.compile(dialect=dialect, column_keys=column_keys))
    names = compiled.positiontup if compiled.positional else list(compiled.binds)
    # A listed name that is no parameter would leave its column's conversion on: the text stored as a JSON string.
    unknown = sorted(set(documents_as_text).difference(names))
    if unknown:
        raise ValueError(f"documents_as_text names no bind parameters: {unknown}")
    binds = []
    for name in names:
        bind = compiled.binds[name]
        own = _REQUIRED if bind.required else bind.effective_value
        if name in documents_as_text:
            if not isinstance(bind.type, sa.JSON):
                raise ValueError(f"{name!r} is not a JSON parameter")
            if own is not _REQUIRED:
                raise ValueError(f"{name!r} has a value of its own, which would not be serialised")
            binds.append((name, None, own))
            continue
        binds.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect), own))
    types = [column.type for column in getattr(statement, "exported_columns", ())]
    dated = frozenset(
        name for name, bind in compiled.binds.items() if bind.type._type_affinity in (sa.Date, sa.DateTime)
    )
    index = {name: position for position, name in enumerate(dict.fromkeys(names))}
    distinct = [binds[names.index(name)] for name in index]
    places = [index[name] for name in names] if len(index) < len(names) else None
    return _CompiledStatement(compiled.string, compiled.positional, binds, types, dated, distinct, places)


def _refusing_python_defaults(compiled: sa.engine.Compiled) -> sa.engine.Compiled:
    """Return ``compiled`` unless it leaves a column to a default computed in Python (raise ValueError)."""
    defaulted = [column.key for column in (*compiled.insert_prefetch, *compiled.update_prefetch)]
    if defaulted:
        raise ValueError(f"a statement run as SQL text needs values for the defaulted columns {defaulted}")
    return compiled


def _missing(name: str) -> sa.exc.InvalidRequestError:
    """Return the error for a bind parameter without a value (as ``Connection.execute`` raises it)."""
    return sa.exc.InvalidRequestError(f"A value is required for bind parameter {name!r}")


class PreparedStatement:
    """A Core statement compiled once per dialect and run as its SQL text; returned rows come back as tuples.

    ``Connection.execute`` walks the whole expression for its cache key and sets up a result for it on every
    call: for the risk check's context read that cost more than SQLite's execution of it. Here the statement
    is compiled once per dialect, with each bind value and each returned column converted by its type as
    ``Connection.execute`` does. It runs on the connection's DBAPI cursor, as SQLAlchemy would run it, without
    an execution context or a result (its errors are wrapped as SQLAlchemy's, and a lost connection is
    invalidated), and so without the engine's cursor events, its echo or its autobegin: the connection must
    already be in a transaction (a session's connection is).

    Every bind parameter without a value of its own must be given at each run. ``column_keys`` names the
    columns an INSERT or UPDATE is given values for (by default: all of an INSERT or UPDATE without values of
    its own); a statement that would leave a column to a default computed in Python is refused here.
    ``documents_as_text`` names JSON parameters given as their document's text (None for SQL NULL), which a
    caller that serialised the document anyway passes on unconverted: SQLite stores that text, as the type's
    conversion (``json.dumps``) would have written it, and PostgreSQL reads it through the statement's cast.
    """

    def __init__(
        self,
        statement: sa.Executable,
        column_keys: Sequence[str] | None = None,
        *,
        documents_as_text: Sequence[str] = (),
    ) -> None:
        self.statement = statement
        self.column_keys = None if column_keys is None else list(column_keys)
        self.documents_as_text = frozenset(documents_as_text)
        # Without column keys SQLAlchemy compiles a bare INSERT or UPDATE over every column, defaults
        # unapplied: with none given, each Python default shows (and a primary key without a value warns).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            _refusing_python_defaults(statement.compile(column_keys=self.column_keys or []))
        self._by_dialect: dict[str, _CompiledStatement] = {}
        self._results: dict[str, list[tuple[int, Callable[[Any], Any]]]] = {}

    def _compiled(self, dialect: sa.Dialect) -> _CompiledStatement:
        entry = self._by_dialect[dialect.name] = _compile(
            self.statement, dialect, self.column_keys, self.documents_as_text
        )
        return entry

    def _conversions(
        self, compiled: _CompiledStatement, dialect: sa.Dialect, cursor: Any
    ) -> list[tuple[int, Callable[[Any], Any]]]:
        """Return the position and conversion of each column that has one (some depend on the driver's type).

        The cursor's description is read the first time only: psycopg builds it anew on each access, which cost
        more client CPU than fetching the rows.
        """
        conversions = self._results.get(dialect.name)
        if conversions is None:
            conversions = self._results[dialect.name] = [
                (position, convert)
                for position, (type_, column) in enumerate(
                    zip(compiled.types, cursor.description, strict=True)
                )
                if (convert := type_.dialect_impl(dialect).result_processor(dialect, column[1])) is not None
            ]
        return conversions

    def _prepare(
        self, connection: sa.Connection, params: Mapping[str, Any]
    ) -> tuple[_CompiledStatement, Any]:
        compiled = self._by_dialect.get(connection.dialect.name) or self._compiled(connection.dialect)
        values = []
        for name, convert, own in compiled.distinct:
            value = params.get(name, own)
            if value is _REQUIRED:
                raise _missing(name)
            values.append(convert(value) if convert else value)
        if compiled.places is not None:
            return compiled, tuple([values[index] for index in compiled.places])
        if compiled.positional:
            return compiled, tuple(values)
        return compiled, {name: value for (name, _, _), value in zip(compiled.distinct, values, strict=True)}

    def execute(self, connection: sa.Connection, params: Mapping[str, Any]) -> None:
        """Run the statement (one without rows) with ``params`` (by bind name) on ``connection``.

        On the DBAPI cursor as ``rows`` runs it: ``exec_driver_sql`` set up an execution context and a result
        for it, which cost the risk check's INSERT about as much as SQLite's execution of it. That raw path
        skips what ``exec_driver_sql`` does around the execution: the engine's ``before_cursor_execute`` and
        ``after_cursor_execute`` events, its echo (SQL logging) and its autobegin. ``connection`` must therefore
        already be in its transaction (a session's connection is: the session began one to hand it out), so
        that the transaction's commit commits the write.
        """
        compiled, parameters = self._prepare(connection, params)
        self._run(connection, compiled, parameters, fetch=False)

    def rows(self, connection: sa.Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement (one with rows) with ``params`` (by bind name) on ``connection``; return every row."""
        compiled, parameters = self._prepare(connection, params)
        return self._run(connection, compiled, parameters, fetch=True)

    def _run(
        self, connection: sa.Connection, compiled: _CompiledStatement, parameters: Any, *, fetch: bool
    ) -> list[tuple[Any, ...]]:
        dbapi_connection = connection.connection.dbapi_connection
        dialect = connection.dialect
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
            if not fetch:
                return []
            fetched = cursor.fetchall()
            conversions = self._conversions(compiled, dialect, cursor)
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, dbapi_connection, cursor)
            if lost:
                connection.invalidate()
            raise sa.exc.DBAPIError.instance(
                compiled.sql,
                parameters,
                error,
                dialect.loaded_dbapi.Error,
                hide_parameters=connection.engine.hide_parameters,
                connection_invalidated=lost,
                dialect=dialect,
            ) from error
        finally:
            cursor.close()
        if not conversions:
            return fetched
        converted = []
        for row in fetched:
            values = list(row)
            for position, convert in conversions:
                values[position] = convert(values[position])
            converted.append(tuple(values))
        return converted


def dialect_insert(target: Any, dialect: str | None = None) -> Any:
    """Return the INSERT of ``dialect`` (by name; the session's by default), which knows ON CONFLICT (SQLite and
    PostgreSQL both do)."""
    if (dialect or db.session.get_bind().dialect.name) == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


# SQLAlchemy keeps an INSERT's row count only when asked to.
_ROW_COUNT = {"preserve_rowcount": True}


def execute_many(statement: sa.Executable, rows: Sequence[Mapping[str, Any]]) -> int:
    """Run a Core INSERT/UPDATE once per row in one DBAPI ``executemany``, converting values column-wise.

    The same as ``db.session.execute(statement, rows)`` (the same SQL and the same type conversions), without
    SQLAlchemy building and processing a parameter set per row, which cost bulk imports about a third of their
    time. Every row has the keys of the first; values the database or a Python default would fill in must be
    given (a statement that needs them is refused). Returns the rows written (the driver's row count).
    """
    if not rows:
        return 0
    db.session.flush()  # what the session holds goes first, as ``session.execute`` of an ORM statement does
    connection = db.session.connection()
    compiled, names, converted = _converted(connection.dialect, statement, rows)
    if compiled.positional:
        parameters: list[Any] = converted
    else:
        parameters = [dict(zip(names, values, strict=True)) for values in converted]
    written = connection.exec_driver_sql(compiled.sql, parameters, execution_options=_ROW_COUNT)
    return written.rowcount


def _converted(
    dialect: sa.Dialect,
    statement: sa.Executable,
    rows: Sequence[Mapping[str, Any]],
    conversions: Mapping[str, Callable[[Any], Any]] | None = None,
) -> tuple[_CompiledStatement, list[str], list[tuple[Any, ...]]]:
    """Compile ``statement`` for the rows' keys; return it, its parameter names and each row's DBAPI values.

    ``conversions`` replaces the type's conversion of the parameters it names.
    """
    compiled = _compile(statement, dialect, list(rows[0]))
    given = rows[0].keys()
    names, columns = [], []
    for name, convert, own in compiled.binds:
        names.append(name)
        if conversions is not None:
            convert = conversions.get(name, convert)
        if name not in given:
            if own is _REQUIRED:
                raise _missing(name)
            columns.append(itertools.repeat(convert(own) if convert else own, len(rows)))
            continue
        values = map(operator.itemgetter(name), rows)
        if convert is not None and name in compiled.dated:
            convert = _remembered(convert)
        columns.append(values if convert is None else map(convert, values))
    converted = list(zip(*columns, strict=True))
    return compiled, names, converted


def _remembered(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Return ``convert`` for days and timestamps, converting each distinct one once (a batch's repeat).

    Equal timestamps with other UTC offsets are kept apart: a plain ``DateTime`` on SQLite stores the clock time.
    """
    results: dict[Any, Any] = {}

    def remembered(value: Any) -> Any:
        key = (value, value.utcoffset()) if isinstance(value, datetime) else value
        if key not in results:
            results[key] = convert(value)
        return results[key]

    return remembered


def insert_rows(
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts_on: Sequence[str] = (),
    conflicts_rare: bool = False,
) -> int:
    """Insert rows (every one with the keys of the first) as one set; with ``skip_conflicts_on``, rows that
    clash with a stored row on those columns are left out (``ON CONFLICT DO NOTHING``).

    SQLite: one ``execute_many``. PostgreSQL: the rows are streamed with ``COPY`` (into a temporary copy of the
    table when conflicts are skipped, then moved by one ``INSERT … SELECT … ON CONFLICT DO NOTHING``), so the
    server runs a few statements per batch instead of one per row. Values take the same type conversions
    (JSON documents as their text).
    ``conflicts_rare`` (the caller looked the rows up in this transaction; only another writer can clash):
    on PostgreSQL the rows are first copied straight into the table under a savepoint, and only a batch that
    clashes takes the temporary copy (the staging table and the checked INSERT cost the server about a
    third of a CSV import's batch). Returns how many rows were stored.
    """
    if not rows:
        return 0
    if db.session.get_bind().dialect.name != "postgresql":
        statement = dialect_insert(table)
        if skip_conflicts_on:
            statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        return execute_many(statement, rows)
    db.session.flush()
    connection = db.session.connection()
    as_text = {
        key: _json_text(table.c[key].type) for key in rows[0] if isinstance(table.c[key].type, sa.JSON)
    }
    _, keys, converted = _converted(connection.dialect, sa.insert(table), rows, as_text)
    names = [table.c[key].name for key in keys]
    if (
        skip_conflicts_on
        and conflicts_rare
        and _copy_unless_clashing(connection, table.name, names, converted)
    ):
        return len(rows)
    if skip_conflicts_on and not as_text:
        # Rows without documents go in by one INSERT … SELECT FROM unnest(…) with an array parameter per column
        # (as ``update_rows``): the temporary copy cost a CREATE, a COPY, the INSERT and a DROP per batch.
        given = _unnested(table, keys, rows)
        return connection.execute(
            postgresql.insert(table)
            .from_select(names, sa.select(*given.c))
            .on_conflict_do_nothing(index_elements=list(skip_conflicts_on)),
            execution_options=_ROW_COUNT,
        ).rowcount
    from psycopg import sql  # here, not at the top: processes on SQLite need not import psycopg

    target = table
    if skip_conflicts_on:
        target = sa.table(f"staging_{table.name}", *(sa.column(name) for name in names))
        # The given columns only, without the table's constraints: rows may leave the id to its default.
        create = sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA")
        with connection.connection.cursor() as cursor:
            cursor.execute(
                create.format(
                    sql.Identifier(target.name),
                    sql.SQL(", ").join(map(sql.Identifier, names)),
                    sql.Identifier(table.name),
                )
            )
    _copy(connection, target.name, names, converted)
    if not skip_conflicts_on:
        return len(rows)
    stored = connection.execute(
        postgresql.insert(table)
        .from_select(names, sa.select(*target.c))
        .on_conflict_do_nothing(index_elements=list(skip_conflicts_on)),
        execution_options=_ROW_COUNT,
    ).rowcount
    connection.execute(sa.text(f"DROP TABLE {target.name}"))
    return stored


def _json_text(type_: sa.JSON) -> Callable[[Any], str | None]:
    """Return the conversion of a JSON column's values for ``COPY``: the document's text, None for SQL NULL.

    The server reads each ``COPY`` field as text, so a document goes as the text that the type's own conversion
    (psycopg's ``Jsonb`` wrapper and its dumper) would have written, without those two steps: a CSV import row
    has four or five documents (this process's CPU for converting and copying 30,000 rows 0.82 -> 0.74 s).
    """
    none_as_null = type_.none_as_null

    def convert(value: Any) -> str | None:
        if value is sa.JSON.NULL:
            value = None
        elif isinstance(value, sa.sql.elements.Null) or (value is None and none_as_null):
            return None
        return json.dumps(value)

    return convert


def _copy(connection: sa.Connection, table: str, names: list[str], converted: list[tuple[Any, ...]]) -> None:
    """Stream converted rows into a PostgreSQL table with ``COPY``."""
    from psycopg import sql  # here, not at the top: processes on SQLite need not import psycopg

    copy_rows = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with connection.connection.cursor() as cursor, cursor.copy(copy_rows) as copy:
        for values in converted:
            copy.write_row(values)


def _copy_unless_clashing(
    connection: sa.Connection, table: str, names: list[str], converted: list[tuple[Any, ...]]
) -> bool:
    """``COPY`` rows straight into a PostgreSQL table under a savepoint; False (nothing stored) on a clash."""
    from psycopg import errors  # here, not at the top: processes on SQLite need not import psycopg

    raw = connection.connection.dbapi_connection
    raw.execute("SAVEPOINT bulk_copy")
    try:
        _copy(connection, table, names, converted)
    except errors.UniqueViolation:
        raw.execute("ROLLBACK TO SAVEPOINT bulk_copy")
        raw.execute("RELEASE SAVEPOINT bulk_copy")
        return False
    raw.execute("RELEASE SAVEPOINT bulk_copy")
    return True


def allocate_ids(table: sa.Table, count: int) -> list[int] | None:
    """Draw ``count`` ids from a PostgreSQL table's sequence for a bulk INSERT; None on SQLite.

    A multi-row INSERT … RETURNING costs psycopg a parse of the whole statement text per batch (it is too long
    for its cache); rows with ids drawn beforehand go in with a plain executemany of one short statement.
    """
    if count == 0 or db.session.get_bind().dialect.name != "postgresql":
        return None
    return reserve_ids(table, count)


def reserve_ids(table: sa.Table, count: int) -> list[int]:
    """Reserve ``count`` ids of ``table`` for rows this transaction inserts, on PostgreSQL and SQLite.

    PostgreSQL draws them from the table's sequence. SQLite has one writer at a time: a write that changes
    nothing takes its write lock for this transaction, so no other connection inserts before the commit and
    the ids after the largest one stay free (the ones SQLite would have chosen itself).
    """
    if count == 0:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        # The sequence is looked up once, in a subquery: as nextval's argument it was looked up in the catalog
        # and cast to regclass for every id (10,000 ids 21-29 ms of server time, 2 ms this way).
        sequence = sa.select(sa.cast(sa.func.pg_get_serial_sequence(table.name, "id"), postgresql.REGCLASS))
        return list(
            db.session.scalars(
                sa.select(sa.func.nextval(sequence.scalar_subquery())).select_from(
                    sa.func.generate_series(1, count)
                )
            )
        )
    db.session.execute(sa.update(table).where(sa.false()).values(id=table.c.id))
    largest = db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0
    return list(range(largest + 1, largest + 1 + count))


@contextmanager
def plan_for_growing_tables() -> Iterator[None]:
    """On PostgreSQL, plan each statement this connection sends meanwhile for its own values: psycopg prepares none.

    A bulk import grows a table from nothing inside one transaction. psycopg prepares a statement after five
    runs, and the generic plan PostgreSQL caches then (built while the table looked empty) filtered the whole
    table by the batch's ids instead of looking them up: 100,000 CSV rows took over ten minutes. A statement
    sent unprepared is planned at each run for its values. The server's own statements keep its usual plan
    cache: ``SET LOCAL plan_cache_mode = force_custom_plan`` planned the foreign-key check of every row
    ``COPY`` stored anew, 30 % of a CSV import's server CPU. The connection's threshold is given back at the end
    (also on an error), before it serves anything else.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    raw = db.session.connection().connection.dbapi_connection
    before = raw.prepare_threshold
    raw.prepare_threshold = None
    try:
        yield
    finally:
        raw.prepare_threshold = before


BULK_WRITE_CACHE_KIB = 64 * 1024


@contextmanager
def bulk_write_cache() -> Iterator[None]:
    """On SQLite, let this connection keep 64 MiB of pages (not 2 MiB) while a bulk import writes, then shrink.

    A CSV import writes 100,000 receivables into seven indexes, two of them keyed by random hashes (the identity
    keys) and one by the scrambled payment references: with SQLite's default cache their pages were dropped and
    read again, and dirty ones spilled to the WAL, many times over within the one transaction. The cache is
    this connection's own and is given back at the end (also on an error), before the connection serves
    anything else.
    """
    if db.session.get_bind().dialect.name != "sqlite":
        yield
        return
    raw = db.session.connection().connection.dbapi_connection
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size = -{BULK_WRITE_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(before)}")


# What the planner counted for a table, its size now, and whether a column has statistics: an ANALYZE rolled back
# with its transaction keeps the counts (PostgreSQL writes them in place) but not the column's statistics.
_STATISTICS = sa.text(
    "SELECT c.reltuples, c.relpages, pg_relation_size(c.oid) / current_setting('block_size')::integer,"
    " EXISTS (SELECT FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname"
    " AND s.attname = :column)"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(:table)"
)


def keep_statistics(table: sa.Table, columns: Sequence[str], *, added: int) -> None:
    """On PostgreSQL, ANALYZE ``columns`` of a table this transaction grows when its statistics fall behind.

    That is when the table was never analyzed (or its analysis was rolled back), when it has more than twice the
    pages the statistics counted, or when they count fewer rows than half the ``added`` ones (this transaction's
    so far): at most once per doubling. Our own ANALYZE counts this transaction's rows; one by another session
    (autovacuum) meanwhile counts their pages but not them, which only ``added`` shows. Without statistics
    PostgreSQL took a connection's rows for a few dozen and looked up a CSV batch's external ids by reading all
    of that connection's receivables (115 ms per batch at 50,000, growing with every batch). ``SKIP_LOCKED``:
    while another import holds the table's ANALYZE lock this one goes on with the statistics there are, rather
    than wait for its commit.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    counted, counted_pages, pages, analyzed = db.session.execute(
        _STATISTICS, {"table": table.name, "column": columns[0]}
    ).one()
    if analyzed and counted >= 0 and pages <= 2 * counted_pages and 2 * counted >= added:
        return
    from psycopg import sql  # here, not at the top: processes on SQLite need not import psycopg

    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    analyze = sql.SQL("ANALYZE (SKIP_LOCKED) {} ({})").format(sql.Identifier(table.name), names)
    with db.session.connection().connection.cursor() as cursor:
        cursor.execute(analyze)


def insert_rare_clashes(
    table: sa.Table, rows: Sequence[Mapping[str, Any]], *, unique: Sequence[str]
) -> set[Any]:
    """Insert rows carrying their ids (``reserve_ids``) that the caller looked up in this transaction, skipping one
    another writer stored meanwhile on the ``unique`` columns; return the ids stored.

    Only a batch that stored fewer rows than it was given is read back (``insert_rows`` with ``conflicts_rare``).
    """
    ids = [row["id"] for row in rows]
    if insert_rows(table, rows, skip_conflicts_on=unique, conflicts_rare=True) == len(rows):
        return set(ids)
    return set(db.session.scalars(sa.select(table.c.id).where(one_of(table.c.id, ids))))


class BinaryList(list):
    """A list psycopg sends as a binary array on connections told so (``app.py``); others send it as text."""

    __slots__ = ()


def _sent_in_binary(column_type: sa.types.TypeEngine[Any]) -> bool:
    """Say whether an array of the type's values dumps faster in binary: all but decimals, floats and documents."""
    return column_type._type_affinity in (sa.Integer, sa.String, sa.Date, sa.DateTime, sa.Boolean)


class _BinaryArray(sa.types.TypeDecorator[list[Any]]):
    """PostgreSQL's array of ``item_type`` whose parameter goes as a ``BinaryList``."""

    impl = postgresql.ARRAY
    cache_ok = True

    def __init__(self, item_type: sa.types.TypeEngine[Any]) -> None:
        super().__init__(item_type)
        self.item_type = item_type  # in the cache key: statements with another element type are others

    def bind_processor(self, dialect: sa.Dialect) -> Callable[[Any], Any]:
        # Not process_bind_param: ARRAY's own processor runs after that one and makes a plain list again.
        process = self.impl_instance.dialect_impl(dialect).bind_processor(dialect)
        integers = self.item_type._type_affinity is sa.Integer

        def as_binary(value: Any) -> Any:
            value = process(value)
            if value is None:
                return None
            return BinaryList(map(_plain_int, value) if integers else value)

        return as_binary


def _plain_int(value: Any) -> Any:
    """Return an int subclass's value (IntEnum, bool) as an int; anything else as it is.

    psycopg sizes a binary array's integers by the largest one only when they are exact ints; for a subclass it
    takes the last element's size and would wrap larger values without an error.
    """
    return int(value) if isinstance(value, int) and type(value) is not int else value


def _array_of(item_type: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    """Return the type of a PostgreSQL array parameter of ``item_type``, sent in binary where that is faster."""
    return _BinaryArray(item_type) if _sent_in_binary(item_type) else postgresql.ARRAY(item_type)


def one_of(column: sa.ColumnElement[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Return ``column IN values``; on PostgreSQL as ``= ANY(array)``, one parameter however many values.

    A batch's IN list of a thousand parameters made psycopg split the whole query text anew for each batch.
    Elsewhere one expanding parameter: SQLAlchemy coerced and compiled each value as a bind of its own.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=_array_of(column.type)))
    return column.in_(sa.bindparam(None, list(values), expanding=True))


def _unnested(table: sa.Table, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> sa.TableValuedAlias:
    """Return PostgreSQL's ``unnest`` of the rows' ``keys`` columns, one array parameter each, as a derived table."""
    arrays = (
        sa.bindparam(None, [row[key] for row in rows], type_=_array_of(table.c[key].type)) for key in keys
    )
    return sa.func.unnest(*arrays).table_valued(*keys).render_derived()


def update_rows(table: sa.Table, rows: Sequence[Mapping[str, Any]], *, key: str, **fixed: Any) -> None:
    """Set columns of many rows found by their ``key`` column (every row with the keys of the first), as one set.

    ``fixed`` gives columns set to one value on every row. SQLite: one ``execute_many`` of an UPDATE by key.
    PostgreSQL: one ``UPDATE … FROM unnest(…)`` with an array parameter per column: one statement per batch,
    where an executemany made the server plan and run one UPDATE per row (8,000 of them took 0.8 s of a
    statement import's 10,000 transfers).
    """
    if not rows:
        return
    names = list(rows[0])
    changed = [name for name in names if name != key]
    if db.session.get_bind().dialect.name != "postgresql":
        statement = (
            table.update()
            .where(table.c[key] == sa.bindparam(f"row_{key}"))
            .values({**{name: sa.bindparam(f"row_{name}") for name in changed}, **fixed})
        )
        execute_many(statement, [{f"row_{name}": row[name] for name in names} for row in rows])
        return
    given = _unnested(table, names, rows)
    db.session.execute(
        table.update()
        .where(table.c[key] == given.c[key])
        .values({**{name: given.c[name] for name in changed}, **fixed})
    )


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    from flask_limiter import Limiter

    from backend.openapi import ClaimBridgeApi

    limiter: Limiter
    api: ClaimBridgeApi


def _make_limiter() -> Limiter:
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    # A rate-limit store that is down (Redis restarting) must not turn /oauth/token into 500s: count in this
    # process's memory until it is back, and let a storage error pass rather than refuse the request.
    return Limiter(
        key_func=get_remote_address, default_limits=[], in_memory_fallback_enabled=True, swallow_errors=True
    )


def _make_api() -> ClaimBridgeApi:
    from backend.openapi import ClaimBridgeApi

    return ClaimBridgeApi()


# The web's extensions, each made when it is first imported (a module ``__getattr__``, PEP 562): a command or the
# worker serves no requests, and need not import Flask-Limiter, flask-smorest and marshmallow to start.
_MADE_WHEN_FIRST_USED = {"limiter": _make_limiter, "api": _make_api}


def __getattr__(name: str) -> Any:
    """Return ``limiter`` or ``api``, made once, on first use."""
    if name not in _MADE_WHEN_FIRST_USED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    made = globals()[name] = _MADE_WHEN_FIRST_USED[name]()
    return made
