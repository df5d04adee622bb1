"""The SSDA903 records the ledger holds, read back from the projections: per child, the
episodes, reviews and details the imported returns gave (restatements applied), written out
again as a return (`export`) or judged for inconsistencies (`projections.inconsistencies`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.plan import Effective, Entry, corrected, effective
from careledger.ledger.domain.vocabulary import Participation
from careledger.ledger.private_files import open_private, refuse_links
from careledger.ledger.ssda903.records import (
    SOURCE_PREFIX,
    ChildDetails,
    Episode,
    collection_name,
    from_a_return,
    in_year,
    return_year,
)
from careledger.projections.episodes import EpisodeChain
from careledger.projections.views import CaseViews, entries_from

HEADER = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODES = (
    "CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
    "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN",
)  # fmt: skip
REVIEWS = ("CHILD", "DOB", "REVIEW", "REVIEW_CODE")


@dataclass(frozen=True)
class HeldReview:
    held_on: date
    participation: Participation
    year: int | None  # the return it was read from, if any


@dataclass(frozen=True)
class Ending:
    """The child ceasing to be looked after, as read from an episode's end."""

    episode_id: str
    on: date
    reason: str


@dataclass
class ChildRecords:
    """What the ledger holds of one child in SSDA903 terms."""

    council: str
    child_ref: str
    details: list[ChildDetails] = field(default_factory=list)
    episodes: list[tuple[Episode, int | None]] = field(default_factory=list)
    reviews: list[HeldReview] = field(default_factory=list)
    endings: list[Ending] = field(default_factory=list)
    dec_given_by: dict[str, int | None] = field(default_factory=dict)  # episode id -> year
    restated_in: dict[str, set[int]] = field(default_factory=dict)  # episode id -> years
    own_ends: set[str] = field(default_factory=set)  # episodes the council's records end

    @property
    def dob(self) -> date | None:
        return next((d.dob for d in self.details if d.dob), None)


def _applies(entry: Entry, up_to_year: int | None) -> bool:
    """An earlier year's return is read as the returns up to that year gave it: nothing a
    later year's return recorded (its restatements, the endings it gave) changes it."""
    if up_to_year is None:
        return True
    year = return_year(entry.payload.source)
    return year is None or year <= up_to_year


def records_of(council: str, child_ref: str, entries: list[Entry],
               up_to_year: int | None = None) -> ChildRecords:  # fmt: skip
    """One child's SSDA903 records from the case's events, with the corrections recorded
    (by returns up to `up_to_year`, when given)."""
    records = ChildRecords(council, child_ref)
    kept = {x.seq: x.payload for x in entries if _applies(x, up_to_year)}
    history = effective(x for x in entries if x.seq in kept)
    for seq in sorted(history):
        payload, by = history[seq]
        year = return_year(payload.source)
        episode = p.episode_of(payload)
        if episode is not None:
            records.episodes.append((episode, year))
            records.dec_given_by[episode.episode_id] = _dec_given_by(kept[seq], by, kept)
            records.restated_in[episode.episode_id] = _years(kept[c] for c in by)
        elif isinstance(payload, p.ReviewHeld):
            records.reviews.append(HeldReview(payload.occurred_on, payload.participation, year))
        elif isinstance(payload, p.ChildDetailsRecorded) and from_a_return(payload.source):
            records.details.append(payload.details)
        elif isinstance(payload, p.ChildDetailsRecorded):  # the council's own: the latest holds
            records.details = [payload.details]
        elif isinstance(payload, p.ChildCeasedToBeLookedAfter) and payload.episode_id:
            records.endings.append(Ending(payload.episode_id, payload.occurred_on, payload.reason))
    _own_episodes(records, history)
    records.episodes.sort(key=lambda item: (item[0].decom, item[0].episode_id))
    records.reviews.sort(key=lambda r: r.held_on)
    return records


def _own_episodes(records: ChildRecords, history: Effective) -> None:
    """Add the episodes the council's own records make (`projections.episodes`), and end an
    imported episode a direct record followed."""
    ordered = sorted(history.items(), key=lambda item: (item[1][0].occurred_on, item[0]))
    chain = EpisodeChain()
    chain.follow(payload for _, (payload, _) in ordered)
    records.own_ends |= set(chain.ended)
    records.episodes = [(chain.ended.get(e.episode_id, e), y) for e, y in records.episodes]
    records.episodes += [(episode, None) for episode in chain.own]
    records.own_ends |= {episode.episode_id for episode in chain.own}


