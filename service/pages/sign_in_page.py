"""The sign-in page: the local accounts' form in GOV.UK markup, and a link to the council's
identity provider when one is configured.

The form's CSRF token and its cookie are the service's own (`careledger.service.sign_in`),
and so is the sign-in itself: this page only shows what went wrong in a GOV.UK error
summary naming the field, and lands a person on their workspace. A client that does not
ask for HTML (a script, a system) gets the service's own answers: the redirect, or an RFC
9457 problem naming the field."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from careledger.service import sign_in
from careledger.service.pages.errors import FieldError
from careledger.service.pages.rendering import page
from careledger.service.problems import Problem
from careledger.service.sessions import current_principal
from careledger.service.state import state_of

router = APIRouter()

HOME = "/"
MISSING = {"name": "Enter your name", "password": "Enter your password"}


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    if current_principal(request) is not None:
        return RedirectResponse(HOME, status_code=303)
    return _form(request, [], "")


@router.post("/sign-in")
async def sign_in_submitted(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    given = {"name": name, "password": password, "csrf_token": csrf_token}
    errors = [FieldError(field, text) for field, text in MISSING.items() if not given[field]]
    browser = wants_html(request)
    if errors and browser:
        return _form(request, errors, name, status_code=400)
    if errors or not csrf_token:
        missing = next(field for field, value in given.items() if not value)
        raise Problem(422, "Unprocessable Content", "Field required", missing)
    try:
        response = await sign_in.sign_in(request, name, password, csrf_token)
    except Problem as problem:
        if not browser:
            raise
        return _form(request, [_refusal(problem)], name, status_code=problem.status)
    if browser:
        response.headers["location"] = HOME
    return response


def wants_html(request: Request) -> bool:
    """A browser's form post (it accepts HTML); anything else is answered as the API."""
    return "text/html" in request.headers.get("accept", "")


def _refusal(problem: Problem) -> FieldError:
    if problem.field == "csrf_token":
        return FieldError("name", "The form had expired: sign in again")
    if problem.status == 429:
        return FieldError("name", "Too many attempts to sign in from here: wait a minute")
    return FieldError("password", "The name or password is not right, or the account is locked")


def _form(
    request: Request, errors: list[FieldError], name: str, status_code: int = 200
) -> Response:
    """The form with a new token, bound to a new cookie (as the service's own form is)."""
    state = state_of(request)
    nonce = secrets.token_urlsafe(24)
    response = page(
        request,
        "sign_in.html.j2",
        None,
        status_code=status_code,
        title="Sign in",
        errors=errors,
        name=name,
        csrf_token=sign_in._form_token(state, nonce),
        oidc=state.settings.oidc_configured,
    )
    response.set_cookie(
        sign_in.FORM_COOKIE, nonce, max_age=sign_in.FORM_MINUTES * 60, path="/sign-in",
        secure=True, httponly=True, samesite="strict",
    )  # fmt: skip
    return response
