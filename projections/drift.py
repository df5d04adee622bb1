"""The inspector's drift report: counts and rates per measure, and the children behind them.

Everything is read from the follow-up tables (projections.schema.FOLLOWUP_TABLES) and
cl_children, never by replaying events. A report "as of" a date counts only what had been
recorded by the end of that day, with the corrections recorded by then (see
projections.followup): what an inspector would have seen on that date.

Who is counted: the measures of "now" (reviews and recommendations overdue, permanence,
caseload, continuity) count the children looked after on the date; the measures of the
previous 12 months (reviews held late, the child's voice, recording lag) count every review
or record in that window, including those of children who have since left care.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import partial
from typing import Any, NamedTuple

from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections import challenges
from careledger.projections.drift_settings import DriftSettings
from careledger.projections.followup import AGE_18
from careledger.projections.timetable import Regime, add_months, timetable
from careledger.projections.views import CaseViews, Row


class By(StrEnum):
    COUNCIL = "council"
    IRO = "iro"
    TEAM = "team"


@dataclass(frozen=True)
class Measure:
    key: str
    title: str
    counts: str  # what one count is, and of what
    rule: str
    status: str  # as docs/rules.md marks the rule


MEASURES = (
    Measure(
        "review_overdue",
        "Reviews overdue",
        "children whose next review is past its due date, of children looked after",
        "reg 33(1)-(2): first within 20 working days, second within 3 months, then 6-monthly",
        "verified",
    ),
    Measure(
        "review_late",
        "Reviews held late (previous 12 months)",
        "reviews held after their due date, of reviews held",
        "reg 33(1)-(2)",
        "verified",
    ),
    Measure(
        "recommendation_overdue",
        "Recommendations overdue",
        "recommendations past due and not completed or overtaken, of recommendations due",
        "reg 37; IRO Handbook",
        "unverified: configurable (CARELEDGER_RECOMMENDATION_GRACE_DAYS)",
    ),
    Measure(
        "child_voice",
        "Reviews without the child's voice (previous 12 months)",
        "reviews with views not conveyed (PN7) or without the IRO speaking with the child "
        "first, of reviews held",
        "reg 36; SSDA903 REVIEW_CODE",
        "PN7 verified; 'child not seen' unverified: configurable (CARELEDGER_CHILD_SEEN_REQUIRED)",
    ),
    Measure(
        "permanence_missing",
        "No permanence plan by the second review",
        "children past their second review's date with no permanence plan recorded, "
        "of children past that date",
        "reg 5(a); IRO Handbook / Guidance Vol 2 (by the second review)",
        "verified at second hand",
    ),
    Measure(
        "iro_caseload",
        "IROs above the caseload benchmark",
        "IROs with more active children than the benchmark's high end, of IROs",
        "IRO Handbook: 50-70 children per full-time IRO",
        "verified at second hand: configurable (CARELEDGER_IRO_CASELOAD_LOW/HIGH); counts "
        "children per IRO, not per full-time equivalent",
    ),
    Measure(
        "continuity",
        "Changes of IRO or social worker (previous 12 months)",
        "children with too many changes of IRO or social worker, of children looked after",
        "s.25A; IRO Handbook (continuity); no statutory threshold",
        "policy: configurable (CARELEDGER_IRO_CHANGES, CARELEDGER_SOCIAL_WORKER_CHANGES)",
    ),
    Measure(
        "challenge_overdue",
        "IRO challenges past their timescale",
        "open challenges whose current stage has had no response within its timescale, or "
        "whose formal process has run past its limit, of open challenges",
        "IRO Handbook ch.6 (dispute resolution): a timescale at each stage; the whole formal "
        "process within 20 working days",
        "verified at second hand: stages and timescales are settings "
        "(CARELEDGER_CHALLENGE_STAGES, CARELEDGER_CHALLENGE_FORMAL_LIMIT_WORKING_DAYS)",
    ),
    Measure(
        "recording_lag",
        "Decisions recorded late (previous 12 months)",
        "records made more than the allowed working days after the event, of records made",
        "record-keeping (reg 38 review record; no statutory limit)",
        "policy: configurable (CARELEDGER_RECORDING_LAG_WORKING_DAYS)",
    ),
)
MEASURE = {m.key: m for m in MEASURES}


@dataclass(frozen=True)
class Correction:
    """A kind of record the council is to put right, counted in the report's data-quality
    section (`careledger inconsistencies` lists the children)."""

    key: str
    title: str
    rule: str


TO_PUT_RIGHT = (
    Correction(
        "past_18",
        "looked after past 18: record when care ended",
        "CA 1989 s.105(1): a child is a person under 18",
    ),
)


class Finding(NamedTuple):
    """One row behind a count: a child (or, for caseload, an IRO) and why it counts. (A
    named tuple: a report at 80,000 children builds 100,000 of them, and a frozen
    dataclass takes four times as long to build.)"""

    measure: str
    group: str
    subject: str  # "COUNCIL:REF", or the IRO's name for caseload
    on: str | None  # the date it concerns (due date, review date...)
    days: int | None  # how late, or how many
    detail: str
    weight: int = 1  # how many records it stands for (late records of one child)
    owner: str | None = None  # a recommendation's owner


@dataclass(frozen=True)
class Count:
    measure: str
    group: str
    count: int
    of: int

    @property
    def rate(self) -> float:
        return self.count / self.of if self.of else 0.0


@dataclass
class Report:
    as_of: date
    window_from: date  # the previous 12 months: after this date, up to as_of
    by: By | None
    settings: DriftSettings
    protocol: DisputeProtocol = field(default_factory=DisputeProtocol)
    counts: list[Count] = field(default_factory=list)
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    trend: list[tuple[date, dict[str, Count]]] = field(default_factory=list)
    # Records to put right (TO_PUT_RIGHT): a count per kind and group, `of` unused (0).
    to_put_right: list[Count] = field(default_factory=list)

    def summary(self) -> list[Count]:
        """Every measure's count per group, worst rate first."""
        return sorted(self.counts, key=lambda c: (-c.rate, -c.count, c.measure, c.group))


