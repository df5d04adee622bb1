"""The court chronology and checking an export later, on a SQLite
file and on PostgreSQL.

Dean (NR-0104, after NAIRO's case 5, Roy): accommodated under s.20;
senior managers end his care on a Friday without a review or approval; the IRO challenges;
the ending was first keyed with the wrong date and reason and is corrected; he is looked
after again. His chronology must hold every event once, in date order, with the correction
visible where it applies and the correction's own row; the challenge's steps; the flags; and
a header whose head digest is the one `verify` gives. `verify-export` must say whether an
export still matches: same events, same content, file unedited, case grown since.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from careledger.ledger.domain.identity import case_id
from tests.envelope import data_of
from tests.tamper import direct
from tests.test_integrity import DEMO, invoke, ok

COUNCIL, DEAN = "E10000099", "NR-0104"
CHILD = f"{COUNCIL}:{DEAN}"


@pytest.fixture
def ledger(db: str, tmp_path: Path) -> str:
    ok(invoke("init", "--db", db))
    path = tmp_path / "dean.jsonl"
    path.write_text("\n".join(_dean_lines()) + "\n", encoding="utf-8")
    ok(invoke("record", "--db", db, "--file", path))
    return db


def _dean_lines() -> list[str]:
    """Dean's lines of the demo file, without the demo-only `recorded_on`."""
    lines = []
    for text in DEMO.read_text(encoding="utf-8").splitlines():
        line = json.loads(text) if text.strip() else {}
        if (line.get("council"), line.get("child")) == (COUNCIL, DEAN):
            line.pop("recorded_on", None)
            lines.append(json.dumps(line))
    return lines


def chronology(db: str, *options: str) -> dict[str, Any]:
    out = ok(invoke("chronology", "--db", db, CHILD, "--format", "json", *options)).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def export(db: str, tmp_path: Path, fmt: str, *options: str) -> Path:
    path = tmp_path / f"dean.{fmt}"
    ok(invoke("chronology", "--db", db, CHILD, "--format", fmt, "--out", path, *options))
    return path


def test_every_event_appears_once_in_date_order(ledger: str) -> None:
    made = chronology(ledger)
    events = [row["event"] for row in made["rows"]]
    recorded = len(_dean_lines())
    assert sorted(events) == list(range(2, recorded + 2))  # event 1 opens the case record
    assert [row["number"] for row in made["rows"]] == list(range(1, recorded + 1))
    keys = [(row["date"], row["event"]) for row in made["rows"]]
    assert keys == sorted(keys)
    assert made["events"] == recorded + 1


def test_the_corrected_ending_shows_where_it_applies_with_what_was_first_recorded(
    ledger: str,
) -> None:
    rows = {row["event"]: row for row in chronology(ledger)["rows"]}
    ending = rows[9]
    assert ending["date"] == "2024-09-13"  # as corrected; first keyed as 16/09
    assert ending["what"] == "ceased to be looked after (reason E8, no approval recorded)"
    [correction] = ending["corrections"]
    assert correction.startswith("corrected by event 13 of 2024-10-01 (Care ended on Friday")
    assert correction.endswith(
        'occurred_on first recorded as "2024-09-16", corrected to "2024-09-13"; '
        'reason first recorded as "E4A", corrected to "E8"'
    )
    assert rows[13]["kind"] == "CorrectionRecorded"
    assert rows[13]["what"].startswith("corrects event #9")
    # the corrected ending sits before the challenge of 20/09, where it applies
    order = [row["event"] for row in chronology(ledger)["rows"]]
    assert order.index(9) < order.index(10)


