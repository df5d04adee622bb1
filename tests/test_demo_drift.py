"""The demo's drift report as an inspector saw it on 2026-01-30: every
measure has rows, and each row is a child of cli/demo/demo.jsonl whose history explains it.

The children: NR-0101 Tyler (NAIRO's case 1), NR-0102 Megan (case 6, Sally), NR-0103
Callum (case 3), NR-0104 Dean (case 5), NR-0105 Chloe (case 7, Mary), NR-0201 Jordan
(case 2), NR-0202 Shannon (case 4, Linda), NR-0203/NR-0204 Alfie and Poppy (case 8), and
NR-0205 Leah (§8: three IROs in a year, "each didn't follow up from the previous one")."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from click.testing import CliRunner, Result

from careledger.api import today
from careledger.cli.demo import INSPECTION_DAY
from careledger.cli.main import cli
from careledger.projections.drift import MEASURES
from careledger.projections.drift_settings import DriftSettings
from tests.envelope import data_of

ENV: dict[str, str | None] = {
    "CARELEDGER_DB": None,
    "CARELEDGER_COUNCIL": None,
    "CARELEDGER_PRESUMED_SIGNIFICANT": None,
    **{f"CARELEDGER_{name.upper()}": None for name in DriftSettings.model_fields},
    "CARELEDGER_CHALLENGE_STAGES": None,
    "CARELEDGER_CHALLENGE_FORMAL_LIMIT_WORKING_DAYS": None,
}
DAY = INSPECTION_DAY.isoformat()  # 2026-01-30

# What each measure's detail says of why a row is there.
REASON = {
    "review_overdue": "was due by",
    "review_late": "days late",
    "recommendation_overdue": "owner",
    "child_voice": "review REV-",
    "permanence_missing": "no permanence section in any plan recorded",
    "iro_caseload": "benchmark 50-70",
    "continuity": "in the 12 months to",
    "challenge_overdue": "working days",
    "recording_lag": "working days after the event",
}

Report = dict[str, Any]


def invoke(*args: Any) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], env=ENV)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("demo_drift") / "demo.db")
    invoke("demo", "--db", path)
    return path


@pytest.fixture(scope="module")
def drift(demo_db: str) -> Callable[..., Report]:
    @cache
    def report(as_of: str = DAY, by: str | None = None, recorded_on: str | None = None) -> Report:
        by_args = ("--group-by", by) if by else ()
        known = ("--as-recorded-on", recorded_on) if recorded_on else ()
        out = invoke(
            "drift", "--db", demo_db, "--as-of", as_of, *known, *by_args, "--format", "json"
        )
        data: Report = data_of(out.stdout)
        return data

    return report


@pytest.fixture(scope="module")
def reviews(demo_db: str) -> Callable[..., Report]:
    def child(name: str, as_of: str, recorded_on: str | None = None) -> Report:
        known = ("--as-recorded-on", recorded_on) if recorded_on else ()
        out = invoke("reviews", "--db", demo_db, name, "--as-of", as_of, *known, "--format", "json")
        data: Report = data_of(out.stdout)
        return data

    return child


def rows(report: Report, measure: str) -> dict[str, list[dict[str, Any]]]:
    """A measure's findings per subject."""
    per: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"][measure]:
        per.setdefault(finding["subject"], []).append(finding)
    return per


def total(report: Report, measure: str) -> int:
    return sum(c["count"] for c in report["summary"] if c["measure"] == measure)


def test_every_measure_has_counted_and_explained_rows_on_the_inspection_day(
    drift: Callable[..., Report],
) -> None:
    report = drift()
    assert set(REASON) == {m.key for m in MEASURES}
    for measure, reason in REASON.items():
        assert total(report, measure) > 0, measure
        findings = report["findings"][measure]
        assert findings, measure
        assert all(reason in f["detail"] for f in findings), (measure, findings)


def test_the_report_is_not_all_red(drift: Callable[..., Report]) -> None:
    """Most reviews on time, most recommendations done, most children seen and heard."""
    for count in drift()["summary"]:
        if count["measure"] != "iro_caseload":
            assert count["rate"] <= 0.5, count


def test_one_child_has_a_review_overdue_and_every_other_child_is_on_time(
    drift: Callable[..., Report],
) -> None:
    """Shannon (case 4): after her social worker left, three workers in five months; the
    review due by 2026-01-08 was not held."""
    overdue = rows(drift(), "review_overdue")
    assert list(overdue) == ["E09000099:NR-0202"]
    [row] = overdue["E09000099:NR-0202"]
    assert (row["on"], row["days"]) == ("2026-01-08", 22)
    assert row["detail"] == "review 6 of this period of care was due by 2026-01-08"


