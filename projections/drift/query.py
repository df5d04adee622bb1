"""The drift report's statements on one date: a read-only transaction over the views, with
the temporary table of the children (`children`) and what the measures share."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections.drift.children import (
    CHILDREN,
    CHILDREN_INDEXED,
    CREATE_CHILDREN,
    SETTLED_CHILDREN,
)
from careledger.projections.drift.report import By, Count, counts
from careledger.projections.drift.reviews_held import REVIEWS_HELD
from careledger.projections.drift.sql import Tallied
from careledger.projections.drift_settings import DriftSettings
from careledger.projections.followup import recorded_by
from careledger.projections.timetable import add_months
from careledger.projections.views import CaseViews, Row


class Query:
    """The report's SQL for one date, over a temporary table of every child's IRO, team and
    period of care on that date (one per connection: each lane builds its own)."""

    def __init__(
        self,
        views: CaseViews,
        cursor: Any,
        params: dict[str, Any],
        by: By | None,
        protocol: DisputeProtocol,
        as_recorded_on: date | None = None,
    ):
        self.views, self.cursor, self.params = views, cursor, params
        self.as_recorded_on = as_recorded_on
        self.councils: frozenset[str] | None = None  # None: every council's children
        self.denominators: dict[str, dict[str, int]] = {}
        self._reviews_held: tuple[dict[str, int], list[Row]] | None = None
        self._days: dict[str, int] = {}
        self.snapshot: str | None = None
        self.children = ""  # the children's query, when no temporary table may hold them
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
        as_recorded_on: date | None = None,
        councils: frozenset[str] | None = None,
    ) -> Iterator[Query]:
        """A read-only transaction for the report's statements on `as_of`, of what was
        recorded by the end of `as_recorded_on` (None: everything), reading the given
        snapshot of the views if there is one (another lane's), counting only the children
        of `councils` if given."""
        recorded = recorded_by(as_recorded_on)
        params = {
            "d": as_of.isoformat(),
            "recorded": recorded,
            "settled": min(as_of.isoformat(), recorded),
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
            query = cls(views, cursor, params, by, protocol, as_recorded_on)
            query.councils = councils
            query.snapshot = views.start_report(cursor, snapshot)
            yield query

    def select_children(self) -> None:
        """The temporary table of every child's IRO, team and period of care on the date:
        copied from cl_children when every child's latest records were in force on the date
        and recorded by --as-recorded-on (a report as of today of everything recorded:
        nothing is recorded with a future date), else worked out from the records for the
        children whose were not. A compact table of its own,
        where the report's joins read it, not cl_children's pages and the rows an update
        left behind in them."""
        [unsettled] = self.run(
            "SELECT COUNT(*) AS n FROM {s}cl_children c WHERE c.settled_on > :settled"
        )
        children = self._of_councils(CHILDREN if unsettled["n"] else SETTLED_CHILDREN)
        if self.views.read_only:
            # Views opened for reading (a reader's connection, a streaming replica) may not
            # create even a temporary table: each statement computes the children itself.
            self.children = children.replace(CREATE_CHILDREN, "", 1)
            return
        self.run("DROP TABLE IF EXISTS tmp_children", fetch=False)
        self.run(children, fetch=False)
        for statement in CHILDREN_INDEXED:
            self.run(statement, fetch=False)

    def _of_councils(self, children: str) -> str:
        """The children's table cut to the report's councils: every measure reads its
        children from that table, so no other council's child is counted in any of them."""
        if self.councils is None:
            return children
        names = [f"council_{i}" for i in range(len(self.councils))]
        self.params.update(zip(names, sorted(self.councils), strict=True))
        within = ", ".join(f":{name}" for name in names) or "NULL"
        select = children.replace(CREATE_CHILDREN, "", 1)
        return f"{CREATE_CHILDREN} SELECT * FROM ({select}) k WHERE k.council IN ({within})"

    def run(self, sql: str, fetch: bool = True) -> list[Row]:
        if self.children and "tmp_children" in sql:
            sql = f"WITH tmp_children AS MATERIALIZED ({self.children}) {sql}"
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

    def totals_and_hits(self, tallied: Tallied) -> tuple[dict[str, int], list[Row]]:
        """The group totals and the rows found by a `totals_and_hits` statement, each row
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
            self._reviews_held = self.totals_and_hits(REVIEWS_HELD)
        return self._reviews_held

    def counts(self, measure: str, numerators: dict[str, int], sql: str) -> list[Count]:
        """Counts per group: `sql` gives each group's denominator as (grp, n); two measures
        of the same population (the children looked after) share one query."""
        if sql not in self.denominators:
            self.denominators[sql] = {row["grp"]: int(row["n"]) for row in self.run(sql)}
        return counts(measure, numerators, self.denominators[sql])
