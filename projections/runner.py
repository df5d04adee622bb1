"""Keeping the case views up to date: catch-up in batches, exactly once.

The library's `ProjectionRunner` applies one event per transaction and cannot run on SQLite
(no subscription there). Catch-up here pulls the notification log in batches and applies each
batch with the tracking position of its last notification in one transaction.
A command catches up before it answers unless the projections are left to one projector
process (`careledger project --follow`, `projections.follow`); a ledger opened for reading
never does (`open_views(..., reading=True)`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import groupby

from eventsourcing.persistence import InfrastructureFactory, IntegrityError, Tracking
from eventsourcing.utils import Environment

from careledger.ledger.application import CareLedger
from careledger.ledger.collector import collector_paused
from careledger.ledger.domain import events as e
from careledger.ledger.errors import LedgerError
from careledger.ledger.store.mapper import PydanticMapper
from careledger.ledger.store.read_only import refuse_writes
from careledger.ledger.store.recorders import StoredHistory
from careledger.projections import guard
from careledger.projections.settings import PolicySettings
from careledger.projections.views import (
    CaseHistory,
    CaseViews,
    PostgresCaseViews,
    SQLiteCaseViews,
    stored_payload,
)

VIEWS_NAME = "careledger_views"
IDLE_TIMEOUT = "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Status:
    name: str
    position: int
    newest: int

    @property
    def lag(self) -> int:
        return max(0, self.newest - self.position)


class ViewsReadOnly(LedgerError):
    """The views lag the ledger and the database role in use may not write them (a writer's
    or a reader's role: `ledger.store.roles`; any role on a streaming replica)."""

    def __init__(self, status: Status) -> None:
        super().__init__(
            f"the projections are {status.lag} event(s) behind the ledger and this database "
            "role may not write them: run 'careledger projections catch-up' as the projector"
        )
        self.status = status


def open_views(
    ledger: CareLedger,
    scratch_schema: str | None = None,
    policy: PolicySettings | None = None,
    reading: bool = False,
) -> CaseViews:
    """The views recorder in the ledger's own database, under the projection's name; with
    `scratch_schema` (PostgreSQL), views of their own in that schema, their tables created
    (`projections.recheck`). `reading`: views that can only be read, on connections that
    refuse every write (`ledger.store.read_only`); on SQLite they are not the projector's
    either (`guard`)."""
    # A batch's statements run back to back, but a starved process can pause between them:
    # the views' sessions get a minute before PostgreSQL ends one idle in a transaction.
    settings = ledger.store.env | {IDLE_TIMEOUT: "60"}
    if scratch_schema is not None:
        settings |= {"POSTGRES_SCHEMA": scratch_schema, "CREATE_TABLE": "yes"}
    env = Environment(VIEWS_NAME, settings)
    factory = InfrastructureFactory.construct(env)
    view_class = PostgresCaseViews if ledger.store.is_postgres else SQLiteCaseViews
    if reading:
        refuse_writes(factory.datastore)  # type: ignore[attr-defined]
    elif not ledger.store.is_postgres:
        guard.as_projector(factory.datastore)  # type: ignore[attr-defined]
    policy = policy or PolicySettings()
    views = factory.tracking_recorder(view_class)
    assert isinstance(views, CaseViews)
    views.presumed_significant = policy.presumed_significant
    views.short_breaks = policy.short_breaks_timetable
    views.cipher = ledger.mapper.cipher
    views.read_only = reading
    return views


class Projector:
    """Catch-up applies the log in batches of `batch_size` notifications, each case a batch
    touches recomputed once in it. When the views are `stretch` events or more behind (after
    a bulk import, or a projector that was stopped), the whole lag is applied as one stretch,
    case by case (`CaseViews.apply_histories`): each case is computed once, however many
    batches its events would have been spread over. A rebuild is one such stretch, from the
    first event. From about five batches behind, a stretch costs less than the batches would,
    even with the batches' cases already held from earlier ones (benchmarks/NOTES.md)."""

    def __init__(
        self, ledger: CareLedger, views: CaseViews, batch_size: int = 500, stretch: int = 2_500
    ) -> None:
        self.ledger = ledger
        self.views = views
        self.batch_size = batch_size
        self.stretch = stretch

    @property
    def mapper(self) -> PydanticMapper:
        mapper = self.ledger.mapper
        assert isinstance(mapper, PydanticMapper)  # the ledger's MAPPER_TOPIC
        return mapper

    def position(self) -> int:
        return self.views.max_tracking_id(self.ledger.name) or 0

    def status(self) -> Status:
        return Status(VIEWS_NAME, self.position(), self.ledger.recorder.max_notification_id() or 0)

    def catch_up(
        self,
        progress: Progress | None = None,
        stop: int | None = None,
        stopping: Callable[[], bool] | None = None,
    ) -> int:
        """Apply every event after the views' tracking position; returns how many. Refused
        (`ViewsReadOnly`) when there are some and the role in use may not write the views.
        With `stop`, no further than that log position; with `stopping`, no further batch
        once it says so (a projector asked to stop finishes the batch it is applying)."""
        done = 0
        newest = self.ledger.recorder.max_notification_id() or 0
        newest = newest if stop is None else min(newest, stop)
        position = self.position()
        if newest > position and not self.views.can_write():
            raise ViewsReadOnly(Status(VIEWS_NAME, position, newest))
        while True:
            applied: tuple[int, int] | None
            try:
                if newest - position >= self.stretch:
                    applied = self._stretch(position, newest, progress)
                else:
                    applied = self._next_batch(position, stop)
            except IntegrityError:
                # Another process applied these events first (the tracking row refused ours):
                # carry on from wherever the views now stand. If they have not moved on, the
                # refusal had another cause: report it rather than loop.
                moved_to = self.position()
                if moved_to <= position:
                    raise
                position = moved_to
                continue
            if applied is None:
                return done
            position, count = applied
            done += count
            if progress:
                progress(done, max(newest - position + done, done))
            if stopping is not None and stopping():
                return done

    def _next_batch(self, position: int, stop: int | None = None) -> tuple[int, int] | None:
        """Read, decode and apply the batch after `position`, with its last position; returns
        that position and the batch's size, or None at the end of the log.

        The collector is paused, as for recording (`collector_paused`): a batch's
        notifications, decoded events and computed rows are freed by reference counting, and
        the collector's passes over them (and over the cache of decoded cases) took over a
        quarter of a SQLite rebuild."""
        with collector_paused():
            notifications = self.ledger.recorder.select_notifications(
                start=position, limit=self.batch_size, stop=stop, inclusive_of_start=False
            )
            if not notifications:
                return None
            decoded = [self.mapper.decoded(n) for n in notifications]
            case_events = [event for event, _ in decoded if isinstance(event, e.CaseEvent)]
            payloads = [
                stored_payload(event, state)
                for event, state in decoded
                if isinstance(event, e.CaseEvent)
            ]
            last = notifications[-1].id
            self.views.apply_batch(case_events, Tracking(self.ledger.name, last), payloads)
            return last, len(notifications)

    def _stretch(
        self, position: int, newest: int, progress: Progress | None = None, fresh: bool = False
    ) -> tuple[int, int]:
        """Apply every event after `position` up to `newest` as one stretch, case by case
        (`fresh`: into tables made anew); returns `newest` and how many events there were."""
        done = [0]

        def counted() -> None:
            if progress:
                progress(done[0], newest - position)

        # closed even when applying fails (a key that cannot decrypt): the reading cursor is
        # let go at once, not when the generator is collected after its pool has closed
        with collector_paused(), closing(self._histories(position, newest, done)) as histories:
            tracking = Tracking(self.ledger.name, newest)
            self.views.apply_histories(histories, tracking, fresh, counted)
        return newest, done[0]

    def _histories(
        self, position: int, newest: int, done: list[int]
    ) -> Generator[CaseHistory, None, None]:
        """Each case with events after `position`, with its events up to `newest` and how
        many of them come after `position`; `done[0]` counts those events (of every kind)
        as they are read."""
        with closing(self.ledger.store_recorder.iter_case_history(position, newest)) as stored:
            yield from self._grouped(stored, position, done)

    def _grouped(
        self, stored: Iterator[StoredHistory], position: int, done: list[int]
    ) -> Iterator[CaseHistory]:
        mapper = self.mapper
        for originator, rows in groupby(stored, key=lambda row: row[0].originator_id):
            events: list[e.CaseEvent] = []
            payloads: list[str | None] = []
            for stored_event, at in rows:
                event, state = mapper.decoded(stored_event)
                done[0] += at > position
                if isinstance(event, e.CaseEvent):
                    events.append(event)
                    if at > position:
                        payloads.append(stored_payload(event, state))
            if events:
                yield str(originator), events, len(payloads), payloads

    def rebuild(self, progress: Progress | None = None) -> int:
        """Make the views anew from the first event: one stretch into tables made anew,
        then whatever was recorded meanwhile."""
        newest = self.ledger.recorder.max_notification_id() or 0
        if not newest:
            self.views.reset(self.ledger.name)
            return self.catch_up(progress)
        if not self.views.can_write():
            raise ViewsReadOnly(Status(VIEWS_NAME, self.position(), newest))
        _, done = self._stretch(0, newest, progress, fresh=True)
        return done + self.catch_up(progress)
