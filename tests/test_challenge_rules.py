"""What the ledger records and refuses of an IRO challenge's trail (IRO Handbook ch.6).

Proved here, on the aggregate alone (no database), except the two batch tests at the end:

- every step of a challenge can be recorded: raised informally or straight at a formal stage,
  escalated (skipping stages), answered at its current stage or at an earlier stage it reached
  (an answer filed after an escalation), resolved with each outcome (withdrawn by the IRO
  service; referred_to_cafcass once a referral is on record), resolved through a change or at
  a review, referred to Cafcass alongside an open challenge or after it was resolved, referred
  again once Cafcass's outcome is recorded, Cafcass's outcome, and a plan change (or a
  placement's end) that came from the challenge;
- every step that could not truthfully follow the trail so far is refused, naming the field
  and the problem: an unknown challenge, a reused id, a step after the resolution, a stage
  already reached or past the protocol's last (the default five stages, or a council's own),
  a step dated before the one it follows, an answer to a stage the challenge never reached or
  dated before that stage began, a resolution through a change or review that does not exist,
  precedes the challenge or follows the resolution, referred_to_cafcass with no referral, a
  withdrawal by anyone but the IRO service, a second Cafcass referral while one is pending or
  dated before Cafcass's last outcome, Cafcass's outcome twice or out of order, a challenge
  raised, escalated or referred by someone who is not an IRO, a response from the IRO service,
  a change from a challenge that does not exist or came later, and a correction that would move
  a response before its challenge;
- a batch refused on a challenge step records nothing, through the application, and the
  application reads the council's protocol from the CARELEDGER_CHALLENGE_* settings, only
  when it records a challenge: a bad setting does not stop recording anything else.

A correction is checked against the events after the one it corrects too: moving a challenge
or an escalation after the steps that follow it is refused, naming the step.

The histories are invented, after NAIRO's published case histories:

Aaron (17, mild learning difficulties; after Ashley, case 3) has lived with his foster carers
for six years; his pathway plan, agreed at his review in January 2025, is an army preparation
course with staying put as his home base. On Monday 7 April 2025 a senior manager replaces
staying put with supported lodgings, without a review. His IRO challenges informally on
Thursday 17 April; the team manager stands by the decision; the dispute fails at stage 1 and
is upheld at stage 2 by the service manager, who restores staying put.

Variants of his trail follow Sally (case 6: a challenge resolved at the review that kept her
staying put) and Peter (case 8: straight to the DCS and to Cafcass, who call it
"procedural").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from careledger.api import opened
from careledger.ledger.application import BatchRefused
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ChildCase
from careledger.ledger.domain.commands import parse_command
from careledger.ledger.domain.protocol import DisputeProtocol, Stage
from careledger.ledger.errors import LedgerError, RecordingRefused
from tests.test_case_rules import (
    COUNCIL,
    IRO,
    IRO_ACTOR,
    NOW,
    SW,
    SW_ACTOR,
    TM,
    TM_ACTOR,
    _correction,
    _iro_agreed,
    _line,
    at,
    parse_refused,
    refused,
)

AARON = "C0871"

IRO_MANAGER = p.Person(name="Denise Whitlock", role="IRO_MANAGER")
SERVICE_MANAGER = p.Person(name="Marcus Fenwick", role="SERVICE_MANAGER")
SENIOR = p.Person(name="Alan Crowther", role="SENIOR_MANAGER")
SERVICE_MANAGER_ACTOR = p.Actor(actor_id="sm.mfenwick", role="SERVICE_MANAGER")

ENTERED_CARE = date(2019, 9, 2)
REV_1 = date(2025, 1, 20)
LODGINGS = date(2025, 4, 7)  # Monday: staying put replaced without review
RAISED = date(2025, 4, 17)  # Thursday before Easter: the informal challenge


# --- Aaron's case ---------------------------------------------------------------------------


def _raise(
    on: date = RAISED, challenge_id: str = "CHAL-1", stage: int = 0, by: p.Person = IRO
) -> p.ChallengeRaised:
    return p.ChallengeRaised(
        occurred_on=on,
        source=f"LCS/IRO/{challenge_id}",
        challenge_id=challenge_id,
        subject="decision",
        about="CH-LODGINGS",
        concern="Staying put replaced by supported lodgings without a review or Aaron's views",
        remedy_sought="Restore staying put to the pathway plan",
        raised_by=by,
        stage=stage,
    )


def _escalate(
    on: date, to_stage: int, challenge_id: str = "CHAL-1", by: p.Person = IRO
) -> p.ChallengeEscalated:
    return p.ChallengeEscalated(
        occurred_on=on,
        source=f"LCS/IRO/{challenge_id}/E{to_stage}",
        challenge_id=challenge_id,
        to_stage=to_stage,
        escalated_by=by,
        reason="The last stage's answer did not address the absence of a review",
    )


def _respond(
    on: date,
    by: p.Person = TM,
    challenge_id: str = "CHAL-1",
    response: str = "Decision stands",
    stage: int | None = None,
) -> p.ChallengeResponded:
    return p.ChallengeResponded(
        occurred_on=on,
        source=f"LCS/NOTE/{challenge_id}/R",
        challenge_id=challenge_id,
        responded_by=by,
        response=response,
        stage=stage,
    )


def _resolve(
    on: date,
    outcome: str = "upheld",
    challenge_id: str = "CHAL-1",
    change: str | None = None,
    review: str | None = None,
    by: p.Person = SERVICE_MANAGER,
) -> p.ChallengeResolved:
    return p.ChallengeResolved(
        occurred_on=on,
        source=f"LCS/IRO/{challenge_id}/END",
        challenge_id=challenge_id,
        outcome=outcome,
        resolved_by=by,
        summary="Staying put restored; supported lodgings withdrawn",
        resolved_by_change=change,
        resolved_at_review=review,
    )


def _refer(on: date, challenge_id: str = "CHAL-1", by: p.Person = IRO) -> p.CafcassReferralMade:
    return p.CafcassReferralMade(
        occurred_on=on,
        source=f"LCS/IRO/{challenge_id}/CAFCASS",
        challenge_id=challenge_id,
        referred_by=by,
        grounds="The council has not answered at the top of its ladder",
    )


def _cafcass_outcome(
    on: date, challenge_id: str = "CHAL-1", outcome: str = "no_action"
) -> p.CafcassOutcomeRecorded:
    return p.CafcassOutcomeRecorded(
        occurred_on=on,
        source=f"CAFCASS/{challenge_id}",
        challenge_id=challenge_id,
        outcome=outcome,
        detail="Cafcass consider the concern procedural",
    )


def _restore(
    on: date, change_id: str = "CH-RESTORE", from_challenge: str | None = "CHAL-1"
) -> p.CarePlanSectionChanged:
    return p.CarePlanSectionChanged(
        occurred_on=on,
        source=f"LCS/CP/{change_id}",
        change_id=change_id,
        section="pathway",
        content="Army preparation course; staying put with his foster carers",
        significant=True,
        decided_by=SERVICE_MANAGER,
        authority=_iro_agreed("P-RESTORE"),
        child_consulted=True,
        from_challenge=from_challenge,
    )


def aaron() -> ChildCase:
    """Aaron's case to the change the IRO challenges. Sequence numbers: 2 entry, 3 IRO,
    4 REV-1, 5 plan, 6 CH-LODGINGS, 7 P-RESTORE, 8 the IRO's agreement to it."""
    entry = p.ChildBecameLookedAfter(
        occurred_on=ENTERED_CARE, source="LCS/EP/80412", legal_status="C2", placement="U4"
    )
    case = ChildCase.open(COUNCIL, AARON, entry, at(ENTERED_CARE), SW_ACTOR)
    case.record(
        p.IROAllocated(
            occurred_on=date(2019, 9, 4),
            source="LCS/ALLOC/411",
            iro_id="IRO-117",
            iro_name="Priya Shah",
        ),
        at(date(2019, 9, 4)),
        IRO_ACTOR,
    )
    case.record(
        p.ReviewHeld(
            occurred_on=REV_1,
            source="LCS/REV/REV-1",
            review_id="REV-1",
            chair=IRO,
            attendees=["Aaron", "Hannah Brooks", "foster carers"],
            participation="PN1",
            child_seen_before=True,
        ),
        at(REV_1),
        IRO_ACTOR,
    )
    case.record(
        p.CarePlanAgreed(
            occurred_on=REV_1,
            source="LCS/CP/4100",
            sections={
                "pathway": "Army preparation course from September; staying put as home base",
                "placement": "Foster carers since 2019 (U4)",
            },
            decided_by=TM,
            review_id="REV-1",
        ),
        at(REV_1),
        TM_ACTOR,
    )
    case.record(
        p.CarePlanSectionChanged(
            occurred_on=LODGINGS,
            source="LCS/CP/CH-LODGINGS",
            change_id="CH-LODGINGS",
            section="pathway",
            content="Supported lodgings from his 18th birthday",
            significant=True,
            decided_by=SENIOR,
            authority=p.Authority(kind="none"),
            child_consulted=False,
        ),
        at(LODGINGS),
        p.Actor(actor_id="sm.acrowther", role="SENIOR_MANAGER"),
    )
    case.record(
        p.ChangeProposed(
            occurred_on=date(2025, 5, 28),
            source="LCS/NOTE/P-RESTORE",
            proposal_id="P-RESTORE",
            section="pathway",
            content="Restore staying put",
            significant=True,
            proposed_by=SW,
            child_consulted=True,
        ),
        at(date(2025, 5, 28)),
        SW_ACTOR,
    )
    case.record(
        p.IROAgreedChange(
            occurred_on=date(2025, 5, 29),
            source="LCS/IRO/AGREE-1",
            proposal_id="P-RESTORE",
            iro=IRO,
            reason="Restores what REV-1 agreed",
        ),
        at(date(2025, 5, 29)),
        IRO_ACTOR,
    )
    return case


