"""Who is looking at a page: the person whose session the cookie names. A page asked for
without one sends the browser to sign in, where the JSON API would answer 401."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse

from careledger.access.principal import Principal
from careledger.service.sessions import current_principal


class SignInFirst(Exception):
    """Raised by `person` when nobody is signed in: answered by a redirect to sign in."""


def person(request: Request) -> Principal:
    who = current_principal(request)
    if who is None:
        raise SignInFirst()
    return who


def to_sign_in() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)