def test_reviews_held_late_in_the_previous_12_months(drift: Callable[..., Report]) -> None:
    """Dean's (case 5) review was rearranged when he did not come; Leah's second review
    waited for an agency IRO."""
    late = {s: [(f["on"], f["days"]) for f in fs] for s, fs in rows(drift(), "review_late").items()}
    assert late == {
        "E10000099:NR-0104": [("2025-09-09", 15)],
        "E09000099:NR-0205": [("2025-07-22", 24)],
    }
    [leah] = rows(drift(), "review_late")["E09000099:NR-0205"]
    assert leah["detail"] == "review 2 (REV-02) due by 2025-06-28, held 24 days late"


def test_recommendations_overdue_are_the_few_that_drifted(drift: Callable[..., Report]) -> None:
    """Most recommendations were completed or overtaken. Still open: Shannon's pathway
    assessment (its owner left in August), Dean's meeting before 18, and Leah's permanence
    plan, which none of her three IROs followed up. Chloe's (case 7) accommodation
    recommendations were done late, in November 2025, so they are no longer overdue."""
    overdue = {
        subject: sorted(f["detail"].split(" ")[0] for f in fs)
        for subject, fs in rows(drift(), "recommendation_overdue").items()
    }
    assert overdue == {
        "E09000099:NR-0202": ["REC-03"],
        "E10000099:NR-0104": ["REC-03"],
        "E09000099:NR-0205": ["REC-01"],
    }
    [shannon] = rows(drift(), "recommendation_overdue")["E09000099:NR-0202"]
    assert "owner Ellie Marsh (SW): Pathway needs assessment" in shannon["detail"]
    assert total(drift(), "recommendation_overdue") == 3
    owners = {o["owner"] for o in drift()["recommendation_owners"]}
    assert owners == {"Ellie Marsh (SW)", "Mark Ellison (SW)", "Hannah Cole (SW)"}


def test_the_childs_voice_missing_but_a_refusal_to_meet_the_iro_is_not_drift(
    drift: Callable[..., Report],
) -> None:
    voice = rows(drift(), "child_voice")
    assert set(voice) == {"E10000099:NR-0104", "E09000099:NR-0205"}
    [dean] = voice["E10000099:NR-0104"]
    assert dean["detail"].startswith("review REV-05 (PN7): PN7: absent, views not conveyed")
    [leah] = voice["E09000099:NR-0205"]
    assert leah["detail"] == (
        "review REV-02 (PN6): IRO spoke with the child before it: no, and no reason recorded"
    )
    # Shannon declined to meet the IRO alone before REV-05 (2025-07-08): a recorded reason
    assert "E09000099:NR-0202" not in voice


def test_shannons_refusal_to_meet_the_iro_is_shown_with_its_reason(
    reviews: Callable[[str, str], Report],
) -> None:
    held = {r["review_id"]: r for r in reviews("E09000099:NR-0202", DAY)["timetable"]}
    assert held["REV-05"]["child_seen_before"].startswith("no (Shannon declined to meet")


def test_no_permanence_plan_by_the_second_review(drift: Callable[..., Report]) -> None:
    permanence = rows(drift(), "permanence_missing")
    assert list(permanence) == ["E09000099:NR-0205"]
    [leah] = permanence["E09000099:NR-0205"]
    assert leah["detail"] == (
        "second review due by 2025-06-28, held 2025-07-22; no permanence section in any plan "
        "recorded"
    )


def test_helen_marsh_is_above_the_caseload_benchmark(drift: Callable[..., Report]) -> None:
    caseload = rows(drift(), "iro_caseload")
    assert list(caseload) == ["Helen Marsh"]
    assert caseload["Helen Marsh"][0]["days"] == 75  # 74 background children and Leah


def test_continuity_social_worker_churn_and_three_iros_in_a_year(
    drift: Callable[..., Report],
) -> None:
    continuity = {s: fs[0]["detail"] for s, fs in rows(drift(), "continuity").items()}
    assert continuity == {
        "E09000099:NR-0202": "0 change(s) of IRO, 3 of social worker in the 12 months to "
        "2026-01-30",
        "E09000099:NR-0205": "2 change(s) of IRO, 0 of social worker in the 12 months to "
        "2026-01-30",
    }


