"""Python's cyclic garbage collector paused while the ledger builds many objects at once.

Recording a batch, catching the projections up and assembling a report each allocate tens
or hundreds of thousands of objects (events, their JSON, rows, a report's findings) that
live until the work is done and are then freed by reference counting, not by the collector.
Left on, the collector runs a pass every 700 allocations, and now and then walks the whole
heap; while a large result is being built, most of those walks find nothing to free (the
figures are in benchmarks/NOTES.md). Paused, the work pays for none of them; the collector
is turned back on when the last piece of work that paused it is done, and collects then
whatever cycles were left."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_pausing = 0  # how many pieces of work, in any thread, have the collector paused now
_paused_here = False  # whether this module turned it off (not the program itself)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the duration, then back on, unless the program had it off
    itself. Counted across threads: a service's two requests that overlap leave it off
    until both are done, and the one that finishes first does not turn it on under the
    other."""
    global _pausing, _paused_here
    with _lock:
        if _pausing == 0:
            _paused_here = gc.isenabled()
            if _paused_here:
                gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _lock:
            _pausing -= 1
            if _pausing == 0 and _paused_here:
                _paused_here = False
                gc.enable()
