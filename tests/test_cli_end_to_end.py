"""The `careledger` command end to end, in-process, on a real SQLite file and on PostgreSQL.

Each test writes a small JSON Lines history modelled on a NAIRO case history
(names and references invented), records it with `careledger record --file`, and reads it back
with `plan`, `history` and `unapproved` as a user would.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from careledger.cli.main import cli
from careledger.ledger.application import CareLedger
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import parse_command
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.store.location import store_for
from careledger.projections.rules import FlagKind
from tests.envelope import data_of

COUNCIL = "E10000042"
ACTOR = "j.okafor"
ENV: dict[str, str | None] = {
    "CARELEDGER_ACTOR": ACTOR,
    "CARELEDGER_ROLE": "SW",
    "CARELEDGER_DB": None,
    "CARELEDGER_COUNCIL": None,
    "CARELEDGER_PRESUMED_SIGNIFICANT": None,
}

WIDE: dict[str, str | None] = {"COLUMNS": "400"}  # so rich does not fold table cells

SW = {"name": "Nadia Hussain", "role": "SW"}
TM = {"name": "Owen Pryce", "role": "TM"}
IRO = {"name": "Margaret Ellery", "role": "IRO"}
SENIOR = {"name": "Graham Teller", "role": "SENIOR_MANAGER"}
SERVICE_MANAGER = {"name": "Dawn Redfern", "role": "SERVICE_MANAGER"}

_sources = itertools.count(1)


# --- helpers ------------------------------------------------------------------------------


def invoke(*args: Any, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env={**ENV, **(env or {})})


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result


def as_json(result: Result) -> Any:
    return data_of(ok(result).stdout)


def ev(child: str, kind: str, on: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "council": COUNCIL,
        "child": child,
        "occurred_on": on,
        "source": f"LCS/NOTE/{next(_sources):05d}",
        **fields,
    }


def write_lines(path: Path, lines: Iterable[dict[str, Any] | str]) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


_files = itertools.count(1)


def record(db: str, tmp_path: Path, lines: Iterable[dict[str, Any] | str]) -> Result:
    path = write_lines(tmp_path / f"events-{next(_files)}.jsonl", lines)
    return invoke("record", "--db", db, "--file", path)


def init(db: str) -> str:
    ok(invoke("init", "--db", db))
    return db


def unapproved(db: str, child: str | None = None) -> list[dict[str, Any]]:
    args: list[Any] = ["unapproved", "--db", db, "--format", "json"]
    if child:
        args += ["--child", f"{COUNCIL}:{child}"]
    rows: list[dict[str, Any]] = as_json(invoke(*args))
    return rows


def plan(db: str, child: str, *options: str) -> dict[str, dict[str, Any]]:
    rows = as_json(invoke("plan", "--db", db, f"{COUNCIL}:{child}", "--format", "json", *options))
    return {row["section"]: row for row in rows}


def history(db: str, child: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = as_json(
        invoke("history", "--db", db, f"{COUNCIL}:{child}", "--format", "json")
    )
    return rows


def seq_of(db: str, child: str, marker: str) -> int:
    """The event number of the one decision whose description mentions `marker` (a challenge
    about it mentions it too)."""
    found = [
        row["event"]
        for row in history(db, child)
        if marker in row["what"] and not row["type"].startswith("Challenge")
    ]
    assert len(found) == 1, f"{marker!r} in {found}"
    return int(found[0])


def flags(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The flags of a child's listing, without the changes shown only for their two texts."""
    return [row for row in rows if row["kind"] != FlagKind.CONTENT_DIFFERS]


def kinds_by_event(rows: list[dict[str, Any]]) -> dict[int, set[str]]:
    result: dict[int, set[str]] = {}
    for row in rows:
        result.setdefault(row["event"], set()).add(row["kind"])
    return result


def status(db: str) -> dict[str, Any]:
    rows = as_json(invoke("projections", "status", "--db", db, "--format", "json"))
    assert len(rows) == 1
    row: dict[str, Any] = rows[0]
    return row


def looked_after(child: str, on: str, legal_status: str, placement: str) -> dict[str, Any]:
    return ev(child, "ChildBecameLookedAfter", on, legal_status=legal_status, placement=placement)


def plan_agreed(child: str, on: str, **sections: str) -> dict[str, Any]:
    return ev(child, "CarePlanAgreed", on, sections=sections, decided_by=TM)


def review(child: str, on: str, review_id: str, *decisions: dict[str, Any]) -> dict[str, Any]:
    return ev(
        child,
        "ReviewHeld",
        on,
        review_id=review_id,
        chair=IRO,
        attendees=["Social worker", "Foster carer"],
        participation="PN1",
        child_seen_before=True,
        decisions=list(decisions),
    )


def change(
    child: str,
    on: str,
    change_id: str,
    section: str,
    content: str,
    authority: dict[str, Any],
    *,
    significant: bool = True,
    decided_by: dict[str, str] = TM,
    child_consulted: bool | None = True,
) -> dict[str, Any]:
    return ev(
        child,
        "CarePlanSectionChanged",
        on,
        change_id=change_id,
        section=section,
        content=content,
        significant=significant,
        decided_by=decided_by,
        authority=authority,
        child_consulted=child_consulted,
    )


def proposed(
    child: str, on: str, proposal_id: str, section: str, content: str, **more: Any
) -> dict[str, Any]:
    fields: dict[str, Any] = {"significant": True, "proposed_by": SW, "child_consulted": True}
    fields.update(more)
    return ev(
        child,
        "ChangeProposed",
        on,
        proposal_id=proposal_id,
        section=section,
        content=content,
        **fields,
    )


NO_AUTHORITY = {"kind": "none"}


def by_review(review_id: str, proposal_id: str) -> dict[str, Any]:
    return {"kind": "review_decision", "review_id": review_id, "proposal_id": proposal_id}


# --- case histories (after NAIRO's published case histories) -----------------------------

