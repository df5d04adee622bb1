"""What a case's history says of its IRO challenges: each challenge with its steps (and the
changes that came from it) in date order, each step with the day it was recorded. Part of the
follow-up facts (`projections.followup`), written with them and versioned with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.challenges import ChallengeStep


@dataclass(frozen=True)
class Step:
    """One step of an IRO challenge's trail, or a change that came from it. `stage` is the
    stage the challenge was at when the step was taken; for an escalation, the new stage; for
    an answer, the stage it answers."""

    seq: int
    kind: str  # escalated, responded, resolved, cafcass_referral, cafcass_outcome, change
    on: date
    recorded_on: date
    stage: int
    by: p.Person | None
    text: str | None
    outcome: str | None = None
    link: str | None = None  # what resolved it: "change CH-4", "review R-2"


@dataclass(frozen=True)
class Challenge:
    challenge_id: str
    subject: str
    about: str | None
    concern: str
    remedy_sought: str | None
    raised_by: p.Person
    raised_on: date
    recorded_on: date
    stage: int
    steps: list[Step] = field(default_factory=list)


def challenge_facts(
    payloads: list[tuple[int, p.Payload]], recorded: dict[int, date]
) -> list[Challenge]:
    """Each challenge with its steps in date order, and the changes that came from it."""
    found: dict[str, Challenge] = {}
    for seq, payload in payloads:
        if isinstance(payload, p.ChallengeRaised):
            found[payload.challenge_id] = Challenge(
                payload.challenge_id,
                str(payload.subject),
                payload.about,
                payload.concern,
                payload.remedy_sought,
                payload.raised_by,
                payload.occurred_on,
                recorded[seq],
                payload.stage,
            )
            continue
        challenge_id = _challenge_of(payload)
        challenge = found.get(challenge_id) if challenge_id else None
        if challenge is not None:
            stage = _current_stage(challenge)
            challenge.steps.append(_step(seq, payload, recorded[seq], stage))
    return list(found.values())


def _current_stage(challenge: Challenge) -> int:
    """The stage of the last escalation so far (an answer may name an earlier stage)."""
    escalations = [step.stage for step in challenge.steps if step.kind == "escalated"]
    return escalations[-1] if escalations else challenge.stage


# The kinds of payload that may concern a challenge (`concerns_a_challenge` says whether one
# does).
CHALLENGE_KINDS = p.ChallengeRaised | p.CarePlanSectionChanged | p.PlacementEnded | ChallengeStep


def concerns_a_challenge(payload: p.Payload) -> bool:
    """Whether `challenge_facts` reads the payload: a challenge raised, one of its steps, or
    a change that came of one."""
    return isinstance(payload, p.ChallengeRaised) or _challenge_of(payload) is not None


def _challenge_of(payload: p.Payload) -> str | None:
    if isinstance(payload, p.CarePlanSectionChanged | p.PlacementEnded):
        return payload.from_challenge
    if isinstance(payload, ChallengeStep):
        return payload.challenge_id
    return None


def _step(seq: int, payload: p.Payload, recorded_on: date, stage: int) -> Step:
    on = payload.occurred_on
    if isinstance(payload, p.ChallengeEscalated):
        return Step(
            seq,
            "escalated",
            on,
            recorded_on,
            payload.to_stage,
            payload.escalated_by,
            payload.reason,
        )
    if isinstance(payload, p.ChallengeResponded):
        answered = stage if payload.stage is None else payload.stage
        return Step(
            seq, "responded", on, recorded_on, answered, payload.responded_by, payload.response
        )
    if isinstance(payload, p.ChallengeResolved):
        links = [
            f"change {payload.resolved_by_change}" if payload.resolved_by_change else "",
            f"review {payload.resolved_at_review}" if payload.resolved_at_review else "",
        ]
        return Step(
            seq,
            "resolved",
            on,
            recorded_on,
            stage,
            payload.resolved_by,
            payload.summary,
            str(payload.outcome),
            "; ".join(x for x in links if x) or None,
        )
    if isinstance(payload, p.CafcassReferralMade):
        return Step(
            seq, "cafcass_referral", on, recorded_on, stage, payload.referred_by, payload.grounds
        )
    if isinstance(payload, p.CafcassOutcomeRecorded):
        return Step(
            seq,
            "cafcass_outcome",
            on,
            recorded_on,
            stage,
            None,
            payload.detail,
            str(payload.outcome),
        )
    assert isinstance(payload, p.CarePlanSectionChanged | p.PlacementEnded)
    what = (
        f"{payload.section}: {payload.content}"
        if isinstance(payload, p.CarePlanSectionChanged)
        else f"placement ended: {payload.reason}"
    )
    return Step(
        seq,
        "change",
        on,
        recorded_on,
        stage,
        payload.decided_by,
        what,
        None,
        f"change {payload.change_id}",
    )
