"""The drift report's trend, each measure counted at every month end in one statement, says
exactly what the report on each of those dates says: checked on the demo's histories (two
councils, records made late, a correction, IRO challenges), on invented children's
histories (cli/synthetic.py) and on a review judged as its timetable stood before its
predecessor was recorded, on both stores; at month ends, on days drawn at random, as
recorded by a day and from everything recorded, for one council and for all.

The oracle is the way the trend was computed before: the whole report, ungrouped, on each
date."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careledger.api import Opened, opened
from careledger.cli.demo import INSPECTION_DAY, LOADER, demo_commands
from careledger.ledger.domain.commands import Command
from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.ledger.errors import LedgerError
from careledger.projections.drift import By, Count, drift_report
from careledger.projections.drift.assembler import month_ends, trend
from careledger.projections.drift.measures import COUNTERS
from careledger.projections.drift_settings import DriftSettings
from careledger.synthetic import synthetic_history
from tests.access_histories import OTHER
from tests.test_drift_measures import IRO, Ledger

SYNTHETIC_UNTIL = date(2025, 11, 28)
# Thresholds low enough that every measure counts something in a small ledger.
TIGHT = DriftSettings(
    recording_lag_working_days=1,
    recommendation_grace_days=0,
    iro_changes=1,
    social_worker_changes=1,
    iro_caseload_low=1,
    iro_caseload_high=2,
)

Points = dict[date, dict[str, tuple[int, int]]]


def record(o: Opened, timed: Sequence[tuple[datetime, Command]]) -> None:
    """Each command recorded at its own time, as the council recorded it."""
    for at, command in timed:
        o.ledger.clock = partial(lambda at: at, at)
        o.ledger.record([command], LOADER)
    o.catch_up()


@pytest.fixture(scope="module")
def demo(served_db: str) -> Iterator[Opened]:
    with opened(served_db, create_tables=True) as o:
        record(o, demo_commands())
        yield o


@pytest.fixture(scope="module")
def invented(
    served_db: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Opened]:
    """Sixty invented children over two councils, on each store (beside the demo's)."""
    served = served_db
    schema = f"{served.rsplit('schema=', 1)[1]}_invented" if "schema=" in served else None
    if schema is not None:
        db = f"{served}_invented"
        request.getfixturevalue("postgres_admin").execute(f'CREATE SCHEMA "{schema}"')
    else:
        db = str(tmp_path_factory.mktemp("invented") / "careledger.db")
    try:
        with opened(db, create_tables=True) as o:
            pairs = synthetic_history(
                60, seed=3, councils=("E10000098", "E10000097"), until=SYNTHETIC_UNTIL
            )
            record(o, pairs)
            yield o
    finally:
        if schema is not None:
            request.getfixturevalue("postgres_admin").execute(f'DROP SCHEMA "{schema}" CASCADE')


def one_pass(
    o: Opened,
    dates: Sequence[date],
    thresholds: DriftSettings,
    as_recorded_on: date | None = None,
    councils: frozenset[str] | None = None,
) -> Points:
    found = trend(o.views, list(dates), thresholds, DisputeProtocol(), as_recorded_on, councils)
    return {day: _pairs(counts) for day, counts in found.items()}


def report_per_date(
    o: Opened,
    dates: Sequence[date],
    thresholds: DriftSettings,
    as_recorded_on: date | None = None,
    councils: frozenset[str] | None = None,
) -> Points:
    """The oracle: the whole report, ungrouped, on each date."""
    points = {}
    for day in dates:
        report = drift_report(
            o.views, day, None, thresholds, as_recorded_on=as_recorded_on, councils=councils
        )
        points[day] = _pairs({c.measure: c for c in report.counts})
    return points


def _pairs(counts: dict[str, Count]) -> dict[str, tuple[int, int]]:
    return {key: (counts[key].count, counts[key].of) for key in COUNTERS}


def counted_somewhere(points: Points) -> set[str]:
    return {key for counts in points.values() for key, (n, _) in counts.items() if n}


@pytest.mark.parametrize("as_recorded_on", [None, INSPECTION_DAY, date(2025, 9, 30)])
@pytest.mark.parametrize("thresholds", [DriftSettings(), TIGHT], ids=["default", "tight"])
def test_the_demos_month_ends_counted_in_one_pass_are_the_reports_of_those_days(
    demo: Opened, as_recorded_on: date | None, thresholds: DriftSettings
) -> None:
    last = as_recorded_on or INSPECTION_DAY
    dates = month_ends(last, 24)
    expected = report_per_date(demo, dates, thresholds, as_recorded_on)
    assert one_pass(demo, dates, thresholds, as_recorded_on) == expected
    assert len(counted_somewhere(expected)) >= 6  # the histories exercise most measures


def test_one_councils_trend_in_one_pass_is_its_reports(demo: Opened) -> None:
    dates = month_ends(INSPECTION_DAY, 12)
    councils = frozenset({OTHER})
    expected = report_per_date(demo, dates, TIGHT, INSPECTION_DAY, councils)
    assert one_pass(demo, dates, TIGHT, INSPECTION_DAY, councils) == expected
    every = one_pass(demo, dates, TIGHT, INSPECTION_DAY)
    assert any(expected[day] != every[day] for day in dates)


def test_the_html_pages_trend_grouped_or_not_is_the_reports_at_each_month_end(
    demo: Opened,
) -> None:
    """The page's call: the last point is the report's own date, grouped or not."""
    dates = month_ends(INSPECTION_DAY, 12)
    expected = report_per_date(demo, dates, DriftSettings(), INSPECTION_DAY)
    for by in (None, By.IRO):
        report = drift_report(
            demo.views, INSPECTION_DAY, by, trend_months=12, as_recorded_on=INSPECTION_DAY
        )
        assert [day for day, _ in report.trend] == dates
        assert {day: _pairs(counts) for day, counts in report.trend} == expected


@pytest.mark.parametrize("thresholds", [DriftSettings(), TIGHT], ids=["default", "tight"])
def test_invented_childrens_month_ends_counted_in_one_pass_are_the_reports(
    invented: Opened, thresholds: DriftSettings
) -> None:
    dates = month_ends(SYNTHETIC_UNTIL, 18)
    for as_recorded_on in (None, date(2025, 3, 31)):
        days = [day for day in dates if as_recorded_on is None or day <= as_recorded_on]
        expected = report_per_date(invented, days, thresholds, as_recorded_on)
        assert one_pass(invented, days, thresholds, as_recorded_on) == expected
        assert len(counted_somewhere(expected)) >= 6


@given(
    days=st.lists(st.dates(date(2023, 1, 1), SYNTHETIC_UNTIL), min_size=1, max_size=4, unique=True),
    as_recorded_on=st.one_of(st.none(), st.dates(date(2024, 1, 1), SYNTHETIC_UNTIL)),
    councils=st.sampled_from([None, frozenset({"E10000097"})]),
)
@settings(max_examples=12, deadline=None)
def test_any_days_counted_in_one_pass_are_the_reports_of_those_days(
    invented: Opened,
    days: list[date],
    as_recorded_on: date | None,
    councils: frozenset[str] | None,
) -> None:
    expected = report_per_date(invented, days, TIGHT, as_recorded_on, councils)
    assert one_pass(invented, days, TIGHT, as_recorded_on, councils) == expected


def test_a_review_rejudged_as_then_known_counts_on_each_month_end_as_the_report_does(
    db: str,
) -> None:
    """Chidi's first review (24 June) was recorded only on 20 October; his second, held on
    2 October, is judged on 15 October against the timetable then known (tests of the
    report: test_drift_measures.py)."""
    with opened(db, create_tables=True) as o:
        chidi = Ledger(o)
        chidi.add("CHIDI", "ChildBecameLookedAfter", "2025-06-02", legal_status="V2")
        chidi.review("CHIDI", "REV-1", "2025-06-24", recorded_on="2025-10-20")
        chidi.review("CHIDI", "REV-2", "2025-10-02")
        o.catch_up()
        for seen in (date(2025, 10, 15), date(2025, 11, 30), None):
            dates = month_ends(seen or date(2025, 12, 31), 6)
            expected = report_per_date(o, dates, DriftSettings(), seen)
            assert one_pass(o, dates, DriftSettings(), seen) == expected
            assert any(counts["review_late"][0] for counts in expected.values())


@pytest.mark.parametrize("as_recorded_on", [INSPECTION_DAY, None])
def test_a_ledger_opened_for_reading_counts_the_same_trend(
    demo: Opened, served_db: str, as_recorded_on: date | None
) -> None:
    """Opened for reading, no temporary table may be made: the children looked after on
    each date are worked out (as recorded by a day) or read from the projection's spans
    (of everything recorded) within each statement that reads them."""
    dates = month_ends(INSPECTION_DAY, 12)
    expected = one_pass(demo, dates, TIGHT, as_recorded_on)
    with opened(served_db, reading=True) as reader:
        assert reader.views.read_only
        assert one_pass(reader, dates, TIGHT, as_recorded_on) == expected
        assert report_per_date(reader, dates, TIGHT, as_recorded_on) == expected


def test_views_projected_before_the_spans_were_kept_are_rebuilt_and_then_count_as_the_reports(
    db: str,
) -> None:
    """Views of the previous version (5: no table of the children's spans looked after) are
    refused until `careledger projections rebuild`, which fills that table: the trend of
    everything recorded is then the reports' on each month end."""
    dates = month_ends(INSPECTION_DAY, 12)
    with opened(db, create_tables=True) as o:
        record(o, demo_commands())
        with o.views.datastore.transaction(commit=True) as cursor:
            cursor.execute(o.views.q("DROP TABLE {s}cl_looked_after"))
            cursor.execute(
                o.views.q("UPDATE {s}cl_policy SET value = '5' WHERE name = 'views_schema'")
            )
    refused = pytest.raises(LedgerError, match="run 'careledger projections rebuild'")
    with refused, opened(db, create_tables=True):
        pass
    with opened(db, check_policy=False) as o:
        o.rebuild()
    with opened(db) as o:
        [spans] = o.views.fetch("SELECT COUNT(*) AS n FROM {s}cl_looked_after")
        assert spans["n"] > 0
        expected = report_per_date(o, dates, TIGHT)
        assert one_pass(o, dates, TIGHT) == expected
        assert len(counted_somewhere(expected)) >= 6


def test_challenge_steps_taken_on_a_month_end_count_on_that_month_end_as_the_report_does(
    db: str,
) -> None:
    """Dana's IRO raised two challenges. The first's raising, escalation, answer and
    resolution each fall on a month end; the second goes unanswered at its stage until an
    answer on a month end. The trend follows each challenge through the dates once, so a
    step taken on a date must count from that date, as the report of that day counts it."""
    manager = {"name": "Marcus Fenwick", "role": "SERVICE_MANAGER"}
    with opened(db, create_tables=True) as o:
        dana = Ledger(o)
        dana.add("DANA", "ChildBecameLookedAfter", "2025-03-03", legal_status="C2")
        for challenge_id, raised_on in (("CHAL-1", "2025-05-31"), ("CHAL-2", "2025-04-30")):
            dana.add(
                "DANA", "ChallengeRaised", raised_on, challenge_id=challenge_id,
                subject="decision", concern="The move was decided without a review",
                raised_by=IRO, stage=0,
            )  # fmt: skip
        dana.add(
            "DANA", "ChallengeEscalated", "2025-06-30", challenge_id="CHAL-1", to_stage=1,
            escalated_by=IRO, reason="No answer at the informal stage",
        )  # fmt: skip
        for challenge_id, on in (("CHAL-1", "2025-07-31"), ("CHAL-2", "2025-08-31")):
            dana.add(
                "DANA", "ChallengeResponded", on, challenge_id=challenge_id,
                responded_by=manager, response="A review will be held",
            )  # fmt: skip
        dana.add(
            "DANA", "ChallengeResolved", "2025-09-30", challenge_id="CHAL-1",
            outcome="upheld", resolved_by=manager, summary="Review held; the move confirmed",
        )  # fmt: skip
        o.catch_up()
        dates = month_ends(date(2025, 11, 30), 8)
        expected = report_per_date(o, dates, DriftSettings())
        assert one_pass(o, dates, DriftSettings()) == expected
        overdue = [expected[day]["challenge_overdue"] for day in dates]
        assert len(set(overdue)) > 2, overdue  # the counts move as each step is taken
