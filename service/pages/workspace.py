"""The IRO's workspace: **My children**, the IRO's caseload, with for each child what needs
their attention: the next review (due, or overdue: reg 33), the recommendations still open
(reg 37), the open challenges (s.25B(1)) and the changes made without review approval
(reg 32(2)), and the changes in the IRO's inbox not yet acknowledged (reg 37). Each child's
record is read only once `Access.check_child` allows it, so each read is in the access log."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from careledger.access.errors import AccessRefused
from careledger.access.principal import Principal
from careledger.api import today as england_today
from careledger.projections.rules import FlagKind
from careledger.service.inbox import read_inbox
from careledger.service.pages.rendering import page
from careledger.service.pages.signed import SignInFirst, person, to_sign_in
from careledger.service.state import ServiceState, state_of

router = APIRouter()

# Both texts of a change are for the child's page, not a count of changes to look at.
NOT_A_CHANGE = {FlagKind.CONTENT_DIFFERS.value}


@dataclass(frozen=True)
class ChildSummary:
    child: str  # COUNCIL:REF
    next_review_due: str | None
    review_status: str  # as the review timetable says it ("overdue by 3 days", ...)
    overdue: bool
    open_recommendations: int
    open_challenges: int
    unapproved_changes: int


@router.get("/")
def home(request: Request) -> Response:
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    if who.role == "IRO":
        return RedirectResponse("/my-children", status_code=303)
    if who.role == "INSPECTOR":
        return RedirectResponse("/dashboard", status_code=303)
    return page(request, "home.html.j2", who, title="Signed in")


@router.get("/my-children")
def my_children(request: Request) -> Response:
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    if who.role != "IRO":
        return page(request, "not_an_iro.html.j2", who, status_code=403, title="My children")
    state = state_of(request)
    today = england_today()
    children = [
        found
        for child in state.reader.caseload(who.name, today)
        if (found := summary(state, who, child, today)) is not None
    ]
    unacknowledged = Counter(entry.child for entry in read_inbox(state, who))
    return page(
        request,
        "my_children.html.j2",
        who,
        title="My children",
        children=children,
        unacknowledged=unacknowledged,
    )


def summary(state: ServiceState, who: Principal, child: str, today: date) -> ChildSummary | None:
    """What the child's IRO must see at a glance; None if `who` may not read the child. The
    reads are checked and logged where the ledger is recorded, and answered by the reader."""
    try:
        for view in ("reviews", "challenges", "unapproved"):
            state.ledger.access.check_child(who, child, view)
    except AccessRefused:
        return None
    ledger = state.reader
    reviews = ledger.reviews(child, today)
    upcoming = _next_review(reviews["timetable"])
    recommendations = reviews["recommendations"]
    return ChildSummary(
        child=child,
        next_review_due=upcoming["due_by"] if upcoming else None,
        review_status=upcoming["status"] if upcoming else "no review due",
        overdue=bool(upcoming and upcoming["status"].startswith("overdue")),
        open_recommendations=sum(1 for r in recommendations if _is_open(r)),
        open_challenges=sum(1 for c in ledger.challenges(today, child) if c["open"]),
        unapproved_changes=len(
            {row["event"] for row in ledger.unapproved(child) if row["kind"] not in NOT_A_CHANGE}
        ),
    )


def _next_review(timetable: list[dict[str, Any]]) -> dict[str, Any] | None:
    waiting = [row for row in timetable if row["held_on"] is None]
    return waiting[-1] if waiting else None


def _is_open(recommendation: dict[str, Any]) -> bool:
    status = str(recommendation["status"])
    return status == "open" or status.startswith("overdue")
