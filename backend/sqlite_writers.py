"""SQLite writers of several processes take turns on a file lock, so a waiting writer never sleeps in SQLite.

SQLite lets one connection write at a time. A writer that finds the write lock taken waits in SQLite's busy
handler, which sleeps 1, 2, 5, 10, 15, 20, 25 … ms between attempts however soon the lock comes free. Under
gunicorn's gevent workers that sleep is a C call: it stopped every request of the worker, not just the waiting
one. Here a connection takes an advisory lock on a file beside the database before a transaction's first write
(the statement that makes Python's sqlite3 open the transaction) and lets it go at commit or rollback:
greenlets of one process queue on a lock whose wait yields to the others (``_TurnLock``, on gevent's patched events),
processes on ``flock``, polled with short sleeps that yield as well. SQLite's own locking still decides;
writers that do not queue here (the sqlite3 shell, another program) still meet its busy handler.

Greenlets of a process take turns in the order they came. gevent's lock lets a newcomer take a lock that was
just released while the waiter it woke is still on its way, and that waiter then waits again: at saturation,
writers of one gunicorn worker waited 0.8-1.5 s for their own process's lock (each woken once) while newer
requests of the same worker wrote without waiting. So the process's queue hands the lock straight to its
longest waiter (``_TurnLock``).

Processes take turns. A process's next writer is queued right behind its last one and takes the lock the moment
it is free, while a writer of another process notices only at its next poll: under load one gunicorn worker
kept the lock for 0.2-0.5 s while the other's writers waited (the slowest 1 % of checkout gateway calls and
webhooks at half load spent 93-97 % of their time here). So a writer that has to wait says so (a shared lock on
a second file, ``…-writer.waiting``), and a process that finds another one waiting lets it go first: it
waits longer than that process's longest poll before it tries. Not after every write, though: each hand-over
leaves the lock idle until the other's next poll (a millisecond at best: gevent's sleeps wait no shorter), and
at saturation two gunicorn workers handing it over after each risk check wrote about 840 times a second while
their CPU was 30 % idle, every request of a worker queued behind its waiting writer. A process makes a turn of
``_TURN_WRITES`` write transactions in a row before it stands back (1,283-1,354 checks a second, CPU-bound),
which lets the other wait up to that many transactions longer than before (a few milliseconds at saturation).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections import deque
from typing import Any

# The statements that make Python's sqlite3 (legacy transaction control) open a transaction before them, and
# SAVEPOINT, which opens one itself (SQLAlchemy's ``begin_nested`` outside a transaction): the writes inside it
# would otherwise meet SQLite's busy handler, a C sleep that stops a gevent worker, instead of this queue.
_OPENS_WRITE = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT")
_FIRST_POLL = 0.0001
_LONGEST_POLL = 0.001
# How long a process's writer stands back at the end of its turn when a writer of another process waits: longer
# than that one's longest poll.
_STAND_BACK = 2 * _LONGEST_POLL
# How many write transactions in a row a process makes while another process waits (a turn), before it stands back.
_TURN_WRITES = 4


class _TurnLock:
    """A lock that its holder hands straight to the longest waiter; a newcomer queues behind the waiters.

    It also carries the process's turn: how many write transactions it made in a row (``writes``).
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()  # held for a few lines, never while waiting
        self._held = False
        self.writes = 0  # the holder's: write transactions of this process's current turn (``_TURN_WRITES``)
        self._waiters: deque[threading.Event] = deque()

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting in turn for at most ``timeout`` seconds; tell whether it was taken."""
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()  # gevent's in a patched worker: waiting yields to the other greenlets
            self._waiters.append(turn)
        try:
            if turn.wait(timeout):
                return True
        except BaseException:
            # Stopped while waiting (a greenlet killed): leave the queue, and pass on a lock handed over meanwhile.
            if self._leave(turn):
                self.release()
            raise
        return self._leave(turn)  # handed over just as the wait ran out, or not

    def _leave(self, turn: threading.Event) -> bool:
        """Leave the queue; tell whether the lock was handed to this waiter before it left."""
        with self._guard:
            if turn.is_set():
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it when nobody waits."""
        with self._guard:
            if not self._held:
                raise RuntimeError("release of a lock that is not held")
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._held = False


# One lock per database file and process: the connections of a process queue on it before the file lock.
_process_locks: dict[str, _TurnLock] = {}


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
        self._process_lock = _process_locks.setdefault(path, _TurnLock()) if path else None
        self._lock_fd: int | None = None
        self._waiting_fd: int | None = None
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
            and sql.lstrip()[:9].upper().startswith(_OPENS_WRITE)
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
            for fd in (self._lock_fd, self._waiting_fd):
                if fd is not None:
                    os.close(fd)
            self._lock_fd = self._waiting_fd = None

    def _acquire(self) -> None:
        assert self._process_lock is not None and self._lock_path is not None
        deadline = time.monotonic() + self._timeout
        if not self._process_lock.acquire(timeout=self._timeout):
            raise sqlite3.OperationalError("database is locked")
        try:
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                self._waiting_fd = os.open(
                    self._lock_path[: -len(".lock")] + ".waiting", os.O_RDWR | os.O_CREAT, 0o600
                )
            process_lock = self._process_lock
            others_wait = self._others_wait()
            if others_wait and process_lock.writes >= _TURN_WRITES:
                self._wait_for_lock(deadline, first_pause=_STAND_BACK)
                process_lock.writes = 1  # a new turn begins after any wait
            elif _locked(self._lock_fd, fcntl.LOCK_EX):
                process_lock.writes = process_lock.writes + 1 if others_wait else 0
            else:
                self._wait_for_lock(deadline, first_pause=_FIRST_POLL)
                process_lock.writes = 1
        except BaseException:
            self._process_lock.release()
            raise
        self._holding = True

    def _others_wait(self) -> bool:
        """Tell whether a writer of another process waits for the lock (this process's own writers never do)."""
        assert self._waiting_fd is not None
        if not _locked(self._waiting_fd, fcntl.LOCK_EX):
            return True
        fcntl.flock(self._waiting_fd, fcntl.LOCK_UN)
        return False

    def _wait_for_lock(self, deadline: float, *, first_pause: float) -> None:
        """Poll for the writer lock with short sleeps until ``deadline``, showing the other processes we wait."""
        assert self._lock_fd is not None and self._waiting_fd is not None
        fcntl.flock(self._waiting_fd, fcntl.LOCK_SH)
        try:
            pause = first_pause
            while True:
                time.sleep(pause)  # gevent's sleep in a patched worker: its other requests go on
                if _locked(self._lock_fd, fcntl.LOCK_EX):
                    return
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked")
                pause = min(pause * 2, _LONGEST_POLL)
        finally:
            fcntl.flock(self._waiting_fd, fcntl.LOCK_UN)

    def _release(self) -> None:
        assert self._process_lock is not None and self._lock_fd is not None
        self._holding = False
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        finally:
            self._process_lock.release()


def _locked(fd: int, operation: int) -> bool:
    """Take a ``flock`` without waiting; tell whether it was taken."""
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class _QueuedWriterCursor(sqlite3.Cursor):
    connection: QueuedWriterConnection

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        self.connection.before_statement(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:
        self.connection.before_statement(sql)
        return super().executemany(sql, seq_of_parameters)
