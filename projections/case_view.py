"""What the views hold for one case, as rows ready to be written to each table.

A case folded forward (`projections.case_fold`) keeps, for every follow-up fact its batch
did not bring anything to, the very list it had before; `rows_after` then keeps that fact's
rows as they were too, and makes rows only for what is new.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from careledger.ledger.domain.plan import SectionState
from careledger.ledger.domain.vocabulary import Section
from careledger.projections import schema
from careledger.projections.case_fold import CaseFold
from careledger.projections.challenge_facts import Challenge
from careledger.projections.followup import (
    Allocation,
    Lag,
    Period,
    Permanence,
    Recommendation,
    Review,
    Standing,
    Version,
    standing,
)
from careledger.projections.looked_after import spans
from careledger.projections.rules import Flag
from careledger.projections.summary import CaseSummary

Rows = list[tuple[Any, ...]]
Key = tuple[str, str, str]  # case_id, known_from, known_until: a version of the case's facts


def _d(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class CaseView:
    """What the views hold for one case, ready to be written."""

    case_id: str
    council: str
    child_ref: str
    last_seq: int
    plan: dict[Section, SectionState]
    flags: list[Flag]
    summary: CaseSummary
    followup: list[Version]

    def plan_rows(self) -> list[tuple[Any, ...]]:
        return [
            (
                self.case_id,
                str(s.section),
                s.content,
                s.since.isoformat(),
                s.decided_by.name,
                str(s.decided_by.role),
                s.authority,
                s.seq,
                ",".join(map(str, s.corrected_by)),
            )
            for s in self.plan.values()
        ]

    def flag_rows(self) -> list[tuple[Any, ...]]:
        return [
            (
                self.case_id,
                f.seq,
                str(f.kind),
                self.council,
                self.child_ref,
                str(f.section),
                f.occurred_on.isoformat(),
                f.decided_by.name if f.decided_by else "",
                str(f.decided_by.role) if f.decided_by else "",
                f.why,
                f.rule,
            )
            for f in self.flags
        ]

    def followup_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """The rows of each follow-up table (projections.schema.FOLLOWUP_TABLES)."""
        rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in schema.FOLLOWUP_TABLES}
        for version in self.followup:
            key = (self.case_id, version.known_from, version.known_until)
            for table, (name, rows_of) in FOLLOWUP_ROWS.items():
                rows[table] += rows_of(key, getattr(version.facts, name))
        return rows

    def child_row(self) -> tuple[Any, ...]:
        """The child as the drift report finds them once every record is in force."""
        now = self.standing
        return (
            *(self.case_id, self.council, self.child_ref),
            *(now.iro, now.team, now.period, now.settled_on, now.period_until),
        )

    def looked_after_rows(self) -> list[tuple[Any, ...]]:
        """The child's spans looked after, as the drift report's trend reads them."""
        found = spans(self.followup[-1], self.standing)
        return [(self.case_id, self.council, *span) for span in found]

    @cached_property
    def standing(self) -> Standing:
        """What the case's latest records settle (cl_children's row, and the spans')."""
        return standing(self.followup[-1])

    def case_row(self) -> tuple[Any, ...]:
        since = self.summary.looked_after_since
        return (
            self.case_id,
            self.council,
            self.child_ref,
            since.isoformat() if since else None,
            int(self.summary.looked_after),
            self.summary.legal_status,
            self.summary.iro,
            self.last_seq,
        )


def case_view(
    case_id: str, council: str, child_ref: str, last_seq: int, fold: CaseFold
) -> CaseView:
    """What the views hold for a case, from its computation."""
    return CaseView(
        case_id,
        council,
        child_ref,
        last_seq,
        fold.plan,
        fold.flags,
        fold.summary,
        fold.followup,
    )


def _periods(key: Key, periods: Sequence[Period]) -> Rows:
    return [
        (
            *key,
            *(x.number, _d(x.started_on), _d(x.start_recorded_on), str(x.regime)),
            *(_d(x.ended_on), _d(x.end_recorded_on), x.ended_by),
        )
        for x in periods
    ]


def _reviews(key: Key, reviews: Sequence[Review]) -> Rows:
    return [
        (
            *key,
            *(r.period, r.slot.number, _d(r.slot.due_on), _d(r.slot.held_on)),
            *(_d(r.recorded_on), r.slot.review_id, r.slot.days_late, r.participation),
            *(_flag(r.child_seen), r.not_seen_reason, r.chair, _d(r.prior_recorded_on)),
        )
        for r in reviews
    ]