def _years(payloads: Iterable[p.Payload]) -> set[int]:
    return {y for y in (return_year(x.source) for x in payloads) if y is not None}


def _dec_given_by(original: p.Payload, by: tuple[int, ...],
                  payloads: dict[int, p.Payload]) -> int | None:  # fmt: skip
    """The return that gave an episode's end date as it now stands: the latest return whose
    restatement changed it, else the one that first gave the episode (a later return that
    repeats it unchanged does not take it over, as in the export)."""
    year, current = return_year(original.source), original
    for seq in by:
        correction = payloads[seq]
        assert isinstance(correction, p.CorrectionRecorded)
        after = corrected(current, correction)
        before, now = p.episode_of(current), p.episode_of(after)
        if before is not None and now is not None and before.dec != now.dec:
            year = return_year(correction.source)
        current = after
    return year


# A case of the council asked for: a case's id ignores the code's case and surrounding spaces
# (`ledger.domain.identity`), and so do these reads. Format with the cases table's alias, if any.
_COUNCIL = "UPPER(TRIM({0}council)) = UPPER(TRIM(?))"


def children(views: CaseViews, council: str | None, child_ref: str | None = None,
             up_to_year: int | None = None) -> Iterator[ChildRecords]:  # fmt: skip
    """Each child's records, one case read at a time (memory holds one case)."""
    where, params = [], []
    if council is not None:
        where.append(_COUNCIL.format(""))
        params.append(council)
    if child_ref is not None:
        where.append("child_ref=?")
        params.append(child_ref)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cases = views.fetch(
        "SELECT case_id, council, child_ref FROM {s}cl_cases"
        + clause
        + " ORDER BY council, child_ref",
        params,
    )
    for case in cases:
        entries = entries_from(views.case_rows(UUID(case["case_id"])))
        yield records_of(case["council"], case["child_ref"], entries, up_to_year)


def holds_council(views: CaseViews, council: str) -> bool:
    """Whether the ledger holds any case of the council."""
    rows = views.fetch(
        "SELECT 1 AS found FROM {s}cl_cases WHERE " + _COUNCIL.format("") + " LIMIT 1",
        (council,),
    )
    return bool(rows)


def holds_return(views: CaseViews, council: str | None, year: int) -> bool:
    """Whether any event of the ledger (of the council's cases, if given) was read from a
    return for collection `year`."""
    where = " AND " + _COUNCIL.format("c.") if council is not None else ""
    rows = views.fetch(
        "SELECT 1 AS found FROM {s}cl_events e JOIN {s}cl_cases c ON c.case_id = e.case_id "
        "WHERE e.source LIKE ?" + where + " LIMIT 1",
        (f"{SOURCE_PREFIX}{collection_name(year)} %", *([council] if council else [])),
    )
    return bool(rows)


def holds_year(views: CaseViews, council: str | None, year: int) -> bool:
    """Whether the ledger holds collection `year` of the council (or any council): a return
    for it, or a record the council made itself of something in that year (the return it
    makes from its own records: `projections.episodes`)."""
    if holds_return(views, council, year):
        return True
    where = " AND " + _COUNCIL.format("c.") if council is not None else ""
    rows = views.fetch(
        "SELECT 1 AS found FROM {s}cl_events e JOIN {s}cl_cases c ON c.case_id = e.case_id "
        "WHERE e.source NOT LIKE ? AND e.occurred_on BETWEEN ? AND ?" + where + " LIMIT 1",
        (f"{SOURCE_PREFIX}%", date(year, 4, 1).isoformat(), date(year + 1, 3, 31).isoformat(),
         *([council] if council else [])),
    )  # fmt: skip
    return bool(rows)


def newest_return(views: CaseViews, council: str) -> int | None:
    """The collection year of the newest return the ledger holds of the council."""
    rows = views.fetch(
        "SELECT MAX(e.source) AS newest FROM {s}cl_events e "
        "JOIN {s}cl_cases c ON c.case_id = e.case_id "
        "WHERE " + _COUNCIL.format("c.") + " AND e.source LIKE ?",
        (council, SOURCE_PREFIX + "%"),
    )
    newest = rows[0]["newest"] if rows else None
    return None if newest is None else return_year(newest)


def private_file(path: Path, setting: str, force: bool = False) -> TextIO:
    """A file for rows about children, readable by its owner only (ledger.private_files)."""
    return io.TextIOWrapper(open_private(path, setting, force=force), newline="", encoding="utf-8")


