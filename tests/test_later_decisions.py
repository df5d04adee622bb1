"""What a review approved, read again in the light of what came after it: a later review that
rejected the proposal, a new period of care, and a change recorded in other words than the
proposal's (reg 32(2), reg 4). Recorded through the CLI, on a SQLite file and on PostgreSQL.

Kayleigh (invented), 15, on a care order with foster carers. The IRO's reviews decide on the
social worker's proposals to move her closer to her school.
"""

from __future__ import annotations

from pathlib import Path

from careledger.projections.rules import FlagKind
from tests.test_cli_end_to_end import (
    COUNCIL,
    TM,
    by_review,
    change,
    ev,
    flags,
    init,
    invoke,
    looked_after,
    ok,
    plan_agreed,
    proposed,
    record,
    review,
    seq_of,
    unapproved,
)

KAYLEIGH = "KB-1507"
MOVE = "Move to Mr and Mrs Orton, ten minutes from her school"


def approved_then_rejected() -> list[dict[str, object]]:
    c = KAYLEIGH
    return [
        looked_after(c, "2024-01-08", "C2", "U4"),
        plan_agreed(c, "2024-01-19", placement="Foster placement with Ms Varga (U4)"),
        proposed(c, "2024-01-22", "P-1", "placement", MOVE),
        review(c, "2024-02-02", "R-1", {"kind": "approve", "proposal_id": "P-1"}),
        review(
            c,
            "2024-07-26",
            "R-2",
            {"kind": "reject", "proposal_id": "P-1", "reason": "Kayleigh wants to stay put"},
        ),
    ]


def test_a_change_citing_an_approval_a_later_review_withdrew_is_flagged(
    db: str, tmp_path: Path
) -> None:
    init(db)
    moved = change(KAYLEIGH, "2024-09-02", "CHG-1", "placement", MOVE, by_review("R-1", "P-1"))
    ok(record(db, tmp_path, [*approved_then_rejected(), moved]))

    rows = flags(unapproved(db, KAYLEIGH))
    assert [(r["event"], r["kind"]) for r in rows] == [
        (seq_of(db, KAYLEIGH, "CHG-1"), FlagKind.APPROVAL_WITHDRAWN)
    ]
    assert "rejected at review R-2 on 2024-07-26" in rows[0]["why"]
    assert "reg 32(2)" in rows[0]["rule"]


def test_a_change_made_before_the_later_review_rejected_it_stands_approved(
    db: str, tmp_path: Path
) -> None:
    init(db)
    moved = change(KAYLEIGH, "2024-03-04", "CHG-1", "placement", MOVE, by_review("R-1", "P-1"))
    ok(record(db, tmp_path, [*approved_then_rejected(), moved]))

    assert flags(unapproved(db, KAYLEIGH)) == []


def test_an_approval_given_again_after_a_rejection_governs(db: str, tmp_path: Path) -> None:
    init(db)
    again = review(KAYLEIGH, "2024-08-23", "R-3", {"kind": "approve", "proposal_id": "P-1"})
    moved = change(KAYLEIGH, "2024-09-02", "CHG-1", "placement", MOVE, by_review("R-1", "P-1"))
    ok(record(db, tmp_path, [*approved_then_rejected(), again, moved]))

    assert flags(unapproved(db, KAYLEIGH)) == []


def test_a_placement_ended_on_a_withdrawn_approval_is_flagged_under_reg_14(
    db: str, tmp_path: Path
) -> None:
    init(db)
    ended = ev(
        KAYLEIGH,
        "PlacementEnded",
        "2024-09-02",
        change_id="END-1",
        reason="Moving to Mr and Mrs Orton",
        decided_by=TM,
        authority=by_review("R-1", "P-1"),
    )
    ok(record(db, tmp_path, [*approved_then_rejected(), ended]))

    (row,) = flags(unapproved(db, KAYLEIGH))
    assert row["kind"] == FlagKind.APPROVAL_WITHDRAWN
    assert "reg 14" in row["rule"]


def test_an_approval_from_an_earlier_period_of_care_is_listed_for_the_iro(
    db: str, tmp_path: Path
) -> None:
    """She goes home in March (E4A, approved), comes back in June: the move approved in
    February belongs to the old plan (reg 4 asks for a new one)."""
    c = KAYLEIGH
    approver = {"name": "Helen Marsh", "role": "NOMINATED_OFFICER"}
    history = [
        looked_after(c, "2024-01-08", "V2", "U4"),
        plan_agreed(c, "2024-01-19", placement="Foster placement with Ms Varga (U4)"),
        proposed(c, "2024-01-22", "P-1", "placement", MOVE),
        review(c, "2024-02-02", "R-1", {"kind": "approve", "proposal_id": "P-1"}),
        ev(c, "ChildCeasedToBeLookedAfter", "2024-03-15", reason="E4A", approved_by=approver),
        looked_after(c, "2024-06-03", "V2", "U4"),
        plan_agreed(c, "2024-06-10", placement="Foster placement with Ms Varga (U4)"),
        change(c, "2024-06-17", "CHG-1", "placement", MOVE, by_review("R-1", "P-1")),
    ]
    init(db)
    ok(record(db, tmp_path, history))

    rows = flags(unapproved(db, c))
    assert [(r["event"], r["kind"]) for r in rows] == [
        (seq_of(db, c, "CHG-1"), FlagKind.EARLIER_PERIOD)
    ]
    assert "before the current period of care began on 2024-06-03" in rows[0]["why"]
    assert "reg 4" in rows[0]["rule"]


def test_a_change_worded_unlike_its_proposal_shows_both_texts_to_the_iro_and_the_court(
    db: str, tmp_path: Path
) -> None:
    c = KAYLEIGH
    recorded = "Move to Mr and Mrs Orton, forty minutes from school by bus"
    history = [
        looked_after(c, "2024-01-08", "C2", "U4"),
        plan_agreed(c, "2024-01-19", placement="Foster placement with Ms Varga (U4)"),
        proposed(c, "2024-01-22", "P-1", "placement", MOVE),
        review(c, "2024-02-02", "R-1", {"kind": "approve", "proposal_id": "P-1"}),
        change(c, "2024-03-04", "CHG-1", "placement", recorded, by_review("R-1", "P-1")),
    ]
    init(db)
    ok(record(db, tmp_path, history))

    listed = unapproved(db, c)
    assert flags(listed) == []  # approved in time: not a flag
    (both,) = listed
    assert both["kind"] == FlagKind.CONTENT_DIFFERS
    assert f"«{MOVE}»" in both["why"] and f"«{recorded}»" in both["why"]
    assert unapproved(db) == []  # the council's listing keeps to flags

    chronology = ok(invoke("chronology", "--db", db, f"{COUNCIL}:{c}", "--format", "csv"))
    assert MOVE in chronology.stdout and recorded in chronology.stdout


def test_the_first_plan_of_a_new_period_of_care_is_no_change_without_review(
    db: str, tmp_path: Path
) -> None:
    c = KAYLEIGH
    approver = {"name": "Helen Marsh", "role": "NOMINATED_OFFICER"}
    history = [
        looked_after(c, "2024-01-08", "V2", "U4"),
        plan_agreed(c, "2024-01-19", placement="Foster placement with Ms Varga (U4)"),
        ev(c, "ChildCeasedToBeLookedAfter", "2024-03-15", reason="E4A", approved_by=approver),
        looked_after(c, "2024-06-03", "V2", "K2"),
        plan_agreed(c, "2024-06-10", placement="Residential home, Oakfield (K2)"),
    ]
    init(db)
    ok(record(db, tmp_path, history))

    assert flags(unapproved(db, c)) == []
