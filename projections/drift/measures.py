"""The report's measures in the order it lists them, each with the function that counts it,
and the records to put right of its data-quality section."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

from careledger.projections.drift import (
    challenge_overdue,
    child_voice,
    continuity,
    iro_caseload,
    past_18,
    permanence_missing,
    recommendation_overdue,
    recording_lag,
    review_late,
    review_overdue,
)
from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Count, Counted
from careledger.projections.drift.trend import Points, Trend

_MODULES = (
    review_overdue,
    review_late,
    recommendation_overdue,
    child_voice,
    permanence_missing,
    iro_caseload,
    continuity,
    challenge_overdue,
    recording_lag,
)
MEASURES = tuple(module.DEFINITION for module in _MODULES)
MEASURE = {m.key: m for m in MEASURES}
COUNTERS: dict[str, Callable[[Query], Counted]] = {
    module.DEFINITION.key: module.count for module in _MODULES
}
# Each measure's overall count at many dates, in one statement over them all (the trend).
# Challenge timescales first: their judging, in Python, then runs while the other measures'
# statements run on the server (`Trend.later`).
_TREND_ORDER = (challenge_overdue, *(m for m in _MODULES if m is not challenge_overdue))
TRENDS: dict[str, Callable[[Trend], Points | Future[Points]]] = {
    module.DEFINITION.key: module.trend for module in _TREND_ORDER
}

# The data-quality section: records to put right.
TO_PUT_RIGHT = (past_18.DEFINITION,)
CHECKS: dict[str, Callable[[Query], list[Count]]] = {past_18.DEFINITION.key: past_18.count}