# Case 8: four years with his sister in an excellent foster placement; a few days before
# Christmas the council ends it permanently, without review, assessment or consultation.
PEARCE = "PK-0908"


def placement_ended_before_christmas() -> list[dict[str, Any]]:
    c = PEARCE
    return [
        looked_after(c, "2020-11-02", "C2", "U4"),
        ev(c, "IROAllocated", "2020-11-04", iro_id="IRO-11", iro_name=IRO["name"]),
        plan_agreed(
            c,
            "2020-11-20",
            placement="Long-term foster placement with Mr and Mrs Ashby (U4), with his sister",
            permanence="Long-term fostering with Mr and Mrs Ashby",
            health="Autism and ADHD: paediatric review every 6 months",
        ),
        review(c, "2020-11-27", "REV-01"),
        review(c, "2024-06-11", "REV-09"),
        ev(
            c,
            "PlacementEnded",
            "2024-12-20",
            change_id="END-01",
            reason="council decided to end the Ashby placement permanently",
            decided_by=SENIOR,
            authority=NO_AUTHORITY,
            child_consulted=False,
        ),
        change(
            c,
            "2024-12-20",
            "CHG-01",
            "placement",
            "Move to Hawthorn Lodge children's home (K2), away from his sister",
            NO_AUTHORITY,
            decided_by=SENIOR,
            child_consulted=False,
        ),
        ev(
            c,
            "ChallengeRaised",
            "2024-12-20",
            challenge_id="CH-01",
            subject="decision",
            about="CHG-01",
            concern="Unlawful: no review (reg 32(2), reg 14), no assessment, child not consulted",
            raised_by=IRO,
        ),
    ]


# Case 6: staying put agreed at review and in her pathway plan; senior management later
# decide it "may not be appropriate", without a review.
SHAW = "SJ-0617"


def staying_put_reversed() -> list[dict[str, Any]]:
    c = SHAW
    return [
        looked_after(c, "2019-03-04", "C2", "U4"),
        plan_agreed(
            c,
            "2019-03-15",
            placement="Foster placement with Mr and Mrs Penhaligon (U4)",
            pathway="Pathway needs assessment at 16",
        ),
        review(c, "2019-03-29", "REV-01"),
        proposed(c, "2024-01-10", "PRO-01", "pathway", "Staying put with Mr and Mrs Penhaligon"),
        review(c, "2024-02-06", "REV-05", {"kind": "approve", "proposal_id": "PRO-01"}),
        change(
            c,
            "2024-02-12",
            "CHG-01",
            "pathway",
            "Staying put with Mr and Mrs Penhaligon after 18",
            by_review("REV-05", "PRO-01"),
        ),
        review(c, "2024-08-06", "REV-06"),
        ev(
            c,
            "SocialWorkerAllocated",
            "2024-10-01",
            worker_id="SW-3306",
            worker_name="Lee Carver",
            team="Leaving Care",
            reason="LEFTRL",
        ),
        change(
            c,
            "2024-11-18",
            "CHG-02",
            "pathway",
            "Staying put may not be appropriate: supported lodgings from 18",
            NO_AUTHORITY,
            decided_by=SENIOR,
            child_consulted=False,
        ),
    ]


# Case 4: a move 100 miles away announced at a review, not discussed with her; the review
# rejects it until a risk assessment is done.
MORRIS = "LM-0415"


def move_rejected_at_review() -> list[dict[str, Any]]:
    c = MORRIS
    return [
        looked_after(c, "2024-05-07", "V2", "K2"),
        plan_agreed(
            c,
            "2024-05-17",
            placement="Brook House children's home (K2)",
            education="Year 11 at Hillside School; GCSEs in June 2025",
            health="Weekly CAMHS sessions",
        ),
        review(c, "2024-06-03", "REV-01"),
        proposed(
            c,
            "2025-03-10",
            "PRO-01",
            "placement",
            "Move to a residential placement 100 miles away",
            child_consulted=False,
        ),
        review(
            c,
            "2025-03-12",
            "REV-03",
            {
                "kind": "reject",
                "proposal_id": "PRO-01",
                "reason": "Not discussed with her; would end her school year and CAMHS sessions",
            },
            {
                "kind": "recommend",
                "recommendation_id": "REC-01",
                "text": "Risk assessment and risk plan for missing episodes",
                "owner": SW,
                "due_on": "2025-03-26",
            },
        ),
    ]


# Case 5: accommodation ended on a Friday by senior managers; the end was keyed on the Monday
# as "returned home as planned", corrected later.
ROWE = "RR-0516"


def return_home_then_corrected() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    c = ROWE
    events = [
        looked_after(c, "2024-02-12", "V2", "U6"),
        plan_agreed(
            c,
            "2024-02-23",
            placement="Foster placement with Ms Brennan (U6)",
            permanence="Remain accommodated (s.20) while work with his mother continues",
        ),
        review(c, "2024-03-08", "REV-01"),
        change(
            c,
            "2024-09-13",
            "CHG-01",
            "permanence",
            "Return home to mother, who agrees",
            NO_AUTHORITY,
            decided_by=SENIOR,
            child_consulted=False,
        ),
        ev(c, "ChildCeasedToBeLookedAfter", "2024-09-16", reason="E4A", approved_by=None),
    ]
    # seq: 1 CaseOpened, 2 looked after, 3 plan, 4 review, 5 CHG-01, 6 ceased
    correction = ev(
        c,
        "CorrectionRecorded",
        "2024-10-01",
        corrects_seq=5,
        reason="His mother disputes that she agreed; he is sofa-surfing",
        corrected={"content": "Return home to mother (she disputes that she agreed)"},
    )
    return events, correction


# --- unapproved changes ---------------------------------------------------------------------


