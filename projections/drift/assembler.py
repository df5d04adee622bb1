"""The drift report assembled from its measures (`measures`): each measure counted on the
date, in two lanes where the store allows, and, for the chart, at each earlier month end."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from datetime import date
from functools import partial

from careledger.ledger.collector import collector_paused
from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections.drift.measures import CHECKS, COUNTERS, TRENDS
from careledger.projections.drift.query import Query
from careledger.projections.drift.report import By, Count, Counted, Report, worst_first
from careledger.projections.drift.trend import Trend
from careledger.projections.drift_settings import DriftSettings
from careledger.projections.timetable import add_months
from careledger.projections.views import CaseViews


def drift_report(
    views: CaseViews,
    as_of: date,
    by: By | None = None,
    settings: DriftSettings | None = None,
    trend_months: int = 0,
    protocol: DisputeProtocol | None = None,
    as_recorded_on: date | None = None,
    councils: frozenset[str] | None = None,
) -> Report:
    """The report on the business date `as_of`, of what had been recorded by the end of
    `as_recorded_on` (None: everything recorded; `as_of` itself: what an inspector would
    have seen that day); with `trend_months`, each measure's overall count at the end of
    each earlier month too, from the same records. `councils`: only those councils'
    children are counted (an inspector's, an IRO manager's), None: every council's.

    The collector is paused while the report is built (`collector_paused`): at 80,000
    children a report lists about 100,000 findings, and left on, the collector's passes
    over them took about a third of the report's own processing time."""
    with collector_paused():
        return _drift_report(
            views, as_of, by, settings, trend_months, protocol, as_recorded_on, councils
        )


def _drift_report(
    views: CaseViews,
    as_of: date,
    by: By | None,
    settings: DriftSettings | None,
    trend_months: int,
    protocol: DisputeProtocol | None,
    as_recorded_on: date | None,
    councils: frozenset[str] | None,
) -> Report:
    settings = settings or DriftSettings()
    protocol = protocol or DisputeProtocol()
    window_from = add_months(as_of, -12)
    report = Report(as_of, window_from, by, settings, protocol, as_recorded_on=as_recorded_on)
    days = month_ends(as_of, trend_months)
    # The last point is the report's own date: ungrouped, it is the report itself.
    earlier = [day for day in days if day != as_of or by is not None]
    counting = partial(trend, views, earlier, settings, protocol, as_recorded_on, councils)
    with ThreadPoolExecutor(1, thread_name_prefix="drift-trend") as pool:
        # Where the report has lanes of its own (PostgreSQL), the trend is counted on
        # another connection meanwhile: the server works on both while either waits.
        pending = pool.submit(counting) if earlier and views.report_lanes > 1 else None
        measured = measure(
            views, as_of, by, settings, protocol, as_recorded_on=as_recorded_on, councils=councils
        )
        points = pending.result() if pending else counting()
    for key in COUNTERS:
        counts, findings = measured[key]
        # A measure with nothing to count (no open challenge) still shows, as 0 of 0.
        report.counts += counts or ([] if by else [Count(key, "all", 0, 0)])
        report.findings[key] = findings
    for key in CHECKS:
        report.to_put_right += measured[key][0] or [Count(key, "all", 0, 0)]
    overall = {key: _total(key, measured[key][0]) for key in COUNTERS}
    report.trend = [(day, points.get(day, overall)) for day in days]
    return report


Measured = dict[str, Counted]


def measure(
    views: CaseViews,
    as_of: date,
    by: By | None,
    settings: DriftSettings,
    protocol: DisputeProtocol,
    listed: bool = True,
    as_recorded_on: date | None = None,
    councils: frozenset[str] | None = None,
) -> Measured:
    """Every measure on one date, of what was recorded by the end of `as_recorded_on`
    (None: everything), its findings in order unless not `listed` (a trend reads only the
    counts). Where the store allows (PostgreSQL), the measures run in
    two lanes of about equal time, each on a connection (a server process) of its own, both
    reading one snapshot of the views: the report is as consistent as one transaction, in
    the time of the slower lane."""
    lanes = LANES if views.report_lanes >= len(LANES) else ((*COUNTERS, *CHECKS),)
    with ExitStack() as stack:
        opening = partial(Query.open, views, as_of, by, settings, protocol)
        first = stack.enter_context(opening(as_recorded_on=as_recorded_on, councils=councils))
        queries = [first] + [
            stack.enter_context(opening(first.snapshot, as_recorded_on, councils))
            for _ in lanes[1:]
        ]
        if len(lanes) == 1:
            return _lane(first, lanes[0], listed)
        with ThreadPoolExecutor(len(lanes), thread_name_prefix="drift-lane") as pool:
            parts = list(pool.map(partial(_lane, listed=listed), queries, lanes))
    found = {key: result for part in parts for key, result in part.items()}
    return {key: found[key] for key in (*COUNTERS, *CHECKS)}


def trend(
    views: CaseViews,
    dates: list[date],
    settings: DriftSettings,
    protocol: DisputeProtocol,
    as_recorded_on: date | None = None,
    councils: frozenset[str] | None = None,
) -> dict[date, dict[str, Count]]:
    """Each measure's overall count on each of the dates, each measure in one statement over
    every date (`trend.py`), not a report per date: what the report on each date counts."""
    if not dates:
        return {}
    with Trend.open(views, dates, settings, protocol, as_recorded_on, councils) as t:
        counting = {key: TRENDS[key](t) for key in TRENDS}
    per_measure = {
        key: points.result() if isinstance(points, Future) else points
        for key, points in counting.items()
    }
    return {day: {key: per_measure[key][day] for key in COUNTERS} for day in dates}


def _lane(query: Query, measures: tuple[str, ...], listed: bool) -> Measured:
    """The lane's measures, their findings in order if `listed` (sorted here, while the
    other lane's statements run, not after both)."""
    query.select_children()
    measured: Measured = {}
    for key in measures:
        if key in CHECKS:
            measured[key] = (CHECKS[key](query), [])
            continue
        counts, findings = COUNTERS[key](query)
        measured[key] = (counts, sorted(findings, key=worst_first) if listed else findings)
    return measured


def month_ends(as_of: date, months: int) -> list[date]:
    """The trend's dates: the end of each of the `months` months before `as_of`'s, and
    `as_of` itself (none without months)."""
    ends = []
    for back in range(months, 0, -1):
        first = add_months(as_of.replace(day=1), -back + 1)
        ends.append(first.fromordinal(first.toordinal() - 1))
    return [*ends, as_of] if months else []


def _total(measure: str, counts: list[Count]) -> Count:
    return Count(measure, "all", sum(c.count for c in counts), sum(c.of for c in counts))


# The measures in two lanes of about equal time at 80,000 children, each lane's Python
# counted (the first decodes and lists the most findings; benchmarks/NOTES.md has the
# figures). review_late and child_voice share one statement, so they share a lane.
LANES = (
    ("recommendation_overdue", "review_late", "child_voice", "iro_caseload"),
    ("recording_lag", "permanence_missing", "challenge_overdue", "review_overdue", "continuity",
     "past_18"),
)  # fmt: skip
assert sorted(key for lane in LANES for key in lane) == sorted([*COUNTERS, *CHECKS])
