"""Where each IRO challenge stands on a date, and how challenges went per IRO and council.

Read from the follow-up tables `cl_challenges` and `cl_challenge_steps`: on a date, of what
had been recorded by the end of another (`as_recorded_on`; everything recorded, unless
given): a challenge or a step counts once it had happened by the date and been recorded by
then. Timescales come
from the council's protocol (`ledger.domain.protocol`): the current stage's response is due a number
of working days after the stage began (working days as in reg 2: `projections.timetable`),
and the whole formal process, from the first formal stage to resolution, has its own limit.
An open challenge is past its timescale when its current stage has had no answer by the due
day, or its formal process has run past the limit; a resolved one was resolved late when its
formal process ran past the limit. Timescales are judged under today's settings.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.ledger.domain.vocabulary import ChallengeOutcome
from careledger.projections.followup import recorded_by
from careledger.projections.queries import Child, require_case
from careledger.projections.timetable import working_day_after, working_days_between
from careledger.projections.views import CaseViews

Row = dict[str, Any]
UPHELD = {ChallengeOutcome.UPHELD.value, ChallengeOutcome.PARTLY_UPHELD.value}
NOT_DECIDED = {ChallengeOutcome.WITHDRAWN.value, ChallengeOutcome.REFERRED_TO_CAFCASS.value}


@dataclass
class ChallengeState:
    """One challenge as it stood at the end of `as_of` (as recorded by `as_recorded_on`)."""

    case_id: str
    council: str
    child_ref: str
    challenge_id: str
    subject: str
    about: str | None
    concern: str
    remedy_sought: str | None
    iro: str
    raised_on: date
    stage: int
    stage_since: date
    responded_on: date | None = None  # the current stage's first answer
    formal_since: date | None = None
    resolved_on: date | None = None
    outcome: str | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    referred_on: date | None = None
    cafcass_outcome: str | None = None
    changes: list[str] = field(default_factory=list)
    steps: list[Row] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.resolved_on is None

    @property
    def child(self) -> str:
        return f"{self.council}:{self.child_ref}"


@dataclass(frozen=True)
class Timescale:
    """The current stage's response due date, the working days of the formal process (to
    `as_of`, or to resolution), and what is late."""

    stage_due: date | None
    formal_working_days: int | None
    stage_late: bool
    formal_late: bool  # open: running past the limit; resolved: resolved past it

    @property
    def past(self) -> bool:
        return self.stage_late or self.formal_late


def load(
    views: CaseViews,
    as_of: date,
    child: Child | None = None,
    as_recorded_on: date | None = None,
) -> list[ChallengeState]:
    """Every challenge (of one child, if given) as it stood at the end of `as_of`, of what
    was recorded by the end of `as_recorded_on` (None: everything recorded)."""
    where, params = "", [recorded_by(as_recorded_on)]
    if child is not None:
        require_case(views, child)
        where, params = " AND t.case_id=?", [*params, str(child.case_id)]
    known = "t.known_from <= ? AND ? < t.known_until"
    challenges = views.fetch(
        "SELECT t.*, c.council, c.child_ref FROM {s}cl_challenges t "
        f"JOIN {{s}}cl_cases c ON c.case_id = t.case_id WHERE {known}{where}",
        [params[0], *params],
    )
    steps = views.fetch(
        f"SELECT t.* FROM {{s}}cl_challenge_steps t WHERE {known}{where}", [params[0], *params]
    )
    return states(challenges, steps, as_of, as_recorded_on)


def states(
    challenges: Iterable[Row],
    steps: Iterable[Row],
    as_of: date,
    as_recorded_on: date | None = None,
) -> list[ChallengeState]:
    """Each challenge raised by `as_of` and recorded by `as_recorded_on` (None: everything
    recorded), with its steps taken by `as_of` and recorded by then. `challenges` rows carry
    council and child_ref; both are rows known at `as_recorded_on`."""
    day, recorded = as_of.isoformat(), recorded_by(as_recorded_on)
    found: dict[tuple[str, str], ChallengeState] = {}
    for row in challenges:
        if row["raised_on"] <= day and row["recorded_on"] <= recorded:
            found[(row["case_id"], row["challenge_id"])] = _raised(row)
    ordered = sorted(steps, key=lambda r: (r["occurred_on"], r["seq"]))
    for row in ordered:
        state = found.get((row["case_id"], row["challenge_id"]))
        if state is not None and row["occurred_on"] <= day and row["recorded_on"] <= recorded:
            _apply(state, row)
    return sorted(found.values(), key=lambda s: (s.raised_on, s.child, s.challenge_id))


def on_each_date(
    challenge: Row, steps: Iterable[Row], dates: Sequence[date]
) -> Iterator[tuple[date, ChallengeState]]:
    """One challenge as it stood at the end of each of `dates` (ascending) on which it had
    been raised, while it stays open: what `states` returns for it on each date, its steps
    sorted and applied once, each date's after the last's, not replayed from the first for
    every date. `challenge` and `steps` are rows already known and recorded by then (the
    caller filters by the day they are known as of)."""
    ordered = sorted(steps, key=lambda r: (r["occurred_on"], r["seq"]))
    state: ChallengeState | None = None
    applied = 0
    for day in dates:
        on = day.isoformat()
        if challenge["raised_on"] > on:
            continue
        state = state or _raised(challenge)
        while applied < len(ordered) and ordered[applied]["occurred_on"] <= on:
            _apply(state, ordered[applied])
            applied += 1
        if not state.is_open:
            return
        yield day, state


def _raised(row: Row) -> ChallengeState:
    on = date.fromisoformat(row["raised_on"])
    return ChallengeState(
        row["case_id"],
        row["council"],
        row["child_ref"],
        row["challenge_id"],
        row["subject"],
        row["about"],
        row["concern"],
        row["remedy_sought"],
        row["raised_by"],
        on,
        row["stage"],
        on,
        formal_since=on if row["stage"] >= 1 else None,
    )


def _apply(state: ChallengeState, row: Row) -> None:
    on = date.fromisoformat(row["occurred_on"])
    kind = row["kind"]
    by = f"{row['by_name']} ({row['by_role']})" if row["by_name"] else None
    state.steps.append(
        {"occurred_on": row["occurred_on"], "kind": kind, "stage": row["stage"], "by": by}
        | {"text": row["text"], "outcome": row["outcome"], "link": row["link"]}
    )
    if kind == "escalated" and state.is_open:
        state.stage, state.stage_since, state.responded_on = row["stage"], on, None
        state.formal_since = state.formal_since or on
    elif kind == "responded" and state.is_open and row["stage"] == state.stage:
        state.responded_on = state.responded_on or on
    elif kind == "resolved" and state.is_open:
        state.resolved_on, state.outcome, state.resolution = on, row["outcome"], row["link"]
        state.resolved_by = by
        for link in (row["link"] or "").split("; "):
            if link.startswith("change ") and link not in state.changes:
                state.changes.append(link)
    elif kind == "cafcass_referral":
        state.referred_on, state.cafcass_outcome = on, None
    elif kind == "cafcass_outcome":
        state.cafcass_outcome = row["outcome"]
    elif kind == "change" and row["link"] not in state.changes:
        state.changes.append(row["link"])


def timescale(state: ChallengeState, protocol: DisputeProtocol, as_of: date) -> Timescale:
    days = protocol.working_days(state.stage)
    due = working_day_after(state.stage_since, days) if days is not None else None
    formal = None
    if state.formal_since is not None:
        formal = working_days_between(state.formal_since, state.resolved_on or as_of)
    formal_late = formal is not None and formal > protocol.formal_limit_working_days
    if not state.is_open:
        return Timescale(due, formal, False, formal_late)
    stage_late = due is not None and state.responded_on is None and as_of > due
    return Timescale(due, formal, stage_late, formal_late)


def why_late(state: ChallengeState, scale: Timescale, protocol: DisputeProtocol) -> str:
    reasons = []
    if scale.stage_late:
        reasons.append(
            f"no response at {protocol.name(state.stage)} due by {scale.stage_due} "
            f"({protocol.working_days(state.stage)} working days)"
        )
    if scale.formal_late:
        verb = "resolved after" if not state.is_open else "formal process"
        reasons.append(
            f"{verb} {scale.formal_working_days} working days since "
            f"{state.formal_since} (limit {protocol.formal_limit_working_days})"
        )
    return "; ".join(reasons)


def outcome_label(state: ChallengeState, protocol: DisputeProtocol) -> str:
    if state.is_open:
        return "open"
    assert state.outcome is not None
    label = f"{state.outcome.replace('_', ' ')} at {protocol.name(state.stage)}"
    return label + (f", by {state.resolution}" if state.resolution else "")


def listing(state: ChallengeState, protocol: DisputeProtocol, as_of: date) -> Row:
    """Everything known of one challenge on the date, as data (JSON)."""
    scale = timescale(state, protocol, as_of)
    ended = state.resolved_on or as_of
    return {
        "child": state.child,
        "challenge": state.challenge_id,
        "subject": state.subject,
        "about": state.about,
        "concern": state.concern,
        "remedy_sought": state.remedy_sought,
        "iro": state.iro,
        "raised": state.raised_on.isoformat(),
        "stage": state.stage,
        "stage_name": protocol.name(state.stage),
        "stage_since": state.stage_since.isoformat(),
        "response_due": scale.stage_due.isoformat() if scale.stage_due else None,
        "responded": state.responded_on.isoformat() if state.responded_on else None,
        "age_days": (ended - state.raised_on).days,
        "formal_working_days": scale.formal_working_days,
        "past_timescale": state.is_open and scale.past,
        "resolved_late": not state.is_open and scale.formal_late,
        "why_late": why_late(state, scale, protocol) or None,
        "open": state.is_open,
        "outcome": state.outcome,
        "outcome_label": outcome_label(state, protocol),
        "resolved": state.resolved_on.isoformat() if state.resolved_on else None,
        "resolved_by": state.resolved_by,
        "resolution": state.resolution,
        "cafcass_referred": state.referred_on.isoformat() if state.referred_on else None,
        "cafcass_outcome": state.cafcass_outcome,
        "changes": state.changes,
        "steps": state.steps,
    }


def statistics_rows(
    found: list[ChallengeState], protocol: DisputeProtocol, key: str, as_of: date
) -> list[Row]:
    """Per IRO (`key` "iro", by name regardless of case) or per council: raised, open,
    resolved at each stage, withdrawn, the upheld rate (upheld or partly upheld, of those
    decided: not withdrawn, not ended by a Cafcass referral), the median calendar days from
    raising to resolution, resolutions past the formal limit, and Cafcass referrals."""
    groups: dict[str, list[ChallengeState]] = defaultdict(list)
    names: dict[str, str] = {}
    for state in found:
        name = state.iro if key == "iro" else state.council
        names.setdefault(name.casefold(), name)
        groups[name.casefold()].append(state)
    return [
        _stats(key, names[k], members, protocol, as_of) for k, members in sorted(groups.items())
    ]


def _stats(
    key: str, name: str, members: list[ChallengeState], protocol: DisputeProtocol, as_of: date
) -> Row:
    resolved = [s for s in members if not s.is_open]
    by_stage: dict[int, int] = defaultdict(int)
    for state in resolved:
        by_stage[state.stage] += 1
    decided = [s for s in resolved if s.outcome not in NOT_DECIDED]
    upheld = sum(1 for s in decided if s.outcome in UPHELD)
    days = [float((s.resolved_on - s.raised_on).days) for s in resolved if s.resolved_on]
    return {
        key: name,
        "raised": len(members),
        "open": len(members) - len(resolved),
        "resolved_at": {protocol.name(k): n for k, n in sorted(by_stage.items())},
        "withdrawn": sum(1 for s in resolved if s.outcome == ChallengeOutcome.WITHDRAWN.value),
        "upheld": upheld,
        "decided": len(decided),
        "upheld_rate": round(upheld / len(decided), 3) if decided else None,
        "median_days_to_resolve": statistics.median(days) if days else None,
        "resolved_late": sum(1 for s in resolved if timescale(s, protocol, as_of).formal_late),
        "cafcass_referrals": sum(1 for s in members if s.referred_on),
    }
