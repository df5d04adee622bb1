"""Folding a case forward: what the views hold for a case, from what they held before a
batch and the batch's new events, without going over the case's whole history again.

A projector that follows the ledger meets a case again each time the council records
something for the child: a review, an allocation, a recommendation completed. Computing
the case's plan, flags, summary and follow-up facts from its whole history each time costs
more the longer the child has been looked after. A `CaseFold` keeps what that computation
found, and what it was found from, and takes in later events:

- the plan in force and the summary are carried on from where they stood;
- each follow-up fact is computed again only from the events its rule reads
  (`projections.followup.FactInputs`), and only when the batch brings it one;
- lags and permanence records are per event;
- the flags stand as they were when the batch brings only events no rule of
  `projections.rules` reads; its plan decisions are judged in turn against the case's
  reviews; a review or a proposal has the earlier changes that name it (or the proposals it
  decides, or the changes it ratifies) judged again: a review can approve, ratify or
  withdraw the approval of a change made long before. A batch that brings an entry to or
  exit from care, a legal status, a placement or a date of birth has the case judged again
  whole.

A batch is folded in only when its events come after every event the case has, in the
order a case's facts are taken (their date, then the order they were recorded), and none
of them is a correction or an SSDA903 episode's entry to or exit from care: those can
change what earlier events mean (a correction from its day on; a later return can take
back an earlier return's episodes). Any other batch is computed from the case's whole
history, as a rebuild computes it. Either way the case's views are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.plan import (
    Effective,
    Entry,
    SectionState,
    effective,
    plan_in_force,
    plan_with,
)
from careledger.ledger.domain.vocabulary import Section
from careledger.projections.followup import (
    DateKey,
    FactsSoFar,
    Version,
    recorded_day,
    versions_so_far,
)
from careledger.projections.rules import Flag, Judged
from careledger.projections.summary import CaseSummary, summarise, summarised


@dataclass(frozen=True)
class Judging:
    """The settings a case is judged under (`projections.settings.PolicySettings`)."""

    presumed_significant: frozenset[Section]
    short_breaks: bool


@dataclass(frozen=True)
class CaseFold:
    """A case's plan, flags, summary and follow-up versions, with what they were computed
    from. Never changed once made: `folded` makes a new one."""

    recorded: dict[int, date]  # each event's recording day, by seq
    corrected: Effective
    plan: dict[Section, SectionState]
    summary: CaseSummary
    judged: Judged
    versions: list[tuple[str, str, FactsSoFar]]

    @classmethod
    def of(cls, entries: list[Entry], judging: Judging) -> CaseFold:
        """The case computed from its whole history (CaseOpened aside)."""
        recorded = {entry.seq: recorded_day(entry) for entry in entries}
        corrected = effective(entries)
        return cls(
            recorded,
            corrected,
            plan_in_force(corrected),
            summarise(corrected),
            Judged.of(corrected, judging.presumed_significant),
            list(versions_so_far(entries, recorded, corrected, judging.short_breaks)),
        )

    @property
    def flags(self) -> list[Flag]:
        return self.judged.flags

    @property
    def followup(self) -> list[Version]:
        return [Version(start, end, so_far.facts) for start, end, so_far in self.versions]

    def takes(self, new: list[Entry]) -> bool:
        """Whether `new` (the case's next events, in recording order) can be folded in."""
        if not new or any(not _foldable(entry.payload) for entry in new):
            return False
        keys = [(entry.payload.occurred_on, entry.seq) for entry in new]
        in_order = all(earlier < later for earlier, later in pairwise(keys))
        recorded_after = all(earlier.seq < later.seq for earlier, later in pairwise(new))
        if self.corrected and new[0].seq <= next(reversed(self.corrected)):
            return False  # not recorded after every event held (the dict is in seq order)
        return in_order and recorded_after and (self.last is None or self.last < keys[0])

    @property
    def last(self) -> DateKey | None:
        """The latest event's key in date order, over every version (a correction can move
        an event's date)."""
        return max((v.last for _, _, v in self.versions if v.last is not None), default=None)

    def folded(self, new: list[Entry], judging: Judging) -> CaseFold:
        """This case with `new` taken in (the caller has asked `takes`)."""
        recorded = self.recorded | {entry.seq: recorded_day(entry) for entry in new}
        added: Effective = {entry.seq: (entry.payload, ()) for entry in new}
        corrected = self.corrected | added
        pairs = [(entry.seq, entry.payload) for entry in new]
        presumed = judging.presumed_significant
        judged = self.judged.more(pairs, corrected, presumed) or Judged.of(corrected, presumed)
        return CaseFold(
            recorded,
            corrected,
            plan_with(self.plan, added.items()),
            summarised(self.summary, (entry.payload for entry in new)),
            judged,
            [
                (start, end, so_far.folded(pairs, recorded, judging.short_breaks))
                for start, end, so_far in self.versions
            ],
        )


def _foldable(payload: p.Payload) -> bool:
    """Not a correction, and nothing a later return's episodes could take back
    (`projections.withdrawn`)."""
    if isinstance(payload, p.CorrectionRecorded) or p.episode_of(payload) is not None:
        return False
    return not (isinstance(payload, p.ChildCeasedToBeLookedAfter) and payload.episode_id)
