"""Importing an SSDA903 return into the ledger (issue 6; mapping in domain.md §3 and §5).

Each row becomes the event it means: RNE S a new period of care, L a legal-status change,
P/T a placement change, B/U both; an end reason other than X1 the child ceasing to be looked
after; a Reviews row a statutory review held; a SWEpisodes row a social worker allocated. The
row itself is kept in the event, so the return can be written out again.

Importing is idempotent and never edits: a row the ledger already holds as given records
nothing, and a later return that says something else of the same episode, review or child
records a correction pointing at what it restates, so the ledger shows what each return said.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger import payloads as p
from ledger.case import ChildCase
from ledger.events import payload_fields
from ledger.plan import effective
from ledger.return_files import Line
from ledger.return_rows import (
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
)
from ledger.returns import (
    ChildDetails,
    Episode,
    NewEpisodeReason,
    from_a_return,
    in_year,
    return_year,
    source_ref,
)

Keyed = tuple[str, p.Payload]


@dataclass(frozen=True)
class Refusal:
    """A row that could not be read."""

    file: str
    row: int
    column: str
    reason: str
    child: str | None


@dataclass
class ChildChanges:
    """What importing one child's rows records: new events and corrections."""

    child_ref: str
    payloads: list[p.Payload] = field(default_factory=list)
    corrections: int = 0
    unchanged: int = 0


def collection_end(year: int, today: date) -> date:
    """The day a return speaks for: the end of its collection year (31 March of year + 1),
    or today for a return made before the year ends."""
    return min(date(year + 1, 3, 31), today)


def refusals(child: str, lines: Iterable[Line], today: date) -> Iterator[Refusal]:
    """Every row of the child that cannot be read, or that gives a date in the future (the
    ledger records what has happened)."""
    for line in lines:
        if line.problem is not None:
            yield Refusal(line.file.name, line.row, "(row)", line.problem, child)
            continue
        try:
            record = _read(line, "check")
            for column, day in _dates(record):
                if day is not None and day > today:
                    raise Unreadable(column, f"{day} is in the future (today is {today})")
        except Unreadable as bad:
            yield Refusal(line.file.name, line.row, bad.column, bad.reason, child)


def _dates(record: Any) -> list[tuple[str, date | None]]:
    if isinstance(record, Episode):
        return [("DECOM", record.decom), ("DEC", record.dec)]
    if isinstance(record, Review):
        return [("REVIEW", record.held_on)]
    if isinstance(record, SocialWorker):
        return [("SW_DECOM", record.from_on)]
    return []


def _read(line: Line, episode_id: str) -> Any:
    table = line.file.table
    if table is Table.EPISODES:
        return read_episode(line.values, episode_id)
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
    """One child's rows of one return, as the events they map to, each with a key that
    names the same record in another return: an episode by its start, a review by its date."""

    def __init__(self, year: int, today: date, lines: list[Line]) -> None:
        self.year = year
        self.as_of = collection_end(year, today)
        self.lines = lines

    def _source(self, line: Line) -> str:
        return source_ref(self.year, line.file.name, line.file.sha256, line.row)

    def return_source(self) -> str:
        """The return's Episodes file (or the child's first file), for what no row says."""
        line = next(iter(self._of(Table.EPISODES) or self.lines))
        return source_ref(self.year, line.file.name, line.file.sha256, 0).removesuffix(" row 0")

    def wanted(self, known_episodes: list[Episode]) -> list[Keyed]:
        dated = [*self._episodes(known_episodes), *self._reviews(), *self._social_workers()]
        dated.sort(key=lambda keyed: keyed[1].occurred_on)
        return [*dated, *self._details()]

    def _of(self, table: Table) -> list[Line]:
        return [line for line in self.lines if line.file.table is table]

    def _episodes(self, known: list[Episode]) -> Iterator[Keyed]:
        seen: dict[str, int] = {}
        starts = sorted((episode_start(x.values), x.row, x) for x in self._of(Table.EPISODES))
        episodes = [
            (line, read_episode(line.values, numbered(str(start), seen)))
            for start, _, line in starts
        ]
        mine = {e.episode_id for _, e in episodes}
        before = sorted([e for e in known if e.episode_id not in mine] + [e for _, e in episodes],
                        key=lambda e: (e.decom, e.episode_id))
        for line, episode in episodes:
            earlier = [e for e in before if e.decom < episode.decom]
            reason = earlier[-1].reason_place_change if earlier else None
            source = self._source(line)
            yield f"episode:{episode.episode_id}", _episode_event(episode, source, reason)
            if episode.ends_care:
                assert episode.dec is not None and episode.rec is not None
                yield f"end:{episode.episode_id}", p.ChildCeasedToBeLookedAfter(
                    occurred_on=episode.dec, source=source, reason=episode.rec,
                    episode_id=episode.episode_id,
                )

    def _reviews(self) -> Iterator[Keyed]:
        seen: dict[str, int] = {}
        for line in self._of(Table.REVIEWS):
            review = read_review(line.values)
            review_id = numbered(f"903-{review.held_on}", seen)
            yield f"review:{review_id}", p.ReviewHeld(
                occurred_on=review.held_on, source=self._source(line), review_id=review_id,
                chair=None, participation=review.participation,
            )

    def _social_workers(self) -> Iterator[Keyed]:
        seen: dict[str, int] = {}
        for line in self._of(Table.SW_EPISODES):
            worker = read_social_worker(line.values)
            key = numbered(f"sw:{worker.from_on}:{worker.worker_id}", seen)
            yield key, p.SocialWorkerAllocated(
                occurred_on=worker.from_on, source=self._source(line),
                worker_id=worker.worker_id, reason=worker.reason,
            )

    def _details(self) -> Iterator[Keyed]:
        seen: dict[str, int] = {}
        for line in self._of(Table.HEADER):
            yield numbered("details", seen), p.ChildDetailsRecorded(
                occurred_on=self.as_of, source=self._source(line),
                details=read_details(line.values),
            )


