"""Review recommendations and what may be recorded of them afterwards.

A review's recommendations are carried out by the council (reg 37) or overtaken by a later
decision; the ledger refuses what cannot be true of them: closing one that was never made,
closing one twice, or closing it before the review that made it. Whether one was closed in
time is not judged here: that is the follow-up projection's job.

Also the review's own record of why the IRO did not speak with the child beforehand (reg 36).

Linda's case (tests/test_case_rules.py, after NAIRO's case 4) goes on:
at her third review the IRO recommends a CAMHS assessment and return-home interviews after
each missing episode; a review brought forward in January replaces the interviews with a
multi-agency missing-from-care plan.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ChildCase
from careledger.ledger.errors import RecordingRefused
from tests.test_case_rules import (
    IRO,
    IRO_ACTOR,
    NOW,
    SW,
    SW_ACTOR,
    TM,
    TM_ACTOR,
    _correction,
    _line,
    _review,
    at,
    linda,
    parse_refused,
    refused,
)

REV_3 = date(2024, 11, 1)  # within six months of her second review (reg 33(2))
REV_4 = date(2025, 1, 24)  # brought forward after three nights missing in a fortnight
CAMHS_DUE = date(2024, 12, 13)  # six weeks after the review


def _recommend(rec_id: str, text: str, owner: p.Person, due_on: date) -> p.Recommend:
    return p.Recommend(
        kind="recommend", recommendation_id=rec_id, text=text, owner=owner, due_on=due_on
    )


def _completed(rec_id: str, on: date) -> p.RecommendationCompleted:
    return p.RecommendationCompleted(
        occurred_on=on,
        source="LCS/NOTE/5120",
        recommendation_id=rec_id,
        completed_by=SW,
        evidence="CAMHS accepted the referral; assessment booked for 9 January",
    )


def _overtaken(rec_id: str, on: date, review_id: str | None = "REV-4") -> p.RecommendationOvertaken:
    return p.RecommendationOvertaken(
        occurred_on=on,
        source="LCS/REV/REV-4",
        recommendation_id=rec_id,
        decided_by=TM,
        reason="Replaced by the multi-agency missing-from-care plan (REC-PLAN)",
        review_id=review_id,
    )


def linda_after_third_review() -> tuple[ChildCase, int]:
    """Linda's case with REV-3's two recommendations open; returns the case and REV-3's seq."""
    case = linda()
    seq = case.record(
        _review(
            "REV-3",
            REV_3,
            _recommend("REC-CAMHS", "Arrange CAMHS assessment", SW, CAMHS_DUE),
            _recommend(
                "REC-MISSING",
                "Return-home interview by the key worker after every missing episode",
                TM,
                CAMHS_DUE,
            ),
        ),
        at(REV_3),
        IRO_ACTOR,
    )
    return case, seq


def linda_after_fourth_review() -> ChildCase:
    case, _ = linda_after_third_review()
    case.record(
        _review(
            "REV-4",
            REV_4,
            _recommend(
                "REC-PLAN",
                "Multi-agency missing-from-care plan with the police",
                TM,
                date(2025, 2, 21),
            ),
        ),
        at(REV_4),
        IRO_ACTOR,
    )
    return case


Close = Callable[[str, date], p.Payload]


# --- completed ------------------------------------------------------------------------------


def test_camhs_assessment_arranged_before_it_was_due_is_recorded_as_completed() -> None:
    case, review_seq = linda_after_third_review()

    seq = case.record(_completed("REC-CAMHS", date(2024, 12, 6)), at(date(2024, 12, 6)), SW_ACTOR)

    assert seq == review_seq + 1
    assert case.recommendations["REC-CAMHS"].made_on == REV_3
    assert case.recommendations["REC-CAMHS"].closed_on == date(2024, 12, 6)
    assert case.recommendations["REC-MISSING"].closed_on is None


def test_recommendation_can_be_completed_on_the_day_of_its_review() -> None:
    case, _ = linda_after_third_review()
    case.record(_completed("REC-CAMHS", REV_3), at(REV_3, hour=18), SW_ACTOR)
    assert case.recommendations["REC-CAMHS"].closed_on == REV_3


