"""The cyclic garbage collector, paused while bulk work makes many lasting objects and next to no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_pausing = 0  # imports of this process (greenlets of a web worker) running with the collector paused


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector; what was left in cycles meanwhile is collected once it resumes.

    An import makes hundreds of thousands of lasting objects (the matcher's index, the transfers it holds) and
    next to no cycles, and each collection its allocations set off walked the growing heap again: 541
    collections took 14 % of importing 10,000 transfers. The matcher's index is built with it paused; the
    ``statements import`` and ``orders import`` commands, processes of their own, pause it for the whole
    import, a web worker (whose other requests run meanwhile) not. The collector resumes when the last pause
    of the process ends.
    """
    global _pausing
    if not _pausing and not gc.isenabled():  # paused by someone else: theirs to resume
        yield
        return
    _pausing += 1
    gc.disable()
    try:
        yield
    finally:
        _pausing -= 1
        if not _pausing:
            gc.enable()
