"""Writers of one SQLite file queue on its writer lock (backend/sqlite_writers.py) instead of SQLite's busy handler."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from backend import sqlite_writers
from backend.sqlite_writers import QueuedWriterConnection, lock_path


def _connect(path: Path, timeout: float = 10) -> QueuedWriterConnection:
    connection = sqlite3.connect(
        path, timeout=timeout, factory=QueuedWriterConnection, check_same_thread=False
    )
    connection.execute("PRAGMA journal_mode=WAL")
    # SQLite's own busy handler off: a writer that reached SQLite while another one writes would fail at once.
    connection.execute("PRAGMA busy_timeout=0")
    return connection


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "writers.db"
    connection = _connect(path)
    connection.execute("CREATE TABLE t (n INTEGER)")
    connection.commit()
    connection.close()
    return path


def test_a_second_writer_waits_for_the_first_to_commit(database):
    first, second = _connect(database), _connect(database)
    first.execute("INSERT INTO t VALUES (1)")
    finished = threading.Event()

    def write() -> None:
        second.execute("INSERT INTO t VALUES (2)")
        second.commit()
        finished.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not finished.wait(0.2)  # queued behind the first writer, not failed with "database is locked"
    first.commit()
    writer.join(5)
    assert finished.is_set()
    assert sorted(n for (n,) in first.execute("SELECT n FROM t")) == [1, 2]


def test_a_writer_in_another_process_is_waited_for(database):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; from backend.sqlite_writers import QueuedWriterConnection as C\n"
            "c = sqlite3.connect(sys.argv[1], factory=C)\n"
            "c.execute('INSERT INTO t VALUES (1)'); print('holding', flush=True); sys.stdin.readline()\n"
            "c.commit()",
            str(database),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert holder.stdout.readline().strip() == "holding"
    waiter = _connect(database)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (waiter.execute("INSERT INTO t VALUES (2)"), done.set()))
    thread.start()
    assert not done.wait(0.2)
    holder.communicate("\n", timeout=10)
    thread.join(5)
    waiter.commit()
    assert sorted(n for (n,) in waiter.execute("SELECT n FROM t")) == [1, 2]


def test_a_writer_gives_up_after_its_timeout_as_sqlite_would(database):
    first, second = _connect(database), _connect(database, timeout=0.1)
    first.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        second.execute("INSERT INTO t VALUES (2)")
    first.rollback()
    second.execute("INSERT INTO t VALUES (2)")  # the lock went with the rollback
    second.commit()
    first.close()
    second.close()


def test_reads_and_in_memory_databases_take_no_lock(database):
    first, second = _connect(database), _connect(database, timeout=0.1)
    first.execute("INSERT INTO t VALUES (1)")
    assert second.execute("SELECT count(*) FROM t").fetchone() == (0,)
    first.commit()
    assert lock_path(":memory:") is None
    memory = sqlite3.connect(":memory:", factory=QueuedWriterConnection)
    memory.execute("CREATE TABLE t (n INTEGER)")
    memory.execute("INSERT INTO t VALUES (1)")
    memory.commit()


def _others_see_a_waiter(database: Path) -> bool:
    """Tell whether a writer shows it waits, as a writer of another process would see it."""
    fd = os.open(str(database) + "-writer.waiting", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_waiting_writer_shows_the_other_processes_that_it_waits(database, monkeypatch):
    other_process = os.open(lock_path(str(database)), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other_process, fcntl.LOCK_EX)  # another process's writer holds the lock
    waiter = _connect(database)
    seen: list[bool] = []
    polled = threading.Event()
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        seen.append(_others_see_a_waiter(database))
        polled.set()
        real_sleep(seconds)

    monkeypatch.setattr(sqlite_writers.time, "sleep", sleep)
    writer = threading.Thread(target=lambda: (waiter.execute("INSERT INTO t VALUES (2)"), waiter.commit()))
    writer.start()
    assert polled.wait(5)
    os.close(other_process)
    writer.join(5)
    assert not writer.is_alive()
    assert seen and all(seen)
    assert not _others_see_a_waiter(database)  # no longer once it has the lock


def test_a_writer_lets_a_waiting_writer_of_another_process_go_first(database, monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr(sqlite_writers.time, "sleep", pauses.append)
    writer = _connect(database)

    def write_and_commit(times: int) -> None:
        for _ in range(times):
            writer.execute("INSERT INTO t VALUES (1)")
            writer.commit()

    write_and_commit(sqlite_writers._TURN_WRITES + 2)
    assert pauses == []  # nobody waits: the free lock is taken at once, however often
    other_process = os.open(str(database) + "-writer.waiting", os.O_RDWR)
    fcntl.flock(other_process, fcntl.LOCK_SH)  # what a waiting writer of another process holds
    try:
        # A turn of writes in a row, then it stands back before the next, and a new turn begins.
        write_and_commit(sqlite_writers._TURN_WRITES)
        assert pauses == []
        write_and_commit(1)
        assert pauses == [sqlite_writers._STAND_BACK]
        write_and_commit(sqlite_writers._TURN_WRITES - 1)
        assert pauses == [sqlite_writers._STAND_BACK]
        write_and_commit(1)
        assert pauses == [sqlite_writers._STAND_BACK] * 2
    finally:
        os.close(other_process)
    write_and_commit(sqlite_writers._TURN_WRITES + 2)
    assert pauses == [sqlite_writers._STAND_BACK] * 2  # nobody waits any more
    # It stands back for longer than the other's longest poll, so the other's writer finds the lock free; a turn
    # is more than one write (one each made the lock idle between every two).
    assert sqlite_writers._STAND_BACK > sqlite_writers._LONGEST_POLL
    assert sqlite_writers._TURN_WRITES > 1


def test_a_write_inside_a_savepoint_queues_too(database, monkeypatch):
    # SQLAlchemy's begin_nested outside a transaction: SAVEPOINT opens the transaction, not Python's sqlite3.
    other_process = os.open(lock_path(str(database)), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other_process, fcntl.LOCK_EX)
    writer = _connect(database)
    polled = threading.Event()
    real_sleep = time.sleep
    monkeypatch.setattr(sqlite_writers.time, "sleep", lambda seconds: (polled.set(), real_sleep(seconds)))
    thread = threading.Thread(
        target=lambda: (
            writer.execute("SAVEPOINT a"),
            writer.execute("INSERT INTO t VALUES (1)"),
            writer.commit(),
        )
    )
    thread.start()
    assert polled.wait(5)  # it waits for the other process's writer
    os.close(other_process)
    thread.join(5)
    assert not thread.is_alive()
    assert writer.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_a_released_lock_goes_to_the_writer_that_waited_not_to_a_newcomer():
    # gevent's lock let the newcomer in and sent the waiter it had woken back to wait (1.5 s at saturation).
    lock = sqlite_writers._TurnLock()
    assert lock.acquire(timeout=1)
    got_it = threading.Event()
    waiter = threading.Thread(target=lambda: lock.acquire(timeout=5) and got_it.set())
    waiter.start()
    _wait_until(lambda: len(lock._waiters) == 1)
    lock.release()
    assert not lock.acquire(timeout=0)  # a newcomer finds it handed over
    assert got_it.wait(5)
    lock.release()
    waiter.join(5)
    assert lock.acquire(timeout=0)  # free again once nobody waits


def test_a_writer_that_gives_up_waiting_leaves_the_queue():
    lock = sqlite_writers._TurnLock()
    assert lock.acquire(timeout=1)
    assert not lock.acquire(timeout=0.01)
    lock.release()
    assert lock.acquire(timeout=0)  # not handed to the writer that gave up


def _wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _turns_of(monkeypatch, event_class):
    """Make the turns of ``_TurnLock`` waiting from now on ``event_class`` (threading itself keeps its own)."""
    monkeypatch.setattr(sqlite_writers, "threading", SimpleNamespace(Event=event_class, Lock=threading.Lock))


class _Stopped(threading.Event):
    """A waiter's turn whose wait is stopped, as a killed greenlet's is."""

    def wait(self, timeout: float | None = None) -> bool:
        raise KeyboardInterrupt


class _HandedThenStopped(threading.Event):
    """A waiter's turn stopped just after the lock was handed to it, before it ran."""

    def wait(self, timeout: float | None = None) -> bool:
        super().wait(timeout)
        raise KeyboardInterrupt


