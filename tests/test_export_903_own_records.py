"""A council that records its decisions in careledger produces its SSDA903 return from them,
proved by the DfE's own validator (tests/validator903.py) as the import is.

- Episodes come from the ledger's own events (projections.episodes): a synthetic council
  recorded only through `careledger record` exports a return the DfE's rules find nothing
  wrong with, beyond the fields the ledger does not hold.
- A council that imported a return and then recorded directly exports one consistent year:
  the imported episode the first direct record follows ends that day (X1), and the year-on-
  year rules find the two returns agree.
- `inconsistencies` judges a directly recorded child's reviews against the periods of care
  the ledger's own events give.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from careledger.cli.main import cli
from tests.envelope import data_of
from tests.own_histories import IRO, OFFICER, own_histories, write_jsonl
from tests.returns903 import episode, header, review, write_return
from tests.validator903 import (
    EPISODE_AND_REVIEW_RULES,
    YEAR_ON_YEAR_RULES,
    findings,
    registry,
    run_rules,
)

COUNCIL = "E09000027"

# Rules about fields careledger does not hold (a council's own records carry no postcode,
# category of need, placement provider or UPN): what they find is the ledger's gap, said in
# the README, not a fault of the export.
NOT_HELD = {
    "169": "PL_LA, derived from the placement postcode",
    "179": "PL_LOCATION, derived from the postcodes",
    "392b": "HOME_POST and PL_POST",
    "442": "UPN (recorded only when the council gives it)",
    "504": "CIN",
    "526": "PLACE_PROVIDER",
}


def invoke(db: str, *args: Any, role: str = "SW") -> Result:
    env = {"CARELEDGER_ACTOR": "data-officer", "CARELEDGER_ROLE": role, "CARELEDGER_DB": db,
           "CARELEDGER_COUNCIL": None}  # fmt: skip
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result


def record(db: str, path: Path, lines: list[dict[str, Any]]) -> None:
    invoke(db, "record", "--file", write_jsonl(path, lines))


def export(db: str, year: int, into: Path) -> Path:
    invoke(db, "export-903", "--council", COUNCIL, "--year", year, into)
    return into


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def every_rule(directory: Path, collection_year: int,
               previous_year: Path | None = None) -> set[tuple[str, str]]:  # fmt: skip
    """What every rule of the validator's ruleset finds (those whose tables a return of
    Header, Episodes and Reviews lacks are skipped by the library)."""
    run = run_rules(directory, collection_year=collection_year, rules=list(registry()),
                    previous_year=previous_year)  # fmt: skip
    assert not run.failed, run.failures
    assert set(EPISODE_AND_REVIEW_RULES) <= set(run.done)
    return set(run.findings)


# --- a council recording only through the CLI -----------------------------------------------


def test_a_council_recording_only_directly_exports_a_return_the_dfe_rules_accept(
    db: str, tmp_path: Path
) -> None:
    invoke(db, "init")
    history = own_histories(COUNCIL, 25, date(2019, 4, 1), date(2021, 3, 31))
    record(db, tmp_path / "history.jsonl", history)
    out = export(db, 2020, tmp_path / "2020")

    episodes = rows(out / "episodes.csv")
    assert len({r["CHILD"] for r in episodes}) == len(rows(out / "header.csv")) >= 15
    assert {r["RNE"] for r in episodes} >= {"S", "L", "P"}
    assert {r["REC"] for r in episodes} >= {"X1", "E8"}
    found = every_rule(out, collection_year=2021)
    assert {(rule, child) for rule, child in found if rule not in NOT_HELD} == set()


def test_each_own_event_becomes_the_episode_its_kind_means(db: str, tmp_path: Path) -> None:
    """A 9-year-old accommodated (V2) with foster carers; a care order five months on (L);
    moved with the reason the last placement ended (P); moved with the same carers under a
    new order (U); home under a child arrangements order (E41)."""
    invoke(db, "init")
    child = "OWN-777"

    def ev(kind: str, on: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "council": COUNCIL, "child": child, "occurred_on": on,
                "source": f"LCS/{kind}/{on}", **fields}  # fmt: skip

    record(db, tmp_path / "h.jsonl", [
        ev("ChildBecameLookedAfter", "2020-05-04", legal_status="V2", placement="U4"),
        ev("ChildDetailsRecorded", "2020-05-04",
           details={"sex": "2", "dob": "2011-02-14", "ethnic": "WBRI", "mother": "0"}),
        ev("ReviewHeld", "2020-05-28", review_id="R-1", chair=IRO, participation="PN1"),
        ev("LegalStatusChanged", "2020-10-01", legal_status="C2", order_ref="ZW20C00001"),
        ev("PlacementChanged", "2020-11-16", placement="U1", same_carers=False, reason="CARPL"),
        ev("ReviewHeld", "2020-12-01", review_id="R-2", chair=IRO, participation="PN4"),
        ev("PlacementChanged", "2021-01-11", placement="U2", same_carers=True,
           legal_status="E1"),
        ev("ChildCeasedToBeLookedAfter", "2021-03-01", reason="E41", approved_by=OFFICER),
    ])  # fmt: skip
    out = export(db, 2020, tmp_path / "2020")

    got = [(r["DECOM"], r["RNE"], r["LS"], r["PLACE"], r["DEC"], r["REC"],
            r["REASON_PLACE_CHANGE"]) for r in rows(out / "episodes.csv")]  # fmt: skip
    assert got == [
        ("04/05/2020", "S", "V2", "U4", "01/10/2020", "X1", ""),
        ("01/10/2020", "L", "C2", "U4", "16/11/2020", "X1", "CARPL"),
        ("16/11/2020", "P", "C2", "U1", "11/01/2021", "X1", ""),
        ("11/01/2021", "U", "E1", "U2", "01/03/2021", "E41", ""),
    ]
    assert rows(out / "header.csv") == [{"CHILD": child, "SEX": "2", "DOB": "14/02/2011",
                                         "ETHNIC": "WBRI", "UPN": "", "MOTHER": "0",
                                         "MC_DOB": ""}]  # fmt: skip
    assert [(r["REVIEW"], r["REVIEW_CODE"]) for r in rows(out / "reviews.csv")] == [
        ("28/05/2020", "PN1"), ("01/12/2020", "PN4")
    ]  # fmt: skip
    # The year before knows nothing of it; the year after has only the ending, if open then.
    assert rows(export(db, 2019, tmp_path / "2019") / "episodes.csv") == []


# --- an imported return, then direct records -------------------------------------------------

# The council's 2019-20 return (April 2019 to March 2020): four children in care at its end.
RETURN_2019 = (
    [header("A1", "03/03/2012"), header("A2", "20/07/2006", SEX="2", MOTHER="0"),
     header("A3", "11/11/2015"), header("A4", "09/09/2008")],
    [episode("A1", "10/06/2019", "S", LS="V2", PLACE="U4", DEC="02/09/2019", REC="X1",
             REASON_PLACE_CHANGE="CARPL"),
     episode("A1", "02/09/2019", "P", LS="V2", PLACE="U1"),
     episode("A2", "15/01/2018", "S", LS="C2", PLACE="K2"),
     episode("A3", "12/12/2019", "S", LS="C1", PLACE="U4"),
     episode("A4", "01/05/2017", "S", LS="C2", PLACE="U6", DEC="30/09/2019", REC="E13")],
    [review("A1", "04/07/2019", "PN1", "03/03/2012"),
     review("A1", "25/09/2019", "PN1", "03/03/2012"),
     review("A2", "10/01/2020", "PN3", "20/07/2006"),
     review("A3", "09/01/2020", "PN1", "11/11/2015")],
)  # fmt: skip


def direct_records() -> list[dict[str, Any]]:
    """What the council recorded itself from April 2020: A1 moves (P) and has a review; A2's
    placement continues under a new legal status (L) and she leaves care at 18 on her
    birthday; A3 gets a full care order with the same carers (U, at the council's request)
    and goes home (E13)."""

    def ev(child: str, kind: str, on: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "council": COUNCIL, "child": child, "occurred_on": on,
                "source": f"LCS/{child}/{kind}/{on}", **fields}  # fmt: skip

    return [
        ev("A1", "PlacementChanged", "2020-06-01", placement="U3", same_carers=False,
           reason="CREQB"),
        ev("A1", "ReviewHeld", "2020-03-20", review_id="R-3", chair=IRO, participation="PN1"),
        ev("A1", "ReviewHeld", "2020-09-10", review_id="R-4", chair=IRO, participation="PN2"),
        ev("A2", "LegalStatusChanged", "2020-05-05", legal_status="V2"),
        ev("A2", "ReviewHeld", "2020-07-01", review_id="R-2", chair=IRO, participation="PN1"),
        ev("A2", "ChildCeasedToBeLookedAfter", "2024-07-20", reason="E8", approved_by=OFFICER),
        ev("A3", "PlacementChanged", "2020-06-10", placement="U4", same_carers=True,
           legal_status="C2", reason="LAREQ"),
        ev("A3", "ReviewHeld", "2020-09-01", review_id="R-2", chair=IRO, participation="PN1"),
        ev("A3", "ChildCeasedToBeLookedAfter", "2021-02-01", reason="E13",
           approved_by=OFFICER),
    ]  # fmt: skip


def test_an_imported_return_and_later_direct_records_export_one_consistent_year(
    db: str, tmp_path: Path
) -> None:
    invoke(db, "init")
    returned = write_return(tmp_path / "return-2019", *RETURN_2019)
    invoke(db, "import-903", returned, "--council", COUNCIL, "--year", 2019, role="ADMIN")
    record(db, tmp_path / "direct.jsonl", direct_records())
    out = export(db, 2020, tmp_path / "export-2020")

    got = [(r["CHILD"], r["DECOM"], r["RNE"], r["LS"], r["PLACE"], r["DEC"], r["REC"],
            r["REASON_PLACE_CHANGE"], r["CIN"], r["PLACE_PROVIDER"])
           for r in rows(out / "episodes.csv")]  # fmt: skip
    assert got == [
        # the imported episodes open on 1 April 2020, ended by the first direct record
        ("A1", "02/09/2019", "P", "V2", "U1", "01/06/2020", "X1", "CREQB", "N1", "PR1"),
        ("A1", "01/06/2020", "P", "V2", "U3", "", "", "", "", ""),
        ("A2", "15/01/2018", "S", "C2", "K2", "05/05/2020", "X1", "", "N1", "PR1"),
        # a change of legal status alone keeps the placement and what the return gave of it
        ("A2", "05/05/2020", "L", "V2", "K2", "", "", "", "N1", "PR1"),
        ("A3", "12/12/2019", "S", "C1", "U4", "10/06/2020", "X1", "LAREQ", "N1", "PR1"),
        ("A3", "10/06/2020", "U", "C2", "U4", "01/02/2021", "E13", "", "", ""),
    ]
    reviews = {(r["CHILD"], r["REVIEW"]) for r in rows(out / "reviews.csv")}
    assert reviews == {("A1", "10/09/2020"), ("A2", "01/07/2020"), ("A3", "01/09/2020")}
    # The 2019 return exported again is as it was imported.
    again = export(db, 2019, tmp_path / "export-2019")
    assert rows(again / "episodes.csv") == rows(returned / "episodes.csv")

    rules = (*EPISODE_AND_REVIEW_RULES, *YEAR_ON_YEAR_RULES)
    assert findings(returned, collection_year=2020, rules=EPISODE_AND_REVIEW_RULES) == set()
    assert findings(out, collection_year=2021, rules=rules, previous_year=returned) == set()
    # Every other rule: nothing the imported return did not already have, but for the fields
    # the ledger does not hold.
    before = every_rule(returned, collection_year=2020)
    after = every_rule(out, collection_year=2021, previous_year=returned)
    assert {(rule, child) for rule, child in after if rule not in NOT_HELD} <= before


# --- inconsistencies of a child recorded directly ---------------------------------------------


def test_reviews_of_a_child_recorded_directly_are_judged_against_their_own_periods_of_care(
    db: str, tmp_path: Path
) -> None:
    """Three reviews in care are not listed; a review recorded after the child went home is:
    no period of care was open."""
    invoke(db, "init")
    child = "OWN-500"

    def ev(kind: str, on: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "council": COUNCIL, "child": child, "occurred_on": on,
                "source": f"LCS/{kind}/{on}", **fields}  # fmt: skip

    record(db, tmp_path / "h.jsonl", [
        ev("ChildBecameLookedAfter", "2023-01-09", legal_status="C1", placement="U4"),
        ev("ChildDetailsRecorded", "2023-01-09",
           details={"sex": "1", "dob": "2013-06-02", "ethnic": "WBRI"}),
        ev("ReviewHeld", "2023-02-03", review_id="R-1", chair=IRO, participation="PN1"),
        ev("PlacementChanged", "2023-03-20", placement="U1", same_carers=False, reason="CARPL"),
        ev("ReviewHeld", "2023-05-02", review_id="R-2", chair=IRO, participation="PN1"),
        ev("LegalStatusChanged", "2023-06-12", legal_status="C2"),
        ev("ReviewHeld", "2023-10-30", review_id="R-3", chair=IRO, participation="PN2"),
        ev("ChildCeasedToBeLookedAfter", "2024-01-15", reason="E13", approved_by=OFFICER),
        ev("ReviewHeld", "2024-02-01", review_id="R-4", chair=IRO, participation="PN1"),
    ])  # fmt: skip
    result = invoke(db, "inconsistencies", "--child", f"{COUNCIL}:{child}", "--format", "json")

    listed = [(r["occurred_on"], r["what"]) for r in data_of(result.stdout)]
    assert listed == [("2024-02-01", "review held 2024-02-01 while no episode of care was open")]
    # The year's return the ledger makes of the council's records is judged alone too.
    in_year = invoke(db, "inconsistencies", "--council", COUNCIL, "--year", 2023, "--format",
                     "json")  # fmt: skip
    listed_in_year = [(r["child"], r["occurred_on"]) for r in data_of(in_year.stdout)]
    assert listed_in_year == [(child, "2024-02-01")]
    assert data_of(invoke(db, "inconsistencies", "--council", COUNCIL, "--year", 2022,
                             "--format", "json").stdout) == []  # fmt: skip
