"""Reviews held late (reg 33(1)-(2)): reviews held after their due date, of the reviews held
in the previous 12 months."""

from __future__ import annotations

from datetime import date

from careledger.projections.drift.query import Query
from careledger.projections.drift.report import Counted, Finding, Measure, child, counts, tally
from careledger.projections.drift.reviews_held import held_per_date
from careledger.projections.drift.sql import known
from careledger.projections.drift.trend import Points, Trend
from careledger.projections.timetable import Regime, add_months, timetable
from careledger.projections.views import Row

DEFINITION = Measure(
    "review_late",
    "Reviews held late (previous 12 months)",
    "reviews held after their due date, of reviews held",
    "reg 33(1)-(2)",
    "verified",
)


def count(q: Query) -> Counted:
    """Reviews held in the window and held late. A review's due date rests on the review
    before it: when that one was recorded only after --as-recorded-on, the timetable known
    then differs, and those (rare) reviews are judged again from what was known."""
    held, rows = q.reviews_held()
    late = [r for r in rows if r["late"]] + _late_as_then_known(q, [r for r in rows if r["unsure"]])
    findings = [
        Finding(
            "review_late",
            row["grp"],
            child(row),
            row["held_on"],
            row["days_late"],
            f"review {row['review_no']} ({row['review_id']}) due by {row['due_on']}, "
            f"held {row['days_late']} days late",
        )
        for row in late
    ]
    return counts("review_late", tally(findings), held), findings


def _late_as_then_known(q: Query, unsure: list[Row]) -> list[Row]:
    """Reviews in the window whose earlier review was recorded after --as-recorded-on, with
    their timetable recomputed from the reviews held by the date and recorded by then."""
    late = []
    for row in unsure:
        q.params["case"], q.params["period"] = row["case_id"], row["period_no"]
        [period] = q.run(f"""
            SELECT started_on, regime FROM {{s}}cl_periods pe
            WHERE pe.case_id = :case AND pe.period_no = :period AND {known("pe")}
        """)
        held = q.run(f"""
            SELECT r.held_on, r.review_id FROM {{s}}cl_reviews r
            WHERE r.case_id = :case AND r.period_no = :period AND {known("r")}
              AND r.held_on IS NOT NULL AND r.held_on <= :d
              AND r.held_recorded_on <= :recorded
        """)
        slots = timetable(
            date.fromisoformat(period["started_on"]),
            [(date.fromisoformat(h["held_on"]), h["review_id"]) for h in held],
            Regime(period["regime"]),
        )
        for slot in slots:
            if slot.review_id == row["review_id"] and slot.days_late:
                late.append(
                    row
                    | {"review_no": slot.number, "due_on": slot.due_on.isoformat()}
                    | {"days_late": slot.days_late}
                )
    return late


def trend(t: Trend) -> Points:
    """Reviews held late in each date's window; those whose earlier review was recorded
    after --as-recorded-on judged again as on each date whose window they fall in."""
    held = held_per_date(t)
    late = dict(held.late)
    params = t.query.params
    on = params["d"]
    for day in t.dates:
        params["d"], window = day.isoformat(), add_months(day, -12).isoformat()
        unsure = [r for r in held.unsure if window < r["held_on"] <= params["d"]]
        if unsure:
            late[params["d"]] = late.get(params["d"], 0) + len(_late_as_then_known(t.query, unsure))
    params["d"] = on
    return t.points("review_late", late, held.held)
