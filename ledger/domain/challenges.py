"""What the ledger refuses in an IRO challenge's trail (IRO Handbook ch.6).

A challenge is raised, may be escalated to later stages (skipping any), answered at any stage
it reached, referred to Cafcass at any point (s.25B(3)), and resolved once: a stage's answer
that does not end the dispute is a response, and the IRO then escalates. A step that could not
truthfully follow the trail so far is refused with the field and the reason: resolving a
closed challenge, escalating past the last stage or to a stage already passed, a step dated
before the one it follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.ledger.domain.vocabulary import ChallengeOutcome, Role
from careledger.ledger.errors import RecordingRefused

IRO_ROLES = (Role.IRO, Role.IRO_MANAGER)
ChallengeStep = (
    p.ChallengeEscalated
    | p.ChallengeResponded
    | p.ChallengeResolved
    | p.CafcassReferralMade
    | p.CafcassOutcomeRecorded
)


@dataclass
class Challenge:
    """A challenge as far as the guards need it. `stages`: each stage reached, and when."""

    raised_on: date
    stage: int
    stages: dict[int, date]
    last_step_on: date
    resolved_on: date | None = None
    referred_on: date | None = None
    cafcass_outcome_on: date | None = None


def check_stage(payload: p.Payload, protocol: DisputeProtocol) -> None:
    """A stage must be one of the council's protocol."""
    if isinstance(payload, p.ChallengeRaised):
        name, stage = "stage", payload.stage
    elif isinstance(payload, p.ChallengeEscalated):
        name, stage = "to_stage", payload.to_stage
    else:
        return
    if stage > protocol.last_stage:
        raise RecordingRefused(
            name,
            f"stage {stage} is past the last stage of the protocol "
            f"({protocol.last_stage}: {protocol.name(protocol.last_stage)})",
        )


def check_raised(payload: p.ChallengeRaised) -> None:
    _check_iro("raised_by", payload.raised_by)


def check_step(challenges: dict[str, Challenge], payload: ChallengeStep) -> Challenge:
    """Check one step against the challenge's trail so far; returns the challenge."""
    challenge = challenges.get(payload.challenge_id)
    if challenge is None:
        raise RecordingRefused(
            "challenge_id", f"no challenge '{payload.challenge_id}' in this case"
        )
    if isinstance(payload, p.CafcassReferralMade | p.CafcassOutcomeRecorded):
        _check_cafcass(challenge, payload)
        return challenge
    if challenge.resolved_on is not None:
        raise RecordingRefused(
            "challenge_id",
            f"challenge '{payload.challenge_id}' was resolved on {challenge.resolved_on}",
        )
    if isinstance(payload, p.ChallengeResponded):
        _check_response(challenge, payload)
    else:
        _not_before("occurred_on", payload.occurred_on, challenge.last_step_on, "its last step")
    if isinstance(payload, p.ChallengeResolved):
        _check_resolution(challenge, payload)
    if isinstance(payload, p.ChallengeEscalated):
        _check_iro("escalated_by", payload.escalated_by)
        if payload.to_stage <= challenge.stage:
            raise RecordingRefused(
                "to_stage", f"the challenge is already at stage {challenge.stage}"
            )
    return challenge


def _check_response(challenge: Challenge, payload: p.ChallengeResponded) -> None:
    stage = challenge.stage if payload.stage is None else payload.stage
    began = challenge.stages.get(stage)
    if began is None:
        reached = ", ".join(str(n) for n in sorted(challenge.stages))
        raise RecordingRefused("stage", f"the challenge never reached stage {stage} ({reached})")
    _not_before("occurred_on", payload.occurred_on, began, f"stage {stage} began")
    if payload.responded_by.role in IRO_ROLES:
        raise RecordingRefused(
            "responded_by.role", "a response comes from the council, not from the IRO service"
        )


