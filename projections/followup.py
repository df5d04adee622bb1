"""What a case's history says about reviews and their follow-up: the facts the drift report
counts, derived once per case when its events are projected.

Every fact keeps the date the ledger learned it (`recorded_on`, the England date of
`recorded_at`), so a report "as of" a past date counts only what was recorded by then. A
correction changes facts from the day it was recorded: `versions` gives the facts as they
stood before each correction's day and from it on, so the report for any date reads the
history as corrected up to that date, and no later.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.domain.plan import Effective, Entry, effective, section_contents
from careledger.ledger.domain.vocabulary import LegalStatus, Section
from careledger.ledger.ssda903.records import from_a_return
from careledger.projections.challenge_facts import (
    CHALLENGE_KINDS,
    Challenge,
    challenge_facts,
    concerns_a_challenge,
)
from careledger.projections.timetable import (
    Regime,
    Slot,
    add_months,
    timetable,
    working_days_between,
)
from careledger.projections.withdrawn import withdrawn

BEGINNING = date.min.isoformat()  # "0001-01-01": known from the start
FOREVER = date.max.isoformat()  # "9999-12-31": still known now
# Everything recorded so far: a day after every recording and before FOREVER, so the rows
# still known now are the ones read.
EVERYTHING_RECORDED = date.fromordinal(date.max.toordinal() - 1).isoformat()
SHORT_BREAKS = frozenset({LegalStatus.V3, LegalStatus.V4})


@dataclass(frozen=True)
class Period:
    """A period of care: from becoming looked after to ceasing to be (s.22(1))."""

    number: int
    started_on: date
    start_recorded_on: date
    regime: Regime
    ended_on: date | None = None
    end_recorded_on: date | None = None
    ended_by: str | None = None  # AGE_18 or AGE_18_COMMUNITY_HOME: no record ended it by then

    @property
    def ended_by_age(self) -> bool:
        return self.ended_by is not None


# A period of care still open on the child's 18th birthday, or ended by a record dated
# after it, ends on that day: a child is a person under 18 (CA 1989 s.105(1)), and the
# record of when care ended is to be put right. Unless the person is then accommodated in a
# community home under s.20(5) (LS V2, PLACE K2: the DfE's rule 359 accepts it): no review
# is due either way, and that record is not wrong.
AGE_18 = "age_18"
AGE_18_COMMUNITY_HOME = "age_18_s20_5"
COMMUNITY_HOME = (LegalStatus.V2, "K2")
_EPISODE_STARTS = p.ChildBecameLookedAfter | p.LegalStatusChanged | p.PlacementChanged


@dataclass(frozen=True)
class Review:
    """A slot of a period's timetable; for a held review, what it recorded of the child's
    voice (SSDA903 REVIEW_CODE; reg 36: the IRO speaks with the child first)."""

    period: int
    slot: Slot
    recorded_on: date | None = None
    participation: str | None = None
    child_seen: bool | None = None
    not_seen_reason: str | None = None
    chair: str | None = None
    prior_recorded_on: date | None = None  # the latest recording of an earlier slot's review


@dataclass(frozen=True)
class Recommendation:
    recommendation_id: str
    review_id: str
    text: str
    owner: p.Person
    made_on: date
    made_recorded_on: date
    due_on: date
    closed_on: date | None = None
    closed_recorded_on: date | None = None
    closed_how: str | None = None  # "completed" or "overtaken"


@dataclass(frozen=True)
class Allocation:
    """An IRO or social worker allocated to the child; `number` counts from 1 per kind;
    `changed` says whether it replaced someone else."""

    kind: str  # "iro" or "sw"
    number: int
    person_id: str
    name: str
    team: str | None
    from_on: date
    recorded_on: date
    changed: bool = False


@dataclass(frozen=True)
class Lag:
    """How long after the event a record was made, in working days."""

    seq: int
    event_type: str
    occurred_on: date
    recorded_on: date
    working_days: int


Permanence = tuple[int, date, date]  # seq, on, recorded


@dataclass(frozen=True)
class Facts:
    periods: list[Period] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    lags: list[Lag] = field(default_factory=list)
    permanence: list[Permanence] = field(default_factory=list)
    challenges: list[Challenge] = field(default_factory=list)


@dataclass(frozen=True)
class Version:
    """The facts as they stood from `known_from` (ISO date) until the day before
    `known_until`."""

    known_from: str
    known_until: str
    facts: Facts


@dataclass(frozen=True)
class Standing:
    """The child's IRO, social worker's team and open period of care as the case's latest
    records have them, and `settled_on`: the first day on which every one of those records
    is in force and known. A report on that day or later would find the same from the
    allocations and periods, and reads these instead (projections.drift); a report on an
    earlier day works them out from the records, as they stood then."""

    iro: str | None
    team: str | None
    period: int | None
    settled_on: str
    period_until: str | None = None  # the 18th birthday, when that ends the open period


def standing(latest: Version) -> Standing:
    """What `latest` (the case's current version) settles: the allocation of each kind that
    starts last, the latest period not ended, as the drift report picks them on a date."""
    facts = latest.facts
    last: dict[str, Allocation] = {}
    for allocation in facts.allocations:
        held = last.get(allocation.kind)
        if held is None or (allocation.from_on, allocation.number) > (held.from_on, held.number):
            last[allocation.kind] = allocation
    days = [d for a in facts.allocations for d in (a.from_on, a.recorded_on)]
    days += [d for x in facts.periods for d in _period_days(x) if d is not None]
    still_open = [x for x in facts.periods if x.ended_on is None or x.ended_by_age]
    until = max(still_open, key=lambda x: x.number).ended_on if still_open else None
    return Standing(
        last["iro"].name if "iro" in last else None,
        last["sw"].team if "sw" in last else None,
        max((x.number for x in still_open), default=None),
        max([latest.known_from, *(d.isoformat() for d in days)]),
        until.isoformat() if until else None,
    )


def _period_days(period: Period) -> tuple[date | None, ...]:
    """The days a period's record holds from; the 18th birthday is not one (the standing
    says the period ends then: `period_until`)."""
    ended_on = None if period.ended_by_age else period.ended_on
    return period.started_on, period.start_recorded_on, ended_on, period.end_recorded_on


def recorded_by(as_recorded_on: date | None) -> str:
    """The last recording day a view reads, as the rows' `recorded_on` and `known_from`
    compare: the end of `as_recorded_on`, or everything recorded so far (None)."""
    return as_recorded_on.isoformat() if as_recorded_on else EVERYTHING_RECORDED


def recorded_day(entry: Entry) -> date:
    return england_date(entry.recorded_at)


@lru_cache(maxsize=65_536)
def england_date(at: datetime) -> date:
    """The England date of a moment. Cached: converting to the zone costs more than the
    rest of an event's facts together, and a feed records many events at one moment,
    which every recomputation of their cases asks again."""
    return at.astimezone(ENGLAND).date()


def versions(
    entries: list[Entry], corrected: Effective | None = None, short_breaks: bool = True
) -> Iterator[Version]:
    """The case's facts before the first correction, and from each correction's day on.

    `corrected` (the effective history of all entries) saves recomputing the last version;
    `short_breaks` chooses reg 48's timetable for periods of short breaks (V3/V4)."""
    recorded = {entry.seq: recorded_day(entry) for entry in entries}
    for start, end, so_far in versions_so_far(entries, recorded, corrected, short_breaks):
        yield Version(start, end, so_far.facts)