def aaron_challenged() -> ChildCase:
    """Aaron's case with CHAL-1 raised informally on Thursday 17 April 2025."""
    case = aaron()
    case.record(_raise(), at(RAISED), IRO_ACTOR)
    return case


def aaron_at_stage_1() -> ChildCase:
    """Informal answer on Thursday 8 May; escalated to stage 1 on Monday 12 May."""
    case = aaron_challenged()
    case.record(_respond(date(2025, 5, 8)), at(date(2025, 5, 8)), TM_ACTOR)
    case.record(_escalate(date(2025, 5, 12), 1), at(date(2025, 5, 12)), IRO_ACTOR)
    return case


def aaron_resolved() -> ChildCase:
    """CHAL-1 upheld at stage 2 on Monday 2 June through the change that restored staying
    put."""
    case = aaron_at_stage_1()
    case.record(_respond(date(2025, 5, 16)), at(date(2025, 5, 16)), TM_ACTOR)
    case.record(_escalate(date(2025, 5, 21), 2), at(date(2025, 5, 21)), IRO_ACTOR)
    case.record(
        _respond(date(2025, 5, 28), SERVICE_MANAGER, response="Upheld"),
        at(date(2025, 5, 28)),
        SERVICE_MANAGER_ACTOR,
    )
    case.record(_restore(date(2025, 6, 2)), at(date(2025, 6, 2)), SERVICE_MANAGER_ACTOR)
    case.record(
        _resolve(date(2025, 6, 2), change="CH-RESTORE"),
        at(date(2025, 6, 2), hour=18),
        SERVICE_MANAGER_ACTOR,
    )
    return case


def refusal(case: ChildCase, payload: p.Payload, **kw: Any) -> tuple[str, str]:
    """What the case says when refusing `payload` (recorded on Monday 2 June 2025, with the
    protocol in `kw` if given); the case's version is unchanged."""
    version = case.version
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(payload, NOW, IRO_ACTOR, **kw)
    assert case.version == version
    return refused(excinfo)


# --- recorded: the trail of a challenge -----------------------------------------------------


def test_iro_raises_an_informal_challenge_to_a_change_made_without_review() -> None:
    case = aaron()

    seq = case.record(_raise(), at(RAISED), IRO_ACTOR)

    assert seq == 9
    challenge = case.challenges["CHAL-1"]
    assert (challenge.raised_on, challenge.stage, challenge.stages) == (RAISED, 0, {0: RAISED})
    assert (challenge.last_step_on, challenge.resolved_on, challenge.referred_on) == (
        RAISED,
        None,
        None,
    )
    recorded = case.entries[seq].payload
    assert isinstance(recorded, p.ChallengeRaised) and recorded.about == "CH-LODGINGS"


