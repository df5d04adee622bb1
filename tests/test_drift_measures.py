"""Every drift measure, from two realistic histories recorded over time, on both stores.

Amara (12) came into care on Monday 3 March 2025 under s.20; her first review was due 20
working days later, on Monday 31 March, and was held on 8 April: 8 days late. Ben (15) came
into care on 1 October 2024 on an interim care order; his second review was brought forward
to 20 December 2024, so his third fell due on 20 June 2025 and had not been held by the end
of June. His plan never had a permanence section; his social worker changed three times in
2025; his second review's record was typed up a month late. The inspector looks on
30 June 2025: most tests take the report as it was seen that day (`--as-of` and
`--as-recorded-on` the same day); those named for the business view read it again from
everything recorded since.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from careledger.api import Opened, opened
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.domain.commands import parse_command
from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections.drift import By, Finding, Report, drift_report
from careledger.projections.drift.assembler import LANES
from careledger.projections.drift.children import children_from_records
from careledger.projections.drift.query import Query
from careledger.projections.drift_settings import DriftSettings
from careledger.projections.queries import Child

COUNCIL = "E10000042"
INSPECTION = date(2025, 6, 30)
ACTOR = p.Actor(actor_id="drift-tests", role="ADMIN")
IRO = {"name": "Priya Shah", "role": "IRO"}
SW = {"name": "Tom Okafor", "role": "SW"}
TM = {"name": "Grace Mensah", "role": "TM"}


class Ledger:
    """Records each event at 5 pm on the day the council recorded it."""

    def __init__(self, o: Opened) -> None:
        self.o = o
        self.n = 0

    def add(self, child: str, kind: str, on: str, recorded_on: str | None = None, **x: Any) -> int:
        self.n += 1
        at = datetime.combine(date.fromisoformat(recorded_on or on), time(17), ENGLAND)
        self.o.ledger.clock = lambda: at.astimezone(UTC)
        command = parse_command(
            {
                "type": kind,
                "council": COUNCIL,
                "child": child,
                "occurred_on": on,
                "source": f"LCS/{child}/{self.n}",
                **x,
            }
        )
        return self.o.ledger.record([command], ACTOR)[0].seq

    def review(self, child: str, rid: str, on: str, **x: Any) -> int:
        fields = {"participation": "PN1", "child_seen_before": True, **x}
        return self.add(child, "ReviewHeld", on, review_id=rid, chair=IRO, **fields)

    def report(self, as_of: date = INSPECTION, seen_then: bool = True, **settings: Any) -> Report:
        """The report on `as_of` as the inspector saw it that day (only what had been recorded
        by then) or, not `seen_then`, from everything recorded since."""
        self.o.catch_up()
        known = as_of if seen_then else None
        thresholds = DriftSettings(**settings)
        return drift_report(self.o.views, as_of, None, thresholds, as_recorded_on=known)


def amara(ledger: Ledger) -> None:
    ledger.add("AMARA", "ChildBecameLookedAfter", "2025-03-03", legal_status="V2")
    ledger.add("AMARA", "IROAllocated", "2025-03-05", iro_id="IRO-1", iro_name="Priya Shah")
    ledger.add(
        "AMARA",
        "SocialWorkerAllocated",
        "2025-03-03",
        worker_id="SW-1",
        worker_name="Tom Okafor",
        team="Children in Care East",
    )
    ledger.add(
        "AMARA",
        "CarePlanAgreed",
        "2025-03-12",
        decided_by=TM,
        sections={"placement": "Foster care (U4)", "permanence": "Return home"},
    )
    ledger.review(
        "AMARA",
        "REV-1",
        "2025-04-08",
        decisions=[
            {
                "kind": "recommend",
                "recommendation_id": "REC-1",
                "text": "CAMHS referral",
                "owner": SW,
                "due_on": "2025-05-30",
            },
            {
                "kind": "recommend",
                "recommendation_id": "REC-2",
                "text": "PEP meeting",
                "owner": SW,
                "due_on": "2025-05-15",
            },
            {
                "kind": "recommend",
                "recommendation_id": "REC-3",
                "text": "Contact plan with dad",
                "owner": TM,
                "due_on": "2025-06-01",
            },
        ],
    )
    ledger.add(
        "AMARA", "RecommendationCompleted", "2025-05-10", recommendation_id="REC-2", completed_by=SW
    )
    # Done on 3 June but recorded only on 10 July: on 30 June the record showed it open.
    ledger.add(
        "AMARA",
        "RecommendationCompleted",
        "2025-06-03",
        recorded_on="2025-07-10",
        recommendation_id="REC-3",
        completed_by=TM,
    )


def ben(ledger: Ledger) -> None:
    ledger.add("BEN", "ChildBecameLookedAfter", "2024-10-01", legal_status="C1")
    ledger.add("BEN", "IROAllocated", "2024-10-02", iro_id="IRO-1", iro_name="Priya Shah")
    ledger.add(
        "BEN",
        "SocialWorkerAllocated",
        "2024-10-01",
        worker_id="SW-7",
        worker_name="Sam Hale",
        team="Children in Care West",
    )
    ledger.add(
        "BEN",
        "CarePlanAgreed",
        "2024-10-10",
        decided_by=TM,
        sections={"placement": "Residential (K2)", "education": "Alternative provision"},
    )
    ledger.review("BEN", "REV-1", "2024-10-25", participation="PN7", child_seen_before=None)
    ledger.review(
        "BEN",
        "REV-2",
        "2024-12-20",
        recorded_on="2025-01-20",
        participation="PN5",
        child_seen_before=False,
        child_not_seen_reason="Ben refused to meet the IRO",
    )
    for n, on in enumerate(["2025-01-06", "2025-03-03", "2025-05-12"], start=8):
        ledger.add(
            "BEN",
            "SocialWorkerAllocated",
            on,
            worker_id=f"SW-{n}",
            worker_name=f"Worker {n}",
            team="Children in Care West",
        )


@pytest.fixture
def ledger(db: str) -> Iterator[Ledger]:
    with opened(db, create_tables=True) as o:
        built = Ledger(o)
        amara(built)
        ben(built)
        yield built


def found(report: Report, measure: str) -> dict[str, Finding]:
    return {f.subject.split(":")[1]: f for f in report.findings[measure]}


def counted(report: Report, measure: str) -> tuple[int, int]:
    (count,) = [c for c in report.counts if c.measure == measure]
    return count.count, count.of


def test_first_review_held_eight_days_after_its_twenty_working_days(ledger: Ledger) -> None:
    report = ledger.report()
    late = found(report, "review_late")
    assert set(late) == {"AMARA"}
    assert late["AMARA"].days == 8 and late["AMARA"].on == "2025-04-08"
    assert counted(report, "review_late") == (1, 3)  # of Amara's one and Ben's two reviews


def test_review_brought_forward_makes_the_next_one_due_six_months_on(ledger: Ledger) -> None:
    report = ledger.report()
    overdue = found(report, "review_overdue")
    assert set(overdue) == {"BEN"}
    assert (overdue["BEN"].on, overdue["BEN"].days) == ("2025-06-20", 10)
    assert counted(report, "review_overdue") == (1, 2)
    # A week earlier it was not yet due.
    assert found(ledger.report(date(2025, 6, 19)), "review_overdue") == {}


def test_open_recommendation_past_due_is_overdue_and_a_done_one_recorded_later_too(
    ledger: Ledger,
) -> None:
    overdue = ledger.report().findings["recommendation_overdue"]
    assert sorted((f.detail.split(" ")[0], f.days) for f in overdue) == [
        ("REC-1", 31),
        ("REC-3", 29),
    ]
    assert counted(ledger.report(), "recommendation_overdue") == (2, 3)
    # Once the completion of 3 June is on record, only REC-1 remains.
    later = ledger.report(date(2025, 7, 10)).findings["recommendation_overdue"]
    assert [f.detail.split(" ")[0] for f in later] == ["REC-1"]


def test_a_recommendation_done_before_the_inspection_is_done_in_the_business_view(
    ledger: Ledger,
) -> None:
    """REC-3 was done on 3 June and recorded on 10 July: from everything recorded, on
    30 June it had been done."""
    overdue = ledger.report(seen_then=False).findings["recommendation_overdue"]
    assert [f.detail.split(" ")[0] for f in overdue] == ["REC-1"]


def test_grace_days_setting_delays_overdue_recommendations(ledger: Ledger) -> None:
    overdue = ledger.report(recommendation_grace_days=30).findings["recommendation_overdue"]
    assert [f.detail.split(" ")[0] for f in overdue] == ["REC-1"]


def test_pn7_without_seeing_the_child_is_drift_but_a_recorded_refusal_is_not(
    ledger: Ledger,
) -> None:
    report = ledger.report()
    voice = found(report, "child_voice")
    assert set(voice) == {"BEN"}
    assert "REV-1" in voice["BEN"].detail and "PN7" in voice["BEN"].detail
    assert counted(report, "child_voice") == (1, 3)


def test_no_permanence_section_by_the_second_review(ledger: Ledger) -> None:
    report = ledger.report()
    missing = found(report, "permanence_missing")
    assert set(missing) == {"BEN"}
    assert missing["BEN"].on == "2024-12-20"  # the second review, held before it was due
    assert counted(report, "permanence_missing") == (1, 1)  # Amara's second is not due yet


def test_three_social_workers_in_a_year_is_a_continuity_finding(ledger: Ledger) -> None:
    report = ledger.report()
    assert set(found(report, "continuity")) == {"BEN"}
    assert "3 of social worker" in found(report, "continuity")["BEN"].detail
    assert found(ledger.report(social_worker_changes=4), "continuity") == {}


def test_review_record_typed_up_a_month_late_is_recording_lag(ledger: Ledger) -> None:
    report = ledger.report()
    lag = found(report, "recording_lag")
    assert set(lag) == {"BEN"}
    # 20 Dec 2024 to 20 Jan 2025: 18 working days (Christmas, Boxing Day, New Year skipped).
    assert lag["BEN"].days == 18 and lag["BEN"].weight == 1
    late, of = counted(report, "recording_lag")
    assert late == 1 and of == ledger.n - 1  # every record in the window but REC-3's


def test_caseload_above_the_benchmark_lists_the_iro(ledger: Ledger) -> None:
    report = ledger.report(iro_caseload_low=1, iro_caseload_high=1)
    assert [(f.subject, f.days) for f in report.findings["iro_caseload"]] == [("Priya Shah", 2)]
    assert ledger.report().findings["iro_caseload"] == []


def test_grouped_counts_add_up_to_the_whole(ledger: Ledger) -> None:
    ledger.o.catch_up()
    whole = drift_report(ledger.o.views, INSPECTION)
    by_team = drift_report(ledger.o.views, INSPECTION, By.TEAM)
    for measure in ("review_overdue", "review_late", "recording_lag", "continuity"):
        teams = [c for c in by_team.counts if c.measure == measure]
        assert sum(c.count for c in teams) == counted(whole, measure)[0]
        assert sum(c.of for c in teams) == counted(whole, measure)[1]
    groups = {c.group for c in by_team.counts if c.measure == "continuity"}
    assert groups == {"Children in Care East", "Children in Care West"}


def test_a_correction_counts_from_the_day_it_was_recorded(ledger: Ledger) -> None:
    """Amara's first review was in fact held on 28 March, on time; the correction was
    recorded on 15 July. On 30 June the record still said 8 April."""
    seq = _review_seq(ledger)
    ledger.add(
        "AMARA",
        "CorrectionRecorded",
        "2025-07-15",
        corrects_seq=seq,
        reason="Review date mistyped",
        corrected={"occurred_on": "2025-03-28"},
    )
    assert set(found(ledger.report(), "review_late")) == {"AMARA"}
    assert found(ledger.report(date(2025, 7, 31)), "review_late") == {}
    # From everything recorded, on 30 June the review had been held on 28 March, on time.
    assert found(ledger.report(seen_then=False), "review_late") == {}


def _review_seq(ledger: Ledger) -> int:
    ledger.o.catch_up()
    rows = ledger.o.views.case_rows(Child(COUNCIL, "AMARA").case_id)
    return next(int(r["seq"]) for r in rows if r["event_type"] == "ReviewHeld")


def test_allocating_the_same_iro_again_is_not_a_change_of_iro(ledger: Ledger) -> None:
    ledger.add(
        "BEN",
        "IROAllocated",
        "2025-02-03",
        iro_id="IRO-1",
        iro_name="Priya Shah",
        reason="Re-allocated after the IRO's leave",
    )
    report = ledger.report(iro_changes=1, social_worker_changes=9)
    assert found(report, "continuity") == {}
    ledger.add("BEN", "IROAllocated", "2025-04-07", iro_id="IRO-2", iro_name="Dev Patel")
    report = ledger.report(iro_changes=1, social_worker_changes=9)
    assert "1 change(s) of IRO" in found(report, "continuity")["BEN"].detail


def test_caseload_counts_all_an_iros_children_whichever_team_they_are_in(ledger: Ledger) -> None:
    ledger.o.catch_up()
    settings = DriftSettings(iro_caseload_low=1, iro_caseload_high=1)
    by_team = drift_report(ledger.o.views, INSPECTION, By.TEAM, settings)
    rows = sorted((f.group, f.subject, f.days) for f in by_team.findings["iro_caseload"])
    assert rows == [
        ("Children in Care East", "Priya Shah", 2),
        ("Children in Care West", "Priya Shah", 2),
    ]


def test_a_review_judged_late_as_the_timetable_stood_when_its_predecessor_was_not_yet_recorded(
    db: str,
) -> None:
    """Chidi came into care on Monday 2 June 2025; his first review was due 20 working days
    later, on Monday 30 June, and was held on 24 June, but its record was typed up only on
    20 October. His second review, held on 2 October and recorded that day, was due three
    months after the first: 24 September, so 8 days late. On 15 October an inspector saw only
    the October review: as the first, due 30 June, it was 94 days late."""
    with opened(db, create_tables=True) as o:
        chidi = Ledger(o)
        chidi.add("CHIDI", "ChildBecameLookedAfter", "2025-06-02", legal_status="V2")
        chidi.review("CHIDI", "REV-1", "2025-06-24", recorded_on="2025-10-20")
        chidi.review("CHIDI", "REV-2", "2025-10-02")
        then = found(chidi.report(date(2025, 10, 15)), "review_late")["CHIDI"]
        now = found(chidi.report(date(2025, 10, 31)), "review_late")["CHIDI"]
        business = found(chidi.report(date(2025, 10, 15), seen_then=False), "review_late")
    assert (then.on, then.days) == ("2025-10-02", 94)
    assert then.detail == "review 1 (REV-2) due by 2025-06-30, held 94 days late"
    assert (now.on, now.days) == ("2025-10-02", 8)
    assert now.detail == "review 2 (REV-2) due by 2025-09-24, held 8 days late"
    # From everything recorded, on 15 October his first review had been held on 24 June.
    assert business["CHIDI"].detail == now.detail


def test_every_lane_of_a_postgresql_report_reads_the_views_as_the_first_lane_began(
    postgres_db: str,
) -> None:
    """On PostgreSQL the measures run on two connections at once (the assembler's LANES).
    A child projected after the first lane opened must be seen by neither lane, or the two
    halves of one report would count different children."""
    with opened(postgres_db, create_tables=True) as o:
        built = Ledger(o)
        amara(built)
        o.catch_up()
        assert o.views.report_lanes == len(LANES)
        settings, protocol = DriftSettings(), DisputeProtocol()
        with Query.open(o.views, INSPECTION, None, settings, protocol) as first:
            ben(built)
            o.catch_up()  # Ben's case is now in the views, committed
            with Query.open(o.views, INSPECTION, None, settings, protocol, first.snapshot) as later:
                later.select_children()
                children = later.run("SELECT child_ref FROM tmp_children")
        assert [row["child_ref"] for row in children] == ["AMARA"]
        assert len(built.report().findings["permanence_missing"]) == 1  # Ben, seen afresh


def test_children_settled_by_the_projection_are_those_the_records_give_on_every_date(
    ledger: Ledger,
) -> None:
    """A report reads each child's IRO, team and period from cl_children once every child's
    latest records are all in force and known, and works them out from the records before
    that. On every date, from before the first record to after the last, the two must give
    the same children: here with an IRO allocation recorded weeks late, a corrected
    allocation date, a child leaving care and a change of team recorded late."""
    ledger.add(
        "AMARA", "IROAllocated", "2025-05-01", "2025-06-16", iro_id="IRO-2", iro_name="Dev Patel"
    )
    seq = ledger.add("BEN", "IROAllocated", "2025-04-07", iro_id="IRO-3", iro_name="Ama Boateng")
    ledger.add(
        "BEN",
        "CorrectionRecorded",
        "2025-07-15",
        corrects_seq=seq,
        reason="Allocation date mistyped",
        corrected={"occurred_on": "2025-04-14"},
    )
    ledger.add("BEN", "ChildCeasedToBeLookedAfter", "2025-08-01", reason="E13")
    ledger.add(
        "AMARA",
        "SocialWorkerAllocated",
        "2025-09-15",
        "2025-10-01",
        worker_id="SW-9",
        worker_name="Jo Hale",
        team="Children in Care North",
    )
    ledger.o.catch_up()
    settled = {
        r["child_ref"]: r["settled_on"]
        for r in ledger.o.views.fetch("SELECT * FROM {s}cl_children")
    }
    assert settled == {"AMARA": "2025-10-01", "BEN": "2025-08-01"}
    days = [
        date(2024, 9, 30),
        date(2025, 4, 10),
        date(2025, 6, 16),
        date(2025, 7, 15),
        date(2025, 7, 31),
        date(2025, 8, 1),
        date(2025, 9, 30),
        date(2025, 10, 1),
    ]
    unsettled = []
    for day in days:
        with Query.open(ledger.o.views, day, None, DriftSettings(), DisputeProtocol()) as q:
            q.select_children()
            read = q.run("SELECT * FROM tmp_children ORDER BY child_ref")
            worked_out = q.run(children_from_records("1 = 1") + " ORDER BY c.child_ref")
            [n] = q.run("SELECT COUNT(*) AS n FROM {s}cl_children WHERE settled_on > :d")
            unsettled.append(n["n"])
        assert read == worked_out, day
    # Worked out from the records while any child's were unsettled; copied from 1 October.
    assert unsettled == [2, 2, 2, 2, 2, 1, 1, 0]
    assert [(r["child_ref"], r["iro"], r["team"], r["period_no"]) for r in read] == [
        ("AMARA", "Dev Patel", "Children in Care North", 1),
        ("BEN", "Ama Boateng", "Children in Care West", None),
    ]


def test_postgresql_views_compare_text_byte_by_byte_as_sqlite_does(postgres_db: str) -> None:
    """The views' dates, codes and names compare as bytes (COLLATE "C") on PostgreSQL, as
    on SQLite, whatever the server's own collation: the same order on both stores, and the
    report's millions of date comparisons without the C library's strcoll."""
    with opened(postgres_db, create_tables=True) as o:
        rows = o.views.fetch(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = ? AND left(table_name, 3) = 'cl_' AND data_type = 'text'",
            (o.views.datastore.schema,),
        )
    assert {r["table_name"] for r in rows} >= {"cl_lags", "cl_reviews", "cl_children"}
    assert {r["collation_name"] for r in rows} == {"C"}


def test_findings_are_listed_most_overdue_first_then_by_child(ledger: Ledger) -> None:
    """Whatever order the database returns them in: Ben's third review, brought forward to
    17 March 2025 and recorded before any of Amara's, leaves a recommendation 10 days overdue
    on 30 June; Alfie's, made later, is as overdue as Amara's REC-1 and comes before it by
    name."""
    ledger.add(
        "BEN",
        "ReviewHeld",
        "2025-03-17",
        review_id="REV-3",
        chair=IRO,
        participation="PN1",
        child_seen_before=True,
        decisions=[
            {
                "kind": "recommend",
                "recommendation_id": "REC-B1",
                "text": "Life story work",
                "owner": SW,
                "due_on": "2025-06-20",
            }
        ],
    )
    ledger.add("ALFIE", "ChildBecameLookedAfter", "2025-04-01", legal_status="C2")
    ledger.review(
        "ALFIE",
        "REV-A1",
        "2025-04-29",
        decisions=[
            {
                "kind": "recommend",
                "recommendation_id": "REC-A1",
                "text": "Dentist",
                "owner": SW,
                "due_on": "2025-05-30",
            }
        ],
    )
    overdue = ledger.report().findings["recommendation_overdue"]
    assert [(f.subject.split(":")[1], f.days) for f in overdue] == [
        ("ALFIE", 31),
        ("AMARA", 31),
        ("AMARA", 29),
        ("BEN", 10),
    ]
