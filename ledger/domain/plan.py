"""What a child's care plan said: the current plan, the plan in force on a past date, and the
plan as the ledger knew it on a given day. Corrections are applied, never edits.

Pure functions over a case's recorded payloads; used by the aggregate and the projections.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.fields import STORED
from careledger.ledger.domain.vocabulary import AuthorityKind, Section


@dataclass(frozen=True)
class Entry:
    """One recorded event of a case, as the plan needs it."""

    seq: int
    recorded_at: datetime
    payload: p.Payload


@dataclass(frozen=True)
class SectionState:
    section: Section
    content: str
    since: date
    decided_by: p.Person
    authority: str
    seq: int
    corrected_by: tuple[int, ...] = ()


def corrected(
    original: p.Payload, correction: p.CorrectionRecorded, *, new: bool = False
) -> p.Payload:
    """The original payload with the correction's values in place, validated as the original
    kind of payload was (a correction cannot smuggle in an invalid value). A `new`
    correction's values are checked as new input is; a stored one's are read as they were
    recorded (`ledger.domain.fields`)."""
    data = original.model_dump()
    data.update(correction.corrected)
    return type(original).model_validate(data, context=None if new else STORED)


Effective = dict[int, tuple[p.Payload, tuple[int, ...]]]
PlanDecision = p.CarePlanAgreed | p.CarePlanSectionChanged | p.PlacementEnded


def effective(entries: Iterable[Entry], recorded_on: datetime | None = None) -> Effective:
    """Each event's payload after the corrections recorded up to `recorded_on` (all if None),
    with the sequence numbers of the corrections applied to it."""
    result: Effective = {}
    for entry in sorted(entries, key=lambda e: e.seq):
        if recorded_on is not None and entry.recorded_at > recorded_on:
            continue
        payload = entry.payload
        if isinstance(payload, p.CorrectionRecorded) and payload.corrects_seq in result:
            target, by = result[payload.corrects_seq]
            result[payload.corrects_seq] = (corrected(target, payload), (*by, entry.seq))
        result[entry.seq] = (payload, ())
    return result


def authority_label(payload: p.Payload) -> str:
    if isinstance(payload, p.CarePlanAgreed):
        return f"review {payload.review_id}" if payload.review_id else "care plan agreed"
    if isinstance(payload, p.CarePlanSectionChanged | p.PlacementEnded):
        authority = payload.authority
        if authority.kind is AuthorityKind.REVIEW_DECISION:
            return f"review {authority.review_id} (proposal {authority.proposal_id})"
        if authority.kind is AuthorityKind.IRO_AGREEMENT:
            return f"IRO agreement (proposal {authority.proposal_id})"
        return str(authority.kind)
    return ""


def section_contents(payload: p.Payload) -> Mapping[Section, str]:
    """What a decision puts in each plan section it touches (nothing, for other events)."""
    if isinstance(payload, p.CarePlanAgreed):
        return payload.sections
    if isinstance(payload, p.CarePlanSectionChanged):
        return {payload.section: payload.content}
    if isinstance(payload, p.PlacementEnded):
        return {Section.PLACEMENT: f"Placement ended: {payload.reason}"}
    return {}


def plan_as_of(
    entries: Iterable[Entry], on: date | None = None, recorded_on: datetime | None = None
) -> dict[Section, SectionState]:
    """Each section's content in force on `on` (latest if None), as known on `recorded_on`.

    Within a section the decision with the latest `occurred_on` wins; on the same date the one
    recorded later wins, so a backdated record takes its proper place in the history."""
    return plan_in_force(effective(entries, recorded_on), on)


def plan_in_force(payloads: Effective, on: date | None = None) -> dict[Section, SectionState]:
    """`plan_as_of` over payloads already corrected (see `effective`)."""
    ordered = sorted(payloads.items(), key=lambda item: (item[1][0].occurred_on, item[0]))
    return plan_with({}, ordered, on)


def plan_with(
    plan: Mapping[Section, SectionState],
    decisions: Iterable[tuple[int, tuple[p.Payload, tuple[int, ...]]]],
    on: date | None = None,
) -> dict[Section, SectionState]:
    """`plan` with later corrected payloads (seq, (payload, corrections)) taken in, in date
    order: the plan in force once those decisions (the rest are passed over) are made."""
    result = dict(plan)
    for seq, (payload, corrected_by) in decisions:
        if not isinstance(payload, PlanDecision) or (on is not None and payload.occurred_on > on):
            continue
        for section, content in section_contents(payload).items():
            result[section] = SectionState(
                section,
                content,
                payload.occurred_on,
                payload.decided_by,
                authority_label(payload),
                seq,
                corrected_by,
            )
    return dict(sorted(result.items()))
