"""The IRO's inbox: each change to a child's case that the child's IRO must be told of, until
the IRO acknowledges it (an `IROInformed` event).

The council informs the IRO of any significant change and of any significant failure to carry
out a review's decisions (CPPCR 2010 reg 37), of a placement and of its ending (reg 13(2)(i),
reg 14(2)(b)); the IRO monitors the council's performance in the case (Children Act 1989
s.25B(1)(a)). An entry is one of the case's events, for the reasons `InformedOf` names:

- a significant change, or a change in a section presumed significant (the policy the
  projections were built under, CARELEDGER_PRESUMED_SIGNIFICANT): a plan section changed, a
  placement changed, the legal status changed; each as corrected since;
- a placement ended (reg 14);
- a change recorded without authority: any event the rules flag (`projections.rules`, the
  `cl_unapproved` rows, as corrected), but for the two texts of a change that differ;
- the council's answer to a challenge (s.25B(1); IRO Handbook ch.6);
- a recommendation overdue: time-based, from the review projection (`cl_recommendations`):
  not done, and its due date passed (as the child's page says "overdue").

Entries are derived when read, from the projection tables and the acknowledgements in them:
nothing is stored, so a rebuild gives the same inbox and an entry exists as soon as the
projections hold the event. An IRO's inbox holds the changes recorded since the allocation
that made them the child's IRO (the earlier history is the file they take over), and every
overdue recommendation of the child.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.fields import STORED
from careledger.ledger.domain.plan import corrected
from careledger.ledger.domain.vocabulary import InformedOf, Section
from careledger.projections.describe import describe
from careledger.projections.followup import FOREVER
from careledger.projections.queries import Child
from careledger.projections.rules import FlagKind
from careledger.projections.views import CaseViews, Row

# The events an entry may be of (flags are of any event), and the acknowledgements.
CHANGES = (
    "CarePlanSectionChanged",
    "PlacementChanged",
    "LegalStatusChanged",
    "PlacementEnded",
    "ChallengeResponded",
)
# The rules flag these too (reg 32(2): a plan agreed again outside a review; reg 39).
FLAGGED_ONLY = ("CarePlanAgreed", "ChildCeasedToBeLookedAfter")
READ = (
    *CHANGES,
    *FLAGGED_ONLY,
    "IROAllocated",
    "IROInformed",
    "ReviewHeld",
    "CorrectionRecorded",
)

# Flags that say a change had no authority when it took effect (reg 32(2), reg 14, reg 39).
# The others (a review not practicable, an immediate risk, the child not consulted, an approval
# from an earlier period of care) are shown on an entry, which a significant change makes.
WITHOUT_AUTHORITY = frozenset(
    {
        FlagKind.WITHOUT_REVIEW,
        FlagKind.APPROVED_AFTER,
        FlagKind.IRO_UNRATIFIED,
        FlagKind.SIGNIFICANCE_QUESTIONED,
        FlagKind.PLACEMENT_ENDED,
        FlagKind.APPROVAL_WITHDRAWN,
        FlagKind.CEASED_WITHOUT_APPROVAL,
    }
)
NOT_SHOWN = frozenset({FlagKind.CONTENT_DIFFERS})  # both texts are for the child's page


@dataclass(frozen=True)
class InboxEntry:
    child: str  # COUNCIL:REF
    event: int  # the case event the IRO is to be told of
    recommendation_id: str | None  # an overdue recommendation of the review at `event`
    event_type: str
    occurred_on: str
    recorded_at: str
    recorded_by: str
    what: str
    informed_of: list[str]
    seen: int  # the case's last event but acknowledgements, when read: a later one is unseen
    flags: list[str] = field(default_factory=list)
    due_on: str | None = None  # an overdue recommendation's due date

    @property
    def key(self) -> str:
        """What names the entry in a form and an API call: `COUNCIL:REF/SEQ[/REC]`."""
        tail = f"/{self.recommendation_id}" if self.recommendation_id else ""
        return f"{self.child}/{self.event}{tail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "child": self.child,
            "event": self.event,
            "recommendation_id": self.recommendation_id,
            "type": self.event_type,
            "occurred_on": self.occurred_on,
            "recorded_at": self.recorded_at,
            "recorded_by": self.recorded_by,
            "what": self.what,
            "informed_of": self.informed_of,
            "seen": self.seen,
            "flags": self.flags,
            "due_on": self.due_on,
        }


def inbox(views: CaseViews, iro: str, children: Iterable[Child], today: date) -> list[InboxEntry]:
    """The entries of `children` (the IRO's caseload) that `iro` has not acknowledged, the
    newest recorded first."""
    by_case = {str(child.case_id): child for child in children}
    if not by_case:
        return []
    events = _events(views, list(by_case))
    flags = _flags(views, list(by_case))
    overdue = _overdue(views, list(by_case), today)
    seen = last_seen(views, list(by_case))
    entries: list[InboxEntry] = []
    for case_id, child in by_case.items():
        entries += _entries_of_case(
            Case(f"{child.council}:{child.child_ref}", seen.get(case_id, 0)),
            iro,
            events.get(case_id, []),
            flags.get(case_id, {}),
            overdue.get(case_id, []),
            views.presumed_significant,
        )
    entries.sort(key=lambda entry: (entry.recorded_at, entry.child, entry.event), reverse=True)
    return entries


@dataclass(frozen=True)
class Case:
    child: str  # COUNCIL:REF
    seen: int  # its last event but acknowledgements


def _entries_of_case(
    case: Case,
    iro: str,
    events: list[tuple[Row, p.Payload]],
    flags: dict[int, list[str]],
    overdue: list[Row],
    presumed: frozenset[Section],
) -> list[InboxEntry]:
    since = max(
        (
            row["seq"]
            for row, payload in events
            if isinstance(payload, p.IROAllocated) and payload.iro_id == iro
        ),
        default=None,
    )
    acknowledged = {
        (payload.event_seq, payload.recommendation_id)
        for _, payload in events
        if isinstance(payload, p.IROInformed)
    }
    rows = _as_corrected(events)
    entries = []
    if since is not None:
        for seq, (row, payload) in sorted(rows.items()):
            if seq <= since or (seq, None) in acknowledged:
                continue
            reasons = reasons_for(payload, flags.get(seq, []), presumed)
            if reasons:
                entries.append(_entry(case, row, payload, reasons, flags.get(seq, [])))
    made_at = {
        (payload.review_id, d.recommendation_id): row
        for row, payload in events
        if isinstance(payload, p.ReviewHeld)
        for d in payload.decisions
        if isinstance(d, p.Recommend)
    }
    for recommendation in overdue:
        review = made_at.get((recommendation["review_id"], recommendation["recommendation_id"]))
        if review is None or (review["seq"], recommendation["recommendation_id"]) in acknowledged:
            continue
        entries.append(_overdue_entry(case, review, recommendation))
    return entries


def _as_corrected(events: list[tuple[Row, p.Payload]]) -> dict[int, tuple[Row, p.Payload]]:
    """Each event read, by its seq, with the corrections of it in place (a change corrected to
    significant is one; the corrections themselves are not entries of their own)."""
    rows: dict[int, tuple[Row, p.Payload]] = {}
    for row, payload in sorted(events, key=lambda found: found[0]["seq"]):
        if not isinstance(payload, p.CorrectionRecorded):
            rows[row["seq"]] = (row, payload)
        elif payload.corrects_seq in rows:
            target_row, target = rows[payload.corrects_seq]
            rows[payload.corrects_seq] = (target_row, corrected(target, payload))
    return rows


def reasons_for(
    payload: p.Payload | None, flags: list[str], presumed: frozenset[Section]
) -> list[str]:
    """Why an event is put before the IRO (`InformedOf`), in that order; none: it is not."""
    reasons: list[InformedOf] = []
    if isinstance(payload, p.CarePlanSectionChanged):
        if payload.significant:
            reasons.append(InformedOf.SIGNIFICANT_CHANGE)
        if payload.section in presumed:
            reasons.append(InformedOf.PRESUMED_SIGNIFICANT)
    elif isinstance(payload, p.PlacementChanged):
        sections = {Section.PLACEMENT} | ({Section.LEGAL_STATUS} if payload.legal_status else set())
        if sections & presumed:
            reasons.append(InformedOf.PRESUMED_SIGNIFICANT)
    elif isinstance(payload, p.LegalStatusChanged) and Section.LEGAL_STATUS in presumed:
        reasons.append(InformedOf.PRESUMED_SIGNIFICANT)
    elif isinstance(payload, p.PlacementEnded):
        reasons.append(InformedOf.PLACEMENT_ENDED)
    elif isinstance(payload, p.ChallengeResponded):
        reasons.append(InformedOf.CHALLENGE_RESPONSE)
    if any(flag in WITHOUT_AUTHORITY for flag in flags):
        reasons.append(InformedOf.WITHOUT_AUTHORITY)
    return [str(reason) for reason in reasons]


def _entry(
    case: Case, row: Row, payload: p.Payload, reasons: list[str], flags: list[str]
) -> InboxEntry:
    return InboxEntry(
        child=case.child,
        event=row["seq"],
        recommendation_id=None,
        event_type=row["event_type"],
        occurred_on=row["occurred_on"],
        recorded_at=row["recorded_at"],
        recorded_by=f"{row['recorded_by']} ({row['recorded_role']})",
        what=describe(payload),
        informed_of=reasons,
        seen=case.seen,
        flags=flags,
    )


def _overdue_entry(case: Case, review: Row, recommendation: Row) -> InboxEntry:
    return InboxEntry(
        child=case.child,
        event=review["seq"],
        recommendation_id=recommendation["recommendation_id"],
        event_type="RecommendationOverdue",
        occurred_on=recommendation["due_on"],
        # It became overdue when its due date had passed: the next day.
        recorded_at=(date.fromisoformat(recommendation["due_on"]) + timedelta(days=1)).isoformat(),
        recorded_by=f"{recommendation['owner']} ({recommendation['owner_role']})",
        what=(
            f"recommendation {recommendation['recommendation_id']} of review "
            f"{recommendation['review_id']}, due by {recommendation['due_on']}, not done: "
            f"{recommendation['text']}"
        ),
        informed_of=[str(InformedOf.RECOMMENDATION_OVERDUE)],
        seen=case.seen,
        due_on=recommendation["due_on"],
    )


def _events(views: CaseViews, case_ids: list[str]) -> dict[str, list[tuple[Row, p.Payload]]]:
    """The cases' events an entry may be of, their IRO allocations, reviews and
    acknowledgements, decoded."""
    among, ids = views._among(case_ids)
    kinds = ",".join("?" * len(READ))
    rows = views.fetch(
        f"SELECT case_id, seq, event_type, occurred_on, recorded_at, recorded_by, recorded_role, "
        f"payload FROM {{s}}cl_events WHERE case_id {among} AND event_type IN ({kinds})",
        (*ids, *READ),
    )
    found: dict[str, list[tuple[Row, p.Payload]]] = {}
    for row in rows:
        text = views.open_payload(row.pop("payload"))
        payload = p.PAYLOADS[row["event_type"]].model_validate_json(text, context=STORED)
        found.setdefault(row["case_id"], []).append((row, payload))
    return found


def _flags(views: CaseViews, case_ids: list[str]) -> dict[str, dict[int, list[str]]]:
    among, ids = views._among(case_ids)
    rows = views.fetch(
        f"SELECT case_id, seq, kind FROM {{s}}cl_unapproved WHERE case_id {among}", ids
    )
    found: dict[str, dict[int, list[str]]] = {}
    for row in sorted(rows, key=lambda r: (r["seq"], r["kind"])):
        if row["kind"] in NOT_SHOWN:
            continue
        kinds = found.setdefault(row["case_id"], {}).setdefault(row["seq"], [])
        if row["kind"] not in kinds:
            kinds.append(row["kind"])
    return found


def _overdue(views: CaseViews, case_ids: list[str], today: date) -> dict[str, list[Row]]:
    """The recommendations not done whose due date has passed, as the ledger knows them now
    (the child's page says "overdue by N days" of each)."""
    among, ids = views._among(case_ids)
    rows = views.fetch(
        f"SELECT * FROM {{s}}cl_recommendations WHERE case_id {among} AND known_until = ? "
        "AND due_on < ? AND made_on <= ? AND (closed_on IS NULL OR closed_on > ?)",
        (*ids, FOREVER, today.isoformat(), today.isoformat(), today.isoformat()),
    )
    found: dict[str, list[Row]] = {}
    for row in sorted(rows, key=lambda r: (r["due_on"], r["recommendation_id"])):
        found.setdefault(row["case_id"], []).append(row)
    return found


def last_seen(views: CaseViews, case_ids: list[str]) -> dict[str, int]:
    """Each case's last event but the IRO's acknowledgements: an acknowledgement made from
    an inbox does not make the rest of that inbox stale."""
    among, ids = views._among(case_ids)
    rows = views.fetch(
        f"SELECT case_id, MAX(seq) AS seen FROM {{s}}cl_events WHERE case_id {among} "
        "AND event_type <> 'IROInformed' GROUP BY case_id",
        ids,
    )
    return {row["case_id"]: int(row["seen"]) for row in rows}


def parse_key(key: str) -> tuple[str, int, str | None]:
    """`COUNCIL:REF/SEQ[/REC]` as (child, event, recommendation): a ValueError names what is
    wrong with it."""
    child, _, rest = key.partition("/")
    seq_text, _, recommendation = rest.partition("/")
    if not child or not seq_text.isdigit():
        raise ValueError("is not an inbox entry (COUNCIL:REF/EVENT[/RECOMMENDATION])")
    return child, int(seq_text), recommendation or None
