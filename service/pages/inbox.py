"""The IRO's inbox page: each change to one of their children they must be told of (CPPCR
2010 reg 37; reg 13(2)(i) and 14(2)(b) for a placement and its ending), newest first, each
with a button to acknowledge it. Acknowledging records an `IROInformed` event in the IRO's
name (never a name the form gives), so that a court can see when the IRO knew. The form
carries a CSRF token and what the case held when the page was read: an entry whose child's
record has changed since is refused, never acknowledged on top of a change not seen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from careledger.access.errors import AccessRefused
from careledger.access.principal import Principal
from careledger.ledger.errors import RecordingRefused
from careledger.service.inbox import acknowledge, read_inbox
from careledger.service.pages.errors import FieldError
from careledger.service.pages.rendering import page
from careledger.service.pages.signed import SignInFirst, person, to_sign_in
from careledger.service.sessions import csrf_matches
from careledger.service.sessions import csrf_token as form_token
from careledger.service.state import state_of

router = APIRouter()

Short = Annotated[str, Form(max_length=700)]
EXPIRED = "The page had expired: open your inbox again"
STALE = "The child's record has changed since you opened your inbox: read the new change first"


@router.get("/inbox")
def inbox_page(request: Request, acknowledged: str = "") -> Response:
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    if who.role != "IRO":
        return page(request, "not_an_iro.html.j2", who, status_code=403, title="Inbox")
    return _inbox(request, who, [], done=acknowledged == "1")


@router.post("/inbox/acknowledge")
def acknowledge_submitted(
    request: Request, csrf_token: Short = "", entry: Short = "", seen: Short = ""
) -> Response:
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    if who.role != "IRO":
        return page(request, "not_an_iro.html.j2", who, status_code=403, title="Inbox")
    if not csrf_matches(request, csrf_token):
        return _inbox(request, who, [FieldError("entries", EXPIRED)], status_code=400)
    if not seen.isdigit():
        return _inbox(request, who, [FieldError("entries", STALE)], status_code=400)
    try:
        acknowledge(state_of(request), who, entry, int(seen))
    except RecordingRefused as refused:
        text = (
            STALE
            if refused.field == "seen"
            else f"This entry cannot be acknowledged: {refused.problem}"
        )
        return _inbox(request, who, [FieldError("entries", text)], status_code=400)
    except AccessRefused:
        text = "This entry is not in your inbox"
        return _inbox(request, who, [FieldError("entries", text)], status_code=400)
    return RedirectResponse("/inbox?acknowledged=1", status_code=303)


def _inbox(
    request: Request,
    who: Principal,
    errors: list[FieldError],
    status_code: int = 200,
    done: bool = False,
) -> Response:
    entries = read_inbox(state_of(request), who)
    return page(
        request,
        "inbox.html.j2",
        who,
        status_code=status_code,
        title="Inbox",
        entries=entries,
        errors=errors,
        done=done,
        csrf_token=form_token(request),
    )
