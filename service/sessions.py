"""Sessions for people: kept server-side in the ledger's store, named to the browser by a
random id in the cookie `careledger_session` (HttpOnly, Secure, SameSite=Strict), ending
after CARELEDGER_SESSION_MINUTES. The store keeps only a keyed hash of the id, so whoever
reads the table cannot take over a session; a forged or expired cookie names no session.

Sign-in of either kind (the local form, or the council's identity provider) ends in
`start_session`; every request finds its person with `current_principal`.

    response = start_session(request, principal)(RedirectResponse("/", status_code=303))
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response

from careledger.access.principal import Principal
from careledger.service.state import ServiceState, state_of

COOKIE = "careledger_session"


def start_session(
    request: Request, principal: Principal, id_token: str | None = None
) -> Callable[[Response], Response]:
    """A new session for `principal`, stored (with the ID token of a sign-in at the council's
    identity provider, for signing out there too); returns what sets its cookie on the
    response that ends sign-in (the cookie is the only place the id is ever written in
    full)."""
    state = state_of(request)
    session_id = secrets.token_urlsafe(32)
    minutes = state.settings.session_minutes
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    session_hash = _hashed(state, session_id)
    state.tables.run(
        "INSERT INTO {s}careledger_sessions VALUES (?, ?, ?)",
        (session_hash, _as_json(principal), expires.isoformat()),
    )
    if id_token is not None:
        state.tables.run(
            "INSERT INTO {s}careledger_session_id_tokens VALUES (?, ?)", (session_hash, id_token)
        )

    def set_cookie(response: Response) -> Response:
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=minutes * 60,
            path="/",
            secure=True,
            httponly=True,
            samesite="strict",
        )
        return response

    return set_cookie


def current_principal(request: Request) -> Principal | None:
    """The person whose live session the request's cookie names; None without a cookie, and
    for a forged, ended or expired one."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    state = state_of(request)
    rows = state.tables.fetch(
        "SELECT principal, expires_at FROM {s}careledger_sessions WHERE session_hash = ?",
        (_hashed(state, session_id),),
    )
    if not rows:
        return None
    if datetime.fromisoformat(rows[0]["expires_at"]) <= datetime.now(UTC):
        end_session(request)
        return None
    return _from_json(rows[0]["principal"])


def end_session(request: Request) -> str | None:
    """Sign-out: the session is deleted from the store, whatever the browser keeps; returns
    the ID token it began with at the council's identity provider, if it did (deleted too)."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    state = state_of(request)
    session_hash = _hashed(state, session_id)
    rows = state.tables.fetch(
        "SELECT id_token FROM {s}careledger_session_id_tokens WHERE session_hash = ?",
        (session_hash,),
    )
    state.tables.run(
        "DELETE FROM {s}careledger_session_id_tokens WHERE session_hash = ?", (session_hash,)
    )
    state.tables.run("DELETE FROM {s}careledger_sessions WHERE session_hash = ?", (session_hash,))
    return str(rows[0]["id_token"]) if rows else None


def csrf_token(request: Request) -> str | None:
    """The token a form of this session carries: bound to the session, so a page of another
    site cannot know it."""
    session_id = request.cookies.get(COOKIE)
    return keyed(state_of(request), f"csrf:{session_id}") if session_id else None


def csrf_matches(request: Request, presented: str | None) -> bool:
    expected = csrf_token(request)
    return bool(expected and presented and hmac.compare_digest(expected, presented))


def _hashed(state: ServiceState, session_id: str) -> str:
    return keyed(state, f"session:{session_id}")


def keyed(state: ServiceState, text: str) -> str:
    """`text` hashed with the session secret: what the store keeps in place of a session id
    or a client's address."""
    key = state.settings.session_secret.get_secret_value().encode()
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _as_json(principal: Principal) -> str:
    return json.dumps(
        {
            "name": principal.name,
            "role": principal.role,
            "councils": sorted(principal.councils),
            "court": principal.court,
            "kind": principal.kind,
        }
    )


def _from_json(text: str) -> Principal:
    data = json.loads(text)
    return Principal(
        name=data["name"],
        role=data["role"],
        councils=frozenset(data["councils"]),
        court=data["court"],
        kind=data["kind"],
    )
