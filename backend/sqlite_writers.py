"""SQLite writers of several processes take turns on a file lock, so a waiting writer never sleeps in SQLite.

SQLite lets one connection write at a time. A writer that finds the write lock taken waits in SQLite's busy
handler, which sleeps 1, 2, 5, 10, 15, 20, 25 … ms between attempts however soon the lock comes free. Under
gunicorn's gevent workers that sleep is a C call: it stopped every request of the worker, not just the waiting
one. Here a connection takes an advisory lock on a file beside the database before a transaction's first write
(the statement that makes Python's sqlite3 open the transaction) and lets it go at commit or rollback:
greenlets of one process queue on a lock that yields to the others (``threading.Lock``, which gevent patches),
processes on ``flock``, polled with short sleeps that yield as well. SQLite's own locking still decides;
writers that do not queue here (the sqlite3 shell, another program) still meet its busy handler.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

# The statements that make Python's sqlite3 (legacy transaction control) open a transaction before them.
_OPENS_WRITE = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_FIRST_POLL = 0.0001
_LONGEST_POLL = 0.002
# One lock per database file and process: the connections of a process queue on it before the file lock.
_process_locks: dict[str, threading.Lock] = {}


def lock_path(database: str) -> str | None:
    """Return the lock file of a database file, or None for an in-memory or URI-named database."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database) + "-writer.lock"


class QueuedWriterConnection(sqlite3.Connection):
    """A sqlite3 connection whose write transactions queue on the database's writer lock first."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._timeout = float(kwargs.get("timeout", args[0] if args else 5.0))
        path = lock_path(os.fspath(database))
        self._lock_path = path
        self._process_lock = _process_locks.setdefault(path, threading.Lock()) if path else None
        self._lock_fd: int | None = None
        self._holding = False

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:
        """Return a cursor that queues a transaction's first write."""
        return super().cursor(factory or _QueuedWriterCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """Run one statement on a new cursor (the C method would make its cursor without ``cursor()``)."""
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:
        """Run one statement for each parameter set on a new cursor."""
        return self.cursor().executemany(sql, seq_of_parameters)

    def before_statement(self, sql: str) -> None:
        """Take the writer lock before the statement that opens a write transaction."""
        if self._process_lock is None:
            return
        if self._holding and not self.in_transaction:  # ended by a COMMIT statement, not by commit()
            self._release()
        if (
            not self._holding
            and not self.in_transaction
            and self.isolation_level is not None
            and sql.lstrip()[:7].upper().startswith(_OPENS_WRITE)
        ):
            self._acquire()

    def commit(self) -> None:
        """Commit, then let the next writer in."""
        try:
            super().commit()
        finally:
            if self._holding and not self.in_transaction:
                self._release()

    def rollback(self) -> None:
        """Roll back, then let the next writer in."""
        try:
            super().rollback()
        finally:
            if self._holding and not self.in_transaction:
                self._release()

    def close(self) -> None:
        """Close the connection and its lock file."""
        try:
            super().close()
        finally:
            if self._holding:
                self._release()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _acquire(self) -> None:
        assert self._process_lock is not None and self._lock_path is not None
        deadline = time.monotonic() + self._timeout
        if not self._process_lock.acquire(timeout=self._timeout):
            raise sqlite3.OperationalError("database is locked")
        try:
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            pause = _FIRST_POLL
            while True:
                try:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise sqlite3.OperationalError("database is locked") from None
                    time.sleep(pause)  # gevent's sleep in a patched worker: its other requests go on
                    pause = min(pause * 2, _LONGEST_POLL)
        except BaseException:
            self._process_lock.release()
            raise
        self._holding = True

    def _release(self) -> None:
        assert self._process_lock is not None and self._lock_fd is not None
        self._holding = False
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        finally:
            self._process_lock.release()


class _QueuedWriterCursor(sqlite3.Cursor):
    connection: QueuedWriterConnection

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        self.connection.before_statement(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:
        self.connection.before_statement(sql)
        return super().executemany(sql, seq_of_parameters)
