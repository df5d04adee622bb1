"""IRO challenges past their timescale (IRO Handbook ch.6): open challenges whose current
stage has had no response within its working days, or whose formal process has run past
its limit, of the open challenges."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import Future

from careledger.projections import challenges
from careledger.projections.challenges import Row
from careledger.projections.drift.query import Query
from careledger.projections.drift.report import By, Count, Counted, Finding, Measure, tally
from careledger.projections.drift.sql import known
from careledger.projections.drift.trend import Points, Trend
from careledger.projections.followup import recorded_by

DEFINITION = Measure(
    "challenge_overdue",
    "IRO challenges past their timescale",
    "open challenges whose current stage has had no response within its timescale, or "
    "whose formal process has run past its limit, of open challenges",
    "IRO Handbook ch.6 (dispute resolution): a timescale at each stage; the whole formal "
    "process within 20 working days",
    "verified at second hand: stages and timescales are settings "
    "(CARELEDGER_CHALLENGE_STAGES, CARELEDGER_CHALLENGE_FORMAL_LIMIT_WORKING_DAYS)",
)

# Raised by the date and recorded by --as-recorded-on, and not known then to be resolved
# by the date: a resolved challenge cannot be past its timescale, and a council's history
# holds many more of them.
_OPEN_CHALLENGE = f"""c.raised_on <= :d AND c.recorded_on <= :recorded AND NOT EXISTS (
    SELECT 1 FROM {{s}}cl_challenge_steps r WHERE r.case_id = c.case_id
      AND r.challenge_id = c.challenge_id AND {known("r")} AND r.kind = 'resolved'
      AND r.occurred_on <= :d AND r.recorded_on <= :recorded)"""


def count(q: Query) -> Counted:
    """Open challenges, counted for the IRO who raised them under --by iro."""
    group = "c.raised_by" if q.by is By.IRO else "{group}"
    raised = q.run(f"""
        SELECT c.*, g.council, g.child_ref, {group} AS grp FROM tmp_children g
        JOIN {{s}}cl_challenges c ON c.case_id = g.case_id AND {known("c")}
        WHERE {_OPEN_CHALLENGE}
    """)
    steps = q.run(f"""
        SELECT s.* FROM {{s}}cl_challenges c
        JOIN {{s}}cl_challenge_steps s ON s.case_id = c.case_id
          AND s.challenge_id = c.challenge_id AND {known("s")}
        WHERE {known("c")} AND {_OPEN_CHALLENGE}
    """)
    group_of = {(r["case_id"], r["challenge_id"]): r["grp"] for r in raised}
    as_of = q.as_of
    findings: list[Finding] = []
    open_: dict[str, int] = defaultdict(int)
    for state in challenges.states(raised, steps, as_of, q.as_recorded_on):
        if not state.is_open:
            continue
        grp = group_of[(state.case_id, state.challenge_id)]
        open_[grp] += 1
        scale = challenges.timescale(state, q.protocol, as_of)
        if scale.past:
            why = challenges.why_late(state, scale, q.protocol)
            findings.append(
                Finding(
                    "challenge_overdue",
                    grp,
                    state.child,
                    state.raised_on.isoformat(),
                    (as_of - state.raised_on).days,
                    f"challenge {state.challenge_id} ({state.subject}) of {state.iro}: {why}",
                )
            )
    counts = tally(findings)
    totals = [Count("challenge_overdue", g, counts.get(g, 0), n) for g, n in sorted(open_.items())]
    return totals, findings


def trend(t: Trend) -> Future[Points]:
    """Every challenge raised by the last date, and its steps, read once; on each date, the
    challenges open then are judged as the report on that date judges them (`count`). The
    judging, in Python, runs while the trend's other measures are counted on the server."""
    known_then = "c.raised_on <= :last_d AND c.recorded_on <= :recorded"
    raised = t.run(f"""
        SELECT c.*, g.council, g.child_ref FROM {t.children} g
        JOIN {{s}}cl_challenges c ON c.case_id = g.case_id AND {known("c")}
        WHERE {known_then}
    """)
    steps = t.run(f"""
        SELECT s.* FROM {t.children} g
        JOIN {{s}}cl_challenges c ON c.case_id = g.case_id AND {known("c")}
        JOIN {{s}}cl_challenge_steps s ON s.case_id = c.case_id
          AND s.challenge_id = c.challenge_id AND {known("s")}
        WHERE {known_then}
    """)
    return t.later(lambda: _judged(t, raised, steps))


def _judged(t: Trend, raised: list[Row], steps: list[Row]) -> Points:
    """Each date's open challenges, and how many of them are past their timescale: each
    challenge followed through the dates once (`challenges.on_each_date`), as the report on
    each date judges it."""
    recorded = recorded_by(t.as_recorded_on)
    steps_of: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for step in steps:
        if step["recorded_on"] <= recorded:
            steps_of[(step["case_id"], step["challenge_id"])].append(step)
    past: dict[str, int] = defaultdict(int)
    open_: dict[str, int] = defaultdict(int)
    for row in raised:
        if row["recorded_on"] > recorded:
            continue
        its_steps = steps_of.get((row["case_id"], row["challenge_id"]), [])
        for day, state in challenges.on_each_date(row, its_steps, t.dates):
            on = day.isoformat()
            open_[on] += 1
            past[on] += challenges.timescale(state, t.protocol, day).past
    return t.points("challenge_overdue", past, open_)
