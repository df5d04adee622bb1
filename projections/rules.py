"""Judging a case's plan changes against reg 32(2) and reg 14, and its endings of care
against reg 39 (docs/rules.md §1-§4).

The ledger records what happened; these rules say what it means. They read a case's events
after corrections, so a corrected authority clears (or raises) a flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.plan import Effective, Entry, effective, section_contents
from careledger.ledger.domain.vocabulary import AuthorityKind, Section
from careledger.projections.ceasing import judge_ceasing

DEFAULT_PRESUMED_SIGNIFICANT = frozenset(
    {Section.PLACEMENT, Section.PERMANENCE, Section.LEGAL_STATUS}
)

REG_32 = "CPPCR 2010 reg 32(2)"
REG_14 = "CPPCR 2010 reg 14(1)"
REG_14_RISK = "CPPCR 2010 reg 14(1), (3): immediate-risk exception"
IRO_ROUTE = "IRO agreement outside a review: practice route, not reg 32(2) (docs/rules.md §3)"
S22 = "Children Act 1989 s.22(4)-(5)"
REG_4 = "CPPCR 2010 reg 4: a new care plan when a child becomes looked after again"


# The kinds of event no rule here reads: a case's flags stand as they were when only these
# are added to it (`projections.case_fold`). A rule that comes to read one takes it out.
PASSED_OVER = (
    p.RecommendationCompleted
    | p.RecommendationOvertaken
    | p.IROAllocated
    | p.SocialWorkerAllocated
    | p.IROInformed
    | p.IROAgreedChange
    | p.ChallengeRaised
    | p.ChallengeEscalated
    | p.ChallengeResponded
    | p.ChallengeResolved
    | p.CafcassReferralMade
    | p.CafcassOutcomeRecorded
)


# The plan decisions, judged one by one in recording order against the case's reviews and the
# plan agreed before each: a case's earlier flags stand when only these (and PASSED_OVER) are
# added to it, and theirs are added to them (`Judged.more`).
JUDGED_IN_TURN = p.CarePlanAgreed | p.CarePlanSectionChanged | p.PlacementEnded
# What reviews and proposals decide bears only on the plan changes that name the review, the
# proposal or the change (`_cite`): those are judged again when one is added.
REVISITING = p.ReviewHeld | p.ChangeProposed
_TAKEN_IN = PASSED_OVER | JUDGED_IN_TURN | REVISITING


class FlagKind(StrEnum):
    WITHOUT_REVIEW = "made without review approval"
    APPROVED_AFTER = "approved only after it took effect"
    IRO_UNRATIFIED = "IRO agreement not yet ratified by a review"
    NOT_PRACTICABLE = "review not reasonably practicable"
    SIGNIFICANCE_QUESTIONED = "significance questioned"
    PLACEMENT_ENDED = "placement ended without review"
    IMMEDIATE_RISK = "placement ended for immediate risk"
    CHILD_NOT_CONSULTED = "child not consulted"
    APPROVAL_WITHDRAWN = "approval withdrawn at a later review"
    EARLIER_PERIOD = "approved before the current period of care began"
    CONTENT_DIFFERS = "differs from the proposal approved"
    CEASED_WITHOUT_APPROVAL = "ceased to be looked after without approval"


@dataclass(frozen=True)
class Flag:
    seq: int
    section: Section
    occurred_on: date
    decided_by: p.Person | None  # None: nobody is recorded as deciding (an ending of care)
    kind: FlagKind
    why: str
    rule: str


class _Verdict(NamedTuple):
    """A review's decision on a proposal, ordered by the review's date, then by recording."""

    held_on: date
    order: int
    review_id: str
    approved: bool


@dataclass(frozen=True)
class _Reviews:
    """What the case's reviews decided, as corrected, what was proposed to them, and when
    each period of care began."""

    held_on: dict[str, date]
    approved: set[tuple[str, str]]
    ratified: dict[str, list[tuple[str, date]]]
    verdicts: dict[str, list[_Verdict]]
    proposed: dict[str, p.ChangeProposed]
    care_began: list[date]

    @classmethod
    def of(cls, payloads: Iterable[p.Payload]) -> _Reviews:
        reviews = cls({}, set(), {}, {}, {}, [])
        for order, payload in enumerate(payloads):
            reviews.take(payload, order)
        return reviews

    def take(self, payload: p.Payload, order: int) -> None:
        """Take in the case's next payload (`order`: its place in recording order)."""
        if isinstance(payload, p.ReviewHeld):
            self._add(payload, order)
        elif isinstance(payload, p.ChangeProposed):
            self.proposed[payload.proposal_id] = payload
        elif isinstance(payload, p.ChildBecameLookedAfter):
            self.care_began.append(payload.occurred_on)

    def copy(self) -> _Reviews:
        return _Reviews(
            dict(self.held_on),
            set(self.approved),
            {change_id: list(found) for change_id, found in self.ratified.items()},
            {proposal_id: list(found) for proposal_id, found in self.verdicts.items()},
            dict(self.proposed),
            list(self.care_began),
        )

    def _add(self, review: p.ReviewHeld, order: int) -> None:
        self.held_on[review.review_id] = review.occurred_on
        for decision in review.decisions:
            if isinstance(decision, p.Approve | p.Reject):
                approved = isinstance(decision, p.Approve)
                if approved:
                    self.approved.add((review.review_id, decision.proposal_id))
                verdict = _Verdict(review.occurred_on, order, review.review_id, approved)
                self.verdicts.setdefault(decision.proposal_id, []).append(verdict)
            elif isinstance(decision, p.Ratify):
                entry = (review.review_id, review.occurred_on)
                self.ratified.setdefault(decision.change_id, []).append(entry)

    def withdrawal(self, authority: p.Authority, on: date) -> _Verdict | None:
        """The later review that rejected the proposal `authority`'s review approved, when
        that rejection is the latest decision on it by `on`: the latest decision governs."""
        verdicts = sorted(self.verdicts.get(authority.proposal_id or "", []))
        approval = next(
            (v for v in verdicts if v.review_id == authority.review_id and v.approved), None
        )
        latest = max((v for v in verdicts if v.held_on <= on), default=None)
        if approval is None or latest is None or latest.approved or latest < approval:
            return None
        return latest

    def period_began_since(self, approved_on: date, on: date) -> date | None:
        """The start of a period of care after an approval and by the change's date."""
        return max((d for d in self.care_began if approved_on < d <= on), default=None)

    def ratification(self, change: Change) -> tuple[str, date] | None:
        """The first review held on or after the change's date that ratified it."""
        later = [r for r in self.ratified.get(change.change_id, []) if r[1] >= change.occurred_on]
        return min(later, key=lambda r: r[1]) if later else None


