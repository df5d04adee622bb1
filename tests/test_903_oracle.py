"""The import of an SSDA903 return, proved by an outside oracle: the DfE's own rules, as the
`csc-validator-be-903` package implements them (tests/validator903.py).

A sample return is imported, exported again, and both are run through the validator with the
same rule set and year: the (rule, child) findings must be the same, so nothing the DfE's
rules can see was lost or changed on the way through the ledger. And careledger's own
inconsistency projection must flag exactly the children the validator flags for overlapping
episodes (501), broken continuity (388, 431-433), an earlier episode left open (142) and an
episode at odds with itself (148, 356) on each sample return.

Children with a row the ledger refused (the fake sample has reviews dated years ahead) are
not recorded at all, so they are left out of both sides of the comparison.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from careledger.api import Opened
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.ssda903.importer import ImportReport, ReturnImport
from careledger.projections.inconsistencies import inconsistencies
from careledger.projections.returns import children, export
from tests.validator903 import EPISODE_AND_REVIEW_RULES, YEAR_ON_YEAR_RULES, findings

DATA = Path(__file__).resolve().parent / "data" / "ssda903"  # the synthetic sample returns
FAKE = DATA / "d2i_validator_fake_2017_18"
MULTIYEAR = DATA / "d2i_demand_model_multiyear"
COUNCIL = "E09000027"
ACTOR = p.Actor(actor_id="returns.team", role=Role.ADMIN)
JUDGED = ("501", "388", "431", "432", "433", "142", "148", "356")


def tables_only(source: Path, into: Path) -> Path:
    """The return's Header, Episodes and Reviews, the tables an export writes."""
    into.mkdir(parents=True)
    for name in ("header.csv", "episodes.csv", "reviews.csv"):
        shutil.copy(source / name, into / name)
    return into


def import_return(o: Opened, directory: Path, year: int) -> ImportReport:
    report = ReturnImport(o.ledger, COUNCIL, year, ACTOR).run(directory, accept_partial=True)
    assert report.recorded
    o.catch_up()
    return report


def exported(o: Opened, year: int, into: Path) -> Path:
    into.mkdir(parents=True)
    export(o.views, COUNCIL, year, into)
    return into


def without(found: set[tuple[str, str]], refused: set[str]) -> set[tuple[str, str]]:
    return {(rule, child) for rule, child in found if child not in refused}


def own_judgement(o: Opened, year: int) -> set[tuple[str, str]]:
    return {
        (found.rule, records.child_ref)
        for records in children(o.views, COUNCIL, up_to_year=year)
        for found in inconsistencies(records, year)
        if found.rule in JUDGED
    }


def test_a_return_exported_from_the_ledger_breaks_the_same_dfe_rules_for_the_same_children(
    o: Opened, tmp_path: Path
) -> None:
    original = tables_only(FAKE, tmp_path / "original")
    report = import_return(o, original, 2017)
    export_dir = exported(o, 2017, tmp_path / "export")

    before = without(findings(original, collection_year=2018, rules=EPISODE_AND_REVIEW_RULES),
                     report.refused_children)  # fmt: skip
    after = findings(export_dir, collection_year=2018, rules=EPISODE_AND_REVIEW_RULES)

    assert after == before
    assert {rule for rule, _ in before} >= {"501", "388", "431", "433", "440", "441"}


def test_careledger_flags_exactly_the_children_the_dfe_rules_flag_for_overlaps_and_breaks(
    o: Opened, tmp_path: Path
) -> None:
    original = tables_only(FAKE, tmp_path / "original")
    report = import_return(o, original, 2017)

    theirs = without(findings(original, collection_year=2018, rules=JUDGED),
                     report.refused_children)  # fmt: skip

    assert own_judgement(o, 2017) == theirs
    # The sample has no episode ending before it starts: 356 is proved by a mutation below.
    assert {rule for rule, _ in theirs} == set(JUDGED) - {"356"}


@pytest.mark.parametrize("year", [2017, 2018, 2019, 2020, 2021])
def test_each_multiyear_return_is_judged_as_the_dfe_rules_judge_it(
    o: Opened, tmp_path: Path, year: int
) -> None:
    original = tables_only(MULTIYEAR / str(year), tmp_path / "original")
    report = import_return(o, original, year)

    theirs = without(findings(original, collection_year=year + 1, rules=JUDGED),
                     report.refused_children)  # fmt: skip

    assert own_judgement(o, year) == theirs


def test_two_successive_returns_exported_break_the_same_year_on_year_rules(
    o: Opened, tmp_path: Path
) -> None:
    first = tables_only(MULTIYEAR / "2017", tmp_path / "2017")
    second = tables_only(MULTIYEAR / "2018", tmp_path / "2018")
    refused = import_return(o, first, 2017).refused_children
    restated = import_return(o, second, 2018)
    refused |= restated.refused_children
    out_first = exported(o, 2017, tmp_path / "export-2017")
    out_second = exported(o, 2018, tmp_path / "export-2018")

    before = without(
        findings(second, collection_year=2019, rules=YEAR_ON_YEAR_RULES, previous_year=first),
        refused,
    )
    after = findings(
        out_second, collection_year=2019, rules=YEAR_ON_YEAR_RULES, previous_year=out_first
    )

    assert after == before
    assert before, "the sample's second return restates the first: some rule must fire"


def moved_end(source: Path, into: Path, child: str, rule: str) -> Path:
    """The return with the child's first episode ending ten days after its second began
    (501), or the day before it began itself (356)."""
    tables_only(source, into)
    path = into / "episodes.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    mine = sorted((r for r in rows if r["CHILD"] == child), key=lambda r: _day(r["DECOM"]))
    first, second = mine[0], mine[1]
    if rule == "501":
        end = _day(second["DECOM"]) + timedelta(days=10)
    else:
        end = _day(first["DECOM"]) - timedelta(days=1)
    first["DEC"] = end.strftime("%d/%m/%Y")
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return into


def _day(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


@pytest.mark.parametrize("rule", ["501", "356"])
def test_moving_an_end_date_into_the_next_episode_or_before_its_start_is_flagged_by_both(
    o: Opened, tmp_path: Path, rule: str
) -> None:
    original = tables_only(MULTIYEAR / "2019", tmp_path / "original")
    flagged = {child for _, child in findings(original, collection_year=2020, rules=JUDGED)}
    with (original / "episodes.csv").open(newline="") as f:
        counts = Counter(r["CHILD"] for r in csv.DictReader(f))
    clean = sorted(c for c, n in counts.items() if n >= 2 and c not in flagged)
    assert clean, "the sample has children with two episodes the DfE's rules find clean"
    child = clean[0]

    mutated = moved_end(MULTIYEAR / "2019", tmp_path / "mutated", child, rule)
    import_return(o, mutated, 2019)

    assert (rule, child) in findings(mutated, collection_year=2020, rules=JUDGED)
    assert (rule, child) in own_judgement(o, 2019)
