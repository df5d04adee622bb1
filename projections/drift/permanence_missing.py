"""No permanence plan by the second review (reg 5(a); IRO Handbook / Guidance Vol 2):
children past their second review with no `permanence` section in any plan, of the
children past it."""

from __future__ import annotations

from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Counted, Finding, Measure, child, counts, tally
from careledger.projections.drift.sql import known, totals_and_hits
from careledger.projections.drift.trend import SPANS, Points, Trend, earlier, later

DEFINITION = Measure(
    "permanence_missing",
    "No permanence plan by the second review",
    "children past their second review's date with no permanence plan recorded, "
    "of children past that date",
    "reg 5(a); IRO Handbook / Guidance Vol 2 (by the second review)",
    "verified at second hand",
)

_KNOWN_HELD = """CASE WHEN r.held_on IS NOT NULL AND r.held_on <= :d
    AND r.held_recorded_on <= :recorded THEN 1 ELSE 0 END"""
_SECOND_REVIEW_POINT = """CASE WHEN r.held_on IS NOT NULL AND r.held_on <= :d
    AND r.held_recorded_on <= :recorded AND r.held_on < r.due_on
    THEN r.held_on ELSE r.due_on END"""


def count(q: Query) -> Counted:
    """A period already under way when the records began (an imported return's first
    episode continues care) is not judged: its second review is long past, and a return
    holds no care plan."""
    past_second_review = f"""
        FROM tmp_children g JOIN {{s}}cl_reviews r ON r.case_id = g.case_id
          AND r.period_no = g.period_no AND r.review_no = 2 AND {known("r")}
        JOIN {{s}}cl_reviews f ON f.case_id = g.case_id AND f.period_no = g.period_no
          AND f.review_no = 1 AND {known("f")} AND f.held_on <= :d
          AND f.held_recorded_on <= :recorded
        LEFT JOIN (SELECT DISTINCT m.case_id FROM {{s}}cl_permanence m
          WHERE {known("m")} AND m.occurred_on <= :d AND m.recorded_on <= :recorded
        ) planned ON planned.case_id = g.case_id
        WHERE {_SECOND_REVIEW_POINT} < :d
          AND NOT EXISTS (SELECT 1 FROM {{s}}cl_periods pe WHERE pe.case_id = g.case_id
            AND pe.period_no = g.period_no AND {known("pe")} AND pe.regime = 'continuing')
    """
    past, rows = q.totals_and_hits(
        totals_and_hits(
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
            child(row),
            row["point"],
            q.days_since(row["point"]),
            f"second review due by {row['due_on']}"
            + (f", held {row['held_on']}" if row["known_held"] else ", not held")
            + "; no permanence section in any plan recorded",
        )
        for row in rows
    ]
    return counts("permanence_missing", tally(findings), past), findings


def trend(t: Trend) -> Points:
    """On each date, the children looked after past their period's second review, and
    those with no permanence section recorded by then. A period is past it from the
    first date its first review was held by and its second's point passed (held early,
    or due), for good; and missing a plan until the child's first permanence section:
    each period's first two reviews, its regime and each child's first permanence section
    read once give it that span of dates, cut to the spans its child was looked after in
    that period, and the spans are counted at their ends."""
    point = _SECOND_REVIEW_POINT.replace(":d", "t.d")
    start = t.first_date(f"f.held_on <= t.d AND {point} < t.d")
    planned_on = t.first_date("planned.first_on <= t.d")
    # Each period's span worked out once (materialized), not again per use.
    spans = f"""items AS MATERIALIZED (
          SELECT r.case_id, r.period_no, {start} AS start, {planned_on} AS planned
          FROM {{s}}cl_reviews r JOIN {{s}}cl_reviews f ON f.case_id = r.case_id
            AND f.period_no = r.period_no AND f.review_no = 1 AND {known("f")}
            AND f.held_recorded_on <= :recorded
          LEFT JOIN (SELECT m.case_id, MIN(m.occurred_on) AS first_on
            FROM {{s}}cl_permanence m WHERE {known("m")} AND m.recorded_on <= :recorded
            GROUP BY m.case_id
          ) planned ON planned.case_id = r.case_id
          WHERE r.review_no = 2 AND {known("r")}
            AND NOT EXISTS (SELECT 1 FROM {{s}}cl_periods pe WHERE pe.case_id = r.case_id
              AND pe.period_no = r.period_no AND {known("pe")} AND pe.regime = 'continuing')),
      spans AS MATERIALIZED (
        SELECT {later("p.start", "g.first_i")} AS start, g.end_i AS past,
          {earlier("p.planned", "g.end_i")} AS missing
        FROM items p JOIN {SPANS} g ON g.case_id = p.case_id AND g.period_no = p.period_no
        WHERE p.start < g.end_i)"""
    counts = t.counted(spans, ("past", "missing"))
    return t.points("permanence_missing", counts["missing"], counts["past"])