def versions_so_far(
    entries: list[Entry],
    recorded: dict[int, date],
    corrected: Effective | None = None,
    short_breaks: bool = True,
) -> Iterator[tuple[str, str, FactsSoFar]]:
    """`versions`, each with what its facts were computed from (`FactsSoFar`); `recorded`:
    each entry's recording day, by seq."""
    days = sorted({recorded[x.seq] for x in entries if isinstance(x.payload, p.CorrectionRecorded)})
    bounds = [BEGINNING, *(d.isoformat() for d in days), FOREVER]
    for i, (start, end) in enumerate(pairwise(bounds)):
        if i == len(days) and corrected is not None:
            history = corrected
        else:
            history = effective(x for x in entries if _known_by(x, recorded, start))
        yield start, end, FactsSoFar.of(history, recorded, short_breaks)


def _known_by(entry: Entry, recorded: dict[int, date], day: str) -> bool:
    """Corrections count from their day; other events are filtered later, fact by fact."""
    if not isinstance(entry.payload, p.CorrectionRecorded):
        return True
    return recorded[entry.seq].isoformat() <= day


Pair = tuple[int, p.Payload]  # an event's sequence number and its corrected payload
DateKey = tuple[date, int]  # the order facts are taken in: the event's date, then its seq
_REVIEWS = p.ReviewHeld | p.RecommendationCompleted | p.RecommendationOvertaken
_ALLOCATIONS = p.IROAllocated | p.SocialWorkerAllocated
_PERIOD_EVENTS = p.ChildBecameLookedAfter | p.ChildCeasedToBeLookedAfter