def test_iro_manager_may_raise_a_challenge_straight_at_a_formal_stage() -> None:
    case = aaron()

    case.record(_raise(stage=2, by=IRO_MANAGER), at(RAISED), IRO_ACTOR)

    challenge = case.challenges["CHAL-1"]
    assert (challenge.stage, challenge.stages) == (2, {2: RAISED})


def test_council_answers_at_the_informal_stage_without_changing_its_stage() -> None:
    case = aaron_challenged()

    case.record(_respond(date(2025, 5, 8)), at(date(2025, 5, 8)), TM_ACTOR)

    challenge = case.challenges["CHAL-1"]
    assert (challenge.stage, challenge.stages) == (0, {0: RAISED})
    assert challenge.last_step_on == date(2025, 5, 8)


def test_failed_informal_stage_may_be_escalated_skipping_stages() -> None:
    case = aaron_challenged()
    case.record(_respond(date(2025, 5, 8)), at(date(2025, 5, 8)), TM_ACTOR)

    case.record(_escalate(date(2025, 5, 12), 3), at(date(2025, 5, 12)), IRO_ACTOR)

    challenge = case.challenges["CHAL-1"]
    assert (challenge.stage, challenge.stages) == (3, {0: RAISED, 3: date(2025, 5, 12)})


def test_escalation_to_the_last_stage_of_the_default_protocol_is_recorded() -> None:
    case = aaron_challenged()
    case.record(_escalate(date(2025, 5, 12), 4), at(date(2025, 5, 12)), IRO_ACTOR)
    assert case.challenges["CHAL-1"].stage == 4  # Stage 4: the DCS


def test_dispute_failing_at_stage_1_is_upheld_at_stage_2_through_the_change_it_produced() -> None:
    case = aaron_resolved()

    challenge = case.challenges["CHAL-1"]
    assert challenge.stage == 2
    assert challenge.stages == {0: RAISED, 1: date(2025, 5, 12), 2: date(2025, 5, 21)}
    assert (challenge.last_step_on, challenge.resolved_on) == (date(2025, 6, 2), date(2025, 6, 2))
    assert case.changes["CH-RESTORE"] == date(2025, 6, 2)
    kinds = [type(x.payload).__name__ for seq, x in case.entries.items() if seq >= 9]
    assert kinds == [
        "ChallengeRaised",
        "ChallengeResponded",
        "ChallengeEscalated",
        "ChallengeResponded",
        "ChallengeEscalated",
        "ChallengeResponded",
        "CarePlanSectionChanged",
        "ChallengeResolved",
    ]
    restored = case.current_plan()
    assert [s.content for k, s in restored.items() if str(k) == "pathway"] == [
        "Army preparation course; staying put with his foster carers"
    ]


@pytest.mark.parametrize(
    ("outcome", "by"),
    [
        ("upheld", SERVICE_MANAGER),
        ("partly_upheld", SERVICE_MANAGER),
        ("not_upheld", SERVICE_MANAGER),
        ("withdrawn", IRO),  # only the IRO withdraws: below
    ],
    ids=["upheld", "partly_upheld", "not_upheld", "withdrawn"],
)
def test_challenge_can_be_resolved_with_each_outcome(outcome: str, by: p.Person) -> None:
    case = aaron_at_stage_1()

    seq = case.record(
        _resolve(date(2025, 5, 16), outcome, by=by), at(date(2025, 5, 16)), SERVICE_MANAGER_ACTOR
    )

    assert case.challenges["CHAL-1"].resolved_on == date(2025, 5, 16)
    recorded = case.entries[seq].payload
    assert isinstance(recorded, p.ChallengeResolved) and recorded.outcome == outcome


def test_challenge_may_be_resolved_on_the_day_of_its_last_step() -> None:
    case = aaron_at_stage_1()
    withdrawn = _resolve(date(2025, 5, 12), "withdrawn", by=IRO)
    case.record(withdrawn, at(date(2025, 5, 12), 18), IRO_ACTOR)
    assert case.challenges["CHAL-1"].resolved_on == date(2025, 5, 12)


def test_answer_to_an_earlier_stage_filed_after_an_escalation_is_recorded_for_that_stage() -> None:
    # The social worker answers the informal stage on Wednesday 14 May, after the IRO went
    # to the DCS (stage 4) on Monday 12 May: recorded as the informal stage's answer; the
    # challenge stays at the DCS, begun on the 12th.
    case = aaron_challenged()
    case.record(_escalate(date(2025, 5, 12), 4), at(date(2025, 5, 12)), IRO_ACTOR)

    seq = case.record(
        _respond(date(2025, 5, 14), SW, response="Sorry for the delay", stage=0),
        at(date(2025, 5, 14)),
        SW_ACTOR,
    )

    challenge = case.challenges["CHAL-1"]
    assert (challenge.stage, challenge.stages) == (4, {0: RAISED, 4: date(2025, 5, 12)})
    assert challenge.last_step_on == date(2025, 5, 14)
    recorded = case.entries[seq].payload
    assert isinstance(recorded, p.ChallengeResponded) and recorded.stage == 0


def test_answer_naming_the_current_stage_is_the_same_as_the_default() -> None:
    case = aaron_at_stage_1()
    case.record(_respond(date(2025, 5, 16), stage=1), at(date(2025, 5, 16)), TM_ACTOR)
    assert case.challenges["CHAL-1"].stages == {0: RAISED, 1: date(2025, 5, 12)}


@pytest.mark.parametrize("by", [IRO, IRO_MANAGER], ids=["IRO", "IRO_MANAGER"])
def test_the_iro_service_withdraws_its_challenge(by: p.Person) -> None:
    case = aaron_at_stage_1()
    case.record(_resolve(date(2025, 5, 16), "withdrawn", by=by), at(date(2025, 5, 16)), IRO_ACTOR)
    assert case.challenges["CHAL-1"].resolved_on == date(2025, 5, 16)


