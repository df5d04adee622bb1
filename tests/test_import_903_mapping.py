"""Importing a council's SSDA903 return, proved on small
hand-written returns in the DfE's CSV layout (dates dd/mm/yyyy), recorded in a real SQLite
file and a real PostgreSQL schema.

- Each Episodes row becomes the event its RNE means (S a period of care starting, L a new
  legal status, P/T a move with new/same carers, B/U a move with a new legal status), with
  the row kept whole in the event; an end reason other than X1 adds the child ceasing to be
  looked after on DEC; a Reviews row becomes a review held with the child's participation.
- Every event names where it came from: the return's year, the file, the file's SHA-256 and
  the row as a spreadsheet numbers it. Tables are recognised by their columns, whatever the
  files are called.
- A row that cannot be read is refused, naming file, row, column and reason: nothing at all
  is recorded, or (accepting a partial import) nothing of that child.
- Importing the same return again records nothing; a later return restating an episode
  records a correction of it (the original event stays as it was) and what follows from it.
- A return's messy data (overlapping episodes, a review outside care, an open episode with
  an end reason) is recorded as given; the inconsistencies projection shows it.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from careledger.api import Opened, opened
from careledger.ledger.domain import payloads as p
from careledger.ledger.errors import CaseNotFound
from careledger.ledger.ssda903.importer import ImportReport
from careledger.ledger.ssda903.records import Episode
from careledger.projections.inconsistencies import Inconsistency, inconsistencies
from careledger.projections.returns import children, records_of
from tests.envelope import data_of
from tests.returns903 import (
    COUNCIL,
    DOB,
    EPISODES,
    HEADER,
    SW_EPISODES,
    YEAR,
    episode,
    events,
    header,
    invoke,
    of,
    review,
    run_import,
    source,
    types,
    write_csv,
    write_return,
)


def no_case_recorded(o: Opened, *child_refs: str) -> None:
    assert o.ledger.cases_of(COUNCIL, list(child_refs)) == {}
    assert not o.ledger.recorder.max_notification_id()


# --- 1. each RNE code maps to its event ---------------------------------------------------

D = date.fromisoformat
CHANGED_ON, ENDED_ON = "15/06/2019", "20/01/2020"
EPISODE_ID = "2019-06-15"

# RNE → (LS, PLACE of the episode under test, the event it maps to, that event's fields)
BY_RNE: dict[str, tuple[str, str, type[p.Payload], dict[str, Any]]] = {
    "S": ("C2", "U3", p.ChildBecameLookedAfter, {"legal_status": "C2", "placement": "U3"}),
    "L": ("C2", "U1", p.LegalStatusChanged, {"legal_status": "C2", "order_ref": None}),
    "P": ("C1", "U3", p.PlacementChanged,
          {"placement": "U3", "same_carers": False, "legal_status": None, "reason": "CARPL"}),
    "T": ("C1", "U3", p.PlacementChanged,
          {"placement": "U3", "same_carers": True, "legal_status": None, "reason": "CARPL"}),
    "B": ("C2", "U3", p.PlacementChanged,
          {"placement": "U3", "same_carers": False, "legal_status": "C2", "reason": "CARPL"}),
    "U": ("C2", "U3", p.PlacementChanged,
          {"placement": "U3", "same_carers": True, "legal_status": "C2", "reason": "CARPL"}),
}  # fmt: skip


@pytest.mark.parametrize("rne", list(BY_RNE))
def test_each_new_episode_reason_records_its_event_with_the_episode_kept_whole(
    o: Opened, tmp_path: Path, rne: str
) -> None:
    """The episode under test starts 15/06/2019 and ends 20/01/2020 (E4A). For L, P, T, B
    and U an episode started 01/04/2019 (RNE S, C1, U1) precedes it, ending X1 that day with
    REASON_PLACE_CHANGE CARPL: the move's reason is that row's, not the moved-to row's OTHER."""
    ls, place, kind, fields = BY_RNE[rne]
    tested = episode(
        "K1", CHANGED_ON, rne, LS=ls, PLACE=place, DEC=ENDED_ON, REC="E4A",
        REASON_PLACE_CHANGE="OTHER", HOME_POST="AB1 2CD", PL_POST="AB3 4EF", URN="SC123456",
    )  # fmt: skip
    before = [] if rne == "S" else [
        episode("K1", "01/04/2019", "S", LS="C1", DEC=CHANGED_ON, REC="X1",
                REASON_PLACE_CHANGE="CARPL"),
    ]  # fmt: skip
    run_import(o, write_return(tmp_path / "r", [header("K1")], [*before, tested]))

    recorded = events(o, "K1")
    moved = [x for x in recorded
             if getattr(x, "episode", None) and x.episode.episode_id == EPISODE_ID]  # fmt: skip
    assert len(moved) == 1
    event = moved[0]
    assert isinstance(event, kind)
    assert event.occurred_on == D(EPISODE_ID)
    assert {name: getattr(event, name) for name in fields} == fields
    assert event.episode == Episode(
        episode_id=EPISODE_ID, decom=D("2019-06-15"), rne=rne, legal_status=ls, cin="N1",
        placement=place, place_provider="PR1", dec=D("2020-01-20"), rec="E4A",
        reason_place_change="OTHER", home_post="AB1 2CD", pl_post="AB3 4EF", urn="SC123456",
    )  # fmt: skip
    # E4A ends care on DEC; the earlier episode's X1 (care goes on) records no ending.
    ceased = of(p.ChildCeasedToBeLookedAfter, recorded)
    assert [(x.occurred_on, x.reason, x.episode_id) for x in ceased] == [
        (D("2020-01-20"), "E4A", EPISODE_ID)
    ]
    started = [] if rne == "S" else ["ChildBecameLookedAfter"]
    assert types(recorded) == [
        *started,
        kind.__name__,
        "ChildCeasedToBeLookedAfter",
        "ChildDetailsRecorded",
    ]


