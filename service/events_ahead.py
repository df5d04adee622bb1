"""`POST /events`, the request a council's case-management system sends for every event it
records, answered ahead of the application's router: the same handler
(`service.recording.record_events`) and the same problems as the route gives, without first
matching the path against every page and API route, nor passing the framework's layers of
middleware inside the guards (`service.guards`, which stay outside this, as they are outside
every route). The route itself stays declared in `service.recording`, so the OpenAPI
document describes it and the access log names it. Every other request goes on to the
application unchanged."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from careledger.ledger.errors import LedgerError
from careledger.ledger.store.failures import STORE_ERRORS
from careledger.service import recording
from careledger.service.guards import ASGIApp, Receive, Scope, Send
from careledger.service.problems import Problem, from_ledger_error, problem_response

PATH = "/events"


class EventsAhead:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route = _declared(PATH, "POST")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or _path(scope) != PATH:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route  # what the access log names, as the router would set it
        response = await _answer(Request(scope, receive))
        await response(scope, receive, send)


async def _answer(request: Request) -> Response:
    """The route's answer, its refusals answered as the application's exception handlers
    answer them (`service.problems.install`); anything else goes on to the guards, as it
    would from the route."""
    try:
        return await recording.record_events(request)
    except Problem as problem:
        return problem_response(problem)
    except (LedgerError, *STORE_ERRORS) as error:
        return problem_response(from_ledger_error(error))


def _path(scope: Scope) -> str:
    """The path as the router matches it: without the prefix a proxy mounts the service at."""
    path: str = scope["path"]
    return path.removeprefix(scope.get("root_path", ""))


def _declared(path: str, method: str) -> BaseRoute:
    for route in recording.router.routes:
        if getattr(route, "path", None) == path and method in getattr(route, "methods", ()):
            return route
    raise LookupError(f"{method} {path} is not declared in service.recording")