def test_dispute_ended_by_a_cafcass_referral_is_resolved_referred_to_cafcass() -> None:
    # As for Peter (case 8): at the DCS, referred to Cafcass on Tuesday 22 April; the
    # dispute ends there on Friday 2 May, before Cafcass answer.
    case = aaron()
    case.record(_raise(date(2025, 4, 22), stage=4), at(date(2025, 4, 22)), IRO_ACTOR)
    case.record(_refer(date(2025, 4, 22)), at(date(2025, 4, 22), 18), IRO_ACTOR)

    seq = case.record(
        _resolve(date(2025, 5, 2), "referred_to_cafcass", by=IRO), at(date(2025, 5, 2)), IRO_ACTOR
    )

    challenge = case.challenges["CHAL-1"]
    assert (challenge.resolved_on, challenge.referred_on) == (date(2025, 5, 2), date(2025, 4, 22))
    recorded = case.entries[seq].payload
    assert isinstance(recorded, p.ChallengeResolved)
    assert recorded.outcome == "referred_to_cafcass"
    # Cafcass's outcome may follow the end of the dispute.
    case.record(_cafcass_outcome(date(2025, 5, 9)), at(date(2025, 5, 9)), IRO_ACTOR)
    assert challenge.cafcass_outcome_on == date(2025, 5, 9)


def test_new_cafcass_referral_may_follow_cafcass_outcome_of_the_last() -> None:
    # Referred on 22 April; Cafcass answer "no action" on Friday 2 May; the IRO refers
    # again on that day (not before it) when the council still has not acted.
    case = aaron_challenged()
    case.record(_refer(date(2025, 4, 22)), at(date(2025, 4, 22)), IRO_ACTOR)
    case.record(_cafcass_outcome(date(2025, 5, 2)), at(date(2025, 5, 2)), IRO_ACTOR)

    case.record(_refer(date(2025, 5, 2)), at(date(2025, 5, 2), 18), IRO_ACTOR)

    challenge = case.challenges["CHAL-1"]
    assert (challenge.referred_on, challenge.cafcass_outcome_on) == (date(2025, 5, 2), None)
    # Cafcass's outcome of the new referral may be recorded; a third referral then too.
    case.record(
        _cafcass_outcome(date(2025, 5, 16), outcome="advice"), at(date(2025, 5, 16)), IRO_ACTOR
    )
    assert challenge.cafcass_outcome_on == date(2025, 5, 16)


def test_challenge_resolved_at_the_review_that_restored_staying_put() -> None:
    # As for Sally (case 6): the review of Tuesday 6 May restores staying put.
    case = aaron_challenged()
    review = p.ReviewHeld(
        occurred_on=date(2025, 5, 6),
        source="LCS/REV/REV-2",
        review_id="REV-2",
        chair=IRO,
        participation="PN1",
        child_seen_before=True,
    )
    case.record(review, at(date(2025, 5, 6)), IRO_ACTOR)

    case.record(_resolve(date(2025, 5, 6), review="REV-2"), at(date(2025, 5, 6), 18), IRO_ACTOR)

    assert case.challenges["CHAL-1"].resolved_on == date(2025, 5, 6)


def test_cafcass_referral_alongside_an_open_challenge_and_cafcass_outcome() -> None:
    # As for Peter (case 8): the IRO goes straight to the DCS (stage 4) and refers to
    # Cafcass the same day; Cafcass answer ten days later.
    case = aaron()
    case.record(_raise(date(2025, 4, 22), stage=4), at(date(2025, 4, 22)), IRO_ACTOR)

    case.record(_refer(date(2025, 4, 22)), at(date(2025, 4, 22), 18), IRO_ACTOR)
    case.record(_cafcass_outcome(date(2025, 5, 2)), at(date(2025, 5, 2)), IRO_ACTOR)

    challenge = case.challenges["CHAL-1"]
    assert (challenge.referred_on, challenge.cafcass_outcome_on) == (
        date(2025, 4, 22),
        date(2025, 5, 2),
    )
    assert challenge.resolved_on is None
    assert challenge.last_step_on == date(2025, 4, 22)  # Cafcass is not a step of the stages
    # The council may still answer at the stage the challenge is at.
    case.record(_respond(date(2025, 5, 6), SENIOR), at(date(2025, 5, 6)), TM_ACTOR)


def test_cafcass_referral_may_follow_the_resolution_of_the_challenge() -> None:
    case = aaron_at_stage_1()
    case.record(
        _resolve(date(2025, 5, 16), "not_upheld"), at(date(2025, 5, 16)), SERVICE_MANAGER_ACTOR
    )

    case.record(_refer(date(2025, 5, 20)), at(date(2025, 5, 20)), IRO_ACTOR)
    case.record(_cafcass_outcome(date(2025, 6, 2), outcome="advice"), NOW, IRO_ACTOR)

    challenge = case.challenges["CHAL-1"]
    assert (challenge.resolved_on, challenge.referred_on, challenge.cafcass_outcome_on) == (
        date(2025, 5, 16),
        date(2025, 5, 20),
        date(2025, 6, 2),
    )


def test_placement_ended_from_a_challenge_names_it() -> None:
    case = aaron_challenged()
    ended = p.PlacementEnded(
        occurred_on=date(2025, 4, 30),
        source="LCS/PL/END-1",
        change_id="CH-END",
        reason="Moved to his grandmother's, as the IRO's challenge sought",
        decided_by=TM,
        authority=p.Authority(kind="not_reasonably_practicable", reason="Carers gave notice"),
        from_challenge="CHAL-1",
    )

    seq = case.record(ended, at(date(2025, 4, 30)), TM_ACTOR)

    assert case.changes["CH-END"] == date(2025, 4, 30)
    recorded = case.entries[seq].payload
    assert isinstance(recorded, p.PlacementEnded) and recorded.from_challenge == "CHAL-1"


def test_change_from_a_challenge_may_be_made_on_the_day_it_was_raised() -> None:
    case = aaron_challenged()
    case.record(_restore(RAISED), at(RAISED, 18), TM_ACTOR)
    assert case.changes["CH-RESTORE"] == RAISED


# --- refused: what the challenge does not have ----------------------------------------------

Step = Callable[[], p.Payload]
STEPS: dict[str, Step] = {
    "escalated": lambda: _escalate(date(2025, 5, 12), 1, "CHAL-9"),
    "responded": lambda: _respond(date(2025, 5, 12), challenge_id="CHAL-9"),
    "resolved": lambda: _resolve(date(2025, 5, 12), challenge_id="CHAL-9"),
    "cafcass_referral": lambda: _refer(date(2025, 5, 12), "CHAL-9"),
    "cafcass_outcome": lambda: _cafcass_outcome(date(2025, 5, 12), "CHAL-9"),
}


