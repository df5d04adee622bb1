"""Raising a challenge from the child's page (Children Act 1989 s.25B(1): the IRO must
raise a concern about the child's plan with the council). Recorded as the signed-in IRO, with
the checks `careledger record` applies; a refusal is named in the GOV.UK error summary and
nothing is recorded. A form opened before the child's record last changed is refused: the
IRO must see the change before raising a challenge on top of it."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from careledger.access.errors import AccessRefused
from careledger.access.principal import Principal
from careledger.api import Opened, named_child
from careledger.api import today as england_today
from careledger.ledger.domain.vocabulary import ChallengeSubject, Section
from careledger.ledger.errors import CaseNotFound, LedgerError, RecordingRefused
from careledger.service.pages.dates import DateInput, read_date
from careledger.service.pages.errors import FieldError
from careledger.service.pages.rendering import page
from careledger.service.pages.signed import SignInFirst, person, to_sign_in
from careledger.service.sessions import csrf_matches
from careledger.service.sessions import csrf_token as form_token
from careledger.service.state import ServiceState, state_of

router = APIRouter()

Child = Annotated[str, Path(max_length=420)]
Text = Annotated[str, Form(max_length=5000)]
Short = Annotated[str, Form(max_length=100)]
REQUIRED = {"concern": "Enter the concern", "subject": "Select what the challenge is about"}
FIELD_INPUT = {"occurred_on": "raised-day", "remedy_sought": "remedy_sought"}
STALE = "The child's record has changed since you opened this form: read it again, then raise"


@router.get("/child/{child}/challenge")
def challenge_form(request: Request, child: Child) -> Response:
    opened = case_to_act_in(request, child)
    if isinstance(opened, Response):
        return opened
    who, _state, name, seen = opened
    today = england_today()
    raised = read_date("raised", "The date raised", _parts(today))
    return _form(request, who, name, seen, raised, {}, [])


@router.post("/child/{child}/challenge")
def challenge_submitted(
    request: Request,
    child: Child,
    csrf_token: Short = "",
    seen: Short = "",
    subject: Short = "",
    about: Short = "",
    concern: Text = "",
    remedy_sought: Text = "",
    day: Annotated[str, Form(alias="raised-day", max_length=20)] = "",
    month: Annotated[str, Form(alias="raised-month", max_length=20)] = "",
    year: Annotated[str, Form(alias="raised-year", max_length=20)] = "",
) -> Response:
    opened = case_to_act_in(request, child)
    if isinstance(opened, Response):
        return opened
    who, state, name, now_seen = opened
    typed = {"subject": subject, "about": about, "concern": concern, "remedy_sought": remedy_sought}
    raised = read_date("raised", "The date raised", {"day": day, "month": month, "year": year})
    errors = _errors(request, csrf_token, typed, raised, seen, now_seen)
    if not errors:
        errors = _record(state.ledger, who, name, typed, raised)
    if errors:
        return _form(request, who, name, now_seen, raised, typed, errors, status_code=400)
    return RedirectResponse(f"/child/{name}#challenges", status_code=303)


def case_to_act_in(
    request: Request, child: str
) -> Response | tuple[Principal, ServiceState, str, int]:
    """The signed-in IRO, the service, the child as COUNCIL:REF and how many events the case
    held when read (a form opened before a later change is stale); or the page to answer
    with instead: sign in first, or the same "not found" for a child missing or not theirs."""
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    state = state_of(request)
    try:
        name = _may_raise(state.ledger, who, child)
        return who, state, name, len(state.ledger.history(name))
    except (AccessRefused, CaseNotFound):
        return page(request, "not_found.html.j2", who, status_code=404, title="Page not found")


def _may_raise(ledger: Opened, who: Principal, child: str) -> str:
    try:
        named = named_child(child)
    except LedgerError:
        raise AccessRefused() from None
    name = f"{named.council}:{named.child_ref}"
    ledger.access.check_child(who, name, "challenges")
    if who.role != "IRO":
        raise AccessRefused()
    ledger.access.check_record(who, named.council)
    return name


def _errors(
    request: Request,
    csrf_token: str,
    typed: dict[str, str],
    raised: DateInput,
    seen: str,
    now_seen: int,
) -> list[FieldError]:
    if not csrf_matches(request, csrf_token):
        return [FieldError("concern", "The form had expired: open it again")]
    if seen != str(now_seen):
        return [FieldError("concern", STALE)]
    errors = [FieldError(field, text) for field, text in REQUIRED.items() if not typed[field]]
    if raised.error:
        errors.append(raised.error)
    elif raised.value is None:
        errors.append(FieldError("raised-day", "Enter the date the challenge was raised"))
    return errors


def _record(
    ledger: Opened, who: Principal, child: str, typed: dict[str, str], raised: DateInput
) -> list[FieldError]:
    assert raised.value is not None
    council, _, ref = child.partition(":")
    event: dict[str, Any] = {
        "type": "ChallengeRaised",
        "council": council,
        "child": ref,
        "occurred_on": raised.value.isoformat(),
        "source": f"careledger page, raised by {who.name}",
        "challenge_id": f"CH-{raised.value:%Y%m%d}-{secrets.token_hex(3).upper()}",
        "subject": typed["subject"],
        "concern": typed["concern"],
        "raised_by": {"name": who.name, "role": "IRO"},
    }
    if typed["about"]:
        event["about"] = typed["about"]
    if typed["remedy_sought"]:
        event["remedy_sought"] = typed["remedy_sought"]
    actor, role = ledger.access.recorded_by(who)
    try:
        ledger.record([event], actor, role)
    except RecordingRefused as refused:
        field = FIELD_INPUT.get(refused.field, refused.field)
        return [FieldError(field if field in _INPUTS else "concern", refused.problem)]
    return []


_INPUTS = {"subject", "about", "concern", "remedy_sought", "raised-day"}


def _parts(day: date) -> dict[str, str]:
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


def _form(
    request: Request,
    who: Principal,
    child: str,
    seen: int,
    raised: DateInput,
    typed: dict[str, str],
    errors: list[FieldError],
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "challenge_form.html.j2",
        who,
        status_code=status_code,
        title=f"Raise a challenge: {child}",
        child=child,
        seen=seen,
        raised=raised,
        typed=typed,
        errors=errors,
        subjects=[subject.value for subject in ChallengeSubject],
        sections=[section.value for section in Section],
        csrf_token=form_token(request),
    )
