"""Decisions recorded late (record-keeping; no statutory limit): records made more than the
allowed working days after the event, of the records made in the previous 12 months. The day
a record was made is the date this measure judges: a record made after the report's date is
not counted, whatever the date of the event it records."""

from __future__ import annotations

from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Counted, Finding, Measure, child, counts, tally
from careledger.projections.drift.sql import known, totals_and_hits
from careledger.projections.drift.trend import Points, Trend, per_date

DEFINITION = Measure(
    "recording_lag",
    "Decisions recorded late (previous 12 months)",
    "records made more than the allowed working days after the event, of records made",
    "record-keeping (reg 38 review record; no statutory limit)",
    "policy: configurable (CARELEDGER_RECORDING_LAG_WORKING_DAYS)",
)


def count(q: Query) -> Counted:
    """One pass over the records: each case's records in the window are counted first (the
    largest table, so it is aggregated before it meets the children), then each group's
    total and each child with late records come back together."""
    made, rows = q.totals_and_hits(
        totals_and_hits(
            f"""SELECT g.council, g.child_ref, {{group}} AS grp, p.made, p.late, p.worst
            FROM (SELECT l.case_id, COUNT(*) AS made,
                SUM(CASE WHEN l.working_days > :lag THEN 1 ELSE 0 END) AS late,
                MAX(CASE WHEN l.working_days > :lag THEN l.working_days END) AS worst
              FROM {{s}}cl_lags l
              WHERE {known("l")} AND l.recorded_on > :w AND l.recorded_on <= :d
                AND l.recorded_on <= :recorded
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
            child(row),
            None,
            int(row["worst"]),
            f"{row['late']} record(s) made more than {q.params['lag']} working days after "
            f"the event; the latest {row['worst']} working days after",
            weight=int(row["late"]),
        )
        for row in rows
    ]
    return counts("recording_lag", tally(findings), made), findings


def trend(t: Trend) -> Points:
    """The records made and made late in each date's window: the records counted once per
    day they were made, each day then summed into every window it falls in."""
    rows = t.run(f"""
        SELECT t.d, SUM(p.made) AS made, SUM(p.late) AS late FROM dates t
        JOIN (SELECT l.recorded_on, COUNT(*) AS made,
            SUM(CASE WHEN l.working_days > :lag THEN 1 ELSE 0 END) AS late
          FROM {{s}}cl_lags l JOIN {t.children} c ON c.case_id = l.case_id
          WHERE {known("l")} AND l.recorded_on > :first_w AND l.recorded_on <= :last_d
            AND l.recorded_on <= :recorded
          GROUP BY l.recorded_on) p ON p.recorded_on > t.w AND p.recorded_on <= t.d
        GROUP BY t.d
    """)
    return t.points("recording_lag", per_date(rows, "late"), per_date(rows, "made"))
