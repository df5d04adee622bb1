"""Which threads of one process may change a child's case at once: never two.

The ledger keeps recently used cases in memory and changes them there without a copy
(`CareLedger.env`), so two threads recording to one case at the same time would each add
events to the other's. A case's events are taken under one of a fixed set of locks, chosen by
the case's id: threads recording different children mostly hold different locks and record
side by side; two batches of one case always meet at the same lock. A batch holds the locks
of all its cases, taken in one order (the locks' own), so that two batches never wait on
each other.

On PostgreSQL each of these threads has a connection of its own, and the store orders their
commits (the events table is locked while a commit takes its log positions). SQLite writes
one transaction at a time whatever the threads do, so there one lock serves every case.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from uuid import UUID

# Batches of different children recorded at once on PostgreSQL, at most: each holds one of
# the store's pooled connections (5 kept, 10 more when needed), and the service's other
# statements (a token's check, the access log) need some left.
POSTGRES_STRIPES = 8


class CaseLocks:
    def __init__(self, stripes: int) -> None:
        # Re-entrant: a caller that checks a case before recording to it (an IRO's
        # acknowledgement) holds its lock across both.
        self._locks = [threading.RLock() for _ in range(stripes)]

    @contextmanager
    def held(self, case_ids: Iterable[UUID]) -> Iterator[None]:
        """The locks of these cases, while the block runs."""
        stripes = sorted({case_id.int % len(self._locks) for case_id in case_ids})
        with ExitStack() as stack:
            for stripe in stripes:
                stack.enter_context(self._locks[stripe])
            yield
