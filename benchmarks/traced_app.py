"""``backend:create_app()`` recording where each request's wall time went, for the benchmarks' ``--trace``.

Under a gevent worker every request is a greenlet of one OS thread. A greenlet switch hook charges the thread's
CPU time to the greenlet that ran, so a request's wall time splits into: its own CPU (of which the cyclic
garbage collector's, and the database driver's inside SQL statements), the CPU of the worker's other greenlets
that ran meanwhile, and the time the worker's thread did not run at all (waiting for the database server or the
disk, or the OS running another process). Of the time the thread did not run, the kernel counts what it spent
runnable on a run queue while the OS ran other processes (``/proc/thread-self/schedstat``). A request that
arrives while the worker runs another one waits before it reaches the app: wrk stamps each request with the
moment it sent it (``X-Sent-At``, see wrk_bodies.lua), and the switch hook's log tells what the worker's
thread did since.

One line per request goes to ``$TRACE_DIR/<pid>.tsv`` when the worker exits: start (Unix time), path, wall, own
CPU, GC, SQL wall, SQL own CPU, others' CPU, switches, wall waiting for SQLite's writer lock, wall in COMMIT,
connections opened, wall on the run queue, wall in writing statements; then from wrk's send to the app: wall,
the worker's CPU (its other greenlets', and gunicorn reading this request) and its time on the run queue (ms
but the counts). SQL counts the statements run through SQLAlchemy and ``PreparedStatement.rows`` (which runs
on the DBAPI cursor).
"""

from __future__ import annotations

import atexit
import collections
import gc
import os
import time
from pathlib import Path
from typing import Any

import greenlet
import sqlalchemy as sa

from backend import create_app, sqlite_writers
from backend.extensions import PreparedStatement, db

clock = time.thread_time
_cpu: dict[int, float] = {}  # greenlet id -> CPU charged to it so far
_gc: dict[int, float] = {}
_sql: dict[int, list[float]] = {}  # greenlet id -> [wall, own CPU] in statements
_switches: dict[int, int] = {}
_locked: dict[
    int, float
] = {}  # greenlet id -> wall time waiting for SQLite's writer lock (sqlite_writers.py)
_commits: dict[int, float] = {}  # greenlet id -> wall time in the database's COMMIT
_connects: dict[int, int] = {}  # greenlet id -> database connections opened
_written: dict[int, float] = {}  # greenlet id -> wall time in INSERT, UPDATE and DELETE statements
_WRITES = ("INSERT", "UPDATE", "DELETE")
_last = [clock()]
_rows: list[str] = []
# The worker's request thread (this module is imported by it): its time on a run queue, by the kernel.
_SCHEDSTAT = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
# (Unix time, thread CPU, time on a run queue) at the recent greenlet switches: what the thread did before a
# request reached the app, since wrk sent it (X-Sent-At).
_switch_log: collections.deque[tuple[float, float, float]] = collections.deque(maxlen=4096)


def _run_queue_wait() -> float:
    """Return the seconds the request thread has waited on a run queue: runnable while the OS ran another."""
    return int(os.pread(_SCHEDSTAT, 64, 0).split()[1]) / 1e9


def _on_switch(event: str, args: Any) -> None:
    if event in ("switch", "throw"):
        now = clock()
        origin = id(args[0])
        _cpu[origin] = _cpu.get(origin, 0.0) + now - _last[0]
        _switches[origin] = _switches.get(origin, 0) + 1
        _last[0] = now
        _switch_log.append((time.time(), now, _run_queue_wait()))


def _thread_at(moment: float) -> tuple[float, float]:
    """Return the thread's CPU and run-queue time at ``moment`` (Unix time), interpolated between switches."""
    later = (time.time(), clock(), _run_queue_wait())
    for earlier in reversed(_switch_log):
        if earlier[0] <= moment:
            share = (moment - earlier[0]) / max(later[0] - earlier[0], 1e-9)
            return tuple(a + (b - a) * share for a, b in zip(earlier[1:], later[1:], strict=True))  # type: ignore[return-value]
        later = earlier
    return later[1], later[2]


def _own_cpu(key: int) -> float:
    return _cpu.get(key, 0.0) + clock() - _last[0]


_collecting: list[float] = []


def _on_collect(phase: str, _info: dict[str, Any]) -> None:
    if phase == "start":
        _collecting.append(clock())
    elif _collecting:
        key = id(greenlet.getcurrent())
        _gc[key] = _gc.get(key, 0.0) + clock() - _collecting.pop()


def _dump() -> None:
    directory = os.environ.get("TRACE_DIR")
    if directory:
        Path(directory, f"{os.getpid()}.tsv").write_text("".join(_rows))