def drift_report(
    views: CaseViews,
    as_of: date,
    by: By | None = None,
    settings: DriftSettings | None = None,
    trend_months: int = 0,
    protocol: DisputeProtocol | None = None,
) -> Report:
    """The report as an inspector would have seen it at the end of `as_of`; with
    `trend_months`, each measure's overall count at the end of each earlier month too."""
    settings = settings or DriftSettings()
    protocol = protocol or DisputeProtocol()
    report = Report(as_of, add_months(as_of, -12), by, settings, protocol)
    measured = _measure(views, as_of, by, settings, protocol)
    for key in _MEASURES:
        counts, findings = measured[key]
        # A measure with nothing to count (no open challenge) still shows, as 0 of 0.
        report.counts += counts or ([] if by else [Count(key, "all", 0, 0)])
        report.findings[key] = findings
    for key in _CHECKS:
        report.to_put_right += measured[key][0] or [Count(key, "all", 0, 0)]
    for month_end in _month_ends(as_of, trend_months):
        # The last point is the report's own date: ungrouped, it is the report itself.
        same = month_end == as_of and by is None
        overall = measured if same else _measure(views, month_end, None, settings, protocol, False)
        report.trend.append(
            (month_end, {k: _total(k, overall[k][0]) for k in _MEASURES})
        )
    return report


def worst_first(finding: Finding) -> tuple[int, str, str, str, str]:
    """The order findings are listed in, whichever plan the database chose: the most days
    (late, overdue, or a caseload's children) first, then by group, child and date."""
    return (-(finding.days or 0), finding.group, finding.subject, finding.on or "", finding.detail)


Measured = dict[str, tuple[list[Count], list[Finding]]]


def _measure(
    views: CaseViews,
    as_of: date,
    by: By | None,
    settings: DriftSettings,
    protocol: DisputeProtocol,
    listed: bool = True,
) -> Measured:
    """Every measure on one date, its findings in order unless not `listed` (a trend reads
    only the counts). Where the store allows (PostgreSQL), the measures run in
    two lanes of about equal time, each on a connection (a server process) of its own, both
    reading one snapshot of the views: the report is as consistent as one transaction, in
    the time of the slower lane."""
    lanes = _LANES if views.report_lanes >= len(_LANES) else ((*_MEASURES, *_CHECKS),)
    with ExitStack() as stack:
        first = stack.enter_context(_Query.open(views, as_of, by, settings, protocol))
        queries = [first] + [
            stack.enter_context(_Query.open(views, as_of, by, settings, protocol, first.snapshot))
            for _ in lanes[1:]
        ]
        if len(lanes) == 1:
            return _lane(first, lanes[0], listed)
        with ThreadPoolExecutor(len(lanes), thread_name_prefix="drift-lane") as pool:
            parts = list(pool.map(partial(_lane, listed=listed), queries, lanes))
    found = {key: result for part in parts for key, result in part.items()}
    return {key: found[key] for key in (*_MEASURES, *_CHECKS)}


def _lane(query: _Query, measures: tuple[str, ...], listed: bool) -> Measured:
    """The lane's measures, their findings in order if `listed` (sorted here, while the
    other lane's statements run, not after both)."""
    query.select_children()
    measured: Measured = {}
    for key in measures:
        if key in _CHECKS:
            measured[key] = (_CHECKS[key](query), [])
            continue
        counts, findings = _MEASURES[key](query)
        measured[key] = (counts, sorted(findings, key=worst_first) if listed else findings)
    return measured


def _month_ends(as_of: date, months: int) -> list[date]:
    ends = []
    for back in range(months, 0, -1):
        first = add_months(as_of.replace(day=1), -back + 1)
        ends.append(first.fromordinal(first.toordinal() - 1))
    return [*ends, as_of] if months else []


def _total(measure: str, counts: list[Count]) -> Count:
    return Count(measure, "all", sum(c.count for c in counts), sum(c.of for c in counts))