def test_camhs_assessment_cannot_be_completed_a_second_time() -> None:
    case, _ = linda_after_third_review()
    case.record(_completed("REC-CAMHS", date(2024, 12, 6)), at(date(2024, 12, 6)), SW_ACTOR)

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_completed("REC-CAMHS", date(2024, 12, 9)), at(date(2024, 12, 9)), SW_ACTOR)

    assert refused(excinfo) == (
        "recommendation_id",
        "recommendation 'REC-CAMHS' was already completed or overtaken on 2024-12-06",
    )
    assert case.recommendations["REC-CAMHS"].closed_on == date(2024, 12, 6)


def test_completed_recommendation_cannot_later_be_overtaken() -> None:
    case = linda_after_fourth_review()
    case.record(_completed("REC-CAMHS", date(2024, 12, 6)), at(date(2024, 12, 6)), SW_ACTOR)

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_overtaken("REC-CAMHS", REV_4), at(REV_4), TM_ACTOR)

    assert refused(excinfo) == (
        "recommendation_id",
        "recommendation 'REC-CAMHS' was already completed or overtaken on 2024-12-06",
    )


# --- overtaken ------------------------------------------------------------------------------


def test_return_home_interviews_overtaken_by_the_plan_of_a_later_review() -> None:
    case = linda_after_fourth_review()

    case.record(_overtaken("REC-MISSING", REV_4), at(REV_4, hour=18), TM_ACTOR)

    assert case.recommendations["REC-MISSING"].closed_on == REV_4
    assert case.recommendations["REC-CAMHS"].closed_on is None
    assert case.recommendations["REC-PLAN"].closed_on is None


def test_recommendation_overtaken_between_reviews_need_not_cite_a_review() -> None:
    case, _ = linda_after_third_review()
    case.record(
        _overtaken("REC-MISSING", date(2024, 11, 20), review_id=None),
        at(date(2024, 11, 20)),
        TM_ACTOR,
    )
    assert case.recommendations["REC-MISSING"].closed_on == date(2024, 11, 20)


def test_overtaken_recommendation_cannot_then_be_completed() -> None:
    case = linda_after_fourth_review()
    case.record(_overtaken("REC-MISSING", REV_4), at(REV_4, hour=18), TM_ACTOR)

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_completed("REC-MISSING", date(2025, 2, 3)), at(date(2025, 2, 3)), SW_ACTOR)

    assert refused(excinfo) == (
        "recommendation_id",
        "recommendation 'REC-MISSING' was already completed or overtaken on 2025-01-24",
    )


def test_overtaking_cannot_cite_a_review_that_was_never_held() -> None:
    case, _ = linda_after_third_review()

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_overtaken("REC-MISSING", REV_4), at(REV_4), TM_ACTOR)

    assert refused(excinfo) == ("review_id", "no review 'REV-4' in this case")
    assert case.recommendations["REC-MISSING"].closed_on is None


# --- what every closing must refer to -------------------------------------------------------


@pytest.mark.parametrize("close", [_completed, _overtaken], ids=["completed", "overtaken"])
def test_recommendation_never_made_cannot_be_closed(close: Close) -> None:
    case = linda_after_fourth_review()

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(close("REC-NEVER", date(2025, 2, 3)), at(date(2025, 2, 3)), TM_ACTOR)

    assert refused(excinfo) == ("recommendation_id", "no recommendation 'REC-NEVER' in this case")
    assert "REC-NEVER" not in case.recommendations


@pytest.mark.parametrize("close", [_completed, _overtaken], ids=["completed", "overtaken"])
def test_recommendation_cannot_be_closed_before_the_review_that_made_it(close: Close) -> None:
    # REC-PLAN was made at REV-4 on 24 January; 20 January is the date of the strategy
    # meeting that led to the review being brought forward, entered by mistake.
    case = linda_after_fourth_review()

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(close("REC-PLAN", date(2025, 1, 20)), at(REV_4, hour=18), TM_ACTOR)

    assert refused(excinfo) == (
        "occurred_on",
        "2025-01-20 is before the recommendation was made on 2025-01-24",
    )
    assert case.recommendations["REC-PLAN"].closed_on is None


def test_correction_cannot_move_a_completion_before_the_review_that_made_it() -> None:
    case, _ = linda_after_third_review()
    seq = case.record(_completed("REC-CAMHS", date(2024, 12, 6)), at(date(2024, 12, 6)), SW_ACTOR)

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(seq, occurred_on="2024-10-30"), NOW, SW_ACTOR)

    assert refused(excinfo) == (
        "occurred_on",
        "2024-10-30 is before the recommendation was made on 2024-11-01",
    )