def test_sallys_sixth_social_worker_in_two_years(drift: Callable[..., Report]) -> None:
    """Megan (case 6, Sally) left care at 18 in April 2025, so the 2026 report, which counts
    continuity for children looked after on the day, cannot show her; an inspector on
    2024-01-30 saw three changes of her social worker in twelve months."""
    assert "E10000099:NR-0102" not in rows(drift(), "continuity")
    earlier = rows(drift("2024-01-30"), "continuity")
    assert earlier["E10000099:NR-0102"][0]["detail"] == (
        "0 change(s) of IRO, 3 of social worker in the 12 months to 2024-01-30"
    )


def test_records_made_weeks_late(drift: Callable[..., Report]) -> None:
    """Jordan's review of 2025-04-29 typed up on 2025-07-04; Leah's move of 2025-08-11
    recorded on 2025-09-19, when her third IRO found it; Megan's leaving care keyed 14
    working days late. Every other record was made the day it happened."""
    lag = {s: (fs[0]["weight"], fs[0]["days"]) for s, fs in rows(drift(), "recording_lag").items()}
    assert lag == {
        "E09000099:NR-0201": (1, 46),
        "E09000099:NR-0205": (1, 28),
        "E10000099:NR-0102": (1, 14),
    }
    assert total(drift(), "recording_lag") == 3


def test_by_iro_gives_a_group_per_iro_including_helen_marsh(
    drift: Callable[..., Report], demo_db: str
) -> None:
    report = drift(by="iro")
    out = invoke("drift", "--db", demo_db, "--as-of", DAY, "--group-by", "iro", "--format", "json")
    assert json.loads(out.stdout)["query"] == {
        "as_of": DAY,
        "as_recorded_on": today().isoformat(),  # as recorded by now: the date it was read
        "group_by": "iro",
    }
    groups = {c["group"] for c in report["summary"]}
    # Reviews count for the IRO who chaired them: Leah's earlier IROs chaired reviews in
    # the year, though neither is her IRO now.
    assert groups == {
        "Bernard Lowe",
        "Fiona Marchetti",
        "Gareth Lindqvist",
        "Helen Marsh",
        "Helen Stroud",
        "Samuel Ross",
        "Nicola Brandt",
        "Marcus Hale",
    }
    late = {f["subject"]: f["group"] for f in report["findings"]["review_late"]}
    assert late["E09000099:NR-0205"] == "Marcus Hale"
    helen = {
        c["measure"]: (c["count"], c["of"])
        for c in report["summary"]
        if c["group"] == "Helen Marsh"
    }
    assert helen["iro_caseload"] == (1, 1)
    assert helen["permanence_missing"] == (1, 75)
    by_council = drift()
    for measure in REASON:  # grouping moves rows between groups, never loses them
        assert total(report, measure) == total(by_council, measure), measure


def test_a_childs_reviews_held_late_or_on_time_and_the_next_due(
    reviews: Callable[[str, str], Report],
) -> None:
    leah = reviews("E09000099:NR-0205", DAY)
    timetable = [(r["review_id"], r["chair"], r["due_by"], r["status"]) for r in leah["timetable"]]
    assert timetable == [
        ("REV-01", "Nicola Brandt", "2025-03-31", "held on time"),
        ("REV-02", "Marcus Hale", "2025-06-28", "held 24 days late"),
        ("REV-03", "Helen Marsh", "2026-01-22", "held on time"),
        (None, None, "2026-07-20", "next: due in 171 days"),
    ]
    status = {r["recommendation"]: r["status"] for r in leah["recommendations"]}
    assert status == {
        "REC-01": "overdue by 231 days",
        "REC-02": "completed on 2025-09-24",
        "REC-03": "open",
    }


def test_recommendations_completed_late_or_overtaken(
    reviews: Callable[[str, str], Report],
) -> None:
    """Chloe's (case 7) accommodation recommendations were resolved late, two months before
    her 18th birthday; Tyler's (case 1) therapeutic fostering referral was overtaken when
    REV-03 changed course to a matched placement with therapy."""
    chloe = {r["recommendation"]: r for r in reviews("E10000099:NR-0105", DAY)["recommendations"]}
    assert {k: (r["due_by"], r["status"]) for k, r in chloe.items()} == {
        "REC-01": ("2025-01-31", "completed on 2025-11-20"),
        "REC-02": ("2025-06-30", "completed on 2025-11-19"),
        "REC-03": ("2025-10-31", "completed on 2025-11-20"),
    }
    tyler = {
        r["recommendation"]: r["status"]
        for r in reviews("E10000099:NR-0101", DAY)["recommendations"]
    }
    assert tyler["REC-02"] == "overtaken on 2023-09-05"
    assert all(s.startswith("completed on") for k, s in tyler.items() if k != "REC-02")