class _Query:
    """The report's SQL for one date, over a temporary table of every child's IRO, team and
    period of care on that date (one per connection: each lane builds its own)."""

    def __init__(
        self,
        views: CaseViews,
        cursor: Any,
        params: dict[str, Any],
        by: By | None,
        protocol: DisputeProtocol,
    ):
        self.views, self.cursor, self.params = views, cursor, params
        self.denominators: dict[str, dict[str, int]] = {}
        self._reviews_held: tuple[dict[str, int], list[Row]] | None = None
        self._days: dict[str, int] = {}
        self.snapshot: str | None = None
        self.as_of = date.fromisoformat(params["d"])
        self.by, self.protocol = by, protocol
        self.grouped = by is not None
        self.group = {
            None: "'all'",
            By.COUNCIL: "g.council",
            By.IRO: "COALESCE(g.iro, '(no IRO recorded)')",
            By.TEAM: "COALESCE(g.team, '(no team recorded)')",
        }[by]
        # A review counts for the IRO who chaired it, not the child's IRO of today.
        self.review_group = (
            "COALESCE(r.chair, '(no chair recorded)')" if by is By.IRO else self.group
        )

    @classmethod
    @contextmanager
    def open(
        cls,
        views: CaseViews,
        as_of: date,
        by: By | None,
        settings: DriftSettings,
        protocol: DisputeProtocol,
        snapshot: str | None = None,
    ) -> Iterator[_Query]:
        """A read-only transaction for the report's statements on `as_of`, reading the given
        snapshot of the views if there is one (another lane's)."""
        params = {
            "d": as_of.isoformat(),
            "w": add_months(as_of, -12).isoformat(),
            "due_before": date.fromordinal(
                as_of.toordinal() - settings.recommendation_grace_days
            ).isoformat(),
            "lag": settings.recording_lag_working_days,
            "seen": int(settings.child_seen_required),
            "iro_changes": settings.iro_changes,
            "sw_changes": settings.social_worker_changes,
            "low": settings.iro_caseload_low,
            "high": settings.iro_caseload_high,
        }
        with views.datastore.transaction(commit=False) as cursor:
            query = cls(views, cursor, params, by, protocol)
            query.snapshot = views.start_report(cursor, snapshot)
            yield query

    def select_children(self) -> None:
        """The temporary table of every child's IRO, team and period of care on the date:
        copied from cl_children when every child's latest records were in force and known
        by then (a report as of today: nothing is recorded with a future date), else worked
        out from the records for the children whose were not. A compact table of its own,
        where the report's joins read it, not cl_children's pages and the rows an update
        left behind in them."""
        [unsettled] = self.run("SELECT COUNT(*) AS n FROM {s}cl_children c WHERE c.settled_on > :d")
        self.run("DROP TABLE IF EXISTS tmp_children", fetch=False)
        self.run(_CHILDREN if unsettled["n"] else _SETTLED_CHILDREN, fetch=False)
        for statement in _CHILDREN_INDEXED:
            self.run(statement, fetch=False)

    def run(self, sql: str, fetch: bool = True) -> list[Row]:
        names = re.findall(r":(\w+)", sql)
        text = re.sub(r":\w+", "?", sql).replace("{group}", self.group)
        text = text.replace("{review_group}", self.review_group)
        text = text.replace("{json_agg}", self.views.json_agg)
        text = text.replace("{json_array}", self.views.json_array)
        self.cursor.execute(self.views.q(text), [self.params[n] for n in names])
        if not fetch:
            return []
        rows = self.cursor.fetchall()
        return rows if rows and isinstance(rows[0], dict) else [dict(row) for row in rows]

    def days_since(self, day: str) -> int:
        """Days from `day` (ISO) to the report's date; findings share few distinct days."""
        days = self._days.get(day)
        if days is None:
            days = self._days[day] = (self.as_of - date.fromisoformat(day)).days
        return days

    def totals_and_hits(self, tallied: _Tallied) -> tuple[dict[str, int], list[Row]]:
        """The group totals and the rows found by a `_totals_and_hits` statement, each row
        with its group; in its `order` where the store's aggregate can keep one."""
        order = f" ORDER BY {tallied.order}" if self.views.ordered_json_agg else ""
        totals, found = {}, []
        for row in self.run(tallied.sql.replace("{order}", order)):
            totals[row["grp"]] = int(row["total"])
            hits = row["hits"]  # a list (PostgreSQL's json), text (SQLite's), or none found
            for values in json.loads(hits) if isinstance(hits, str) else hits or ():
                found.append(dict(zip(tallied.columns, values, strict=True), grp=row["grp"]))
        return totals, found

    def reviews_held(self) -> tuple[dict[str, int], list[Row]]:
        """Reviews held in the window per group, and those held late, judged on a timetable
        recorded after the date, or without the child's voice (one statement, run once)."""
        if self._reviews_held is None:
            self._reviews_held = self.totals_and_hits(_REVIEWS_HELD)
        return self._reviews_held

    def counts(self, measure: str, numerators: dict[str, int], sql: str) -> list[Count]:
        """Counts per group: `sql` gives each group's denominator as (grp, n); two measures
        of the same population (the children looked after) share one query."""
        if sql not in self.denominators:
            self.denominators[sql] = {row["grp"]: int(row["n"]) for row in self.run(sql)}
        return _counts(measure, numerators, self.denominators[sql])


