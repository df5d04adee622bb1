"""IROs above the caseload benchmark (IRO Handbook: 50-70 children per full-time IRO): IROs
with more children looked after than the benchmark's high end, of the IROs."""

from __future__ import annotations

from collections import defaultdict

from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Count, Counted, Finding, Measure, tally
from careledger.projections.drift.trend import IRO_SPANS, Points, Trend

DEFINITION = Measure(
    "iro_caseload",
    "IROs above the caseload benchmark",
    "IROs with more active children than the benchmark's high end, of IROs",
    "IRO Handbook: 50-70 children per full-time IRO",
    "verified at second hand: configurable (CARELEDGER_IRO_CASELOAD_LOW/HIGH); counts "
    "children per IRO, not per full-time equivalent",
)


def count(q: Query) -> Counted:
    """An IRO's caseload is all their children, whichever groups the children fall in; the
    IRO is listed in each group where they have children."""
    rows = q.run("""
        SELECT {group} AS grp, g.iro, COUNT(*) AS n FROM tmp_children g
        WHERE g.period_no IS NOT NULL AND g.iro IS NOT NULL GROUP BY grp, g.iro
    """)
    caseload: dict[str, int] = defaultdict(int)
    for row in rows:
        caseload[row["iro"]] += int(row["n"])
    benchmark = f"benchmark {q.params['low']}-{q.params['high']}"
    findings = [
        Finding(
            "iro_caseload",
            row["grp"],
            row["iro"],
            None,
            caseload[row["iro"]],
            f"{caseload[row['iro']]} children looked after "
            + (f"({row['n']} in this group; {benchmark})" if q.grouped else f"({benchmark})"),
        )
        for row in rows
        if caseload[row["iro"]] > q.params["high"]
    ]
    iros: dict[str, int] = defaultdict(int)
    for row in rows:
        iros[row["grp"]] += 1
    counts = tally(findings)
    totals = [Count("iro_caseload", g, counts.get(g, 0), n) for g, n in sorted(iros.items())]
    return totals, findings


def trend(t: Trend) -> Points:
    """On each date, the IROs of the children looked after, and those above the benchmark:
    each IRO's children on each date summed from the spans its children were looked after
    with it (a child's spans never overlap), +1 where one begins and -1 where it ends."""
    changes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in t.run(f"""
        SELECT s.iro, s.i, SUM(s.n) AS n FROM (
          SELECT g.iro, g.first_i AS i, 1 AS n FROM {IRO_SPANS} g WHERE g.first_i < g.end_i
          UNION ALL
          SELECT g.iro, g.end_i, -1 FROM {IRO_SPANS} g WHERE g.first_i < g.end_i) s
        GROUP BY s.iro, s.i
    """):
        changes[row["iro"]][int(row["i"])] += int(row["n"])
    above: dict[str, int] = defaultdict(int)
    iros: dict[str, int] = defaultdict(int)
    for change in changes.values():
        children = 0
        for i, day in enumerate(t.dates):
            children += change.get(i, 0)
            iros[day.isoformat()] += children > 0
            above[day.isoformat()] += children > t.query.params["high"]
    return t.points("iro_caseload", above, iros)
