"""What a child's imported SSDA903 records say that does not fit together.

The ledger records a council's return as it was made; it does not tidy it. This projection
makes each inconsistency visible instead, with the DfE validation rule it matches where there
is one. The episode rules are judged the way the DfE's rules judge a return: the child's
episodes in order of start date (ties in the order the return gave them), each against the
one before it:

- 501: an episode starts before the previous one ended (overlapping episodes);
- 388: an episode ending X1 (care continues) whose next episode does not start that day; an
  episode ending care (not X1) on the day the next one starts; the last episode ending X1;
- 431: a new period of care (RNE S) starting on or before the day the previous episode ended;
- 432: the previous episode ended care, but the next is not a new period of care;
- 433: a continuation episode (RNE L, P, T, U, B) that does not start the day the previous
  one ended (or follows an open episode);
- 142: an episode other than the last that has no end date or no reason it ended.

And each episode on its own:

- 356: it ended (DEC) before it started (DECOM);
- 148: it has an end date without a reason it ended (REC), or a reason without a date.

Beyond the DfE's rules: a review held while the child was not looked after; a child with
episodes and no Header row; a date after the end of the collection year of the return that
gave it; an episode a later return no longer lists (replaced: it is left out of the judging
of the whole history); an ending a later return no longer gives (the child's ceasing to be
looked after stays recorded, the projections stop applying it: `projections.withdrawn`, and
it is shown here); care running past the 18th birthday (rule 359 where an episode is left
open).

A child the council records itself is judged the same way, on the episodes its own events
make (`projections.episodes`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.domain.vocabulary import CEASED_REASONS
from careledger.ledger.ssda903.records import CONTINUES, Episode, NewEpisodeReason, collection_name
from careledger.projections.returns import ChildRecords, HeldReview, in_return
from careledger.projections.timetable import add_months

CONTINUATIONS = frozenset(NewEpisodeReason) - {NewEpisodeReason.S}


@dataclass(frozen=True)
class Inconsistency:
    rule: str | None  # the DfE validation rule it matches, if any
    on: date
    episode: str | None
    what: str

    def row(self) -> dict[str, Any]:
        return {
            "rule": self.rule or "-",
            "occurred_on": self.on.isoformat(),
            "episode": self.episode or "",
            "what": self.what,
        }


def inconsistencies(records: ChildRecords, year: int | None = None) -> list[Inconsistency]:
    """The child's inconsistencies: in the return for collection `year`, or (None) in
    everything the ledger holds of the child."""
    if year is None:
        episodes = [e for e, _ in records.episodes if e.left_out_by is None]
        reviews = records.reviews
    else:
        episodes, reviews = in_return(records, year)
    found = [
        *overlaps(episodes),
        *broken_continuity(episodes),
        *not_ended(episodes),
        *each_episode(episodes),
        *outside_care(episodes, reviews),
        *no_header(records, episodes),
        *after_the_year(records, year),
        *withdrawn_endings(records),
        *left_out(records, year),
        *past_eighteen(records, episodes, year),
    ]
    return sorted(found, key=lambda x: (x.on, x.rule or "~"))


def _by_start(episodes: list[Episode]) -> list[Episode]:
    return sorted(episodes, key=lambda e: e.decom)  # stable: ties keep the return's order


def overlaps(episodes: list[Episode]) -> Iterator[Inconsistency]:
    for before, this in pairwise(_by_start(episodes)):
        if before.dec is not None and this.decom < before.dec:
            yield Inconsistency(
                "501", this.decom, this.episode_id,
                f"starts {this.decom}, before the previous episode ({before.episode_id}) "
                f"ended on {before.dec}: overlapping episodes",
            )  # fmt: skip


def broken_continuity(episodes: list[Episode]) -> Iterator[Inconsistency]:
    ordered = _by_start(episodes)
    for before, this in pairwise(ordered):
        yield from _continuity(before, this)
    if ordered:
        last = ordered[-1]
        if last.dec is not None and last.rec == CONTINUES:
            yield Inconsistency(
                "388", last.dec, last.episode_id,
                f"the last episode ended {last.dec} coded X1 (care continues), "
                "but no episode follows",
            )  # fmt: skip
    by_start_and_end = sorted(episodes, key=lambda e: (e.decom, e.dec is None, e.dec or e.decom))
    for before, this in pairwise(by_start_and_end):
        if this.rne in CONTINUATIONS and before.dec != this.decom:
            ended = f"ended {before.dec}" if before.dec else "is still open"
            yield Inconsistency(
                "433", this.decom, this.episode_id,
                f"continues care (RNE {this.rne}) from {this.decom}, but the previous "
                f"episode ({before.episode_id}) {ended}",
            )  # fmt: skip


def not_ended(episodes: list[Episode]) -> Iterator[Inconsistency]:
    """142: every episode but the child's last (by start) must have ended, with a reason."""
    for before, this in pairwise(_by_start(episodes)):
        if before.dec is None or before.rec is None:
            missing = "end date (DEC)" if before.dec is None else "reason it ended (REC)"
            yield Inconsistency(
                "142", before.decom, before.episode_id,
                f"has no {missing}, though the episode of {this.decom} follows it",
            )  # fmt: skip