def test_a_writer_stopped_while_waiting_leaves_the_queue(monkeypatch):
    lock = sqlite_writers._TurnLock()
    assert lock.acquire(timeout=1)
    _turns_of(monkeypatch, _Stopped)
    with pytest.raises(KeyboardInterrupt):
        lock.acquire(timeout=1)
    monkeypatch.undo()
    lock.release()
    assert lock.acquire(timeout=0)  # not handed to the writer that was stopped


def test_a_writer_stopped_after_it_was_handed_the_lock_passes_it_on(monkeypatch):
    lock = sqlite_writers._TurnLock()
    assert lock.acquire(timeout=1)
    stopped = threading.Event()

    def stopped_writer():
        try:
            lock.acquire(timeout=5)
        except KeyboardInterrupt:
            stopped.set()

    _turns_of(monkeypatch, _HandedThenStopped)
    first = threading.Thread(target=stopped_writer)
    first.start()
    _wait_until(lambda: len(lock._waiters) == 1)
    monkeypatch.undo()
    got_it = threading.Event()
    second = threading.Thread(target=lambda: lock.acquire(timeout=5) and got_it.set())
    second.start()
    _wait_until(lambda: len(lock._waiters) == 2)

    lock.release()  # handed to the first writer, which is stopped before it runs

    assert got_it.wait(5)  # and passed on, not kept by a writer that is gone
    assert stopped.is_set()
    first.join(5)
    second.join(5)


def test_releasing_a_lock_nobody_holds_is_an_error():
    lock = sqlite_writers._TurnLock()
    with pytest.raises(RuntimeError):
        lock.release()
