"""The child's case: one event-sourced aggregate per looked-after child.

The aggregate refuses what cannot be recorded truthfully (a decision about a proposal that does
not exist, a date in the future or before the child became looked after). It does not judge
whether what happened was lawful: that is the projections' job.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import BaseAggregate
from eventsourcing.utils import get_topic
from pydantic import ValidationError

from careledger.ledger.domain import challenges as ch
from careledger.ledger.domain import events as e
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import new_case_of, refusal_from
from careledger.ledger.domain.dispatch import on_payload
from careledger.ledger.domain.identity import case_id, uncached_case_id
from careledger.ledger.domain.plan import Entry, SectionState, corrected, effective, plan_as_of
from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.ledger.domain.vocabulary import AuthorityKind, Role
from careledger.ledger.errors import RecordingRefused
from careledger.ledger.ssda903.records import in_the_future, past_dates

ENGLAND = ZoneInfo("Europe/London")
STANDARD_PROTOCOL = DisputeProtocol.model_construct()  # the defaults, without the environment


@dataclass
class Proposal:
    section: str
    approved_at: set[str] = field(default_factory=set)
    agreed_by_iro: bool = False


@dataclass
class Recommendation:
    made_on: date
    closed_on: date | None = None


class ChildCase(BaseAggregate[UUID]):
    def __init__(self, council: str, child_ref: str) -> None:
        self.council = council
        self.child_ref = child_ref
        self.entries: dict[int, Entry] = {}
        self._forget_history()

    def _forget_history(self) -> None:
        """The state the guards read, before any event is applied."""
        self.looked_after_since: date | None = None
        self.entered_on: date | None = None  # the current (or last) period of care
        self.ceased_on: date | None = None
        self.looked_after = False
        self.proposals: dict[str, Proposal] = {}
        self.reviews: dict[str, date] = {}
        self.changes: dict[str, date] = {}
        self.challenges: dict[str, ch.Challenge] = {}
        self.recommendations: dict[str, Recommendation] = {}
        # What the IRO has acknowledged being informed of: (event_seq, recommendation_id).
        self.informed: dict[tuple[int, str | None], date] = {}

    @staticmethod
    def create_id(council: str, child_ref: str) -> UUID:
        return case_id(council, child_ref)

    @classmethod
    def open(
        cls,
        council: str,
        child_ref: str,
        entry: p.ChildBecameLookedAfter,
        recorded_at: datetime,
        recorded_by: p.Actor,
    ) -> ChildCase:
        """A case starts when the child first becomes looked after (s.22(1))."""
        exact = _check_new_case(council, child_ref)
        _check_not_in_future(entry, recorded_at)
        opened = e.case_opened(
            council,
            child_ref,
            exact,
            {
                "originator_topic": get_topic(cls),
                "occurred_on": entry.occurred_on,
                "source": entry.source,
                "originator_id": cls.create_id(council, child_ref),
                "originator_version": cls.INITIAL_VERSION,
                "timestamp": recorded_at,
                "recorded_by": recorded_by,
            },
        )
        case = opened.mutate(None)  # the library's own making of an aggregate from its event
        assert isinstance(case, ChildCase)
        case.pending_events.append(opened)
        case.record(entry, recorded_at, recorded_by)
        return case

    @classmethod
    def open_reported(
        cls,
        council: str,
        child_ref: str,
        first: p.Payload,
        recorded_at: datetime,
        recorded_by: p.Actor,
    ) -> ChildCase:
        """A case opened from a statutory return: its first row may not be an entry to care
        (the child came into care before the years the return covers)."""
        _check_new_case(council, child_ref)
        _check_not_in_future(first, recorded_at)
        case = cls._create(
            e.CaseOpened,
            id=uncached_case_id(council, child_ref),
            council=council,
            child_ref=child_ref,
            occurred_on=first.occurred_on,
            source=first.source,
            timestamp=recorded_at,
            recorded_by=recorded_by,
        )
        case.report(first, recorded_at, recorded_by)
        return case

    def report(self, payload: p.Payload, recorded_at: datetime, recorded_by: p.Actor) -> int:
        """Record what a statutory return reported, as it reported it: overlapping episodes,
        a review outside care or an end before a start are the council's record and are kept
        (the projections show them). Only what cannot be true is refused: a date in the
        future, a correction of an event the case does not hold."""
        checked = self._corrected_by(payload) if isinstance(payload, p.CorrectionRecorded) else None
        for candidate in filter(None, (payload, checked)):
            _check_not_in_future(candidate, recorded_at)
        self._append(payload, recorded_at, recorded_by)
        return self.version

    def record(
        self,
        payload: p.Payload,
        recorded_at: datetime,
        recorded_by: p.Actor,
        protocol: DisputeProtocol = STANDARD_PROTOCOL,
    ) -> int:
        """Check the payload against the case so far, then record it; returns its seq.

        A correction is checked as the corrected event would be: the values it puts in
        place must pass every check the original had to pass. `protocol` is the council's
        dispute-resolution protocol, whose stages a challenge's stage must be one of."""
        checked = self._corrected_by(payload) if isinstance(payload, p.CorrectionRecorded) else None
        for candidate in [payload] if checked is None else [payload, checked]:
            _check_not_in_future(candidate, recorded_at)
            ch.check_stage(candidate, protocol)
            if not isinstance(candidate, p.ChildBecameLookedAfter):
                self._check_after_entry_to_care(candidate)
        if isinstance(payload, p.IROInformed):
            _check_acknowledged_by_the_iro(payload, recorded_by)
        if checked is None:
            self.check_new(payload)
            self.check_references(payload)
        else:
            assert isinstance(payload, p.CorrectionRecorded)
            self._as_before(payload.corrects_seq).check_references(checked)
            self._check_what_follows(payload.corrects_seq, checked)
        self._append(payload, recorded_at, recorded_by)
        return self.version

    def _append(self, payload: p.Payload, recorded_at: datetime, recorded_by: p.Actor) -> None:
        """The library's `trigger_event`, with the event built from the checked payload
        without validating its values again (`events.event_for`), and applied as the
        library's `mutate` applies it, without its checks that the event is this case's and
        the next in its sequence: it was made so just above."""
        version = self.version + 1
        event = e.event_for(
            payload,
            {
                "originator_id": self.id,
                "originator_version": version,
                "timestamp": recorded_at,
                "recorded_by": recorded_by,
            },
        )
        self.evolve(event)  # the event's `apply`
        self.version = version
        self.modified_on = recorded_at
        self._pending_events.append(event)

    def current_plan(self) -> dict[Any, SectionState]:
        return plan_as_of(self.entries.values())

    # --- guards: what cannot be recorded truthfully -------------------------------------

    def _check_after_entry_to_care(self, payload: p.Payload) -> None:
        if self.looked_after_since and payload.occurred_on < self.looked_after_since:
            raise RecordingRefused(
                "occurred_on",
                f"{payload.occurred_on} is before the child became looked after "
                f"on {self.looked_after_since}",
            )

    def _shell(self) -> ChildCase:
        """A case for the guards only: no events, no id, nothing to save."""
        shell = object.__new__(ChildCase)
        shell.__init__(self.council, self.child_ref)  # type: ignore[misc]
        return shell

    def _as_before(self, seq: int) -> ChildCase:
        """The case as it stood before event `seq`: what a corrected event may refer to."""
        earlier = self._shell()
        earlier.entries = {s: entry for s, entry in self.entries.items() if s < seq}
        earlier._reapply_corrected_history()
        return earlier

    def _check_what_follows(self, seq: int, replacement: p.Payload) -> None:
        """A correction must not put a later step before what it follows: a challenge moved
        after its response, a review moved after its recommendation's completion. The steps
        of challenges and recommendations after the corrected event are checked again, in
        order, against the history with the correction in place.

        Other later events are not: a correction saying a review rejected what a change cited
        as approved is the truth to record, and the projections then flag the change."""
        history = {s: payload for s, (payload, _) in effective(self.entries.values()).items()}
        history[seq] = replacement
        shell = self._shell()
        for s, payload in sorted(history.items()):
            if isinstance(payload, p.CorrectionRecorded):
                continue
            if s > seq:
                try:
                    shell._check_order(payload)
                except RecordingRefused as refusal:
                    raise RecordingRefused(
                        "corrected",
                        f"event {s} ({type(payload).__name__}) would no longer hold: "
                        f"{refusal.field}: {refusal.problem}",
                    ) from None
            shell._evolve(payload)

    def _check_order(self, payload: p.Payload) -> None:
        closes = p.RecommendationCompleted | p.RecommendationOvertaken
        if isinstance(payload, ch.ChallengeStep | closes):
            self.check_references(payload)
        elif isinstance(payload, p.CarePlanSectionChanged | p.PlacementEnded):
            self._check_from_challenge(payload)

    def _corrected_by(self, correction: p.CorrectionRecorded) -> p.Payload:
        """The event a correction targets, with the corrected values in place."""
        target = self.entries.get(correction.corrects_seq)
        if target is None or isinstance(target.payload, p.CorrectionRecorded):
            raise RecordingRefused(
                "corrects_seq",
                f"event {correction.corrects_seq} is not a correctable event of this case",
            )
        known = e.payload_fields(target.payload)
        for name in correction.corrected:
            if name not in known:
                raise RecordingRefused(f"corrected.{name}", "is not a field of the corrected event")
            if name.endswith("_id"):
                raise RecordingRefused(
                    f"corrected.{name}", "identifiers cannot be corrected; record a new event"
                )
        try:
            return corrected(target.payload, correction, new=True)
        except ValidationError as error:
            refusal = refusal_from(error)
            raise RecordingRefused(f"corrected.{refusal.field}", refusal.problem) from None

    @on_payload
    def check_new(self, payload: p.Payload) -> None:
        """What a new event may not repeat or contradict (ids, entry to and exit from care)."""

    @check_new.register
    def _(self, payload: p.ChildBecameLookedAfter) -> None:
        if self.looked_after:
            raise RecordingRefused(
                "type", f"the child is already looked after (since {self.looked_after_since})"
            )
        if self.ceased_on and payload.occurred_on < self.ceased_on:
            raise RecordingRefused(
                "occurred_on",
                f"{payload.occurred_on} is before the child ceased to be looked after "
                f"on {self.ceased_on}",
            )

    @check_new.register
    def _(self, payload: p.ChildCeasedToBeLookedAfter) -> None:
        if not self.looked_after:
            raise RecordingRefused("type", "the child is not looked after now")
        if self.entered_on and payload.occurred_on < self.entered_on:
            raise RecordingRefused(
                "occurred_on",
                f"{payload.occurred_on} is before this period of care began on {self.entered_on}",
            )

    @check_new.register
    def _(self, payload: p.ChangeProposed) -> None:
        self._check_new_id("proposal_id", payload.proposal_id, self.proposals)

    @check_new.register
    def _(self, payload: p.CarePlanSectionChanged | p.PlacementEnded) -> None:
        self._check_new_id("change_id", payload.change_id, self.changes)

    @check_new.register
    def _(self, payload: p.ChallengeRaised) -> None:
        self._check_new_id("challenge_id", payload.challenge_id, self.challenges)

    @check_new.register
    def _(self, payload: p.RecommendationCompleted | p.RecommendationOvertaken) -> None:
        closed = self.recommendations.get(payload.recommendation_id)
        if closed is not None and closed.closed_on is not None:
            raise RecordingRefused(
                "recommendation_id",
                f"recommendation '{payload.recommendation_id}' was already completed or "
                f"overtaken on {closed.closed_on}",
            )

    @check_new.register
    def _(self, payload: p.IROInformed) -> None:
        acknowledged = self.informed.get((payload.event_seq, payload.recommendation_id))
        if acknowledged is not None:
            what = f"event {payload.event_seq}" + (
                f", recommendation '{payload.recommendation_id}'"
                if payload.recommendation_id
                else ""
            )
            raise RecordingRefused(
                "event_seq", f"the IRO already acknowledged {what} on {acknowledged}"
            )

    @check_new.register
    def _(self, payload: p.ReviewHeld) -> None:
        self._check_new_id("review_id", payload.review_id, self.reviews)
        recommendations = set(self.recommendations)
        for i, decision in enumerate(payload.decisions):
            if isinstance(decision, p.Recommend):
                name = f"decisions[{i}].recommendation_id"
                self._check_new_id(name, decision.recommendation_id, recommendations)
                recommendations.add(decision.recommendation_id)

    @on_payload
    def check_references(self, payload: p.Payload) -> None:
        """What an event refers to must exist in the case (and say what is claimed of it)."""

    @check_references.register
    def _(self, payload: p.CarePlanSectionChanged) -> None:
        self._check_authority(payload.authority, str(payload.section), "section")
        self._check_from_challenge(payload)

    @check_references.register
    def _(self, payload: p.PlacementEnded) -> None:
        self._check_authority(payload.authority, "placement", "authority.proposal_id")
        self._check_from_challenge(payload)

    def _check_from_challenge(self, payload: p.CarePlanSectionChanged | p.PlacementEnded) -> None:
        if payload.from_challenge is not None:
            ch.check_link(
                "from_challenge", payload.from_challenge, payload.occurred_on, self.challenges
            )

    @check_references.register
    def _(self, payload: p.ChallengeRaised) -> None:
        ch.check_raised(payload)

    @check_references.register
    def _(self, payload: ch.ChallengeStep) -> None:
        challenge = ch.check_step(self.challenges, payload)
        if not isinstance(payload, p.ChallengeResolved):
            return
        if payload.resolved_by_change is not None:
            name, ref = "resolved_by_change", payload.resolved_by_change
            on = self._check_known(name, ref, self.changes, "change")
            ch.check_resolution_link(name, f"change '{ref}'", on, challenge, payload.occurred_on)
        if payload.resolved_at_review is not None:
            name, ref = "resolved_at_review", payload.resolved_at_review
            on = self._check_known(name, ref, self.reviews, "review")
            ch.check_resolution_link(name, f"review '{ref}'", on, challenge, payload.occurred_on)

    @check_references.register
    def _(self, payload: p.CarePlanAgreed) -> None:
        if payload.review_id is not None:
            self._check_known("review_id", payload.review_id, self.reviews, "review")

    @check_references.register
    def _(self, payload: p.IROAgreedChange) -> None:
        self._check_known("proposal_id", payload.proposal_id, self.proposals, "proposed change")
        if payload.iro.role not in (Role.IRO, Role.IRO_MANAGER):
            raise RecordingRefused(
                "iro.role", f"must be IRO or IRO_MANAGER, not {payload.iro.role}"
            )

    @check_references.register
    def _(self, payload: p.ReviewHeld) -> None:
        decided: set[str] = set()
        for i, decision in enumerate(payload.decisions):
            where = f"decisions[{i}]"
            if isinstance(decision, p.Approve | p.Reject):
                name = f"{where}.proposal_id"
                self._check_known(name, decision.proposal_id, self.proposals, "proposed change")
                if decision.proposal_id in decided:
                    raise RecordingRefused(name, "this review has already decided that proposal")
                decided.add(decision.proposal_id)
            elif isinstance(decision, p.Ratify):
                name = f"{where}.change_id"
                took_effect = self._check_known(name, decision.change_id, self.changes, "change")
                if took_effect > payload.occurred_on:
                    raise RecordingRefused(
                        name,
                        f"change '{decision.change_id}' took effect on {took_effect}, "
                        f"after this review",
                    )

    @check_references.register
    def _(self, payload: p.RecommendationCompleted | p.RecommendationOvertaken) -> None:
        made = self._check_known(
            "recommendation_id", payload.recommendation_id, self.recommendations, "recommendation"
        )
        if payload.occurred_on < made.made_on:
            raise RecordingRefused(
                "occurred_on",
                f"{payload.occurred_on} is before the recommendation was made on {made.made_on}",
            )
        if isinstance(payload, p.RecommendationOvertaken) and payload.review_id is not None:
            held = self._check_known("review_id", payload.review_id, self.reviews, "review")
            if not made.made_on <= held <= payload.occurred_on:
                raise RecordingRefused(
                    "review_id",
                    f"review '{payload.review_id}' of {held} is not between the recommendation "
                    f"({made.made_on}) and its overtaking ({payload.occurred_on})",
                )

    @check_references.register
    def _(self, payload: p.IROInformed) -> None:
        """The IRO acknowledges an event the case holds (not another acknowledgement), or a
        recommendation the review at that event made; and only an IRO acknowledges."""
        informed_of = self.entries.get(payload.event_seq)
        if informed_of is None or isinstance(informed_of.payload, p.IROInformed):
            raise RecordingRefused(
                "event_seq", f"event {payload.event_seq} is not an event of this case to be told of"
            )
        if payload.recommendation_id is not None:
            review = informed_of.payload
            made = isinstance(review, p.ReviewHeld) and any(
                isinstance(d, p.Recommend) and d.recommendation_id == payload.recommendation_id
                for d in review.decisions
            )
            if not made:
                raise RecordingRefused(
                    "recommendation_id",
                    f"event {payload.event_seq} made no recommendation "
                    f"'{payload.recommendation_id}'",
                )
        if payload.iro.role is not Role.IRO:
            raise RecordingRefused("iro.role", f"must be IRO, not {payload.iro.role}")

    def _check_authority(self, authority: p.Authority, section: str, section_field: str) -> None:
        """A review decision or an IRO agreement must be one that was given, for this section."""
        if authority.kind not in (AuthorityKind.REVIEW_DECISION, AuthorityKind.IRO_AGREEMENT):
            return
        if authority.kind is AuthorityKind.REVIEW_DECISION:
            assert authority.review_id
            self._check_known("authority.review_id", authority.review_id, self.reviews, "review")
        pid = authority.proposal_id or ""
        proposal = self._check_known(
            "authority.proposal_id", pid, self.proposals, "proposed change"
        )
        if authority.kind is AuthorityKind.REVIEW_DECISION:
            given = authority.review_id in proposal.approved_at
            refusal = f"proposal '{pid}' was not approved at review '{authority.review_id}'"
        else:
            given, refusal = proposal.agreed_by_iro, f"the IRO has not agreed proposal '{pid}'"
        if not given:
            raise RecordingRefused("authority.proposal_id", refusal)
        if proposal.section != section:
            raise RecordingRefused(
                section_field, f"proposal '{pid}' was for section '{proposal.section}'"
            )

    @staticmethod
    def _check_new_id(name: str, value: str, existing: Collection[str]) -> None:
        if value in existing:
            raise RecordingRefused(name, f"'{value}' is already used in this case")

    @staticmethod
    def _check_known(name: str, value: str, known: dict[str, Any], what: str) -> Any:
        if value not in known:
            raise RecordingRefused(name, f"no {what} '{value}' in this case")
        return known[value]

    # --- evolution: how each event changes the case ------------------------------------

    def evolve(self, event: e.CaseEvent) -> None:
        if isinstance(event, e.CaseOpened):
            return
        # Every event is an instance of its payload class: it is its own payload.
        seq = event.originator_version  # its `seq`
        self.entries[seq] = Entry(seq, event.timestamp, event)
        if isinstance(event, p.CorrectionRecorded):
            self._reapply_corrected_history()
        else:
            self._evolve(event)

    def _reapply_corrected_history(self) -> None:
        """A correction may change what earlier events said (a review's decisions, a date):
        the guards then read the history as corrected."""
        self._forget_history()
        for payload, _ in effective(self.entries.values()).values():
            self._evolve(payload)

    @on_payload
    def _evolve(self, payload: p.Payload) -> None:
        """Payload kinds that change nothing the guards need."""

    @_evolve.register
    def _(self, payload: p.ChildBecameLookedAfter) -> None:
        if self.looked_after_since is None or payload.occurred_on < self.looked_after_since:
            self.looked_after_since = payload.occurred_on  # a return's rows may come unsorted
        self.looked_after = True
        self.entered_on = payload.occurred_on

    @_evolve.register
    def _(self, payload: p.ChildCeasedToBeLookedAfter) -> None:
        self.looked_after = False
        self.ceased_on = payload.occurred_on

    @_evolve.register
    def _(self, payload: p.ChangeProposed) -> None:
        self.proposals[payload.proposal_id] = Proposal(str(payload.section))

    @_evolve.register
    def _(self, payload: p.CarePlanSectionChanged | p.PlacementEnded) -> None:
        self.changes[payload.change_id] = payload.occurred_on

    @_evolve.register
    def _(self, payload: p.IROAgreedChange) -> None:
        if payload.proposal_id in self.proposals:
            self.proposals[payload.proposal_id].agreed_by_iro = True

    @_evolve.register
    def _(self, payload: p.ChallengeRaised | ch.ChallengeStep) -> None:
        ch.evolve(self.challenges, payload)

    @_evolve.register
    def _(self, payload: p.ReviewHeld) -> None:
        self.reviews[payload.review_id] = payload.occurred_on
        for decision in payload.decisions:
            if isinstance(decision, p.Approve) and decision.proposal_id in self.proposals:
                self.proposals[decision.proposal_id].approved_at.add(payload.review_id)
            elif isinstance(decision, p.Recommend):
                self.recommendations[decision.recommendation_id] = Recommendation(
                    payload.occurred_on
                )

    @_evolve.register
    def _(self, payload: p.IROInformed) -> None:
        self.informed[(payload.event_seq, payload.recommendation_id)] = payload.occurred_on

    @_evolve.register
    def _(self, payload: p.RecommendationCompleted | p.RecommendationOvertaken) -> None:
        if payload.recommendation_id in self.recommendations:
            self.recommendations[payload.recommendation_id].closed_on = payload.occurred_on


