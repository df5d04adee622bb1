"""import-903 refuses, in its check pass, every row the recording would refuse: a return is
recorded whole or not at all ("exit 1, nothing recorded"), whatever its rows hold.

Built from a real sample return (tests/data/ssda903, the 2019 return of the d2i demand
model: 648 episodes of 362 children) with one cell made bad, as a council's extract might
arrive.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from click.testing import Result

from careledger.api import Opened
from tests.returns903 import (
    COUNCIL,
    SW_EPISODES,
    YEAR,
    episode,
    header,
    invoke,
    run_import,
    write_csv,
    write_return,
)

SAMPLE = Path(__file__).parent / "data" / "ssda903" / "d2i_demand_model_multiyear" / "2019"


def sample_with(directory: Path, file: str, column: str, value: str) -> tuple[Path, int]:
    """The sample return's Header and Episodes (its Reviews run past today) with `column`
    of `file`'s last row set to `value`; that row's number as a spreadsheet shows it."""
    directory.mkdir()
    for name in ("header.csv", "episodes.csv"):
        shutil.copy(SAMPLE / name, directory / name)
    path = directory / file
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    rows[-1][column] = value
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return directory, len(rows) + 1


def imported(db: str, directory: Path, *more: str) -> Result:
    return invoke("import-903", directory, "--db", db, "--council", COUNCIL, "--year", YEAR,
                  *more)  # fmt: skip


def nothing_recorded(o: Opened) -> None:
    assert not o.ledger.recorder.max_notification_id()


def refused_whole(result: Result, line: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert line in result.stderr, result.stderr
    assert "1 row(s) cannot be read or recorded; nothing recorded" in result.stderr


def test_a_child_reference_too_long_in_the_last_episodes_row_refuses_the_whole_return(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory, row = sample_with(tmp_path / "r", "episodes.csv", "CHILD", "7" * 300)

    refused_whole(imported(db, directory),
                  f"episodes.csv row {row}, CHILD: is 300 characters long; at most 200 are "
                  "accepted (CARELEDGER_MAX_ID_LENGTH)")  # fmt: skip
    nothing_recorded(o)


@pytest.mark.parametrize(
    ("child", "problem"),
    [
        ("5695\u00a082", "holds a space at character 5"),  # NFKC: a no-break space is one
        ("5695\u200b82", "holds an invisible formatting character (U+200B) at character 5"),
        ("\u0421569582", "holds '\u0421' (U+0421, CYRILLIC CAPITAL LETTER ES) at character 1"),
        ("E09:569582", "must not contain ':' or control characters"),
    ],
)
def test_a_child_reference_no_case_could_be_named_by_is_refused_before_anything_is_recorded(
    o: Opened, db: str, tmp_path: Path, child: str, problem: str
) -> None:
    directory, row = sample_with(tmp_path / "r", "episodes.csv", "CHILD", child)
    refused_whole(imported(db, directory), f"episodes.csv row {row}, CHILD: {problem}")
    nothing_recorded(o)


def test_a_one_megabyte_cell_is_refused_naming_file_row_and_column(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory, row = sample_with(tmp_path / "r", "episodes.csv", "HOME_POST", "x" * 1_000_000)

    refused_whole(imported(db, directory),
                  f"episodes.csv row {row}, HOME_POST: is 1,000,000 characters long; at most "
                  "20,000 are accepted (CARELEDGER_MAX_CSV_CELL)")  # fmt: skip
    nothing_recorded(o)


def test_a_social_worker_id_the_ledger_would_refuse_is_refused_in_the_check(
    o: Opened, tmp_path: Path
) -> None:
    directory = write_return(tmp_path / "r", [header("A1"), header("B2")],
                             [episode("A1", "01/05/2019", "S"), episode("B2", "01/05/2019", "S")])
    write_csv(directory / "sw.csv", SW_EPISODES, [
        {"CHILD": "A1", "DOB": "14/02/2010", "SW_ID": "SW-1120", "SW_DECOM": "02/05/2019"},
        {"CHILD": "B2", "DOB": "14/02/2010", "SW_ID": "SW\x1b[2J", "SW_DECOM": "02/05/2019"},
    ])  # fmt: skip

    report = run_import(o, directory)

    [refusal] = report.refused
    assert (refusal.file, refusal.row, refusal.column, refusal.child) == ("sw.csv", 3, "SW_ID",
                                                                          "B2")  # fmt: skip
    assert refusal.reason.startswith("holds a control character (U+001B) at character 3")
    assert not report.recorded
    nothing_recorded(o)


def test_a_file_name_too_long_to_cite_is_refused_before_anything_is_recorded(
    o: Opened, tmp_path: Path
) -> None:
    long_name = "episodes-" + "x" * 150 + ".csv"
    directory = write_return(tmp_path / "r", [header("A1")], [episode("A1", "01/05/2019", "S")],
                             names=("header.csv", long_name, "reviews.csv"))  # fmt: skip

    report = run_import(o, directory)

    assert {(r.file, r.column) for r in report.refused} == {(long_name, "(file name)")}
    assert report.refused[0].reason.startswith("is 2")
    assert not report.recorded
    nothing_recorded(o)


def test_a_council_code_no_case_could_be_named_by_is_a_usage_error(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory = write_return(tmp_path / "r", [header("A1")], [episode("A1", "01/05/2019", "S")])
    for council, problem in [("E09:1", "must not contain ':' or control characters"),
                             ("E09\u041e00027", "CYRILLIC CAPITAL LETTER O")]:  # fmt: skip
        result = invoke("import-903", directory, "--db", db, "--council", council,
                        "--year", YEAR)  # fmt: skip
        assert result.exit_code == 2, result.output
        assert problem in result.stderr, result.stderr
    nothing_recorded(o)
