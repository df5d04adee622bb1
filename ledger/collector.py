"""Python's cyclic garbage collector paused while the ledger builds many objects at once.

Recording a batch, catching the projections up and assembling a report each allocate tens
or hundreds of thousands of objects (events, their JSON, rows, a report's findings) that
live until the work is done and are then freed by reference counting, not by the collector.
Left on, the collector runs a pass every 700 allocations, and now and then walks the whole
heap; while a large result is being built, most of those walks find nothing to free (the
figures are in benchmarks/NOTES.md). Paused, the work pays for none of them; the collector
is turned back on when the last piece of work that paused it is done, and collects then
whatever cycles were left.

A busy service may have some piece of work under way at every moment, so that the last one
is never done: then the first piece of work to end after the collector has been off for
`LONGEST_PAUSE` seconds runs a full collection itself, so that overlapping requests do not
keep it off for good. (One long piece of work, a rebuild, keeps it off until it ends.)"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Iterator

LONGEST_PAUSE = 5.0  # seconds the collector may stay off while work keeps overlapping

_lock = threading.Lock()
_pausing = 0  # how many pieces of work, in any thread, have the collector paused now
_paused_here = False  # whether this module turned it off (not the program itself)
_since = 0.0  # when it was turned off, or last collected while off (time.monotonic)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the duration, then back on, unless the program had it off
    itself when the first pause began. Counted across threads: a service's two requests
    that overlap leave it off until both are done, and the one that finishes first does
    not turn it on under the other."""
    _begin()
    try:
        yield
    finally:
        _end()


def _begin() -> None:
    global _pausing, _paused_here, _since
    with _lock:
        _pausing += 1  # counted first: the count is never behind the collector's state
        if _pausing == 1:
            _paused_here = gc.isenabled()
            if _paused_here:
                gc.disable()
                _since = time.monotonic()


def _end() -> None:
    global _pausing, _paused_here, _since
    with _lock:
        _pausing -= 1
        if _pausing == 0 and _paused_here:
            _paused_here = False
            gc.enable()
        overdue = _pausing > 0 and _paused_here and time.monotonic() - _since > LONGEST_PAUSE
        if overdue:
            _since = time.monotonic()
    if overdue:
        gc.collect()
