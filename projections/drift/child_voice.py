"""Reviews without the child's voice (reg 36; SSDA903 REVIEW_CODE): reviews with views not
conveyed (PN7), or where the IRO did not speak with the child first without a recorded
reason, of the reviews held in the previous 12 months."""

from __future__ import annotations

from typing import Any

from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Counted, Finding, Measure, child, counts, tally
from careledger.projections.drift.reviews_held import held_per_date
from careledger.projections.drift.trend import Points, Trend
from careledger.projections.views import Row

DEFINITION = Measure(
    "child_voice",
    "Reviews without the child's voice (previous 12 months)",
    "reviews with views not conveyed (PN7) or without the IRO speaking with the child "
    "first, of reviews held",
    "reg 36; SSDA903 REVIEW_CODE",
    "PN7 verified; 'child not seen' unverified: configurable (CARELEDGER_CHILD_SEEN_REQUIRED)",
)


def count(q: Query) -> Counted:
    held, rows = q.reviews_held()
    findings = [
        Finding("child_voice", row["grp"], child(row), row["held_on"], None, _voice(row, q.params))
        for row in rows
        if row["unheard"]
    ]
    return counts("child_voice", tally(findings), held), findings


def _voice(row: Row, params: dict[str, Any]) -> str:
    missing = []
    if row["participation"] == "PN7":
        missing.append("PN7: absent, views not conveyed")
    unseen = not row["child_seen"] and not row["not_seen_reason"]
    if params["seen"] and row["participation"] != "PN0" and unseen:
        seen = "not recorded" if row["child_seen"] is None else "no, and no reason recorded"
        missing.append(f"IRO spoke with the child before it: {seen}")
    return f"review {row['review_id']} ({row['participation']}): " + "; ".join(missing)


def trend(t: Trend) -> Points:
    held = held_per_date(t)
    return t.points("child_voice", held.unheard, held.held)