@pytest.mark.parametrize("step", list(STEPS.values()), ids=list(STEPS))
def test_step_of_a_challenge_never_raised_is_refused(step: Step) -> None:
    case = aaron_challenged()
    assert refusal(case, step()) == ("challenge_id", "no challenge 'CHAL-9' in this case")
    assert set(case.challenges) == {"CHAL-1"}


def test_challenge_id_cannot_be_raised_again_even_after_it_was_resolved() -> None:
    case = aaron_resolved()
    assert refusal(case, _raise(date(2025, 6, 2))) == (
        "challenge_id",
        "'CHAL-1' is already used in this case",
    )


RESOLVED_STEPS: dict[str, Step] = {
    "resolved": lambda: _resolve(date(2025, 6, 2), "withdrawn", by=IRO),
    "escalated": lambda: _escalate(date(2025, 6, 2), 3),
    "responded": lambda: _respond(date(2025, 6, 2), SERVICE_MANAGER),
}


@pytest.mark.parametrize("step", list(RESOLVED_STEPS.values()), ids=list(RESOLVED_STEPS))
def test_resolved_challenge_cannot_be_resolved_escalated_or_answered(step: Step) -> None:
    case = aaron_resolved()
    assert refusal(case, step()) == (
        "challenge_id",
        "challenge 'CHAL-1' was resolved on 2025-06-02",
    )
    assert case.challenges["CHAL-1"].stage == 2


# --- refused: stages ------------------------------------------------------------------------


def test_escalation_to_the_current_stage_is_refused() -> None:
    case = aaron_at_stage_1()
    assert refusal(case, _escalate(date(2025, 5, 16), 1)) == (
        "to_stage",
        "the challenge is already at stage 1",
    )


def test_escalation_back_to_the_informal_stage_is_refused_at_the_boundary() -> None:
    line = _line(
        "ChallengeEscalated",
        challenge_id="CHAL-1",
        to_stage=0,
        escalated_by={"name": "Priya Shah", "role": "IRO"},
        reason="Informal again",
    )
    assert parse_refused(line) == ("to_stage", "Input should be greater than or equal to 1")


def test_escalation_to_a_stage_already_passed_is_refused() -> None:
    case = aaron_at_stage_1()
    case.record(_escalate(date(2025, 5, 21), 3), at(date(2025, 5, 21)), IRO_ACTOR)
    assert refusal(case, _escalate(date(2025, 5, 22), 2)) == (
        "to_stage",
        "the challenge is already at stage 3",
    )


def test_escalation_past_the_dcs_the_last_default_stage_is_refused() -> None:
    case = aaron_at_stage_1()
    assert refusal(case, _escalate(date(2025, 5, 16), 5)) == (
        "to_stage",
        "stage 5 is past the last stage of the protocol (4: Stage 4)",
    )
    assert case.challenges["CHAL-1"].stage == 1


def test_challenge_raised_at_a_stage_past_the_last_is_refused() -> None:
    case = aaron()
    assert refusal(case, _raise(stage=5)) == (
        "stage",
        "stage 5 is past the last stage of the protocol (4: Stage 4)",
    )
    assert case.challenges == {}


def test_negative_stage_is_refused_at_the_boundary() -> None:
    line = _line(
        "ChallengeRaised",
        challenge_id="CHAL-1",
        subject="decision",
        concern="Moved without review",
        raised_by={"name": "Priya Shah", "role": "IRO"},
        stage=-1,
    )
    assert parse_refused(line) == ("stage", "Input should be greater than or equal to 0")


TWO_STAGES = DisputeProtocol(
    stages=(
        Stage(name="Alert", responder="Team manager", working_days=10),
        Stage(name="Escalation", responder="Head of service", working_days=10),
    )
)


def test_council_with_two_stages_refuses_stage_2_and_accepts_stage_1() -> None:
    case = aaron_challenged()
    assert refusal(case, _escalate(date(2025, 5, 12), 2), protocol=TWO_STAGES) == (
        "to_stage",
        "stage 2 is past the last stage of the protocol (1: Escalation)",
    )
    assert refusal(case, _raise(challenge_id="CHAL-2", stage=2), protocol=TWO_STAGES) == (
        "stage",
        "stage 2 is past the last stage of the protocol (1: Escalation)",
    )
    case.record(_escalate(date(2025, 5, 12), 1), at(date(2025, 5, 12)), IRO_ACTOR, TWO_STAGES)
    assert case.challenges["CHAL-1"].stage == 1


def test_answer_to_a_stage_the_challenge_never_reached_is_refused() -> None:
    # Escalated from the informal stage straight to stage 2: stage 1 was never reached, nor
    # (yet) stage 3.
    case = aaron_challenged()
    case.record(_escalate(date(2025, 5, 12), 2), at(date(2025, 5, 12)), IRO_ACTOR)
    for stage in (1, 3):
        assert refusal(case, _respond(date(2025, 5, 16), stage=stage)) == (
            "stage",
            f"the challenge never reached stage {stage} (0, 2)",
        )
    assert case.challenges["CHAL-1"].last_step_on == date(2025, 5, 12)


def test_answer_to_the_informal_stage_of_a_challenge_raised_formally_is_refused() -> None:
    case = aaron()
    case.record(_raise(stage=2, by=IRO_MANAGER), at(RAISED), IRO_ACTOR)
    assert refusal(case, _respond(date(2025, 5, 8), stage=0)) == (
        "stage",
        "the challenge never reached stage 0 (2)",
    )


def test_answer_to_an_earlier_stage_dated_before_that_stage_began_is_refused() -> None:
    case = aaron_at_stage_1()  # escalated to stage 1 on 12 May
    case.record(_escalate(date(2025, 5, 21), 2), at(date(2025, 5, 21)), IRO_ACTOR)
    assert refusal(case, _respond(date(2025, 5, 9), stage=1)) == (
        "occurred_on",
        "2025-05-09 is before stage 1 began (2025-05-12)",
    )


# --- refused: dates -------------------------------------------------------------------------


def test_response_dated_before_the_challenge_is_refused() -> None:
    case = aaron_challenged()
    assert refusal(case, _respond(date(2025, 4, 16))) == (
        "occurred_on",
        "2025-04-16 is before stage 0 began (2025-04-17)",
    )


