"""A web worker's SQLite checkpoints run in a thread of their own, not inside a request's commit.

SQLite copies the write-ahead log back into the database file (a checkpoint: writes and an fsync) in the commit
that grows the log past ``wal_autocheckpoint`` pages (1,000): about one risk check in 30 paid for it, from a
fraction of a millisecond to over 100 ms on this machine's disk, and in a gevent worker that C call stopped
every request of the worker. A web worker instead checkpoints every ``CHECKPOINT_EVERY`` seconds in a native
thread (PASSIVE: writers and readers go on meanwhile). Its own connections still checkpoint past
``SAFETY_NET_PAGES``, so the log stays bounded should that thread ever fall behind. Commits keep their
``synchronous`` setting; other processes (the CLI, jobs) checkpoint as SQLite does by default.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from backend.extensions import db

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY = 0.1
SAFETY_NET_PAGES = 10_000
CHECKPOINT_THREAD = "sqlite-checkpoints"


def checkpoint_in_background(app: Flask) -> Callable[[], None] | None:
    """Take the checkpoints of ``app``'s SQLite file out of its requests' commits (from a web worker, once).

    Returns what stops the checkpoints (a worker's run it lasts; tests stop theirs). Does nothing, and returns
    None, for PostgreSQL, an in-memory database, or an app that is not ClaimBridge's (the benchmarks' floor is
    served with the same gunicorn settings; where it shares the app's database file, as in
    benchmarks/risk_check_http.py, the app's thread checkpoints the floor's writes too).
    """
    if app.extensions.get("sqlalchemy") is not db:
        return None
    with app.app_context():
        engine = db.engine
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    sa.event.listen(engine, "connect", _checkpoint_past_safety_net)
    engine.dispose()  # connections made before (loading the app) get the setting when opened again
    checkpoints = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    checkpoints.execute("PRAGMA busy_timeout=0")
    stop = threading.Event()  # gevent's own in a patched worker
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        import gevent

        # A greenlet waits; the checkpoint itself runs in the hub's pool of native threads.
        gevent.spawn(_checkpoint_until, stop, checkpoints, gevent.get_hub().threadpool.apply)
    else:
        threading.Thread(
            target=_checkpoint_until, args=(stop, checkpoints, _call), name=CHECKPOINT_THREAD, daemon=True
        ).start()
    return stop.set


def _checkpoint_past_safety_net(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")


def _call(function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    return function(*args)


def _checkpoint(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _checkpoint_until(
    stop: threading.Event,
    connection: sqlite3.Connection,
    run: Callable[[Callable[..., Any], tuple[Any, ...]], Any],
) -> None:
    try:
        while not stop.wait(CHECKPOINT_EVERY):
            try:
                run(_checkpoint, (connection,))
            except sqlite3.Error:
                logger.warning("background WAL checkpoint failed", exc_info=True)
    finally:
        connection.close()