def test_correction_cannot_move_a_completion_to_another_recommendation() -> None:
    case, _ = linda_after_third_review()
    seq = case.record(_completed("REC-CAMHS", date(2024, 12, 6)), at(date(2024, 12, 6)), SW_ACTOR)

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(seq, recommendation_id="REC-MISSING"), NOW, SW_ACTOR)

    assert refused(excinfo) == (
        "corrected.recommendation_id",
        "identifiers cannot be corrected; record a new event",
    )


# --- the child not seen before the review (reg 36) ------------------------------------------


def _review_without_seeing_her(**fields: object) -> p.ReviewHeld:
    return p.ReviewHeld.model_validate(
        {
            "occurred_on": REV_3,
            "source": "LCS/REV/REV-3",
            "review_id": "REV-3",
            "chair": IRO,
            "attendees": ["Hannah Brooks", "residential key worker"],
            "participation": "PN5",
            "child_seen_before": False,
            **fields,
        }
    )


def test_review_records_why_the_iro_did_not_see_the_child_beforehand() -> None:
    case = linda()
    reason = "Linda refused to meet the IRO; she briefed her advocate instead"

    seq = case.record(
        _review_without_seeing_her(child_not_seen_reason=reason), at(REV_3), IRO_ACTOR
    )

    recorded = case.entries[seq].payload
    assert isinstance(recorded, p.ReviewHeld)
    assert (recorded.child_seen_before, recorded.child_not_seen_reason) == (False, reason)


def test_review_may_say_the_child_was_not_seen_without_saying_why() -> None:
    # The reason is optional: the projections, not the ledger, flag a child not seen.
    case = linda()
    case.record(_review_without_seeing_her(), at(REV_3), IRO_ACTOR)
    assert "REV-3" in case.reviews


@pytest.mark.parametrize("seen", [True, None], ids=["seen", "not-said"])
def test_reason_for_not_seeing_the_child_is_refused_unless_she_was_not_seen(
    seen: bool | None,
) -> None:
    line = _line(
        "ReviewHeld",
        occurred_on="2024-11-01",
        source="LCS/REV/REV-3",
        review_id="REV-3",
        chair={"name": "Priya Shah", "role": "IRO"},
        participation="PN1",
        child_not_seen_reason="She was on a school trip",
    )
    if seen is not None:
        line["child_seen_before"] = seen

    field, problem = parse_refused(line)

    assert field == "child_not_seen_reason"
    assert problem == "is given only when child_seen_before is false"


def test_correction_saying_the_child_was_seen_after_all_must_withdraw_the_reason() -> None:
    case = linda()
    seq = case.record(
        _review_without_seeing_her(child_not_seen_reason="Linda would not meet the IRO beforehand"),
        at(REV_3),
        IRO_ACTOR,
    )

    with pytest.raises(RecordingRefused) as excinfo:
        case.record(_correction(seq, child_seen_before=True), NOW, IRO_ACTOR)
    field, problem = refused(excinfo)
    assert field == "corrected.child_not_seen_reason"
    assert problem == "is given only when child_seen_before is false"

    fixed = case.record(
        _correction(seq, child_seen_before=True, child_not_seen_reason=None), NOW, IRO_ACTOR
    )
    assert fixed == seq + 1


def test_review_cannot_be_corrected_to_a_date_after_its_recommendation_was_completed() -> None:
    """The CAMHS referral was completed on 6 December; a correction moving the review that
    made it to 10 December would leave the completion before the recommendation existed."""
    case, review_seq = linda_after_third_review()
    case.record(_completed("REC-CAMHS", date(2024, 12, 6)), at(date(2024, 12, 6)), SW_ACTOR)
    version = case.version

    with pytest.raises(RecordingRefused) as refusal:
        case.record(_correction(review_seq, occurred_on="2024-12-10"), NOW, TM_ACTOR)

    assert refusal.value.field == "corrected"
    assert refusal.value.problem == (
        f"event {review_seq + 1} (RecommendationCompleted) would no longer hold: occurred_on: "
        "2024-12-06 is before the recommendation was made on 2024-12-10"
    )
    assert case.version == version
