"""The IRO's inbox, on both stores: each kind of change that reaches a child puts an entry
before the child's IRO (CPPCR 2010 reg 37, reg 13(2)(i), reg 14(2)(b)), and no other IRO; an
acknowledgement is an `IROInformed` event in the child's history and chronology, after which
the entry leaves the inbox.

The histories: Maya (E10000099:IN-0301) is looked after from January 2025 under an interim
care order, with Dana Whitlock (IRO-07) as her IRO; Leo (E10000099:IN-0302), of the same
council, has Sam Okoro (IRO-12)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from careledger.api import Opened
from careledger.ledger.application import BatchRefused
from careledger.ledger.errors import RecordingRefused
from careledger.projections.chronology_forms import render

COUNCIL = "E10000099"
MAYA, LEO = "IN-0301", "IN-0302"
DANA = {"name": "Dana Whitlock", "role": "IRO"}
AS_SIGNED_IN = {"name": "IRO-07", "role": "IRO"}  # Dana, by the name she signs in with
TM = {"name": "Priya Nand", "role": "TM"}
SW = {"name": "Omar Reece", "role": "SW"}
TODAY = date(2025, 6, 2)


def line(child: str, kind: str, on: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "council": COUNCIL, "child": child, "occurred_on": on,
            "source": f"LCS/{child}/{kind}/{on}", **fields}  # fmt: skip


def start(o: Opened) -> None:
    """Both children in care, each with their IRO and a first plan."""
    plan = {"placement": "Foster carers Mr and Mrs Hale", "education": "Year 4 at Hillside"}
    o.record(
        [
            line(MAYA, "ChildBecameLookedAfter", "2025-01-06", legal_status="C1", placement="U4"),
            line(MAYA, "IROAllocated", "2025-01-08", iro_id="IRO-07", iro_name="Dana Whitlock"),
            line(MAYA, "CarePlanAgreed", "2025-01-20", sections=plan, decided_by=TM),
            line(LEO, "ChildBecameLookedAfter", "2025-02-03", legal_status="V2", placement="U1"),
            line(LEO, "IROAllocated", "2025-02-04", iro_id="IRO-12", iro_name="Sam Okoro"),
        ],
        actor="lcs-feed",
        role="ADMIN",
    )


def change(child: str, change_id: str, section: str, significant: bool, **more: Any) -> Any:
    return line(child, "CarePlanSectionChanged", "2025-03-03", change_id=change_id,
                section=section, content=f"{section} now: see the note of 3 March",
                significant=significant, decided_by=TM, authority={"kind": "none"},
                **more)  # fmt: skip


def entries(o: Opened, iro: str = "IRO-07", on: date = TODAY) -> list[dict[str, Any]]:
    return [entry.to_json() for entry in o.inbox(iro, on)]


def test_a_significant_change_reaches_the_childs_iro_and_no_other(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-1", "education", True)], "lcs-feed", "ADMIN")
    [entry] = entries(o)
    assert entry["child"] == f"{COUNCIL}:{MAYA}"
    assert entry["event"] == 5
    assert entry["type"] == "CarePlanSectionChanged"
    # No review approved it and no reason was recorded why none could: reg 32(2).
    assert entry["informed_of"] == ["significant change", "change recorded without authority"]
    assert entry["flags"] == ["made without review approval"]
    assert entries(o, "IRO-12") == []


def test_a_change_to_another_iros_child_gives_no_entry(o: Opened) -> None:
    start(o)
    o.record([change(LEO, "CH-9", "placement", True)], "lcs-feed", "ADMIN")
    assert entries(o) == []
    [entry] = entries(o, "IRO-12")
    assert entry["child"] == f"{COUNCIL}:{LEO}"


def test_a_change_in_a_section_presumed_significant_reaches_the_iro(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-2", "placement", False)], "lcs-feed", "ADMIN")
    [entry] = entries(o)
    assert entry["informed_of"] == [
        "change in a section presumed significant",
        "change recorded without authority",
    ]
    assert entry["flags"] == ["significance questioned"]


def test_a_placement_move_and_a_new_legal_status_reach_the_iro(o: Opened) -> None:
    start(o)
    o.record(
        [
            line(MAYA, "PlacementChanged", "2025-03-10", placement="U5", same_carers=False),
            line(MAYA, "LegalStatusChanged", "2025-03-12", legal_status="C2"),
        ],
        "lcs-feed",
        "ADMIN",
    )
    found = entries(o)
    assert [(e["type"], e["informed_of"]) for e in found] == [
        ("LegalStatusChanged", ["change in a section presumed significant"]),
        ("PlacementChanged", ["change in a section presumed significant"]),
    ]


def test_a_minor_change_outside_the_presumed_sections_gives_no_entry(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-3", "health", False)], "lcs-feed", "ADMIN")
    assert entries(o) == []


def test_a_placement_ended_reaches_the_iro(o: Opened) -> None:
    start(o)
    ended = line(MAYA, "PlacementEnded", "2025-03-14", change_id="CH-4",
                 reason="carers gave notice", decided_by=TM,
                 authority={"kind": "none"})  # fmt: skip
    o.record([ended], "lcs-feed", "ADMIN")
    [entry] = entries(o)
    assert entry["informed_of"] == ["placement ended", "change recorded without authority"]
    assert entry["flags"] == ["placement ended without review"]


def test_a_plan_agreed_again_outside_a_review_is_a_change_without_authority(o: Opened) -> None:
    start(o)
    again = {"placement": "Residential home at Ashdown", "education": "Year 4 at Hillside"}
    o.record([line(MAYA, "CarePlanAgreed", "2025-04-01", sections=again, decided_by=TM)],
             "lcs-feed", "ADMIN")  # fmt: skip
    [entry] = entries(o)
    assert entry["type"] == "CarePlanAgreed"
    assert entry["informed_of"] == ["change recorded without authority"]


def test_a_challenge_response_reaches_the_iro(o: Opened) -> None:
    start(o)
    o.record(
        [
            line(MAYA, "ChallengeRaised", "2025-04-02", challenge_id="C-1", subject="care_planning",
                 concern="No review before the school move", raised_by=DANA),
            line(MAYA, "ChallengeResponded", "2025-04-09", challenge_id="C-1", responded_by=TM,
                 response="A review is booked for 23 April"),
        ],
        "lcs-feed",
        "ADMIN",
    )  # fmt: skip
    [entry] = entries(o)
    assert entry["type"] == "ChallengeResponded"
    assert entry["informed_of"] == ["challenge response"]


def _review_with_recommendation(o: Opened) -> None:
    recommend = {"kind": "recommend", "recommendation_id": "REC-1", "owner": SW,
                 "text": "Refer to CAMHS", "due_on": "2025-03-01"}  # fmt: skip
    o.record([line(MAYA, "ReviewHeld", "2025-02-03", review_id="R-1", chair=DANA,
                   attendees=["child", "social worker"], participation="PN1",
                   child_seen_before=True, decisions=[recommend])],
             "lcs-feed", "ADMIN")  # fmt: skip


def test_a_recommendation_enters_the_inbox_when_its_due_date_has_passed(o: Opened) -> None:
    start(o)
    _review_with_recommendation(o)
    assert entries(o, on=date(2025, 3, 1)) == []  # due today: not yet overdue
    [entry] = entries(o, on=date(2025, 3, 2))
    assert entry["key"] == f"{COUNCIL}:{MAYA}/5/REC-1"
    assert entry["informed_of"] == ["recommendation overdue"]
    assert entry["due_on"] == "2025-03-01"
    done = line(MAYA, "RecommendationCompleted", "2025-03-05", recommendation_id="REC-1",
                completed_by=SW, evidence="CAMHS letter of 4 March")  # fmt: skip
    o.record([done], "lcs-feed", "ADMIN")
    assert entries(o, on=date(2025, 3, 6)) == []


def test_a_change_recorded_before_the_iros_allocation_is_not_in_their_inbox(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-5", "placement", True)], "lcs-feed", "ADMIN")
    handover = line(MAYA, "IROAllocated", "2025-03-20", iro_id="IRO-21", iro_name="Amy Lau",
                    reason="Dana Whitlock left the service")  # fmt: skip
    o.record([handover], "lcs-feed", "ADMIN")
    assert entries(o, "IRO-21") == []
    assert entries(o) == []  # Maya is no longer Dana's child


def test_an_acknowledged_entry_leaves_the_inbox_and_is_in_the_history(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-1", "education", True)], "lcs-feed", "ADMIN")
    [entry] = o.inbox("IRO-07", TODAY)
    o.acknowledge(entry.key, entry.seen, actor="IRO-07", iro="IRO-07", on=TODAY)
    assert entries(o) == []
    last = o.history(f"{COUNCIL}:{MAYA}")[-1]
    assert last["type"] == "IROInformed"
    assert last["recorded_by"] == "IRO-07 (IRO)"
    assert last["occurred_on"] == TODAY.isoformat()
    assert last["what"] == (
        "IRO IRO-07 acknowledged being informed of event #5 "
        "(significant change; change recorded without authority)"
    )


def test_an_entry_is_acknowledged_once(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-1", "education", True)], "lcs-feed", "ADMIN")
    [entry] = o.inbox("IRO-07", TODAY)
    o.acknowledge(entry.key, entry.seen, actor="IRO-07", iro="IRO-07", on=TODAY)
    with pytest.raises(RecordingRefused) as refused:
        o.acknowledge(entry.key, entry.seen, actor="IRO-07", iro="IRO-07", on=TODAY)
    assert refused.value.field == "entry"
    # The ledger refuses it too, whoever records it.
    again = line(MAYA, "IROInformed", TODAY.isoformat(), event_seq=5,
                 informed_of=["significant change"], iro=AS_SIGNED_IN)  # fmt: skip
    with pytest.raises(BatchRefused) as twice:
        o.record([again], "IRO-07", "IRO")
    assert twice.value.field == "event_seq"
    assert "already acknowledged event 5" in twice.value.problem


def test_an_inbox_read_before_a_later_change_is_stale(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-1", "education", True)], "lcs-feed", "ADMIN")
    [entry] = o.inbox("IRO-07", TODAY)
    o.record([change(MAYA, "CH-2", "placement", True)], "lcs-feed", "ADMIN")
    with pytest.raises(RecordingRefused) as refused:
        o.acknowledge(entry.key, entry.seen, actor="IRO-07", iro="IRO-07", on=TODAY)
    assert refused.value.field == "seen"
    assert len(entries(o)) == 2


def test_acknowledging_one_entry_leaves_the_others_of_the_child_current(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-1", "education", True),
              change(MAYA, "CH-2", "placement", True)], "lcs-feed", "ADMIN")  # fmt: skip
    first, second = o.inbox("IRO-07", TODAY)
    o.acknowledge(first.key, first.seen, actor="IRO-07", iro="IRO-07", on=TODAY)
    o.acknowledge(second.key, second.seen, actor="IRO-07", iro="IRO-07", on=TODAY)
    assert entries(o) == []


def test_another_iro_cannot_acknowledge_an_entry_that_is_not_theirs(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-1", "education", True)], "lcs-feed", "ADMIN")
    [entry] = o.inbox("IRO-07", TODAY)
    with pytest.raises(RecordingRefused) as refused:
        o.acknowledge(entry.key, entry.seen, actor="IRO-12", iro="IRO-12", on=TODAY)
    assert refused.value.field == "entry"
    assert len(entries(o)) == 1


def test_an_overdue_recommendation_is_acknowledged_by_its_review_and_id(o: Opened) -> None:
    start(o)
    _review_with_recommendation(o)
    [entry] = o.inbox("IRO-07", date(2025, 3, 2))
    o.acknowledge(entry.key, entry.seen, actor="IRO-07", iro="IRO-07", on=date(2025, 3, 2))
    assert entries(o, on=date(2025, 3, 2)) == []
    assert "recommendation REC-1" in o.history(f"{COUNCIL}:{MAYA}")[-1]["what"]


def test_only_an_iro_acknowledges_and_only_an_event_of_the_case(o: Opened) -> None:
    start(o)
    as_tm = line(MAYA, "IROInformed", "2025-03-04", event_seq=3,
                 informed_of=["significant change"], iro=TM)  # fmt: skip
    with pytest.raises(BatchRefused) as refused:
        o.record([as_tm], "lcs-feed", "ADMIN")
    assert refused.value.field == "iro.role"
    unknown = {**as_tm, "iro": DANA, "event_seq": 40}
    with pytest.raises(BatchRefused) as missing:
        o.record([unknown], "lcs-feed", "ADMIN")
    assert missing.value.field == "event_seq"


def test_the_acknowledgement_is_in_every_form_of_the_chronology_which_still_verifies(
    o: Opened,
) -> None:
    start(o)
    o.record([change(MAYA, "CH-1", "education", True)], "lcs-feed", "ADMIN")
    [entry] = o.inbox("IRO-07", TODAY)
    o.acknowledge(entry.key, entry.seen, actor="IRO-07", iro="IRO-07", on=TODAY)
    made = o.chronology(f"{COUNCIL}:{MAYA}", produced_by="IRO-07")
    [row] = [row for row in made.rows if row.kind == "IROInformed"]
    assert row.decided_by == "IRO-07 (IRO)"
    assert row.what.startswith("IRO IRO-07 acknowledged being informed of event #5")
    for form in ("md", "csv", "html", "json"):
        text = render(made, form).decode()
        assert "acknowledged being informed of event #5" in text, form
        assert o.verify_export(render(made, form)).matches, form
    assert o.verify_export(render(made, "pdf")).matches
    assert json.loads(render(made, "json"))["rows"][-1]["kind"] == "IROInformed"


def test_a_change_corrected_to_significant_reaches_the_iro_as_corrected(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-6", "health", False)], "lcs-feed", "ADMIN")
    assert entries(o) == []
    correction = line(MAYA, "CorrectionRecorded", "2025-03-04", corrects_seq=5,
                      reason="the move to CAMHS care was a significant change",
                      corrected={"significant": True})  # fmt: skip
    o.record([correction], "lcs-feed", "ADMIN")
    [entry] = entries(o)
    assert entry["event"] == 5
    assert entry["informed_of"] == ["significant change", "change recorded without authority"]


def test_nobody_acknowledges_in_an_iros_name(o: Opened) -> None:
    start(o)
    o.record([change(MAYA, "CH-1", "education", True)], "lcs-feed", "ADMIN")
    forged = line(MAYA, "IROInformed", TODAY.isoformat(), event_seq=5,
                  informed_of=["significant change"], iro=AS_SIGNED_IN)  # fmt: skip
    for actor, role in (("tm.nand", "TM"), ("IRO-12", "IRO")):
        with pytest.raises(BatchRefused) as refused:
            o.record([forged], actor, role)
        assert refused.value.field == "iro.name"
    assert len(entries(o)) == 1
    o.record([forged], "IRO-07", "IRO")  # the IRO it names, in their own name
    assert entries(o) == []