Change = p.CarePlanSectionChanged | p.PlacementEnded


class Finding(NamedTuple):
    kind: FlagKind
    why: str
    rule: str = REG_32


def judge(
    entries: Iterable[Entry],
    presumed_significant: frozenset[Section] = DEFAULT_PRESUMED_SIGNIFICANT,
) -> list[Flag]:
    """Every flag the case's plan changes raise, in the order the changes were recorded."""
    return judge_payloads(effective(entries), presumed_significant)


def judge_payloads(
    corrected: Effective, presumed_significant: frozenset[Section] = DEFAULT_PRESUMED_SIGNIFICANT
) -> list[Flag]:
    """`judge` over payloads already corrected (see `ledger.domain.plan.effective`)."""
    return Judged.of(corrected, presumed_significant).flags


@dataclass(frozen=True)
class Judged:
    """A case's flags, with what judging its later events needs: what its reviews decided,
    the plan agreed so far, which plan changes name each review, proposal and change id
    (`citing`), and how many payloads were judged (`projections.case_fold` carries a case
    on)."""

    flags: list[Flag]
    reviews: _Reviews
    plan_so_far: dict[Section, str]
    citing: dict[str, list[int]]
    judged: int

    @classmethod
    def of(cls, corrected: Effective, presumed_significant: frozenset[Section]) -> Judged:
        payloads = {seq: payload for seq, (payload, _) in corrected.items()}
        reviews = _Reviews.of(payloads.values())
        flags = _judge_endings_of_care(payloads)
        plan_so_far: dict[Section, str] = {}
        citing: dict[str, list[int]] = {}
        for seq, payload in sorted(payloads.items()):
            flags += _judge_in_turn(seq, payload, reviews, plan_so_far, presumed_significant)
            _cite(citing, seq, payload)
        flags.sort(key=lambda flag: flag.seq)
        return cls(flags, reviews, plan_so_far, citing, len(payloads))

    def more(
        self,
        payloads: list[tuple[int, p.Payload]],
        corrected: Effective,
        presumed_significant: frozenset[Section],
    ) -> Judged | None:
        """These flags with later payloads (seq, payload; recorded after every one judged
        here, in recording order, none a correction) taken in; `corrected`: the case's
        payloads, these included. Their plan decisions are judged in turn, and a review or a
        proposal has the earlier changes that name it (or the proposals it decides, or the
        changes it ratifies) judged again. None if one of them is an entry to or exit from
        care, a legal status, a placement or a date of birth, which can change any earlier
        flag: the case is then judged whole."""
        if not all(isinstance(payload, _TAKEN_IN) for _, payload in payloads):
            return None
        judged = self.judged + len(payloads)
        if all(isinstance(payload, PASSED_OVER) for _, payload in payloads):
            return replace(self, judged=judged)
        revisiting = [(seq, x) for seq, x in payloads if isinstance(x, REVISITING)]
        reviews = self.reviews.copy() if revisiting else self.reviews
        again: set[int] = set()
        for order, (seq, payload) in enumerate(payloads, start=self.judged):
            if isinstance(payload, REVISITING):
                reviews.take(payload, order)
                again.update(seq for name in _names(payload) for seq in self.citing.get(name, []))
        flags = [flag for flag in self.flags if flag.seq not in again]
        for seq in sorted(again):
            change = corrected[seq][0]
            assert isinstance(change, Change)  # only changes cite
            flags += _judge_decision(seq, change, reviews, presumed_significant)
        plan_so_far, citing = dict(self.plan_so_far), dict(self.citing)
        for seq, payload in payloads:
            flags += _judge_in_turn(seq, payload, reviews, plan_so_far, presumed_significant)
            _cite(citing, seq, payload)
        flags.sort(key=lambda flag: flag.seq)
        return Judged(flags, reviews, plan_so_far, citing, judged)