def test_change_without_review_is_listed_with_reason_and_rule(db: str, tmp_path: Path) -> None:
    init(db)
    ok(record(db, tmp_path, placement_ended_before_christmas()))

    rows = unapproved(db)
    without = [r for r in rows if r["kind"] == FlagKind.WITHOUT_REVIEW]
    assert len(without) == 1
    row = without[0]
    assert row["event"] == seq_of(db, PEARCE, "CHG-01")
    assert row["council"] == COUNCIL
    assert row["child"] == PEARCE
    assert row["section"] == "placement"
    assert row["occurred_on"] == "2024-12-20"
    assert row["decided_by"] == "Graham Teller (SENIOR_MANAGER)"
    assert row["kind"] == "made without review approval"
    assert "no review decision" in row["why"]
    assert "not reasonably practicable" in row["why"]
    assert "reg 32(2)" in row["rule"]

    not_consulted = {r["event"] for r in rows if r["kind"] == FlagKind.CHILD_NOT_CONSULTED}
    assert row["event"] in not_consulted
    consulted_rule = next(r["rule"] for r in rows if r["kind"] == FlagKind.CHILD_NOT_CONSULTED)
    assert "s.22(4)" in consulted_rule

    # the table form names the child and the rule too
    table = ok(invoke("unapproved", "--db", db, env=WIDE)).stdout
    assert PEARCE in table
    assert "reg 32(2)" in table


def test_change_approved_at_earlier_review_is_not_flagged(db: str, tmp_path: Path) -> None:
    init(db)
    ok(record(db, tmp_path, staying_put_reversed()))

    approved = seq_of(db, SHAW, "CHG-01")
    reversed_ = seq_of(db, SHAW, "CHG-02")
    flagged = kinds_by_event(unapproved(db, SHAW))
    # The child's listing shows both texts where the change words the proposal differently:
    # for the IRO to read, not a flag.
    assert flagged.get(approved, set()) <= {FlagKind.CONTENT_DIFFERS}
    assert flagged[reversed_] == {FlagKind.WITHOUT_REVIEW, FlagKind.CHILD_NOT_CONSULTED}

    before_reversal = plan(db, SHAW, "--as-of", "2024-06-01")
    assert before_reversal["pathway"]["authority"] == "review REV-05 (proposal PRO-01)"
    assert before_reversal["pathway"]["event"] == approved


def test_placement_ended_after_approval_at_review_is_not_flagged(db: str, tmp_path: Path) -> None:
    c = "HT-0212"
    init(db)
    ok(
        record(
            db,
            tmp_path,
            [
                looked_after(c, "2023-04-03", "C2", "U4"),
                plan_agreed(c, "2023-04-14", placement="Foster placement with Mr and Mrs Lyle"),
                proposed(c, "2024-01-08", "PRO-01", "placement", "Planned move to kinship carer"),
                review(c, "2024-01-22", "REV-03", {"kind": "approve", "proposal_id": "PRO-01"}),
                ev(
                    c,
                    "PlacementEnded",
                    "2024-02-02",
                    change_id="END-01",
                    reason="planned move to his aunt",
                    decided_by=TM,
                    authority=by_review("REV-03", "PRO-01"),
                    child_consulted=True,
                ),
            ],
        )
    )
    assert unapproved(db, c) == []
    assert "none found" in ok(invoke("unapproved", "--db", db, "--child", f"{COUNCIL}:{c}")).stdout


def test_change_ratified_only_by_a_later_review_is_listed_as_approved_after(
    db: str, tmp_path: Path
) -> None:
    c = "BT-0104"
    init(db)
    ok(
        record(
            db,
            tmp_path,
            [
                looked_after(c, "2023-09-04", "C2", "U4"),
                plan_agreed(c, "2023-09-15", education="Year 5 at St Anne's Primary"),
                review(c, "2023-09-29", "REV-01"),
                change(
                    c,
                    "2024-03-01",
                    "CHG-01",
                    "education",
                    "Move to Oakfield Primary (specialist provision)",
                    NO_AUTHORITY,
                ),
            ],
        )
    )
    seq = seq_of(db, c, "CHG-01")
    assert kinds_by_event(unapproved(db, c)) == {seq: {FlagKind.WITHOUT_REVIEW}}

    ok(
        record(
            db,
            tmp_path,
            [review(c, "2024-04-10", "REV-02", {"kind": "ratify", "change_id": "CHG-01"})],
        )
    )

    rows = unapproved(db, c)
    assert [(r["event"], r["kind"]) for r in rows] == [(seq, FlagKind.APPROVED_AFTER)]
    assert "REV-02" in rows[0]["why"]
    assert "2024-04-10" in rows[0]["why"]
    assert "2024-03-01" in rows[0]["why"]
    assert "reg 32(2)" in rows[0]["rule"]


def test_change_taking_effect_before_its_approving_review_is_listed_as_approved_after(
    db: str, tmp_path: Path
) -> None:
    """A change recorded late, citing a review that was held after the change took effect."""
    c = "BT-0105"
    init(db)
    ok(
        record(
            db,
            tmp_path,
            [
                looked_after(c, "2023-09-04", "C2", "U4"),
                plan_agreed(c, "2023-09-15", placement="Foster placement with Ms Idris"),
                proposed(c, "2024-02-20", "PRO-01", "placement", "Move to Mr and Mrs Dale"),
                review(c, "2024-03-15", "REV-02", {"kind": "approve", "proposal_id": "PRO-01"}),
                change(
                    c,
                    "2024-03-04",
                    "CHG-01",
                    "placement",
                    "Moved to Mr and Mrs Dale",
                    by_review("REV-02", "PRO-01"),
                ),
            ],
        )
    )
    rows = flags(unapproved(db, c))
    flagged = [(r["kind"], r["occurred_on"]) for r in rows]
    assert flagged == [(FlagKind.APPROVED_AFTER, "2024-03-04")]
    assert "REV-02" in rows[0]["why"]


