"""A record to put right, counted in the report's data-quality section: children looked
after past their 18th birthday with no record of when care ended (CA 1989 s.105(1))."""

from __future__ import annotations

from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Correction, Count
from careledger.projections.drift.sql import known
from careledger.projections.followup import AGE_18
from careledger.projections.views import Row

DEFINITION = Correction(
    "past_18",
    "looked after past 18: record when care ended",
    "CA 1989 s.105(1): a child is a person under 18",
)


def count(q: Query) -> list[Count]:
    """Children whose care ran past their 18th birthday by the date with no record of it
    ending recorded by --as-recorded-on (projections.followup.AGE_18), per group."""
    rows = q.run(f"""
        SELECT {{group}} AS grp, COUNT(DISTINCT g.case_id) AS n FROM tmp_children g
        JOIN {{s}}cl_periods pe ON pe.case_id = g.case_id AND {known("pe")}
        WHERE pe.ended_by = '{AGE_18}' AND pe.ended_on <= :d
          AND pe.end_recorded_on <= :recorded
        GROUP BY grp
    """)
    return [Count("past_18", row["grp"], int(row["n"]), 0) for row in sorted(rows, key=_grp)]


def _grp(row: Row) -> str:
    return str(row["grp"])
