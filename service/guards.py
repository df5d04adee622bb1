"""What every response carries and every request is held to, as ASGI middleware outside
the application: the security headers, the body limit, the access log without a child in
it, and a last answer for an error nothing else caught (a problem, never a traceback).

The access log names the route's template (`/children/{child}/plan`), never the path or the
query asked for: those name children. Nothing of a header (a token, a cookie) is logged."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from careledger.api import debugging
from careledger.service.problems import MEDIA_TYPE, Problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# No script runs inline; nothing is framed; nothing loads from elsewhere.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
# As the response's headers carry them, made once: every response adds them.
_ENCODED_HEADERS = tuple(
    (name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()
)
ACCESS_LOG = logging.getLogger("careledger.service.access")
ERROR_LOG = logging.getLogger("careledger.service")


class BodyTooLarge(Exception):
    """A request body over the limit, found while it was being read."""


class Guards:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered: dict[str, Any] = {"status": 0}

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                headers = list(message.get("headers", []))
                given = {k.lower() for k, _ in headers}
                headers += [
                    (k, v) for k, v in _ENCODED_HEADERS if k not in given
                ]  # a report's own policy (inline style, never script) stands
                message["headers"] = headers
            await send(message)

        try:
            too_large = self._declared_too_large(scope)
            if too_large is not None:
                await _send_problem(send_guarded, too_large)
            else:
                await self.app(scope, self._limited(receive), send_guarded)
        except BodyTooLarge:
            if answered["status"] == 0:
                await _send_problem(send_guarded, self._too_large())
        except Exception as error:
            # The type and the route only: an exception's message or traceback can quote a
            # child's record. CARELEDGER_DEBUG=1 logs the traceback, for a developer's store.
            ERROR_LOG.error(
                "unexpected %s on %s", type(error).__name__, _route(scope), exc_info=debugging()
            )
            if answered["status"] == 0:
                await _send_problem(send_guarded, Problem(
                    500, "Internal Server Error", "the service failed; nothing is shown of why"
                ))  # fmt: skip
        finally:
            ACCESS_LOG.info(
                "%s %s %s %.1fms", scope["method"], _route(scope), answered["status"],
                (time.perf_counter() - started) * 1000,
            )  # fmt: skip

    def _too_large(self) -> Problem:
        return Problem(
            413, "Content Too Large",
            f"the request body is over {self.max_body_bytes:,} bytes "
            "(CARELEDGER_MAX_BODY_BYTES); send the events in smaller batches", "(body)",
        )  # fmt: skip

    def _declared_too_large(self, scope: Scope) -> Problem | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return Problem(400, "Bad Request", "is not a number", "Content-Length")
                if declared > self.max_body_bytes:
                    return self._too_large()
        return None

    def _limited(self, receive: Receive) -> Receive:
        """The body as it arrives, refused once it passes the limit (a chunked body gives no
        length in advance)."""
        taken = 0

        async def receive_limited() -> Message:
            nonlocal taken
            message = await receive()
            if message["type"] == "http.request":
                taken += len(message.get("body", b""))
                if taken > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        return receive_limited


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "(no route)"))


async def _send_problem(send: Send, problem: Problem) -> None:
    body = json.dumps(problem.body()).encode()
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