def _cite(citing: dict[str, list[int]], seq: int, payload: p.Payload) -> None:
    """Index a plan change under the review, proposal and change ids its flags turn on
    (lists copied, not appended to: an earlier `Judged` may share them)."""
    if not isinstance(payload, Change):
        return
    authority = payload.authority
    names = [f"change:{payload.change_id}"]
    names += [f"review:{authority.review_id}"] if authority.review_id else []
    names += [f"proposal:{authority.proposal_id}"] if authority.proposal_id else []
    for name in names:
        citing[name] = [*citing.get(name, []), seq]


def _names(payload: p.ReviewHeld | p.ChangeProposed) -> list[str]:
    """The ids under which the changes a review or a proposal bears on are indexed."""
    if isinstance(payload, p.ChangeProposed):
        return [f"proposal:{payload.proposal_id}"]
    names = [f"review:{payload.review_id}"]
    for decision in payload.decisions:
        if isinstance(decision, p.Approve | p.Reject):
            names.append(f"proposal:{decision.proposal_id}")
        elif isinstance(decision, p.Ratify):
            names.append(f"change:{decision.change_id}")
    return names


def _judge_in_turn(
    seq: int,
    payload: p.Payload,
    reviews: _Reviews,
    plan_so_far: dict[Section, str],
    presumed_significant: frozenset[Section],
) -> list[Flag]:
    """The flags a payload raises, judged in recording order; `plan_so_far` is kept up."""
    flags: list[Flag] = []
    if isinstance(payload, p.ChildBecameLookedAfter):
        plan_so_far.clear()  # a new period of care has a new care plan (reg 4)
    elif isinstance(payload, p.CarePlanAgreed):
        flags = _judge_reagreed_plan(seq, payload, plan_so_far, presumed_significant)
    elif isinstance(payload, Change):
        flags = _judge_decision(seq, payload, reviews, presumed_significant)
    plan_so_far.update(section_contents(payload))
    return flags