def _check_new_case(council: str, child_ref: str) -> bool:
    """A new case's council and child must be ones that can be named again, exactly as
    given (`fields.new_case_key`). Whether both are exactly their normal form, untrimmed
    too: then the case's first event holds them as they are (`events.case_opened`)."""
    exact = True
    for name, value in (("council", council), ("child", child_ref)):
        normal = new_case_of(name, value)
        if normal != value.strip():
            raise RecordingRefused(name, "is not in its normal form (NFKC, trimmed)")
        exact = exact and bool(normal) and normal == value
    return exact


def _check_acknowledged_by_the_iro(payload: p.IROInformed, recorded_by: p.Actor) -> None:
    """An IRO's acknowledgement is their own act: recorded by the IRO it names, signed in,
    or by an administrator (the command line: bringing in a record kept elsewhere); never by
    someone else in the IRO's name. (A council's system records as ADMIN too: the service
    refuses this event from a system.)"""
    if recorded_by.role is Role.ADMIN:
        return
    if recorded_by.role is not Role.IRO or recorded_by.actor_id != payload.iro.name:
        raise RecordingRefused(
            "iro.name",
            f"an IRO's acknowledgement is recorded by that IRO, not by {recorded_by.actor_id} "
            f"({recorded_by.role})",
        )


def _check_not_in_future(payload: p.Payload, recorded_at: datetime) -> None:
    """Neither the event nor a date it reports may be in the future: a child's date of
    birth, an episode's start or end (the rule an imported return's rows are held to)."""
    today = _day_in_england(recorded_at)
    problem = in_the_future(payload.occurred_on, today)
    if problem:
        raise RecordingRefused("occurred_on", problem)
    for name, day in _reported_dates(payload):
        problem = in_the_future(day, today)
        if problem:
            raise RecordingRefused(name, problem)


@lru_cache(maxsize=64)
def _day_in_england(recorded_at: datetime) -> date:
    """The day in England at a moment. Every event of a batch is recorded at the same moment,
    so it is worked out once a batch, not once an event (converting to a time zone is the
    larger part of checking an event's dates)."""
    return recorded_at.astimezone(ENGLAND).date()


def _reported_dates(payload: p.Payload) -> list[tuple[str, date | None]]:
    if isinstance(payload, p.ChildDetailsRecorded):
        return [(f"details.{name}", day) for name, day in past_dates(payload.details)]
    episode = p.episode_of(payload)
    if episode is None:
        return []
    return [(f"episode.{name}", day) for name, day in past_dates(episode)]