def test_who_decided_authority_challenge_and_flags_are_on_each_row(ledger: str) -> None:
    rows = {row["event"]: row for row in chronology(ledger)["rows"]}
    friday = rows[8]
    assert friday["decided_by"] == "Graham Teller (SENIOR_MANAGER)"
    assert friday["authority"] == "none"
    assert friday["flags"] == [
        "child not consulted: permanence (Children Act 1989 s.22(4)-(5))",
        "made without review approval: permanence (CPPCR 2010 reg 32(2))",
    ]
    assert friday["source"] == "LCS/MGT/24-0151"
    assert rows[9]["authority"] == "none recorded (reg 39)"
    assert rows[10]["challenge"] == "CH-01: raised at stage 1"
    assert rows[12]["challenge"] == "CH-01: escalated to stage 3"
    assert rows[15]["challenge"] == "CH-01: upheld"
    assert rows[15]["decided_by"] == "Dawn Redfern (SERVICE_MANAGER)"


def test_the_header_gives_the_head_digest_that_verify_gives(ledger: str) -> None:
    made = chronology(ledger, "--produced-by", "court.officer")
    verified = data_of(
        ok(invoke("verify", "--db", ledger, "--child", CHILD, "--format", "json")).stdout
    )
    assert made["head_digest"] == verified["case_head"]
    assert made["produced_by"] == "court.officer"
    assert made["child"] == CHILD
    assert made["rows"][-1]["event_hash"] == verified["case_head"]


def test_the_period_limits_the_rows_not_the_head(ledger: str) -> None:
    made = chronology(ledger, "--from", "2024-09-01", "--to", "2024-10-31")
    assert [row["date"] for row in made["rows"]] == [
        "2024-09-13", "2024-09-13", "2024-09-20", "2024-09-26", "2024-09-27", "2024-10-01",
    ]  # fmt: skip
    assert made["period"] == {"from": "2024-09-01", "to": "2024-10-31"}
    assert made["events"] == len(_dean_lines()) + 1


@pytest.mark.parametrize("fmt", ["json", "csv", "md", "html", "pdf"])
def test_an_export_matches_the_ledger_it_came_from(ledger: str, tmp_path: Path, fmt: str) -> None:
    path = export(ledger, tmp_path, fmt)
    lines = ok(invoke("verify-export", "--db", ledger, path)).stdout.splitlines()
    assert lines[0] == "MATCHES the ledger"
    assert (
        lines[1] == f"same events: the {len(_dean_lines()) + 1} events it covers are in the "
        "ledger as they were recorded"
    )
    assert lines[-1] == "the case has not grown since the export"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_edited_export_is_found(ledger: str, tmp_path: Path, fmt: str) -> None:
    path = export(ledger, tmp_path, fmt)
    path.write_text(
        path.read_text(encoding="utf-8").replace("Graham Teller", "Philippa Crane"),
        encoding="utf-8",
    )
    result = invoke("verify-export", "--db", ledger, path)
    assert result.exit_code == 3  # verification failed
    assert "DIFFERENT: the file's rows were edited (first at row 7)" in result.stdout


def test_a_case_grown_since_the_export_is_reported_and_still_matches(
    ledger: str, tmp_path: Path
) -> None:
    path = export(ledger, tmp_path, "md")
    line = {
        "type": "SocialWorkerAllocated", "council": COUNCIL, "child": DEAN,
        "occurred_on": "2025-10-06", "source": "LCS/NOTE/5001", "worker_id": "SW-1522",
        "worker_name": "Ruth Anand", "team": "Children in Care East",
    }  # fmt: skip
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps(line) + "\n", encoding="utf-8")
    ok(invoke("record", "--db", ledger, "--file", more))
    lines = ok(invoke("verify-export", "--db", ledger, path)).stdout.splitlines()
    assert lines[0] == "MATCHES the ledger"
    assert lines[-1] == "the case has grown: 1 event(s) recorded since the export"