def _dmy(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _known(read_from: int | None, year: int) -> bool:
    return read_from is None or read_from <= year


def in_return(records: ChildRecords, year: int) -> tuple[list[Episode], list[HeldReview]]:
    """What a child's return for collection `year` holds: the episodes open during the year
    and the reviews held in it, and whatever that year's own return gave (or restated) beyond
    them; not what only a later year's return gave (the ledger did not know it when `year`
    was made)."""
    start, end = date(year, 4, 1), date(year + 1, 3, 31)
    episodes = [
        e for e, y in records.episodes
        if (y == year or year in records.restated_in.get(e.episode_id, ())
            or (_known(y, year) and in_year(e, year)))
        and not (e.left_out_by is not None and e.left_out_by <= year)
    ]  # fmt: skip
    reviews = [
        r for r in records.reviews
        if r.year == year or (_known(r.year, year) and start <= r.held_on <= end)
    ]  # fmt: skip
    episodes = [_at_year_end(e, end) if e.episode_id in records.own_ends else e for e in episodes]
    return episodes, reviews


def _at_year_end(episode: Episode, end: date) -> Episode:
    """An episode the council's own records ended, as it stood on the last day of the
    collection year: an end after that day is not yet in that year's return."""
    if episode.dec is None or episode.dec <= end:
        return episode
    return episode.model_copy(update={"dec": None, "rec": None, "reason_place_change": None})


def episode_row(child: str, e: Episode) -> dict[str, str]:
    return {
        "CHILD": child, "DECOM": _dmy(e.decom), "RNE": str(e.rne), "LS": str(e.legal_status),
        "CIN": e.cin or "", "PLACE": e.placement or "", "PLACE_PROVIDER": e.place_provider or "",
        "DEC": _dmy(e.dec), "REC": e.rec or "", "REASON_PLACE_CHANGE": e.reason_place_change or "",
        "HOME_POST": e.home_post or "", "PL_POST": e.pl_post or "", "URN": e.urn or "",
    }  # fmt: skip


def header_row(child: str, d: ChildDetails) -> dict[str, str]:
    return {
        "CHILD": child, "SEX": d.sex or "", "DOB": _dmy(d.dob), "ETHNIC": d.ethnic or "",
        "UPN": d.upn or "", "MOTHER": d.mother or "", "MC_DOB": _dmy(d.mc_dob),
    }  # fmt: skip


def export(
    views: CaseViews, council: str, year: int, directory: Path, force: bool = False
) -> dict[str, int]:
    """Write header.csv, episodes.csv and reviews.csv of `council`'s return for `year`."""
    counts = {"header": 0, "episodes": 0, "reviews": 0}
    paths = {name: directory / f"{name}.csv" for name in counts}
    columns = {"header": HEADER, "episodes": EPISODES, "reviews": REVIEWS}
    if not force:
        refuse_links(list(paths.values()), "DIRECTORY")
    files = {name: private_file(path, "DIRECTORY", force) for name, path in paths.items()}
    try:
        writers = {n: csv.DictWriter(f, fieldnames=columns[n]) for n, f in files.items()}
        for writer in writers.values():
            writer.writeheader()
        for records in children(views, council, up_to_year=year):
            _write_child(records, year, writers, counts)
    finally:
        for f in files.values():
            f.close()
    return counts


def _write_child(records: ChildRecords, year: int, writers: dict[str, Any],
                 counts: dict[str, int]) -> None:  # fmt: skip
    episodes, reviews = in_return(records, year)
    if not episodes and not reviews:
        return
    child = records.child_ref
    for details in records.details:  # none, if no return gave the child a Header row
        writers["header"].writerow(header_row(child, details))
    counts["header"] += 1
    for episode in episodes:
        writers["episodes"].writerow(episode_row(child, episode))
    counts["episodes"] += len(episodes)
    for review in reviews:
        writers["reviews"].writerow(
            {"CHILD": child, "DOB": _dmy(records.dob), "REVIEW": _dmy(review.held_on),
             "REVIEW_CODE": str(review.participation)}
        )  # fmt: skip
    counts["reviews"] += len(reviews)


def inconsistency_rows(views: CaseViews, council: str | None, child_ref: str | None = None,
                       year: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
    from careledger.projections.inconsistencies import inconsistencies

    rows: list[dict[str, Any]] = []
    for records in children(views, council, child_ref, up_to_year=year):
        for found in inconsistencies(records, year):
            rows.append({"council": records.council, "child": records.child_ref, **found.row()})
    return rows