def _recommendations(key: Key, recommendations: Sequence[Recommendation]) -> Rows:
    return [
        (
            *key,
            *(r.recommendation_id, r.review_id, r.text, r.owner.name, str(r.owner.role)),
            *(_d(r.made_on), _d(r.made_recorded_on), _d(r.due_on), _d(r.closed_on)),
            *(_d(r.closed_recorded_on), r.closed_how),
        )
        for r in recommendations
    ]


def _allocations(key: Key, allocations: Sequence[Allocation]) -> Rows:
    return [
        (
            *key,
            *(a.kind, a.number, a.person_id, a.name, a.team),
            *(_d(a.from_on), _d(a.recorded_on), int(a.changed)),
        )
        for a in allocations
    ]


def _lags(key: Key, lags: Sequence[Lag]) -> Rows:
    return [
        (*key, x.seq, x.event_type, _d(x.occurred_on), _d(x.recorded_on), x.working_days)
        for x in lags
    ]


def _permanence(key: Key, permanence: Sequence[Permanence]) -> Rows:
    return [(*key, seq, _d(on), _d(recorded_on)) for seq, on, recorded_on in permanence]


def _challenges(key: Key, challenges: Sequence[Challenge]) -> Rows:
    return [
        (
            *key,
            *(c.challenge_id, c.subject, c.about, c.concern, c.remedy_sought),
            *(c.raised_by.name, str(c.raised_by.role), _d(c.raised_on)),
            *(_d(c.recorded_on), c.stage),
        )
        for c in challenges
    ]


def _challenge_steps(key: Key, challenges: Sequence[Challenge]) -> Rows:
    return [
        (
            *key,
            *(c.challenge_id, x.seq, x.kind, _d(x.on), _d(x.recorded_on), x.stage),
            *(x.by.name if x.by else None, str(x.by.role) if x.by else None),
            *(x.text, x.outcome, x.link),
        )
        for c in challenges
        for x in c.steps
    ]


# Each follow-up table: the fact (a list in `followup.Facts`) its rows are made from, and how
# one version's rows are made from it. Lags and permanence are one row per event, and a fold
# only appends to them (`PER_EVENT`).
FOLLOWUP_ROWS: dict[str, tuple[str, Callable[[Key, Any], Rows]]] = {
    "cl_periods": ("periods", _periods),
    "cl_reviews": ("reviews", _reviews),
    "cl_recommendations": ("recommendations", _recommendations),
    "cl_allocations": ("allocations", _allocations),
    "cl_lags": ("lags", _lags),
    "cl_permanence": ("permanence", _permanence),
    "cl_challenges": ("challenges", _challenges),
    "cl_challenge_steps": ("challenges", _challenge_steps),
}
PER_EVENT = frozenset({"cl_lags", "cl_permanence"})


def rows_after(
    view: CaseView,
    before: CaseFold,
    held: dict[str, Rows],
    storable: Callable[[tuple[Any, ...]], tuple[Any, ...]],
) -> dict[str, Rows] | None:
    """The follow-up and flag rows of `view`, folded from `before` whose rows (as the store
    holds them, `storable`) were `held`: a fact the fold left as it was keeps its very rows,
    and a per-event fact's rows for the new events are added to the ones it had. None for a
    case with corrections (more than one version of its facts): those are made afresh."""
    if len(view.followup) != 1 or len(before.versions) != 1:
        return None
    version, earlier = view.followup[0], before.versions[0][2].facts
    key = (view.case_id, version.known_from, version.known_until)
    rows: dict[str, Rows] = {}
    for table, (name, rows_of) in FOLLOWUP_ROWS.items():
        now, then = getattr(version.facts, name), getattr(earlier, name)
        if now is then:
            rows[table] = held[table]
        elif table in PER_EVENT:
            rows[table] = held[table] + [storable(row) for row in rows_of(key, now[len(then) :])]
        else:
            rows[table] = [storable(row) for row in rows_of(key, now)]
    if view.flags is before.flags:
        rows["cl_unapproved"] = held["cl_unapproved"]
    else:
        rows["cl_unapproved"] = [storable(row) for row in view.flag_rows()]
    return rows