def test_iro_agreement_is_listed_until_a_review_ratifies_it(db: str, tmp_path: Path) -> None:
    # Case 3: staying put restored by the IRO's agreement between reviews
    c = "AW-0317"
    init(db)
    ok(
        record(
            db,
            tmp_path,
            [
                looked_after(c, "2019-05-13", "C2", "U4"),
                plan_agreed(c, "2019-05-24", pathway="Army course; staying put with his carers"),
                review(c, "2019-06-07", "REV-01"),
                proposed(
                    c,
                    "2025-04-07",
                    "PRO-03",
                    "pathway",
                    "Staying put reinstated (stage 2 dispute upheld)",
                    proposed_by=SERVICE_MANAGER,
                ),
                ev(
                    c,
                    "IROAgreedChange",
                    "2025-04-08",
                    proposal_id="PRO-03",
                    iro=IRO,
                    reason="Restores the review-approved plan; the review is brought forward",
                    review_brought_forward=True,
                ),
                change(
                    c,
                    "2025-04-08",
                    "CHG-04",
                    "pathway",
                    "Army course; staying put with his carers from 18",
                    {"kind": "iro_agreement", "proposal_id": "PRO-03"},
                    decided_by=SERVICE_MANAGER,
                ),
            ],
        )
    )
    seq = seq_of(db, c, "CHG-04")
    listed = unapproved(db, c)
    rows = flags(listed)
    assert [(r["event"], r["kind"]) for r in rows] == [(seq, FlagKind.IRO_UNRATIFIED)]
    # the IRO agreed one text and another was recorded: the child's listing shows both
    (differs,) = [r for r in listed if r["kind"] == FlagKind.CONTENT_DIFFERS]
    assert differs["event"] == seq
    assert "«Staying put reinstated (stage 2 dispute upheld)»" in differs["why"]
    assert "«Army course; staying put with his carers from 18»" in differs["why"]
    assert "PRO-03" in rows[0]["why"]
    assert "no review has ratified it" in rows[0]["why"]
    assert "IRO agreement outside a review" in rows[0]["rule"]
    assert plan(db, c)["pathway"]["authority"] == "IRO agreement (proposal PRO-03)"

    ok(
        record(
            db,
            tmp_path,
            [review(c, "2025-04-22", "REV-08", {"kind": "ratify", "change_id": "CHG-04"})],
        )
    )
    assert flags(unapproved(db, c)) == []


def test_iro_agreement_cannot_be_cited_before_the_iro_agreed(db: str, tmp_path: Path) -> None:
    c = "AW-0318"
    init(db)
    result = record(
        db,
        tmp_path,
        [
            looked_after(c, "2019-05-13", "C2", "U4"),
            proposed(c, "2025-04-07", "PRO-01", "pathway", "Supported lodgings"),
            change(
                c,
                "2025-04-08",
                "CHG-01",
                "pathway",
                "Supported lodgings",
                {"kind": "iro_agreement", "proposal_id": "PRO-01"},
            ),
        ],
    )
    assert result.exit_code != 0
    assert "line 3" in result.output
    assert "authority.proposal_id" in result.output
    assert "has not agreed" in result.output


def test_not_reasonably_practicable_is_listed_separately(db: str, tmp_path: Path) -> None:
    # Case 1: repeated placement breakdowns
    c = "ST-0108"
    init(db)
    ok(
        record(
            db,
            tmp_path,
            [
                looked_after(c, "2023-01-09", "C1", "U6"),
                plan_agreed(c, "2023-01-20", placement="Short-term foster placement (U6)"),
                review(c, "2023-02-06", "REV-01"),
                change(
                    c,
                    "2023-03-17",
                    "CHG-01",
                    "placement",
                    "Moved to emergency foster carers Mr and Mrs Varga",
                    {
                        "kind": "not_reasonably_practicable",
                        "reason": "Carer gave same-day notice after an assault; no time for review",
                    },
                ),
                change(
                    c,
                    "2023-04-21",
                    "CHG-02",
                    "placement",
                    "Moved to Larch House children's home (K2)",
                    NO_AUTHORITY,
                ),
            ],
        )
    )
    practicable = seq_of(db, c, "CHG-01")
    without = seq_of(db, c, "CHG-02")
    rows = unapproved(db, c)
    assert kinds_by_event(rows) == {
        practicable: {FlagKind.NOT_PRACTICABLE},
        without: {FlagKind.WITHOUT_REVIEW},
    }
    row = next(r for r in rows if r["event"] == practicable)
    assert row["kind"] == "review not reasonably practicable"
    assert "same-day notice after an assault" in row["why"]
    assert "reg 32(2)" in row["rule"]


def test_permanent_move_recorded_as_not_significant_is_questioned(db: str, tmp_path: Path) -> None:
    c = "DK-0611"
    init(db)
    ok(
        record(
            db,
            tmp_path,
            [
                looked_after(c, "2022-06-06", "C2", "U4"),
                plan_agreed(
                    c,
                    "2022-06-17",
                    placement="Foster placement with Mrs Okafor (U4)",
                    health="Annual health assessment",
                ),
                change(
                    c,
                    "2024-05-02",
                    "CHG-01",
                    "placement",
                    "Permanent move to Fernlea residential home (K2)",
                    NO_AUTHORITY,
                    significant=False,
                ),
                change(
                    c,
                    "2024-05-09",
                    "CHG-02",
                    "health",
                    "Dental check moved to the new practice",
                    NO_AUTHORITY,
                    significant=False,
                ),
            ],
        )
    )
    rows = unapproved(db, c)
    assert [(r["event"], r["kind"]) for r in rows] == [
        (seq_of(db, c, "CHG-01"), FlagKind.SIGNIFICANCE_QUESTIONED)
    ]
    assert "presumed significant" in rows[0]["why"]
    assert "placement" in rows[0]["why"]