def test_an_earlier_day_as_recorded_then_counts_only_what_was_recorded_by_then(
    drift: Callable[..., Report], reviews: Callable[..., Report]
) -> None:
    """On 2025-06-30 Jordan's review of 2025-04-29 had not been typed up (recorded on
    2025-07-04): the inspector saw his review overdue and no late record. Chloe's
    accommodation plan was five months overdue."""
    earlier = drift("2025-06-30", recorded_on="2025-06-30")
    overdue = rows(earlier, "review_overdue")
    assert overdue["E09000099:NR-0201"][0]["detail"] == (
        "review 8 of this period of care was due by 2025-05-05"
    )
    assert "E09000099:NR-0201" not in rows(earlier, "recording_lag")
    assert "E09000099:NR-0201" not in rows(drift(), "review_overdue")
    chloe = rows(earlier, "recommendation_overdue")["E10000099:NR-0105"]
    assert [(f["detail"].split(" ")[0], f["days"]) for f in chloe] == [("REC-01", 150)]
    assert "Accommodation plan for 18" in chloe[0]["detail"]

    jordan = reviews("E09000099:NR-0201", "2025-06-30", "2025-06-30")
    assert jordan["timetable"][-1]["due_by"] == "2025-05-05"
    assert jordan["timetable"][-1]["status"] == "overdue by 56 days"
    assert "REC-05" not in {r["recommendation"] for r in jordan["recommendations"]}
    later = reviews("E09000099:NR-0201", DAY)
    assert {r["review_id"] for r in later["timetable"]} >= {"REV-08", "REV-09"}


def test_an_earlier_day_from_everything_recorded_counts_what_had_happened_by_then(
    drift: Callable[..., Report], reviews: Callable[..., Report]
) -> None:
    """From everything recorded, on 2025-06-30 Jordan's review of 2025-04-29 had been held:
    not overdue; its record, made on 2025-07-04, is not a late record of that day."""
    earlier = drift("2025-06-30")
    assert "E09000099:NR-0201" not in rows(earlier, "review_overdue")
    assert "E09000099:NR-0201" not in rows(earlier, "recording_lag")
    jordan = reviews("E09000099:NR-0201", "2025-06-30")
    held = [r for r in jordan["timetable"] if r["held_on"] == "2025-04-29"]
    assert [r["review"] for r in held] == [8]
    assert jordan["timetable"][-1]["status"].startswith("next: due in")


def test_alfies_challenge_is_past_its_timescale_and_leahs_is_not_yet(
    drift: Callable[..., Report],
) -> None:
    """Alfie (case 8): escalated to the DCS on Monday 22/12/2025, no answer recorded. Five
    working days from the 22nd skip Christmas Day, Boxing Day and the weekend: 23, 24, 29,
    30, 31 December. The formal process, from 22/12, has run 26 working days by 30/01/2026
    (23, 24, 29, 30, 31 Dec; 2 Jan; then 20 in the four weeks to 30 Jan; 1 Jan is a bank
    holiday). Leah's informal challenge of 22/01/2026 has ten working days, to 05/02/2026."""
    report = drift()
    [alfie] = rows(report, "challenge_overdue")["E09000099:NR-0203"]
    assert (alfie["on"], alfie["days"]) == ("2025-12-19", 42)
    assert alfie["detail"] == (
        "challenge CH-01 (decision) of Fiona Marchetti: no response at Stage 4 due by "
        "2025-12-31 (5 working days); formal process 26 working days since 2025-12-22 "
        "(limit 20)"
    )
    assert list(rows(report, "challenge_overdue")) == ["E09000099:NR-0203"]
    [count] = [c for c in report["summary"] if c["measure"] == "challenge_overdue"]
    assert (count["count"], count["of"]) == (1, 2)


def test_drift_json_names_the_day_of_the_record_it_answers_for(demo_db: str) -> None:
    """An inspector's report as recorded by a day is a different answer from today's record:
    the envelope's query says which (README, JSON output: an option not given is null)."""
    out = invoke(
        "drift", "--db", demo_db, "--as-of", DAY, "--as-recorded-on", DAY, "--format", "json"
    )
    assert json.loads(out.stdout)["query"] == {
        "as_of": DAY,
        "as_recorded_on": DAY,
        "group_by": None,
    }
