"""The application service: records events in children's cases, one atomic save per call."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, NamedTuple, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    project_aggregate,
)
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import Environment, EnvType

from careledger.ledger.case_locks import POSTGRES_STRIPES, CaseLocks
from careledger.ledger.collector import collector_paused
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ChildCase
from careledger.ledger.domain.commands import Command
from careledger.ledger.domain.events import CaseEvent
from careledger.ledger.domain.identity import case_id, uncached_case_id
from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.ledger.errors import CaseNotFound, RecordingConflict, RecordingRefused
from careledger.ledger.integrity.verify import case_events
from careledger.ledger.store.alongside import Alongside
from careledger.ledger.store.failures import is_write_conflict
from careledger.ledger.store.location import Store
from careledger.ledger.store.mapper import open_sealed
from careledger.ledger.store.read_only import refuse_writes
from careledger.ledger.store.recorders import PostgresLedgerRecorder, SQLiteLedgerRecorder

Clock = Callable[[], datetime]
# What to keep with a batch's events, in their transaction, given what was recorded.
KeptWith = Callable[[list["Recorded"]], Sequence[Alongside]]
FIRST_CONFLICT_WAIT = 0.01  # seconds: the first wait after a conflict is at most twice this
MAX_CONFLICT_WAIT = 0.5  # seconds: no wait after a conflict is longer
STORE_OWNED = ("CIPHER_TOPIC", "CIPHER_KEY")  # set by `store_for` alone (see construct_env)
NEEDS_PROTOCOL = (p.ChallengeRaised, p.ChallengeEscalated, p.CorrectionRecorded)


class Recorded(NamedTuple):
    """One recorded event: its case, and its place and type there. (A named tuple, not a
    frozen dataclass: one is made per event recorded, and a frozen dataclass's `__init__`
    sets each field through `object.__setattr__`.)"""

    case_id: UUID
    council: str
    child_ref: str
    seq: int
    event_type: str


class RecordingRequest(NamedTuple):
    """What one caller asks to record: its commands, who records them, and the rows to keep
    with them in their transaction (`CareLedger.record`)."""

    commands: Sequence[Command]
    recorded_by: p.Actor
    kept_with: KeptWith | None = None


class BatchRefused(RecordingRefused):
    """One command of a batch was refused; nothing of the batch was recorded."""

    def __init__(self, index: int, refusal: RecordingRefused) -> None:
        super().__init__(refusal.field, refusal.problem)
        self.index = index


class CareLedger(Application[UUID]):
    name = "careledger"
    env: ClassVar[dict[str, str]] = {
        "MAPPER_TOPIC": "careledger.ledger.store.mapper:PydanticMapper",
        # Recently used cases stay in memory; each read fast-forwards from the store, so
        # another writer's events are never missed (recording checks differently: see
        # `_stored_case`).
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        # Cases are used from the cache without a deep copy (a copy of a long history costs
        # more than replaying it); a batch that fails evicts every case it touched.
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
    }
    # Attempts at saving a batch that conflicts with other writers (`after_conflict`).
    save_attempts = 12

    def __init__(
        self,
        store: Store,
        clock: Clock | None = None,
        protocol: DisputeProtocol | Callable[[], DisputeProtocol] | None = None,
        reading: bool = False,
    ) -> None:
        self.reading = reading  # before the library makes the recorder: `construct_factory`
        super().__init__(store.env)
        self.store = store
        # Threads of this process record different children at once (`ledger.case_locks`).
        self.case_locks = CaseLocks(POSTGRES_STRIPES if store.is_postgres else 1)
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self._protocol = protocol
        self.store_recorder.sign_with(store.head_key_file, store.head_log)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """The library adds the process's environment to the store's settings, and reads
        CARELEDGER_CIPHER_KEY (its CIPHER_KEY under this application's name) before them: a
        key the settings did not choose, or chose not to use, would then decide the cipher.
        What the store was given is the library's only word on the cipher and the store."""
        environment = super().construct_env(name, env)
        given = env or {}
        for key in {*STORE_OWNED, *given}:
            environment.pop(f"{name.upper()}_{key}", None)
            if key not in given:
                environment.pop(key, None)
        return environment

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        """Opened for reading, every connection of the store refuses writes
        (`ledger.store.read_only`): set before the library makes the recorder, which
        connects."""
        factory = super().construct_factory(env)
        if self.reading:
            refuse_writes(factory.datastore)  # type: ignore[attr-defined]
        return factory

    @property
    def protocol(self) -> DisputeProtocol:
        """The council's protocol: the one given, or read from the settings by the function
        given when first needed (a command that records no challenge does not fail on a bad
        challenge setting), or else the Handbook's default ladder."""
        if self._protocol is None:
            self._protocol = DisputeProtocol()
        elif not isinstance(self._protocol, DisputeProtocol):
            self._protocol = self._protocol()
        return self._protocol

    def record(
        self,
        commands: Sequence[Command],
        recorded_by: p.Actor,
        kept_with: KeptWith | None = None,
    ) -> list[Recorded]:
        """Record every command or none. A concurrent writer to the same case makes the save
        conflict (the library's IntegrityError), and a refusal may come from a cached copy of
        a case that another writer has added to since (`_stored_case`): either way the batch
        is replayed on the case as the store holds it, up to `save_attempts` times in all;
        then `RecordingConflict`, and nothing recorded.

        `kept_with`: rows to insert in the events' own transaction, made from what is being
        recorded (`ledger.store.alongside`); one refused by its table's unique key raises
        `AlongsideRefused`, and nothing is recorded.

        Safe to call from several threads at once: each batch holds its cases' locks
        (`ledger.case_locks`)."""
        return self.record_together([RecordingRequest(commands, recorded_by, kept_with)])[0]

    def record_together(
        self, requests: Sequence[RecordingRequest], retry_refused: bool = True
    ) -> list[list[Recorded]]:
        """Several requests, each with its own recorder and kept rows, recorded in one
        transaction: all of them or none, as `record` records one (a refusal names the
        command's place within its own request). What was recorded for each request, in
        their order. `ledger.group_commit` uses this to record requests that arrive together
        at the cost of one.

        `retry_refused=False`: a refusal that a stale cached case may have caused is raised
        at once, not tried again on the cases as the store holds them (the group commit then
        records each request alone, which tries its own again)."""
        cases = {
            case_id(command.council, command.child_ref)
            for request in requests
            for command in request.commands
        }
        with self.case_locks.held(cases), collector_paused():
            return self._record_batch(requests, retry_refused)

    def _record_batch(
        self, requests: Sequence[RecordingRequest], retry_refused: bool
    ) -> list[list[Recorded]]:
        for attempt in range(1, self.save_attempts + 1):
            batch = _Batch(trust_cache=attempt == 1)
            try:
                recorded = [
                    self._apply(request.commands, request.recorded_by, batch)
                    for request in requests
                ]
                kept = [
                    row
                    for request, made in zip(requests, recorded, strict=True)
                    if request.kept_with is not None
                    for row in request.kept_with(made)
                ]
                if kept:
                    self.save(*batch.cases.values(), alongside=kept)
                else:
                    self.save(*batch.cases.values())
            except IntegrityError as error:
                self._evict(batch.cases)
                self.after_conflict(error, attempt)
                continue
            except BaseException as error:
                self._evict(batch.cases)
                stale = retry_refused and _stale_refusal(error, batch)
                if attempt < self.save_attempts and stale:
                    continue
                raise
            return recorded
        raise AssertionError("unreachable")

    def save(self, *objs: object, **kwargs: object) -> list[Recording[UUID]]:
        """The library's `save`, for a batch of the ledger's own cases, without asking of each
        whether it is a domain event or an aggregate: the library asks through its
        runtime-checkable Protocols, which Python 3.11 answers by walking each protocol's
        members every time, about 0.1 ms a case: a tenth of the time of recording ten events
        of a new child in bulk. Anything else goes to the library's `save` as it is.

        The cases' events are stored as the library's `EventStore.put` stores them, but not
        wrapped each in a `Notification` and a `Recording` for the application's `_notify`
        (two frozen dataclasses an event, a twentieth of bulk recording's CPU): the ledger has
        no follower in its process (the projections read the log), so this save returns no
        recordings."""
        if not all(type(obj) is ChildCase for obj in objs):
            return super().save(*objs, **kwargs)  # type: ignore[arg-type]
        processing_event = ProcessingEvent[UUID]()
        for case in cast(tuple[ChildCase, ...], objs):
            processing_event.events.extend(case.collect_events())
            processing_event.aggregates[case.id] = case
        processing_event.saved_kwargs.update(kwargs)
        self._store(processing_event)
        self._take_snapshots(processing_event)
        self.notify(processing_event.events)  # the library's deprecated hook, as its save does
        return []

    def _store(self, processing_event: ProcessingEvent[UUID]) -> None:
        """The library's `_record`, storing the events without making recordings of them."""
        events = self.events
        stored = list(map(events.mapper.to_stored_event, processing_event.events))
        events.recorder.insert_events(
            stored, tracking=processing_event.tracking, **processing_event.saved_kwargs
        )
        cache = self.repository.cache
        if cache and not self.repository.fastforward:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                cache.put(aggregate_id, aggregate)

    def after_conflict(self, error: IntegrityError, attempt: int) -> None:
        """Another writer saved to the same case first: wait a little, a random time that
        grows with each attempt (so that writers who keep colliding spread out), then let the
        caller try again on the case as the store now holds it. After the last attempt,
        give up: `RecordingConflict`, with nothing recorded. An IntegrityError that is no
        conflict (a trigger's refusal) is raised as it is."""
        if not is_write_conflict(error):
            raise error
        if attempt >= self.save_attempts:
            raise RecordingConflict(attempt) from error
        time.sleep(random.uniform(0, min(MAX_CONFLICT_WAIT, FIRST_CONFLICT_WAIT * 2**attempt)))

    def _evict(self, cases: dict[UUID, ChildCase]) -> None:
        """Forget cached cases that hold events which were not saved."""
        cache = self.repository.cache
        if cache is None:
            return
        for cid in cases:
            with contextlib.suppress(KeyError):
                cache.get(cid, evict=True)

    def case(self, council: str, child_ref: str) -> ChildCase:
        try:
            return self.repository.get(case_id(council, child_ref))
        except AggregateNotFoundError:
            raise CaseNotFound(council, child_ref) from None

    def _apply(
        self, commands: Sequence[Command], recorded_by: p.Actor, batch: _Batch
    ) -> list[Recorded]:
        now = self.clock()
        recorded: list[Recorded] = []
        cids = [case_id(c.council, c.child_ref) for c in commands]
        existing = self._existing_cases(set(cids))

        for index, (command, cid) in enumerate(zip(commands, cids, strict=True)):
            try:
                case = self._case_for(command, cid, batch, existing, now, recorded_by)
            except RecordingRefused as refusal:
                raise BatchRefused(index, refusal) from None
            seq = case.version
            recorded.append(
                Recorded(case.id, case.council, case.child_ref, seq, type(command.payload).__name__)
            )
        return recorded

    def cases_of(self, council: str, child_refs: Sequence[str]) -> dict[str, ChildCase]:
        """The cases the store holds for these children of a council (one query to find
        which exist)."""
        ids = {uncached_case_id(council, ref): ref for ref in child_refs}
        found = self.store_recorder.existing_cases(sorted(ids))
        return {ids[cid]: self.repository.get(cid) for cid in found}

    def save_reported(
        self,
        council: str,
        reports: Sequence[tuple[ChildCase | None, str, Sequence[p.Payload]]],
        recorded_by: p.Actor,
    ) -> int:
        """Record what a statutory return reported of several children, in one atomic save
        (see `ChildCase.report`); returns the number of events recorded. A concurrent writer
        makes the save fail with the library's IntegrityError, and nothing is recorded."""
        now = self.clock()
        cases: dict[UUID, ChildCase] = {}
        held = {case_id(council, child_ref) for _, child_ref, _ in reports}
        try:
            with self.case_locks.held(held), collector_paused():
                for case, child_ref, payloads in reports:
                    if not payloads:
                        continue
                    rest = list(payloads)
                    if case is None:
                        first = rest.pop(0)
                        case = ChildCase.open_reported(council, child_ref, first, now, recorded_by)
                    cases[case.id] = case
                    for payload in rest:
                        case.report(payload, now, recorded_by)
                self.save(*cases.values())
        finally:
            # An import touches each case once: keeping thousands of them cached would make
            # its memory grow with the size of the return.
            self._evict(cases)
        return sum(len(payloads) for _, _, payloads in reports)

    def _stored_case(self, cid: UUID, batch: _Batch) -> ChildCase | None:
        """The case as the store holds it; on a first attempt, as this process last saved or
        read it, if it is cached.

        A cached case is used without asking the store for events another writer may have
        added since: that question is a round trip per case (benchmarks/NOTES.md gives its
        share of recording one event on PostgreSQL). If there are such events, the case is
        stale, and `record` finds out either way: the save conflicts on the case's next
        sequence number, or, if the stale case refused the command, the batch is tried again
        on fresh state: then the case is read from the store alone, past the cache."""
        cache = self.repository.cache
        if not batch.trust_cache:
            return self._case_from_store(cid)
        if cache is not None:
            with contextlib.suppress(KeyError):
                cached = cache.get(cid)
                assert isinstance(cached, ChildCase)
                batch.from_cache = True
                return cached
        try:
            return self.repository.get(cid)
        except AggregateNotFoundError:
            return None

    def _case_from_store(self, cid: UUID) -> ChildCase | None:
        case = project_aggregate(None, self.repository.event_store.get(originator_id=cid))
        assert case is None or isinstance(case, ChildCase)
        return case

    @property
    def store_recorder(self) -> SQLiteLedgerRecorder | PostgresLedgerRecorder:
        """The library's recorder, as the ledger's own: its chain, its bulk lookups."""
        recorder = self.recorder
        assert isinstance(recorder, SQLiteLedgerRecorder | PostgresLedgerRecorder)
        return recorder

    def verified_events(self, case: UUID) -> tuple[list[CaseEvent], dict[int, bytes]]:
        """The case's events, decoded from the very stored bytes whose chain was just verified
        (a court document is read from these, never from a projection table, which could
        have been edited), and the hash of each; none for a case the store does not hold. A
        broken chain is refused (`case_events`)."""
        hashes, stored = case_events(self.store_recorder, case)
        events = [
            self.mapper.to_domain_event(
                StoredEvent(
                    originator_id=row.case,
                    originator_version=row.seq,
                    topic=row.topic,
                    state=row.state,
                )
            )
            for row in stored
        ]
        return [event for event in events if isinstance(event, CaseEvent)], hashes

    def check_key(self) -> None:
        """Refuse to go on without the key of an encrypted ledger, with another key, or with
        a key for a ledger that is not encrypted, tried on the log's first event. The
        projection tables answer without decrypting anything, and a new child's events
        recorded without the key would be stored in the clear among encrypted ones."""
        first = self.recorder.select_notifications(start=None, limit=1)
        if first:
            open_sealed(self.mapper.cipher, first[0].state)

    def _existing_cases(self, case_ids: set[UUID]) -> set[UUID] | None:
        """Which of these cases the store holds, asked once for a batch of several cases
        (None for one case: looking it up is then the same single query)."""
        if len(case_ids) < 2:
            return None
        return self.store_recorder.existing_cases(sorted(case_ids))

    def _case_for(
        self,
        command: Command,
        cid: UUID,
        batch: _Batch,
        existing: set[UUID] | None,
        now: datetime,
        actor: p.Actor,
    ) -> ChildCase:
        cases = batch.cases
        case = cases.get(cid)
        if case is None and (existing is None or cid in existing):
            case = self._stored_case(cid, batch)
            if case is not None:
                cases[cid] = case  # first, so that a failure below evicts it from the cache
        if case is None:
            if not isinstance(command.payload, p.ChildBecameLookedAfter):
                raise RecordingRefused(
                    "child",
                    f"no case for child '{command.child_ref}' of council '{command.council}': "
                    "record ChildBecameLookedAfter first",
                )
            case = ChildCase.open(command.council, command.child_ref, command.payload, now, actor)
            cases[cid] = case
        else:
            if isinstance(command.payload, NEEDS_PROTOCOL):
                case.record(command.payload, now, actor, self.protocol)
            else:
                case.record(command.payload, now, actor)
        return case


@dataclass
class _Batch:
    """One attempt at recording a batch: the cases it changes, and whether it may use cached
    cases as they are."""

    trust_cache: bool
    cases: dict[UUID, ChildCase] = field(default_factory=dict)
    from_cache: bool = False  # a case was taken from the cache, perhaps stale


def _stale_refusal(error: BaseException, batch: _Batch) -> bool:
    """A refusal that a stale cached case may have caused is tried again on fresh state."""
    return isinstance(error, BatchRefused) and batch.from_cache
