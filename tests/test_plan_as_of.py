"""What the care plan said: in force on a past date, and as the ledger knew it on a past day.

Sally (an invented case after NAIRO's case 6), 17, on a care order: staying put with her
foster carers was agreed at her first review; senior managers later changed her pathway
plan to supported lodgings without a review; a backdated education change and corrections
follow. Records are never edited: corrections apply from the day they are recorded.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ChildCase
from careledger.ledger.domain.plan import effective, plan_as_of
from careledger.ledger.domain.vocabulary import Section

COUNCIL = "E10000099"
SALLY = "C0388"

SW_ACTOR = p.Actor(actor_id="sw.lpatel", role="SW")
TM_ACTOR = p.Actor(actor_id="tm.gmensah", role="TM")
IRO_ACTOR = p.Actor(actor_id="iro.pshah", role="IRO")

IRO = p.Person(name="Priya Shah", role="IRO")
TM = p.Person(name="Grace Mensah", role="TM")
SENIOR = p.Person(name="Alan Reid", role="SENIOR_MANAGER")

STAYING_PUT = "Staying put with the Hendersons after her 18th birthday"
LODGINGS = "Supported lodgings from her 18th birthday"
LODGINGS_CORRECTED = "Supported lodgings in Westfield from her 18th birthday"
SIXTH_FORM = "Year 12 at Northtown Sixth Form College"


def at(y: int, m: int, d: int, hh: int = 17, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def _change(change_id: str, section: str, on: date, content: str, **kw: Any) -> p.Payload:
    return p.CarePlanSectionChanged(
        occurred_on=on,
        source=f"LCS/CP/{change_id}",
        change_id=change_id,
        section=section,
        content=content,
        significant=kw.pop("significant", True),
        decided_by=kw.pop("decided_by", TM),
        authority=kw.pop("authority", p.Authority(kind="none")),
        **kw,
    )


def _correction(corrects_seq: int, on: date, **values: Any) -> p.CorrectionRecorded:
    return p.CorrectionRecorded(
        occurred_on=on,
        source="LCS/NOTE/9120",
        corrects_seq=corrects_seq,
        reason="entered wrongly from the manager's email",
        corrected=values,
    )


def sally() -> ChildCase:
    """Sequence numbers: 2 entry, 3 REV-1, 4 plan agreed, 5 pathway changed without review."""
    entry = p.ChildBecameLookedAfter(
        occurred_on=date(2023, 9, 4), source="LCS/EP/61200", legal_status="C2", placement="U4"
    )
    case = ChildCase.open(COUNCIL, SALLY, entry, at(2023, 9, 4), SW_ACTOR)
    case.record(
        p.ReviewHeld(
            occurred_on=date(2023, 9, 29),
            source="LCS/REV/61311",
            review_id="REV-1",
            chair=IRO,
            participation="PN1",
            child_seen_before=True,
        ),
        at(2023, 9, 29),
        IRO_ACTOR,
    )
    case.record(
        p.CarePlanAgreed(
            occurred_on=date(2023, 9, 29),
            source="LCS/CP/61312",
            sections={
                "placement": "Long-term foster care with the Hendersons",
                "pathway": STAYING_PUT,
                "education": SIXTH_FORM,
            },
            decided_by=TM,
            review_id="REV-1",
        ),
        at(2023, 10, 2),
        TM_ACTOR,
    )
    case.record(
        _change("CH-LODGE", "pathway", date(2024, 11, 18), LODGINGS, decided_by=SENIOR),
        at(2024, 11, 19),
        TM_ACTOR,
    )
    return case


def test_plan_in_force_on_a_past_date() -> None:
    case = sally()
    entries = case.entries.values()

    before = plan_as_of(entries, on=date(2024, 6, 1))
    assert before[Section.PATHWAY].content == STAYING_PUT
    assert before[Section.PATHWAY].since == date(2023, 9, 29)
    assert before[Section.PATHWAY].authority == "review REV-1"
    assert before[Section.PATHWAY].decided_by == TM
    assert before[Section.PATHWAY].seq == 4
    assert set(before) == {Section.EDUCATION, Section.PLACEMENT, Section.PATHWAY}

    assert plan_as_of(entries, on=date(2024, 11, 17))[Section.PATHWAY].content == STAYING_PUT
    on_the_day = plan_as_of(entries, on=date(2024, 11, 18))[Section.PATHWAY]
    assert (on_the_day.content, on_the_day.seq, on_the_day.authority) == (LODGINGS, 5, "none")
    assert on_the_day.decided_by == SENIOR

    assert plan_as_of(entries) == case.current_plan()
    assert case.current_plan()[Section.PATHWAY].content == LODGINGS


def test_no_plan_before_one_was_agreed() -> None:
    case = sally()
    assert plan_as_of(case.entries.values(), on=date(2023, 9, 28)) == {}


def test_backdated_record_takes_its_place_in_the_history() -> None:
    case = sally()
    # Recorded in order: first the December change, then (on 9 December) the September one.
    case.record(
        _change("CH-EDU-DEC", "education", date(2024, 12, 2), "Level 3 health and social care"),
        at(2024, 12, 3),
        SW_ACTOR,
    )  # seq 6
    case.record(
        _change("CH-EDU-SEP", "education", date(2024, 9, 2), "Level 2 at Westfield College"),
        at(2024, 12, 9),
        SW_ACTOR,
    )  # seq 7, backdated
    entries = case.entries.values()

    now = plan_as_of(entries)[Section.EDUCATION]
    assert (now.content, now.seq, now.since) == (
        "Level 3 health and social care",
        6,
        date(2024, 12, 2),
    )

    autumn = plan_as_of(entries, on=date(2024, 10, 1))[Section.EDUCATION]
    assert (autumn.content, autumn.seq) == ("Level 2 at Westfield College", 7)

    # As the ledger knew it before the backdated record, the autumn plan was still the
    # sixth form college.
    known_then = plan_as_of(entries, on=date(2024, 10, 1), recorded_on=at(2024, 12, 8))
    assert known_then[Section.EDUCATION].content == SIXTH_FORM
    assert known_then[Section.EDUCATION].seq == 4


def test_on_the_same_date_the_later_record_wins() -> None:
    case = sally()
    case.record(
        _change("CH-H1", "health", date(2025, 1, 6), "GP registration in Westfield"),
        at(2025, 1, 6, 10),
        SW_ACTOR,
    )
    case.record(
        _change("CH-H2", "health", date(2025, 1, 6), "GP registration in Northtown"),
        at(2025, 1, 6, 15),
        SW_ACTOR,
    )
    health = plan_as_of(case.entries.values())[Section.HEALTH]
    assert (health.content, health.seq) == ("GP registration in Northtown", 7)


def test_as_recorded_before_a_correction_shows_the_original_and_after_it_the_correction() -> None:
    case = sally()
    case.record(
        _correction(5, date(2025, 1, 10), content=LODGINGS_CORRECTED),
        at(2025, 1, 10, 11, 30),
        TM_ACTOR,
    )  # seq 6
    entries = case.entries.values()

    before = plan_as_of(entries, recorded_on=at(2025, 1, 10, 11, 29))[Section.PATHWAY]
    assert (before.content, before.corrected_by) == (LODGINGS, ())

    after = plan_as_of(entries, recorded_on=at(2025, 1, 10, 11, 30))[Section.PATHWAY]
    assert (after.content, after.corrected_by) == (LODGINGS_CORRECTED, (6,))
    # The correction changes what the change said, not which change it was.
    assert (after.seq, after.since, after.decided_by) == (5, date(2024, 11, 18), SENIOR)

    assert plan_as_of(entries)[Section.PATHWAY] == after
    # The record itself is untouched.
    original = case.entries[5].payload
    assert isinstance(original, p.CarePlanSectionChanged)
    assert original.content == LODGINGS


def test_corrected_by_lists_every_correction_in_order() -> None:
    case = sally()
    case.record(
        _correction(5, date(2025, 1, 10), content=LODGINGS_CORRECTED), at(2025, 1, 10), TM_ACTOR
    )
    case.record(
        _correction(
            4, date(2025, 1, 12), sections={"pathway": STAYING_PUT, "education": SIXTH_FORM}
        ),
        at(2025, 1, 12),
        TM_ACTOR,
    )  # seq 7: the plan agreed at REV-1 did not cover placement
    case.record(
        _correction(5, date(2025, 1, 20), decided_by={"name": "Alan Reid", "role": "DCS"}),
        at(2025, 1, 20),
        TM_ACTOR,
    )  # seq 8
    entries = case.entries.values()

    pathway = plan_as_of(entries)[Section.PATHWAY]
    assert pathway.corrected_by == (6, 8)
    assert pathway.content == LODGINGS_CORRECTED
    assert pathway.decided_by == p.Person(name="Alan Reid", role="DCS")

    past = plan_as_of(entries, on=date(2024, 6, 1))
    assert Section.PLACEMENT not in past
    assert past[Section.EDUCATION].corrected_by == (7,)

    known_on_15th = plan_as_of(entries, recorded_on=at(2025, 1, 15))[Section.PATHWAY]
    assert known_on_15th.corrected_by == (6,)
    assert known_on_15th.decided_by == SENIOR


def test_corrected_date_moves_a_change_in_the_history_from_when_it_was_recorded() -> None:
    case = sally()
    case.record(
        _correction(5, date(2025, 1, 10), occurred_on="2024-11-25"), at(2025, 1, 10), TM_ACTOR
    )  # seq 6
    entries = case.entries.values()

    assert plan_as_of(entries, on=date(2024, 11, 20))[Section.PATHWAY].content == STAYING_PUT
    known_before = plan_as_of(entries, on=date(2024, 11, 20), recorded_on=at(2025, 1, 9))
    assert known_before[Section.PATHWAY].content == LODGINGS
    assert plan_as_of(entries)[Section.PATHWAY].since == date(2024, 11, 25)


def test_effective_gives_each_record_with_its_corrections() -> None:
    case = sally()
    case.record(
        _correction(5, date(2025, 1, 10), content=LODGINGS_CORRECTED), at(2025, 1, 10), TM_ACTOR
    )
    case.record(
        _change("CH-ID", "identity", date(2025, 1, 14), "Life story work with her IRO"),
        at(2025, 1, 14),
        SW_ACTOR,
    )  # seq 7
    entries = case.entries.values()

    now = effective(entries)
    assert sorted(now) == [2, 3, 4, 5, 6, 7]
    fixed, by = now[5]
    assert isinstance(fixed, p.CarePlanSectionChanged)
    assert (fixed.content, fixed.change_id, by) == (LODGINGS_CORRECTED, "CH-LODGE", (6,))
    assert isinstance(now[6][0], p.CorrectionRecorded)
    assert now[2] == (case.entries[2].payload, ())

    then = effective(entries, recorded_on=at(2025, 1, 9))
    assert sorted(then) == [2, 3, 4, 5]
    assert then[5] == (case.entries[5].payload, ())


def test_placement_ended_shows_in_the_placement_section() -> None:
    case = sally()
    case.record(
        p.PlacementEnded(
            occurred_on=date(2025, 2, 14),
            source="LCS/PL/6620",
            change_id="CH-END",
            reason="Carers' approval lapsed",
            decided_by=TM,
            authority=p.Authority(kind="none"),
        ),
        at(2025, 2, 14),
        SW_ACTOR,
    )
    placement = plan_as_of(case.entries.values())[Section.PLACEMENT]
    assert (placement.content, placement.seq, placement.authority) == (
        "Placement ended: Carers' approval lapsed",
        6,
        "none",
    )
    past = plan_as_of(case.entries.values(), on=date(2025, 2, 13))[Section.PLACEMENT]
    assert past.content == "Long-term foster care with the Hendersons"


def test_authority_of_each_section_is_named() -> None:
    case = sally()
    case.record(
        p.ChangeProposed(
            occurred_on=date(2025, 1, 6),
            source="LCS/NOTE/6501",
            proposal_id="P-PUT",
            section="pathway",
            content=STAYING_PUT,
            significant=True,
            proposed_by=IRO,
            child_consulted=True,
        ),
        at(2025, 1, 6),
        SW_ACTOR,
    )
    case.record(
        p.ReviewHeld(
            occurred_on=date(2025, 1, 17),
            source="LCS/REV/6510",
            review_id="REV-4",
            chair=IRO,
            participation="PN1",
            decisions=[p.Approve(kind="approve", proposal_id="P-PUT")],
        ),
        at(2025, 1, 17),
        IRO_ACTOR,
    )
    case.record(
        _change(
            "CH-PUT",
            "pathway",
            date(2025, 1, 20),
            STAYING_PUT,
            authority=p.Authority(kind="review_decision", review_id="REV-4", proposal_id="P-PUT"),
        ),
        at(2025, 1, 20),
        TM_ACTOR,
    )
    pathway = plan_as_of(case.entries.values())[Section.PATHWAY]
    assert (pathway.content, pathway.authority) == (STAYING_PUT, "review REV-4 (proposal P-PUT)")
    assert plan_as_of(case.entries.values(), on=date(2025, 1, 19))[Section.PATHWAY].content == (
        LODGINGS
    )
