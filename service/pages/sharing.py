"""A council officer shares a child's chronology with a court: one child, the events of a
date range, until an expiry day; and sees the council's shares. The form is the page face of
`careledger shares add`, with its checks, each named in the GOV.UK error summary; nothing is
recorded while any is wrong.

Who may share is `careledger.access.sharing` (a team manager or above, or the IRO manager),
for the children of their own councils only. The court is chosen from the courts whose
clerks are registered (`careledger users add --court`), so that a mistyped court name cannot
share a child's chronology with nobody, or with a court other than the one meant.

A share ends on its expiry day. Each row of the list carries the share's id, the handle
`careledger shares` commands take."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from careledger.access.principal import Principal
from careledger.access.sharing import may_share, may_share_for
from careledger.api import Opened, named_child
from careledger.api import today as england_today
from careledger.ledger.errors import LedgerError
from careledger.service.pages.dates import PARTS, DateInput, read_date
from careledger.service.pages.errors import FieldError
from careledger.service.pages.form_input import TextForm, date_parts
from careledger.service.pages.rendering import page
from careledger.service.pages.signed import SignInFirst, person, to_sign_in
from careledger.service.sessions import csrf_matches, csrf_token
from careledger.service.state import state_of

router = APIRouter()

DATES = {
    "from": "The first date of the chronology",
    "to": "The last date of the chronology",
    "expires": "The last day the court may read it",
}
MISSING_DATE = {
    "from": "Enter the first date of the chronology to share",
    "to": "Enter the last date of the chronology to share",
    "expires": "Enter the last day the court may read it",
}


@dataclass(frozen=True)
class ShareForm:
    """What the officer typed, each date read as the GOV.UK date input is, then the dates
    judged together: a last date before the first, an expiry already past."""

    child: str
    court: str
    dates: dict[str, DateInput]

    @classmethod
    def typed(cls, fields: dict[str, str], today: date) -> ShareForm:
        dates = {
            name: read_date(name, label, date_parts(fields, name)) for name, label in DATES.items()
        }
        return cls(fields.get("child", ""), fields.get("court", ""), _together(dates, today))


def _together(dates: dict[str, DateInput], today: date) -> dict[str, DateInput]:
    first, last, until = (dates[name].value for name in DATES)
    if first and last and last < first:
        dates["to"] = _wrong(
            dates["to"], "The last date of the chronology must be on or after the first"
        )
    if until and until < today:
        dates["expires"] = _wrong(
            dates["expires"], "The last day the court may read it must be today or later"
        )
    return dates


def _wrong(entered: DateInput, text: str) -> DateInput:
    return replace(entered, error=FieldError(f"{entered.name}-day", text), wrong=PARTS)


@router.get("/shares")
def shares_list(request: Request, shared: str = "") -> Response:
    who = _officer(request)
    if isinstance(who, Response):
        return who
    rows = council_shares(state_of(request).ledger, who)
    done = next((row for row in rows if shared and row["share_id"] == shared), None)
    return page(request, "shares.html.j2", who, title="Chronologies shared with courts",
                shares=rows, done=done)  # fmt: skip


@router.get("/shares/new")
def share_form(request: Request) -> Response:
    who = _officer(request)
    if isinstance(who, Response):
        return who
    return _form(request, who, ShareForm.typed({}, england_today()), [])


@router.post("/shares/new")
def share_submitted(request: Request, fields: TextForm) -> Response:
    who = _officer(request)
    if isinstance(who, Response):
        return who
    typed = ShareForm.typed(fields, england_today())
    ledger = state_of(request).ledger
    if not csrf_matches(request, fields.get("csrf_token")):
        errors = [FieldError("child", "The form had expired: open it again")]
    else:
        errors = share_errors(ledger, who, typed)
    if not errors:
        errors, share_id = _share(ledger, who, typed)
        if not errors:
            return RedirectResponse(f"/shares?shared={share_id}", status_code=303)
    return _form(request, who, typed, errors, status_code=400)


def _officer(request: Request) -> Principal | Response:
    """The signed-in person, if their role may share; else the page to answer with."""
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    if not may_share_for(who):
        return page(request, "may_not_share.html.j2", who, status_code=403,
                    title="Chronologies shared with courts")  # fmt: skip
    return who


def council_shares(ledger: Opened, who: Principal) -> list[dict[str, Any]]:
    """Every share of a child of `who`'s councils, in force or expired, oldest first."""
    return [
        row
        for row in ledger.access.shares.listing()
        if str(row["child"]).partition(":")[0] in who.councils
    ]


def courts(ledger: Opened) -> list[str]:
    """The courts whose clerks are registered and may sign in."""
    return sorted(
        {
            str(row["court"])
            for row in ledger.access.accounts.listing()
            if row["role"] == "COURT_CLERK" and row["court"] and row["state"] == "active"
        }
    )


def share_errors(ledger: Opened, who: Principal, typed: ShareForm) -> list[FieldError]:
    """Everything wrong with the form, each naming its field, in the order of the form."""
    errors = _child_errors(ledger, who, typed.child)
    if not typed.court:
        errors.append(FieldError("court", "Select the court"))
    elif typed.court not in courts(ledger):
        errors.append(FieldError("court", "Select a court from the list"))
    for name, entered in typed.dates.items():
        if entered.error:
            errors.append(entered.error)
        elif entered.value is None:
            errors.append(FieldError(f"{name}-day", MISSING_DATE[name]))
    return errors


def _child_errors(ledger: Opened, who: Principal, child: str) -> list[FieldError]:
    if not child:
        return [FieldError("child", "Enter the child's council and reference")]
    try:
        named = named_child(_in_council(who, child))
    except LedgerError:
        return [FieldError("child", "Enter the child as council:reference, like E10000099:NR-0101")]
    not_found = FieldError("child", "Your council has no child with that reference")
    if not may_share(who, named.council):
        return [not_found]
    if not ledger.ledger.store_recorder.existing_cases([named.case_id]):
        return [not_found]
    return []


def _in_council(who: Principal, child: str) -> str:
    """A reference typed without its council is of the officer's council, when they have one."""
    if ":" not in child and len(who.councils) == 1:
        return f"{next(iter(who.councils))}:{child}"
    return child


def _share(ledger: Opened, who: Principal, typed: ShareForm) -> tuple[list[FieldError], str]:
    named = named_child(_in_council(who, typed.child))
    first, last, until = (typed.dates[name].value for name in DATES)
    assert first and last and until
    child = f"{named.council}:{named.child_ref}"
    try:
        share = ledger.access.shares.add(child, typed.court, first, last, until, who.name)
    except LedgerError as refused:
        return [FieldError("child", str(refused))], ""
    return [], share.share_id


def _form(
    request: Request,
    who: Principal,
    typed: ShareForm,
    errors: list[FieldError],
    status_code: int = 200,
) -> Response:
    ledger = state_of(request).ledger
    return page(
        request,
        "share_form.html.j2",
        who,
        status_code=status_code,
        title="Share a chronology with a court",
        typed=typed,
        errors=errors,
        courts=courts(ledger),
        csrf_token=csrf_token(request),
    )