def _known(alias: str) -> str:
    """The row was the record at the end of :d."""
    return f"{alias}.known_from <= :d AND :d < {alias}.known_until"


class _Tallied(NamedTuple):
    """A `_totals_and_hits` statement, the names of the values of each row it finds, and the
    order to find them in."""

    sql: str
    columns: tuple[str, ...]
    order: str


def _totals_and_hits(
    base: str, columns: str, hit: str, order: str, counted: str = "1"
) -> _Tallied:
    """One statement for what a measure counts per group and the rows it finds: `base`, a
    SELECT with a `grp` column, is read once, and each group comes back as one row: its
    total (the sum of `counted`, one per row unless given) and, as a JSON array, the
    `columns` (a comma-separated list of base's columns) of each of its rows meeting `hit`.

    The table is read once for both, not once for the total and again for the rows. The
    rows found travel as one JSON value per group, decoded in C, where a row per finding
    had the server keep every row read (a CTE used twice) to list a few of them, and
    Python build a dict for each (benchmarks/NOTES.md has the figures).

    `order` (base's columns) is the order of the measure's findings (`worst_first`) as near
    as SQL can put it, where the store can order an aggregate (PostgreSQL). The report
    still sorts them, whatever order they come in; a list already in order is sorted in
    one pass."""
    names = tuple(c.strip() for c in columns.split(","))
    return _Tallied(
        f"""SELECT grp, SUM({counted}) AS total,
          {{json_agg}}({{json_array}}({", ".join(names)}){{order}}) FILTER (WHERE {hit}) AS hits
        FROM ({base}) b GROUP BY grp""",
        names,
        order,
    )


def _by_key(key: str, value: str, pick: str = "MAX", width: int = 20) -> str:
    """In a GROUP BY, `value` of the row with the greatest (or, with MIN, the least) `key`.

    The key must be text of a fixed `width` characters; the value is put after it, the MAX
    taken, and the value cut off again: one hash aggregate over the rows, where a window
    function sorts them all (at 80,000 children, the sort of every allocation was the
    report's slowest step). A NULL value stays NULL: "-" stands for it, "+" marks a value."""
    found = f"SUBSTR({pick}({key} || COALESCE('+' || {value}, '-')), {width + 1})"
    return f"CASE WHEN {found} = '-' THEN NULL ELSE SUBSTR({found}, 2) END"


def _ordinal(number: str) -> str:
    """A non-negative number below 10**9 as 10 characters that sort as the numbers do."""
    return f"CAST(1000000000 + {number} AS TEXT)"


# Each child's IRO and social worker's team: the allocation starting last (the last
# recorded, on the same day); and the latest period of care open on the date. Worked out
# from the records for the children whose latest records were not all in force and known
# on the date (`unsettled`: every child, for a date long past); the others' are read as
# the projection settled them (projections.followup.Standing).
_ALLOCATION_KEY = f"a.from_on || {_ordinal('a.number')}"


def _children_from_records(unsettled: str) -> str:
    """The SELECT of the children's rows worked out from the allocations and periods, for
    the children of cl_children `c` meeting the condition `unsettled`."""
    return f"""
SELECT c.case_id, c.council, c.child_ref, al.iro, al.team, pe.period_no
FROM {{s}}cl_children c
LEFT JOIN (
  SELECT a.case_id,
    {_by_key(f"CASE WHEN a.kind = 'iro' THEN {_ALLOCATION_KEY} END", "a.name")} AS iro,
    {_by_key(f"CASE WHEN a.kind = 'sw' THEN {_ALLOCATION_KEY} END", "a.team")} AS team
  FROM {{s}}cl_allocations a
  WHERE {_known("a")} AND a.from_on <= :d AND a.recorded_on <= :d
    AND a.case_id IN (SELECT c.case_id FROM {{s}}cl_children c WHERE {unsettled})
  GROUP BY a.case_id
) al ON al.case_id = c.case_id
LEFT JOIN (
  SELECT pe.case_id, MAX(pe.period_no) AS period_no FROM {{s}}cl_periods pe
  WHERE {_known("pe")} AND pe.started_on <= :d AND pe.start_recorded_on <= :d
    AND (pe.ended_on IS NULL OR pe.ended_on > :d OR pe.end_recorded_on > :d)
    AND pe.case_id IN (SELECT c.case_id FROM {{s}}cl_children c WHERE {unsettled})
  GROUP BY pe.case_id
) pe ON pe.case_id = c.case_id
WHERE {unsettled}"""


