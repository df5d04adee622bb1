"""A drift report limited to some councils (an inspector's, an IRO manager's): it counts
those councils' children and no other's, in every measure, grouping and month end of its
trend. Built on the demo's case histories, which hold two councils: E10000099 (NR-0101 to
NR-0105) and E09000099 (NR-0201 to NR-0205)."""

from __future__ import annotations

from datetime import date

from careledger.api import Opened
from careledger.cli.demo import INSPECTION_DAY
from careledger.projections.drift import MEASURES, Count, Report
from tests.access_histories import HOME, OTHER, demo_events

MONTH_END = date(2025, 10, 31)


def demo(o: Opened) -> None:
    o.record(demo_events(), actor="lcs-feed", role="ADMIN")
    o.catch_up()


def counted(report: Report, group: str) -> dict[str, tuple[int, int]]:
    """Each measure's count of the group; a measure with nothing to count left out (a
    grouped report has no row for it, an ungrouped one says 0 of 0)."""
    return {c.measure: (c.count, c.of) for c in report.counts if c.group == group and c.of}


def test_a_report_of_one_council_counts_what_that_councils_row_counts(o: Opened) -> None:
    demo(o)
    per_council = o.drift(INSPECTION_DAY, "council")
    for council in (OTHER, HOME):
        alone = o.drift(INSPECTION_DAY, councils=frozenset({council}))
        assert counted(alone, "all") == counted(per_council, council)
        assert counted(alone, "all")
        children = {f.subject for found in alone.findings.values() for f in found
                    if f.measure != "iro_caseload"}  # fmt: skip
        assert children and all(child.startswith(f"{council}:") for child in children)


def test_its_trend_counts_only_those_councils_at_each_month_end(o: Opened) -> None:
    demo(o)
    alone = o.drift(INSPECTION_DAY, councils=frozenset({OTHER}), months=4)
    assert [day for day, _ in alone.trend][-1] == INSPECTION_DAY
    points = dict(alone.trend)
    then = counted(o.drift(MONTH_END, "council"), OTHER)
    assert {key: (c.count, c.of) for key, c in points[MONTH_END].items() if c.of} == then
    both = dict(o.drift(INSPECTION_DAY, months=4).trend)
    assert any(points[MONTH_END][k].of < both[MONTH_END][k].of for k in points[MONTH_END])


def test_grouped_by_iro_it_lists_only_the_iros_of_those_councils(o: Opened) -> None:
    demo(o)
    every = o.drift(INSPECTION_DAY, "iro")
    alone = o.drift(INSPECTION_DAY, "iro", councils=frozenset({OTHER}))
    mine = {c.group for c in alone.counts if c.measure == "review_overdue"}
    assert mine and mine < {c.group for c in every.counts if c.measure == "review_overdue"}
    looked_after = sum(c.of for c in alone.counts if c.measure == "review_overdue")
    assert looked_after == counted(o.drift(INSPECTION_DAY, "council"), OTHER)["review_overdue"][1]


def test_a_report_of_no_council_counts_nothing(o: Opened) -> None:
    demo(o)
    nothing = o.drift(INSPECTION_DAY, councils=frozenset())
    assert {(c.count, c.of) for c in nothing.counts} == {(0, 0)}
    assert all(not found for found in nothing.findings.values())
    assert nothing.counts == [Count(m.key, "all", 0, 0) for m in MEASURES]
