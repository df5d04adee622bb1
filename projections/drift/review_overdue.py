"""Reviews overdue (reg 33(1)-(2)): children whose next review is past its due date, of the
children looked after."""

from __future__ import annotations

from careledger.projections.drift.children import COHORT
from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Counted, Finding, Measure, child, tally
from careledger.projections.drift.sql import by_key, known, ordinal
from careledger.projections.drift.trend import SPANS, Points, Trend, earlier, later

DEFINITION = Measure(
    "review_overdue",
    "Reviews overdue",
    "children whose next review is past its due date, of children looked after",
    "reg 33(1)-(2): first within 20 working days, second within 3 months, then 6-monthly",
    "verified",
)


def count(q: Query) -> Counted:
    """The first review of the child's current period not known to be held, if past due."""
    rows = q.run(f"""
        SELECT g.council, g.child_ref, {{group}} AS grp, r.review_no, r.due_on
        FROM tmp_children g JOIN (
          SELECT n.case_id, n.period_no, MIN(n.review_no) AS review_no,
            {by_key(ordinal("n.review_no"), "n.due_on", "MIN", 10)} AS due_on
          FROM {{s}}cl_reviews n WHERE {known("n")}
            AND NOT (n.held_on IS NOT NULL AND n.held_on <= :d
              AND n.held_recorded_on <= :recorded)
          GROUP BY n.case_id, n.period_no
        ) r ON r.case_id = g.case_id AND r.period_no = g.period_no
        WHERE r.due_on < :d
    """)
    findings = [
        Finding(
            "review_overdue",
            row["grp"],
            child(row),
            row["due_on"],
            q.days_since(row["due_on"]),
            f"review {row['review_no']} of this period of care was due by {row['due_on']}",
        )
        for row in rows
    ]
    return q.counts("review_overdue", tally(findings), COHORT), findings


def trend(t: Trend) -> Points:
    """On each date, the children looked after whose first review not known to be held
    by then, of their period of care then, was past due. A review is a period's first not
    held on every date from the day the reviews before it were all held (known by
    :recorded) until its own, and overdue on those after its due date: one read of the
    reviews, in order, gives each review that span of dates, cut to the spans its child
    was looked after in that period (a period has one first review not held on a date,
    so each child counts once), and the spans are counted at their ends.

    A review held (and recorded) by the first date is read no further: it is no first
    review not held on any of the dates, and to the reviews after it, what it adds (a day
    held before every date) is what its absence adds (no review before them not held)."""
    held = "CASE WHEN n.held_on IS NOT NULL AND n.held_recorded_on <= :recorded THEN n.held_on END"
    start = t.first_date("(r.before_held IS NULL OR r.before_held <= t.d) AND r.due_on < t.d")
    # Each review's span worked out once (materialized), not again per use.
    spans = f"""items AS MATERIALIZED (
        SELECT r.case_id, r.period_no, {start} AS start,
          {t.first_date("r.held_on <= t.d")} AS held
        FROM (SELECT n.case_id, n.period_no, n.due_on, {held} AS held_on,
            MAX(COALESCE({held}, '~')) OVER (PARTITION BY n.case_id, n.period_no
              ORDER BY n.review_no ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ) AS before_held
          FROM {{s}}cl_reviews n WHERE {known("n")}
            AND NOT (n.held_on IS NOT NULL AND n.held_recorded_on <= :recorded
              AND n.held_on <= :d_0)) r),
      spans AS MATERIALIZED (
        SELECT {later("r.start", "g.first_i")} AS start, {earlier("r.held", "g.end_i")} AS n
        FROM items r JOIN {SPANS} g ON g.case_id = r.case_id AND g.period_no = r.period_no
        WHERE r.start < g.end_i)"""
    return t.points("review_overdue", t.counted(spans, ("n",))["n"], t.cohort())