@pytest.mark.parametrize("rec", ["E11", "E12", "E4A", "E13", "E8", "E15", "E17"])
def test_an_end_reason_other_than_x1_records_the_child_ceasing_on_dec(
    o: Opened, tmp_path: Path, rec: str
) -> None:
    rows = [episode("K2", "01/04/2019", "S", DEC="30/11/2019", REC=rec)]
    run_import(o, write_return(tmp_path / "r", [header("K2")], rows))

    ceased = of(p.ChildCeasedToBeLookedAfter, events(o, "K2"))
    assert [(x.occurred_on, x.reason, x.episode_id) for x in ceased] == [
        (D("2019-11-30"), rec, "2019-04-01")
    ]


def test_an_episode_ending_x1_records_no_ceasing_and_the_next_continues_care(
    o: Opened, tmp_path: Path
) -> None:
    rows = [
        episode("K3", "01/04/2019", "S", DEC="01/07/2019", REC="X1", REASON_PLACE_CHANGE="CHILD"),
        episode("K3", "01/07/2019", "T", PLACE="U2", DEC="01/09/2019", REC="X1"),
        episode("K3", "01/09/2019", "L", LS="E1", PLACE="U2"),
    ]
    run_import(o, write_return(tmp_path / "r", [header("K3")], rows))

    recorded = events(o, "K3")
    assert types(recorded) == [
        "ChildBecameLookedAfter",
        "PlacementChanged",
        "LegalStatusChanged",
        "ChildDetailsRecorded",
    ]
    assert of(p.ChildCeasedToBeLookedAfter, recorded) == []


# --- 2. each participation code maps to a review held ---------------------------------------

PARTICIPATION = [f"PN{n}" for n in range(8)]


@pytest.mark.parametrize("code", PARTICIPATION)
def test_each_review_participation_code_records_a_review_held_without_a_chair(
    o: Opened, tmp_path: Path, code: str
) -> None:
    dob = "03/03/2017" if code == "PN0" else DOB  # PN0: under 4 on the day
    directory = write_return(
        tmp_path / "r", [header("K4", dob)], [episode("K4", "01/04/2019", "S")],
        [review("K4", "12/09/2019", code, dob)],
    )  # fmt: skip
    run_import(o, directory)

    reviews = of(p.ReviewHeld, events(o, "K4"))
    assert [(r.occurred_on, r.review_id, r.participation, r.chair) for r in reviews] == [
        (D("2019-09-12"), "903-2019-09-12", code, None)
    ]
    assert reviews[0].decisions == [] and reviews[0].attendees == []
    assert reviews[0].source == source(directory / "reviews.csv", 2)