def test_response_dated_before_the_current_stage_began_is_refused() -> None:
    # Escalated on 12 May: an answer of 9 May is the informal stage's, not stage 1's (the
    # default); named as stage 1's it is refused too. As the informal stage's it is recorded.
    case = aaron_at_stage_1()
    assert refusal(case, _respond(date(2025, 5, 9))) == (
        "occurred_on",
        "2025-05-09 is before stage 1 began (2025-05-12)",
    )
    assert refusal(case, _respond(date(2025, 5, 9), stage=1)) == (
        "occurred_on",
        "2025-05-09 is before stage 1 began (2025-05-12)",
    )
    case.record(_respond(date(2025, 5, 9), stage=0), at(date(2025, 5, 13)), TM_ACTOR)
    assert case.challenges["CHAL-1"].stage == 1


def test_escalation_dated_before_the_last_step_is_refused() -> None:
    case = aaron_challenged()
    case.record(_respond(date(2025, 5, 8)), at(date(2025, 5, 8)), TM_ACTOR)
    assert refusal(case, _escalate(date(2025, 5, 7), 1)) == (
        "occurred_on",
        "2025-05-07 is before its last step (2025-05-08)",
    )


def test_resolution_dated_before_the_last_step_is_refused() -> None:
    case = aaron_at_stage_1()
    assert refusal(case, _resolve(date(2025, 5, 9))) == (
        "occurred_on",
        "2025-05-09 is before its last step (2025-05-12)",
    )
    assert case.challenges["CHAL-1"].resolved_on is None


def test_resolution_through_a_change_never_made_is_refused() -> None:
    case = aaron_at_stage_1()
    assert refusal(case, _resolve(date(2025, 5, 16), change="CH-NEVER")) == (
        "resolved_by_change",
        "no change 'CH-NEVER' in this case",
    )


def test_resolution_through_a_change_made_before_the_challenge_is_refused() -> None:
    # CH-LODGINGS is the change the IRO challenged, not one that resolved it.
    case = aaron_at_stage_1()
    assert refusal(case, _resolve(date(2025, 5, 16), change="CH-LODGINGS")) == (
        "resolved_by_change",
        "change 'CH-LODGINGS' of 2025-04-07 is before the challenge was raised on 2025-04-17",
    )


def test_resolution_at_a_review_never_held_is_refused() -> None:
    case = aaron_at_stage_1()
    assert refusal(case, _resolve(date(2025, 5, 16), review="REV-2")) == (
        "resolved_at_review",
        "no review 'REV-2' in this case",
    )


def test_resolution_at_a_review_held_before_the_challenge_is_refused() -> None:
    case = aaron_at_stage_1()
    assert refusal(case, _resolve(date(2025, 5, 16), review="REV-1")) == (
        "resolved_at_review",
        "review 'REV-1' of 2025-01-20 is before the challenge was raised on 2025-04-17",
    )


def test_resolution_through_a_change_made_after_it_is_refused() -> None:
    # Staying put restored on Friday 30 May; a resolution of Friday 23 May cannot have come
    # through it. On the day of the change it may (as in aaron_resolved).
    case = aaron_at_stage_1()
    case.record(_restore(date(2025, 5, 30)), at(date(2025, 5, 30)), SERVICE_MANAGER_ACTOR)
    assert refusal(case, _resolve(date(2025, 5, 23), change="CH-RESTORE")) == (
        "resolved_by_change",
        "change 'CH-RESTORE' of 2025-05-30 is after the resolution (2025-05-23)",
    )
    assert case.challenges["CHAL-1"].resolved_on is None
    case.record(_resolve(date(2025, 5, 30), change="CH-RESTORE"), NOW, SERVICE_MANAGER_ACTOR)
    assert case.challenges["CHAL-1"].resolved_on == date(2025, 5, 30)


def test_resolution_at_a_review_held_after_it_is_refused() -> None:
    case = aaron_challenged()
    review = p.ReviewHeld(
        occurred_on=date(2025, 5, 6),
        source="LCS/REV/REV-2",
        review_id="REV-2",
        chair=IRO,
        participation="PN1",
        child_seen_before=True,
    )
    case.record(review, at(date(2025, 5, 6)), IRO_ACTOR)
    assert refusal(case, _resolve(date(2025, 5, 2), review="REV-2")) == (
        "resolved_at_review",
        "review 'REV-2' of 2025-05-06 is after the resolution (2025-05-02)",
    )


# --- refused: outcomes ----------------------------------------------------------------------


def test_resolution_referred_to_cafcass_without_a_referral_is_refused() -> None:
    case = aaron_at_stage_1()
    assert refusal(case, _resolve(date(2025, 5, 16), "referred_to_cafcass", by=IRO)) == (
        "outcome",
        "no Cafcass referral is recorded for this challenge",
    )
    assert case.challenges["CHAL-1"].resolved_on is None


@pytest.mark.parametrize("who", [SW, TM, SERVICE_MANAGER], ids=["SW", "TM", "SERVICE_MANAGER"])
def test_withdrawal_by_anyone_but_the_iro_service_is_refused(who: p.Person) -> None:
    case = aaron_at_stage_1()
    assert refusal(case, _resolve(date(2025, 5, 16), "withdrawn", by=who)) == (
        "resolved_by.role",
        f"must be IRO or IRO_MANAGER, not {who.role}",
    )
    assert case.challenges["CHAL-1"].resolved_on is None


# --- refused: Cafcass -----------------------------------------------------------------------


def test_cafcass_referral_cannot_be_made_twice() -> None:
    case = aaron_challenged()
    case.record(_refer(date(2025, 4, 22)), at(date(2025, 4, 22)), IRO_ACTOR)
    assert refusal(case, _refer(date(2025, 5, 2))) == (
        "challenge_id",
        "the challenge was referred to Cafcass on 2025-04-22 and Cafcass's outcome is not yet "
        "recorded",
    )