_SETTLED_CHILDREN = """
CREATE TEMP TABLE tmp_children AS
SELECT c.case_id, c.council, c.child_ref, c.iro, c.team,
  CASE WHEN c.period_until <= :d THEN NULL ELSE c.period_no END AS period_no
FROM {s}cl_children c WHERE c.settled_on <= :d"""
_CHILDREN = f"""{_SETTLED_CHILDREN}
UNION ALL {_children_from_records("c.settled_on > :d")}"""
# The planner knows nothing of a new temporary table until it is indexed and analysed:
# without this PostgreSQL scans it once per review row.
_CHILDREN_INDEXED = (
    "CREATE UNIQUE INDEX tmp_children_case ON tmp_children (case_id)",
    "ANALYZE tmp_children",
)

_COHORT = (
    "SELECT {group} AS grp, COUNT(*) AS n FROM tmp_children g "
    "WHERE g.period_no IS NOT NULL GROUP BY grp"
)


def _child(row: Row) -> str:
    return f"{row['council']}:{row['child_ref']}"


def _counts(measure: str, numerators: dict[str, int], of: dict[str, int]) -> list[Count]:
    """Each group's count of `of`, in the groups' order."""
    return [Count(measure, grp, numerators.get(grp, 0), n) for grp, n in sorted(of.items())]


