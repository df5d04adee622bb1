"""What the ledger refuses to record, and how it says so.

The aggregate refuses what cannot be recorded truthfully (a decision about a proposal that
was never made, a date in the future or before the child became looked after); the input
boundary refuses malformed events. Every refusal names the field and the problem. Whether
what happened was lawful is not judged here: that is the projections' job.

The histories are invented, after NAIRO's published case histories.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from careledger.ledger.application import BatchRefused, CareLedger
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ChildCase
from careledger.ledger.domain.commands import Command, parse_command
from careledger.ledger.domain.identity import case_id
from careledger.ledger.domain.plan import effective
from careledger.ledger.errors import CaseNotFound, RecordingRefused
from careledger.ledger.store.location import store_for

COUNCIL = "E10000099"
LINDA = "C0733"  # 15, s.20, residential; a move 100 miles away proposed at a review

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
TODAY = date(2025, 6, 2)

SW_ACTOR = p.Actor(actor_id="sw.hbrooks", role="SW")
TM_ACTOR = p.Actor(actor_id="tm.gmensah", role="TM")
IRO_ACTOR = p.Actor(actor_id="iro.pshah", role="IRO")

IRO = p.Person(name="Priya Shah", role="IRO")
SW = p.Person(name="Hannah Brooks", role="SW")
TM = p.Person(name="Grace Mensah", role="TM")

ENTERED_CARE = date(2024, 4, 8)


# --- a realistic case history ---------------------------------------------------------------


def _entry(on: date = ENTERED_CARE) -> p.ChildBecameLookedAfter:
    return p.ChildBecameLookedAfter(
        occurred_on=on, source="LCS/EP/70031", legal_status="V2", placement="K2"
    )


def _proposal(proposal_id: str, section: str, on: date, content: str) -> p.ChangeProposed:
    return p.ChangeProposed(
        occurred_on=on,
        source=f"LCS/NOTE/{proposal_id}",
        proposal_id=proposal_id,
        section=section,
        content=content,
        significant=True,
        proposed_by=SW,
        child_consulted=False,
    )


def _review(review_id: str, on: date, *decisions: p.Decision) -> p.ReviewHeld:
    return p.ReviewHeld(
        occurred_on=on,
        source=f"LCS/REV/{review_id}",
        review_id=review_id,
        chair=IRO,
        attendees=["Linda", "Hannah Brooks", "residential key worker"],
        participation="PN1",
        child_seen_before=True,
        decisions=list(decisions),
    )


def _change(
    change_id: str, section: str, on: date, authority: p.Authority, content: str = "changed"
) -> p.CarePlanSectionChanged:
    return p.CarePlanSectionChanged(
        occurred_on=on,
        source=f"LCS/CP/{change_id}",
        change_id=change_id,
        section=section,
        content=content,
        significant=True,
        decided_by=TM,
        authority=authority,
        child_consulted=True,
    )


def _by_review(review_id: str, proposal_id: str) -> p.Authority:
    return p.Authority(kind="review_decision", review_id=review_id, proposal_id=proposal_id)


def _iro_agreed(proposal_id: str) -> p.Authority:
    return p.Authority(kind="iro_agreement", proposal_id=proposal_id)


def _correction(corrects_seq: int, on: date = TODAY, **values: Any) -> p.CorrectionRecorded:
    return p.CorrectionRecorded(
        occurred_on=on,
        source="LCS/NOTE/9001",
        corrects_seq=corrects_seq,
        reason="entered wrongly from the case note",
        corrected=values,
    )


def at(day: date, hour: int = 17) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def linda() -> ChildCase:
    """Linda's case to the second review, where the move was rejected and the PEP change
    approved. Sequence numbers: 2 entry, 3 IRO, 4 REV-1, 5 plan, 6 P-MOVE, 7 P-PEP, 8 REV-2."""
    case = ChildCase.open(COUNCIL, LINDA, _entry(), at(ENTERED_CARE), SW_ACTOR)
    case.record(
        p.IROAllocated(
            occurred_on=date(2024, 4, 10),
            source="LCS/ALLOC/301",
            iro_id="IRO-117",
            iro_name="Priya Shah",
        ),
        at(date(2024, 4, 10)),
        p.Actor(actor_id="irom.dwhite", role="IRO_MANAGER"),
    )
    case.record(_review("REV-1", date(2024, 5, 3)), at(date(2024, 5, 3)), IRO_ACTOR)
    case.record(
        p.CarePlanAgreed(
            occurred_on=date(2024, 5, 3),
            source="LCS/CP/3001",
            sections={
                "placement": "Residential home in Eastborough",
                "education": "Year 10 at Eastborough Academy; GCSEs in 2026",
                "health": "CAMHS sessions fortnightly",
            },
            decided_by=TM,
            review_id="REV-1",
        ),
        at(date(2024, 5, 6)),
        TM_ACTOR,
    )
    case.record(
        _proposal(
            "P-MOVE",
            "placement",
            date(2024, 7, 22),
            "Move to a residential placement in Northshire, 100 miles away",
        ),
        at(date(2024, 7, 22)),
        SW_ACTOR,
    )
    case.record(
        _proposal("P-PEP", "education", date(2024, 7, 23), "One-to-one maths tuition twice a week"),
        at(date(2024, 7, 23)),
        SW_ACTOR,
    )
    case.record(
        _review(
            "REV-2",
            date(2024, 8, 2),
            p.Reject(
                kind="reject",
                proposal_id="P-MOVE",
                reason="Not discussed with Linda; no risk assessment; ends her GCSE year",
            ),
            p.Approve(kind="approve", proposal_id="P-PEP"),
        ),
        at(date(2024, 8, 2)),
        IRO_ACTOR,
    )
    return case


def refused(excinfo: pytest.ExceptionInfo[RecordingRefused]) -> tuple[str, str]:
    return excinfo.value.field, excinfo.value.problem


# --- identity -------------------------------------------------------------------------------


def test_same_pair_always_maps_to_same_case_and_councils_do_not_collide() -> None:
    assert case_id(COUNCIL, LINDA) == case_id(COUNCIL, LINDA)
    assert case_id(" e10000099 ", " C0733 ") == case_id(COUNCIL, LINDA)
    assert ChildCase.create_id(COUNCIL, LINDA) == case_id(COUNCIL, LINDA)
    # Two councils may use the same child reference.
    assert case_id("E10000099", LINDA) != case_id("E10000098", LINDA)
    # The separator keeps council and child apart: "E1"+"0C1" is not "E10"+"C1".
    assert case_id("E1", "0C1") != case_id("E10", "C1")
    # A fixed namespace: a case's id never changes between releases (the saved fixtures in
    # tests/fixtures/events carry this id).
    assert case_id(COUNCIL, "C0417") == UUID("22c5ba17-481b-5d73-b92c-02184cbc19f7")


def test_case_opens_with_the_child_looked_after_from_the_entry_date() -> None:
    case = linda()
    assert case.id == case_id(COUNCIL, LINDA)
    assert (case.council, case.child_ref) == (COUNCIL, LINDA)
    assert case.looked_after_since == ENTERED_CARE
    assert case.version == 8


# --- dates ----------------------------------------------------------------------------------


def test_change_dated_before_child_became_looked_after_is_refused() -> None:
    case = linda()
    early = _proposal("P-OLD", "placement", date(2024, 3, 29), "Stay with aunt")
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(early, NOW, SW_ACTOR)
    assert refused(excinfo) == (
        "occurred_on",
        "2024-03-29 is before the child became looked after on 2024-04-08",
    )
    assert case.version == 8


def test_date_in_the_future_is_refused() -> None:
    case = linda()
    tomorrow = _proposal("P-NEXT", "health", TODAY + timedelta(days=1), "Dental check")
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(tomorrow, NOW, SW_ACTOR)
    assert refused(excinfo) == ("occurred_on", "2025-06-03 is in the future (today is 2025-06-02)")


def test_case_cannot_open_with_a_future_entry_to_care() -> None:
    with pytest.raises(RecordingRefused) as excinfo:
        ChildCase.open(COUNCIL, "C0900", _entry(date(2025, 6, 9)), NOW, SW_ACTOR)
    assert refused(excinfo) == ("occurred_on", "2025-06-09 is in the future (today is 2025-06-02)")


def test_today_is_the_date_in_england_not_in_utc() -> None:
    # 23:30 UTC on 30 June is 00:30 on 1 July in British Summer Time.
    late_evening = datetime(2025, 6, 30, 23, 30, tzinfo=UTC)
    case = linda()
    seq = case.record(
        _proposal("P-DAWN", "health", date(2025, 7, 1), "Out-of-hours GP visit"),
        late_evening,
        SW_ACTOR,
    )
    assert seq == 9


def test_event_on_the_day_of_entry_to_care_is_accepted() -> None:
    case = linda()
    seq = case.record(
        _proposal("P-DAY1", "health", ENTERED_CARE, "Initial health assessment"), NOW, SW_ACTOR
    )
    assert seq == 9


# --- periods of care ------------------------------------------------------------------------

ROY = "C0561"  # 16, s.20; sent home on a Friday, looked after again after a threatened JR


def _ceased(on: date) -> p.ChildCeasedToBeLookedAfter:
    return p.ChildCeasedToBeLookedAfter(
        occurred_on=on,
        source="LCS/EP/89004",
        reason="E4A",
        approved_by=p.Person(name="Martin Hale", role="NOMINATED_OFFICER"),
    )


def roy() -> ChildCase:
    entry = p.ChildBecameLookedAfter(
        occurred_on=date(2024, 6, 3), source="LCS/EP/87110", legal_status="V2", placement="K2"
    )
    case = ChildCase.open(COUNCIL, ROY, entry, at(date(2024, 6, 3)), SW_ACTOR)
    case.record(_ceased(date(2025, 3, 7)), at(date(2025, 3, 10)), SW_ACTOR)
    return case


def test_child_can_become_looked_after_again_after_ceasing() -> None:
    case = roy()
    again = p.ChildBecameLookedAfter(
        occurred_on=date(2025, 4, 14), source="LCS/EP/89310", legal_status="V2", placement="U6"
    )
    assert case.record(again, at(date(2025, 4, 14)), SW_ACTOR) == 4
    assert case.looked_after
    assert case.looked_after_since == date(2024, 6, 3)  # the first entry still bounds dates


def test_child_cannot_cease_to_be_looked_after_twice() -> None:
    case = roy()
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_ceased(date(2025, 3, 10)), NOW, SW_ACTOR)
    assert refused(excinfo) == ("type", "the child is not looked after now")


def test_child_already_looked_after_cannot_become_looked_after_again() -> None:
    case = linda()
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_entry(date(2024, 9, 1)), NOW, SW_ACTOR)
    assert refused(excinfo) == ("type", "the child is already looked after (since 2024-04-08)")


# --- proposals and reviews ------------------------------------------------------------------


def test_review_cannot_approve_a_proposal_that_was_never_made() -> None:
    case = linda()
    review = _review(
        "REV-3",
        date(2025, 1, 31),
        p.Approve(kind="approve", proposal_id="P-PEP"),
        p.Approve(kind="approve", proposal_id="P-NEVER"),
    )
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(review, NOW, IRO_ACTOR)
    assert refused(excinfo) == (
        "decisions[1].proposal_id",
        "no proposed change 'P-NEVER' in this case",
    )
    assert "REV-3" not in case.reviews


def test_review_cannot_reject_a_proposal_that_was_never_made() -> None:
    case = linda()
    review = _review(
        "REV-3",
        date(2025, 1, 31),
        p.Reject(kind="reject", proposal_id="P-NEVER", reason="no plan for school"),
    )
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(review, NOW, IRO_ACTOR)
    assert refused(excinfo) == (
        "decisions[0].proposal_id",
        "no proposed change 'P-NEVER' in this case",
    )


def test_review_cannot_ratify_a_change_that_was_never_made() -> None:
    case = linda()
    review = _review("REV-3", date(2025, 1, 31), p.Ratify(kind="ratify", change_id="CH-NEVER"))
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(review, NOW, IRO_ACTOR)
    assert refused(excinfo) == ("decisions[0].change_id", "no change 'CH-NEVER' in this case")


def test_review_can_ratify_a_change_the_iro_agreed_between_reviews() -> None:
    # Regression: when ChildCase.changes was a set, _check_known crashed here with a TypeError,
    # so no review could ratify a change (docs/rules.md §3: an IRO agreement is flagged "until the
    # next review ratifies it").
    case = linda()
    case.record(
        _proposal("P-CAMHS", "health", date(2024, 9, 2), "Trauma-focused therapy at CAMHS"),
        at(date(2024, 9, 2)),
        SW_ACTOR,
    )
    case.record(
        p.IROAgreedChange(
            occurred_on=date(2024, 9, 3),
            source="LCS/IRO/77",
            proposal_id="P-CAMHS",
            iro=IRO,
            reason="Therapy slot offered this month",
            review_brought_forward=True,
        ),
        at(date(2024, 9, 3)),
        IRO_ACTOR,
    )
    case.record(
        _change("CH-CAMHS", "health", date(2024, 9, 4), _iro_agreed("P-CAMHS")),
        at(date(2024, 9, 4)),
        TM_ACTOR,
    )
    seq = case.record(
        _review("REV-3", date(2024, 9, 20), p.Ratify(kind="ratify", change_id="CH-CAMHS")),
        at(date(2024, 9, 20)),
        IRO_ACTOR,
    )
    assert seq == 12
    assert "REV-3" in case.reviews


def test_review_id_cannot_be_used_twice() -> None:
    case = linda()
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_review("REV-2", date(2025, 1, 31)), NOW, IRO_ACTOR)
    assert refused(excinfo) == ("review_id", "'REV-2' is already used in this case")


def test_recommendation_id_cannot_be_used_twice_in_a_case_or_in_one_review() -> None:
    case = linda()

    def recommend(rec_id: str) -> p.Recommend:
        return p.Recommend(
            kind="recommend",
            recommendation_id=rec_id,
            text="Risk assessment before any move",
            owner=SW,
            due_on=date(2025, 2, 28),
        )

    case.record(_review("REV-3", date(2025, 1, 31), recommend("REC-1")), NOW, IRO_ACTOR)

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_review("REV-4", date(2025, 2, 14), recommend("REC-1")), NOW, IRO_ACTOR)
    assert refused(excinfo) == (
        "decisions[0].recommendation_id",
        "'REC-1' is already used in this case",
    )

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(
            _review("REV-4", date(2025, 2, 14), recommend("REC-2"), recommend("REC-2")),
            NOW,
            IRO_ACTOR,
        )
    assert refused(excinfo) == (
        "decisions[1].recommendation_id",
        "'REC-2' is already used in this case",
    )
    assert set(case.recommendations) == {"REC-1"}


def test_proposal_id_cannot_be_used_twice() -> None:
    case = linda()
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(
            _proposal("P-MOVE", "placement", date(2025, 1, 6), "Move to Southshire"),
            NOW,
            SW_ACTOR,
        )
    assert refused(excinfo) == ("proposal_id", "'P-MOVE' is already used in this case")


def test_plan_cannot_be_agreed_at_a_review_that_was_never_held() -> None:
    case = linda()
    plan = p.CarePlanAgreed(
        occurred_on=date(2025, 1, 31),
        source="LCS/CP/3050",
        sections={"permanence": "Return home to mother"},
        decided_by=TM,
        review_id="REV-7",
    )
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(plan, NOW, TM_ACTOR)
    assert refused(excinfo) == ("review_id", "no review 'REV-7' in this case")


def test_challenge_id_cannot_be_used_twice() -> None:
    case = linda()
    challenge = p.ChallengeRaised(
        occurred_on=date(2024, 8, 5),
        source="LCS/IRO/80",
        challenge_id="CHAL-1",
        subject="care_planning",
        about="placement",
        concern="Move proposed without a risk assessment or Linda's views",
        raised_by=IRO,
    )
    case.record(challenge, NOW, IRO_ACTOR)
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(challenge, NOW, IRO_ACTOR)
    assert refused(excinfo) == ("challenge_id", "'CHAL-1' is already used in this case")


# --- the authority a change rests on --------------------------------------------------------


def test_change_approved_at_a_review_is_recorded() -> None:
    case = linda()
    seq = case.record(
        _change("CH-PEP", "education", date(2024, 8, 5), _by_review("REV-2", "P-PEP")),
        NOW,
        TM_ACTOR,
    )
    assert seq == 9
    assert "CH-PEP" in case.changes


def test_change_citing_a_review_that_did_not_approve_it_is_refused() -> None:
    case = linda()  # REV-2 rejected P-MOVE
    move = _change("CH-MOVE", "placement", date(2024, 8, 12), _by_review("REV-2", "P-MOVE"))
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(move, NOW, TM_ACTOR)
    assert refused(excinfo) == (
        "authority.proposal_id",
        "proposal 'P-MOVE' was not approved at review 'REV-2'",
    )
    assert "CH-MOVE" not in case.changes


def test_change_citing_a_review_that_was_never_held_is_refused() -> None:
    case = linda()
    move = _change("CH-MOVE", "placement", date(2024, 8, 12), _by_review("REV-9", "P-MOVE"))
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(move, NOW, TM_ACTOR)
    assert refused(excinfo) == ("authority.review_id", "no review 'REV-9' in this case")


def test_change_citing_a_proposal_that_was_never_made_is_refused() -> None:
    case = linda()
    move = _change("CH-MOVE", "placement", date(2024, 8, 12), _by_review("REV-2", "P-NEVER"))
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(move, NOW, TM_ACTOR)
    assert refused(excinfo) == (
        "authority.proposal_id",
        "no proposed change 'P-NEVER' in this case",
    )


def test_change_citing_an_approval_for_another_section_is_refused() -> None:
    case = linda()  # P-PEP (education) was approved at REV-2
    move = _change("CH-MOVE", "placement", date(2024, 8, 12), _by_review("REV-2", "P-PEP"))
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(move, NOW, TM_ACTOR)
    assert refused(excinfo) == ("section", "proposal 'P-PEP' was for section 'education'")


def test_placement_end_citing_an_approval_for_another_section_names_its_authority() -> None:
    # A PlacementEnded event has no "section" field: what is wrong is the cited proposal.
    case = linda()
    ended = p.PlacementEnded(
        occurred_on=date(2024, 8, 12),
        source="LCS/PL/501",
        change_id="CH-END",
        reason="Placement ended to move her north",
        decided_by=TM,
        authority=_by_review("REV-2", "P-PEP"),
    )
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(ended, NOW, TM_ACTOR)
    assert excinfo.value.field in p.PlacementEnded.model_fields or excinfo.value.field.startswith(
        "authority."
    )
    assert "was for section 'education'" in excinfo.value.problem


def test_change_id_cannot_be_used_twice_even_by_a_placement_end() -> None:
    case = linda()
    case.record(
        _change("CH-PEP", "education", date(2024, 8, 5), _by_review("REV-2", "P-PEP")),
        NOW,
        TM_ACTOR,
    )
    ended = p.PlacementEnded(
        occurred_on=date(2024, 9, 1),
        source="LCS/PL/502",
        change_id="CH-PEP",
        reason="Home closing",
        decided_by=TM,
        authority=p.Authority(kind="not_reasonably_practicable", reason="Ofsted closure notice"),
    )
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(ended, NOW, TM_ACTOR)
    assert refused(excinfo) == ("change_id", "'CH-PEP' is already used in this case")


def test_iro_agreement_requires_the_iro_to_have_agreed() -> None:
    case = linda()
    move = _change("CH-MOVE", "placement", date(2024, 8, 12), _iro_agreed("P-MOVE"))
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(move, NOW, TM_ACTOR)
    assert refused(excinfo) == ("authority.proposal_id", "the IRO has not agreed proposal 'P-MOVE'")


def test_iro_cannot_agree_a_proposal_that_was_never_made() -> None:
    case = linda()
    agreed = p.IROAgreedChange(
        occurred_on=date(2024, 8, 6),
        source="LCS/IRO/78",
        proposal_id="P-NEVER",
        iro=IRO,
        reason="Urgent",
    )
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(agreed, NOW, IRO_ACTOR)
    assert refused(excinfo) == ("proposal_id", "no proposed change 'P-NEVER' in this case")


def test_change_on_the_iro_agreement_is_recorded_once_the_iro_agreed() -> None:
    case = linda()
    case.record(
        p.IROAgreedChange(
            occurred_on=date(2024, 8, 6),
            source="LCS/IRO/79",
            proposal_id="P-MOVE",
            iro=IRO,
            reason="Risk assessment done; Linda now wants the move",
            review_brought_forward=True,
        ),
        NOW,
        IRO_ACTOR,
    )
    seq = case.record(
        _change("CH-MOVE", "placement", date(2024, 8, 12), _iro_agreed("P-MOVE")), NOW, TM_ACTOR
    )
    assert seq == 10


def test_change_on_no_authority_is_recorded_for_the_projections_to_flag() -> None:
    # Recording a change made without review approval is true to what happened; reg 32(2)
    # is judged by the projections, not refused by the ledger.
    case = linda()
    seq = case.record(
        _change("CH-MOVE", "placement", date(2024, 8, 12), p.Authority(kind="none")),
        NOW,
        TM_ACTOR,
    )
    assert seq == 9


# --- corrections ----------------------------------------------------------------------------


def test_correction_is_recorded_beside_the_original() -> None:
    case = linda()
    seq = case.record(_correction(3, iro_name="Priya Shah-Khan"), NOW, TM_ACTOR)
    assert seq == 9
    original = case.entries[3].payload
    assert isinstance(original, p.IROAllocated)
    assert original.iro_name == "Priya Shah"
    fixed, by = effective(case.entries.values())[3]
    assert isinstance(fixed, p.IROAllocated)
    assert (fixed.iro_name, by) == ("Priya Shah-Khan", (9,))


def test_correction_cannot_change_identifiers() -> None:
    case = linda()
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(6, proposal_id="P-MOVE-NORTH"), NOW, SW_ACTOR)
    assert refused(excinfo) == (
        "corrected.proposal_id",
        "identifiers cannot be corrected; record a new event",
    )
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(8, review_id="REV-2A"), NOW, IRO_ACTOR)
    assert refused(excinfo) == (
        "corrected.review_id",
        "identifiers cannot be corrected; record a new event",
    )
    assert case.version == 8


def test_correction_with_invalid_value_is_refused() -> None:
    case = linda()
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(6, section="housing"), NOW, SW_ACTOR)
    field, problem = refused(excinfo)
    assert field == "corrected.section"
    assert "Input should be 'permanence'" in problem

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(2, legal_status="Z9"), NOW, SW_ACTOR)
    field, problem = refused(excinfo)
    assert field == "corrected.legal_status"
    assert "Input should be 'C1'" in problem
    assert case.version == 8


def test_correction_of_a_field_the_event_does_not_have_is_refused() -> None:
    case = linda()
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(3, iro_nmae="Priya Shah-Khan"), NOW, TM_ACTOR)
    assert refused(excinfo) == ("corrected.iro_nmae", "is not a field of the corrected event")


def test_correction_of_an_event_not_in_the_case_is_refused() -> None:
    case = linda()
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(99, source="LCS/X"), NOW, TM_ACTOR)
    assert refused(excinfo) == ("corrects_seq", "event 99 is not a correctable event of this case")


def test_correction_cannot_itself_be_corrected() -> None:
    case = linda()
    case.record(_correction(3, iro_name="Priya Shah-Khan"), NOW, TM_ACTOR)
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(9, reason="typo"), NOW, TM_ACTOR)
    assert refused(excinfo) == ("corrects_seq", "event 9 is not a correctable event of this case")


def test_correction_cannot_move_an_event_before_entry_to_care() -> None:
    case = linda()
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(6, occurred_on="2024-01-15"), NOW, SW_ACTOR)
    assert refused(excinfo) == (
        "occurred_on",
        "2024-01-15 is before the child became looked after on 2024-04-08",
    )


def test_correction_cannot_move_an_event_into_the_future() -> None:
    # A correction is checked as the corrected event would be: the same proposal recorded
    # directly with that date is refused (test_date_in_the_future_is_refused).
    case = linda()
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(6, occurred_on="2025-12-01"), NOW, SW_ACTOR)
    field, problem = refused(excinfo)
    assert field in ("occurred_on", "corrected.occurred_on")
    assert problem == "2025-12-01 is in the future (today is 2025-06-02)"


def test_correction_cannot_rest_a_change_on_a_review_that_rejected_it() -> None:
    # The authority guard runs on the corrected change: citing REV-2, which rejected P-MOVE, is
    # refused as it is when recorded directly
    # (test_change_citing_a_review_that_did_not_approve_it_is_refused).
    case = linda()
    case.record(
        _change("CH-MOVE", "placement", date(2024, 8, 12), p.Authority(kind="none")),
        NOW,
        TM_ACTOR,
    )
    rejected = {"kind": "review_decision", "review_id": "REV-2", "proposal_id": "P-MOVE"}
    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(9, authority=rejected), NOW, TM_ACTOR)
    assert excinfo.value.field.startswith(("authority", "corrected.authority"))
    assert "was not approved at review 'REV-2'" in excinfo.value.problem


# --- the input boundary ---------------------------------------------------------------------


def _line(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "council": COUNCIL,
        "child": LINDA,
        "occurred_on": "2024-07-22",
        "source": "LCS/NOTE/P-MOVE",
        **fields,
    }


PROPOSAL = {
    "proposal_id": "P-MOVE",
    "section": "placement",
    "content": "Move to a residential placement in Northshire",
    "significant": True,
    "proposed_by": {"name": "Hannah Brooks", "role": "SW"},
    "child_consulted": False,
}


def parse_refused(data: Any) -> tuple[str, str]:
    with pytest.raises(RecordingRefused) as excinfo:
        parse_command(data)
    return refused(excinfo)


def test_well_formed_line_becomes_a_command() -> None:
    command = parse_command(_line("ChangeProposed", **PROPOSAL))
    assert command == Command(
        COUNCIL,
        LINDA,
        _proposal(
            "P-MOVE",
            "placement",
            date(2024, 7, 22),
            "Move to a residential placement in Northshire",
        ),
    )


def test_council_and_child_are_trimmed() -> None:
    command = parse_command(
        {**_line("ChangeProposed", **PROPOSAL), "council": " E10000099 ", "child": " C0733\t"}
    )
    assert (command.council, command.child_ref) == (COUNCIL, LINDA)


def test_unknown_field_is_refused() -> None:
    line = _line("ChangeProposed", **PROPOSAL, outcome="agreed")
    assert parse_refused(line) == ("outcome", "is not a field of this event type")


def test_recorded_at_cannot_be_supplied_by_the_caller() -> None:
    line = _line("ChangeProposed", **PROPOSAL, recorded_at="2024-07-22T09:00:00Z")
    assert parse_refused(line) == ("recorded_at", "is not a field of this event type")
    line = _line("ChangeProposed", **PROPOSAL, recorded_by={"actor_id": "x", "role": "SW"})
    assert parse_refused(line) == ("recorded_by", "is not a field of this event type")


def test_unknown_section_is_refused_naming_the_field() -> None:
    field, problem = parse_refused(_line("ChangeProposed", **{**PROPOSAL, "section": "housing"}))
    assert field == "section"
    assert problem.startswith("Input should be 'permanence', 'health'")

    plan = _line(
        "CarePlanAgreed",
        sections={"placement": "Stay", "housing": "Flat"},
        decided_by={"name": "Grace Mensah", "role": "TM"},
    )
    field, problem = parse_refused(plan)
    assert field.startswith("sections.housing")
    assert problem.startswith("Input should be 'permanence'")


def test_missing_field_is_refused() -> None:
    line = _line("ChangeProposed", **PROPOSAL)
    del line["source"]
    assert parse_refused(line) == ("source", "is required")


def test_nested_field_is_named_by_its_path() -> None:
    line = _line("ChangeProposed", **{**PROPOSAL, "proposed_by": {"name": "A", "role": "CEO"}})
    field, problem = parse_refused(line)
    assert field == "proposed_by.role"
    assert problem.startswith("Input should be 'SW'")


def test_badly_written_date_is_refused_naming_the_field() -> None:
    field, problem = parse_refused(
        {**_line("ChangeProposed", **PROPOSAL), "occurred_on": "22/07/2024"}
    )
    assert field == "occurred_on"
    assert "valid date" in problem


def test_address_of_the_case_is_required() -> None:
    line = _line("ChangeProposed", **PROPOSAL)
    del line["child"]
    assert parse_refused(line) == ("child", "is required and must be a non-empty string")
    assert parse_refused({**line, "child": "  ", "council": COUNCIL}) == (
        "child",
        "is required and must be a non-empty string",
    )
    assert parse_refused(["not", "an", "object"]) == ("(line)", "expected a JSON object")


def test_unknown_event_type_is_refused_listing_the_known_ones() -> None:
    field, problem = parse_refused(_line("PlacementMoved"))
    assert field == "type"
    assert problem.startswith("unknown event type 'PlacementMoved' (known: CafcassOutcomeRecorded,")
    # A case is opened by the ledger, never by a caller.
    field, problem = parse_refused(_line("CaseOpened", council_name="x"))
    assert (field, problem.split(" (")[0]) == ("type", "unknown event type 'CaseOpened'")


def test_authority_without_what_its_kind_needs_is_refused() -> None:
    line = _line(
        "CarePlanSectionChanged",
        change_id="CH-1",
        section="placement",
        content="Northshire",
        significant=True,
        decided_by={"name": "Grace Mensah", "role": "TM"},
        authority={"kind": "review_decision", "review_id": "REV-2"},
    )
    field, problem = parse_refused(line)
    assert field == "authority"
    assert problem.endswith("authority of kind 'review_decision' needs proposal_id")


def test_case_opened_cannot_be_corrected() -> None:
    line = _line(
        "CorrectionRecorded",
        corrects_seq=1,
        reason="wrong council",
        corrected={"council": "E10000098"},
    )
    assert parse_refused(line) == ("corrects_seq", "Input should be greater than or equal to 2")


def test_ceasing_for_a_reason_that_is_not_an_end_of_care_is_refused_naming_reason() -> None:
    # X1 means the next episode continues the same period of care.
    line = _line("ChildCeasedToBeLookedAfter", reason="X1")
    field, problem = parse_refused(line)
    assert problem == "'X1' is not an SSDA903 reason for ceasing to be looked after"
    assert field == "reason"


# --- the ledger: one atomic save per batch, its own clock -----------------------------------


CLOCK_NOW = datetime(2025, 6, 2, 14, 30, 15, tzinfo=UTC)


@pytest.fixture
def ledger_file(tmp_path: Path) -> str:
    """A real SQLite file (not conftest's `db`, which also runs on PostgreSQL)."""
    return str(tmp_path / "l.db")


@pytest.fixture
def ledger(ledger_file: str) -> Iterator[CareLedger]:
    app = CareLedger(store_for(ledger_file, create_tables=True), clock=lambda: CLOCK_NOW)
    yield app
    app.close()


def _commands(*lines: dict[str, Any]) -> list[Command]:
    return [parse_command(line) for line in lines]


ENTRY_LINE = {
    "type": "ChildBecameLookedAfter",
    "council": COUNCIL,
    "child": LINDA,
    "occurred_on": "2024-04-08",
    "source": "LCS/EP/70031",
    "legal_status": "V2",
    "placement": "K2",
}
IRO_LINE = {
    "type": "IROAllocated",
    "council": COUNCIL,
    "child": LINDA,
    "occurred_on": "2024-04-10",
    "source": "LCS/ALLOC/301",
    "iro_id": "IRO-117",
    "iro_name": "Priya Shah",
}
PROPOSAL_LINE = _line("ChangeProposed", **PROPOSAL)
BAD_REVIEW_LINE = {
    "type": "ReviewHeld",
    "council": COUNCIL,
    "child": LINDA,
    "occurred_on": "2024-08-02",
    "source": "LCS/REV/REV-2",
    "review_id": "REV-2",
    "chair": {"name": "Priya Shah", "role": "IRO"},
    "participation": "PN1",
    "decisions": [{"kind": "approve", "proposal_id": "P-NEVER"}],
}


def test_batch_whose_third_command_is_refused_records_nothing(
    ledger_file: str, ledger: CareLedger
) -> None:
    batch = _commands(ENTRY_LINE, IRO_LINE, BAD_REVIEW_LINE)
    with pytest.raises(BatchRefused) as excinfo:
        ledger.record(batch, SW_ACTOR)
    assert excinfo.value.index == 2
    assert refused(excinfo) == (
        "decisions[0].proposal_id",
        "no proposed change 'P-NEVER' in this case",
    )
    with pytest.raises(CaseNotFound):
        ledger.case(COUNCIL, LINDA)
    # Nor is anything in the file, as a fresh ledger reading it finds.
    again = CareLedger(store_for(ledger_file), clock=lambda: CLOCK_NOW)
    try:
        with pytest.raises(CaseNotFound):
            again.case(COUNCIL, LINDA)
    finally:
        again.close()


def test_batch_refused_on_an_existing_case_leaves_its_version_unchanged(
    ledger: CareLedger,
) -> None:
    ledger.record(_commands(ENTRY_LINE, IRO_LINE), SW_ACTOR)
    assert ledger.case(COUNCIL, LINDA).version == 3

    with pytest.raises(BatchRefused) as excinfo:
        ledger.record(_commands(PROPOSAL_LINE, IRO_LINE, BAD_REVIEW_LINE), SW_ACTOR)
    assert excinfo.value.index == 2
    case = ledger.case(COUNCIL, LINDA)
    assert case.version == 3
    assert case.proposals == {}

    recorded = ledger.record(_commands(PROPOSAL_LINE), SW_ACTOR)
    assert [r.seq for r in recorded] == [4]


def test_batch_is_recorded_with_sequence_numbers_in_order(ledger: CareLedger) -> None:
    recorded = ledger.record(_commands(ENTRY_LINE, IRO_LINE, PROPOSAL_LINE), SW_ACTOR)
    assert [(r.seq, r.event_type) for r in recorded] == [
        (2, "ChildBecameLookedAfter"),
        (3, "IROAllocated"),
        (4, "ChangeProposed"),
    ]
    assert {r.case_id for r in recorded} == {case_id(COUNCIL, LINDA)}
    assert ledger.case(COUNCIL, LINDA).version == 4


def test_recorded_at_is_set_from_the_ledgers_clock(ledger: CareLedger) -> None:
    ledger.record(_commands(ENTRY_LINE, IRO_LINE, PROPOSAL_LINE), SW_ACTOR)
    case = ledger.case(COUNCIL, LINDA)
    assert [entry.recorded_at for entry in case.entries.values()] == [CLOCK_NOW] * 3
    stored = list(ledger.repository.event_store.get(case.id))
    assert [event.timestamp for event in stored] == [CLOCK_NOW] * 4  # with CaseOpened
    assert {event.recorded_by for event in stored} == {SW_ACTOR}


def test_the_ledgers_clock_decides_what_is_in_the_future(ledger_file: str) -> None:
    day_before_entry = datetime(2024, 4, 7, 12, tzinfo=UTC)
    yesterday = CareLedger(
        store_for(ledger_file, create_tables=True), clock=lambda: day_before_entry
    )
    try:
        with pytest.raises(BatchRefused) as excinfo:
            yesterday.record(_commands(ENTRY_LINE), SW_ACTOR)
    finally:
        yesterday.close()
    assert excinfo.value.index == 0
    assert refused(excinfo) == ("occurred_on", "2024-04-08 is in the future (today is 2024-04-07)")


def test_first_event_for_an_unknown_child_must_be_entry_to_care(ledger: CareLedger) -> None:
    with pytest.raises(BatchRefused) as excinfo:
        ledger.record(_commands(IRO_LINE), SW_ACTOR)
    assert excinfo.value.index == 0
    field, problem = refused(excinfo)
    assert field == "child"
    assert problem.startswith(f"no case for child '{LINDA}' of council '{COUNCIL}'")


def test_council_or_child_with_a_separator_or_control_character_is_refused() -> None:
    # The case id hashes council and child with a control character between them: neither may
    # contain one, or two councils' children could be made to collide.
    line = {**_line("ChangeProposed", **PROPOSAL), "council": "E10000099\x1fX"}
    assert parse_refused(line) == ("council", "must not contain ':' or control characters")
    line = {**_line("ChangeProposed", **PROPOSAL), "child": "E1:C0733"}
    assert parse_refused(line) == ("child", "must not contain ':' or control characters")
