"""Local sign-in for people (`careledger users add` accounts): a form with a CSRF token,
rate-limited per client address, ending in a session (`service.sessions`); and sign-out.

The sign-in form's token is bound to a short-lived cookie of its own (a session does not
exist yet), so a page of another site cannot sign a browser in as someone else. Wrong
passwords also count toward the account's lockout, kept in the store (`careledger.access`):
the address limit here is each worker's own."""

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
from careledger.service.sessions import COOKIE, csrf_matches, csrf_token, end_session, start_session
from careledger.service.state import ServiceState, state_of

router = APIRouter()

FORM_COOKIE = "careledger_sign_in"
FORM_MINUTES = 15


class AttemptLimit:
    """At most `per_minute` sign-in attempts from one address in any minute."""

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
    address = request.client.host if request.client else "unknown"
    if not request.app.state.sign_in_limit.allow(address):
        raise Problem(
            429, "Too Many Requests", "too many sign-in attempts from this address; wait a "
            "minute", "name", headers={"Retry-After": "60"},
        )  # fmt: skip
    try:
        who = await run_in_threadpool(state.ledger.access.sign_in, name, password)
    except SignInRefused as refused:
        raise Problem(401, "Unauthorized", str(refused), "password") from None
    set_cookie = await run_in_threadpool(start_session, request, who)
    response = set_cookie(RedirectResponse("/me", status_code=303))
    response.delete_cookie(FORM_COOKIE, path="/sign-in", secure=True, httponly=True,
                           samesite="strict")  # fmt: skip
    return response


@router.post("/sign-out", summary="Ends the session")
async def sign_out(
    request: Request, csrf_token: Annotated[str | None, Form(max_length=200)] = None
) -> Response:
    if request.cookies.get(COOKIE) and not csrf_matches(
        request, csrf_token or request.headers.get("X-CSRF-Token")
    ):
        raise Problem(403, "Forbidden", "missing or wrong CSRF token", "csrf_token")
    await run_in_threadpool(end_session, request)
    response = RedirectResponse("/sign-in", status_code=303)
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
