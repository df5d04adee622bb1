"""The court chronology of one child (docs/rules.md §8, PD12A's social work chronology:
serial number, date, event, document reference).

One row per event of the case in date order (the same date: the order recorded), saying what
happened, who decided (name and role), on what authority, the IRO's challenges and their
steps, the flags of the rules (a change made without review approval...), the source
reference, and the event's hash in the ledger's integrity chain. Corrections appear where they
apply: the corrected event shows its corrected values and what was first recorded, and the
correction has its own row; nothing disappears.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import rfc8785

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.events import CaseEvent, CaseOpened
from careledger.ledger.domain.plan import Effective, Entry, effective
from careledger.ledger.domain.vocabulary import AuthorityKind, Section
from careledger.ledger.errors import LedgerError
from careledger.projections.describe import describe
from careledger.projections.queries import Child
from careledger.projections.rules import DEFAULT_PRESUMED_SIGNIFICANT, FlagKind, judge_payloads

# The version of the chronology's forms, in every stamp. 2: the text forms show control
# characters as escapes and the CSV quotes cells a spreadsheet would run (chronology_forms).
# 3: the content digest hashes the rows in RFC 8785's canonical JSON; the forms are version
# 2's. verify-export renders a file again in the version its stamp names.
FIRST_FORMAT = "careledger-chronology/1"
SECOND_FORMAT = "careledger-chronology/2"
FORMAT = "careledger-chronology/3"
FORMATS = (FIRST_FORMAT, SECOND_FORMAT, FORMAT)


@dataclass(frozen=True)
class Row:
    number: int
    date: str
    event: int  # the event's sequence number in the case
    kind: str
    what: str
    decided_by: str | None
    authority: str | None
    challenge: str | None
    flags: list[str]
    source: str
    recorded: str  # when and by whom it was recorded in the ledger
    corrections: list[str]
    event_hash: str


@dataclass(frozen=True)
class Chronology:
    child: str
    case_id: str
    period_from: str | None
    period_to: str | None
    produced_at: str
    produced_by: str
    events: int  # the case's events when produced (all, not only those in the period)
    head_digest: str  # the hash of the case's last event: the chain's head for this case
    rows: list[Row] = field(default_factory=list)
    format: str = FORMAT

    def content_digest(self) -> str:
        """SHA-256 of the rows, in a canonical JSON form: embedded in every format so that
        `careledger verify-export` can check the content as well as the chain."""
        return content_digest(self.rows, self.format)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "child": self.child,
            "case_id": self.case_id,
            "period": {"from": self.period_from, "to": self.period_to},
            "produced_at": self.produced_at,
            "produced_by": self.produced_by,
            "events": self.events,
            "head_digest": self.head_digest,
            "content_digest": self.content_digest(),
            "stamp": self.stamp(),
            "rows": [asdict(row) for row in self.rows],
        }

    def stamp(self) -> str:
        """One line every format carries, for verify-export."""
        return (
            f"{self.format} case={self.case_id} events={self.events} "
            f"from={self.period_from or '-'} to={self.period_to or '-'} "
            f"at={self.produced_at} by={quote(self.produced_by, safe='')} "
            f"head={self.head_digest} content={self.content_digest()}"
        )


def content_digest(rows: list[Row], version: str = FORMAT) -> str:
    """The SHA-256, in lower-case hex, of the rows as one JSON array of objects (each row's
    fields by name, as the JSON form's `rows` gives them) in RFC 8785's canonical form: keys
    sorted, no whitespace, strings as UTF-8 with only the escapes JSON requires. A verifier in
    any language can rebuild it. Versions 1 and 2 hashed Python's `json.dumps` of the same
    array (keys sorted, `,` and `:` separators, every character past ASCII and DEL escaped
    as \\uXXXX): their exports still verify."""
    body = [asdict(row) for row in rows]
    if version in (FIRST_FORMAT, SECOND_FORMAT):
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    else:
        canonical = rfc8785.dumps(body)
    return hashlib.sha256(canonical).hexdigest()


def chronology(
    events: Sequence[CaseEvent],
    child: Child,
    hashes: dict[int, bytes],
    produced_at: datetime,
    produced_by: str,
    period: tuple[date | None, date | None] = (None, None),
    up_to: int | None = None,
    presumed: frozenset[Section] = DEFAULT_PRESUMED_SIGNIFICANT,
) -> Chronology:
    """The chronology from the case's stored events (decoded from the very bytes whose
    hashes are `hashes`: see `ledger.integrity.verify.case_events`), the first `up_to` of them
    if given (the chronology as it stood then). Flags are judged from those events alone, under the
    given policy, so the same events always give the same chronology."""
    chosen = [x for x in events if up_to is None or x.seq <= up_to]
    missing = {x.seq for x in chosen} ^ {seq for seq in hashes if up_to is None or seq <= up_to}
    if missing:
        raise LedgerError(f"events {sorted(missing)} are not both stored and chained")
    entries = [Entry(x.seq, x.recorded_at, x) for x in chosen if not isinstance(x, CaseOpened)]
    history = effective(entries)
    flags = _flags(history, presumed)
    originals = {entry.seq: entry.payload for entry in entries}
    by_seq = {x.seq: x for x in chosen}
    lines = [
        (payload.occurred_on, seq, payload, corrected_by)
        for seq, (payload, corrected_by) in history.items()
        if _in_period(payload.occurred_on, period)
    ]
    lines.sort(key=lambda line: (line[0], line[1]))
    last = max(by_seq) if by_seq else 0
    return Chronology(
        child=f"{child.council}:{child.child_ref}",
        case_id=child.case_id.hex,
        period_from=period[0].isoformat() if period[0] else None,
        period_to=period[1].isoformat() if period[1] else None,
        produced_at=produced_at.isoformat(timespec="seconds"),
        produced_by=produced_by,
        events=last,
        head_digest=hashes[last].hex() if last in hashes else "",
        rows=[
            Row(
                number=n,
                date=on.isoformat(),
                event=seq,
                kind=type(payload).__name__,
                what=describe(payload),
                decided_by=_decider(payload),
                authority=_authority(payload),
                challenge=_challenge(payload),
                flags=flags.get(seq, []),
                source=by_seq[seq].source,
                recorded=f"{by_seq[seq].recorded_at.isoformat()} by "
                f"{by_seq[seq].recorded_by.actor_id} ({by_seq[seq].recorded_by.role})",
                corrections=[_correction(originals, seq, by, history) for by in corrected_by],
                event_hash=hashes[seq].hex(),
            )
            for n, (on, seq, payload, corrected_by) in enumerate(lines, start=1)
        ],
    )


@dataclass(frozen=True)
class CorrectedSince:
    """An entry of an exported chronology that a correction recorded after the export has
    changed: the export is what the ledger said then, but no longer its word for it."""

    entry: int
    event: int
    correction: int
    corrected_on: str
    recorded_at: str
    changed: str

    def __str__(self) -> str:
        return (
            f"entry {self.entry} (event {self.event}) corrected since the export by event "
            f"{self.correction} of {self.corrected_on}, recorded {self.recorded_at}: "
            f"{self.changed}"
        )


def corrected_since(events: Sequence[CaseEvent], exported: Chronology) -> list[CorrectedSince]:
    """Each entry of `exported` (a chronology of the case's first `exported.events` events)
    that a correction recorded after them has changed, with what it changed."""
    at_export = {
        x.seq: x for x in events if x.seq <= exported.events and not isinstance(x, CaseOpened)
    }
    then = effective(Entry(x.seq, x.recorded_at, x) for x in at_export.values())
    entries = {row.event: row.number for row in exported.rows}
    found: list[CorrectedSince] = []
    for x in events:
        if x.seq > exported.events and isinstance(x, p.CorrectionRecorded):
            target = x.corrects_seq
            if target in entries:
                found.append(
                    CorrectedSince(
                        entries[target],
                        target,
                        x.seq,
                        x.occurred_on.isoformat(),
                        x.recorded_at.isoformat(timespec="seconds"),
                        _changed_since(then[target][0], x),
                    )
                )
    return found


def _changed_since(exported: p.Payload, correction: p.CorrectionRecorded) -> str:
    changed = _changes(exported, correction, "{name} was {before} in the export, now {after}")
    return f"{changed} ({correction.reason})"


def _changes(before: p.Payload, correction: p.CorrectionRecorded, each: str) -> str:
    """Each field a correction changes, as `each` words it (from `before`'s value to the
    correction's). A whole record (an SSDA903 episode or the child's details) is restated as
    one value; the correction's reason says what changed in it, without its postcodes and
    numbers."""
    shown = before.model_dump(mode="json")
    return "; ".join(
        f"{name} restated"
        if isinstance(value, dict)
        else each.format(name=name, before=json.dumps(shown.get(name)), after=json.dumps(value))
        for name, value in correction.corrected.items()
    )


def _in_period(on: date, period: tuple[date | None, date | None]) -> bool:
    return not ((period[0] and on < period[0]) or (period[1] and on > period[1]))


# Flags whose reason the court needs to read, not only their kind: both texts of a change
# that differs from what was approved, the review that withdrew an approval, reg 39's facts.
EXPLAINED = frozenset(
    {
        FlagKind.CONTENT_DIFFERS,
        FlagKind.APPROVAL_WITHDRAWN,
        FlagKind.EARLIER_PERIOD,
        FlagKind.CEASED_WITHOUT_APPROVAL,
    }
)


def _flags(history: Effective, presumed: frozenset[Section]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for flag in sorted(judge_payloads(history, presumed), key=lambda f: (f.seq, f.kind)):
        text = f"{flag.kind}: {flag.section} ({flag.rule})"
        if flag.kind in EXPLAINED:
            text = f"{flag.kind}: {flag.why} ({flag.rule})"
        if text not in found.setdefault(flag.seq, []):
            found[flag.seq].append(text)
    return found


_DECIDERS = (
    "decided_by",
    "resolved_by",
    "responded_by",
    "escalated_by",
    "referred_by",
    "raised_by",
    "completed_by",
    "approved_by",
    "proposed_by",
    "chair",
    "iro",
)


def _decider(payload: p.Payload) -> str | None:
    for name in _DECIDERS:
        person = getattr(payload, name, None)
        if isinstance(person, p.Person):
            return f"{person.name} ({person.role})"
    return None


def _authority(payload: p.Payload) -> str | None:
    if isinstance(payload, p.CarePlanSectionChanged | p.PlacementEnded):
        a = payload.authority
        if a.kind is AuthorityKind.REVIEW_DECISION:
            return f"review decision (review {a.review_id}, proposal {a.proposal_id})"
        if a.kind is AuthorityKind.NOT_REASONABLY_PRACTICABLE:
            return f"not reasonably practicable: {a.reason}"
        if a.kind is AuthorityKind.IRO_AGREEMENT:
            return f"IRO agreement (proposal {a.proposal_id})"
        return "none"
    if isinstance(payload, p.CarePlanAgreed):
        if payload.review_id:
            return f"review decision (review {payload.review_id})"
        return "none (agreed outside a review)"
    if isinstance(payload, p.ChildCeasedToBeLookedAfter):
        return "approval (reg 39)" if payload.approved_by else "none recorded (reg 39)"
    if isinstance(payload, p.IROAgreedChange):
        return "IRO agreement"
    if isinstance(payload, p.ReviewHeld):
        return "review (regs 32-38)"
    return None


def _challenge(payload: p.Payload) -> str | None:
    if isinstance(payload, p.CarePlanSectionChanged | p.PlacementEnded):
        return f"came from challenge {payload.from_challenge}" if payload.from_challenge else None
    if isinstance(payload, p.ChallengeRaised):
        return f"{payload.challenge_id}: raised at stage {payload.stage}"
    if isinstance(payload, p.ChallengeEscalated):
        return f"{payload.challenge_id}: escalated to stage {payload.to_stage}"
    if isinstance(payload, p.ChallengeResponded):
        return f"{payload.challenge_id}: answered"
    if isinstance(payload, p.ChallengeResolved):
        return f"{payload.challenge_id}: {str(payload.outcome).replace('_', ' ')}"
    if isinstance(payload, p.CafcassReferralMade):
        return f"{payload.challenge_id}: referred to Cafcass"
    if isinstance(payload, p.CafcassOutcomeRecorded):
        return f"{payload.challenge_id}: Cafcass {str(payload.outcome).replace('_', ' ')}"
    return None


def _correction(
    originals: dict[int, p.Payload],
    seq: int,
    by: int,
    history: dict[int, tuple[p.Payload, tuple[int, ...]]],
) -> str:
    """What a correction changed in event `seq`, with what was first recorded."""
    correction = history[by][0]
    assert isinstance(correction, p.CorrectionRecorded)
    each = "{name} first recorded as {before}, corrected to {after}"
    changed = _changes(originals[seq], correction, each)
    return f"corrected by event {by} of {correction.occurred_on} ({correction.reason}): {changed}"
