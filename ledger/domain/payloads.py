"""What a caller supplies for each kind of event: pydantic models, validated at the boundary.

The ledger adds the envelope (case, sequence, `recorded_at`, `recorded_by`) itself; see
`ledger.domain.events`. Rules that need the case's history (does this proposal exist?) are checked
by the aggregate in `ledger.domain.case`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from careledger.ledger.domain.fields import Flag, Id, Ref, Text, check_list_length
from careledger.ledger.domain.vocabulary import (
    CEASED_REASONS,
    AuthorityKind,
    CafcassOutcome,
    ChallengeOutcome,
    ChallengeSubject,
    InformedOf,
    LegalStatus,
    Participation,
    Role,
    Section,
)
from careledger.ledger.ssda903.records import ChildDetails, Episode

__all__ = ["Flag", "Id", "Ref", "Text"]

# A list or mapping of new input holds at most CARELEDGER_MAX_LIST_LENGTH items.
Limited = BeforeValidator(check_list_length)


class Model(BaseModel):
    # A reference such as a source or an id may arrive as a bare number (12345).
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)


class Person(Model):
    """Someone who took a decision, named with their role."""

    name: Ref
    role: Role


class Actor(Model):
    """Who recorded an event in the ledger (not necessarily who decided)."""

    actor_id: Id
    role: Role


class Payload(Model):
    """Fields every event carries from its caller."""

    occurred_on: date = Field(description="the business date of the decision or fact")
    source: Ref = Field(description="reference of the record in the council's case system")


class Authority(Model):
    """The authority a plan change rests on (reg 32(2); docs/rules.md §2)."""

    kind: AuthorityKind
    review_id: Id | None = None
    proposal_id: Id | None = None
    reason: Text | None = None

    @model_validator(mode="after")
    def _has_what_its_kind_needs(self) -> Authority:
        needs: dict[AuthorityKind, tuple[str, ...]] = {
            AuthorityKind.REVIEW_DECISION: ("review_id", "proposal_id"),
            AuthorityKind.NOT_REASONABLY_PRACTICABLE: ("reason",),
            AuthorityKind.IRO_AGREEMENT: ("proposal_id",),
            AuthorityKind.NONE: (),
        }
        missing = [name for name in needs[self.kind] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"authority of kind '{self.kind}' needs {', '.join(missing)}")
        return self


class ChildBecameLookedAfter(Payload):
    legal_status: LegalStatus
    placement: Ref | None = Field(default=None, description="SSDA903 PLACE code, if placed")
    episode: Episode | None = Field(
        default=None, description="the SSDA903 episode (RNE S) this was read from, if any"
    )


class ChildCeasedToBeLookedAfter(Payload):
    reason: str = Field(description="SSDA903 reason episode ceased (REC), not X1")
    approved_by: Person | None = Field(
        default=None, description="nominated officer or DCS approval (reg 39(4)-(5))"
    )
    episode_id: Id | None = Field(
        default=None, description="the SSDA903 episode whose end (DEC, REC) this was read from"
    )

    @field_validator("reason")
    @classmethod
    def _reason_is_a_903_end_of_care(cls, reason: str) -> str:
        if reason not in CEASED_REASONS:
            raise ValueError(f"'{reason}' is not an SSDA903 reason for ceasing to be looked after")
        return reason


class LegalStatusChanged(Payload):
    legal_status: LegalStatus
    order_ref: Ref | None = None
    episode: Episode | None = Field(
        default=None, description="the SSDA903 episode (RNE L) this was read from, if any"
    )


class PlacementChanged(Payload):
    """The child moved to a new placement (SSDA903 RNE P or T), with a new legal status as
    well when `legal_status` is given (RNE B or U)."""

    placement: Ref | None = Field(description="SSDA903 PLACE code")
    same_carers: Flag = Field(description="the same carer(s) as before (RNE T or U)")
    legal_status: LegalStatus | None = None
    reason: Ref | None = Field(
        default=None, description="why the last placement changed (REASON_PLACE_CHANGE)"
    )
    episode: Episode | None = Field(
        default=None, description="the SSDA903 episode this was read from, if any"
    )


class ChildDetailsRecorded(Payload):
    """Who the child is, as a statutory return gave it (the SSDA903 Header)."""

    details: ChildDetails


class IROAllocated(Payload):
    """An IRO allocated to the child, or a new IRO in place of the last (s.25A)."""

    iro_id: Id
    iro_name: Ref
    reason: Text | None = None


class SocialWorkerAllocated(Payload):
    worker_id: Id
    worker_name: Ref | None = Field(default=None, description="not in an SSDA903 return")
    team: Ref | None = None
    reason: Ref | None = Field(default=None, description="SSDA903 SW_REASON, if known")


class CarePlanAgreed(Payload):
    sections: Annotated[dict[Section, Text], Limited] = Field(min_length=1)
    decided_by: Person
    review_id: Id | None = Field(default=None, description="the review that agreed it, if any")


class ChangeProposed(Payload):
    proposal_id: Id
    section: Section
    content: Text
    significant: Flag
    proposed_by: Person
    child_consulted: Flag | None = Field(
        default=None, description="whether the child's wishes and feelings were sought (s.22(4))"
    )


class CarePlanSectionChanged(Payload):
    change_id: Id
    section: Section
    content: Text
    significant: Flag
    decided_by: Person
    authority: Authority
    child_consulted: Flag | None = None
    from_challenge: Id | None = Field(
        default=None, description="the IRO challenge this change came from, if any"
    )


class PlacementEnded(Payload):
    """A placement brought to an end; reg 14 allows this only after a review, save for
    immediate risk of significant harm to the child or of serious injury to others."""

    change_id: Id
    reason: Text
    decided_by: Person
    authority: Authority
    immediate_risk: Text | None = Field(
        default=None, description="the reg 14(3) risk, when the placement ended without review"
    )
    child_consulted: Flag | None = None
    from_challenge: Id | None = Field(
        default=None, description="the IRO challenge this ending came from, if any"
    )


class Approve(Model):
    kind: Literal["approve"]
    proposal_id: Id


class Reject(Model):
    kind: Literal["reject"]
    proposal_id: Id
    reason: Text


class Ratify(Model):
    kind: Literal["ratify"]
    change_id: Id


class Recommend(Model):
    kind: Literal["recommend"]
    recommendation_id: Id
    text: Text
    owner: Person
    due_on: date


Decision = Annotated[Approve | Reject | Ratify | Recommend, Field(discriminator="kind")]


class ReviewHeld(Payload):
    """A statutory review (regs 32-38): chaired by the IRO, its decisions recorded."""

    review_id: Id
    chair: Person | None = Field(description="None when the source does not say (SSDA903)")
    attendees: Annotated[list[Ref], Limited] = Field(default_factory=list)
    participation: Participation
    child_seen_before: Flag | None = Field(
        default=None, description="whether the IRO spoke with the child before it (reg 36)"
    )
    child_not_seen_reason: Text | None = Field(
        default=None,
        description="why the IRO did not: the child refused, or their age made it inappropriate",
    )
    decisions: Annotated[list[Decision], Limited] = Field(default_factory=list)

    @field_validator("child_not_seen_reason")
    @classmethod
    def _reason_only_when_not_seen(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if reason is not None and info.data.get("child_seen_before") is not False:
            raise ValueError("is given only when child_seen_before is false")
        return reason


class RecommendationCompleted(Payload):
    """A review recommendation carried out (reg 37: the council implements review decisions)."""

    recommendation_id: Id
    completed_by: Person
    evidence: Text | None = Field(default=None, description="what shows it was done")


class RecommendationOvertaken(Payload):
    """A recommendation no longer to be carried out because a later decision replaced it."""

    recommendation_id: Id
    decided_by: Person
    reason: Text
    review_id: Id | None = Field(default=None, description="the later review that decided it")


class IROAgreedChange(Payload):
    """The IRO agreeing a proposed change between reviews: a practice route, not reg 32(2)'s."""

    proposal_id: Id
    iro: Person
    reason: Text
    review_brought_forward: Flag = False