def test_new_cafcass_referral_while_the_last_is_pending_is_refused_even_after_an_outcome() -> None:
    # First referral 22 April, outcome 2 May; second referral 6 May, still with Cafcass.
    case = aaron_challenged()
    case.record(_refer(date(2025, 4, 22)), at(date(2025, 4, 22)), IRO_ACTOR)
    case.record(_cafcass_outcome(date(2025, 5, 2)), at(date(2025, 5, 2)), IRO_ACTOR)
    case.record(_refer(date(2025, 5, 6)), at(date(2025, 5, 6)), IRO_ACTOR)
    assert refusal(case, _refer(date(2025, 5, 9))) == (
        "challenge_id",
        "the challenge was referred to Cafcass on 2025-05-06 and Cafcass's outcome is not yet "
        "recorded",
    )


def test_new_cafcass_referral_dated_before_cafcass_last_outcome_is_refused() -> None:
    case = aaron_challenged()
    case.record(_refer(date(2025, 4, 22)), at(date(2025, 4, 22)), IRO_ACTOR)
    case.record(_cafcass_outcome(date(2025, 5, 2)), at(date(2025, 5, 2)), IRO_ACTOR)
    assert refusal(case, _refer(date(2025, 5, 1))) == (
        "occurred_on",
        "2025-05-01 is before Cafcass's last outcome (2025-05-02)",
    )
    assert case.challenges["CHAL-1"].referred_on == date(2025, 4, 22)


def test_cafcass_referral_dated_before_the_challenge_is_refused() -> None:
    case = aaron_challenged()
    assert refusal(case, _refer(date(2025, 4, 16))) == (
        "occurred_on",
        "2025-04-16 is before the challenge (2025-04-17)",
    )


def test_cafcass_outcome_without_a_referral_is_refused() -> None:
    case = aaron_challenged()
    assert refusal(case, _cafcass_outcome(date(2025, 5, 2))) == (
        "challenge_id",
        "the challenge has not been referred to Cafcass",
    )


def test_cafcass_outcome_cannot_be_recorded_twice() -> None:
    case = aaron_challenged()
    case.record(_refer(date(2025, 4, 22)), at(date(2025, 4, 22)), IRO_ACTOR)
    case.record(_cafcass_outcome(date(2025, 5, 2)), at(date(2025, 5, 2)), IRO_ACTOR)
    assert refusal(case, _cafcass_outcome(date(2025, 5, 9), outcome="advice")) == (
        "challenge_id",
        "Cafcass's outcome was recorded on 2025-05-02",
    )


def test_cafcass_outcome_dated_before_the_referral_is_refused() -> None:
    case = aaron_challenged()
    case.record(_refer(date(2025, 4, 22)), at(date(2025, 4, 22)), IRO_ACTOR)
    assert refusal(case, _cafcass_outcome(date(2025, 4, 18))) == (
        "occurred_on",
        "2025-04-18 is before the referral (2025-04-22)",
    )


# --- refused: who may take each step --------------------------------------------------------

NOT_IRO: dict[str, Callable[[p.Person], p.Payload]] = {
    "raised_by": lambda who: _raise(challenge_id="CHAL-2", by=who),
    "escalated_by": lambda who: _escalate(date(2025, 5, 12), 1, by=who),
    "referred_by": lambda who: _refer(date(2025, 5, 12), by=who),
}


@pytest.mark.parametrize("field", list(NOT_IRO))
@pytest.mark.parametrize("who", [SW, TM, SERVICE_MANAGER], ids=["SW", "TM", "SERVICE_MANAGER"])
def test_only_an_iro_raises_escalates_or_refers_a_challenge(field: str, who: p.Person) -> None:
    case = aaron_challenged()
    assert refusal(case, NOT_IRO[field](who)) == (
        f"{field}.role",
        f"must be IRO or IRO_MANAGER, not {who.role}",
    )


@pytest.mark.parametrize("who", [IRO, IRO_MANAGER], ids=["IRO", "IRO_MANAGER"])
def test_response_from_the_iro_service_is_refused(who: p.Person) -> None:
    case = aaron_challenged()
    assert refusal(case, _respond(date(2025, 5, 8), who)) == (
        "responded_by.role",
        "a response comes from the council, not from the IRO service",
    )


# --- refused: changes from a challenge ------------------------------------------------------


def test_change_from_a_challenge_never_raised_is_refused() -> None:
    case = aaron_challenged()
    assert refusal(case, _restore(date(2025, 6, 2), from_challenge="CHAL-9")) == (
        "from_challenge",
        "no challenge 'CHAL-9' in this case",
    )
    assert "CH-RESTORE" not in case.changes


def test_change_dated_before_the_challenge_it_came_from_is_refused() -> None:
    case = aaron_challenged()
    assert refusal(case, _restore(date(2025, 4, 16))) == (
        "occurred_on",
        "2025-04-16 is before challenge 'CHAL-1' (2025-04-17)",
    )


def test_placement_end_dated_before_the_challenge_it_came_from_is_refused() -> None:
    case = aaron_challenged()
    ended = p.PlacementEnded(
        occurred_on=date(2025, 4, 14),
        source="LCS/PL/END-1",
        change_id="CH-END",
        reason="Moved to his grandmother's",
        decided_by=TM,
        authority=p.Authority(kind="none"),
        from_challenge="CHAL-1",
    )
    assert refusal(case, ended) == (
        "occurred_on",
        "2025-04-14 is before challenge 'CHAL-1' (2025-04-17)",
    )


# --- refused: corrections -------------------------------------------------------------------


def test_correction_cannot_move_a_response_before_its_challenge() -> None:
    case = aaron_challenged()
    seq = case.record(_respond(date(2025, 5, 8)), at(date(2025, 5, 8)), TM_ACTOR)

    assert refusal(case, _correction(seq, occurred_on="2025-04-10")) == (
        "occurred_on",
        "2025-04-10 is before stage 0 began (2025-04-17)",
    )
    fixed = case.record(_correction(seq, occurred_on="2025-05-07"), NOW, TM_ACTOR)
    assert fixed == seq + 1
    assert case.challenges["CHAL-1"].last_step_on == date(2025, 5, 7)


def test_correction_cannot_move_a_challenge_past_the_last_stage() -> None:
    case = aaron_challenged()
    assert refusal(case, _correction(9, stage=5)) == (
        "stage",
        "stage 5 is past the last stage of the protocol (4: Stage 4)",
    )


