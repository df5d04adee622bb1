"""The Python API answers as the command line does, on a SQLite file and on PostgreSQL: a
council's system that records through it, an IRO's reviews, an inspector's drift report, the
IRO challenges, and a council's SSDA903 return in and out."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from careledger.api import opened, read_seal
from careledger.ledger.errors import CaseNotFound
from careledger.ledger.integrity.seal import new_key
from careledger.projections.chronology import FORMAT
from careledger.projections.chronology_forms import render
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


def test_megans_chronology_seal_and_export_checked_through_the_api(
    db: str, tmp_path: Path
) -> None:
    """A court asks for Megan's chronology; the council seals the ledger, and later checks
    the export it handed over, after a correction to one of its entries."""
    key = tmp_path / "council.key"
    new_key(key)
    with opened(db, create_tables=True) as ledger:
        ledger.record(megans_history(), actor="lcs-feed", role="SW")
        made = ledger.chronology(MEGAN, "court.clerk")
        case_head = ledger.verify(MEGAN).case_head
        assert made.child == MEGAN and case_head is not None
        assert made.head_digest == case_head.hex()
        assert made.stamp().startswith(f"{FORMAT} case={made.case_id} events={made.events} ")
        since = ledger.chronology(MEGAN, "court.clerk", period_from=date(2023, 1, 1))
        assert since.rows and all(row.date >= "2023-01-01" for row in since.rows)
        assert len(since.rows) < len(made.rows)
        export = render(made, "csv")
        assert ledger.verify_export(export).matches

        sealed = ledger.seal(key, "r.blackwood")
        (tmp_path / "seal.json").write_text(sealed.to_json(), encoding="utf-8")
        seal = read_seal(tmp_path / "seal.json")
        assert (seal.events, seal.sealed_by) == (ledger.verify().events, "r.blackwood")

        iro = next(row for row in made.rows if row.kind == "IROAllocated")
        ledger.record([iro_reason_corrected(iro.event)], actor="lcs-feed", role="SW")
        verdict = ledger.verify_export(export)
        assert ledger.verify(seal=seal).seal_problem is None  # records added since are fine
    assert verdict.matches and verdict.events_since == 1
    (corrected,) = verdict.corrected_since
    assert (corrected.entry, corrected.event) == (iro.number, iro.event)
    assert verdict.findings[0].startswith("MATCHES the ledger as it stood when exported")
    assert verdict.report()["child"] == MEGAN


def test_an_edited_export_and_an_unknown_child_are_told_apart_through_the_api(db: str) -> None:
    with opened(db, create_tables=True) as ledger:
        ledger.record(megans_history(), actor="lcs-feed", role="SW")
        made = ledger.chronology(MEGAN, "court.clerk")
        markdown = render(made, "md")
        edited = markdown.replace(b"Helen Stroud", b"Helen Strode", 1)
        assert edited != markdown
        verdict = ledger.verify_export(edited)
        with pytest.raises(CaseNotFound):
            ledger.chronology("E10000099:NR-9999", "court.clerk")
    assert not verdict.matches
    assert verdict.findings[0] == "DOES NOT MATCH the ledger"


def iro_reason_corrected(seq: int) -> dict[str, object]:
    """The IRO's allocation was keyed with the wrong reason."""
    return {
        "type": "CorrectionRecorded",
        "council": "E10000099",
        "child": "NR-0102",
        "occurred_on": "2022-03-21",
        "source": "LCS/NOTE/4451A",
        "corrects_seq": seq,
        "reason": "Keyed as a first appointment; Helen Stroud took over from the IRO who left",
        "corrected": {"reason": "Change of IRO (s.25A): the previous IRO left the council"},
    }


def test_the_challenge_report_of_one_iro_through_the_api(db: str) -> None:
    """An IRO manager's report on Helen Stroud's challenges: Megan's CH-01, upheld at the
    informal stage, and her statistics; another IRO's report is empty, and the open
    challenges are none while the statistics still count the one resolved."""
    with opened(db, create_tables=True) as ledger:
        ledger.record(megans_history(), actor="lcs-feed", role="SW")
        hers = ledger.challenge_report(date.today(), iro=" helen STROUD ")
        nobodys = ledger.challenge_report(date.today(), iro="Gareth Lindqvist")
        still_open = ledger.challenge_report(date.today(), council="E10000099", only_open=True)
    (challenge,) = hers.challenges
    assert (challenge["child"], challenge["challenge"]) == (MEGAN, "CH-01")
    assert [row["iro"] for row in hers.per_iro] == ["Helen Stroud"]
    assert [row["council"] for row in hers.per_council] == ["E10000099"]
    assert not nobodys.challenges and not nobodys.per_iro
    assert challenge["outcome"] == "upheld"
    assert [row["raised"] for row in hers.per_iro] == [1]
    assert not still_open.challenges
    assert still_open.per_iro == hers.per_iro
