"""Local sign-in for people (`careledger users add` accounts): a form with a CSRF token,
rate-limited per client address, ending in a session (`service.sessions`); and sign-out.

The sign-in form's token is bound to a short-lived cookie of its own (a session does not
exist yet), so a page of another site cannot sign a browser in as someone else. Every
sign-in route (this form, and the identity provider's start and callback, `service.oidc`)
counts toward one limit per client address, kept in the store (`service.tables`), so it
holds across workers and machines; wrong passwords also count toward the account's lockout,
kept in the store too (`careledger.access`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from functools import cache
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, Template
from starlette.concurrency import run_in_threadpool

from careledger.access.errors import SignInRefused
from careledger.service.identity import Signed
from careledger.service.problems import Problem
from careledger.service.sessions import (
    COOKIE,
    csrf_matches,
    csrf_token,
    end_session,
    keyed,
    start_session,
)
from careledger.service.state import ServiceState, state_of

router = APIRouter()

FORM_COOKIE = "careledger_sign_in"
FORM_MINUTES = 15


class AttemptLimit:
    """At most `per_minute` attempts from one address in any minute, in this worker's memory:
    for what is limited per worker (a page's file checks). Sign-in is limited in the store
    (`SignInLimit`)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.attempts: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        with self.lock:
            recent = self.attempts.setdefault(address, deque())
            while recent and recent[0] <= now - 60:
                recent.popleft()
            if len(recent) >= self.per_minute:
                return False
            recent.append(now)
            return True


class SignInLimit:
    """At most `per_minute` sign-in attempts from one client address in a window of a minute
    from its first, counted in the store's `careledger_sign_in_attempts`: one row per address
    (a keyed hash of it), counted up in one statement, which the store serialises, so two
    workers cannot both take the last attempt. Rows of windows over are deleted as attempts
    come, so the table holds only the last minute's addresses."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute

    def allow(self, request: Request) -> bool:
        state = state_of(request)
        address = request.client.host if request.client else "unknown"
        now = int(time.time() * 1000)
        over = now - 60_000
        rows = state.tables.run_returning([
            ("DELETE FROM {s}careledger_sign_in_attempts WHERE window_start <= ?", (over,)),
            ("INSERT INTO {s}careledger_sign_in_attempts AS a VALUES (?, ?, 1) "
             "ON CONFLICT (address_hash) DO UPDATE SET "
             "attempts = CASE WHEN a.window_start <= ? THEN 1 ELSE a.attempts + 1 END, "
             "window_start = CASE WHEN a.window_start <= ? THEN excluded.window_start "
             "ELSE a.window_start END RETURNING attempts",
             (keyed(state, f"sign-in-address:{address}"), now, over, over)),
        ])  # fmt: skip
        return int(rows[0]["attempts"]) <= self.per_minute


async def check_attempt(request: Request) -> None:
    """Counts a request to a sign-in route; refused (429) once its address has made more
    than CARELEDGER_SIGN_IN_ATTEMPTS_PER_MINUTE in the minute."""
    limit: SignInLimit = request.app.state.sign_in_limit
    if not await run_in_threadpool(limit.allow, request):
        raise Problem(
            429, "Too Many Requests", "too many sign-in attempts from this address; wait a "
            "minute", "name", headers={"Retry-After": "60"},
        )  # fmt: skip


@router.get("/sign-in", response_class=HTMLResponse, summary="The local sign-in form")
def sign_in_form(request: Request) -> HTMLResponse:
    state = state_of(request)
    nonce = secrets.token_urlsafe(24)
    page = _template().render(
        csrf_token=_form_token(state, nonce), oidc=state.settings.oidc_configured
    )
    response = HTMLResponse(page)
    response.set_cookie(
        FORM_COOKIE, nonce, max_age=FORM_MINUTES * 60, path="/sign-in", secure=True,
        httponly=True, samesite="strict",
    )  # fmt: skip
    return response


@router.post("/sign-in", summary="Local sign-in: starts a session")
async def sign_in(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    state = state_of(request)
    nonce = request.cookies.get(FORM_COOKIE, "")
    if not nonce or not hmac.compare_digest(_form_token(state, nonce), csrf_token):
        raise Problem(403, "Forbidden", "missing or wrong CSRF token: open the form again",
                      "csrf_token")  # fmt: skip
    await check_attempt(request)
    try:
        who = await run_in_threadpool(state.ledger.access.sign_in, name, password)
    except SignInRefused as refused:
        raise Problem(401, "Unauthorized", str(refused), "password") from None
    set_cookie = await run_in_threadpool(start_session, request, who)
    response = set_cookie(RedirectResponse("/me", status_code=303))
    response.delete_cookie(FORM_COOKIE, path="/sign-in", secure=True, httponly=True,
                           samesite="strict")  # fmt: skip
    return response


@router.post(
    "/sign-out",
    summary="Ends the session; one begun at the council's identity provider is ended there "
    "too, if it offers RP-initiated logout",
)
async def sign_out(
    request: Request, csrf_token: Annotated[str | None, Form(max_length=200)] = None
) -> Response:
    if request.cookies.get(COOKIE) and not csrf_matches(
        request, csrf_token or request.headers.get("X-CSRF-Token")
    ):
        raise Problem(403, "Forbidden", "missing or wrong CSRF token", "csrf_token")
    id_token = await run_in_threadpool(end_session, request)
    response: Response = RedirectResponse("/sign-in", status_code=303)
    if id_token is not None and state_of(request).settings.oidc_configured:
        from careledger.service import oidc

        at_provider = await oidc.provider_sign_out(request, id_token)
        if at_provider is not None:
            response = oidc.signing_out_at_provider(at_provider)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.get("/me", summary="Who is signed in, and the CSRF token their forms carry")
def me(request: Request, who: Signed) -> JSONResponse:
    return JSONResponse({
        "name": who.name, "role": who.role, "councils": sorted(who.councils),
        "court": who.court, "kind": who.kind, "csrf_token": csrf_token(request),
    })  # fmt: skip


def _form_token(state: ServiceState, nonce: str) -> str:
    key = state.settings.session_secret.get_secret_value().encode()
    digest = hmac.new(key, f"sign-in:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@cache
def _template() -> Template:
    source = files("careledger.service").joinpath("templates/sign_in.html.j2").read_text()
    return Environment(autoescape=True).from_string(source)
