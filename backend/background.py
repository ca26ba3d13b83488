"""One job at a time in a thread of its own while the caller goes on: how bulk imports on PostgreSQL keep
Python busy while the database server, another process, works on the batch before."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

R = TypeVar("R")


class BackgroundJob(Generic[R]):
    """Run one job at a time in a thread of its own; ``wait`` returns its result (or raises its error).

    The job runs in a copy of the caller's context: the same app context, so the same session; the caller
    does not touch what the job uses between ``start`` and ``wait``. Not ``threaded`` (SQLite, whose driver
    gives up the GIL for each row it steps: a thread waited up to the 5 ms switch interval per row for it to
    come back), the job runs at ``start``. Leaving the ``with`` block, also on an error, waits for a running
    job: it must be done with the connection before the caller rolls back. Under gevent (web workers) the
    thread is a greenlet: the job runs as the caller waits, as without a thread.
    """

    def __init__(self, *, threaded: bool, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) if threaded else None
        self._pending: Future[R] | None = None

    def start(self, job: Callable[[], R]) -> None:
        """Start a job; the one before must have been waited for."""
        if self._pending is not None:
            raise RuntimeError("the job before is still running")
        if self._pool is not None:
            self._pending = self._pool.submit(contextvars.copy_context().run, job)
        else:
            result = job()  # its error reaches the caller here, with nothing left pending
            self._pending = Future()
            self._pending.set_result(result)

    def wait(self) -> R | None:
        """Wait for the job started last and return its result (None when none was started since)."""
        pending, self._pending = self._pending, None
        return None if pending is None else pending.result()

    def __enter__(self) -> BackgroundJob[R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
