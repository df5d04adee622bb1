"""The projector following the ledger: each event applied soon after it is recorded, so that
nothing that reads has to write (the service's workers, a reader's role, a streaming
replica reading what the projector wrote on the primary).

It holds the ledger's projector lock (`projections.projector_lock`) while it applies, and
between catch-ups waits to be woken by a new event (PostgreSQL) or for `interval` seconds,
whichever comes first: a notification lost with its connection (one that dies silently
waits for ever) delays the projections by one interval at most. A failing store is reported
and tried again each interval; the projections then lag, as `projections.lag` tells every
reader. Asked to stop (`stopping`), it finishes the batch it is applying and returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Event

from careledger.ledger.store.failures import STORE_ERRORS, describe
from careledger.projections.projector_lock import ProjectorBusy, ProjectorLock
from careledger.projections.runner import Projector

Say = Callable[[str], None]


@dataclass
class Follower:
    projector: Projector
    lock: ProjectorLock
    interval: float
    say: Say  # what it did, for the log
    warn: Say  # what went wrong, and that it will try again
    stopping: Event = field(default_factory=Event)

    def take_turn(self, wait: bool) -> None:
        """Take the projector lock; `ProjectorBusy` if another projector holds it, unless
        `wait`: then look again each interval until it is free (or `stopping` is set)."""
        if self.lock.take():
            return
        if not wait:
            raise ProjectorBusy(self.projector.ledger.store)
        self.say("waiting: another projector follows this ledger; taking over when it stops")
        while not self.stopping.wait(self.interval):
            if self._retake():
                self.say("took over: this projector now follows the ledger")
                return

    def follow(self) -> int:
        """Apply new events until `stopping` is set; how many were applied."""
        applied = 0
        while not self.stopping.is_set():
            try:
                if not self.lock.held():
                    self.warn("warning: the projector lock was lost with its connection")
                    self.take_turn(wait=True)
                    continue
                applied += self._apply()
                self.lock.wait(self.interval, self.stopping)
            except STORE_ERRORS as error:
                store = self.projector.ledger.store
                self.warn(
                    f"warning: {describe(store, error)}; the projections lag until it is "
                    f"mended: trying again in {self.interval:g} s"
                )
                self.stopping.wait(self.interval)
        return applied

    def _apply(self) -> int:
        count = self.projector.catch_up(stopping=self.stopping.is_set)
        if count:
            self.say(
                f"applied {count} event(s): the projections are at log position "
                f"{self.projector.position()}"
            )
        return count

    def _retake(self) -> bool:
        try:
            return self.lock.take()
        except STORE_ERRORS as error:
            self.warn(f"warning: {describe(self.projector.ledger.store, error)}")
            return False
