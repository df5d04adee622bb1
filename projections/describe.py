"""One line saying what an event recorded, for histories and chronologies."""

from __future__ import annotations

from functools import singledispatch

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.plan import authority_label
from careledger.ledger.ssda903.records import Episode


@singledispatch
def describe(payload: p.Payload) -> str:
    return type(payload).__name__


@describe.register
def _(x: p.ChildBecameLookedAfter) -> str:
    where = f", placement {x.placement}" if x.placement else ""
    return f"became looked after ({x.legal_status}{where}){_episode(x.episode)}"


def _episode(episode: Episode | None) -> str:
    """What an imported event's SSDA903 episode adds: its end, as the return gave it."""
    if episode is None:
        return ""
    reason = f" ({episode.rec})" if episode.rec else ", no reason given"
    end = f"ended {episode.dec}{reason}" if episode.dec else "open"
    return f" [SSDA903 episode from {episode.decom}, {end}]"


@describe.register
def _(x: p.PlacementChanged) -> str:
    carers = "same carers" if x.same_carers else "new carers"
    status = f", legal status now {x.legal_status}" if x.legal_status else ""
    why = f", last placement ended: {x.reason}" if x.reason else ""
    return f"placement now {x.placement or '(none)'} ({carers}{status}{why}){_episode(x.episode)}"


@describe.register
def _(x: p.ChildDetailsRecorded) -> str:
    d = x.details
    return f"child's details: born {d.dob or '(not given)'}, sex {d.sex or '(not given)'}"


@describe.register
def _(x: p.ChildCeasedToBeLookedAfter) -> str:
    approval = f", approved by {_who(x.approved_by)}" if x.approved_by else ", no approval recorded"
    episode = f" [end of SSDA903 episode {x.episode_id}]" if x.episode_id else ""
    return f"ceased to be looked after (reason {x.reason}{approval}){episode}"


@describe.register
def _(x: p.LegalStatusChanged) -> str:
    order = f" (order {x.order_ref})" if x.order_ref else ""
    return f"legal status now {x.legal_status}{order}{_episode(x.episode)}"


@describe.register
def _(x: p.IROAllocated) -> str:
    return f"IRO allocated: {x.iro_name}" + (f" ({x.reason})" if x.reason else "")


@describe.register
def _(x: p.SocialWorkerAllocated) -> str:
    who = ", ".join(filter(None, (x.worker_name or x.worker_id, x.team, x.reason)))
    return f"social worker allocated: {who}"


@describe.register
def _(x: p.CarePlanAgreed) -> str:
    sections = ", ".join(str(s) for s in x.sections)
    return f"care plan agreed by {_who(x.decided_by)}: {sections}"


@describe.register
def _(x: p.ChangeProposed) -> str:
    return f"proposed {x.proposal_id} ({x.section}): {x.content}"


@describe.register
def _(x: p.CarePlanSectionChanged) -> str:
    size = "significant" if x.significant else "minor"
    return (
        f"{x.section} changed ({size}, {x.change_id}) by {_who(x.decided_by)}, "
        f"authority {authority_label(x)}: {x.content}{_from(x)}"
    )


@describe.register
def _(x: p.PlacementEnded) -> str:
    by = _who(x.decided_by)
    return (
        f"placement ended ({x.change_id}) by {by}, authority {authority_label(x)}: "
        f"{x.reason}{_from(x)}"
    )


def _from(x: p.CarePlanSectionChanged | p.PlacementEnded) -> str:
    return f" [came from challenge {x.from_challenge}]" if x.from_challenge else ""


@describe.register
def _(x: p.ReviewHeld) -> str:
    parts = []
    for d in x.decisions:
        if isinstance(d, p.Approve):
            parts.append(f"approved {d.proposal_id}")
        elif isinstance(d, p.Reject):
            parts.append(f"rejected {d.proposal_id}")
        elif isinstance(d, p.Ratify):
            parts.append(f"ratified {d.change_id}")
        else:
            parts.append(f"recommended {d.recommendation_id} ({d.owner.name}, due {d.due_on})")
    decided = "; ".join(parts) or "no decisions recorded"
    seen = {True: "child seen before", False: "child not seen before", None: ""}[
        x.child_seen_before
    ]
    if x.child_not_seen_reason:
        seen += f" ({x.child_not_seen_reason})"
    voice = f"{x.participation}, {seen}" if seen else str(x.participation)
    chair = f"chaired by {_who(x.chair)}" if x.chair else "chair not recorded"
    return f"review {x.review_id} {chair}, {voice}: {decided}"


@describe.register
def _(x: p.RecommendationCompleted) -> str:
    evidence = f": {x.evidence}" if x.evidence else ""
    return f"recommendation {x.recommendation_id} completed by {_who(x.completed_by)}{evidence}"


@describe.register
def _(x: p.RecommendationOvertaken) -> str:
    at = f" at review {x.review_id}" if x.review_id else ""
    return (
        f"recommendation {x.recommendation_id} overtaken{at}, "
        f"decided by {_who(x.decided_by)}: {x.reason}"
    )


@describe.register
def _(x: p.IROAgreedChange) -> str:
    return f"IRO {x.iro.name} agreed {x.proposal_id} outside a review: {x.reason}"


@describe.register
def _(x: p.ChallengeRaised) -> str:
    about = f" about {x.about}" if x.about else ""
    stage = f" at stage {x.stage}" if x.stage else " (informal)"
    return f"IRO challenge {x.challenge_id} raised{stage} ({x.subject}{about}): {x.concern}"


@describe.register
def _(x: p.ChallengeEscalated) -> str:
    return f"challenge {x.challenge_id} escalated to stage {x.to_stage}: {x.reason}"


@describe.register
def _(x: p.ChallengeResponded) -> str:
    stage = f" at stage {x.stage}" if x.stage is not None else ""
    return f"challenge {x.challenge_id} answered{stage} by {_who(x.responded_by)}: {x.response}"


@describe.register
def _(x: p.ChallengeResolved) -> str:
    links = [f"change {x.resolved_by_change}" if x.resolved_by_change else ""]
    links.append(f"review {x.resolved_at_review}" if x.resolved_at_review else "")
    by = "; ".join(link for link in links if link)
    outcome = str(x.outcome).replace("_", " ")
    return (
        f"challenge {x.challenge_id} resolved, {outcome}, by {_who(x.resolved_by)}"
        + (f" (through {by})" if by else "")
        + f": {x.summary}"
    )


@describe.register
def _(x: p.CafcassReferralMade) -> str:
    return f"challenge {x.challenge_id}: referred to Cafcass (s.25B(3)): {x.grounds}"


@describe.register
def _(x: p.CafcassOutcomeRecorded) -> str:
    outcome = str(x.outcome).replace("_", " ")
    return f"challenge {x.challenge_id}: Cafcass outcome {outcome}" + (
        f": {x.detail}" if x.detail else ""
    )


@describe.register
def _(x: p.CorrectionRecorded) -> str:
    # A restated SSDA903 record is replaced whole; the reason says what changed in it.
    fields = ", ".join(k if isinstance(v, dict) else f"{k}={v}" for k, v in x.corrected.items())
    return f"corrects event #{x.corrects_seq}: {fields} ({x.reason})"


@describe.register
def _(x: p.IROInformed) -> str:
    what = f"event #{x.event_seq}" + (
        f", recommendation {x.recommendation_id}" if x.recommendation_id else ""
    )
    why = "; ".join(str(reason) for reason in x.informed_of)
    return f"IRO {x.iro.name} acknowledged being informed of {what} ({why})"


def _who(person: p.Person) -> str:
    return f"{person.name} ({person.role})"
