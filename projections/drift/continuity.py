"""Changes of IRO or social worker (s.25A; IRO Handbook on continuity; no statutory
threshold): children with too many changes in the previous 12 months, of the children
looked after."""

from __future__ import annotations

from careledger.projections.drift.children import COHORT
from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Counted, Finding, Measure, child, tally
from careledger.projections.drift.sql import known
from careledger.projections.drift.trend import LOOKED_AFTER, Points, Trend, per_date

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
    """On each date, the children looked after with too many changes in its window: the
    changes counted per child and date from one read of the allocations, then kept for the
    children looked after on the date."""
    changed = f"""changed AS MATERIALIZED (
        SELECT t.d, a.case_id FROM {{s}}cl_allocations a JOIN dates t
          ON a.from_on > t.w AND a.from_on <= t.d
        WHERE {known("a")} AND a.changed = 1 AND a.recorded_on <= :recorded
        GROUP BY t.d, a.case_id
        HAVING SUM(CASE WHEN a.kind = 'iro' THEN 1 ELSE 0 END) >= :iro_changes
          OR SUM(CASE WHEN a.kind = 'sw' THEN 1 ELSE 0 END) >= :sw_changes)"""
    rows = t.run(
        f"""SELECT g.d, COUNT(*) AS n
        FROM changed c JOIN {LOOKED_AFTER} g ON g.case_id = c.case_id AND g.d = c.d
        GROUP BY g.d""",
        first=changed,
    )
    return t.points("continuity", per_date(rows, "n"), t.cohort())