def _check_resolution(challenge: Challenge, payload: p.ChallengeResolved) -> None:
    """Only the IRO withdraws their challenge; a dispute ended by a Cafcass referral needs
    the referral on record."""
    if payload.outcome is ChallengeOutcome.WITHDRAWN:
        _check_iro("resolved_by", payload.resolved_by)
    if payload.outcome is ChallengeOutcome.REFERRED_TO_CAFCASS and challenge.referred_on is None:
        raise RecordingRefused("outcome", "no Cafcass referral is recorded for this challenge")


def _check_cafcass(
    challenge: Challenge, payload: p.CafcassReferralMade | p.CafcassOutcomeRecorded
) -> None:
    if isinstance(payload, p.CafcassReferralMade):
        _check_iro("referred_by", payload.referred_by)
        if challenge.referred_on is not None and challenge.cafcass_outcome_on is None:
            raise RecordingRefused(
                "challenge_id",
                f"the challenge was referred to Cafcass on {challenge.referred_on} and Cafcass's "
                "outcome is not yet recorded",
            )
        if challenge.cafcass_outcome_on is not None:
            _not_before(
                "occurred_on",
                payload.occurred_on,
                challenge.cafcass_outcome_on,
                "Cafcass's last outcome",
            )
        _not_before("occurred_on", payload.occurred_on, challenge.raised_on, "the challenge")
        return
    if challenge.referred_on is None:
        raise RecordingRefused("challenge_id", "the challenge has not been referred to Cafcass")
    if challenge.cafcass_outcome_on is not None:
        raise RecordingRefused(
            "challenge_id", f"Cafcass's outcome was recorded on {challenge.cafcass_outcome_on}"
        )
    _not_before("occurred_on", payload.occurred_on, challenge.referred_on, "the referral")


def check_link(name: str, challenge_id: str, on: date, challenges: dict[str, Challenge]) -> None:
    """A change that came from a challenge cannot precede it."""
    challenge = challenges.get(challenge_id)
    if challenge is None:
        raise RecordingRefused(name, f"no challenge '{challenge_id}' in this case")
    _not_before("occurred_on", on, challenge.raised_on, f"challenge '{challenge_id}'")


def check_resolution_link(
    name: str, what: str, on: date, challenge: Challenge, resolved_on: date
) -> None:
    """What resolved a challenge came between its raising and its resolution."""
    if on < challenge.raised_on:
        raise RecordingRefused(
            name, f"{what} of {on} is before the challenge was raised on {challenge.raised_on}"
        )
    if on > resolved_on:
        raise RecordingRefused(name, f"{what} of {on} is after the resolution ({resolved_on})")


def evolve(challenges: dict[str, Challenge], payload: p.Payload) -> None:
    """The challenge after a step (or a new one)."""
    if isinstance(payload, p.ChallengeRaised):
        on = payload.occurred_on
        challenges[payload.challenge_id] = Challenge(on, payload.stage, {payload.stage: on}, on)
        return
    if not isinstance(payload, ChallengeStep) or payload.challenge_id not in challenges:
        return
    challenge = challenges[payload.challenge_id]
    on = payload.occurred_on
    if isinstance(payload, p.CafcassReferralMade):
        challenge.referred_on, challenge.cafcass_outcome_on = on, None
    elif isinstance(payload, p.CafcassOutcomeRecorded):
        challenge.cafcass_outcome_on = on
    else:
        challenge.last_step_on = max(challenge.last_step_on, on)
    if isinstance(payload, p.ChallengeEscalated):
        challenge.stage = payload.to_stage
        challenge.stages[payload.to_stage] = on
    elif isinstance(payload, p.ChallengeResolved):
        challenge.resolved_on = on


def _check_iro(name: str, person: p.Person) -> None:
    if person.role not in IRO_ROLES:
        raise RecordingRefused(f"{name}.role", f"must be IRO or IRO_MANAGER, not {person.role}")


def _not_before(name: str, on: date, earliest: date, what: str) -> None:
    if on < earliest:
        raise RecordingRefused(name, f"{on} is before {what} ({earliest})")
