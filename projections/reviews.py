"""One child's review timetable and recommendations, from the follow-up tables: what the
child's IRO needs to see is due (reg 33) and what was decided and not yet done (reg 37).

Both are read on a business date (`as_of`: a review counts as held from the day it was
held), of what had been recorded by the end of another (`as_recorded_on`; everything
recorded, unless given): a review held on 10 January and recorded on 20 January is held as
of 15 January, unless only what was recorded by 15 January is asked for."""

from __future__ import annotations

from datetime import date

from careledger.projections.followup import AGE_18, recorded_by
from careledger.projections.queries import Child, require_case
from careledger.projections.views import CaseViews, Row

_KNOWN = "case_id=? AND known_from <= ? AND ? < known_until"


def timetable(
    views: CaseViews, child: Child, as_of: date, as_recorded_on: date | None = None
) -> list[Row]:
    """Every review of every period of care, held or due, on `as_of`, of what was recorded
    by the end of `as_recorded_on` (None: everything recorded)."""
    case = require_case(views, child)
    day, recorded = as_of.isoformat(), recorded_by(as_recorded_on)
    rows = views.fetch(
        f"SELECT * FROM {{s}}cl_reviews WHERE {_KNOWN} ORDER BY period_no, review_no",
        (case["case_id"], recorded, recorded),
    )
    periods = {
        r["period_no"]: r
        for r in views.fetch(
            f"SELECT * FROM {{s}}cl_periods WHERE {_KNOWN}", (case["case_id"], recorded, recorded)
        )
    }
    shown: list[Row] = []
    waiting: set[int] = set()  # periods whose next review is already shown
    for row in rows:
        period = periods[row["period_no"]]
        if period["started_on"] > day or period["start_recorded_on"] > recorded:
            continue  # not yet begun on that day, or not yet on record
        if row["period_no"] in waiting:
            continue
        held = row["held_on"] is not None and row["held_on"] <= day
        if held and row["held_recorded_on"] <= recorded:
            shown.append(_held(row))
        else:
            waiting.add(row["period_no"])
            shown.append(_next(row, periods[row["period_no"]], as_of, recorded))
    return [r for r in shown if r]


def _held(row: Row) -> Row:
    late = row["days_late"]
    seen = {None: "not recorded", 1: "yes", 0: "no"}[row["child_seen"]]
    if row["not_seen_reason"]:
        seen += f" ({row['not_seen_reason']})"
    return {
        "period": row["period_no"],
        "review": row["review_no"],
        "due_by": row["due_on"],
        "held_on": row["held_on"],
        "status": f"held {late} days late" if late else "held on time",
        "review_id": row["review_id"],
        "chair": row["chair"],
        "participation": row["participation"],
        "child_seen_before": seen,
    }


def _next(row: Row, period: Row, as_of: date, recorded: str) -> Row:
    """The first review not (yet known to be) held: due, overdue, or moot if care ended (on
    the 18th birthday at the latest: `projections.followup.AGE_18`)."""
    ended, day = period["ended_on"], as_of.isoformat()
    known_end = ended is not None and period["end_recorded_on"] <= recorded
    if known_end and period["ended_by"] is not None and (ended <= day or row["due_on"] >= ended):
        status = f"none due: 18 on {ended}" + (
            ", before it falls due" if ended > day
            else "; record when care ended" if period["ended_by"] == AGE_18 else ""
        )  # fmt: skip
    elif known_end and ended <= day:
        return {}
    else:
        days = (date.fromisoformat(row["due_on"]) - as_of).days
        status = f"overdue by {-days} days" if days < 0 else f"next: due in {days} days"
    return {
        "period": row["period_no"],
        "review": row["review_no"],
        "due_by": row["due_on"],
        "held_on": None,
        "status": status,
        "review_id": None,
        "chair": None,
        "participation": None,
        "child_seen_before": None,
    }


def recommendations(
    views: CaseViews, child: Child, as_of: date, as_recorded_on: date | None = None
) -> list[Row]:
    """Each recommendation made at a review held by `as_of`, its owner, and whether it was
    done by then, of what was recorded by the end of `as_recorded_on` (None: everything)."""
    case = require_case(views, child)
    day, recorded = as_of.isoformat(), recorded_by(as_recorded_on)
    rows = views.fetch(
        f"SELECT * FROM {{s}}cl_recommendations WHERE {_KNOWN}"
        " AND made_on <= ? AND made_recorded_on <= ?",
        (case["case_id"], recorded, recorded, day, recorded),
    )
    rows.sort(key=lambda r: (r["made_on"], r["recommendation_id"]))
    return [_recommendation(row, as_of, recorded) for row in rows]


def _recommendation(row: Row, as_of: date, recorded: str) -> Row:
    day = as_of.isoformat()
    closed_on, recorded_on = row["closed_on"], row["closed_recorded_on"]
    closed = closed_on is not None and closed_on <= day and recorded_on <= recorded
    if closed:
        status = f"{row['closed_how']} on {row['closed_on']}"
    else:
        days = (as_of - date.fromisoformat(row["due_on"])).days
        status = f"overdue by {days} days" if days > 0 else "open"
    return {
        "recommendation": row["recommendation_id"],
        "review": row["review_id"],
        "made_on": row["made_on"],
        "owner": f"{row['owner']} ({row['owner_role']})",
        "due_by": row["due_on"],
        "status": status,
        "text": row["text"],
    }