# --- 3. every event names its return, file, digest and row ---------------------------------


def test_every_event_names_the_return_year_file_digest_and_spreadsheet_row(
    o: Opened, tmp_path: Path
) -> None:
    """Files named as a council's extract names them, plus a CSV that is no SSDA903 table:
    the tables are found by their columns. Two children's rows interleave."""
    directory = tmp_path / "LA999 returns"
    names = ("SSDA903_2019_header (v2).csv", "SSDA903_2019_episodes_final.csv",
             "reviews export 2019.csv")  # fmt: skip
    write_return(
        directory,
        [header("A7"), header("B8")],
        [
            episode(
                "A7", "01/04/2019", "S", DEC="15/06/2019", REC="X1", REASON_PLACE_CHANGE="CLOSE"
            ),
            episode("B8", "01/05/2019", "S", LS="V2"),
            episode("A7", "15/06/2019", "P", PLACE="U3", DEC="20/01/2020", REC="E11"),
        ],
        [review("B8", "12/09/2019", "PN1"), review("A7", "01/10/2019", "PN2")],
        names,
    )
    write_csv(directory / "notes.csv", ("CHILD", "NOTE"), [{"CHILD": "A7", "NOTE": "x"}])
    head, eps, revs = (directory / name for name in names)

    report = run_import(o, directory)

    assert sorted(f.name for f in report.files) == sorted(names)
    assert [(type_, x.source) for type_, x in zip(types(events(o, "A7")), events(o, "A7"),
                                                  strict=True)] == [
        ("ChildBecameLookedAfter", source(eps, 2)),
        ("PlacementChanged", source(eps, 4)),
        ("ReviewHeld", source(revs, 3)),
        ("ChildCeasedToBeLookedAfter", source(eps, 4)),
        ("ChildDetailsRecorded", source(head, 2)),
    ]  # fmt: skip
    assert [(type_, x.source) for type_, x in zip(types(events(o, "B8")), events(o, "B8"),
                                                  strict=True)] == [
        ("ChildBecameLookedAfter", source(eps, 3)),
        ("ReviewHeld", source(revs, 2)),
        ("ChildDetailsRecorded", source(head, 3)),
    ]  # fmt: skip
    assert source(eps, 2).startswith("SSDA903 2019-20 SSDA903_2019_episodes_final.csv sha256:")


def test_row_numbers_count_a_blank_line_as_the_spreadsheet_shows_it(
    o: Opened, tmp_path: Path
) -> None:
    """A blank line in the file is a row of the spreadsheet: the row after it is row 4."""
    directory = write_return(tmp_path / "r", [header("K5")], [])
    eps = directory / "episodes.csv"
    eps.write_text(
        ",".join(EPISODES) + "\r\n"
        + "K5,01/04/2019,S,C2,N1,U1,PR1,15/06/2019,X1,CARPL,,,\r\n"
        + "\r\n"
        + "K5,15/06/2019,P,C2,N1,U3,PR1,,,,,,\r\n"
    )  # fmt: skip
    run_import(o, directory)

    moved = of(p.PlacementChanged, events(o, "K5"))
    assert [x.source for x in moved] == [source(eps, 4)]


# --- 4. refusals -------------------------------------------------------------------------

# (file, column, bad value, reason): the bad value is put in the refused child's last row of
# that file (episodes.csv row 4, reviews.csv or header.csv row 3).
BAD = {
    "iso-date": ("episodes.csv", "DECOM", "2019-06-19",
                 "'2019-06-19' is not a date in dd/mm/yyyy"),
    "iso-end-date": ("episodes.csv", "DEC", "2020-01-20",
                     "'2020-01-20' is not a date in dd/mm/yyyy"),
    "unknown-LS": ("episodes.csv", "LS", "Z9", "'Z9' is not a known code"),
    "unknown-PLACE": ("episodes.csv", "PLACE", "Q9",
                      "'Q9' is not an SSDA903 placement type (PLACE)"),
    "unknown-RNE": ("episodes.csv", "RNE", "X", "'X' is not a known code"),
    "unknown-REVIEW_CODE": ("reviews.csv", "REVIEW_CODE", "PN9",
                            "'PN9' is not a participation code (PN0-PN7)"),
    "iso-review-date": ("reviews.csv", "REVIEW", "2019-09-12",
                        "'2019-09-12' is not a date in dd/mm/yyyy"),
    "blank-RNE": ("episodes.csv", "RNE", "", "missing"),
    "blank-LS": ("episodes.csv", "LS", "", "missing"),
    "unknown-SEX": ("header.csv", "SEX", "7", "'7' is not a known code"),
    "unknown-ETHNIC": ("header.csv", "ETHNIC", "ZZZZ", "'ZZZZ' is not a known code"),
    "future-DOB": ("header.csv", "DOB", "01/01/2099", "2099-01-01 is in the future"),
    "future-MC_DOB": ("header.csv", "MC_DOB", "01/01/2099", "2099-01-01 is in the future"),
}  # fmt: skip


