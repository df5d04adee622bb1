"""Ceasing to be looked after without the approval reg 39 asks for (reg 39(4): a nominated
officer, once the child has been looked after for 20 working days; reg 39(5): the DCS, for a
16- or 17-year-old not in care). Recorded through the CLI, on a SQLite file and PostgreSQL.

After NAIRO's case 5 (Roy): Jordan (invented) is accommodated under s.20; senior managers
decide on a Friday that he goes home.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from careledger.projections.rules import FlagKind
from tests.test_cli_end_to_end import (
    COUNCIL,
    ev,
    flags,
    init,
    invoke,
    looked_after,
    ok,
    record,
    seq_of,
    unapproved,
)

JORDAN = "JM-0516"
NOMINATED_OFFICER = {"name": "Helen Marsh", "role": "NOMINATED_OFFICER"}
DCS = {"name": "Ruth Adeyemi", "role": "DCS"}


def sent_home(
    on: str, legal_status: str = "V2", approved_by: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Accommodated on Monday 8 January 2024; sent home on `on`."""
    return [
        looked_after(JORDAN, "2024-01-08", legal_status, "U4"),
        ev(JORDAN, "ChildCeasedToBeLookedAfter", on, reason="E4A", approved_by=approved_by),
    ]


def born(on: str) -> dict[str, Any]:
    return ev(JORDAN, "ChildDetailsRecorded", "2024-01-08", details={"sex": "1", "dob": on})


def ceasing_flags(db: str) -> list[dict[str, Any]]:
    rows = flags(unapproved(db, JORDAN))
    return [row for row in rows if row["kind"] == FlagKind.CEASED_WITHOUT_APPROVAL]


def test_ceasing_after_62_working_days_under_s20_without_approval_is_flagged(
    db: str, tmp_path: Path
) -> None:
    init(db)
    ok(record(db, tmp_path, sent_home("2024-04-05")))  # Good Friday and Easter Monday skipped

    (row,) = ceasing_flags(db)
    assert row["event"] == seq_of(db, JORDAN, "E4A")
    assert row["rule"] == "CPPCR 2010 reg 39(4)"
    assert "looked after for 62 working days under s.20" in row["why"]
    assert "no approval recorded (a nominated officer)" in row["why"]
    assert row["decided_by"] == "not recorded"

    court = ok(invoke("chronology", "--db", db, f"{COUNCIL}:{JORDAN}", "--format", "csv"))
    assert "ceased to be looked after without approval" in court.stdout


def test_ceasing_after_13_working_days_needs_no_approval(db: str, tmp_path: Path) -> None:
    init(db)
    ok(record(db, tmp_path, sent_home("2024-01-25")))

    assert ceasing_flags(db) == []


def test_a_nominated_officers_approval_satisfies_reg_39_4(db: str, tmp_path: Path) -> None:
    init(db)
    ok(record(db, tmp_path, sent_home("2024-04-05", approved_by=NOMINATED_OFFICER)))

    assert ceasing_flags(db) == []


def test_a_16_year_old_sent_home_needs_the_dcs_not_a_nominated_officer(
    db: str, tmp_path: Path
) -> None:
    init(db)
    accommodated, ceased = sent_home("2024-04-05", approved_by=NOMINATED_OFFICER)
    ok(record(db, tmp_path, [accommodated, born("2007-11-30"), ceased]))

    (row,) = ceasing_flags(db)
    assert row["rule"] == "CPPCR 2010 reg 39(5)"
    assert "aged 16" in row["why"]
    assert "approved by Helen Marsh (NOMINATED_OFFICER), not the DCS" in row["why"]


def test_a_16_year_olds_return_home_approved_by_the_dcs_is_not_flagged(
    db: str, tmp_path: Path
) -> None:
    init(db)
    accommodated, ceased = sent_home("2024-04-05", approved_by=DCS)
    ok(record(db, tmp_path, [accommodated, born("2007-11-30"), ceased]))

    assert ceasing_flags(db) == []


def test_a_care_order_ended_by_the_court_is_not_judged_under_reg_39(
    db: str, tmp_path: Path
) -> None:
    init(db)
    ok(record(db, tmp_path, sent_home("2024-04-05", legal_status="C2")))

    assert ceasing_flags(db) == []


def test_an_approval_recorded_later_by_correction_clears_the_flag(
    db: str, tmp_path: Path
) -> None:
    init(db)
    ok(record(db, tmp_path, sent_home("2024-04-05")))
    ceased = seq_of(db, JORDAN, "E4A")
    correction = ev(
        JORDAN,
        "CorrectionRecorded",
        "2024-04-12",
        corrects_seq=ceased,
        reason="The nominated officer's approval of 4 April was not keyed",
        corrected={"approved_by": NOMINATED_OFFICER},
    )
    ok(record(db, tmp_path, [correction]))

    assert ceasing_flags(db) == []
