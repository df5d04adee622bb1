"""Break-glass: an inspector opens a named child's record only after stating why, and the
council's IRO manager sees every such read.

The inspector names the child (COUNCIL:REF) and gives a reason in a form; a missing or
malformed field is named in the GOV.UK error summary, and nothing is read or logged. With
both, each view of the child's page is checked by `Access.check_child` with the reason, and
so logged with it, and the child's page is shown read-only (no challenge actions: those are
the child's IRO's, Children Act 1989 s.25B). The page is the answer to the form's POST, not
an address to return to: each opening is a read with its own reason.

The IRO manager's page lists the reads made with a reason of their council's children: who,
which child, when and why (`Access.log`, which gives an IRO manager those reads only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from careledger.access.checks import COUNCIL, MAX_TEXT
from careledger.access.errors import AccessRefused, ReasonRequired
from careledger.access.principal import Principal
from careledger.api import today as england_today
from careledger.ledger.errors import CaseNotFound, LedgerError
from careledger.service.pages.child_page import VIEWS, child_record
from careledger.service.pages.errors import FieldError
from careledger.service.pages.rendering import page
from careledger.service.pages.signed import SignInFirst, person, to_sign_in
from careledger.service.sessions import csrf_matches
from careledger.service.sessions import csrf_token as form_token
from careledger.service.state import ServiceState, state_of

router = APIRouter()

FORM = "/inspect/child"
TITLE = "Open a child's record"
EXAMPLE = "E10000099:AB-1234"  # no child of any ledger: the form's hint
Text = Annotated[str, Form(max_length=5000)]
Short = Annotated[str, Form(max_length=420)]


@dataclass(frozen=True)
class Opening:
    """One opening of a child's record with a reason: the log's entries of its views."""

    at: str
    actor: str
    role: str
    child: str
    reason: str
    views: list[str]
    outcome: str


@router.get(FORM)
def reason_form(request: Request) -> Response:
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    if who.role != "INSPECTOR":
        return _not_for_you(request, who)
    return _form(request, who, {"child": "", "reason": ""}, [])


@router.post(FORM)
def reason_given(
    request: Request, child: Short = "", reason: Text = "", csrf_token: Short = ""
) -> Response:
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    if who.role != "INSPECTOR":
        return _not_for_you(request, who)
    typed = {"child": child.strip(), "reason": " ".join(reason.split())}
    errors = _errors(request, csrf_token, typed)
    if errors:
        return _form(request, who, typed, errors, status_code=400)
    state = state_of(request)
    try:
        record = _opened(state, who, typed["child"], typed["reason"])
    except (AccessRefused, CaseNotFound, ReasonRequired, LedgerError):
        return page(request, "not_found.html.j2", who, status_code=404, title="Page not found")
    return page(
        request,
        "inspected_child.html.j2",
        who,
        title=f"Child {typed['child']}",
        child=typed["child"],
        reason=typed["reason"],
        read_only=True,
        on=None,
        plan_then=None,
        **record,
    )


def _errors(request: Request, csrf_token: str, typed: dict[str, str]) -> list[FieldError]:
    """What is wrong with the form, each named by its field; none: the child may be read."""
    if not csrf_matches(request, csrf_token):
        return [FieldError("child", "The form had expired: fill it in again")]
    errors = []
    council, sep, ref = typed["child"].partition(":")
    if not typed["child"]:
        errors.append(FieldError("child", "Enter the child, as the council's code and reference"))
    elif not sep or not COUNCIL.fullmatch(council.strip().upper()) or not ref.strip():
        errors.append(
            FieldError(
                "child", f"Enter the child as the council's code and reference, as {EXAMPLE}"
            )
        )
    if not typed["reason"]:
        errors.append(FieldError("reason", "Enter why you need to open this child's record"))
    elif len(typed["reason"]) > MAX_TEXT:
        errors.append(FieldError("reason", f"The reason must be {MAX_TEXT} characters or fewer"))
    elif not typed["reason"].isprintable():
        errors.append(FieldError("reason", "The reason must be text only"))
    return errors


def _opened(state: ServiceState, who: Principal, child: str, reason: str) -> dict[str, Any]:
    """Each view of the child's page, read once `Access.check_child` has allowed it with the
    reason (and logged it); a child of a council not inspected, or none, is refused alike."""
    council, _, ref = child.partition(":")
    name = f"{council.strip().upper()}:{ref.strip()}"
    for view in VIEWS:
        state.ledger.access.check_child(who, name, view, reason)
    return child_record(state.reader, name, england_today())


def _form(
    request: Request,
    who: Principal,
    typed: dict[str, str],
    errors: list[FieldError],
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "break_glass_form.html.j2",
        who,
        status_code=status_code,
        title=TITLE,
        typed=typed,
        errors=errors,
        example=EXAMPLE,
        max_reason=MAX_TEXT,
        csrf_token=form_token(request),
    )


@router.get("/break-glass-reads")
def break_glass_reads(request: Request) -> Response:
    """For the council's IRO manager (and whoever else may read the access log of a
    council): every child's record opened with a reason, newest first."""
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    state = state_of(request)
    try:
        entries = state.ledger.access.log(who=who, break_glass=True)
    except AccessRefused:
        return _not_for_you(request, who, "Records opened with a reason")
    return page(
        request,
        "break_glass_reads.html.j2",
        who,
        title="Records opened with a reason",
        openings=openings(entries),
        councils=sorted(who.councils),
    )


def openings(entries: list[dict[str, Any]]) -> list[Opening]:
    """The log's entries (oldest first) as openings, newest first: the views of one child
    read one after another by one person, for one reason, are one opening."""
    found: list[Opening] = []
    for entry in entries:
        last = found[-1] if found else None
        if last is not None and _continues(last, entry):
            last.views.append(str(entry["view"]))
        else:
            found.append(_opening(entry))
    return found[::-1]


def _continues(opening: Opening, entry: dict[str, Any]) -> bool:
    same = (opening.actor, opening.child, opening.reason, opening.outcome)
    return same == (entry["actor"], entry["child"], entry["reason"], entry["outcome"]) and (
        entry["view"] not in opening.views
    )


def _opening(entry: dict[str, Any]) -> Opening:
    text = {name: str(entry[name]) for name in ("at", "actor", "role", "child", "reason")}
    return Opening(**text, views=[str(entry["view"])], outcome=str(entry["outcome"]))


def _not_for_you(request: Request, who: Principal, title: str = TITLE) -> Response:
    return page(request, "not_for_your_role.html.j2", who, status_code=403, title=title)
