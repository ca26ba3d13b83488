"""Work done in a forked child process and streamed back, for a command that runs in a process of its own.

The statement import parses the file and matches its transfers in children while its own process stores what
they send: each runs on a core of its own. A child is forked, so it has every module loaded and shares what
its parent held at that moment (copy on write); what else it needs is sent to it, and it sends what it made
in batches of plain values, each way through a pipe. A child never touches the database: the parent's
connection is not its to use. Only for a process that may fork (the ``statements import`` command), never a
web worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import multiprocessing
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

T = TypeVar("T")
# What either side may send ahead of the other: Linux's most for a pipe without privileges (the default 64 KiB
# is less than one batch).
_AHEAD_BYTES = 1 << 20
Make = Callable[[Callable[[], Any]], Iterable[T]]


def in_batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield lists of up to ``size`` items, reading ``items`` one batch at a time."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class Apart(Generic[T]):
    """A child process, forked at once, that runs ``make(receive)`` and sends its items here.

    ``receive()`` returns, in the child, the next object ``send`` gave it (EOFError once this side closed).
    Iterating yields the items in lists of ``batch``, each with ``position()`` as the child sent it. An error
    of a type in ``passes`` is raised here as itself (it must pickle), after the items before it; any other
    makes a RuntimeError with the child's traceback. ``close`` ends the child at once unless it has sent
    everything; iterating to the end or stopping early closes it. A child that sends while this side still
    sends to it may leave both waiting on a full pipe: ``make`` receives everything first.
    """

    def __init__(
        self,
        make: Make[T],
        *,
        batch: int,
        passes: tuple[type[Exception], ...] = (),
        position: Callable[[], Any] = lambda: None,
    ) -> None:
        context = multiprocessing.get_context("fork")
        self._receiving, sending = context.Pipe(duplex=False)
        fed, self._feeding = context.Pipe(duplex=False)
        for end in (sending, self._feeding):
            with contextlib.suppress(AttributeError, OSError):  # F_SETPIPE_SZ is Linux's
                fcntl.fcntl(end.fileno(), fcntl.F_SETPIPE_SZ, _AHEAD_BYTES)
        self._child = context.Process(
            target=_make_into, args=(make, fed, self._feeding, batch, passes, position, sending), daemon=True
        )
        self._child.start()
        sending.close()
        fed.close()
        self._finished = False

    def send(self, message: Any) -> None:
        """Give the child the next object its ``receive()`` returns."""
        self._feeding.send(message)

    def __iter__(self) -> Iterator[tuple[list[T], Any]]:
        try:
            while True:
                kind, payload = self._receiving.recv()
                if kind != "items":
                    break
                yield payload
            self._finished = True
            if kind == "error":
                raise payload
            if kind == "failed":
                raise RuntimeError(f"work in a child process failed:\n{payload}")
        finally:
            self.close()

    def close(self) -> None:
        """End the child (at once unless it sent everything) and wait for it."""
        self._feeding.close()
        self._receiving.close()
        if not self._finished:
            self._child.kill()  # it may wait to send more, or for what this side will never send
        self._child.join()


def _make_into(
    make: Make[T],
    fed: Connection,
    feeding: Connection,
    size: int,
    passes: tuple[type[Exception], ...],
    position: Callable[[], Any],
    sending: Connection,
) -> None:
    """In the child: send ("items", (list, position)) batches, then ("done", None) or what went wrong."""
    feeding.close()  # the parent's end: once the parent closes its own, ``receive`` ends
    batch: list[T] = []
    try:
        for item in make(fed.recv):
            batch.append(item)
            if len(batch) == size:
                sending.send(("items", (batch, position())))
                batch = []
        sending.send(("items", (batch, position())))
        sending.send(("done", None))
    except passes as error:
        sending.send(("items", (batch, None)))
        sending.send(("error", error))
    except Exception:
        sending.send(("failed", traceback.format_exc()))
    finally:
        sending.close()