def _judge_endings_of_care(payloads: dict[int, p.Payload]) -> list[Flag]:
    return [
        Flag(
            seq,
            Section.LEGAL_STATUS,
            payloads[seq].occurred_on,
            None,
            FlagKind.CEASED_WITHOUT_APPROVAL,
            found.why,
            found.rule,
        )
        for seq, found in judge_ceasing(payloads.items()).items()
    ]


def _judge_decision(
    seq: int, change: Change, reviews: _Reviews, presumed: frozenset[Section]
) -> list[Flag]:
    if isinstance(change, p.PlacementEnded):
        section, significant = Section.PLACEMENT, True
        found = _judge_placement_end(change, reviews)
    else:
        section, significant = change.section, change.significant
        found = _judge_change(change, reviews, presumed)
    if significant and change.child_consulted is False:
        why = "recorded as decided without seeking the child's wishes and feelings"
        found.append(Finding(FlagKind.CHILD_NOT_CONSULTED, why, S22))
    return [
        Flag(seq, section, change.occurred_on, change.decided_by, kind, why, rule)
        for kind, why, rule in found
    ]


def _judge_reagreed_plan(
    seq: int, plan: p.CarePlanAgreed, agreed: dict[Section, str], presumed: frozenset[Section]
) -> list[Flag]:
    """A plan agreed again, not at a review, that alters a section presumed significant, is a
    significant change made without review (the first plan of a period of care is made under
    reg 4, not 32)."""
    if not agreed or plan.review_id is not None:
        return []
    altered = [s for s, text in plan.sections.items() if s in presumed and agreed.get(s) != text]
    why = "care plan agreed again outside a review, altering a section presumed significant"
    return [
        Flag(seq, section, plan.occurred_on, plan.decided_by, FlagKind.WITHOUT_REVIEW, why, REG_32)
        for section in altered
    ]


def _judge_change(
    change: p.CarePlanSectionChanged, reviews: _Reviews, presumed: frozenset[Section]
) -> list[Finding]:
    authority = change.authority
    found: list[Finding] = []
    ratified = reviews.ratification(change)
    withdrawn = reviews.withdrawal(authority, change.occurred_on)
    if authority.kind is AuthorityKind.REVIEW_DECISION and not _approved(authority, reviews):
        why = f"review {authority.review_id}, as recorded now, did not approve"
        found.append(Finding(FlagKind.WITHOUT_REVIEW, f"{why} proposal {authority.proposal_id}"))
    elif authority.kind is AuthorityKind.REVIEW_DECISION and withdrawn:
        found.append(Finding(FlagKind.APPROVAL_WITHDRAWN, _withdrawn(change, withdrawn)))
    elif authority.kind is AuthorityKind.REVIEW_DECISION:
        found += _approved_late(change, authority.review_id or "", reviews)
        found += _approved_in_earlier_period(change, reviews)
    elif authority.kind is AuthorityKind.NOT_REASONABLY_PRACTICABLE:
        found.append(Finding(FlagKind.NOT_PRACTICABLE, f"reason recorded: {authority.reason}"))
    elif authority.kind is AuthorityKind.IRO_AGREEMENT and ratified is None:
        why = f"agreed by the IRO (proposal {authority.proposal_id}); no review has ratified it"
        found.append(Finding(FlagKind.IRO_UNRATIFIED, why, IRO_ROUTE))
    elif authority.kind is AuthorityKind.NONE and change.significant and ratified is None:
        why = "significant change with no review decision and no reason recorded why a review "
        found.append(Finding(FlagKind.WITHOUT_REVIEW, why + "was not reasonably practicable"))
    elif authority.kind is AuthorityKind.NONE and change.significant and ratified is not None:
        review_id, held_on = ratified
        why = f"ratified at review {review_id} on {held_on}, after it took effect"
        found.append(Finding(FlagKind.APPROVED_AFTER, f"{why} on {change.occurred_on}"))
    presumed_significant = change.section in presumed
    if presumed_significant and not change.significant and not _reviewed(authority):
        why = (
            f"recorded as not significant, but '{change.section}' changes are presumed significant"
        )
        found.append(Finding(FlagKind.SIGNIFICANCE_QUESTIONED, why))
    return found + _content_differs(change, reviews)