def test_an_entry_corrected_since_the_export_is_named_and_never_called_unchanged(
    ledger: str, tmp_path: Path
) -> None:
    """A court holds an export; the council then corrects the Friday decision in it."""
    path = export(ledger, tmp_path, "csv")
    friday = next(
        row for row in chronology(ledger)["rows"] if row["source"] == "LCS/MGT/24-0151"
    )
    line = {
        "type": "CorrectionRecorded", "council": COUNCIL, "child": DEAN,
        "occurred_on": "2025-10-08", "source": "LCS/EPI/24-0921B",
        "corrects_seq": friday["event"], "reason": "the decision was keyed with the wrong words",
        "corrected": {"content": "Return home to mother on Monday"},
    }  # fmt: skip
    more = tmp_path / "correction.jsonl"
    more.write_text(json.dumps(line) + "\n", encoding="utf-8")
    ok(invoke("record", "--db", ledger, "--file", more))

    result = invoke("verify-export", "--db", ledger, path)
    assert result.exit_code == 4, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("MATCHES the ledger as it stood when exported, but 1 of its")
    assert "unchanged" not in result.stdout
    (named,) = [line for line in lines if line.startswith("CORRECTED SINCE")]
    assert f"entry {friday['number']} (event {friday['event']})" in named
    assert "of 2025-10-08" in named
    assert '"Return home to mother from today (Friday)" in the export' in named
    assert 'now "Return home to mother on Monday"' in named

    report = data_of(invoke("verify-export", "--db", ledger, path, "--format", "json").stdout)
    assert [c["entry"] for c in report["corrected_since"]] == [friday["number"]]


def test_a_rewritten_ledger_gives_no_chronology_and_fails_the_export(
    ledger: str, tmp_path: Path
) -> None:
    path = export(ledger, tmp_path, "json")
    with direct(ledger) as tables:
        tables.disable_triggers()
        event = tables.event(case_id(COUNCIL, DEAN), 8)
        tables.set_state(event.case, 8, event.state.replace(b"Friday", b"Monday"))
    refused = invoke("chronology", "--db", ledger, CHILD)
    assert refused.exit_code == 3  # verification failed: the case's chain
    assert "the chain of this case is broken at event 8" in refused.output
    assert invoke("verify-export", "--db", ledger, path).exit_code == 3


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_an_edited_header_or_row_in_any_form_is_found(
    ledger: str, tmp_path: Path, fmt: str
) -> None:
    """The file must be exactly what the ledger gives for its events, date and author."""
    path = export(ledger, tmp_path, fmt, "--produced-by", "court.officer")
    text = path.read_text(encoding="utf-8")
    for before, after in (("Graham Teller", "Philippa Crane"), ("court.officer", "the judge")):
        path.write_text(text.replace(before, after, 1), encoding="utf-8")
        result = invoke("verify-export", "--db", ledger, path)
        assert result.exit_code == 3, (before, result.output)
        assert result.stdout.splitlines()[0] == "DOES NOT MATCH the ledger"


def test_a_row_added_after_the_csv_stamp_is_found(ledger: str, tmp_path: Path) -> None:
    path = export(ledger, tmp_path, "csv")
    with path.open("a", encoding="utf-8") as csv_file:
        csv_file.write("99,2025-01-01,99,ReviewHeld,forged review,,,,,,,,\n")
    assert invoke("verify-export", "--db", ledger, path).exit_code == 3


def test_the_chronology_is_read_from_the_stored_events_not_the_projection(
    ledger: str, tmp_path: Path
) -> None:
    """An edited projection table (cl_events) neither changes a court chronology nor makes a
    genuine export fail: both are read from the stored events, whose chain was verified."""
    path = export(ledger, tmp_path, "json")
    genuine = chronology(ledger)["rows"]
    with direct(ledger) as tables:
        tables.unguard_projections()
        tables.run(
            "UPDATE cl_events SET payload = replace(payload, 'Graham Teller', 'Someone Else'), "
            "source = 'FORGED/1' WHERE seq = 8"
        )
        tables.run("DELETE FROM cl_events WHERE seq = 10")
    assert chronology(ledger)["rows"] == genuine
    assert ok(invoke("verify-export", "--db", ledger, path)).stdout.startswith("MATCHES")