def _episode_event(episode: Episode, source: str, reason: str | None) -> p.Payload:
    on, rne = episode.decom, episode.rne
    if rne is NewEpisodeReason.S:
        return p.ChildBecameLookedAfter(
            occurred_on=on, source=source, legal_status=episode.legal_status,
            placement=episode.placement, episode=episode,
        )
    if rne is NewEpisodeReason.L:
        return p.LegalStatusChanged(
            occurred_on=on, source=source, legal_status=episode.legal_status, episode=episode
        )
    with_status = rne in (NewEpisodeReason.B, NewEpisodeReason.U)
    return p.PlacementChanged(
        occurred_on=on, source=source, placement=episode.placement,
        same_carers=rne in (NewEpisodeReason.T, NewEpisodeReason.U),
        legal_status=episode.legal_status if with_status else None, reason=reason,
        episode=episode,
    )


def held(case: ChildCase | None) -> dict[str, tuple[int, p.Payload]]:
    """What the case already holds from returns, by the same keys as `ChildRows.wanted`,
    as corrected so far."""
    if case is None:
        return {}
    found: dict[str, tuple[int, p.Payload]] = {}
    seen: dict[str, int] = {}
    for seq, (payload, _) in sorted(effective(case.entries.values()).items()):
        key = _key(payload)
        if key is not None:
            found[numbered(key, seen)] = (seq, payload)
    return found


def episode_of(payload: p.Payload) -> Episode | None:
    """The SSDA903 episode an event was read from, if any."""
    episode = getattr(payload, "episode", None)
    return episode if isinstance(episode, Episode) else None


def _key(payload: p.Payload) -> str | None:
    episode = episode_of(payload)
    if episode is not None:
        return f"episode:{episode.episode_id}"
    if not from_a_return(payload.source):
        return None
    if isinstance(payload, p.ChildCeasedToBeLookedAfter) and payload.episode_id:
        return f"end:{payload.episode_id}"
    if isinstance(payload, p.ReviewHeld):
        return f"review:{payload.review_id}"
    if isinstance(payload, p.SocialWorkerAllocated):
        return f"sw:{payload.occurred_on}:{payload.worker_id}"
    if isinstance(payload, p.ChildDetailsRecorded):
        return "details"
    return None