def _withdrawn(change: Change, withdrawn: _Verdict) -> str:
    authority = change.authority
    return (
        f"proposal {authority.proposal_id}, approved at review {authority.review_id}, was "
        f"rejected at review {withdrawn.review_id} on {withdrawn.held_on}, before the change "
        f"on {change.occurred_on}"
    )


def _approved_in_earlier_period(change: Change, reviews: _Reviews) -> list[Finding]:
    """Listed for the IRO, not a breach: reg 4 asks for a new care plan when a child becomes
    looked after again, so an approval from before may no longer be the plan's."""
    held_on = reviews.held_on.get(change.authority.review_id or "")
    began = reviews.period_began_since(held_on, change.occurred_on) if held_on else None
    if began is None:
        return []
    why = (
        f"approved at review {change.authority.review_id} on {held_on}, before the current "
        f"period of care began on {began}"
    )
    return [Finding(FlagKind.EARLIER_PERIOD, why, REG_4)]


def _content_differs(change: p.CarePlanSectionChanged, reviews: _Reviews) -> list[Finding]:
    """Not a flag: free text cannot be compared for meaning, but the IRO sees both texts."""
    proposal = reviews.proposed.get(change.authority.proposal_id or "")
    if proposal is None or _words(proposal.content) == _words(change.content):
        return []
    section = "" if proposal.section == change.section else f" (for '{proposal.section}')"
    why = (
        f"proposed{section} as {proposal.proposal_id}: «{proposal.content}»; "
        f"recorded: «{change.content}»"
    )
    return [Finding(FlagKind.CONTENT_DIFFERS, why)]


def _words(text: str) -> str:
    return " ".join(text.split())


def _reviewed(authority: p.Authority) -> bool:
    return authority.kind is AuthorityKind.REVIEW_DECISION


def _approved(authority: p.Authority, reviews: _Reviews) -> bool:
    return (authority.review_id or "", authority.proposal_id or "") in reviews.approved


def _judge_placement_end(end: p.PlacementEnded, reviews: _Reviews) -> list[Finding]:
    """reg 14: a placement ends only after a review, save for immediate risk (reg 14(3))."""
    authority = end.authority
    approved = _reviewed(authority) and _approved(authority, reviews)
    withdrawn = reviews.withdrawal(authority, end.occurred_on) if approved else None
    if withdrawn:
        return [Finding(FlagKind.APPROVAL_WITHDRAWN, _withdrawn(end, withdrawn), REG_14)]
    if approved and not _approved_late(end, authority.review_id or "", reviews):
        return []
    if end.immediate_risk:
        why = f"risk recorded: {end.immediate_risk}"
        return [Finding(FlagKind.IMMEDIATE_RISK, why, REG_14_RISK)]
    why = f"placement ended ({end.reason}) with no review before it and no immediate risk recorded"
    return [Finding(FlagKind.PLACEMENT_ENDED, why, REG_14)]


def _approved_late(change: Change, review_id: str, reviews: _Reviews) -> list[Finding]:
    held_on = reviews.held_on.get(review_id)
    if held_on is None or held_on <= change.occurred_on:
        return []
    why = f"approved at review {review_id} on {held_on}, after it took effect"
    return [Finding(FlagKind.APPROVED_AFTER, f"{why} on {change.occurred_on}")]
