"""The review of the SSDA903 import: how returns restate one another, and the
edges of reading and writing a return, proved on small hand-written returns in the DfE's CSV
layout (dates dd/mm/yyyy), recorded in a real SQLite file and a real PostgreSQL schema.

- Returns are imported oldest first: an older return after a newer one is refused.
- A later return whose RNE makes a row another kind of event corrects only the episode of
  the event first recorded; the event keeps its kind.
- Duplicate SWEpisodes rows are two allocations, recorded once.
- A row with more or fewer cells than there are columns is refused with its row; a file that
  is not UTF-8 is refused by name before anything is recorded.
- A correction's reason and a chronology never repeat postcodes, URN or UPN.
- The inconsistencies projection lists dates after a return's year, episodes a later return
  replaced (left out of the judging of the whole history) and endings a later return withdrew.
- The export and the refused-rows report are readable by their owner only.
"""

from __future__ import annotations

import csv
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from careledger.api import Opened, opened
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.plan import effective
from careledger.ledger.errors import LedgerError
from careledger.ledger.ssda903.files import find_tables
from careledger.ledger.ssda903.importer import ReturnImport
from careledger.projections.inconsistencies import Inconsistency, inconsistencies, overlaps
from careledger.projections.returns import ChildRecords, children
from tests.returns903 import (
    ACTOR,
    COUNCIL,
    DOB,
    EPISODES,
    SW_EPISODES,
    YEAR,
    episode,
    events,
    header,
    invoke,
    of,
    review,
    run_import,
    types,
    write_csv,
    write_return,
)


def import_903(db: str, directory: Path, year: int, *more: Any) -> Result:
    return invoke("import-903", directory, "--db", db, "--council", COUNCIL, "--year", year,
                  "--actor", "data-officer", *more)  # fmt: skip

D = date.fromisoformat


def no_case_recorded(o: Opened, *child_refs: str) -> None:
    assert o.ledger.cases_of(COUNCIL, list(child_refs)) == {}
    assert not o.ledger.recorder.max_notification_id()


def records_of_child(o: Opened, child: str) -> ChildRecords:
    o.catch_up()
    found = [r for r in children(o.views, COUNCIL) if r.child_ref == child]
    assert len(found) == 1
    return found[0]


# --- 1. returns are imported oldest first -----------------------------------------------------


def older_and_newer(tmp_path: Path, child: str) -> tuple[Path, Path]:
    """The child's 2019-20 return, an episode open, and the 2020-21 return ending it."""
    row = episode(child, "01/04/2019", "S")
    older = write_return(tmp_path / "2019", [header(child)], [row])
    newer = write_return(
        tmp_path / "2020", [header(child)], [{**row, "DEC": "10/08/2020", "REC": "E11"}]
    )
    return older, newer


def test_an_older_return_after_a_newer_one_is_refused_naming_year_and_the_held_return(
    o: Opened, db: str, tmp_path: Path
) -> None:
    older, newer = older_and_newer(tmp_path, "O1")
    first = import_903(db, newer, 2020)
    assert first.exit_code == 0, first.output
    last = o.ledger.recorder.max_notification_id()
    version = o.ledger.case(COUNCIL, "O1").version

    refused = import_903(db, older, 2019)

    assert refused.exit_code == 1, refused.output
    assert "--year" in refused.stderr
    assert f"already holds {COUNCIL}'s 2020-21 return" in refused.stderr
    assert "oldest first" in refused.stderr
    assert o.ledger.recorder.max_notification_id() == last
    with opened(db) as fresh:
        assert fresh.ledger.case(COUNCIL, "O1").version == version

    again = import_903(db, newer, 2020)

    assert again.exit_code == 0, again.output
    assert "0 event(s) recorded" in again.stdout
    assert o.ledger.recorder.max_notification_id() == last


