"""The reviews held in the previous 12 months, read once for the two measures that judge
them (reviews held late, the child's voice)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from careledger.projections.drift.sql import known, totals_and_hits
from careledger.projections.views import Row

if TYPE_CHECKING:  # the trend's module reads the report's, which reads this one
    from careledger.projections.drift.trend import Trend

_HELD_IN_WINDOW = (
    "r.held_on IS NOT NULL AND r.held_on > :w AND r.held_on <= :d"
    " AND r.held_recorded_on <= :recorded"
)

# The reviews held in the window, in one pass for the two measures that judge them: each
# group's number of reviews held, and the reviews either measure may count, flagged.
REVIEWS_HELD = totals_and_hits(
    f"""SELECT g.council, g.child_ref, {{review_group}} AS grp, r.case_id, r.period_no,
        r.review_no, r.review_id, r.due_on, r.held_on, r.days_late, r.participation,
        r.child_seen, r.not_seen_reason,
        CASE WHEN r.days_late > 0 AND (r.prior_recorded_on IS NULL
          OR r.prior_recorded_on <= :recorded) THEN 1 ELSE 0 END AS late,
        CASE WHEN r.prior_recorded_on > :recorded THEN 1 ELSE 0 END AS unsure,
        CASE WHEN r.participation = 'PN7' OR (:seen = 1 AND r.participation <> 'PN0'
          AND (r.child_seen IS NULL OR r.child_seen = 0) AND r.not_seen_reason IS NULL)
          THEN 1 ELSE 0 END AS unheard
      FROM tmp_children g JOIN {{s}}cl_reviews r ON r.case_id = g.case_id AND {known("r")}
      WHERE {_HELD_IN_WINDOW}""",
    "council, child_ref, case_id, period_no, review_no, review_id, due_on, held_on, days_late, "
    "participation, child_seen, not_seen_reason, late, unsure, unheard",
    "late = 1 OR unsure = 1 OR unheard = 1",
    "council, child_ref, held_on, review_id",  # the child's voice's order (the longer list)
)


class HeldPerDate(NamedTuple):
    """The reviews held in each date's window (by date, ISO): how many, how many held late
    and how many without the child's voice; and the reviews whose earlier review was
    recorded after --as-recorded-on, to be judged again on each date they count for."""

    held: dict[str, int]
    late: dict[str, int]
    unheard: dict[str, int]
    unsure: list[Row]


def held_per_date(t: Trend) -> HeldPerDate:
    """The two measures' counts on every date, from one statement (run once): the reviews
    counted once per day they were held, each day then summed into every window it falls
    in; and the (rare) reviews to judge again, read once."""
    if "reviews_held" not in t.shared:
        flags = f"""FROM {{s}}cl_reviews r JOIN {t.children} c ON c.case_id = r.case_id
          WHERE {known("r")} AND r.held_on IS NOT NULL AND r.held_on > :first_w
            AND r.held_on <= :last_d AND r.held_recorded_on <= :recorded"""
        rows = t.run(f"""
            SELECT t.d, SUM(h.held) AS held, SUM(h.late) AS late, SUM(h.unheard) AS unheard
            FROM dates t JOIN (SELECT r.held_on, COUNT(*) AS held,
                SUM(CASE WHEN r.days_late > 0 AND (r.prior_recorded_on IS NULL
                  OR r.prior_recorded_on <= :recorded) THEN 1 ELSE 0 END) AS late,
                SUM(CASE WHEN r.participation = 'PN7' OR (:seen = 1 AND r.participation <> 'PN0'
                  AND (r.child_seen IS NULL OR r.child_seen = 0) AND r.not_seen_reason IS NULL)
                  THEN 1 ELSE 0 END) AS unheard
              {flags} GROUP BY r.held_on) h ON h.held_on > t.w AND h.held_on <= t.d
            GROUP BY t.d
        """)
        unsure = t.query.run(f"""
            SELECT r.case_id, r.period_no, r.review_id, r.held_on
            {flags} AND r.prior_recorded_on > :recorded
        """)
        held, late, unheard = ({row["d"]: int(row[c] or 0) for row in rows}
                               for c in ("held", "late", "unheard"))  # fmt: skip
        t.shared["reviews_held"] = HeldPerDate(held, late, unheard, unsure)
    found: HeldPerDate = t.shared["reviews_held"]
    return found
