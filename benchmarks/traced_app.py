"""``backend:create_app()`` recording where each request's wall time went, for ``shop_intake_http.py --trace``.

Under a gevent worker every request is a greenlet of one OS thread. A greenlet switch hook charges the thread's
CPU time to the greenlet that ran, so a request's wall time splits into: its own CPU (of which the cyclic
garbage collector's, and the database driver's inside SQL statements), the CPU of the worker's other greenlets
that ran meanwhile, and the time the worker's thread did not run at all (waiting for the database server or the
disk, or the OS running another process). One line per request goes to ``$TRACE_DIR/<pid>.tsv`` when the worker
exits: start (Unix time), path, wall, own CPU, GC, SQL wall, SQL own CPU, others' CPU, switches, wall waiting for
SQLite's writer lock, wall in COMMIT, connections opened (ms but the counts).
"""

from __future__ import annotations

import atexit
import gc
import os
import time
from pathlib import Path
from typing import Any

import greenlet
import sqlalchemy as sa

from backend import create_app, sqlite_writers
from backend.extensions import db

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
_last = [clock()]
_rows: list[str] = []


def _on_switch(event: str, args: Any) -> None:
    if event in ("switch", "throw"):
        now = clock()
        origin = id(args[0])
        _cpu[origin] = _cpu.get(origin, 0.0) + now - _last[0]
        _switches[origin] = _switches.get(origin, 0) + 1
        _last[0] = now


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
        _sql[key] = [0.0, 0.0]
        started_at, started = time.time(), time.perf_counter()
        thread_started, own_started = clock(), _own_cpu(key)
        try:
            return list(self.wsgi(environ, start_response))
        finally:
            wall = time.perf_counter() - started
            own = _own_cpu(key) - own_started
            others = clock() - thread_started - own
            sql_wall, sql_cpu = _sql.pop(key)
            _rows.append(
                f"{started_at:.4f}\t{environ.get('PATH_INFO')}\t{wall * 1e3:.3f}\t{own * 1e3:.3f}"
                f"\t{_gc.pop(key, 0.0) * 1e3:.3f}\t{sql_wall * 1e3:.3f}\t{sql_cpu * 1e3:.3f}"
                f"\t{others * 1e3:.3f}\t{_switches.pop(key, 0)}\t{_locked.pop(key, 0.0) * 1e3:.3f}"
                f"\t{_commits.pop(key, 0.0) * 1e3:.3f}\t{_connects.pop(key, 0)}\n"
            )


app = create_app()
with app.app_context():
    engine = db.engine


@sa.event.listens_for(engine, "before_cursor_execute")
def _statement_started(connection: Any, *_args: Any) -> None:
    connection.info["traced"] = (time.perf_counter(), _own_cpu(id(greenlet.getcurrent())))


@sa.event.listens_for(engine, "after_cursor_execute")
def _statement_finished(connection: Any, *_args: Any) -> None:
    key = id(greenlet.getcurrent())
    wall, cpu = connection.info.pop("traced")
    totals = _sql.get(key)
    if totals is not None:
        totals[0] += time.perf_counter() - wall
        totals[1] += _own_cpu(key) - cpu


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


sqlite_writers.QueuedWriterConnection._acquire = _timed_into(  # type: ignore[method-assign]
    _locked, sqlite_writers.QueuedWriterConnection._acquire
)
greenlet.settrace(_on_switch)
gc.callbacks.append(_on_collect)
atexit.register(_dump)
app.wsgi_app = Traced(app.wsgi_app)  # type: ignore[method-assign]