@dataclass(frozen=True)
class FactInputs:
    """A case's corrected payloads, in date order, sorted into the lists each kind of fact
    reads: each fact is computed from its own list alone, and every payload outside it is
    one its rule passes over. A case folded forward (`FactsSoFar.folded`) therefore
    recomputes only the facts whose lists its new events join. The lists are never changed
    once made: a fold makes new ones and shares the rest.

    `periods`, `births` and `placements` leave out what a later return took back
    (`withdrawn`), as the periods of care do; the reviews and the rest keep it."""

    periods: list[Pair]  # what opens, continues or ends a period of care
    births: list[Pair]  # details giving a date of birth
    placements: list[Pair]  # legal statuses and placements (the age-18 ending reads them)
    reviews: list[Pair]  # reviews held and recommendations closed
    allocations: list[Pair]
    challenges: list[Pair]  # challenges raised, their steps, the changes that came of them

    @classmethod
    def of(cls, payloads: Iterable[Pair], taken_back: set[int]) -> FactInputs:
        return cls([], [], [], [], [], []).extended(payloads, taken_back)[0]

    def extended(
        self, payloads: Iterable[Pair], taken_back: set[int] | frozenset[int] = frozenset()
    ) -> tuple[FactInputs, set[str]]:
        """These lists with `payloads` (later in date order than any already in them)
        added, and the names of the lists they joined."""
        added: dict[str, list[Pair]] = {name: [] for name in _FACT_LISTS}
        periods, births, placements, reviews, allocations, challenges = added.values()
        for pair in payloads:
            payload = pair[1]
            kind = _kind(type(payload))
            if pair[0] not in taken_back:
                if kind.period or (kind.may_continue and _continues_care(payload)):
                    periods.append(pair)
                if kind.details and payload.details.dob is not None:  # type: ignore[attr-defined]
                    births.append(pair)
                if kind.placement:
                    placements.append(pair)
            if kind.review:
                reviews.append(pair)
            elif kind.allocation:
                allocations.append(pair)
            if kind.may_concern_a_challenge and concerns_a_challenge(payload):
                challenges.append(pair)
        joined = {name for name, more in added.items() if more}
        lists = {name: getattr(self, name) + added[name] for name in joined}
        return replace(self, **lists), joined


class _Kind(NamedTuple):
    """Which of `FactInputs`' lists a kind of payload may join (some, only by its values)."""

    period: bool
    may_continue: bool
    details: bool
    placement: bool
    review: bool
    allocation: bool
    may_concern_a_challenge: bool


@lru_cache(maxsize=256)
def _kind(kind: type) -> _Kind:
    """Asked once per class: a case's events are of a few dozen classes, and asking each
    event's class these questions was a fifth of sorting the events into their lists."""
    return _Kind(
        period=issubclass(kind, _PERIOD_EVENTS),
        may_continue=issubclass(kind, p.LegalStatusChanged | p.PlacementChanged | p.ReviewHeld),
        details=issubclass(kind, p.ChildDetailsRecorded),
        placement=issubclass(kind, _EPISODE_STARTS),
        review=issubclass(kind, _REVIEWS),
        allocation=issubclass(kind, _ALLOCATIONS),
        may_concern_a_challenge=issubclass(kind, CHALLENGE_KINDS),
    )