def each_episode(episodes: list[Episode]) -> Iterator[Inconsistency]:
    """What a single row contradicts of itself (356, 148)."""
    for e in episodes:
        if e.dec is not None and e.dec < e.decom:
            yield Inconsistency(
                "356", e.dec, e.episode_id, f"ended {e.dec}, before it started on {e.decom}"
            )
        if (e.dec is None) != (e.rec is None):
            what = (f"ended {e.dec} with no reason it ended (REC)" if e.dec is not None
                    else f"has a reason it ended ({e.rec}) but no end date (DEC)")  # fmt: skip
            yield Inconsistency("148", e.dec or e.decom, e.episode_id, what)


def _continuity(before: Episode, this: Episode) -> Iterator[Inconsistency]:
    if before.dec is not None and before.rec == CONTINUES and before.dec != this.decom:
        yield Inconsistency(
            "388", before.dec, before.episode_id,
            f"ended {before.dec} coded X1 (care continues), but the next episode starts "
            f"{this.decom}",
        )  # fmt: skip
    ends_care = before.rec is not None and before.rec != CONTINUES
    if ends_care and before.dec is not None and before.dec == this.decom:
        yield Inconsistency(
            "388", before.dec, before.episode_id,
            f"ended care ({before.rec}) on {before.dec}, the day the next episode starts: "
            "a continuing episode is coded X1",
        )  # fmt: skip
    if this.rne is NewEpisodeReason.S and before.dec is not None and this.decom <= before.dec:
        yield Inconsistency(
            "431", this.decom, this.episode_id,
            f"a new period of care (RNE S) from {this.decom}, but the previous episode "
            f"ended {before.dec}",
        )  # fmt: skip
    if before.rec in CEASED_REASONS and this.rne is not NewEpisodeReason.S:
        yield Inconsistency(
            "432", this.decom, this.episode_id,
            f"the previous episode ended care ({before.rec}), but this one (RNE {this.rne}) "
            "is not a new period of care",
        )  # fmt: skip


def outside_care(episodes: list[Episode], reviews: list[HeldReview]) -> Iterator[Inconsistency]:
    """Reviews held on a day no episode covers (no DfE rule: reviews and episodes are
    checked separately by the return's rules)."""
    for review in reviews:
        day = review.held_on
        if not any(e.decom <= day and (e.dec is None or day <= e.dec) for e in episodes):
            yield Inconsistency(
                None, day, None, f"review held {day} while no episode of care was open"
            )


def no_header(records: ChildRecords, episodes: list[Episode]) -> Iterator[Inconsistency]:
    """A child with episodes and no Header row, from a return or recorded (no DfE rule: the
    DfE's tools match the tables by child, and a row missing from one is simply not
    there)."""
    if episodes and not records.details:
        first = min(e.decom for e in episodes)
        yield Inconsistency(
            None, first, None,
            "no Header row: no return or recorded details give the child's sex or date of birth",
        )  # fmt: skip


