"""The drift report's trend: each measure's overall count at many dates (the month ends of
the chart), each measure in one statement over every date at once.

A table of the dates (`dates`: each date `d`, its 12-month window's start `w`, the day a
recommendation fell due before, `due_before`, and the earlier of the date and the day of
the records read, `settled`) is joined into a measure's statement and its counts grouped by
date: the measure's tables are read once for all the dates, not once per date, and what
each date counts is exactly what the report on that date counts (`measures.py`). The
children looked after on each date are worked out once, for every date, into a table of
their own (`tmp_looked_after`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections.drift.children import ALLOCATION_KEY
from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Count
from careledger.projections.drift.sql import by_key, known
from careledger.projections.drift_settings import DriftSettings
from careledger.projections.timetable import add_months
from careledger.projections.views import CaseViews, Row

Points = dict[date, Count]  # a measure's overall count at each date

LOOKED_AFTER = "tmp_looked_after"


class Trend:
    """The statements of a trend: each measure's, over the dates, in one transaction that
    changes nothing but its own temporary table (a `Query` on the last date, whose
    parameters and dialect it shares)."""

    def __init__(self, query: Query, dates: Sequence[date], settings: DriftSettings) -> None:
        self.query, self.dates = query, sorted(dates)
        self.protocol, self.as_recorded_on = query.protocol, query.as_recorded_on
        self.looked_after = ""  # its query, when no temporary table may hold it
        self.shared: dict[str, Any] = {}  # what two measures read from one statement
        values = []
        for i, day in enumerate(self.dates):
            due_before = date.fromordinal(day.toordinal() - settings.recommendation_grace_days)
            query.params |= {
                f"d_{i}": day.isoformat(),
                f"w_{i}": add_months(day, -12).isoformat(),
                f"due_before_{i}": due_before.isoformat(),
                f"settled_{i}": min(day.isoformat(), query.params["recorded"]),
            }
            values.append(f"(:d_{i}, :w_{i}, :due_before_{i}, :settled_{i})")
        query.params |= {"first_w": query.params["w_0"], "last_d": self.dates[-1].isoformat()}
        self._dates = f"dates (d, w, due_before, settled) AS (VALUES {', '.join(values)})"

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
        with opening as query:
            trend = cls(query, dates, settings)
            trend._select_looked_after()
            yield trend

    @property
    def children(self) -> str:
        """The children counted (every child of cl_children, or of the report's councils):
        what the report's table of children holds, whatever their standing on a date."""
        councils = self.query.councils
        if councils is None:
            return "{s}cl_children"
        names = [f"council_{i}" for i in range(len(councils))]
        self.query.params.update(zip(names, sorted(councils), strict=True))
        within = ", ".join(f":{name}" for name in names) or "NULL"
        return f"(SELECT * FROM {{s}}cl_children c WHERE c.council IN ({within}))"

    def run(self, sql: str, fetch: bool = True, first: str = "") -> list[Row]:
        """A statement with the dates (and, where no temporary table may hold them, the
        children looked after on each) before it, and any table `first` defines (`name AS
        MATERIALIZED (SELECT ...)`: worked out before the statement joins it to the
        children looked after, where the planner would otherwise join them first)."""
        ahead = [self._dates]
        if self.looked_after and LOOKED_AFTER in sql:
            ahead.append(f"{LOOKED_AFTER} AS MATERIALIZED ({self.looked_after})")
        ahead += [first] if first else []
        return self.query.run(f"WITH {', '.join(ahead)} {sql}", fetch)

    def _select_looked_after(self) -> None:
        """Each date's children looked after, with their IRO and period of care: the
        report's table of children (`children.py`) on every date at once, without the
        children not looked after (no measure of them reads it)."""
        select = looked_after(self.children)
        if self.query.views.read_only:
            self.looked_after = select
            return
        self.query.run(f"DROP TABLE IF EXISTS {LOOKED_AFTER}", fetch=False)
        self.query.run(
            f"CREATE TEMP TABLE {LOOKED_AFTER} AS WITH {self._dates} {select}", fetch=False
        )
        self.query.run(f"CREATE INDEX {LOOKED_AFTER}_case ON {LOOKED_AFTER} (case_id, d)", False)
        self.query.run(f"ANALYZE {LOOKED_AFTER}", fetch=False)

    def points(self, measure: str, counted: dict[str, int], of: dict[str, int]) -> Points:
        """A measure's Count at each date, from its count and "of" per date (ISO); 0 of 0
        at a date with neither, as the report says of a measure with nothing to count."""
        return {
            day: Count(measure, "all", counted.get(day.isoformat(), 0), of.get(day.isoformat(), 0))
            for day in self.dates
        }

    def cohort(self) -> dict[str, int]:
        """The children looked after on each date (the "of" of the measures of now)."""
        if "cohort" not in self.shared:
            rows = self.run(f"SELECT d, COUNT(*) AS n FROM {LOOKED_AFTER} GROUP BY d")
            self.shared["cohort"] = per_date(rows, "n")
        cohort: dict[str, int] = self.shared["cohort"]
        return cohort


def looked_after(children: str) -> str:
    """The SELECT of (d, case_id, iro, period_no) of each child looked after on each date:
    read from cl_children for a date by which the child's latest records all held and were
    known (`settled`), else worked out from the allocations and periods (`children.py`)."""
    unsettled = f"dates t JOIN {children} c ON c.settled_on > t.settled"
    return f"""
SELECT t.d, c.case_id, c.iro, c.period_no FROM dates t
JOIN {children} c ON c.settled_on <= t.settled
WHERE c.period_no IS NOT NULL AND (c.period_until IS NULL OR c.period_until > t.d)
UNION ALL
SELECT pe.d, pe.case_id, al.iro, pe.period_no FROM (
  SELECT t.d, pe.case_id, MAX(pe.period_no) AS period_no
  FROM {unsettled} JOIN {{s}}cl_periods pe ON pe.case_id = c.case_id
  WHERE {known("pe")} AND pe.started_on <= t.d AND pe.start_recorded_on <= :recorded
    AND (pe.ended_on IS NULL OR pe.ended_on > t.d OR pe.end_recorded_on > :recorded)
  GROUP BY t.d, pe.case_id
) pe LEFT JOIN (
  SELECT t.d, a.case_id, {by_key(ALLOCATION_KEY, "a.name")} AS iro
  FROM {unsettled} JOIN {{s}}cl_allocations a ON a.case_id = c.case_id
  WHERE {known("a")} AND a.kind = 'iro' AND a.from_on <= t.d AND a.recorded_on <= :recorded
  GROUP BY t.d, a.case_id
) al ON al.d = pe.d AND al.case_id = pe.case_id"""


def per_date(rows: list[Row], column: str) -> dict[str, int]:
    """A column of rows of one per date (`d`), by date."""
    return {row["d"]: int(row[column] or 0) for row in rows}
