"""Recommendations overdue (reg 37; IRO Handbook): recommendations past due, not completed
or overtaken, of the recommendations fallen due; and who owns them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Counted, Finding, Measure, child, counts, tally
from careledger.projections.drift.sql import known, totals_and_hits
from careledger.projections.drift.trend import LOOKED_AFTER, Points, Trend, per_date

DEFINITION = Measure(
    "recommendation_overdue",
    "Recommendations overdue",
    "recommendations past due and not completed or overtaken, of recommendations due",
    "reg 37; IRO Handbook",
    "unverified: configurable (CARELEDGER_RECOMMENDATION_GRACE_DAYS)",
)

# Made at a review held by the date and recorded by --as-recorded-on, and fallen due.
_FALLEN_DUE = "m.made_on <= :d AND m.made_recorded_on <= :recorded AND m.due_on < :due_before"


def count(q: Query) -> Counted:
    """Each group's recommendations fallen due, and those still open, in one pass."""
    due, rows = q.totals_and_hits(
        totals_and_hits(
            f"""SELECT g.council, g.child_ref, {{group}} AS grp, m.recommendation_id, m.text,
                m.owner, m.owner_role, m.due_on, m.review_id,
                CASE WHEN m.closed_on IS NOT NULL AND m.closed_on <= :d
                  AND m.closed_recorded_on <= :recorded THEN 0 ELSE 1 END AS still_open
            FROM tmp_children g JOIN {{s}}cl_recommendations m
              ON m.case_id = g.case_id AND {known("m")}
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
            child(row),
            row["due_on"],
            q.days_since(row["due_on"]),
            f"{row['recommendation_id']} (review {row['review_id']}), owner {row['owner']} "
            f"({row['owner_role']}): {row['text']}",
            owner=f"{row['owner']} ({row['owner_role']})",
        )
        for row in rows
    ]
    return counts("recommendation_overdue", tally(findings), due), findings


def owners(findings: Sequence[Finding]) -> list[tuple[str, int, int]]:
    """Overdue recommendations per owner: (owner, how many, most days overdue), worst first."""
    per: dict[str, list[int]] = defaultdict(list)
    for finding in findings:
        per[finding.owner or "(no owner)"].append(finding.days or 0)
    rows = [(owner, len(days), max(days)) for owner, days in per.items()]
    return sorted(rows, key=lambda r: (-r[1], -r[2], r[0]))


def trend(t: Trend) -> Points:
    """On each date, the recommendations of the children looked after fallen due, and
    those still open: each recommendation's dates from one read of the recommendations,
    then kept for the children looked after on the date."""
    fallen_due = f"""fallen_due AS MATERIALIZED (
        SELECT t.d, m.case_id,
          CASE WHEN m.closed_on IS NOT NULL AND m.closed_on <= t.d
            AND m.closed_recorded_on <= :recorded THEN 0 ELSE 1 END AS still_open
        FROM {{s}}cl_recommendations m JOIN dates t
          ON m.made_on <= t.d AND m.due_on < t.due_before
        WHERE {known("m")} AND m.made_recorded_on <= :recorded)"""
    rows = t.run(
        f"""SELECT g.d, COUNT(*) AS due, SUM(m.still_open) AS still_open
        FROM fallen_due m JOIN {LOOKED_AFTER} g ON g.case_id = m.case_id AND g.d = m.d
        GROUP BY g.d""",
        first=fallen_due,
    )
    return t.points("recommendation_overdue", per_date(rows, "still_open"), per_date(rows, "due"))
