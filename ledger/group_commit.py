"""Group commit: requests that arrive together are recorded in one transaction.

A council's case-management system sends each decision as it is made, one small request
after another, from many users at once. Recorded one transaction each, every request pays
the store's whole price of a commit: a round trip to begin, the events table's lock (the
store gives log positions in commit order, so commits queue for it), the chain's head, the
commit's flush to disk. Here a thread that finds no recording under way records its own
request; while it does, the requests that arrive queue up, and the next thread to go records
all of them at once, in one transaction (`CareLedger.record_together`). A lone request is
recorded exactly as before; under load, one commit serves many.

Each request is still all or nothing, on its own. If the shared transaction is refused
before anything is stored (one request's event refused, an idempotency key already kept, a
write conflict that outlasted its retries), each request is then recorded alone, so that the
refusal reaches the request it belongs to and the others are recorded as if they had come
one by one. Any other failure may come after the commit (the signed head not written to
CARELEDGER_HEAD_LOG, a COMMIT whose answer was lost): recording again could record twice, so
every request of the group is answered with that error, as each would have been alone.

Large requests (a batch of many events, a JSON Lines file) are recorded straight away, on
their own, as `CareLedger.record` records them: sharing their transaction would only make
small requests wait for them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from eventsourcing.persistence import IntegrityError

from careledger.ledger.application import CareLedger, KeptWith, Recorded, RecordingRequest
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import Command
from careledger.ledger.errors import RecordingConflict, RecordingRefused
from careledger.ledger.store.alongside import AlongsideRefused

# A request of at most this many events may share a transaction with others.
SMALL_REQUEST = 20
# The events one shared transaction takes, at most: a longer group would make the requests
# at its end wait longer than recording them in the next transaction would.
GROUP_EVENTS = 200
# What a shared transaction raises only when nothing of it was stored: then, and only then,
# are its requests recorded again, each on its own. (IntegrityError: a trigger's refusal.)
NOTHING_STORED = (RecordingRefused, AlongsideRefused, RecordingConflict, IntegrityError)


class _Waiting:
    """One request in the queue, and, once recorded, what came of it."""

    __slots__ = ("done", "error", "recorded", "request")

    def __init__(self, request: RecordingRequest) -> None:
        self.request = request
        self.done = False
        self.recorded: list[Recorded] = []
        self.error: BaseException | None = None

    def outcome(self) -> list[Recorded]:
        if self.error is not None:
            raise self.error
        return self.recorded


class GroupCommit:
    """`record` as `CareLedger.record`, for callers on many threads of one process."""

    def __init__(self, ledger: CareLedger) -> None:
        self.ledger = ledger
        self._queue: list[_Waiting] = []
        self._leading = False  # a thread is recording a group
        # Guards the two above; notified when a group has been recorded.
        self._changed = threading.Condition()

    def record(
        self,
        commands: Sequence[Command],
        recorded_by: p.Actor,
        kept_with: KeptWith | None = None,
    ) -> list[Recorded]:
        """Record every command or none, with `kept_with`'s rows in the same transaction,
        raising what `CareLedger.record` would raise for this request alone.

        A request waits while another thread records a group; once that is done, it returns
        if its request was in the group, or else records the queue's next group itself."""
        if len(commands) > SMALL_REQUEST:
            return self.ledger.record(commands, recorded_by, kept_with)
        waiting = _Waiting(RecordingRequest(commands, recorded_by, kept_with))
        with self._changed:
            self._queue.append(waiting)
        while True:
            with self._changed:
                while self._leading and not waiting.done:
                    self._changed.wait()
                if waiting.done:
                    return waiting.outcome()
                self._leading = True
                group = self._next_group()
            try:
                self._record(group)
            except BaseException:
                self._withdraw(waiting)  # its caller hears of this; it is not recorded later
                raise
            finally:
                self._recorded(group)

    def _next_group(self) -> list[_Waiting]:
        """The queue's oldest requests, up to GROUP_EVENTS events (at least one request)."""
        events = 0
        taken = 0
        for waiting in self._queue:
            events += len(waiting.request.commands)
            if taken and events > GROUP_EVENTS:
                break
            taken += 1
        group, self._queue = self._queue[:taken], self._queue[taken:]
        return group

    def _withdraw(self, waiting: _Waiting) -> None:
        with self._changed:
            if waiting in self._queue:
                self._queue.remove(waiting)

    def _recorded(self, group: list[_Waiting]) -> None:
        """Let the group's requests go (with an error, if recording them was interrupted)
        and the next request lead."""
        with self._changed:
            for unfinished in (waiting for waiting in group if not waiting.done):
                unfinished.error = RuntimeError("recording was interrupted")
                unfinished.done = True
            self._leading = False
            self._changed.notify_all()

    def _record(self, group: list[_Waiting]) -> None:
        if len(group) > 1:
            try:
                requests = [waiting.request for waiting in group]
                made = self.ledger.record_together(requests, retry_refused=False)
            except NOTHING_STORED:  # nothing of the group was recorded: each request on its own
                pass
            except Exception as error:  # perhaps stored: each request is told, none sent again
                for waiting in group:
                    waiting.error, waiting.done = error, True
                return
            else:
                for waiting, recorded in zip(group, made, strict=True):
                    waiting.recorded, waiting.done = recorded, True
                return
        for waiting in group:
            try:
                waiting.recorded = self.ledger.record(*waiting.request)
            except Exception as error:
                waiting.error = error
            waiting.done = True
