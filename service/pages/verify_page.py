"""The public verify page: anyone holding a chronology careledger produced (a court, a
party's solicitor, the child as an adult) uploads it, without signing in, and learns whether
the ledger still holds exactly those events, as `careledger verify-export` checks: authentic;
authentic, but entries corrected since; or not authentic.

It reveals nothing the uploader does not already hold. The answer names neither the child nor
any event, and never echoes the file. "Not authentic" is the one answer for a file whose
events or content differ, and for a stamp naming a case this ledger does not hold (else the
page would tell a stranger which children the ledger holds). That later events were recorded
is not said either: it is news of the child's case. Entries corrected since are named by
their number in the file, which the uploader holds.

Abuse: the form carries a token bound to a short-lived cookie of its own (a page of another
site cannot make a visitor's browser post here, to spend the address's allowance or plant
entries in the access log); an address may check `PER_MINUTE` files a minute (each check
renders the chronology again, a PDF included); a file over `MAX_BYTES` is refused unread.
Each check of a case the ledger holds is written to the access log, as `verify-export` is:
a subject access request shows when the child's chronology was checked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from careledger.access.access_log import ALLOWED
from careledger.access.principal import Principal
from careledger.api import Opened
from careledger.ledger.errors import LedgerError
from careledger.projections.chronology_check import read_stamp
from careledger.service.pages.errors import FieldError
from careledger.service.pages.rendering import page
from careledger.service.sessions import current_principal
from careledger.service.sign_in import AttemptLimit
from careledger.service.state import ServiceState, state_of

router = APIRouter()

FORM_COOKIE = "careledger_verify"
FORM_MINUTES = 30
MAX_BYTES = 4_000_000
PER_MINUTE = 10
FIELD = "chronology"
ANONYMOUS = "verify page (not signed in)"
PUBLIC_ROLE = "PUBLIC"
LIMIT = AttemptLimit(PER_MINUTE)

Verdict = Literal["authentic", "corrected", "not_authentic"]


@dataclass(frozen=True)
class Checked:
    """What the page may say of a file: the verdict, the form it was read as (PDF, CSV...),
    and the numbers of its entries corrected since."""

    verdict: Verdict
    form: str
    corrected_entries: tuple[int, ...] = ()


class NotAChronology(Exception):
    """The file carries no careledger chronology stamp this careledger can read."""


@router.get("/check-a-chronology")
def verify_form(request: Request) -> Response:
    return _form(request, [])


@router.post("/check-a-chronology")
async def verify_submitted(
    request: Request,
    chronology: Annotated[UploadFile | None, File()] = None,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    state = state_of(request)
    if not _token_matches(state, request.cookies.get(FORM_COOKIE, ""), csrf_token):
        return _form(request, [FieldError(FIELD, "The form had expired: choose the file again")])
    address = request.client.host if request.client else "unknown"
    if not LIMIT.allow(address):
        error = FieldError(FIELD, "Too many files checked from here: wait a minute, then try again")
        return _form(request, [error], status_code=429, headers={"Retry-After": "60"})
    data = await chronology.read(MAX_BYTES + 1) if chronology is not None else b""
    if not data:
        return _form(request, [FieldError(FIELD, "Select a chronology file")])
    if len(data) > MAX_BYTES:
        error = FieldError(FIELD, f"The file must be smaller than {MAX_BYTES // 1_000_000} MB")
        return _form(request, [error], status_code=413)
    who = current_principal(request)
    try:
        checked = await run_in_threadpool(check, state, data, who)
    except NotAChronology:
        error = FieldError(FIELD, "The file is not a chronology produced by careledger")
        return _form(request, [error])
    return page(request, "verified.html.j2", who, title=TITLES[checked.verdict], checked=checked)


TITLES = {
    "authentic": "Authentic",
    "corrected": "Authentic, but corrected since",
    "not_authentic": "Not authentic",
}


def check(state: ServiceState, data: bytes, who: Principal | None) -> Checked:
    """The file checked against the ledger, as `verify-export` checks it, cut to what the
    page may say; the check logged against the child when the ledger holds the case."""
    try:
        read_stamp(data)
    except (LedgerError, ValueError):
        raise NotAChronology() from None
    checked = verdict_of(state.reader, data)
    if checked is None:
        return Checked("not_authentic", "")
    child, answer = checked
    actor, role = (who.name, who.role) if who else (ANONYMOUS, PUBLIC_ROLE)
    state.ledger.access.access_log.append(actor, role, child, "chronology", ALLOWED)
    return answer


def verdict_of(ledger: Opened, data: bytes) -> tuple[str, Checked] | None:
    """The child (COUNCIL:REF) and what the page says; None when the stamp names a case this
    ledger does not hold, or the file cannot be read as the form it claims to be."""
    try:
        found = ledger.verify_export(data)
    except (LedgerError, ValueError, KeyError, TypeError):
        return None
    entries = tuple(sorted({correction.entry for correction in found.corrected_since}))
    if not found.matches:
        return found.child, Checked("not_authentic", found.form)
    return found.child, Checked("corrected" if entries else "authentic", found.form, entries)


def _form(
    request: Request,
    errors: list[FieldError],
    status_code: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The upload form, with a fresh token bound to a fresh cookie."""
    nonce = secrets.token_urlsafe(24)
    response: HTMLResponse = page(
        request,
        "verify.html.j2",
        current_principal(request),
        status_code=status_code or (400 if errors else 200),
        title="Check a chronology",
        errors=errors,
        csrf_token=_form_token(state_of(request), nonce),
        max_megabytes=MAX_BYTES // 1_000_000,
    )
    response.set_cookie(
        FORM_COOKIE, nonce, max_age=FORM_MINUTES * 60, path="/check-a-chronology", secure=True,
        httponly=True, samesite="strict",
    )  # fmt: skip
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _token_matches(state: ServiceState, nonce: str, presented: str) -> bool:
    return bool(nonce) and hmac.compare_digest(_form_token(state, nonce), presented)


def _form_token(state: ServiceState, nonce: str) -> str:
    key = state.settings.session_secret.get_secret_value().encode()
    digest = hmac.new(key, f"verify:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
