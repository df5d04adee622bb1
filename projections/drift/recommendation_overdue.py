"""Recommendations overdue (reg 37; IRO Handbook): recommendations past due, not completed
or overtaken, of the recommendations fallen due; and who owns them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Counted, Finding, Measure, counts, tally
from careledger.projections.drift.sql import known, totals_and_hits
from careledger.projections.drift.trend import SPANS, Points, Trend, earlier, later

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
            f"""SELECT g.council, g.child_ref, {{group}} AS grp, m.recommendation_id,
                g.council || ':' || g.child_ref AS subject, m.due_on,
                m.owner || ' (' || m.owner_role || ')' AS owned,
                m.recommendation_id || ' (review ' || m.review_id || '), owner '
                  || m.owner || ' (' || m.owner_role || '): ' || m.text AS detail,
                CASE WHEN m.closed_on IS NOT NULL AND m.closed_on <= :d
                  AND m.closed_recorded_on <= :recorded THEN 0 ELSE 1 END AS still_open
            FROM tmp_children g JOIN {{s}}cl_recommendations m
              ON m.case_id = g.case_id AND {known("m")}
            WHERE g.period_no IS NOT NULL AND {_FALLEN_DUE}""",
            "subject, due_on, owned, detail",
            "still_open = 1",
            "due_on, council, child_ref, recommendation_id",
        )
    )
    # The finding's text is put together by the database: at 80,000 children there are
    # about 40,000 of them, and Python would build each from eight values.
    findings = [
        Finding(
            "recommendation_overdue",
            row["grp"],
            row["subject"],
            row["due_on"],
            q.days_since(row["due_on"]),
            row["detail"],
            owner=row["owned"],
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
    those still open. A recommendation is fallen due from the first date it was made by
    and due before (its grace days), and open until it was completed or overtaken: one
    read of the recommendations gives each its span of dates, cut to each span its child
    was looked after, and the spans are counted at their ends, not a row per date."""
    start = t.first_date("m.made_on <= t.d AND m.due_on < t.due_before")
    closed = t.first_date("m.closed_on <= t.d")
    # Each recommendation's span worked out once (materialized), not again per use.
    spans = f"""items AS MATERIALIZED (
        SELECT m.case_id, {start} AS start,
          CASE WHEN m.closed_on IS NOT NULL AND m.closed_recorded_on <= :recorded
            THEN {closed} ELSE {len(t.dates)} END AS open_end
        FROM {{s}}cl_recommendations m
        WHERE {known("m")} AND m.made_recorded_on <= :recorded),
      spans AS MATERIALIZED (
        SELECT {later("m.start", "g.first_i")} AS start, g.end_i AS due,
          {earlier("m.open_end", "g.end_i")} AS still_open
        FROM items m JOIN {SPANS} g ON g.case_id = m.case_id
        WHERE m.start < g.end_i)"""
    counts = t.counted(spans, ("due", "still_open"))
    return t.points("recommendation_overdue", counts["still_open"], counts["due"])
