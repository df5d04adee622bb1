"""Errors as RFC 9457 problem details (`application/problem+json`): a title, the status, a
detail in the ledger's own words and the `field` at fault, so a case-management system can
show its user what to put right. An error the service does not expect is answered with a
problem that says only that (`service.guards`); its traceback is never shown."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from careledger.access.errors import NOT_FOUND_OR_NOT_ALLOWED, AccessRefused, ReasonRequired
from careledger.ledger.errors import CaseNotFound, LedgerError, StoreFailure
from careledger.ledger.store.failures import STORE_ERRORS

MEDIA_TYPE = "application/problem+json"
NOT_FOUND = NOT_FOUND_OR_NOT_ALLOWED


class Problem(Exception):
    """A request the service refuses: `status`, `title`, `detail` and the `field` at fault,
    plus any members of its own (`index`, `line`)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.field = status, title, detail, field
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field is not None:
            body["field"] = self.field
        return body | self.extra


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(
        problem.body(), status_code=problem.status, media_type=MEDIA_TYPE, headers=problem.headers
    )


def not_found() -> Problem:
    """The one answer for a child that is missing and for one the caller may not read: the
    two cannot be told apart (reg 33's records are special-category data)."""
    return Problem(404, "Not Found", NOT_FOUND)


def forbidden(what: str) -> Problem:
    """The answer to a role that may not read `what` at all (a report over many children,
    the access log): refusing it says nothing about any child, so it says so plainly, as
    403, unlike a child's record refused (`not_found`)."""
    return Problem(403, "Forbidden", f"you may not read {what}")


def bad_request(field: str, detail: str, status: int = 400) -> Problem:
    return Problem(status, "Bad Request" if status == 400 else "Unprocessable Content", detail,
                   field)  # fmt: skip


def install(app: FastAPI) -> None:
    """Every error the application can meet answers as a problem."""

    async def on_problem(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, Problem)
        return problem_response(error)

    async def on_invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0]
        location = [
            str(part)
            for part in first["loc"]
            if part not in ("query", "path", "body", "header", "cookie")
        ]
        field = ".".join(location) or "(request)"
        detail = str(first["msg"]).removeprefix("Value error, ")
        return problem_response(Problem(422, "Unprocessable Content", detail, field))

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        if error.status_code == 404:
            return problem_response(not_found())
        title = {405: "Method Not Allowed"}.get(error.status_code, "Error")
        return problem_response(
            Problem(error.status_code, title, str(error.detail), headers=error.headers or None)
        )

    async def on_ledger_error(request: Request, error: Exception) -> JSONResponse:
        return problem_response(from_ledger_error(error))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(LedgerError, on_ledger_error)
    for store_error in STORE_ERRORS:
        app.add_exception_handler(store_error, on_ledger_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(HTTPException, on_http)


def from_ledger_error(error: Exception) -> Problem:
    """The ledger's refusals in its own words; a missing child and a refused one alike as
    not found; a failing store as unavailable, without its details."""
    if isinstance(error, CaseNotFound | AccessRefused):
        return not_found()
    if isinstance(error, ReasonRequired):
        return Problem(403, "Forbidden", str(error).partition(": ")[2], "reason")
    if isinstance(error, (StoreFailure, *STORE_ERRORS)):
        logging.getLogger("careledger.service").error("store failure: %s", type(error).__name__)
        return Problem(503, "Service Unavailable", "the ledger's store did not answer; try again")
    field, sep, detail = str(error).partition(": ")
    if not sep or " " in field:
        field, detail = "(request)", str(error)
    return Problem(422, "Unprocessable Content", detail, field)
