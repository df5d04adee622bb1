"""The Python API answers as the command line does, on a SQLite file and on PostgreSQL: a
council's system that records through it, an IRO's reviews, an inspector's drift report, the
IRO challenges, and a council's SSDA903 return in and out."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from careledger.api import opened
from tests.test_integrity import DEMO

MEGAN = "E10000099:NR-0102"  # the demo's staying-put history (after NAIRO's case 6)
SAMPLE = Path(__file__).resolve().parent / "data" / "ssda903" / "d2i_demand_model_multiyear"


def megans_history() -> list[dict[str, object]]:
    lines = [json.loads(text) for text in DEMO.read_text(encoding="utf-8").splitlines() if text]
    return [
        {key: value for key, value in line.items() if key != "recorded_on"}
        for line in lines
        if f"{line['council']}:{line['child']}" == MEGAN
    ]


def test_megans_history_recorded_through_the_api_is_read_back_in_the_business_words(
    db: str,
) -> None:
    with opened(db, create_tables=True) as ledger:
        recorded = ledger.record(megans_history(), actor="lcs-feed", role="SW")
        assert recorded == len(megans_history())
        assert next(row["type"] for row in ledger.history(MEGAN)) == "CaseOpened"
        assert {row["section"] for row in ledger.plan(MEGAN)} >= {"placement", "pathway"}
        assert any(row["kind"] == "made without review approval" for row in ledger.unapproved())
        reviews = ledger.reviews(MEGAN, date.today())
        assert [row for row in reviews["timetable"] if row["held_on"]]
        assert "recommendations" in reviews
        (challenge,) = ledger.challenges(date.today(), MEGAN)
        assert challenge["challenge"] == "CH-01"
        report = ledger.drift(date.today(), by="iro")
        assert report.summary()
        assert ledger.verify(MEGAN).intact


def test_a_return_imported_and_exported_through_the_api(db: str, tmp_path: Path) -> None:
    with opened(db, create_tables=True) as ledger:
        report = ledger.import_return(
            SAMPLE / "2019", "E09000027", 2019, actor="returns.officer", accept_partial=True
        )
        assert report.recorded and report.children > 0
        counts = ledger.export_return("E09000027", 2019, tmp_path / "out")
    assert counts["episodes"] > 0 and counts["reviews"] > 0
    assert (tmp_path / "out" / "episodes.csv").stat().st_mode & 0o777 == 0o600