def in_date_order(history: Effective) -> list[Pair]:
    """A case's corrected payloads in the order its facts are taken: by date, then seq."""
    ordered = sorted(history.items(), key=lambda item: (item[1][0].occurred_on, item[0]))
    return [(seq, payload) for seq, (payload, _) in ordered]


@dataclass(frozen=True)
class FactsSoFar:
    """A version's facts with the lists they were computed from (`FactInputs`) and the date
    order's last key, so that later events can be folded in."""

    inputs: FactInputs
    facts: Facts
    last: DateKey | None

    @classmethod
    def of(
        cls, history: Effective, recorded: dict[int, date], short_breaks: bool = True
    ) -> FactsSoFar:
        payloads = in_date_order(history)
        inputs = FactInputs.of(payloads, withdrawn(payloads))
        facts = _computed(inputs, set(_FACT_LISTS), Facts(), recorded, short_breaks)
        facts.lags.extend(_lags(payloads, recorded))
        facts.permanence.extend(_permanence(payloads, recorded))
        last = (payloads[-1][1].occurred_on, payloads[-1][0]) if payloads else None
        return cls(inputs, facts, last)

    def folded(
        self, payloads: list[Pair], recorded: dict[int, date], short_breaks: bool = True
    ) -> FactsSoFar:
        """These facts with `payloads` added: events none of which a return took back or
        could take back, each later in date order than every event already here (the
        caller's to check: `projections.case_fold`). Each fact whose list they join is
        computed again from its list; lags and permanence are per event."""
        inputs, changed = self.inputs.extended(payloads)
        facts = _computed(inputs, changed, self.facts, recorded, short_breaks)
        facts.lags[:0] = self.facts.lags
        facts.lags.extend(_lags(payloads, recorded))
        facts.permanence[:0] = self.facts.permanence
        facts.permanence.extend(_permanence(payloads, recorded))
        last = (payloads[-1][1].occurred_on, payloads[-1][0]) if payloads else self.last
        return FactsSoFar(inputs, facts, last)


_FACT_LISTS = ("periods", "births", "placements", "reviews", "allocations", "challenges")


def _computed(
    inputs: FactInputs,
    changed: set[str],
    before: Facts,
    recorded: dict[int, date],
    short_breaks: bool,
) -> Facts:
    """The facts (lags and permanence left empty) from `inputs`, computing again only those
    that read a list named in `changed` and taking the others from `before`."""
    periods = before.periods
    if changed & {"periods", "births", "placements"}:
        raw = _periods(inputs.periods, recorded, short_breaks)
        periods = _until_eighteen(raw, inputs.births, inputs.placements, recorded)
    reviews, recommendations = before.reviews, before.recommendations
    if "reviews" in changed or periods != before.periods:
        reviews, recommendations = _reviews(inputs.reviews, periods, recorded)
    allocations = before.allocations
    if "allocations" in changed:
        allocations = list(_allocations(inputs.allocations, recorded))
    challenges = before.challenges
    if "challenges" in changed:
        challenges = challenge_facts(inputs.challenges, recorded)
    return Facts(periods, reviews, recommendations, allocations, [], [], challenges)


def _permanence(payloads: Iterable[Pair], recorded: dict[int, date]) -> Iterator[Permanence]:
    for seq, payload in payloads:
        if Section.PERMANENCE in section_contents(payload):
            yield seq, payload.occurred_on, recorded[seq]


