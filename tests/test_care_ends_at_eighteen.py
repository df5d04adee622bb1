"""Nobody is looked after past their 18th birthday (a child is a person under 18: CA 1989
s.105(1)). A child whose care is never recorded as ending has no review due after that day:
not in `reviews`, not in the drift report's overdue reviews; the record is listed to be put
right, in `inconsistencies` and in the drift report's data-quality section.

The history, recorded through the CLI: Kayden came into care at 11 on a full care order and
was reviewed on reg 33's timetable for six years; his last review was at 17, on 10 April
2025, so the next fell due on 10 October 2025, after his 18th birthday (14 September 2025).
Nobody recorded his leaving care.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from careledger.cli.main import cli
from tests.envelope import data_of
from tests.validator903 import findings

COUNCIL = "E10000031"
CHILD = "LC-1804"
WHO = f"{COUNCIL}:{CHILD}"
IRO = {"name": "Shirin Patel", "role": "IRO"}
TM = {"name": "Owen Pryce", "role": "TM"}
OFFICER = {"name": "Ruth Abara", "role": "NOMINATED_OFFICER"}
REVIEWS = (
    "2019-04-01", "2019-06-24", "2019-12-16", "2020-06-08", "2020-12-07", "2021-06-01",
    "2021-11-29", "2022-05-23", "2022-11-14", "2023-05-08", "2023-11-06", "2024-04-29",
    "2024-10-21", "2025-04-10",
)  # fmt: skip
PUT_RIGHT = "looked after past 18: record when care ended"


def ev(kind: str, on: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "council": COUNCIL, "child": CHILD, "occurred_on": on,
            "source": f"LCS/{kind}/{on}", **fields}  # fmt: skip


def history() -> list[dict[str, Any]]:
    return [
        ev("ChildBecameLookedAfter", "2019-03-11", legal_status="C2", placement="U4"),
        ev("ChildDetailsRecorded", "2019-03-11",
           details={"sex": "1", "dob": "2007-09-14", "ethnic": "WBRI"}),
        ev("IROAllocated", "2019-03-12", iro_id="IRO-4", iro_name=IRO["name"]),
        ev("CarePlanAgreed", "2019-03-20", sections={"permanence": "Long-term fostering"},
           decided_by=TM),
        *(ev("ReviewHeld", on, review_id=f"R-{n}", chair=IRO, participation="PN1",
             child_seen_before=True) for n, on in enumerate(REVIEWS, start=1)),
    ]  # fmt: skip


def invoke(db: str, *args: Any) -> Result:
    env = {"CARELEDGER_ACTOR": "sw-2210", "CARELEDGER_ROLE": "SW", "CARELEDGER_DB": db,
           "CARELEDGER_COUNCIL": None}  # fmt: skip
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result


def record(db: str, path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    invoke(db, "record", "--file", path)


def drift(db: str) -> dict[str, Any]:
    report: dict[str, Any] = data_of(invoke(db, "drift", "--format", "json").stdout)
    return report


def put_right(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(r["title"], r["group"], r["count"]) for r in report["records_to_put_right"]]


def test_no_review_is_due_after_the_18th_birthday_and_the_missing_ending_is_listed(
    db: str, tmp_path: Path
) -> None:
    invoke(db, "init")
    record(db, tmp_path / "history.jsonl", history())

    timetable = data_of(invoke(db, "reviews", WHO, "--format", "json").stdout)["timetable"]
    assert [r["held_on"] for r in timetable if r["held_on"]] == list(REVIEWS)
    assert timetable[-1]["due_by"] == "2025-10-10"
    assert timetable[-1]["status"] == "none due: 18 on 2025-09-14; record when care ended"

    report = drift(db)
    assert report["findings"]["review_overdue"] == []
    overdue = next(c for c in report["summary"] if c["measure"] == "review_overdue")
    assert (overdue["count"], overdue["of"]) == (0, 0)  # not looked after now
    assert put_right(report) == [(PUT_RIGHT, "all", 1)]
    assert PUT_RIGHT in invoke(db, "drift", "--format", "csv").stdout
    assert PUT_RIGHT in invoke(db, "drift", "--format", "html").stdout
    assert "Records to put right" in invoke(db, "drift").stdout

    listed = data_of(invoke(db, "inconsistencies", "--child", WHO, "--format", "json").stdout)
    assert [(r["rule"], r["occurred_on"], r["what"]) for r in listed] == [
        ("359", "2025-09-14", "looked after past 18 (18 on 2025-09-14): record when care ended")
    ]
    # The DfE's rule finds the same in the return the ledger makes of that year.
    out = tmp_path / "2025"
    invoke(db, "export-903", "--council", COUNCIL, "--year", 2025, out)
    assert findings(out, collection_year=2026, rules=["359"]) == {("359", CHILD)}


def test_recording_when_care_ended_puts_the_record_right(db: str, tmp_path: Path) -> None:
    invoke(db, "init")
    ended = ev("ChildCeasedToBeLookedAfter", "2025-09-14", reason="E8", approved_by=OFFICER)
    record(db, tmp_path / "history.jsonl", [*history(), ended])

    timetable = data_of(invoke(db, "reviews", WHO, "--format", "json").stdout)["timetable"]
    assert [r["status"] for r in timetable if not r["held_on"]] == []
    assert put_right(drift(db)) == [(PUT_RIGHT, "all", 0)]
    listed = invoke(db, "inconsistencies", "--child", WHO, "--format", "json").stdout
    assert data_of(listed) == []


def test_care_recorded_as_going_on_after_the_18th_birthday_is_listed_too(
    db: str, tmp_path: Path
) -> None:
    invoke(db, "init")
    late = ev("ChildCeasedToBeLookedAfter", "2025-11-03", reason="E8", approved_by=OFFICER)
    record(db, tmp_path / "history.jsonl", [*history(), late])

    assert drift(db)["findings"]["review_overdue"] == []
    assert put_right(drift(db)) == [(PUT_RIGHT, "all", 1)]
    listed = data_of(invoke(db, "inconsistencies", "--child", WHO, "--format", "json").stdout)
    assert [r["what"] for r in listed] == [
        "looked after past 18: care recorded as going on to 2025-11-03, after the 18th birthday "
        "(2025-09-14): record when care ended"
    ]