def after_the_year(records: ChildRecords, year: int | None) -> Iterator[Inconsistency]:
    """Dates after the 31 March that ends the collection year of the return giving them: an
    end date belongs to the return that last changed it."""
    for episode, first_by in records.episodes:
        dec_by = records.dec_given_by.get(episode.episode_id, first_by)
        for column, day, given_by in (("DECOM", episode.decom, first_by),
                                      ("DEC", episode.dec, dec_by)):  # fmt: skip
            if given_by is None or day is None or (year is not None and given_by != year):
                continue
            end = date(given_by + 1, 3, 31)
            if day > end:
                yield Inconsistency(
                    None, day, episode.episode_id,
                    f"{column} {day} is after the end of the {collection_name(given_by)} "
                    f"return's year ({end})",
                )  # fmt: skip
    for review in records.reviews:
        given_by = review.year
        if given_by is not None and (year is None or given_by == year):
            end = date(given_by + 1, 3, 31)
            if review.held_on > end:
                yield Inconsistency(
                    None, review.held_on, None,
                    f"review dated {review.held_on}, after the end of the "
                    f"{collection_name(given_by)} return's year ({end})",
                )  # fmt: skip


def left_out(records: ChildRecords, year: int | None = None) -> Iterator[Inconsistency]:
    """Episodes a later return replaced: in the view of one year, those that year's return
    replaced."""
    for episode, given_by in records.episodes:
        if episode.left_out_by is not None and year in (None, episode.left_out_by):
            first = f"the {collection_name(given_by)} return" if given_by else "an earlier record"
            yield Inconsistency(
                None, episode.decom, episode.episode_id,
                f"given by {first}, no longer listed by the {collection_name(episode.left_out_by)} "
                "return, which lists the child: replaced",
            )  # fmt: skip


def withdrawn_endings(records: ChildRecords) -> Iterator[Inconsistency]:
    """An ending recorded from an episode a later return says did not end care then."""
    episodes = {e.episode_id: e for e, _ in records.episodes}
    for ending in records.endings:
        episode = episodes.get(ending.episode_id)
        if episode is None or (episode.ends_care and episode.dec == ending.on):
            continue
        now = f"ends {episode.dec} ({episode.rec})" if episode.dec else "is open"
        yield Inconsistency(
            None, ending.on, ending.episode_id,
            f"recorded as ceasing to be looked after on {ending.on} ({ending.reason}), but the "
            f"episode now {now} as a later return gives it",
        )  # fmt: skip


def past_eighteen(records: ChildRecords, episodes: list[Episode],
                  year: int | None) -> Iterator[Inconsistency]:  # fmt: skip
    """Care that runs past the 18th birthday: a child is a person under 18 (CA 1989
    s.105(1)). An episode still open then (by the end of the return's year, or today) is the
    DfE's rule 359, which accepts a person accommodated in a community home under s.20(5)
    (LS V2, PLACE K2); an end recorded after the birthday is listed too. Once per child."""
    if records.dob is None:
        return
    eighteen = add_months(records.dob, 12 * 18)
    limit = date(year + 1, 3, 31) if year is not None else datetime.now(ENGLAND).date()
    for episode in _by_start(episodes):
        community_home = episode.legal_status == "V2" and episode.placement == "K2"
        if episode.dec is None and eighteen < limit and not community_home:
            yield Inconsistency(
                "359", eighteen, episode.episode_id,
                f"looked after past 18 (18 on {eighteen}): record when care ended",
            )  # fmt: skip
            return
        if episode.dec is not None and episode.dec > eighteen and not community_home:
            yield Inconsistency(
                None, eighteen, episode.episode_id,
                f"looked after past 18: care recorded as going on to {episode.dec}, after the "
                f"18th birthday ({eighteen}): record when care ended",
            )  # fmt: skip
            return