def _periods(
    payloads: list[tuple[int, p.Payload]], recorded: dict[int, date], short_breaks: bool
) -> list[Period]:
    periods: list[Period] = []
    for seq, payload in payloads:
        if isinstance(payload, p.ChildBecameLookedAfter):
            regime = Regime.STANDARD
            if short_breaks and payload.legal_status in SHORT_BREAKS:
                regime = Regime.SHORT_BREAKS
            if periods and periods[-1].ended_on is None:
                # A return's new period of care (RNE S) while the last is open: that one
                # ended, on a day the returns do not give, by the time this one began.
                periods[-1] = _ended(periods[-1], payload.occurred_on, recorded[seq])
            periods.append(Period(len(periods) + 1, payload.occurred_on, recorded[seq], regime))
        elif not periods and _continues_care(payload):
            periods.append(Period(1, payload.occurred_on, recorded[seq], Regime.CONTINUING))
        elif isinstance(payload, p.ChildCeasedToBeLookedAfter) and periods:
            periods[-1] = _ended(periods[-1], payload.occurred_on, recorded[seq])
    return periods


def _ended(period: Period, on: date, recorded_on: date) -> Period:
    return replace(period, ended_on=on, end_recorded_on=recorded_on)


def _until_eighteen(
    periods: list[Period],
    births: list[Pair],
    placements: list[Pair],
    recorded: dict[int, date],
) -> list[Period]:
    """Each period as it ends by the child's 18th birthday at the latest (s.105(1); see
    AGE_18), from the date of birth the latest details give; known from the day those
    details were recorded."""
    birth = _date_of_birth(births, recorded)
    if birth is None:
        return periods
    born_on, known_on = birth
    eighteen = add_months(born_on, 12 * 18)
    capped = []
    for period in periods:
        if period.ended_on is not None and period.ended_on < eighteen:
            capped.append(period)
            continue
        if period.ended_on == eighteen:  # ended on the birthday: known from the birth date
            assert period.end_recorded_on is not None
            capped.append(replace(period, end_recorded_on=min(known_on, period.end_recorded_on)))
            continue
        end = max(eighteen, period.started_on)
        known = min(known_on, period.end_recorded_on or known_on)
        how = AGE_18_COMMUNITY_HOME if _placed_on(placements, end) == COMMUNITY_HOME else AGE_18
        capped.append(replace(period, ended_on=end, end_recorded_on=known, ended_by=how))
    return capped


def _date_of_birth(
    payloads: list[tuple[int, p.Payload]], recorded: dict[int, date]
) -> tuple[date, date] | None:
    """The date of birth the latest recorded details give, and the day they were recorded."""
    found = None
    for seq, payload in sorted(payloads):
        if isinstance(payload, p.ChildDetailsRecorded) and payload.details.dob is not None:
            found = (payload.details.dob, recorded[seq])
    return found


def _placed_on(payloads: list[tuple[int, p.Payload]], day: date) -> tuple[object, object]:
    """The child's legal status and placement (SSDA903 LS, PLACE) on `day`."""
    status: object = None
    place: object = None
    for _, payload in payloads:
        if payload.occurred_on > day:
            break
        if isinstance(payload, p.ChildBecameLookedAfter | p.PlacementChanged):
            place = payload.placement
        if isinstance(payload, _EPISODE_STARTS):
            status = payload.legal_status or status
    return status, place


def _continues_care(payload: p.Payload) -> bool:
    """A child's first record is a return's episode that continues care (RNE L, P, T, U,
    B), or a review a return gives: the child came into care before the first return
    imported, on a day not known."""
    if isinstance(payload, p.LegalStatusChanged | p.PlacementChanged):
        return payload.episode is not None
    return isinstance(payload, p.ReviewHeld) and from_a_return(payload.source)


def _reviews(
    payloads: list[tuple[int, p.Payload]], periods: list[Period], recorded: dict[int, date]
) -> tuple[list[Review], list[Recommendation]]:
    held: dict[int, list[tuple[int, p.ReviewHeld]]] = {period.number: [] for period in periods}
    for seq, payload in payloads:
        if isinstance(payload, p.ReviewHeld) and periods:
            number = _period_of(payload.occurred_on, periods)
            if number is not None:
                held[number].append((seq, payload))
    reviews: list[Review] = []
    made: dict[str, Recommendation] = {}
    for period in periods:
        by_id = {review.review_id: (seq, review) for seq, review in held[period.number]}
        dates = [(review.occurred_on, review.review_id) for _, review in held[period.number]]
        prior: date | None = None
        for slot in timetable(period.started_on, dates, period.regime):
            if slot.review_id is None:
                reviews.append(Review(period.number, slot, prior_recorded_on=prior))
                continue
            seq, review = by_id[slot.review_id]
            reviews.append(_held(period.number, slot, review, recorded[seq], prior))
            prior = max(prior or recorded[seq], recorded[seq])
            for decision in review.decisions:
                if isinstance(decision, p.Recommend):
                    made[decision.recommendation_id] = Recommendation(
                        decision.recommendation_id,
                        review.review_id,
                        decision.text,
                        decision.owner,
                        review.occurred_on,
                        recorded[seq],
                        decision.due_on,
                    )
    _close(made, payloads, recorded)
    return reviews, list(made.values())