def test_correction_cannot_move_a_challenge_after_its_response() -> None:
    # Recorded, the projection drops the response: it now precedes its challenge.
    case = aaron_challenged()
    case.record(_respond(date(2025, 5, 8)), at(date(2025, 5, 8)), TM_ACTOR)
    version = case.version
    with pytest.raises(RecordingRefused) as refused_:
        case.record(_correction(9, occurred_on="2025-05-20"), NOW, IRO_ACTOR)
    assert refused_.value.field == "corrected"
    assert refused_.value.problem.startswith("event 10 (ChallengeResponded) would no longer hold")
    assert case.version == version


def test_correction_cannot_move_an_escalation_after_the_response_to_its_stage() -> None:
    # Recorded, the projection counts stage 1's answer of 16 May as the informal stage's.
    case = aaron_at_stage_1()  # escalated on 12 May (event 11)
    case.record(_respond(date(2025, 5, 16)), at(date(2025, 5, 16)), TM_ACTOR)
    version = case.version
    with pytest.raises(RecordingRefused) as refused_:
        case.record(_correction(11, occurred_on="2025-05-20"), NOW, IRO_ACTOR)
    assert refused_.value.field == "corrected"
    assert refused_.value.problem == (
        "event 12 (ChallengeResponded) would no longer hold: occurred_on: 2025-05-16 is before "
        "stage 1 began (2025-05-20)"
    )
    assert case.version == version


# --- through the application: a refused batch leaves no trace -------------------------------

ACTOR = p.Actor(actor_id="iro.pshah", role="IRO")
CHILD = "LK-71"


def line(kind: str, on: str, **fields: object) -> dict[str, object]:
    return {
        "type": kind,
        "council": COUNCIL,
        "child": CHILD,
        "occurred_on": on,
        "source": f"LCS/{kind}/{on}",
        **fields,
    }


RAISE_LINE = line(
    "ChallengeRaised",
    "2025-04-17",
    challenge_id="CHAL-1",
    subject="decision",
    concern="Staying put replaced without review",
    raised_by={"name": "Priya Shah", "role": "IRO"},
)
ANSWER_LINE = line(
    "ChallengeResponded",
    "2025-05-08",
    challenge_id="CHAL-1",
    responded_by={"name": "Grace Mensah", "role": "TM"},
    response="Decision stands",
)


def escalate_line(to_stage: int) -> dict[str, object]:
    return line(
        "ChallengeEscalated",
        "2025-05-12",
        challenge_id="CHAL-1",
        to_stage=to_stage,
        escalated_by={"name": "Priya Shah", "role": "IRO"},
        reason="No review held",
    )


@pytest.fixture
def recorded_entry(db: str) -> Iterator[str]:
    with opened(db, create_tables=True) as o:
        o.ledger.clock = lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)
        o.ledger.record(
            [parse_command(line("ChildBecameLookedAfter", "2019-09-02", legal_status="C2"))],
            ACTOR,
        )
    yield db


def test_batch_refused_at_an_escalation_past_the_last_stage_records_nothing(
    recorded_entry: str,
) -> None:
    with opened(recorded_entry) as o:
        o.ledger.clock = lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)
        o.ledger.case(COUNCIL, CHILD)  # now cached
        batch = [parse_command(x) for x in (RAISE_LINE, ANSWER_LINE, escalate_line(5))]
        with pytest.raises(BatchRefused) as excinfo:
            o.ledger.record(batch, ACTOR)
        assert excinfo.value.index == 2
        assert refused(excinfo) == (
            "to_stage",
            "stage 5 is past the last stage of the protocol (4: Stage 4)",
        )
        case = o.ledger.case(COUNCIL, CHILD)
        assert (case.version, case.challenges) == (2, {})

        # The same challenge id is free, and the next event takes the next number.
        again = o.ledger.record([parse_command(RAISE_LINE)], ACTOR)
        assert again[0].seq == 3
        o.catch_up()
        rows = o.views.case_rows(o.ledger.case(COUNCIL, CHILD).id)
        assert [r["event_type"] for r in rows] == [
            "CaseOpened",
            "ChildBecameLookedAfter",
            "ChallengeRaised",
        ]


def test_application_takes_the_councils_stages_from_the_settings(
    recorded_entry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stages = [
        {"name": "Alert", "responder": "Team manager", "working_days": 10},
        {"name": "Escalation", "responder": "Head of service", "working_days": 10},
    ]
    monkeypatch.setenv("CARELEDGER_CHALLENGE_STAGES", json.dumps(stages))
    with opened(recorded_entry) as o:
        o.ledger.clock = lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)
        batch = [parse_command(x) for x in (RAISE_LINE, ANSWER_LINE, escalate_line(2))]
        with pytest.raises(BatchRefused) as excinfo:
            o.ledger.record(batch, ACTOR)
        assert refused(excinfo) == (
            "to_stage",
            "stage 2 is past the last stage of the protocol (1: Escalation)",
        )
        assert o.ledger.case(COUNCIL, CHILD).version == 2
        batch = [parse_command(x) for x in (RAISE_LINE, ANSWER_LINE, escalate_line(1))]
        assert [r.seq for r in o.ledger.record(batch, ACTOR)] == [3, 4, 5]


BAD_STAGES = {
    "not json": "CARELEDGER_CHALLENGE_STAGES: cannot read the stages "
    "(expected JSON): Expecting value: line 1 column 1 (char 0)",
    "[]": "CARELEDGER_CHALLENGE_STAGES: Tuple should have at least 2 items after validation, "
    "not 0",
}


@pytest.mark.parametrize("setting", list(BAD_STAGES), ids=["not_json", "no_stages"])
def test_bad_challenge_setting_stops_only_recording_a_challenge(
    recorded_entry: str, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv("CARELEDGER_CHALLENGE_STAGES", setting)
    with opened(recorded_entry) as o:  # opening the ledger reads no challenge setting
        o.ledger.clock = lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)
        allocated = line("IROAllocated", "2025-04-01", iro_id="IRO-117", iro_name="Priya Shah")
        assert [r.seq for r in o.ledger.record([parse_command(allocated)], ACTOR)] == [3]

        with pytest.raises(LedgerError) as excinfo:
            o.ledger.record([parse_command(RAISE_LINE)], ACTOR)
        assert not isinstance(excinfo.value, RecordingRefused)
        assert str(excinfo.value) == f"challenge settings: {BAD_STAGES[setting]}"
        case = o.ledger.case(COUNCIL, CHILD)
        assert (case.version, case.challenges) == (3, {})
