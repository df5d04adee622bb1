"""Reading an SSDA903 return as events.

Each row becomes the event it means: RNE S a new period of care, L a legal-status change,
P/T a placement change, B/U both; an end reason other than X1 the child ceasing to be looked
after; a Reviews row a statutory review held; a SWEpisodes row a social worker allocated. The
row itself is kept in the event, so the return can be written out again.

What a row means here; what a later return's row restates is `ledger.ssda903.restatements`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import refusal_from
from careledger.ledger.ssda903.files import Checked, Line, Record
from careledger.ledger.ssda903.records import (
    ChildDetails,
    Episode,
    NewEpisodeReason,
    in_the_future,
    past_dates,
    source_ref,
)
from careledger.ledger.ssda903.rows import (
    DETAILS_COLUMNS,
    EPISODE_COLUMNS,
    Review,
    SocialWorker,
    Table,
    Unreadable,
    episode_start,
    read_details,
    read_episode,
    read_review,
    read_social_worker,
    renamed_episode,
)
from careledger.ledger.store import trusted

Keyed = tuple[str, p.Payload]


@dataclass(frozen=True)
class Refusal:
    """A row that could not be read."""

    file: str
    row: int
    column: str
    reason: str
    child: str | None


@lru_cache(maxsize=64)
def collection_end(year: int, today: date) -> date:
    """The day a return speaks for: the end of its collection year (31 March of year + 1),
    or today for a return made before the year ends."""
    return min(date(year + 1, 3, 31), today)


def collection_year(today: date) -> int:
    """The collection year in progress on `today` (it begins on 1 April): no return can be
    made for a later one."""
    return today.year if today.month >= 4 else today.year - 1


def checked(child: str, line: Line, today: date, year: int) -> Checked | Refusal:
    """The child's row read into its record, or why it is refused: it cannot be read, it
    gives a date in the future (the ledger records what has happened), or the ledger would
    refuse its event. The row is mapped to its events here exactly as the recording maps
    it, so that nothing the recording would refuse is found only after other children were
    recorded; the recording takes the record from here, and does not read the row again."""
    if line.problem is not None:
        return Refusal(line.file.name, line.row, line.problem_column, line.problem, child)
    try:
        record = _read(line)
        for column, day in _dates(record):
            problem = in_the_future(day, today)
            if problem:
                raise Unreadable(column, problem)
        row = Checked(line.file, line.row, record)
        _mapped(row, year, today)
    except Unreadable as bad:
        return Refusal(line.file.name, line.row, bad.column, bad.reason, child)
    return row


# The column a field of an event read from a row came from, for a refusal to name.
FIELD_COLUMNS = {
    **EPISODE_COLUMNS, **DETAILS_COLUMNS, "worker_id": "SW_ID", "source": "(file name)",
}  # fmt: skip


def _mapped(row: Checked, year: int, today: date) -> None:
    """Build the row's events from its record as the recording will, refusing what their
    models refuse."""
    try:
        _one_row(year, today).events_of(row)
    except ValidationError as error:
        refusal = refusal_from(error)
        last = refusal.field.rsplit(".", 1)[-1]
        raise Unreadable(FIELD_COLUMNS.get(last, refusal.field), refusal.problem) from None


@lru_cache(maxsize=16)
def _one_row(year: int, today: date) -> ChildRows:
    """The mapping of a row alone (`ChildRows.events_of` reads no other row): made once for
    every row of a return."""
    return ChildRows(year, today, [])


def _dates(record: Any) -> list[tuple[str, date | None]]:
    if isinstance(record, Review):  # the most rows of a return
        return [("REVIEW", record.held_on)]
    if isinstance(record, Episode | ChildDetails):
        return [(FIELD_COLUMNS[name], day) for name, day in past_dates(record)]
    if isinstance(record, SocialWorker):
        return [("SW_DECOM", record.from_on)]
    return []


def _read(line: Line) -> Record:
    """The row's record, read as `ChildRows` reads a child's only row of its table (an
    episode is named by its start)."""
    table = line.file.table
    if table is Table.EPISODES:
        return read_episode(line.values, str(episode_start(line.values)))
    if table is Table.REVIEWS:
        return read_review(line.values)
    if table is Table.HEADER:
        return read_details(line.values)
    return read_social_worker(line.values)


def numbered(key: str, seen: dict[str, int]) -> str:
    """The n-th record with the same key gets '#n' (n > 1): duplicate rows are kept apart."""
    seen[key] = seen.get(key, 0) + 1
    return key if seen[key] == 1 else f"{key}#{seen[key]}"


class ChildRows:
    """One child's rows of one return (checked, `checked`), as the events they map to, each
    with a key that names the same record in another return: an episode by its start, a
    review by its date.

    `validated`: the rows were checked in this process, for this year and day, so each
    row's events as the row alone maps to them (`events_of`) were built and validated then.
    An event that is exactly such an event, the same values, is built here without
    validating them again (`ledger.store.trusted.maker`); one that differs (an id numbered
    '#n', the reason the placement before it changed) is validated as it is built."""

    def __init__(
        self, year: int, today: date, lines: list[Checked], validated: bool = False
    ) -> None:
        self.year = year
        self.as_of = collection_end(year, today)
        self.lines = lines
        self.validated = validated

    def _source(self, line: Checked) -> str:
        return source_ref(self.year, line.file.name, line.file.sha256, line.row)

    def return_source(self) -> str:
        """The return's Episodes file (or the child's first file), for what no row says."""
        line = next(iter(self._of(Table.EPISODES) or self.lines))
        return source_ref(self.year, line.file.name, line.file.sha256, 0).removesuffix(" row 0")

    def wanted(self, known_episodes: list[Episode]) -> list[Keyed]:
        dated = [*self._episodes(known_episodes), *self._reviews(), *self._social_workers()]
        dated.sort(key=lambda keyed: keyed[1].occurred_on)
        return [*dated, *self._details()]

    def events_of(self, line: Checked) -> list[Keyed]:
        """The events of one row, as `wanted` maps them when the row is its child's only row
        of its table."""
        record = line.record
        if isinstance(record, Episode):
            return list(self._episode_keyed(line, record, None))
        if isinstance(record, Review):
            return [self._review_held(line, record, {})]
        if isinstance(record, ChildDetails):
            return [self._details_recorded(line, record, {})]
        return [self._worker_allocated(line, record, {})]

    def _of(self, table: Table) -> list[Checked]:
        return [line for line in self.lines if line.file.table is table]

    def _episodes(self, known: list[Episode]) -> Iterator[Keyed]:
        """The child's episodes by their start (rows of one start in the order the file
        gives them, each after the first named '#n'), each read as `checked` read it: as the
        episode its start names."""
        seen: dict[str, int] = {}
        episodes = []
        for line in sorted(self._of(Table.EPISODES), key=lambda x: (_episode(x).decom, x.row)):
            episode = _episode(line)
            episodes.append((line, renamed_episode(episode, numbered(str(episode.decom), seen))))
        return self._episode_events(episodes, known)

    def _episode_events(
        self, episodes: list[tuple[Checked, Episode]], known: list[Episode]
    ) -> Iterator[Keyed]:
        mine = {e.episode_id for _, e in episodes}
        before = sorted([e for e in known if e.episode_id not in mine] + [e for _, e in episodes],
                        key=lambda e: (e.decom, e.episode_id))
        for line, episode in episodes:
            earlier = [e for e in before if e.decom < episode.decom]
            reason = earlier[-1].reason_place_change if earlier else None
            yield from self._episode_keyed(line, episode, reason)

    def _episode_keyed(
        self, line: Checked, episode: Episode, reason: str | None
    ) -> Iterator[Keyed]:
        """An episode's events, given why the placement before it changed (`reason`)."""
        source = self._source(line)
        as_checked = self.validated and episode is line.record and reason is None
        yield f"episode:{episode.episode_id}", _episode_event(episode, source, reason, as_checked)
        if episode.ends_care:
            assert episode.dec is not None and episode.rec is not None
            end = _CEASED.built(as_checked)
            yield f"end:{episode.episode_id}", end(
                episode.dec, source, episode.rec, episode.episode_id
            )

    def _reviews(self) -> Iterator[Keyed]:
        seen: dict[str, int] = {}
        for line in self._of(Table.REVIEWS):
            assert isinstance(line.record, Review)
            yield self._review_held(line, line.record, seen)

    def _review_held(self, line: Checked, review: Review, seen: dict[str, int]) -> Keyed:
        first = f"903-{review.held_on}"
        review_id = numbered(first, seen)
        held = _REVIEW_HELD.built(self.validated and review_id == first)
        return f"review:{review_id}", held(
            review.held_on, self._source(line), review_id, None, review.participation
        )

    def _social_workers(self) -> Iterator[Keyed]:
        seen: dict[str, int] = {}
        for line in self._of(Table.SW_EPISODES):
            assert isinstance(line.record, SocialWorker)
            yield self._worker_allocated(line, line.record, seen)

    def _worker_allocated(
        self, line: Checked, worker: SocialWorker, seen: dict[str, int]
    ) -> Keyed:
        key = numbered(f"sw:{worker.from_on}:{worker.worker_id}", seen)  # not in the event
        allocated = _WORKER_ALLOCATED.built(self.validated)
        return key, allocated(worker.from_on, self._source(line), worker.worker_id, worker.reason)

    def _details(self) -> Iterator[Keyed]:
        seen: dict[str, int] = {}
        for line in self._of(Table.HEADER):
            assert isinstance(line.record, ChildDetails)
            yield self._details_recorded(line, line.record, seen)

    def _details_recorded(
        self, line: Checked, details: ChildDetails, seen: dict[str, int]
    ) -> Keyed:
        recorded = _DETAILS_RECORDED.built(self.validated)
        return numbered("details", seen), recorded(self.as_of, self._source(line), details)