def test_placement_ended_without_review_is_flagged_under_reg_14(db: str, tmp_path: Path) -> None:
    init(db)
    ok(record(db, tmp_path, placement_ended_before_christmas()))

    ended = seq_of(db, PEARCE, "END-01")
    rows = [r for r in unapproved(db, PEARCE) if r["event"] == ended]
    assert {r["kind"] for r in rows} == {FlagKind.PLACEMENT_ENDED, FlagKind.CHILD_NOT_CONSULTED}
    row = next(r for r in rows if r["kind"] == FlagKind.PLACEMENT_ENDED)
    assert row["section"] == "placement"
    assert row["occurred_on"] == "2024-12-20"
    assert "reg 14(1)" in row["rule"]
    assert "council decided to end the Ashby placement permanently" in row["why"]
    assert "no immediate risk recorded" in row["why"]


def test_placement_ended_for_immediate_risk_is_listed_as_such(db: str, tmp_path: Path) -> None:
    # Case 2: allegations against the foster carers; he is moved at once
    c = "PB-0213"
    init(db)
    ok(
        record(
            db,
            tmp_path,
            [
                looked_after(c, "2022-01-10", "C2", "U4"),
                plan_agreed(c, "2022-01-21", placement="Foster placement with Mr and Mrs Garside"),
                review(c, "2022-02-04", "REV-01"),
                ev(
                    c,
                    "PlacementEnded",
                    "2024-07-05",
                    change_id="END-01",
                    reason="fourth allegation against the carers",
                    decided_by=TM,
                    authority=NO_AUTHORITY,
                    immediate_risk="Allegation of physical harm by a carer; strategy meeting held",
                    child_consulted=True,
                ),
            ],
        )
    )
    rows = unapproved(db, c)
    assert [r["kind"] for r in rows] == [FlagKind.IMMEDIATE_RISK]
    assert "Allegation of physical harm by a carer" in rows[0]["why"]
    assert "14(1), (3)" in rows[0]["rule"]
    assert plan(db, c)["placement"]["content"].startswith("Placement ended")


def test_move_proposed_without_consulting_the_child_and_rejected_at_review(
    db: str, tmp_path: Path
) -> None:
    init(db)
    ok(record(db, tmp_path, move_rejected_at_review()))

    assert unapproved(db, MORRIS) == []
    assert plan(db, MORRIS)["placement"]["content"] == "Brook House children's home (K2)"
    whats = [row["what"] for row in history(db, MORRIS)]
    assert any("rejected PRO-01" in what for what in whats)

    citing_rejected = change(
        MORRIS,
        "2025-03-14",
        "CHG-01",
        "placement",
        "Move to a residential placement 100 miles away",
        by_review("REV-03", "PRO-01"),
    )
    result = record(db, tmp_path, [citing_rejected])
    assert result.exit_code == 1
    assert "authority.proposal_id" in result.output
    assert "was not approved at review 'REV-03'" in result.output


# --- the plan on a date, and as recorded on a date -------------------------------------------


def test_plan_as_of_shows_plan_in_force_on_that_date(db: str, tmp_path: Path) -> None:
    init(db)
    ok(record(db, tmp_path, staying_put_reversed()))

    before_plan = ok(invoke("plan", "--db", db, f"{COUNCIL}:{SHAW}", "--as-of", "2019-03-10"))
    assert "no plan recorded" in before_plan.stdout

    first = plan(db, SHAW, "--as-of", "2019-06-01")
    assert first["pathway"]["content"] == "Pathway needs assessment at 16"
    assert first["placement"]["since"] == "2019-03-15"

    agreed = plan(db, SHAW, "--as-of", "2024-02-12")
    assert agreed["pathway"]["content"] == "Staying put with Mr and Mrs Penhaligon after 18"
    assert agreed["pathway"]["since"] == "2024-02-12"

    day_before = plan(db, SHAW, "--as-of", "2024-11-17")
    assert day_before["pathway"] == agreed["pathway"]

    reversed_ = plan(db, SHAW, "--as-of", "2024-11-18")
    assert reversed_["pathway"]["content"].startswith("Staying put may not be appropriate")
    assert reversed_["pathway"]["decided_by"] == "Graham Teller (SENIOR_MANAGER)"
    assert reversed_["pathway"]["authority"] == "none"
    assert plan(db, SHAW) == reversed_

    bad = invoke("plan", "--db", db, f"{COUNCIL}:{SHAW}", "--as-of", "18/11/2024")
    assert bad.exit_code == 1
    assert "--as-of" in bad.output


def clocked_ledger(db: str, when: datetime) -> CareLedger:
    return CareLedger(store_for(db), clock=lambda: when)


def record_at(db: str, when: datetime, lines: list[dict[str, Any]]) -> None:
    ledger = clocked_ledger(db, when)
    try:
        ledger.record(
            [parse_command(line) for line in lines], p.Actor(actor_id="loader", role=Role.ADMIN)
        )
    finally:
        ledger.close()


def test_plan_as_recorded_on_shows_what_the_ledger_knew_before_a_correction(
    db: str, tmp_path: Path
) -> None:
    init(db)
    events, correction = return_home_then_corrected()
    record_at(db, datetime(2024, 9, 16, 12, tzinfo=UTC), events)
    record_at(db, datetime(2024, 10, 1, 12, tzinfo=UTC), [correction])

    original = "Return home to mother, who agrees"
    fixed = "Return home to mother (she disputes that she agreed)"

    known_then = plan(db, ROWE, "--as-recorded-on", "2024-09-20")
    assert known_then["permanence"]["content"] == original
    assert known_then["permanence"]["corrected_by"] == ""

    now = plan(db, ROWE)
    assert now["permanence"]["content"] == fixed
    assert now["permanence"]["corrected_by"] == "7"
    assert plan(db, ROWE, "--as-recorded-on", "2024-10-01")["permanence"] == now["permanence"]

    # nothing was recorded before 16 September: the ledger knew no plan then
    assert plan(db, ROWE, "--as-recorded-on", "2024-09-15") == {}

    # both axes at once: in force on 1 September, as known on 20 September
    both = plan(db, ROWE, "--as-of", "2024-09-01", "--as-recorded-on", "2024-09-20")
    assert both["permanence"]["content"].startswith("Remain accommodated")


