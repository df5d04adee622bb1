"""A child's page: the care plan now and on a chosen date, the history with its corrections,
the changes made without review approval with the rule each breaks (reg 32(2), reg 14...),
the review timetable (reg 33) and recommendations, and the IRO's challenges with their stage
and timescale (s.25B(1), the council's dispute protocol).

Every view is read only once `Access.check_child` allows it (and logs it). A child who does
not exist and one the reader may not see get the same page: not found."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from careledger.access.errors import AccessRefused, ReasonRequired
from careledger.access.principal import Principal
from careledger.api import Opened, named_child
from careledger.api import today as england_today
from careledger.ledger.errors import CaseNotFound, LedgerError
from careledger.service.pages.dates import read_date
from careledger.service.pages.rendering import page
from careledger.service.pages.signed import SignInFirst, person, to_sign_in
from careledger.service.pages.workspace import NOT_A_CHANGE
from careledger.service.state import state_of

router = APIRouter()

VIEWS = ("plan", "history", "unapproved", "reviews", "challenges")


@router.get("/child/{child}")
def child_page(
    request: Request,
    child: Annotated[str, Path(max_length=420)],
    day: Annotated[str, Query(alias="plan-date-day", max_length=20)] = "",
    month: Annotated[str, Query(alias="plan-date-month", max_length=20)] = "",
    year: Annotated[str, Query(alias="plan-date-year", max_length=20)] = "",
) -> Response:
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    state = state_of(request)
    try:
        name = _allowed(state.ledger, who, child)
        record = child_record(state.reader, name, england_today())
    except (AccessRefused, CaseNotFound, ReasonRequired):
        return page(request, "not_found.html.j2", who, status_code=404, title="Page not found")
    on = read_date("plan-date", "The date of the plan", {"day": day, "month": month, "year": year})
    plan_then = state.reader.plan(name, on.value) if on.value else None
    return page(
        request,
        "child.html.j2",
        who,
        status_code=400 if on.error else 200,
        title=f"Child {name}",
        errors=[on.error] if on.error else [],
        child=name,
        on=on,
        plan_then=plan_then,
        **record,
    )


def _allowed(ledger: Opened, who: Principal, child: str) -> str:
    """The child as COUNCIL:REF once `who` may read each view of the page (each logged)."""
    try:
        named = named_child(child)
    except LedgerError:
        raise AccessRefused() from None
    name = f"{named.council}:{named.child_ref}"
    for view in VIEWS:
        ledger.access.check_child(who, name, view)
    return name


def child_record(ledger: Opened, name: str, today: date) -> dict[str, Any]:
    """What the child's page shows of `name` on `today`: the plan, the history with the
    changes made without review approval flagged on their events, the review timetable and the
    challenges. Read only once each view has been allowed (and logged) for the reader."""
    history = ledger.history(name)
    flags = ledger.unapproved(name)
    flagged: dict[int, list[str]] = {}
    for row in flags:
        if row["kind"] not in NOT_A_CHANGE:
            flagged.setdefault(row["event"], []).append(row["kind"])
    return {
        "today": today,
        "plan_now": ledger.plan(name),
        "history": history,
        "flags": flags,
        "flagged": flagged,
        "reviews": ledger.reviews(name, today),
        "challenges": ledger.challenges(today, name),
    }