class ChallengeRaised(Payload):
    """An IRO's challenge to the council (IRO Handbook ch.6): informal first, unless the IRO
    starts at a formal stage (the IRO may skip stages; `ledger.domain.protocol`)."""

    challenge_id: Id
    subject: ChallengeSubject
    about: Ref | None = Field(
        default=None, description="the plan section, change, decision or recommendation"
    )
    concern: Text = Field(description="the IRO's concern, in their words")
    remedy_sought: Text | None = None
    raised_by: Person
    stage: int = Field(default=0, ge=0, description="the stage it starts at: 0 is informal")


class ChallengeEscalated(Payload):
    """The IRO takes a challenge to a later stage of the protocol, skipping any between."""

    challenge_id: Id
    to_stage: int = Field(ge=1)
    escalated_by: Person
    reason: Text = Field(description="why the last stage did not resolve it")


class ChallengeResponded(Payload):
    """The council's answer at a stage the challenge reached: the current one unless `stage`
    says which (an answer filed after the IRO escalated)."""

    challenge_id: Id
    responded_by: Person
    response: Text
    stage: int | None = Field(default=None, ge=0, description="default: the current stage")


class ChallengeResolved(Payload):
    """The end of the dispute. A change or review decision that put things right is named,
    so the plan's history can show the change that came from the challenge."""

    challenge_id: Id
    outcome: ChallengeOutcome
    resolved_by: Person
    summary: Text
    resolved_by_change: Id | None = Field(default=None, description="a change_id of the case")
    resolved_at_review: Id | None = Field(default=None, description="a review_id of the case")