@pytest.fixture
def host_in_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run as on a server whose clock is set to UTC, then restore the host's time zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_plan_as_recorded_on_counts_the_day_in_england_whatever_the_host_time_zone(
    db: str, host_in_utc: None
) -> None:
    """A decision recorded at 00:30 on 2 July in England (23:30 UTC on 1 July), dated 2 July,
    was not known "by the end of 1 July". The ledger itself dates recordings in England
    (ledger/case.py refuses future dates by the England date), so the report must too."""
    c = "TZ-0701"
    init(db)
    record_at(
        db,
        datetime(2024, 6, 3, 12, tzinfo=UTC),
        [
            looked_after(c, "2024-06-03", "C2", "U4"),
            plan_agreed(c, "2024-06-03", placement="Foster carers Mr and Mrs Amis"),
        ],
    )
    record_at(
        db,
        datetime(2024, 7, 1, 23, 30, tzinfo=UTC),
        [
            change(
                c,
                "2024-07-02",
                "CHG-01",
                "placement",
                "Moved to Mr and Mrs Blake",
                NO_AUTHORITY,
            )
        ],
    )
    known = plan(db, c, "--as-recorded-on", "2024-07-01")
    assert known["placement"]["content"] == "Foster carers Mr and Mrs Amis"
    assert plan(db, c, "--as-recorded-on", "2024-07-02")["placement"]["since"] == "2024-07-02"


def approved_then_corrected_to_rejected(c: str) -> list[dict[str, Any]]:
    """A move approved at review and made; the review record is then corrected: the minutes
    show the review rejected the move. seq: 1 CaseOpened, 2 looked after, 3 plan, 4 proposal,
    5 review, 6 change, 7 correction of the review."""
    return [
        looked_after(c, "2023-05-02", "C2", "U4"),
        plan_agreed(c, "2023-05-12", placement="Foster placement with Ms Varley (U4)"),
        proposed(c, "2024-01-10", "PRO-01", "placement", "Move to residential care (K2)"),
        review(c, "2024-01-22", "REV-02", {"kind": "approve", "proposal_id": "PRO-01"}),
        change(
            c,
            "2024-01-29",
            "CHG-01",
            "placement",
            "Moved to Fernlea residential home (K2)",
            by_review("REV-02", "PRO-01"),
        ),
        ev(
            c,
            "CorrectionRecorded",
            "2024-02-05",
            corrects_seq=5,
            reason="The signed minutes show the review rejected the move",
            corrected={
                "decisions": [
                    {"kind": "reject", "proposal_id": "PRO-01", "reason": "No assessment"}
                ]
            },
        ),
    ]


def test_change_resting_on_an_approval_corrected_to_a_rejection_is_listed(
    db: str, tmp_path: Path
) -> None:
    """The rules read events after corrections (projections/rules.py docstring): once the
    review's record says it rejected the proposal, a change citing that review's approval has
    no review approval and must be listed."""
    c = "CX-0201"
    init(db)
    ok(record(db, tmp_path, approved_then_corrected_to_rejected(c)))
    assert "rejected PRO-01" not in history(db, c)[4]["what"]  # the original is kept
    flagged = kinds_by_event(unapproved(db, c))
    assert seq_of(db, c, "CHG-01") in flagged, flagged


def test_approval_corrected_to_a_rejection_cannot_be_cited_afterwards(
    db: str, tmp_path: Path
) -> None:
    """The guard refuses a change citing a review that did not approve the proposal; after a
    correction says the review rejected it, the same must hold."""
    c = "CX-0202"
    init(db)
    ok(record(db, tmp_path, approved_then_corrected_to_rejected(c)))
    again = change(
        c,
        "2024-02-12",
        "CHG-02",
        "placement",
        "Moved to Fernlea residential home (K2)",
        by_review("REV-02", "PRO-01"),
    )
    result = record(db, tmp_path, [again])
    assert result.exit_code == 1, result.output
    assert "authority.proposal_id" in result.output


def test_review_held_before_a_change_took_effect_is_not_reported_as_ratifying_it_after(
    db: str, tmp_path: Path
) -> None:
    """A review record keyed late, dated before the change it "ratifies". Either the ledger
    refuses it, or the change stays listed as made without review approval: it must not be
    reported as "ratified at review REV-02 on 2024-04-10, after it took effect on 2024-05-01"."""
    c = "RK-0410"
    init(db)
    ok(
        record(
            db,
            tmp_path,
            [
                looked_after(c, "2023-09-04", "C2", "U4"),
                change(c, "2024-05-01", "CHG-01", "placement", "Moved to Mr Dale", NO_AUTHORITY),
            ],
        )
    )
    result = record(
        db,
        tmp_path,
        [review(c, "2024-04-10", "REV-02", {"kind": "ratify", "change_id": "CHG-01"})],
    )
    if result.exit_code == 0:
        rows = unapproved(db, c)
        assert [r["kind"] for r in rows] == [FlagKind.WITHOUT_REVIEW], rows


# --- history and corrections ---------------------------------------------------------------