def _tally(findings: Sequence[Finding]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for finding in findings:
        totals[finding.group] += finding.weight
    return totals


def _review_overdue(q: _Query) -> tuple[list[Count], list[Finding]]:
    """The first review of the child's current period not known to be held, if past due."""
    rows = q.run(f"""
        SELECT g.council, g.child_ref, {{group}} AS grp, r.review_no, r.due_on
        FROM tmp_children g JOIN (
          SELECT n.case_id, n.period_no, MIN(n.review_no) AS review_no,
            {_by_key(_ordinal("n.review_no"), "n.due_on", "MIN", 10)} AS due_on
          FROM {{s}}cl_reviews n WHERE {_known("n")}
            AND NOT (n.held_on IS NOT NULL AND n.held_on <= :d AND n.held_recorded_on <= :d)
          GROUP BY n.case_id, n.period_no
        ) r ON r.case_id = g.case_id AND r.period_no = g.period_no
        WHERE r.due_on < :d
    """)
    findings = [
        Finding(
            "review_overdue",
            row["grp"],
            _child(row),
            row["due_on"],
            q.days_since(row["due_on"]),
            f"review {row['review_no']} of this period of care was due by {row['due_on']}",
        )
        for row in rows
    ]
    return q.counts("review_overdue", _tally(findings), _COHORT), findings


_HELD_IN_WINDOW = (
    "r.held_on IS NOT NULL AND r.held_on > :w AND r.held_on <= :d AND r.held_recorded_on <= :d"
)

# The reviews held in the window, in one pass for the two measures that judge them: each
# group's number of reviews held, and the reviews either measure may count, flagged.
_REVIEWS_HELD = _totals_and_hits(
    f"""SELECT g.council, g.child_ref, {{review_group}} AS grp, r.case_id, r.period_no,
        r.review_no, r.review_id, r.due_on, r.held_on, r.days_late, r.participation,
        r.child_seen, r.not_seen_reason,
        CASE WHEN r.days_late > 0 AND (r.prior_recorded_on IS NULL
          OR r.prior_recorded_on <= :d) THEN 1 ELSE 0 END AS late,
        CASE WHEN r.prior_recorded_on > :d THEN 1 ELSE 0 END AS unsure,
        CASE WHEN r.participation = 'PN7' OR (:seen = 1 AND r.participation <> 'PN0'
          AND (r.child_seen IS NULL OR r.child_seen = 0) AND r.not_seen_reason IS NULL)
          THEN 1 ELSE 0 END AS unheard
      FROM tmp_children g JOIN {{s}}cl_reviews r ON r.case_id = g.case_id AND {_known("r")}
      WHERE {_HELD_IN_WINDOW}""",
    "council, child_ref, case_id, period_no, review_no, review_id, due_on, held_on, days_late, "
    "participation, child_seen, not_seen_reason, late, unsure, unheard",
    "late = 1 OR unsure = 1 OR unheard = 1",
    "council, child_ref, held_on, review_id",  # the child's voice's order (the longer list)
)


def _review_late(q: _Query) -> tuple[list[Count], list[Finding]]:
    """Reviews held in the window and held late. A review's due date rests on the review
    before it: when that one was recorded only after the date, the timetable an inspector
    saw then differs, and those (rare) reviews are judged again from what was known."""
    held, rows = q.reviews_held()
    late = [r for r in rows if r["late"]] + _late_as_then_known(q, [r for r in rows if r["unsure"]])
    findings = [
        Finding(
            "review_late",
            row["grp"],
            _child(row),
            row["held_on"],
            row["days_late"],
            f"review {row['review_no']} ({row['review_id']}) due by {row['due_on']}, "
            f"held {row['days_late']} days late",
        )
        for row in late
    ]
    return _counts("review_late", _tally(findings), held), findings


def _late_as_then_known(q: _Query, unsure: list[Row]) -> list[Row]:
    """Reviews in the window whose earlier review was recorded after the date, with their
    timetable recomputed from the reviews recorded by then."""
    late = []
    for row in unsure:
        q.params["case"], q.params["period"] = row["case_id"], row["period_no"]
        [period] = q.run(f"""
            SELECT started_on, regime FROM {{s}}cl_periods pe
            WHERE pe.case_id = :case AND pe.period_no = :period AND {_known("pe")}
        """)
        held = q.run(f"""
            SELECT r.held_on, r.review_id FROM {{s}}cl_reviews r
            WHERE r.case_id = :case AND r.period_no = :period AND {_known("r")}
              AND r.held_on IS NOT NULL AND r.held_on <= :d AND r.held_recorded_on <= :d
        """)
        slots = timetable(
            date.fromisoformat(period["started_on"]),
            [(date.fromisoformat(h["held_on"]), h["review_id"]) for h in held],
            Regime(period["regime"]),
        )
        for slot in slots:
            if slot.review_id == row["review_id"] and slot.days_late:
                late.append(
                    row
                    | {"review_no": slot.number, "due_on": slot.due_on.isoformat()}
                    | {"days_late": slot.days_late}
                )
    return late


_FALLEN_DUE = "m.made_recorded_on <= :d AND m.due_on < :due_before"


def _recommendation_overdue(q: _Query) -> tuple[list[Count], list[Finding]]:
    """Each group's recommendations fallen due, and those still open, in one pass."""
    due, rows = q.totals_and_hits(
        _totals_and_hits(
            f"""SELECT g.council, g.child_ref, {{group}} AS grp, m.recommendation_id, m.text,
                m.owner, m.owner_role, m.due_on, m.review_id,
                CASE WHEN m.closed_on IS NOT NULL AND m.closed_on <= :d
                  AND m.closed_recorded_on <= :d THEN 0 ELSE 1 END AS still_open
            FROM tmp_children g JOIN {{s}}cl_recommendations m
              ON m.case_id = g.case_id AND {_known("m")}
            WHERE g.period_no IS NOT NULL AND {_FALLEN_DUE}""",
            "council, child_ref, recommendation_id, text, owner, owner_role, due_on, review_id",
            "still_open = 1",
            "due_on, council, child_ref, recommendation_id",
        )
    )
    findings = [
        Finding(
            "recommendation_overdue",
            row["grp"],
            _child(row),
            row["due_on"],
            q.days_since(row["due_on"]),
            f"{row['recommendation_id']} (review {row['review_id']}), owner {row['owner']} "
            f"({row['owner_role']}): {row['text']}",
            owner=f"{row['owner']} ({row['owner_role']})",
        )
        for row in rows
    ]
    return _counts("recommendation_overdue", _tally(findings), due), findings


def owners(findings: Sequence[Finding]) -> list[tuple[str, int, int]]:
    """Overdue recommendations per owner: (owner, how many, most days overdue), worst first."""
    per: dict[str, list[int]] = defaultdict(list)
    for finding in findings:
        per[finding.owner or "(no owner)"].append(finding.days or 0)
    rows = [(owner, len(days), max(days)) for owner, days in per.items()]
    return sorted(rows, key=lambda r: (-r[1], -r[2], r[0]))


def _child_voice(q: _Query) -> tuple[list[Count], list[Finding]]:
    held, rows = q.reviews_held()
    findings = [
        Finding("child_voice", row["grp"], _child(row), row["held_on"], None, _voice(row, q.params))
        for row in rows
        if row["unheard"]
    ]
    return _counts("child_voice", _tally(findings), held), findings


def _voice(row: Row, params: dict[str, Any]) -> str:
    missing = []
    if row["participation"] == "PN7":
        missing.append("PN7: absent, views not conveyed")
    unseen = not row["child_seen"] and not row["not_seen_reason"]
    if params["seen"] and row["participation"] != "PN0" and unseen:
        seen = "not recorded" if row["child_seen"] is None else "no, and no reason recorded"
        missing.append(f"IRO spoke with the child before it: {seen}")
    return f"review {row['review_id']} ({row['participation']}): " + "; ".join(missing)


_KNOWN_HELD = """CASE WHEN r.held_on IS NOT NULL AND r.held_on <= :d
    AND r.held_recorded_on <= :d THEN 1 ELSE 0 END"""
_SECOND_REVIEW_POINT = """CASE WHEN r.held_on IS NOT NULL AND r.held_on <= :d
    AND r.held_recorded_on <= :d AND r.held_on < r.due_on THEN r.held_on ELSE r.due_on END"""


def _permanence_missing(q: _Query) -> tuple[list[Count], list[Finding]]:
    """A period already under way when the records began (an imported return's first
    episode continues care) is not judged: its second review is long past, and a return
    holds no care plan."""
    past_second_review = f"""
        FROM tmp_children g JOIN {{s}}cl_reviews r ON r.case_id = g.case_id
          AND r.period_no = g.period_no AND r.review_no = 2 AND {_known("r")}
        JOIN {{s}}cl_reviews f ON f.case_id = g.case_id AND f.period_no = g.period_no
          AND f.review_no = 1 AND {_known("f")} AND f.held_on <= :d AND f.held_recorded_on <= :d
        LEFT JOIN (SELECT DISTINCT m.case_id FROM {{s}}cl_permanence m
          WHERE {_known("m")} AND m.occurred_on <= :d AND m.recorded_on <= :d
        ) planned ON planned.case_id = g.case_id
        WHERE {_SECOND_REVIEW_POINT} < :d
          AND NOT EXISTS (SELECT 1 FROM {{s}}cl_periods pe WHERE pe.case_id = g.case_id
            AND pe.period_no = g.period_no AND {_known("pe")} AND pe.regime = 'continuing')
    """
    past, rows = q.totals_and_hits(
        _totals_and_hits(
            f"""SELECT g.council, g.child_ref, {{group}} AS grp, {_SECOND_REVIEW_POINT} AS point,
              r.held_on, r.due_on, {_KNOWN_HELD} AS known_held,
              CASE WHEN planned.case_id IS NULL THEN 1 ELSE 0 END AS missing
            {past_second_review}""",
            "council, child_ref, point, held_on, due_on, known_held",
            "missing = 1",
            "point, council, child_ref",
        )
    )
    findings = [
        Finding(
            "permanence_missing",
            row["grp"],
            _child(row),
            row["point"],
            q.days_since(row["point"]),
            f"second review due by {row['due_on']}"
            + (f", held {row['held_on']}" if row["known_held"] else ", not held")
            + "; no permanence section in any plan recorded",
        )
        for row in rows
    ]
    return _counts("permanence_missing", _tally(findings), past), findings


def _iro_caseload(q: _Query) -> tuple[list[Count], list[Finding]]:
    """An IRO's caseload is all their children, whichever groups the children fall in; the
    IRO is listed in each group where they have children."""
    rows = q.run("""
        SELECT {group} AS grp, g.iro, COUNT(*) AS n FROM tmp_children g
        WHERE g.period_no IS NOT NULL AND g.iro IS NOT NULL GROUP BY grp, g.iro
    """)
    caseload: dict[str, int] = defaultdict(int)
    for row in rows:
        caseload[row["iro"]] += int(row["n"])
    benchmark = f"benchmark {q.params['low']}-{q.params['high']}"
    findings = [
        Finding(
            "iro_caseload",
            row["grp"],
            row["iro"],
            None,
            caseload[row["iro"]],
            f"{caseload[row['iro']]} children looked after "
            + (f"({row['n']} in this group; {benchmark})" if q.grouped else f"({benchmark})"),
        )
        for row in rows
        if caseload[row["iro"]] > q.params["high"]
    ]
    iros: dict[str, int] = defaultdict(int)
    for row in rows:
        iros[row["grp"]] += 1
    counts = _tally(findings)
    totals = [Count("iro_caseload", g, counts.get(g, 0), n) for g, n in sorted(iros.items())]
    return totals, findings


def _continuity(q: _Query) -> tuple[list[Count], list[Finding]]:
    rows = q.run(f"""
        SELECT g.council, g.child_ref, {{group}} AS grp,
          SUM(CASE WHEN a.kind = 'iro' THEN 1 ELSE 0 END) AS iro_changes,
          SUM(CASE WHEN a.kind = 'sw' THEN 1 ELSE 0 END) AS sw_changes
        FROM tmp_children g JOIN {{s}}cl_allocations a ON a.case_id = g.case_id AND {_known("a")}
        WHERE g.period_no IS NOT NULL AND a.changed = 1 AND a.from_on > :w AND a.from_on <= :d
          AND a.recorded_on <= :d
        GROUP BY g.case_id, g.council, g.child_ref, grp
        HAVING SUM(CASE WHEN a.kind = 'iro' THEN 1 ELSE 0 END) >= :iro_changes
          OR SUM(CASE WHEN a.kind = 'sw' THEN 1 ELSE 0 END) >= :sw_changes
    """)
    findings = [
        Finding(
            "continuity",
            row["grp"],
            _child(row),
            None,
            int(row["iro_changes"]) + int(row["sw_changes"]),
            f"{row['iro_changes']} change(s) of IRO, {row['sw_changes']} of social worker "
            f"in the 12 months to {q.params['d']}",
        )
        for row in rows
    ]
    return q.counts("continuity", _tally(findings), _COHORT), findings


# Raised and recorded by the date, and not known then to be resolved: a resolved challenge
# cannot be past its timescale, and a council's history holds many more of them.
_OPEN_CHALLENGE = f"""c.raised_on <= :d AND c.recorded_on <= :d AND NOT EXISTS (
    SELECT 1 FROM {{s}}cl_challenge_steps r WHERE r.case_id = c.case_id
      AND r.challenge_id = c.challenge_id AND {_known("r")} AND r.kind = 'resolved'
      AND r.occurred_on <= :d AND r.recorded_on <= :d)"""


def _challenge_overdue(q: _Query) -> tuple[list[Count], list[Finding]]:
    """Open challenges, counted for the IRO who raised them under --by iro."""
    group = "c.raised_by" if q.by is By.IRO else "{group}"
    raised = q.run(f"""
        SELECT c.*, g.council, g.child_ref, {group} AS grp FROM tmp_children g
        JOIN {{s}}cl_challenges c ON c.case_id = g.case_id AND {_known("c")}
        WHERE {_OPEN_CHALLENGE}
    """)
    steps = q.run(f"""
        SELECT s.* FROM {{s}}cl_challenges c
        JOIN {{s}}cl_challenge_steps s ON s.case_id = c.case_id
          AND s.challenge_id = c.challenge_id AND {_known("s")}
        WHERE {_known("c")} AND {_OPEN_CHALLENGE}
    """)
    group_of = {(r["case_id"], r["challenge_id"]): r["grp"] for r in raised}
    as_of = q.as_of
    findings: list[Finding] = []
    open_: dict[str, int] = defaultdict(int)
    for state in challenges.states(raised, steps, as_of):
        if not state.is_open:
            continue
        grp = group_of[(state.case_id, state.challenge_id)]
        open_[grp] += 1
        scale = challenges.timescale(state, q.protocol, as_of)
        if scale.past:
            why = challenges.why_late(state, scale, q.protocol)
            findings.append(
                Finding(
                    "challenge_overdue",
                    grp,
                    state.child,
                    state.raised_on.isoformat(),
                    (as_of - state.raised_on).days,
                    f"challenge {state.challenge_id} ({state.subject}) of {state.iro}: {why}",
                )
            )
    counts = _tally(findings)
    totals = [Count("challenge_overdue", g, counts.get(g, 0), n) for g, n in sorted(open_.items())]
    return totals, findings


def _recording_lag(q: _Query) -> tuple[list[Count], list[Finding]]:
    """One pass over the records: each case's records in the window are counted first (the
    largest table, so it is aggregated before it meets the children), then each group's
    total and each child with late records come back together."""
    made, rows = q.totals_and_hits(
        _totals_and_hits(
            f"""SELECT g.council, g.child_ref, {{group}} AS grp, p.made, p.late, p.worst
            FROM (SELECT l.case_id, COUNT(*) AS made,
                SUM(CASE WHEN l.working_days > :lag THEN 1 ELSE 0 END) AS late,
                MAX(CASE WHEN l.working_days > :lag THEN l.working_days END) AS worst
              FROM {{s}}cl_lags l
              WHERE {_known("l")} AND l.recorded_on > :w AND l.recorded_on <= :d
              GROUP BY l.case_id) p
            JOIN tmp_children g ON g.case_id = p.case_id""",
            "council, child_ref, late, worst",
            "late > 0",
            "worst DESC, council, child_ref",
            counted="made",
        )
    )
    findings = [
        Finding(
            "recording_lag",
            row["grp"],
            _child(row),
            None,
            int(row["worst"]),
            f"{row['late']} record(s) made more than {q.params['lag']} working days after "
            f"the event; the latest {row['worst']} working days after",
            weight=int(row["late"]),
        )
        for row in rows
    ]
    return _counts("recording_lag", _tally(findings), made), findings


_MEASURES: dict[str, Callable[[_Query], tuple[list[Count], list[Finding]]]] = {
    "review_overdue": _review_overdue,
    "review_late": _review_late,
    "recommendation_overdue": _recommendation_overdue,
    "child_voice": _child_voice,
    "permanence_missing": _permanence_missing,
    "iro_caseload": _iro_caseload,
    "continuity": _continuity,
    "challenge_overdue": _challenge_overdue,
    "recording_lag": _recording_lag,
}



def _past_18(q: _Query) -> list[Count]:
    """Children whose care ran past their 18th birthday by the date with no record of it
    ending by then (projections.followup.AGE_18), per group."""
    rows = q.run(f"""
        SELECT {{group}} AS grp, COUNT(DISTINCT g.case_id) AS n FROM tmp_children g
        JOIN {{s}}cl_periods pe ON pe.case_id = g.case_id AND {_known("pe")}
        WHERE pe.ended_by = '{AGE_18}' AND pe.ended_on <= :d AND pe.end_recorded_on <= :d
        GROUP BY grp
    """)
    return [Count("past_18", row["grp"], int(row["n"]), 0) for row in sorted(rows, key=_grp)]


def _grp(row: Row) -> str:
    return str(row["grp"])


# The data-quality section's counts: records to put right (TO_PUT_RIGHT).
_CHECKS: dict[str, Callable[[_Query], list[Count]]] = {"past_18": _past_18}
assert [c.key for c in TO_PUT_RIGHT] == list(_CHECKS)

# The measures in two lanes of about equal time at 80,000 children, each lane's Python
# counted (the first decodes and lists the most findings; benchmarks/NOTES.md has the
# figures). review_late and child_voice share one statement, so they share a lane.
_LANES = (
    ("recommendation_overdue", "review_late", "child_voice", "iro_caseload"),
    ("recording_lag", "permanence_missing", "challenge_overdue", "review_overdue", "continuity",
     "past_18"),
)  # fmt: skip
assert sorted(key for lane in _LANES for key in lane) == sorted([*_MEASURES, *_CHECKS])