def return_with_a_bad_row(directory: Path, case: str) -> tuple[Path, int]:
    """GOOD's rows all read; BAD's last episode or review holds the bad value."""
    file, column, value, _ = BAD[case]
    episodes = [
        episode("GOOD", "01/05/2019", "S"),
        episode("BAD", "01/04/2019", "S", DEC="15/06/2019", REC="X1", REASON_PLACE_CHANGE="CARPL"),
        episode("BAD", "15/06/2019", "P", PLACE="U3"),
    ]
    reviews = [review("GOOD", "20/09/2019", "PN1"), review("BAD", "12/09/2019", "PN2")]
    headers = [header("GOOD"), header("BAD")]
    rows = {"episodes.csv": episodes, "reviews.csv": reviews, "header.csv": headers}[file]
    rows[-1][column] = value
    write_return(directory, headers, episodes, reviews)
    return directory, 4 if file == "episodes.csv" else 3


def assert_refused(report: ImportReport, case: str, row: int) -> None:
    file, column, _, reason = BAD[case]
    assert len(report.refused) == 1, report.refused
    refusal = report.refused[0]
    assert (refusal.file, refusal.row, refusal.column, refusal.child) == (file, row, column, "BAD")
    assert refusal.reason.startswith(reason), refusal.reason


@pytest.mark.parametrize("case", list(BAD))
def test_a_row_that_cannot_be_read_refuses_the_whole_return_naming_file_row_column_reason(
    o: Opened, tmp_path: Path, case: str
) -> None:
    directory, row = return_with_a_bad_row(tmp_path / "r", case)

    report = run_import(o, directory)

    assert_refused(report, case, row)
    assert not report.recorded
    assert (report.children, report.events) == (0, 0)
    no_case_recorded(o, "GOOD", "BAD")


@pytest.mark.parametrize("case", list(BAD))
def test_accepting_a_partial_import_records_the_other_children_and_nothing_of_the_refused_one(
    o: Opened, tmp_path: Path, case: str
) -> None:
    directory, row = return_with_a_bad_row(tmp_path / "r", case)

    report = run_import(o, directory, accept_partial=True)

    assert_refused(report, case, row)
    assert report.recorded and report.refused_children == {"BAD"}
    assert report.children == 1
    assert types(events(o, "GOOD")) == [
        "ChildBecameLookedAfter",
        "ReviewHeld",
        "ChildDetailsRecorded",
    ]
    with pytest.raises(CaseNotFound):
        o.ledger.case(COUNCIL, "BAD")
    assert set(o.ledger.cases_of(COUNCIL, ["GOOD", "BAD"])) == {"GOOD"}