def test_the_council_code_is_read_as_the_case_ids_read_it_so_spaces_cannot_pass_the_order(
    o: Opened, db: str, tmp_path: Path
) -> None:
    older, newer = older_and_newer(tmp_path, "O2")
    assert import_903(db, newer, 2020).exit_code == 0
    last = o.ledger.recorder.max_notification_id()

    for spelled in (f" {COUNCIL}", f"{COUNCIL.lower()} "):
        refused = invoke("import-903", older, "--db", db, "--council", spelled, "--year", 2019,
                         "--actor", "data-officer")  # fmt: skip

        assert refused.exit_code == 1, refused.output
        assert f"already holds {COUNCIL}'s 2020-21 return" in refused.stderr
    assert o.ledger.recorder.max_notification_id() == last


def test_an_empty_council_code_is_refused_by_name_before_anything_is_read(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory = write_return(tmp_path / "2019", [header("O3")], [episode("O3", "01/04/2019", "S")])

    refused = invoke("import-903", directory, "--db", db, "--council", "  ", "--year", 2019,
                     "--actor", "data-officer")  # fmt: skip

    assert refused.exit_code == 2, refused.output
    assert "--council" in refused.stderr and "is empty" in refused.stderr
    no_case_recorded(o, "O3")


def test_a_return_for_a_collection_year_not_yet_begun_is_refused(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory = write_return(tmp_path / "r", [header("O4")], [episode("O4", "01/04/2019", "S")])
    today = o.ledger.clock().date()
    current = today.year if today.month >= 4 else today.year - 1

    refused = import_903(db, directory, current + 1)

    assert refused.exit_code == 1, refused.output
    assert f"--year: the {current + 1}-" in refused.stderr and "has not begun" in refused.stderr
    no_case_recorded(o, "O4")
    assert import_903(db, directory, YEAR).exit_code == 0


def test_export_and_inconsistencies_name_a_council_child_or_return_the_ledger_lacks(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory = write_return(tmp_path / "r", [header("O5")], [episode("O5", "01/04/2019", "S")])
    assert import_903(db, directory, YEAR).exit_code == 0

    export = invoke("export-903", "--db", db, "--council", "E00000000", "--year", YEAR,
                    tmp_path / "out")  # fmt: skip
    child = invoke("inconsistencies", "--db", db, "--child", f"{COUNCIL}:NOBODY")

    assert export.exit_code == 1, export.output
    assert "--council: the ledger holds no case of council 'E00000000'" in export.stderr
    assert not (tmp_path / "out").exists()
    assert child.exit_code == 1, child.output
    assert "no case for child 'NOBODY'" in child.stderr
    no_return = invoke("inconsistencies", "--db", db, "--council", COUNCIL, "--year", YEAR + 1)
    assert no_return.exit_code == 1, no_return.output
    assert f"--year: the ledger holds no 2020-21 return of council '{COUNCIL}'" in no_return.stderr
    held = invoke("inconsistencies", "--db", db, "--year", YEAR)
    assert held.exit_code == 0, held.output
    spelled = invoke("export-903", "--db", db, "--council", f" {COUNCIL.lower()}", "--year",
                     YEAR, tmp_path / "out")  # fmt: skip
    assert spelled.exit_code == 0 and "wrote 1 children" in spelled.stdout, spelled.output


# --- 2. a restated RNE keeps the event's kind -----------------------------------------------

# (the first return's rows, the later return's rows, the restated episode, the event's kind,
# what the correction's reason says changed)
RESTATED_RNE: dict[str, tuple[list[dict[str, str]], list[dict[str, str]], str, type, str]] = {
    "S-as-P": (
        [episode("N1", "01/04/2019", "S")],
        [episode("N1", "01/04/2019", "P")],
        "2019-04-01", p.ChildBecameLookedAfter, "RNE P (was S)",
    ),
    "L-as-T": (
        [episode("N1", "01/04/2019", "S", DEC="01/06/2019", REC="X1", REASON_PLACE_CHANGE="CARPL"),
         episode("N1", "01/06/2019", "L", LS="C1")],
        [episode("N1", "01/04/2019", "S", DEC="01/06/2019", REC="X1", REASON_PLACE_CHANGE="CARPL"),
         episode("N1", "01/06/2019", "T", LS="C1")],
        "2019-06-01", p.LegalStatusChanged, "RNE T (was L)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(RESTATED_RNE))
def test_a_restated_rne_corrects_only_the_episode_and_the_event_keeps_its_kind(
    o: Opened, db: str, tmp_path: Path, case: str
) -> None:
    before, after, episode_id, kind, changed = RESTATED_RNE[case]
    run_import(o, write_return(tmp_path / "2019", [header("N1")], before))
    originals = [x for x in events(o, "N1")
                 if getattr(x, "episode", None) and x.episode.episode_id == episode_id]  # fmt: skip
    assert types(originals) == [kind.__name__]
    original = originals[0]
    as_recorded = original.model_dump()
    recorded_before = len(events(o, "N1"))

    report = run_import(o, write_return(tmp_path / "2020", [header("N1")], after), YEAR + 1)

    assert report.recorded and report.refused == []
    assert (report.events, report.corrections) == (1, 1)
    recorded = events(o, "N1")
    assert len(recorded) == recorded_before + 1  # the one correction, nothing half-written
    correction = recorded[-1]
    assert isinstance(correction, p.CorrectionRecorded)
    assert correction.corrects_seq == original.seq
    assert correction.reason == f"restated by the SSDA903 2020-21 return: {changed}"
    assert list(correction.corrected) == ["episode"]
    new_rne = changed.split()[1]
    assert correction.corrected["episode"] == {
        **original.episode.model_dump(mode="json"), "rne": new_rne,
    }  # fmt: skip

    with opened(db) as fresh:  # the stored events, not cached objects
        case_now = fresh.ledger.case(COUNCIL, "N1")
        stored = case_now.entries[original.seq].payload
        assert type(stored).__name__ == kind.__name__ and stored.model_dump() == as_recorded
        now, corrected_by = effective(case_now.entries.values())[original.seq]
        assert type(now).__name__ == kind.__name__  # each event class is named as its payload
        assert (str(now.episode.rne), corrected_by) == (new_rne, (correction.seq,))
        assert types(of(kind, [x.payload for x in case_now.entries.values()])) == ([kind.__name__])
    records = records_of_child(o, "N1")
    assert [str(e.rne) for e, _ in records.episodes if e.episode_id == episode_id] == [new_rne]


# --- 3. duplicate SWEpisodes rows ----------------------------------------------------------


def test_two_identical_social_worker_rows_are_two_allocations_recorded_once(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory = write_return(tmp_path / "r", [header("W1")], [episode("W1", "02/05/2019", "S")])
    row = {"CHILD": "W1", "DOB": DOB, "SW_ID": "SW-101", "SW_DECOM": "02/05/2019",
           "SW_DEC": "", "SW_REASON": ""}  # fmt: skip
    write_csv(directory / "sw_episodes.csv", SW_EPISODES, [row, dict(row)])

    first = run_import(o, directory)
    allocations = of(p.SocialWorkerAllocated, events(o, "W1"))
    assert [(a.worker_id, a.occurred_on) for a in allocations] == [
        ("SW-101", date(2019, 5, 2)), ("SW-101", date(2019, 5, 2)),
    ]  # fmt: skip
    assert first.events == 4  # the episode, two allocations, the details
    version = o.ledger.case(COUNCIL, "W1").version
    last = o.ledger.recorder.max_notification_id()

    second = run_import(o, directory)
    with opened(db) as fresh:  # the third reads the store afresh
        third = ReturnImport(fresh.ledger, COUNCIL, YEAR, ACTOR).run(directory)

    for report in (second, third):
        assert report.recorded and report.refused == []
        assert (report.events, report.corrections, report.unchanged) == (0, 0, 4)
    assert o.ledger.recorder.max_notification_id() == last
    with opened(db) as fresh:
        assert fresh.ledger.case(COUNCIL, "W1").version == version
        stored = [x.payload for x in fresh.ledger.case(COUNCIL, "W1").entries.values()]
        assert len(of(p.SocialWorkerAllocated, stored)) == 2


# --- 4. rows with too few or too many cells -------------------------------------------------

GOOD_ROW = "G1,01/05/2020,S,C2,N1,U1,PR1,,,,,,"
CELLS = {
    "short": ("A1,01/05/2020,S,C2", "has 4 cells where there are 13 columns"),
    "long": ("A1,01/05/2020,S,C2,N1,U1,PR1,,,,,,,EXTRA",
             "has 14 cells where there are 13 columns"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CELLS))
def test_a_row_with_another_number_of_cells_than_columns_is_refused_with_its_row(
    o: Opened, tmp_path: Path, case: str
) -> None:
    line, reason = CELLS[case]
    directory = write_return(tmp_path / "r", [header("G1"), header("A1")], [])
    (directory / "episodes.csv").write_text(
        ",".join(EPISODES) + "\r\n" + GOOD_ROW + "\r\n" + line + "\r\n"
    )

    report = run_import(o, directory, 2020)

    assert not report.recorded
    assert [(r.file, r.row, r.column, r.child) for r in report.refused] == [
        ("episodes.csv", 3, "(row)", "A1")
    ]
    assert report.refused[0].reason == reason
    assert (report.children, report.events) == (0, 0)
    no_case_recorded(o, "G1", "A1")


# --- 5. a file that is not UTF-8 --------------------------------------------------------------


def cp1252_episodes(path: Path, good_rows_before: int) -> None:
    """episodes.csv saved as Windows-1252: a '£' (byte A3) in the last row's HOME_POST."""
    good = [f"U{n},01/05/2019,S,C2,N1,U1,PR1,,,,,,".encode() for n in range(good_rows_before)]
    bad = "B1,01/05/2019,S,C2,N1,U1,PR1,,,,£5 a week,,".encode("cp1252")
    assert b"\xa3" in bad
    path.write_bytes(b"\r\n".join([",".join(EPISODES).encode(), *good, bad, b""]))


@pytest.mark.parametrize("good_rows_before", [0, 400], ids=["first-row", "far-down"])
def test_a_file_that_is_not_utf8_fails_the_import_by_name_before_anything_is_recorded(
    o: Opened, tmp_path: Path, good_rows_before: int
) -> None:
    """Far down, the bad byte is past the first block read for the columns: the file is
    recognised, and the import fails while reading its rows."""
    refs = [f"U{n}" for n in range(good_rows_before)]
    directory = write_return(tmp_path / "r", [header(c) for c in [*refs, "B1"]], [],
                             [review(c, "12/09/2019", "PN1") for c in refs])  # fmt: skip
    cp1252_episodes(directory / "episodes.csv", good_rows_before)
    if good_rows_before:
        assert "episodes.csv" in {f.name for f in find_tables(directory).values()}

    with pytest.raises(LedgerError) as failed:
        run_import(o, directory)

    assert str(failed.value).startswith("episodes.csv: not UTF-8")
    no_case_recorded(o, *refs, "B1")


# --- 6. postcodes, URN and UPN are not repeated ---------------------------------------------

FIRST = {"HOME_POST": "AB1 2CD", "PL_POST": "AB3 4EF", "URN": "SC123456"}
LATER = {"HOME_POST": "CD5 6EF", "PL_POST": "GH7 8JK", "URN": "SC654321"}
UPNS = ("A123456789012", "B987654321098")


def postcodes_restated(directory: Path, upns: tuple[str, str]) -> tuple[Path, Path]:
    """H1's episode from 01/04/2019, given by 2019-20 and restated by 2020-21 with other
    postcodes and URN; the Header's UPN as `upns` give it."""
    first = write_return(directory / "2019", [header("H1", UPN=upns[0])],
                         [episode("H1", "01/04/2019", "S", **FIRST)])  # fmt: skip
    later = write_return(directory / "2020", [header("H1", UPN=upns[1])],
                         [episode("H1", "01/04/2019", "S", **LATER)])  # fmt: skip
    return first, later


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_restated_postcodes_and_urn_are_said_to_have_changed_and_never_shown(
    o: Opened, db: str, tmp_path: Path, fmt: str
) -> None:
    first, later = postcodes_restated(tmp_path, (UPNS[0], UPNS[0]))
    run_import(o, first)
    run_import(o, later, YEAR + 1)

    reasons = [x.reason for x in of(p.CorrectionRecorded, events(o, "H1"))]
    assert reasons == [
        "restated by the SSDA903 2020-21 return: HOME_POST changed; PL_POST changed; URN changed"
    ]

    shown = invoke("chronology", f"{COUNCIL}:H1", "--db", db, "--format", fmt)

    assert shown.exit_code == 0, shown.output
    assert "PL_POST changed" in shown.stdout  # the correction is in the chronology
    for secret in [*FIRST.values(), *LATER.values(), UPNS[0]]:
        assert secret not in shown.stdout
        assert secret.replace(" ", "") not in shown.stdout




def test_a_restated_upn_is_said_to_have_changed_and_never_shown(
    o: Opened, db: str, tmp_path: Path
) -> None:
    first, later = postcodes_restated(tmp_path, UPNS)
    run_import(o, first)
    details = of(p.ChildDetailsRecorded, events(o, "H1"))[0]

    run_import(o, later, YEAR + 1)

    corrections = [x for x in of(p.CorrectionRecorded, events(o, "H1"))
                   if x.corrects_seq == details.seq]  # fmt: skip
    assert [x.reason for x in corrections] == [
        "restated by the SSDA903 2020-21 return: UPN changed"
    ]
    assert corrections[0].corrected["details"]["upn"] == UPNS[1]
    shown = invoke("chronology", f"{COUNCIL}:H1", "--db", db, "--format", "md")
    assert shown.exit_code == 0, shown.output
    assert "UPN changed" in shown.stdout
    assert not [upn for upn in UPNS if upn in shown.stdout]


# what a later return restates of a record that is not an episode's event, and the correction
# it should record of that event
NOT_AN_EPISODE = {
    "review-code": ({}, {"REVIEW_CODE": "PN2"}, p.ReviewHeld, {"participation": "PN2"}),
    "ending-reason": ({"REC": "E12"}, {}, p.ChildCeasedToBeLookedAfter, {"reason": "E12"}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(NOT_AN_EPISODE))
def test_a_later_return_restating_a_review_or_an_ending_records_a_correction_of_it(
    o: Opened, tmp_path: Path, case: str
) -> None:
    episode_now, review_now, kind, corrected = NOT_AN_EPISODE[case]
    ended = episode("R2", "01/04/2019", "S", DEC="10/02/2020", REC="E11")
    held = review("R2", "12/09/2019", "PN1")
    run_import(o, write_return(tmp_path / "2019", [header("R2")], [ended], [held]))
    restated = of(kind, events(o, "R2"))[0]

    run_import(o, write_return(tmp_path / "2020", [header("R2")], [{**ended, **episode_now}],
                               [{**held, **review_now}]), YEAR + 1)  # fmt: skip

    corrections = [x for x in of(p.CorrectionRecorded, events(o, "R2"))
                   if x.corrects_seq == restated.seq]  # fmt: skip
    assert [x.corrected for x in corrections] == [corrected]


# --- 7. inconsistencies: after the year, replaced episodes, withdrawn endings ---------------


def test_an_end_a_later_return_gives_is_judged_against_that_returns_year_not_the_first(
    o: Opened, tmp_path: Path
) -> None:
    """The 2019-20 return gives two episodes open at its end. The 2020-21 return ends A2's on
    1 May 2020 (E13), inside its own year, and A5's on 1 May 2021, after it."""
    first = [episode("A2", "15/06/2019", "S"), episode("A5", "15/06/2019", "S")]
    run_import(o, write_return(tmp_path / "2019", [header("A2"), header("A5")], first))
    later = [{**first[0], "DEC": "01/05/2020", "REC": "E13"},
             {**first[1], "DEC": "01/05/2021", "REC": "E13"}]  # fmt: skip
    run_import(o, write_return(tmp_path / "2020", [header("A2"), header("A5")], later), YEAR + 1)
    o.catch_up()

    def judged(child: str, year: int | None) -> list[Inconsistency]:
        found = children(o.views, COUNCIL, child, up_to_year=year)
        return [x for records in found for x in inconsistencies(records, year)]

    late = Inconsistency(None, D("2021-05-01"), "2019-06-15",
                         "DEC 2021-05-01 is after the end of the 2020-21 return's year "
                         "(2021-03-31)")  # fmt: skip
    assert [judged("A2", year) for year in (None, YEAR, YEAR + 1)] == [[], [], []]
    assert [judged("A5", year) for year in (None, YEAR, YEAR + 1)] == [[late], [], [late]]


def test_a_review_dated_after_its_returns_year_is_listed(o: Opened, tmp_path: Path) -> None:
    """The 2019-20 return ends on 31 March 2020: a review that day is in its year, one on
    15 April 2020 is not. An episode is open throughout, so no review is outside care."""
    run_import(o, write_return(
        tmp_path / "r", [header("V1")], [episode("V1", "01/04/2019", "S")],
        [review("V1", "31/03/2020", "PN1"), review("V1", "15/04/2020", "PN1")],
    ))  # fmt: skip
    records = records_of_child(o, "V1")

    expected = [
        Inconsistency(None, D("2020-04-15"), None,
                      "review dated 2020-04-15, after the end of the 2019-20 return's year "
                      "(2020-03-31)"),
    ]  # fmt: skip
    assert inconsistencies(records) == expected
    assert inconsistencies(records, YEAR) == expected


def test_an_episode_a_later_return_replaced_is_listed_and_not_judged_against_the_new_one(
    o: Opened, tmp_path: Path
) -> None:
    """2019-20 gives Q1 an episode from 01/06/2019, open. 2020-21 lists Q1 but, instead,
    an episode from 01/05/2019 ending 01/07/2020 (X1) and one from 01/07/2020: the dropped
    episode, open in 2020-21, overlaps the new one."""
    run_import(o, write_return(
        tmp_path / "2019", [header("Q1")], [episode("Q1", "01/06/2019", "S")],
    ))  # fmt: skip
    run_import(o, write_return(tmp_path / "2020", [header("Q1")], [
        episode("Q1", "01/05/2019", "S", DEC="01/07/2020", REC="X1", REASON_PLACE_CHANGE="CARPL"),
        episode("Q1", "01/07/2020", "P", PLACE="U3"),
    ]), YEAR + 1)  # fmt: skip
    records = records_of_child(o, "Q1")
    assert [(e.episode_id, e.left_out_by) for e, _ in records.episodes] == [
        ("2019-05-01", None), ("2019-06-01", 2020), ("2020-07-01", None),
    ]  # fmt: skip
    assert [x.rule for x in overlaps([e for e, _ in records.episodes])] == ["501"]

    found = inconsistencies(records)

    assert found == [
        Inconsistency(None, D("2019-06-01"), "2019-06-01",
                      "given by the 2019-20 return, no longer listed by the 2020-21 return, "
                      "which lists the child: replaced"),
    ]  # fmt: skip
    assert [x for x in found if x.rule == "501"] == []
    by_year = {
        year: [x for r in children(o.views, COUNCIL, "Q1", up_to_year=year)
               for x in inconsistencies(r, year)]
        for year in (YEAR, YEAR + 1)
    }  # fmt: skip
    assert by_year == {YEAR: [], YEAR + 1: found}  # the replacing return's view shows it


# the later return's rows for E1's episode from 01/04/2019, which 2019-20 ended 10/02/2020 E11,
# and what else the later return's rows break (an end reason with no end date: rule 148)
WITHDRAWN = {
    "open-X1": (
        [episode("E1", "01/04/2019", "S", REC="X1")], "is open",
        [Inconsistency("148", D("2019-04-01"), "2019-04-01",
                       "has a reason it ended (X1) but no end date (DEC)")],
    ),
    "ends-X1": (
        [episode("E1", "01/04/2019", "S", DEC="10/02/2020", REC="X1", REASON_PLACE_CHANGE="CARPL"),
         episode("E1", "10/02/2020", "P", PLACE="U3")],
        "ends 2020-02-10 (X1)", [],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(WITHDRAWN))
def test_an_ending_a_later_return_withdraws_is_listed_and_stays_in_the_case(
    o: Opened, db: str, tmp_path: Path, case: str
) -> None:
    later_rows, now, also = WITHDRAWN[case]
    run_import(o, write_return(
        tmp_path / "2019", [header("E1")],
        [episode("E1", "01/04/2019", "S", DEC="10/02/2020", REC="E11")],
    ))  # fmt: skip
    ceased = of(p.ChildCeasedToBeLookedAfter, events(o, "E1"))
    assert len(ceased) == 1
    as_recorded = ceased[0].model_dump()

    run_import(o, write_return(tmp_path / "2020", [header("E1")], later_rows), YEAR + 1)

    records = records_of_child(o, "E1")
    assert inconsistencies(records) == [
        *also,
        Inconsistency(None, D("2020-02-10"), "2019-04-01",
                      "recorded as ceasing to be looked after on 2020-02-10 (E11), but the "
                      f"episode now {now} as a later return gives it"),
    ]  # fmt: skip
    with opened(db) as fresh:  # the ending is still in the case, uncorrected
        entries = fresh.ledger.case(COUNCIL, "E1").entries
        stored = of(p.ChildCeasedToBeLookedAfter, [x.payload for x in entries.values()])
        assert [x.model_dump() for x in stored] == [as_recorded]
        assert effective(entries.values())[stored[0].seq] == (stored[0], ())
    assert [(x.episode_id, x.on, x.reason) for x in records.endings] == [
        ("2019-04-01", D("2020-02-10"), "E11")
    ]
    # ...but the projections no longer apply it: the child is still looked after.
    case_id = str(o.ledger.case(COUNCIL, "E1").id)
    periods = o.views.fetch(
        "SELECT period_no, started_on, ended_on, ended_by FROM {s}cl_periods "
        "WHERE case_id=? AND known_until='9999-12-31'",
        (case_id,),
    )
    [case] = o.views.fetch("SELECT looked_after FROM {s}cl_cases WHERE case_id=?", (case_id,))
    # Open until the 18th birthday (DOB 14/02/2010), when care ends by law, not on 2020-02-10.
    assert [tuple(x.values()) for x in periods] == [(1, "2019-04-01", "2028-02-14", "age_18")]
    assert case["looked_after"] == 1


# --- 8. files about children are readable by their owner only -------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def a_return_with_a_refused_row(directory: Path) -> Path:
    return write_return(
        directory, [header("F1"), header("F2")],
        [episode("F1", "01/05/2019", "S"), episode("F2", "2019-05-01", "S")],
        [review("F1", "12/09/2019", "PN1")],
    )  # fmt: skip


@pytest.mark.usefixtures("open_umask")
def test_an_episode_a_return_restates_is_in_that_years_export_though_it_ended_before_it(
    o: Opened, db: str, tmp_path: Path
) -> None:
    """The 2019-20 return ends X4's episode on 1 August 2019; the 2020-21 return restates
    that end as 1 July 2019. The 2020-21 export gives the row as that return restated it."""
    ended = episode("X4", "01/05/2019", "S", DEC="01/08/2019", REC="E13")
    run_import(o, write_return(tmp_path / "2019", [header("X4")], [ended]))
    restated = write_return(tmp_path / "2020", [header("X4")], [{**ended, "DEC": "01/07/2019"}])
    run_import(o, restated, YEAR + 1)

    out = tmp_path / "export"
    exported = invoke("export-903", "--db", db, "--council", COUNCIL, "--year", YEAR + 1, out)

    assert exported.exit_code == 0, exported.output
    with (out / "episodes.csv").open(newline="") as f:
        assert [(r["DECOM"], r["DEC"], r["REC"]) for r in csv.DictReader(f)] == [
            ("01/05/2019", "01/07/2019", "E13")
        ]


def test_the_export_and_the_refused_rows_report_are_created_readable_by_their_owner_only(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory = a_return_with_a_refused_row(tmp_path / "r")
    report = tmp_path / "refused.csv"

    imported = import_903(db, directory, YEAR, "--accept-partial", "--report", report)

    assert imported.exit_code == 0, imported.output
    assert mode(report) == 0o600
    with report.open(newline="") as f:
        assert [row["child"] for row in csv.DictReader(f)] == ["F2"]

    out = tmp_path / "export"
    exported = invoke("export-903", "--db", db, "--council", COUNCIL, "--year", YEAR, out)

    assert exported.exit_code == 0, exported.output
    assert "wrote 1 children, 1 episodes and 1 reviews" in exported.stdout
    assert {f.name: mode(f) for f in out.iterdir()} == {
        "header.csv": 0o600, "episodes.csv": 0o600, "reviews.csv": 0o600,
    }  # fmt: skip


@pytest.mark.usefixtures("open_umask")
def test_a_refused_rows_report_or_export_written_over_an_existing_file_is_made_private(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory = a_return_with_a_refused_row(tmp_path / "r")
    report = tmp_path / "refused.csv"
    out = tmp_path / "export"
    out.mkdir()
    existing = [report, *(out / f"{name}.csv" for name in ("header", "episodes", "reviews"))]
    for path in existing:
        path.write_text("old\n")
        path.chmod(0o644)

    imported = import_903(db, directory, YEAR, "--accept-partial", "--report", report)
    exported = invoke("export-903", "--db", db, "--council", COUNCIL, "--year", YEAR, out)

    assert (imported.exit_code, exported.exit_code) == (0, 0), imported.output + exported.output
    assert {path.name: mode(path) for path in existing} == {path.name: 0o600 for path in existing}


# --- encryption at rest ---------------------------------------------------------------------


def test_with_encryption_at_rest_the_staged_rows_are_encrypted_and_read_back_whole(
    tmp_path: Path,
) -> None:
    from eventsourcing.cipher import AESCipher
    from eventsourcing.utils import Environment

    from careledger.ledger.ssda903.files import Checked, Staging, lines
    from careledger.ledger.ssda903.mapping import checked
    from careledger.ledger.ssda903.records import Episode
    from careledger.ledger.ssda903.rows import Table
    from careledger.ledger.store.location import new_cipher_key

    cipher = AESCipher(Environment(env={"CIPHER_KEY": new_cipher_key()}))
    directory = write_return(
        tmp_path / "r", [header("S1")],
        [episode("S1", "03/06/2019", "S", HOME_POST="ZZ9 9ZZ", PL_POST="YY1 1YY")],
    )  # fmt: skip
    episodes = find_tables(directory)[Table.EPISODES]
    staging = Staging(cipher)
    try:
        for line in lines(episodes):
            row = checked("S1", line, date(2026, 1, 1), 2019)
            assert isinstance(row, Checked)
            staging.add("S1", row)
        staging._flush()
        raw = b"".join(
            row[0] if isinstance(row[0], bytes) else str(row[0]).encode()
            for row in staging._db.execute("SELECT data FROM rows")
        )
        [(child, read)] = list(staging.children())
    finally:
        staging.close()

    assert b"ZZ9 9ZZ" not in raw and b"YY1 1YY" not in raw
    assert child == "S1"
    assert isinstance(read[0], Checked) and isinstance(read[0].record, Episode)
    assert (read[0].record.home_post, read[0].record.pl_post) == ("ZZ9 9ZZ", "YY1 1YY")
