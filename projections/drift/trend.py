"""The drift report's trend: each measure's overall count at many dates (the month ends of
the chart), each measure in one statement over every date at once.

A table of the dates (`dates`: each date `d`, its 12-month window's start `w`, the day a
recommendation fell due before, `due_before`, and the earlier of the date and the day of
the records read, `settled`) is joined into a measure's statement and its counts grouped by
date: the measure's tables are read once for all the dates, not once per date, and what
each date counts is exactly what the report on that date counts (`measures.py`). The
children looked after on every date are each child's spans of dates looked after in one
period of care (`tmp_looked_after_spans`) and with one IRO (`tmp_looked_after_iros`), in
temporary tables of their own: of everything recorded, read from the spans the projection
keeps (cl_looked_after); as recorded by a past day, worked out from the records.

A measure of now need not make a row per child (or recommendation) and date: what it counts
holds from one date to a later one (a recommendation fallen due, until it is completed), so
each is given its span of dates once (`first_date`), cut to the spans of its child looked
after, and counted +1 where the span begins and -1 where it ends (`counted`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from typing import Any

from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Count
from careledger.projections.drift.sql import known
from careledger.projections.drift_settings import DriftSettings
from careledger.projections.timetable import add_months
from careledger.projections.views import CaseViews, Row

# A date's own columns in a condition of `Trend.first_date` (`t.d`, `t.w`, `t.settled`,
# `t.due_before`), as whole names: never part of another (`pt.done`, `t.due_before` for `t.d`).
_DATE_COLUMN = re.compile(r"(?<![\w.])t\.(due_before|settled|w|d)\b")

Points = dict[date, Count]  # a measure's overall count at each date

LOOKED_AFTER = "tmp_looked_after"  # the prefix of the tables of the children looked after
SPANS = "tmp_looked_after_spans"
IRO_SPANS = "tmp_looked_after_iros"


class Trend:
    """The statements of a trend: each measure's, over the dates, in one transaction that
    changes nothing but its own temporary tables (a `Query` on the last date, whose
    parameters and dialect it shares)."""

    def __init__(self, query: Query, dates: Sequence[date], settings: DriftSettings) -> None:
        self.query, self.dates = query, sorted(dates)
        self.protocol, self.as_recorded_on = query.protocol, query.as_recorded_on
        self.looked_after: list[str] = []  # its tables, when no temporary table may hold them
        self.shared: dict[str, Any] = {}  # what two measures read from one statement
        self._judging: ThreadPoolExecutor | None = None  # `later`'s thread, while open
        values = []
        for i, day in enumerate(self.dates):
            due_before = date.fromordinal(day.toordinal() - settings.recommendation_grace_days)
            query.params |= {
                f"d_{i}": day.isoformat(),
                f"w_{i}": add_months(day, -12).isoformat(),
                f"due_before_{i}": due_before.isoformat(),
                f"settled_{i}": min(day.isoformat(), query.params["recorded"]),
            }
            values.append(f"({i}, :d_{i}, :w_{i}, :due_before_{i}, :settled_{i})")
        query.params |= {"first_w": query.params["w_0"], "last_d": self.dates[-1].isoformat()}
        self._dates = f"dates (i, d, w, due_before, settled) AS (VALUES {', '.join(values)})"

    @classmethod
    @contextmanager
    def open(
        cls,
        views: CaseViews,
        dates: Sequence[date],
        settings: DriftSettings,
        protocol: DisputeProtocol,
        as_recorded_on: date | None = None,
        councils: frozenset[str] | None = None,
    ) -> Iterator[Trend]:
        """The trend's transaction, with the children looked after on each date."""
        last = max(dates)
        opening = Query.open(views, last, None, settings, protocol, None, as_recorded_on, councils)
        with opening as query, ThreadPoolExecutor(1, thread_name_prefix="trend-judge") as pool:
            trend = cls(query, dates, settings)
            trend._judging = pool
            trend._select_looked_after()
            yield trend

    def later(self, judge: Callable[[], Points]) -> Future[Points]:
        """A measure's judging in Python (`judge`, which reads rows already fetched, never the
        connection), on a thread of its own while the next measures' statements run on the
        server."""
        assert self._judging is not None, "a trend judges only while it is open"
        return self._judging.submit(judge)

    @property
    def children(self) -> str:
        """The children counted (every child of cl_children, or of the report's councils):
        what the report's table of children holds, whatever their standing on a date."""
        if self.query.councils is None:
            return "{s}cl_children"
        return f"(SELECT * FROM {{s}}cl_children c WHERE c.council IN {self._councils()})"

    def run(self, sql: str, fetch: bool = True, first: str = "") -> list[Row]:
        """A statement with the dates (and, where no temporary table may hold them, the
        children's spans looked after) before it, and any table `first` defines (`name AS
        MATERIALIZED (SELECT ...)`: worked out before the statement joins it to the
        children looked after, where the planner would otherwise join them first)."""
        ahead = [self._dates]
        if LOOKED_AFTER in sql + first:
            ahead += self.looked_after
        ahead += [first] if first else []
        return self.query.run(f"WITH {', '.join(ahead)} {sql}", fetch)

    def _select_looked_after(self) -> None:
        """Each child's spans of dates looked after in one period of care (`SPANS`), and
        with one IRO (`IRO_SPANS`): the report's table of children (`children.py`) on
        every date at once, as spans of dates, not a row per child and date."""
        if self.as_recorded_on is None:
            tables = self._projected_looked_after()
        else:
            tables = self._looked_after()
        if self.query.views.read_only:
            self.looked_after = [f"{name} AS MATERIALIZED ({body})" for name, body in tables]
            return
        for name, body in tables:
            self.query.run(f"DROP TABLE IF EXISTS {name}", fetch=False)
            self.query.run(f"CREATE TEMP TABLE {name} AS WITH {self._dates} {body}", False)
        self.query.run(f"CREATE INDEX {SPANS}_case ON {SPANS} (case_id, period_no)", False)
        self.query.run(f"ANALYZE {SPANS}", fetch=False)

    def _projected_looked_after(self) -> list[tuple[str, str]]:
        """SPANS and IRO_SPANS (name, SELECT) of everything recorded: the projection's spans
        (cl_looked_after) that hold on one of the dates at least, each as the numbers of the
        first date it holds on and the first after it that it no longer does. A span ending
        by the first date is never read: the index on its end finds the others."""
        first = self.first_date("l.from_on <= t.d")
        end = self.first_date("l.until_on <= t.d")
        return [
            (SPANS, f"""
              SELECT s.case_id, s.period_no, s.iro, s.first_i, s.end_i
              FROM (SELECT l.case_id, l.period_no, l.iro, {first} AS first_i, {end} AS end_i
                FROM {{s}}cl_looked_after l
                WHERE l.until_on > :d_0 AND l.from_on <= :last_d{self._of_councils("l")}) s
              WHERE s.first_i < s.end_i"""),
            (IRO_SPANS, f"""
              SELECT g.case_id, g.iro, g.first_i, g.end_i FROM {SPANS} g
              WHERE g.iro IS NOT NULL"""),
        ]

    def _of_councils(self, alias: str) -> str:
        """SQL: the condition (after AND) that the row of `alias` is of the report's
        councils; none when the report counts every council's children."""
        if self.query.councils is None:
            return ""
        return f" AND {alias}.council IN {self._councils()}"

    def _councils(self) -> str:
        """SQL: the report's councils, as a list of parameters (given to the query)."""
        councils = sorted(self.query.councils or ())
        names = [f"council_{i}" for i in range(len(councils))]
        self.query.params.update(zip(names, councils, strict=True))
        return "(" + (", ".join(f":{name}" for name in names) or "NULL") + ")"

    def _looked_after(self) -> list[tuple[str, str]]:
        """The tables (name, SELECT), in order, of the children's spans looked after,
        ending with SPANS and IRO_SPANS, worked out from the records (as recorded by a
        past day: the projection's spans are of everything recorded).

        A child whose latest records all held and were known by a date (`settled`) is
        read from cl_children on that date and every later one, looked after until its
        period's end. On the dates before, each period of care of the child's counts from
        its start to its end (an end not yet recorded is none), and where periods overlap
        the latest numbered counts: the dates are cut at every period's start and end, and
        each piece given the greatest period number of those holding it. The child's IRO
        on those dates is the allocation starting last, each allocation's span ending
        where the next begins."""
        n = len(self.dates)
        settled = self.first_date("c.settled_on <= t.settled")
        until = self.first_date("c.period_until <= t.d")
        started = self.first_date("pe.started_on <= t.d")
        ended = self.first_date("pe.ended_on <= t.d")
        allocated = self.first_date("a.from_on <= t.d")
        ending = f"CASE WHEN pe.ended_on IS NULL OR pe.end_recorded_on > :recorded THEN {n}"
        unsettled = f"{LOOKED_AFTER}_unsettled"
        children, periods = f"{LOOKED_AFTER}_children", f"{LOOKED_AFTER}_periods"
        allocations = f"{LOOKED_AFTER}_allocations"
        return [
            (children, f"""SELECT c.case_id, c.period_no, c.iro,
              {settled} AS settled_i, {until} AS until_i FROM {self.children} c"""),
            (periods, f"""
              SELECT p.case_id, p.period_no, p.start_i,
                CASE WHEN p.end_i < p.settled_i THEN p.end_i ELSE p.settled_i END AS end_i
              FROM (SELECT pe.case_id, pe.period_no, c.settled_i, {started} AS start_i,
                  {ending} ELSE {ended} END AS end_i
                FROM {children} c JOIN {{s}}cl_periods pe ON pe.case_id = c.case_id
                WHERE c.settled_i > 0 AND {known("pe")}
                  AND pe.start_recorded_on <= :recorded) p
              WHERE p.start_i < p.end_i AND p.start_i < p.settled_i"""),
            (unsettled, f"""
              SELECT s.case_id, MAX(p.period_no) AS period_no, s.first_i, s.end_i
              FROM (SELECT b.case_id, b.i AS first_i,
                  LEAD(b.i) OVER (PARTITION BY b.case_id ORDER BY b.i) AS end_i
                FROM (SELECT case_id, start_i AS i FROM {periods}
                  UNION SELECT case_id, end_i FROM {periods}) b) s
              JOIN {periods} p ON p.case_id = s.case_id
                AND p.start_i <= s.first_i AND s.first_i < p.end_i
              WHERE s.end_i IS NOT NULL GROUP BY s.case_id, s.first_i, s.end_i"""),
            (allocations, f"""
              SELECT a.case_id, a.name AS iro, {allocated} AS first_i,
                LEAD({allocated}, 1, {n}) OVER (PARTITION BY a.case_id
                  ORDER BY a.from_on, a.number) AS end_i
              FROM {{s}}cl_allocations a
              WHERE {known("a")} AND a.kind = 'iro' AND a.recorded_on <= :recorded
                AND a.case_id IN (SELECT p.case_id FROM {periods} p)"""),
            (SPANS, f"""
              SELECT u.case_id, u.period_no, u.first_i, u.end_i FROM {unsettled} u
              UNION ALL SELECT c.case_id, c.period_no, c.settled_i, c.until_i FROM {children} c
              WHERE c.period_no IS NOT NULL AND c.settled_i < c.until_i"""),
            (IRO_SPANS, f"""
              SELECT u.case_id, a.iro, {later("u.first_i", "a.first_i")} AS first_i,
                {earlier("u.end_i", "a.end_i")} AS end_i
              FROM {unsettled} u JOIN {allocations} a ON a.case_id = u.case_id
                AND a.first_i < u.end_i AND u.first_i < a.end_i AND a.iro IS NOT NULL
              UNION ALL SELECT c.case_id, c.iro, c.settled_i, c.until_i FROM {children} c
              WHERE c.period_no IS NOT NULL AND c.iro IS NOT NULL
                AND c.settled_i < c.until_i"""),
        ]

    def points(self, measure: str, counted: dict[str, int], of: dict[str, int]) -> Points:
        """A measure's Count at each date, from its count and "of" per date (ISO); 0 of 0
        at a date with neither, as the report says of a measure with nothing to count."""
        return {
            day: Count(measure, "all", counted.get(day.isoformat(), 0), of.get(day.isoformat(), 0))
            for day in self.dates
        }

    def first_date(self, holds: str) -> str:
        """SQL: the number (from 0, in date order) of the first date on which `holds`, a
        condition on the date's `t.d`, `t.w`, `t.settled` and `t.due_before` that, once
        true, stays true on every later date; the number of dates if on none (a NULL
        compared is never true)."""
        whens = " ".join(
            "WHEN " + _DATE_COLUMN.sub(rf":\1_{i}", holds) + f" THEN {i}"
            for i in range(len(self.dates))
        )
        return f"(CASE {whens} ELSE {len(self.dates)} END)"

    def counted(self, spans: str, ends: Sequence[str]) -> dict[str, dict[str, int]]:
        """For each end column of `ends`, how many spans of `spans` (a table `spans AS
        MATERIALIZED (SELECT ...)` defines) hold each date: a span (`start`, and that end,
        the number of the first date it no longer holds) adds 1 at its start and takes it
        away at its end, and each date's count is the sum of what the dates up to it add."""
        parts = [
            "SELECT s.start AS i, "
            + ", ".join(f"CASE WHEN s.start < s.{end} THEN 1 ELSE 0 END AS {end}" for end in ends)
            + " FROM spans s"
        ]
        for end in ends:
            columns = ", ".join(
                f"CASE WHEN s.start < s.{other} THEN -1 ELSE 0 END" if other == end else "0"
                for other in ends
            )
            parts.append(f"SELECT s.{end}, {columns} FROM spans s")
        sums = ", ".join(f"SUM(x.{end}) AS {end}" for end in ends)
        rows = self.run(
            f"SELECT x.i, {sums} FROM ({' UNION ALL '.join(parts)}) x GROUP BY x.i",
            first=spans,
        )
        change = {(int(row["i"]), end): int(row[end] or 0) for row in rows for end in ends}
        counts: dict[str, dict[str, int]] = {}
        for end in ends:
            running = 0
            counts[end] = {}
            for i, day in enumerate(self.dates):
                running += change.get((i, end), 0)
                counts[end][day.isoformat()] = running
        return counts

    def cohort(self) -> dict[str, int]:
        """The children looked after on each date (the "of" of the measures of now): a
        child's spans never overlap."""
        if "cohort" not in self.shared:
            spans = f"spans AS MATERIALIZED (SELECT first_i AS start, end_i AS n FROM {SPANS})"
            self.shared["cohort"] = self.counted(spans, ("n",))["n"]
        cohort: dict[str, int] = self.shared["cohort"]
        return cohort


def later(first: str, second: str) -> str:
    """SQL: the greater of two numbers (on both stores)."""
    return f"CASE WHEN {first} > {second} THEN {first} ELSE {second} END"


def earlier(first: str, second: str) -> str:
    """SQL: the lesser of two numbers (on both stores)."""
    return f"CASE WHEN {first} < {second} THEN {first} ELSE {second} END"


def per_date(rows: list[Row], column: str) -> dict[str, int]:
    """A column of rows of one per date (`d`), by date."""
    return {row["d"]: int(row[column] or 0) for row in rows}