def _period_of(day: date, periods: list[Period]) -> int | None:
    """The period a review belongs to: the last that began on or before it (the first, for
    a review before any began), unless that one had ended before the review. A review held
    while the child was not looked after is no review of a period of care (an imported
    return may give one: `inconsistencies` lists it)."""
    number: int | None = periods[0].number
    for period in periods:
        if period.started_on <= day:
            ended = period.ended_on is not None and period.ended_on < day
            number = None if ended else period.number
    return number


def _held(
    period: int, slot: Slot, review: p.ReviewHeld, recorded_on: date, prior: date | None
) -> Review:
    return Review(
        period,
        slot,
        recorded_on,
        str(review.participation),
        review.child_seen_before,
        review.child_not_seen_reason,
        review.chair.name if review.chair else None,
        prior,
    )


def _close(
    made: dict[str, Recommendation],
    payloads: list[tuple[int, p.Payload]],
    recorded: dict[int, date],
) -> None:
    for seq, payload in payloads:
        if not isinstance(payload, p.RecommendationCompleted | p.RecommendationOvertaken):
            continue
        open_ = made.get(payload.recommendation_id)
        if open_ is None or open_.closed_on is not None:
            continue
        how = "completed" if isinstance(payload, p.RecommendationCompleted) else "overtaken"
        made[payload.recommendation_id] = _closed(open_, payload.occurred_on, recorded[seq], how)


def _closed(open_: Recommendation, on: date, recorded_on: date, how: str) -> Recommendation:
    return Recommendation(
        open_.recommendation_id,
        open_.review_id,
        open_.text,
        open_.owner,
        open_.made_on,
        open_.made_recorded_on,
        open_.due_on,
        on,
        recorded_on,
        how,
    )


def _allocations(
    payloads: list[tuple[int, p.Payload]], recorded: dict[int, date]
) -> Iterable[Allocation]:
    """Each allocation; a change is one that brings a different person (allocating the same
    IRO again, when a child comes back into care, is continuity, not a change)."""
    last: dict[str, Allocation] = {}
    for seq, payload in payloads:
        if isinstance(payload, p.IROAllocated):
            kind, person, name, team = "iro", payload.iro_id, payload.iro_name, None
        elif isinstance(payload, p.SocialWorkerAllocated):
            kind, person, team = "sw", payload.worker_id, payload.team
            name = payload.worker_name or payload.worker_id
        else:
            continue
        before = last.get(kind)
        last[kind] = Allocation(
            kind,
            before.number + 1 if before else 1,
            person,
            name,
            team,
            payload.occurred_on,
            recorded[seq],
            changed=before is not None and before.person_id != person,
        )
        yield last[kind]


def _lags(payloads: list[tuple[int, p.Payload]], recorded: dict[int, date]) -> Iterable[Lag]:
    """Every event but a correction (a correction is late by nature: it is counted as the
    event it corrects) and what was read from a statutory return (importing a return records
    years of history in a day: that is not the council recording late). An IRO's
    acknowledgement is recorded by the IRO as they make it: it is not a record of the case."""
    for seq, payload in payloads:
        if isinstance(payload, p.CorrectionRecorded | p.IROInformed) or from_a_return(
            payload.source
        ):
            continue
        on = recorded[seq]
        yield Lag(
            seq,
            type(payload).__name__,
            payload.occurred_on,
            on,
            working_days_between(payload.occurred_on, on),
        )
