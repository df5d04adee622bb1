"""Who is asking, from sign-in only: a bearer token (a council's system) or the session
cookie (a person). Nothing a request says of itself (a header naming a user, an actor in the
body) makes a principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from careledger.access.errors import TokenRefused
from careledger.access.principal import Principal
from careledger.service.problems import Problem
from careledger.service.sessions import COOKIE, csrf_matches, current_principal
from careledger.service.state import state_of

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"


def principal(request: Request) -> Principal:
    """The signed-in principal, or a 401 problem naming what failed."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        return _bearer(request, authorization)
    if COOKIE in request.cookies:
        who = current_principal(request)
        if who is None:
            raise _unauthorized(COOKIE, "the session has ended or is not known: sign in again")
        if request.method in UNSAFE_METHODS and not csrf_matches(
            request, request.headers.get(CSRF_HEADER)
        ):
            raise Problem(403, "Forbidden", "missing or wrong CSRF token", CSRF_HEADER)
        return who
    raise _unauthorized("Authorization", "sign in, or give a bearer token")


def _bearer(request: Request, authorization: str) -> Principal:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization", "expected 'Bearer TOKEN'")
    try:
        return state_of(request).ledger.access.token(token.strip())
    except TokenRefused as refused:
        raise _unauthorized("Authorization", str(refused)) from None


def _unauthorized(field: str, detail: str) -> Problem:
    challenge = 'Bearer realm="careledger"'
    return Problem(401, "Unauthorized", detail, field, headers={"WWW-Authenticate": challenge})


Signed = Annotated[Principal, Depends(principal)]