def test_import_903_command_refuses_naming_the_row_and_lists_refusals_when_partial(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory, _ = return_with_a_bad_row(tmp_path / "r", "iso-date")
    common = ["import-903", directory, "--db", db, "--council", COUNCIL, "--year", YEAR,
              "--actor", "data-officer"]  # fmt: skip

    refused = invoke(*common)

    assert refused.exit_code == 1, refused.output
    assert "episodes.csv row 4, DECOM: '2019-06-19' is not a date in dd/mm/yyyy" in refused.stderr
    assert "1 row(s) cannot be read or recorded; nothing recorded" in refused.stderr
    no_case_recorded(o, "GOOD", "BAD")

    listed = tmp_path / "refused.csv"
    partial = invoke(*common, "--accept-partial", "--report", listed)

    assert partial.exit_code == 0, partial.output
    assert "1 children, 3 event(s) recorded" in partial.stdout
    with listed.open(newline="") as f:
        assert list(csv.DictReader(f)) == [
            {"file": "episodes.csv", "row": "4", "column": "DECOM",
             "reason": "'2019-06-19' is not a date in dd/mm/yyyy", "child": "BAD"}
        ]  # fmt: skip
    assert set(o.ledger.cases_of(COUNCIL, ["GOOD", "BAD"])) == {"GOOD"}


# --- 5. importing again records nothing -----------------------------------------------------


def a_year_of_two_children(directory: Path) -> Path:
    return write_return(
        directory,
        [header("I1"), header("I2")],
        [
            episode(
                "I1", "01/04/2019", "S", DEC="15/06/2019", REC="X1", REASON_PLACE_CHANGE="CARPL"
            ),
            episode("I1", "15/06/2019", "U", LS="C1", PLACE="U4", DEC="20/01/2020", REC="E12"),
            episode("I2", "10/05/2019", "S", LS="V2"),
            episode("I2", "10/05/2019", "L", LS="C1"),  # the same start: episode '2019-05-10#2'
        ],
        [
            review("I1", "12/09/2019", "PN1"),
            review("I2", "01/06/2019", "PN5"),
            review("I2", "01/06/2019", "PN6"),  # the same day: review '903-2019-06-01#2'
        ],
    )


def test_importing_the_same_return_again_records_nothing(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory = a_year_of_two_children(tmp_path / "r")
    first = run_import(o, directory)
    versions = {c: o.ledger.case(COUNCIL, c).version for c in ("I1", "I2")}
    last = o.ledger.recorder.max_notification_id()
    assert (first.children, first.events) == (2, 10)

    again = run_import(o, directory)
    with opened(db) as fresh:  # read from the store, not from this ledger's cache
        afresh = run_import(fresh, directory)
        assert {c: fresh.ledger.case(COUNCIL, c).version for c in versions} == versions

    for report in (again, afresh):
        assert report.recorded and not report.refused
        assert (report.children, report.events, report.corrections) == (2, 0, 0)
        assert report.unchanged == first.events
    assert {c: o.ledger.case(COUNCIL, c).version for c in versions} == versions
    assert o.ledger.recorder.max_notification_id() == last


# --- 6. a later return's restatement is a correction ---------------------------------------


def restated_returns(tmp_path: Path) -> tuple[Path, Path]:
    """2019-20 reports R1's episode open; 2020-21 gives it an end, 10/08/2020 E11."""
    opened_row = episode("R1", "01/04/2019", "S")
    first = write_return(
        tmp_path / "2019", [header("R1")], [opened_row], [review("R1", "12/09/2019", "PN1")]
    )
    later = write_return(
        tmp_path / "2020", [header("R1")], [{**opened_row, "DEC": "10/08/2020", "REC": "E11"}]
    )
    return first, later


def test_a_later_return_restating_an_episode_records_a_correction_and_the_ending(
    o: Opened, db: str, tmp_path: Path
) -> None:
    first, later = restated_returns(tmp_path)
    run_import(o, first)
    entered = of(p.ChildBecameLookedAfter, events(o, "R1"))[0]
    as_recorded = entered.model_dump()

    report = run_import(o, later, year=YEAR + 1)

    recorded = events(o, "R1")
    corrections = [x for x in of(p.CorrectionRecorded, recorded) if x.corrects_seq == entered.seq]
    assert len(corrections) == 1
    correction = corrections[0]
    assert correction.reason == (
        "restated by the SSDA903 2020-21 return: DEC 2020-08-10 (was blank); REC E11 (was blank)"
    )
    assert correction.source == source(later / "episodes.csv", 2, YEAR + 1)
    assert list(correction.corrected) == ["episode"]
    assert (correction.corrected["episode"]["dec"], correction.corrected["episode"]["rec"]) == (
        "2020-08-10", "E11",
    )  # fmt: skip
    ceased = of(p.ChildCeasedToBeLookedAfter, recorded)
    assert [(x.occurred_on, x.reason, x.episode_id, x.source) for x in ceased] == [
        (D("2020-08-10"), "E11", "2019-04-01", source(later / "episodes.csv", 2, YEAR + 1))
    ]
    assert report.events >= 2 and report.corrections >= 1

    version = o.ledger.case(COUNCIL, "R1").version
    again = run_import(o, later, year=YEAR + 1)
    assert (again.events, again.corrections) == (0, 0)
    assert o.ledger.case(COUNCIL, "R1").version == version

    with opened(db) as fresh:  # the stored event, not a cached object
        stored = fresh.ledger.case(COUNCIL, "R1").entries[entered.seq].payload
        assert stored.model_dump() == as_recorded
        assert stored.episode.dec is None and stored.source == source(first / "episodes.csv", 2)
        fresh.catch_up()
        now = next(children(fresh.views, COUNCIL))
        then = next(children(fresh.views, COUNCIL, up_to_year=YEAR))
    assert [(e.dec, e.rec) for e, _ in now.episodes] == [(D("2020-08-10"), "E11")]
    assert [(e.dec, e.rec) for e, _ in then.episodes] == [(None, None)]

    shown = invoke("history", f"{COUNCIL}:R1", "--db", db, "--format", "json")
    assert shown.exit_code == 0, shown.output
    rows = {row["event"]: row for row in data_of(shown.stdout)}
    assert rows[entered.seq]["type"] == "ChildBecameLookedAfter"
    assert rows[entered.seq]["source"] == source(first / "episodes.csv", 2)
    assert rows[entered.seq]["corrected_by"] == str(correction.seq)
    shown_correction = rows[correction.seq]
    assert shown_correction["type"] == "CorrectionRecorded"
    assert f"corrects event #{entered.seq}" in shown_correction["what"]
    assert "DEC 2020-08-10 (was blank); REC E11 (was blank)" in shown_correction["what"]


def test_a_later_return_giving_the_same_header_records_no_correction(
    o: Opened, tmp_path: Path
) -> None:
    """A Header row's event is dated the day its return speaks for (31 March); the next
    year's return giving the same Header restates nothing about the child."""
    first, later = restated_returns(tmp_path)
    run_import(o, first)
    details = of(p.ChildDetailsRecorded, events(o, "R1"))[0]

    report = run_import(o, later, year=YEAR + 1)

    recorded = events(o, "R1")
    assert [x.reason for x in of(p.CorrectionRecorded, recorded)
            if x.corrects_seq == details.seq] == []  # fmt: skip
    assert (report.events, report.corrections, report.unchanged) == (2, 1, 1)


# --- 7. messy data is kept ----------------------------------------------------------------


def test_a_child_with_episodes_and_no_header_row_is_recorded_listed_and_exported_so(
    o: Opened, db: str, tmp_path: Path
) -> None:
    directory = write_return(tmp_path / "r", [header("H1")],
                             [episode("H1", "01/04/2019", "S"), episode("H2", "01/05/2019", "S")])

    run_import(o, directory)

    assert types(events(o, "H2")) == ["ChildBecameLookedAfter"]
    o.catch_up()
    found = {r.child_ref: inconsistencies(r) for r in children(o.views, COUNCIL)}
    assert found == {
        "H1": [],
        "H2": [Inconsistency(None, D("2019-05-01"), None,
                             "no Header row: no return or recorded details give the child's sex or "
                             "date of birth")],
    }  # fmt: skip
    out = tmp_path / "export"
    exported = invoke("export-903", "--db", db, "--council", COUNCIL, "--year", YEAR, out)
    assert exported.exit_code == 0, exported.output
    with (out / "header.csv").open(newline="") as f:
        assert [r["CHILD"] for r in csv.DictReader(f)] == ["H1"]  # no row made up for H2
    with (out / "episodes.csv").open(newline="") as f:
        assert [r["CHILD"] for r in csv.DictReader(f)] == ["H1", "H2"]


def test_history_says_an_episode_ended_without_a_reason_rather_than_printing_none(
    o: Opened, db: str, tmp_path: Path
) -> None:
    rows = [episode("M0", "01/04/2019", "S", DEC="15/06/2019")]  # DEC given, REC blank
    directory = write_return(tmp_path / "r", [header("M0")], rows)
    run_import(o, directory)

    shown = invoke("history", "--db", db, f"{COUNCIL}:M0", "--format", "json")

    assert shown.exit_code == 0, shown.output
    assert "[SSDA903 episode from 2019-04-01, ended 2019-06-15, no reason given]" in shown.stdout
    assert "None" not in shown.stdout


def test_overlaps_a_review_outside_care_and_an_open_ended_episode_are_kept_and_shown(
    o: Opened, tmp_path: Path
) -> None:
    """M1's second episode starts 01/08/2019, before the first ends on 01/09/2019; it is
    still open but coded E17; a review is dated 15/03/2019, before any episode."""
    rows = [
        episode("M1", "01/04/2019", "S", DEC="01/09/2019", REC="X1", REASON_PLACE_CHANGE="CARPL"),
        episode("M1", "01/08/2019", "P", PLACE="U3", REC="E17"),
    ]
    directory = write_return(
        tmp_path / "r", [header("M1")], rows, [review("M1", "15/03/2019", "PN1")]
    )

    report = run_import(o, directory)

    assert report.recorded and report.refused == [] and report.children == 1
    recorded = events(o, "M1")
    assert types(recorded) == [
        "ReviewHeld",
        "ChildBecameLookedAfter",
        "PlacementChanged",
        "ChildDetailsRecorded",
    ]
    assert recorded[2].episode.rec == "E17" and recorded[2].episode.dec is None

    o.catch_up()
    records = list(children(o.views, COUNCIL))
    assert [r.child_ref for r in records] == ["M1"]
    entries = list(o.ledger.case(COUNCIL, "M1").entries.values())
    assert records[0] == records_of(COUNCIL, "M1", entries)
    assert [e.episode_id for e, _ in records[0].episodes] == ["2019-04-01", "2019-08-01"]
    assert [r.held_on for r in records[0].reviews] == [D("2019-03-15")]

    found = inconsistencies(records[0])
    assert [x for x in found if x.rule == "501"] == [
        Inconsistency(
            "501", D("2019-08-01"), "2019-08-01",
            "starts 2019-08-01, before the previous episode (2019-04-01) ended on 2019-09-01: "
            "overlapping episodes",
        )
    ]  # fmt: skip
    assert [x for x in found if x.rule is None] == [
        Inconsistency(None, D("2019-03-15"), None,
                      "review held 2019-03-15 while no episode of care was open")
    ]  # fmt: skip


# --- social workers and the London episode-fix fixture ------------------------------------

def test_each_social_worker_episode_records_an_allocation_with_its_reason(
    o: Opened, tmp_path: Path
) -> None:
    directory = write_return(tmp_path / "r", [header("K9")], [episode("K9", "02/05/2023", "S")])
    write_csv(directory / "sw_episodes.csv", SW_EPISODES, [
        {"CHILD": "K9", "DOB": DOB, "SW_ID": "SW-101", "SW_DECOM": "02/05/2023",
         "SW_DEC": "14/08/2023", "SW_REASON": "LEFTRL"},
        {"CHILD": "K9", "DOB": DOB, "SW_ID": "SW-207", "SW_DECOM": "14/08/2023",
         "SW_DEC": "", "SW_REASON": ""},
    ])  # fmt: skip

    run_import(o, directory, 2023)
    allocations = of(p.SocialWorkerAllocated, events(o, "K9"))

    assert [(a.worker_id, a.occurred_on, a.reason) for a in allocations] == [
        ("SW-101", date(2023, 5, 2), "LEFTRL"),
        ("SW-207", date(2023, 8, 14), None),
    ]
    assert run_import(o, directory, 2023).events == 0


def test_the_london_fix_rules_input_with_iso_dates_is_refused_row_by_row(
    o: Opened, tmp_path: Path
) -> None:
    """The LIIA episode-fix fixture writes dates as yyyy-mm-dd: not the return's layout, so
    every row is refused, naming its file, row and column, and nothing is recorded."""
    fixture = Path(__file__).parent / "data" / "ssda903" / "liia_episode_fix_fixture"
    directory = tmp_path / "liia"
    directory.mkdir()
    shutil.copy(fixture / "SSDA903_episodes_for_testing_fixes_INPUT.csv", directory)
    write_csv(directory / "header.csv", HEADER, [header("NORULE_BAD")])

    report = run_import(o, directory, 2021)

    assert not report.recorded
    assert len({r.row for r in report.refused}) == 23
    first = report.refused[0]
    assert (first.file, first.row, first.column) == (
        "SSDA903_episodes_for_testing_fixes_INPUT.csv", 2, "DECOM",
    )  # fmt: skip
    assert "'2015-06-19' is not a date in dd/mm/yyyy" in first.reason
    with pytest.raises(CaseNotFound):
        o.ledger.case(COUNCIL, "NORULE_BAD")


# --- children already in care when the first return was made ------------------------------


def test_a_child_already_in_care_gets_a_continuing_period_with_six_monthly_reviews(
    o: Opened, tmp_path: Path
) -> None:
    """RNE P first: the child came into care before this return, on a day not known. The
    period is judged from the first date known, every review due six months after the last
    (reg 33(2)), not 20 working days after a start that was not the start."""
    directory = write_return(
        tmp_path / "r", [header("C1")], [episode("C1", "03/06/2019", "P")],
        [review("C1", "10/09/2019", "PN1"), review("C1", "20/05/2020", "PN1")],
    )  # fmt: skip
    run_import(o, directory)
    o.catch_up()
    case = str(o.ledger.case(COUNCIL, "C1").id)

    [period] = o.views.fetch(
        "SELECT regime, started_on FROM {s}cl_periods WHERE case_id=? AND known_until=?",
        (case, "9999-12-31"),
    )
    reviews = o.views.fetch(
        "SELECT review_no, due_on, held_on, days_late FROM {s}cl_reviews "
        "WHERE case_id=? AND known_until=? ORDER BY review_no",
        (case, "9999-12-31"),
    )

    assert (period["regime"], period["started_on"]) == ("continuing", "2019-06-03")
    assert [(r["due_on"], r["held_on"], r["days_late"]) for r in reviews] == [
        ("2019-12-03", "2019-09-10", None),
        ("2020-03-10", "2020-05-20", 71),
        ("2020-11-20", None, None),
    ]


def periods_and_reviews(o: Opened, child: str) -> tuple[list[tuple[Any, ...]], list[Any]]:
    o.catch_up()
    case = str(o.ledger.case(COUNCIL, child).id)
    periods = o.views.fetch(
        "SELECT period_no, regime, started_on, ended_on FROM {s}cl_periods "
        "WHERE case_id=? AND known_until=? ORDER BY period_no",
        (case, "9999-12-31"),
    )
    reviews = o.views.fetch(
        "SELECT period_no, review_no, held_on FROM {s}cl_reviews "
        "WHERE case_id=? AND known_until=? ORDER BY period_no, review_no",
        (case, "9999-12-31"),
    )
    return [tuple(r.values()) for r in periods], [tuple(r.values()) for r in reviews]


def test_a_new_period_of_care_ends_the_continuing_one_the_returns_left_open(
    o: Opened, tmp_path: Path
) -> None:
    """C7's first record is a review of 2017: care continuing from a day not known. The
    2019 return's RNE S starts a new period, ended E11: the continuing period had ended by
    then, so its reviews are not due for ever after."""
    directory = write_return(
        tmp_path / "r", [header("C7")],
        [episode("C7", "01/06/2019", "S", DEC="20/10/2019", REC="E11")],
        [review("C7", "10/09/2017", "PN1"), review("C7", "20/06/2019", "PN1")],
    )  # fmt: skip
    run_import(o, directory)

    periods, reviews = periods_and_reviews(o, "C7")

    assert periods == [
        (1, "continuing", "2017-09-10", "2019-06-01"),
        (2, "standard", "2019-06-01", "2019-10-20"),
    ]
    assert [(n, r, held) for n, r, held in reviews if held] == [
        (1, 1, "2017-09-10"), (2, 1, "2019-06-20"),
    ]  # fmt: skip


def test_a_review_a_return_dates_after_care_ended_is_no_late_review_of_that_period(
    o: Opened, tmp_path: Path
) -> None:
    directory = write_return(
        tmp_path / "r", [header("C8")],
        [episode("C8", "01/04/2019", "S", DEC="20/05/2019", REC="E13")],
        [review("C8", "25/04/2019", "PN1"), review("C8", "01/12/2019", "PN1")],
    )  # fmt: skip
    run_import(o, directory)

    periods, reviews = periods_and_reviews(o, "C8")

    assert periods == [(1, "standard", "2019-04-01", "2019-05-20")]
    assert [(r, held) for _, r, held in reviews if held] == [(1, "2019-04-25")]
