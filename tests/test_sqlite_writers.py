"""Writers of one SQLite file queue on its writer lock (backend/sqlite_writers.py) instead of SQLite's busy handler."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

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