class Traced:
    """WSGI middleware timing each request (until the app returned its body) and its greenlet."""

    def __init__(self, wsgi: Any) -> None:
        self.wsgi = wsgi

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        key = id(greenlet.getcurrent())
        _cpu.pop(key, None)
        _gc.pop(key, None)
        _switches.pop(key, None)
        _locked.pop(key, None)
        _commits.pop(key, None)
        _connects.pop(key, None)
        _written.pop(key, None)
        _sql[key] = [0.0, 0.0]
        started_at, started = time.time(), time.perf_counter()
        thread_started, own_started, queued_before = clock(), _own_cpu(key), _run_queue_wait()
        # From wrk's send to here: the request waited for the worker (its other greenlets, the OS) and was read.
        sent_at = float(environ.get("HTTP_X_SENT_AT", 0)) / 1e6 or started_at
        cpu_at_send, queued_at_send = _thread_at(sent_at)
        waited = (started_at - sent_at, thread_started - cpu_at_send, queued_before - queued_at_send)
        try:
            return list(self.wsgi(environ, start_response))
        finally:
            wall = time.perf_counter() - started
            own = _own_cpu(key) - own_started
            others = clock() - thread_started - own
            queued = _run_queue_wait() - queued_before
            sql_wall, sql_cpu = _sql.pop(key)
            _rows.append(
                f"{started_at:.4f}\t{environ.get('PATH_INFO')}\t{wall * 1e3:.3f}\t{own * 1e3:.3f}"
                f"\t{_gc.pop(key, 0.0) * 1e3:.3f}\t{sql_wall * 1e3:.3f}\t{sql_cpu * 1e3:.3f}"
                f"\t{others * 1e3:.3f}\t{_switches.pop(key, 0)}\t{_locked.pop(key, 0.0) * 1e3:.3f}"
                f"\t{_commits.pop(key, 0.0) * 1e3:.3f}\t{_connects.pop(key, 0)}\t{queued * 1e3:.3f}"
                f"\t{_written.pop(key, 0.0) * 1e3:.3f}\t{waited[0] * 1e3:.3f}\t{waited[1] * 1e3:.3f}"
                f"\t{waited[2] * 1e3:.3f}\n"
            )


app = create_app()
with app.app_context():
    engine = db.engine


def _sql_started() -> tuple[float, float]:
    return time.perf_counter(), _own_cpu(id(greenlet.getcurrent()))


def _sql_finished(started: tuple[float, float], statement: str) -> None:
    key = id(greenlet.getcurrent())
    totals = _sql.get(key)
    if totals is not None:
        wall = time.perf_counter() - started[0]
        totals[0] += wall
        totals[1] += _own_cpu(key) - started[1]
        if statement.lstrip()[:6].upper() in _WRITES:
            _written[key] = _written.get(key, 0.0) + wall


@sa.event.listens_for(engine, "before_cursor_execute")
def _statement_started(connection: Any, *_args: Any) -> None:
    connection.info["traced"] = _sql_started()


@sa.event.listens_for(engine, "after_cursor_execute")
def _statement_finished(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    _sql_finished(connection.info.pop("traced"), statement)


def _rows_timed(rows: Any) -> Any:
    """Time ``PreparedStatement.rows`` as SQL: it runs on the DBAPI cursor, past SQLAlchemy's events."""

    def timed(self: PreparedStatement, *args: Any, **kwargs: Any) -> Any:
        started = _sql_started()
        try:
            return rows(self, *args, **kwargs)
        finally:
            _sql_finished(started, "SELECT")

    return timed


def _timed_into(totals: dict[int, float], function: Any) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            key = id(greenlet.getcurrent())
            totals[key] = totals.get(key, 0.0) + time.perf_counter() - started

    return timed


@sa.event.listens_for(engine, "connect")
def _connected(*_args: Any) -> None:
    key = id(greenlet.getcurrent())
    _connects[key] = _connects.get(key, 0) + 1


@sa.event.listens_for(engine, "engine_connect")
def _wrap_commit(connection: Any) -> None:
    raw = connection.connection.dbapi_connection
    if not hasattr(raw, "traced"):
        try:
            raw.traced = True
            raw.commit = _timed_into(_commits, raw.commit)
        except AttributeError:  # psycopg's connection takes no new attributes: its COMMIT counts as SQL
            pass


PreparedStatement.rows = _rows_timed(PreparedStatement.rows)  # type: ignore[method-assign]
sqlite_writers.QueuedWriterConnection._acquire = _timed_into(  # type: ignore[method-assign]
    _locked, sqlite_writers.QueuedWriterConnection._acquire
)
greenlet.settrace(_on_switch)
gc.callbacks.append(_on_collect)
atexit.register(_dump)
app.wsgi_app = Traced(app.wsgi_app)  # type: ignore[method-assign]