class CafcassReferralMade(Payload):
    """The IRO refers the case to Cafcass (s.25B(3); reg 45), at any point of a challenge."""

    challenge_id: Id
    referred_by: Person
    grounds: Text


class CafcassOutcomeRecorded(Payload):
    challenge_id: Id
    outcome: CafcassOutcome
    detail: Text | None = None


class CorrectionRecorded(Payload):
    """Corrects an earlier event of the same case. History is not edited: projections apply
    the corrected values from the correction's recording onwards."""

    corrects_seq: int = Field(ge=2, description="the case sequence number of the event")
    reason: Text
    corrected: Annotated[dict[str, Any], Limited] = Field(min_length=1)


class IROInformed(Payload):
    """The child's IRO acknowledges being informed of a change (CPPCR 2010 reg 37; reg
    13(2)(i) and 14(2)(b) for a placement and its ending), recorded by the IRO themselves
    from their inbox: so a court can see when the IRO knew. `occurred_on` is the day they
    acknowledged it."""

    event_seq: int = Field(ge=2, description="the case event the IRO was informed of")
    recommendation_id: Id | None = Field(
        default=None,
        description="an overdue recommendation the review at event_seq made, if that is what",
    )
    informed_of: Annotated[list[InformedOf], Limited] = Field(
        min_length=1, description="why the change was put before the IRO"
    )
    iro: Person


PAYLOADS: dict[str, type[Payload]] = {
    cls.__name__: cls
    for cls in (
        ChildBecameLookedAfter,
        ChildCeasedToBeLookedAfter,
        LegalStatusChanged,
        PlacementChanged,
        ChildDetailsRecorded,
        IROAllocated,
        SocialWorkerAllocated,
        CarePlanAgreed,
        ChangeProposed,
        CarePlanSectionChanged,
        PlacementEnded,
        ReviewHeld,
        RecommendationCompleted,
        RecommendationOvertaken,
        IROAgreedChange,
        ChallengeRaised,
        ChallengeEscalated,
        ChallengeResponded,
        ChallengeResolved,
        CafcassReferralMade,
        CafcassOutcomeRecorded,
        CorrectionRecorded,
        IROInformed,
    )
}


def episode_of(payload: Payload) -> Episode | None:
    """The SSDA903 episode a payload read from a return carries, if it carries one. (Read
    from the payload's own fields: `getattr` with a default costs pydantic a raised and
    caught AttributeError for every payload without one, and the projections ask this of
    every event of every case they recompute.)"""
    episode = payload.__dict__.get("episode")
    return episode if isinstance(episode, Episode) else None