def test_history_shows_corrections_without_hiding_the_original(db: str, tmp_path: Path) -> None:
    c = "DR-0516"
    init(db)
    ok(
        record(
            db,
            tmp_path,
            [
                looked_after(c, "2024-02-12", "V2", "U6"),
                ev(c, "ChildCeasedToBeLookedAfter", "2024-09-16", reason="E4A", approved_by=None),
                ev(
                    c,
                    "CorrectionRecorded",
                    "2024-10-01",
                    corrects_seq=3,
                    reason="Care ended on Friday 13/09 when he was told to leave; mother disputes",
                    corrected={"occurred_on": "2024-09-13", "reason": "E8"},
                ),
            ],
        )
    )
    rows = history(db, c)
    assert [r["event"] for r in rows] == [1, 2, 3, 4]
    assert [r["type"] for r in rows] == [
        "CaseOpened",
        "ChildBecameLookedAfter",
        "ChildCeasedToBeLookedAfter",
        "CorrectionRecorded",
    ]
    original, correction = rows[2], rows[3]
    assert original["occurred_on"] == "2024-09-16"
    assert "reason E4A" in original["what"]
    assert "no approval recorded" in original["what"]
    assert original["corrected_by"] == "4"
    assert "corrects event #3" in correction["what"]
    assert "occurred_on=2024-09-13" in correction["what"]
    assert "reason=E8" in correction["what"]
    assert "mother disputes" in correction["what"]
    assert all(r["recorded_by"] == f"{ACTOR} (SW)" for r in rows)

    table = ok(invoke("history", "--db", db, f"{COUNCIL}:{c}", env=WIDE)).stdout
    assert "E4A" in table
    assert "E8" in table


def test_correction_of_an_unknown_event_is_refused(db: str, tmp_path: Path) -> None:
    c = "DR-0517"
    init(db)
    ok(record(db, tmp_path, [looked_after(c, "2024-02-12", "V2", "U6")]))
    result = record(
        db,
        tmp_path,
        [
            ev(
                c,
                "CorrectionRecorded",
                "2024-10-01",
                corrects_seq=9,
                reason="typo",
                corrected={"placement": "U4"},
            )
        ],
    )
    assert result.exit_code == 1
    assert "corrects_seq" in result.output
    assert len(history(db, c)) == 2


# --- recording ------------------------------------------------------------------------------


def test_one_bad_line_rejects_the_whole_file_naming_line_and_field(db: str, tmp_path: Path) -> None:
    init(db)
    ok(record(db, tmp_path, move_rejected_at_review()))
    newest = status(db)["newest_event"]
    assert newest > 0

    good = staying_put_reversed()[:4]
    bad_value = dict(good[3], significant="perhaps")
    result = record(db, tmp_path, [*good[:3], "", bad_value])  # a blank line still counts
    assert result.exit_code == 1
    assert "line 5" in result.output
    assert "significant" in result.output
    assert "nothing recorded" in result.output
    assert status(db)["newest_event"] == newest

    missing = {k: v for k, v in good[3].items() if k != "proposed_by"}
    result = record(db, tmp_path, [*good[:3], missing])
    assert result.exit_code == 1
    assert "line 4" in result.output
    assert "proposed_by" in result.output

    not_json = record(db, tmp_path, [*good[:2], '{"type": "ReviewHeld",'])
    assert not_json.exit_code == 1
    assert "line 3" in not_json.output
    assert "not valid JSON" in not_json.output

    # valid on its own, refused against the case: approving a proposal that does not exist
    unknown = review(SHAW, "2024-02-06", "REV-05", {"kind": "approve", "proposal_id": "PRO-99"})
    result = record(db, tmp_path, [*good, unknown])
    assert result.exit_code == 1
    assert "line 5" in result.output
    assert "decisions[0].proposal_id" in result.output
    assert "PRO-99" in result.output

    assert status(db)["newest_event"] == newest
    no_case = invoke("history", "--db", db, f"{COUNCIL}:{SHAW}")
    assert no_case.exit_code == 1
    assert f"no case for child '{SHAW}'" in no_case.output
    assert len(history(db, MORRIS)) == len(move_rejected_at_review()) + 1


def test_event_dated_in_the_future_is_refused(db: str, tmp_path: Path) -> None:
    init(db)
    result = record(db, tmp_path, [looked_after("FT-0001", "2999-01-01", "V2", "U6")])
    assert result.exit_code == 1
    assert "line 1" in result.output
    assert "occurred_on" in result.output
    assert "future" in result.output


def test_recording_requires_an_actor_and_role(db: str, tmp_path: Path) -> None:
    init(db)
    path = write_lines(tmp_path / "one.jsonl", [looked_after("AR-0001", "2024-01-08", "V2", "U6")])

    no_actor = invoke(
        "record",
        "--db",
        db,
        "--file",
        path,
        env={"CARELEDGER_ACTOR": None, "CARELEDGER_ROLE": None},
    )
    assert no_actor.exit_code == 2
    assert "--actor" in no_actor.output

    no_role = invoke("record", "--db", db, "--file", path, env={"CARELEDGER_ROLE": None})
    assert no_role.exit_code == 2
    assert "--role" in no_role.output

    bad_role = invoke("record", "--db", db, "--file", path, env={"CARELEDGER_ROLE": "CLERK"})
    assert bad_role.exit_code == 2
    assert "--role" in bad_role.output

    assert status(db)["newest_event"] == 0

    ok(invoke("record", "--db", db, "--file", path, "--actor", "k.mensah", "--role", "ADMIN"))
    rows = history(db, "AR-0001")
    assert {r["recorded_by"] for r in rows} == {"k.mensah (ADMIN)"}


