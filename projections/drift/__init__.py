"""The inspector's drift report: counts and rates per measure, and the children behind them.

One module per measure (`review_overdue`, `review_late`, `recommendation_overdue`,
`child_voice`, `permanence_missing`, `iro_caseload`, `continuity`, `challenge_overdue`,
`recording_lag`, and the data-quality count `past_18`), each with its description and the
SQL that counts it, and its overall count at many dates in one statement for the trend
(`trend`); `assembler` puts them together into a `Report`.

Everything is read from the follow-up tables (projections.schema.FOLLOWUP_TABLES) and
cl_children, never by replaying events. A report is "as of" a business date (`:d` in the
SQL: what had happened by the end of it) and counts only what had been recorded by the end
of another (`:recorded`, everything recorded unless given), with the corrections recorded by
then (see projections.followup); the same day for both is what an inspector would have seen
on that day. Each measure judges its facts by their own dates (a review from the day it was
held); recording lag alone by the day a record was made.

Who is counted: the measures of "now" (reviews and recommendations overdue, permanence,
caseload, continuity) count the children looked after on the date; the measures of the
previous 12 months (reviews held late, the child's voice, recording lag) count every review
or record in that window, including those of children who have since left care.
"""

from careledger.projections.drift.assembler import drift_report
from careledger.projections.drift.measures import MEASURE, MEASURES, TO_PUT_RIGHT
from careledger.projections.drift.recommendation_overdue import owners
from careledger.projections.drift.report import (
    By,
    Correction,
    Count,
    Finding,
    Measure,
    Report,
    worst_first,
)

__all__ = [
    "MEASURE",
    "MEASURES",
    "TO_PUT_RIGHT",
    "By",
    "Correction",
    "Count",
    "Finding",
    "Measure",
    "Report",
    "drift_report",
    "owners",
    "worst_first",
]
