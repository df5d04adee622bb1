"""Changes of IRO or social worker (s.25A; IRO Handbook on continuity; no statutory
threshold): children with too many changes in the previous 12 months, of the children
looked after."""

from __future__ import annotations

from careledger.projections.drift.children import COHORT
from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Counted, Finding, Measure, child, tally
from careledger.projections.drift.sql import known
from careledger.projections.drift.trend import SPANS, Points, Trend, earlier, later

DEFINITION = Measure(
    "continuity",
    "Changes of IRO or social worker (previous 12 months)",
    "children with too many changes of IRO or social worker, of children looked after",
    "s.25A; IRO Handbook (continuity); no statutory threshold",
    "policy: configurable (CARELEDGER_IRO_CHANGES, CARELEDGER_SOCIAL_WORKER_CHANGES)",
)


def count(q: Query) -> Counted:
    rows = q.run(f"""
        SELECT g.council, g.child_ref, {{group}} AS grp,
          SUM(CASE WHEN a.kind = 'iro' THEN 1 ELSE 0 END) AS iro_changes,
          SUM(CASE WHEN a.kind = 'sw' THEN 1 ELSE 0 END) AS sw_changes
        FROM tmp_children g JOIN {{s}}cl_allocations a ON a.case_id = g.case_id AND {known("a")}
        WHERE g.period_no IS NOT NULL AND a.changed = 1 AND a.from_on > :w AND a.from_on <= :d
          AND a.recorded_on <= :recorded
        GROUP BY g.case_id, g.council, g.child_ref, grp
        HAVING SUM(CASE WHEN a.kind = 'iro' THEN 1 ELSE 0 END) >= :iro_changes
          OR SUM(CASE WHEN a.kind = 'sw' THEN 1 ELSE 0 END) >= :sw_changes
    """)
    findings = [
        Finding(
            "continuity",
            row["grp"],
            child(row),
            None,
            int(row["iro_changes"]) + int(row["sw_changes"]),
            f"{row['iro_changes']} change(s) of IRO, {row['sw_changes']} of social worker "
            f"in the 12 months to {q.params['d']}",
        )
        for row in rows
    ]
    return q.counts("continuity", tally(findings), COHORT), findings


def trend(t: Trend) -> Points:
    """On each date, the children looked after with too many changes in its window. A
    change is in the window of every date from its own until the date whose window starts
    after it: each change's span of dates, added up per child from one read of the
    allocations, gives each child's counts from each date a span begins or ends to the
    next, and the runs of dates with too many (a child counts once, whatever it has too
    many of) are cut to the spans the child was looked after and counted at their ends."""
    changes = f"""SELECT a.case_id, {t.first_date("a.from_on <= t.d")} AS start,
        {t.first_date("a.from_on <= t.w")} AS finish,
        CASE WHEN a.kind = 'iro' THEN 1 ELSE 0 END AS iro,
        CASE WHEN a.kind = 'sw' THEN 1 ELSE 0 END AS sw
      FROM {{s}}cl_allocations a
      WHERE {known("a")} AND a.changed = 1 AND a.recorded_on <= :recorded"""
    steps = """SELECT c.case_id, c.start AS i, c.iro, c.sw FROM changes c WHERE c.start < c.finish
      UNION ALL
      SELECT c.case_id, c.finish, -c.iro, -c.sw FROM changes c WHERE c.start < c.finish"""
    spans = f"""changes AS MATERIALIZED ({changes}), spans AS MATERIALIZED (
        SELECT {later("c.i", "g.first_i")} AS start, {earlier("c.next_i", "g.end_i")} AS n
        FROM (SELECT s.case_id, s.i,
            SUM(s.iro) OVER (PARTITION BY s.case_id ORDER BY s.i) AS iro,
            SUM(s.sw) OVER (PARTITION BY s.case_id ORDER BY s.i) AS sw,
            LEAD(s.i, 1, {len(t.dates)}) OVER (PARTITION BY s.case_id ORDER BY s.i) AS next_i
          FROM (SELECT x.case_id, x.i, SUM(x.iro) AS iro, SUM(x.sw) AS sw
            FROM ({steps}) x GROUP BY x.case_id, x.i) s
        ) c JOIN {SPANS} g ON g.case_id = c.case_id
        WHERE c.iro >= :iro_changes OR c.sw >= :sw_changes)"""
    return t.points("continuity", t.counted(spans, ("n",))["n"], t.cohort())