def test_record_one_event_from_options(db: str) -> None:
    init(db)
    c = "OP-0001"
    result = invoke(
        "record",
        "--db",
        db,
        "--type",
        "ChildBecameLookedAfter",
        "--council",
        COUNCIL,
        "--child",
        c,
        "--set",
        "occurred_on=2024-01-08",
        "--set",
        "source=LCS/EPI/24-0008",
        "--set",
        "legal_status=V2",
        "--set",
        "placement=U6",
    )
    # exactly: no blank line where a progress bar was (stdout is the command's answer)
    assert ok(result).stdout == "recorded 1 event(s)\n"
    assert result.stderr == ""  # and no bar's leftover on stderr either: it is not a terminal

    ok(
        invoke(
            "record",
            "--db",
            db,
            "--type",
            "CarePlanSectionChanged",
            "--council",
            COUNCIL,
            "--child",
            c,
            "--set",
            "occurred_on=2024-03-04",
            "--set",
            "source=LCS/NOTE/24-0301",
            "--set",
            "change_id=CHG-01",
            "--set",
            "section=placement",
            "--set",
            "content=Moved to Mr and Mrs Quayle",
            "--set",
            "significant=true",
            "--set",
            'decided_by={"name": "Owen Pryce", "role": "TM"}',
            "--set",
            'authority={"kind": "none"}',
        )
    )
    rows = history(db, c)
    assert [r["type"] for r in rows] == [
        "CaseOpened",
        "ChildBecameLookedAfter",
        "CarePlanSectionChanged",
    ]
    assert rows[2]["source"] == "LCS/NOTE/24-0301"
    assert rows[2]["recorded_by"] == f"{ACTOR} (SW)"
    assert plan(db, c)["placement"]["content"] == "Moved to Mr and Mrs Quayle"
    assert [r["kind"] for r in unapproved(db, c)] == [FlagKind.WITHOUT_REVIEW]

    missing = invoke(
        "record",
        "--db",
        db,
        "--type",
        "LegalStatusChanged",
        "--council",
        COUNCIL,
        "--child",
        c,
        "--set",
        "occurred_on=2024-04-01",
        "--set",
        "legal_status=C2",
    )
    assert missing.exit_code == 1
    assert "source" in missing.output
    assert "is required" in missing.output

    both = invoke("record", "--db", db, "--type", "LegalStatusChanged", "--file", "x.jsonl")
    assert both.exit_code == 1
    assert "either --file or --type" in both.output
    assert len(history(db, c)) == 3


# --- projections ----------------------------------------------------------------------------


def reports(db: str, children: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"unapproved": unapproved(db)}
    for c in children:
        out[f"plan {c}"] = plan(db, c)
        out[f"plan {c} 2024-06-01"] = plan(db, c, "--as-of", "2024-06-01")
        out[f"history {c}"] = history(db, c)
        out[f"unapproved {c}"] = unapproved(db, c)
    return out


def test_rebuilt_projection_equals_incremental(db: str, tmp_path: Path) -> None:
    init(db)
    events, correction = return_home_then_corrected()
    ok(record(db, tmp_path, placement_ended_before_christmas()))
    ok(record(db, tmp_path, staying_put_reversed() + move_rejected_at_review()))
    ok(record(db, tmp_path, events))
    ok(record(db, tmp_path, [correction]))
    children = [PEARCE, SHAW, MORRIS, ROWE]

    incremental = reports(db, children)
    assert status(db)["lag"] == 0

    rebuilt = ok(invoke("projections", "rebuild", "--db", db))
    newest = status(db)["newest_event"]
    assert f"from {newest} event(s)" in rebuilt.stdout
    assert reports(db, children) == incremental

    named = ok(invoke("projections", "rebuild", "careledger_views", "--db", db))
    assert "rebuilt careledger_views" in named.stdout
    assert reports(db, children) == incremental

    unknown = invoke("projections", "rebuild", "no_such_view", "--db", db)
    assert unknown.exit_code == 1
    assert "no_such_view" in unknown.output


def test_projection_status_shows_lag_until_a_read_catches_up(db: str, tmp_path: Path) -> None:
    init(db)
    ok(record(db, tmp_path, move_rejected_at_review()))
    caught_up = status(db)
    assert caught_up["lag"] == 0
    assert caught_up["position"] == caught_up["newest_event"]

    # recorded straight into the ledger: nothing has updated the projections yet
    record_at(
        db,
        datetime.now(UTC),
        [
            change(
                MORRIS, "2025-04-01", "CHG-01", "education", "Tutoring at Brook House", NO_AUTHORITY
            )
        ],
    )
    behind = status(db)
    assert behind["newest_event"] == caught_up["newest_event"] + 1
    assert behind["position"] == caught_up["position"]
    assert behind["lag"] == 1

    assert plan(db, MORRIS)["education"]["content"] == "Tutoring at Brook House"
    after = status(db)
    assert after["lag"] == 0
    assert after["position"] == after["newest_event"] == behind["newest_event"]


# --- errors ---------------------------------------------------------------------------------


def test_uninitialised_store_gives_clear_error(db: str, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "one.jsonl", [looked_after("UN-0001", "2024-01-08", "V2", "U6")])
    for args in (
        ["plan", "--db", db, f"{COUNCIL}:UN-0001"],
        ["history", "--db", db, f"{COUNCIL}:UN-0001"],
        ["unapproved", "--db", db],
        ["projections", "status", "--db", db],
        ["record", "--db", db, "--file", path],
    ):
        result = invoke(*args)
        assert result.exit_code == 1, args
        assert "careledger init" in result.output, args
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit)

    if not db.startswith("postgresql://"):
        # a file that exists but is not a ledger
        empty = tmp_path / "empty.db"
        empty.touch()
        result = invoke("plan", "--db", empty, f"{COUNCIL}:UN-0001")
        assert result.exit_code == 1
        assert "not an initialised ledger" in result.output

    init(db)
    unknown = invoke("plan", "--db", db, f"{COUNCIL}:UN-0001")
    assert unknown.exit_code == 1
    assert "no case for child 'UN-0001'" in unknown.output


def test_child_without_council_gives_clear_error(db: str) -> None:
    init(db)
    result = invoke("plan", "--db", db, "UN-0001")
    assert result.exit_code == 1
    assert "needs a council" in result.output
    with_council = invoke("plan", "--db", db, "UN-0001", "--council", COUNCIL)
    assert with_council.exit_code == 1
    assert "no case for child 'UN-0001'" in with_council.output


def test_unsupported_store_url_is_refused(db: str) -> None:
    result = invoke("init", "--db", "mysql://host/db")
    assert result.exit_code == 1
    assert "neither a SQLite file path nor a postgresql:// URL" in result.output
