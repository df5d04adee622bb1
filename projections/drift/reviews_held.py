"""The reviews held in the previous 12 months, read once for the two measures that judge
them (reviews held late, the child's voice)."""

from __future__ import annotations

from careledger.projections.drift.sql import known, totals_and_hits

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