def changes_for(case: ChildCase | None, rows: ChildRows, child_ref: str) -> ChildChanges:
    """The events importing these rows records in the case: new records, and corrections
    of records a return now restates."""
    existing = held(case)
    known = [episode_of(x) for _, x in existing.values()]
    known_episodes = [e for e in known if e is not None]
    result = ChildChanges(child_ref)
    wanted = rows.wanted(known_episodes)
    for key, payload in wanted:
        if key not in existing:
            result.payloads.append(payload)
            continue
        seq, before = existing[key]
        now = _keeping_later_omission(before, payload, rows.year)
        correction = restatement(seq, before, now, rows)
        if correction is None:
            result.unchanged += 1
        else:
            result.payloads.append(correction)
            result.corrections += 1
    listed = {key for key, _ in wanted}
    for key, (seq, before) in sorted(existing.items(), key=lambda item: item[1][0]):
        if key.startswith("episode:") and key not in listed:
            omission = left_out(seq, before, rows)
            if omission is not None:
                result.payloads.append(omission)
                result.corrections += 1
    return result


def _keeping_later_omission(before: p.Payload, now: p.Payload, year: int) -> p.Payload:
    """An earlier return imported again does not undo what a later return left out."""
    old, new = episode_of(before), episode_of(now)
    if old is None or new is None or old.left_out_by is None or old.left_out_by <= year:
        return now
    kept = new.model_copy(update={"left_out_by": old.left_out_by})
    return now.model_copy(update={"episode": kept})


def left_out(seq: int, before: p.Payload, rows: ChildRows) -> p.CorrectionRecorded | None:
    """A later return that lists the child but not an episode an earlier return gave, though
    the episode was open in the later return's year, has replaced it (the London episode-fix
    rules call this RULE_3A): recorded as a correction marking the episode left out."""
    episode, origin = episode_of(before), return_year(before.source)
    if episode is None or episode.left_out_by is not None or origin is None:
        return None
    if origin >= rows.year or not in_year(episode, rows.year):
        return None
    marked = episode.model_copy(update={"left_out_by": rows.year})
    return p.CorrectionRecorded(
        occurred_on=rows.as_of,
        source=rows.return_source(),
        corrects_seq=seq,
        reason=f"not in the SSDA903 {rows.year}-{(rows.year + 1) % 100:02d} return, which "
        f"lists the child but no longer this episode, though it was open in that year",
        corrected={"episode": marked.model_dump(mode="json")},
    )


def restatement(
    seq: int, before: p.Payload, now: p.Payload, rows: ChildRows
) -> p.CorrectionRecorded | None:
    """A correction of event `seq` to what the return now says, or None if it says the same."""
    fields = (payload_fields(before) & payload_fields(now)) - {"source"}
    if not isinstance(before, type(now)):
        # The row now means another kind of event (RNE S restated as P): the event stays what
        # it was recorded as, and its episode says what the return now gives.
        fields &= {"episode"}
    if isinstance(now, p.ChildDetailsRecorded):
        fields -= {"occurred_on"}  # the day each return speaks for, not a fact about the child
    changed = {f for f in fields if getattr(before, f) != getattr(now, f)}
    if not changed:
        return None
    values = now.model_dump(mode="json", include=changed)
    return p.CorrectionRecorded(
        occurred_on=rows.as_of,
        source=now.source,
        corrects_seq=seq,
        reason=f"restated by the SSDA903 {rows.year}-{(rows.year + 1) % 100:02d} return: "
        + "; ".join(_what_changed(before, now, sorted(changed))),
        corrected=values,
    )


def _what_changed(before: p.Payload, now: p.Payload, changed: list[str]) -> Iterator[str]:
    for name in changed:
        old, new = getattr(before, name), getattr(now, name)
        if isinstance(old, Episode) and isinstance(new, Episode):
            for f, column in EPISODE_COLUMNS.items():
                yield from _change(column, getattr(old, f), getattr(new, f))
        elif isinstance(old, ChildDetails) and isinstance(new, ChildDetails):
            for f in ChildDetails.model_fields:
                yield from _change(f.upper(), getattr(old, f), getattr(new, f))
        else:
            yield f"{name} {_shown(new)} (was {_shown(old)})"


# Where a child lives and is placed, and the numbers that find them, are not repeated in a
# reason that court chronologies and reports print: only that they changed.
UNSAID = frozenset({"HOME_POST", "PL_POST", "URN", "UPN"})


def _change(column: str, old: Any, new: Any) -> Iterator[str]:
    if old == new:
        return
    if column in UNSAID:
        yield f"{column} changed"
    else:
        yield f"{column} {_shown(new)} (was {_shown(old)})"


def _shown(value: Any) -> str:
    return "blank" if value is None else str(value)
