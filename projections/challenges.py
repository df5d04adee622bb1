"""Where each IRO challenge stands on a date, and how challenges went per IRO and council.

Read from the follow-up tables `cl_challenges` and `cl_challenge_steps`, as known at the end
of the date: a step counts once it had happened and been recorded by then. Timescales come
from the council's protocol (`ledger.protocol`): the current stage's response is due a number
of working days after the stage began (working days as in reg 2: `projections.timetable`),
and the whole formal process, from the first formal stage, has its own limit.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger.protocol import DisputeProtocol
from ledger.vocabulary import ChallengeOutcome
from projections.queries import Child, require_case
from projections.timetable import working_day_after, working_days_between
from projections.views import CaseViews

Row = dict[str, Any]
UPHELD = {ChallengeOutcome.UPHELD.value, ChallengeOutcome.PARTLY_UPHELD.value}


@dataclass
class ChallengeState:
    """One challenge as it stood at the end of `as_of`."""

    case_id: str
    council: str
    child_ref: str
    challenge_id: str
    subject: str
    about: str | None
    iro: str
    raised_on: date
    stage: int
    stage_since: date
    responded_on: date | None = None
    formal_since: date | None = None
    resolved_on: date | None = None
    outcome: str | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    referred_on: date | None = None
    cafcass_outcome: str | None = None
    changes: list[str] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.resolved_on is None

    @property
    def child(self) -> str:
        return f"{self.council}:{self.child_ref}"


@dataclass(frozen=True)
class Timescale:
    """The current stage's response due date, and whether the stage or the whole formal
    process is past its limit on the date (only an open challenge can be)."""

    stage_due: date | None
    formal_working_days: int | None
    stage_late: bool
    formal_late: bool

    @property
    def past(self) -> bool:
        return self.stage_late or self.formal_late


def load(views: CaseViews, as_of: date, child: Child | None = None) -> list[ChallengeState]:
    """Every challenge (of one child, if given) as known at the end of `as_of`."""
    where, params = "", [as_of.isoformat()]
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
    return states(challenges, steps, as_of)


def states(challenges: Iterable[Row], steps: Iterable[Row], as_of: date) -> list[ChallengeState]:
    """Each challenge raised and recorded by `as_of`, with its steps known by then.
    `challenges` rows carry council and child_ref; both are rows known at `as_of`."""
    day = as_of.isoformat()
    found: dict[tuple[str, str], ChallengeState] = {}
    for row in challenges:
        if row["raised_on"] <= day and row["recorded_on"] <= day:
            found[(row["case_id"], row["challenge_id"])] = _raised(row)
    ordered = sorted(steps, key=lambda r: (r["occurred_on"], r["seq"]))
    for row in ordered:
        state = found.get((row["case_id"], row["challenge_id"]))
        if state is not None and row["occurred_on"] <= day and row["recorded_on"] <= day:
            _apply(state, row)
    return sorted(found.values(), key=lambda s: (s.raised_on, s.child, s.challenge_id))


def _raised(row: Row) -> ChallengeState:
    on = date.fromisoformat(row["raised_on"])
    return ChallengeState(
        row["case_id"],
        row["council"],
        row["child_ref"],
        row["challenge_id"],
        row["subject"],
        row["about"],
        row["raised_by"],
        on,
        row["stage"],
        on,
        formal_since=on if row["stage"] >= 1 else None,
    )


def _apply(state: ChallengeState, row: Row) -> None:
    on = date.fromisoformat(row["occurred_on"])
    kind = row["kind"]
    if kind == "escalated" and state.is_open:
        state.stage, state.stage_since, state.responded_on = row["stage"], on, None
        state.formal_since = state.formal_since or on
    elif kind == "responded" and state.is_open and row["stage"] == state.stage:
        state.responded_on = state.responded_on or on
    elif kind == "resolved" and state.is_open:
        state.resolved_on, state.outcome, state.resolution = on, row["outcome"], row["link"]
        state.resolved_by = f"{row['by_name']} ({row['by_role']})"
    elif kind == "cafcass_referral":
        state.referred_on = on
    elif kind == "cafcass_outcome":
        state.cafcass_outcome = row["outcome"]
    elif kind == "change":
        state.changes.append(row["link"])


def timescale(state: ChallengeState, protocol: DisputeProtocol, as_of: date) -> Timescale:
    days = protocol.working_days(state.stage)
    due = working_day_after(state.stage_since, days) if days is not None else None
    formal = None
    if state.formal_since is not None:
        formal = working_days_between(state.formal_since, state.resolved_on or as_of)
    if not state.is_open:
        return Timescale(due, formal, False, False)
    stage_late = due is not None and state.responded_on is None and as_of > due
    formal_late = formal is not None and formal > protocol.formal_limit_working_days
    return Timescale(due, formal, stage_late, formal_late)


def why_late(state: ChallengeState, scale: Timescale, protocol: DisputeProtocol) -> str:
    reasons = []
    if scale.stage_late:
        reasons.append(
            f"no response at {protocol.name(state.stage)} due by {scale.stage_due} "
            f"({protocol.working_days(state.stage)} working days)"
        )
    if scale.formal_late:
        reasons.append(
            f"formal process {scale.formal_working_days} working days since "
            f"{state.formal_since} (limit {protocol.formal_limit_working_days})"
        )
    return "; ".join(reasons)


def outcome_label(state: ChallengeState, protocol: DisputeProtocol) -> str:
    if state.is_open:
        return "open"
    assert state.outcome is not None
    label = f"{state.outcome.replace('_', ' ')} at {protocol.name(state.stage)}"
    return label + (f", by {state.resolution}" if state.resolution else "")


def listing_row(state: ChallengeState, protocol: DisputeProtocol, as_of: date) -> Row:
    scale = timescale(state, protocol, as_of)
    cafcass = ""
    if state.referred_on:
        cafcass = f"referred {state.referred_on}"
        cafcass += f": {state.cafcass_outcome.replace('_', ' ')}" if state.cafcass_outcome else ""
    ended = state.resolved_on or as_of
    return {
        "child": state.child,
        "challenge": state.challenge_id,
        "subject": state.subject,
        "about": state.about,
        "iro": state.iro,
        "raised": state.raised_on.isoformat(),
        "stage": protocol.name(state.stage),
        "stage_since": state.stage_since.isoformat(),
        "response_due": scale.stage_due.isoformat() if scale.stage_due else None,
        "responded": state.responded_on.isoformat() if state.responded_on else None,
        "age_days": (ended - state.raised_on).days,
        "formal_working_days": scale.formal_working_days,
        "past_timescale": why_late(state, scale, protocol) or "no",
        "outcome": outcome_label(state, protocol),
        "resolved": state.resolved_on.isoformat() if state.resolved_on else None,
        "cafcass": cafcass or None,
        "changes": ", ".join(state.changes) or None,
    }


def statistics_rows(found: list[ChallengeState], protocol: DisputeProtocol, key: str) -> list[Row]:
    """Per IRO (`key` "iro") or per council: raised, open, resolved at each stage, the
    upheld rate (upheld or partly upheld, of those resolved other than by withdrawal), the
    median calendar days from raising to resolution, and Cafcass referrals."""
    groups: dict[str, list[ChallengeState]] = defaultdict(list)
    for state in found:
        groups[state.iro if key == "iro" else state.council].append(state)
    return [_stats(key, name, members, protocol) for name, members in sorted(groups.items())]


def _stats(key: str, name: str, members: list[ChallengeState], protocol: DisputeProtocol) -> Row:
    resolved = [s for s in members if not s.is_open]
    by_stage: dict[int, int] = defaultdict(int)
    for state in resolved:
        by_stage[state.stage] += 1
    decided = [s for s in resolved if s.outcome != ChallengeOutcome.WITHDRAWN.value]
    upheld = sum(1 for s in decided if s.outcome in UPHELD)
    days = [(s.resolved_on - s.raised_on).days for s in resolved if s.resolved_on]
    return {
        key: name,
        "raised": len(members),
        "open": len(members) - len(resolved),
        "resolved_at": ", ".join(f"{protocol.name(k)} {n}" for k, n in sorted(by_stage.items()))
        or None,
        "withdrawn": len(resolved) - len(decided),
        "upheld_rate": f"{upheld}/{len(decided)}" if decided else None,
        "median_days_to_resolve": statistics.median(days) if days else None,
        "cafcass_referrals": sum(1 for s in members if s.referred_on),
    }