def _episode(line: Checked) -> Episode:
    assert isinstance(line.record, Episode)
    return line.record


def _episode_event(
    episode: Episode, source: str, reason: str | None, as_checked: bool = False
) -> p.Payload:
    """The event an episode's start means; `as_checked`: exactly as `checked` built and
    validated it, so built without validating it again."""
    on, rne = episode.decom, episode.rne
    if rne is NewEpisodeReason.S:
        became = _BECAME_LOOKED_AFTER.built(as_checked)
        return became(on, source, episode.legal_status, episode.placement, episode)
    if rne is NewEpisodeReason.L:
        changed = _LEGAL_STATUS_CHANGED.built(as_checked)
        return changed(on, source, episode.legal_status, episode)
    with_status = rne in (NewEpisodeReason.B, NewEpisodeReason.U)
    moved = _PLACEMENT_CHANGED.built(as_checked)
    return moved(
        on, source, episode.placement, rne in (NewEpisodeReason.T, NewEpisodeReason.U),
        episode.legal_status if with_status else None, reason, episode,
    )


class _Event:
    """An event a row maps to, made from its fields' values in the order `fields` names
    them: validated as it is built (`validated`), or, when it is exactly the event `checked`
    built and validated from the row, built without validating again (`trusted.maker`),
    holding the same values."""

    def __init__(self, model: type[p.Payload], fields: tuple[str, ...]) -> None:
        self.model, self.fields = model, fields
        self.trusted = trusted.maker(model, fields)

    def validated(self, *values: Any) -> p.Payload:
        return self.model(**dict(zip(self.fields, values, strict=True)))

    def built(self, as_checked: bool) -> Callable[..., p.Payload]:
        return self.trusted if as_checked else self.validated


_BECAME_LOOKED_AFTER = _Event(
    p.ChildBecameLookedAfter, ("occurred_on", "source", "legal_status", "placement", "episode")
)
_LEGAL_STATUS_CHANGED = _Event(
    p.LegalStatusChanged, ("occurred_on", "source", "legal_status", "episode")
)
_PLACEMENT_CHANGED = _Event(
    p.PlacementChanged,
    ("occurred_on", "source", "placement", "same_carers", "legal_status", "reason", "episode"),
)
_CEASED = _Event(p.ChildCeasedToBeLookedAfter, ("occurred_on", "source", "reason", "episode_id"))
_REVIEW_HELD = _Event(
    p.ReviewHeld, ("occurred_on", "source", "review_id", "chair", "participation")
)
_WORKER_ALLOCATED = _Event(
    p.SocialWorkerAllocated, ("occurred_on", "source", "worker_id", "reason")
)
_DETAILS_RECORDED = _Event(p.ChildDetailsRecorded, ("occurred_on", "source", "details"))
