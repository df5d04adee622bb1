"""A child's record, view by view, as the read commands give it: the plan (on a date, as
known on a date), history, unapproved changes, reviews, challenges, the court chronology in
every format, and the integrity chain. Each read is checked and written to the access log by
`Access.check_child` before anything is read; a refused read and a missing child get the
same answer.

Each JSON answer is the document `careledger X --format json` gives for the same question:
the envelope `{"format": "careledger/1", "command", "query", "data"}` (README: JSON output),
with the same query (the default dates filled in) and the same data. What only the service
knows goes in headers: `X-Careledger-Lag`, how far behind the ledger the projections were.
The chronology's JSON is, as the command's, the court document itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from careledger.access.principal import Principal
from careledger.api import Opened, named_child, today
from careledger.cli.integrity import verification
from careledger.cli.render import as_json_text, enveloped
from careledger.ledger.errors import LedgerError
from careledger.projections.chronology_forms import render
from careledger.service.freshness import lag_header
from careledger.service.identity import Signed
from careledger.service.problems import not_found
from careledger.service.state import ServiceState, state_of

router = APIRouter(prefix="/children/{child}")

Child = Annotated[str, Path(description="COUNCIL:REF, e.g. E10000099:NR-0101", max_length=420)]
Day = Annotated[date | None, Query(description="YYYY-MM-DD")]
Reason = Annotated[
    str | None,
    Query(max_length=500, description="why an inspector opens this child's record (recorded)"),
]
CHRONOLOGY_MEDIA = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "json": "application/json",
}


def opened_for(
    request: Request, who: Principal, child: str, view: str, reason: str | None
) -> tuple[ServiceState, Opened, str]:
    """The ledger opened for reading, once the principal may read this view of the child
    (checked and logged where the ledger is recorded, never at the read URL); the child as
    COUNCIL:REF."""
    try:
        named = named_child(child)
    except LedgerError:
        raise not_found() from None
    name = f"{named.council}:{named.child_ref}"
    state = state_of(request)
    state.ledger.access.check_child(who, name, view, reason)
    return state, state.reader, name


@router.get("/plan", summary="The child's care plan, now, on a date, or as known on a date")
def plan(
    request: Request,
    who: Signed,
    child: Child,
    as_of: Day = None,
    as_recorded_on: Day = None,
    reason: Reason = None,
) -> JSONResponse:
    state, ledger, name = opened_for(request, who, child, "plan", reason)
    rows = ledger.plan(name, as_of, as_recorded_on)
    if not rows:
        _require_case(ledger, name)
    query = {"child": name, "as_of": as_of or today(), "as_recorded_on": as_recorded_on or today()}
    return answer(state, "plan", query, rows)


@router.get("/history", summary="Every event of the child's case, in order")
def history(request: Request, who: Signed, child: Child, reason: Reason = None) -> JSONResponse:
    state, ledger, name = opened_for(request, who, child, "history", reason)
    return answer(state, "history", {"child": name}, ledger.history(name))


@router.get("/unapproved", summary="The child's changes made without review approval")
def unapproved(request: Request, who: Signed, child: Child, reason: Reason = None) -> JSONResponse:
    state, ledger, name = opened_for(request, who, child, "unapproved", reason)
    return answer(state, "unapproved", {"child": name}, ledger.unapproved(name))


@router.get("/reviews", summary="The child's review timetable (reg 33) and recommendations")
def reviews(
    request: Request,
    who: Signed,
    child: Child,
    as_of: Day = None,
    as_recorded_on: Day = None,
    reason: Reason = None,
) -> JSONResponse:
    state, ledger, name = opened_for(request, who, child, "reviews", reason)
    on = as_of or today()
    found = ledger.reviews(name, on, as_recorded_on)
    query = {"child": name, "as_of": on, "as_recorded_on": as_recorded_on or today()}
    return answer(state, "reviews", query, found)


@router.get("/challenges", summary="The IRO's challenges in the child's case")
def challenges(
    request: Request,
    who: Signed,
    child: Child,
    as_of: Day = None,
    as_recorded_on: Day = None,
    reason: Reason = None,
) -> JSONResponse:
    """As `careledger challenges --child COUNCIL:REF`: the child's challenges, and the
    statistics per IRO and per council over them."""
    state, ledger, name = opened_for(request, who, child, "challenges", reason)
    on = as_of or today()
    report = ledger.challenge_report(on, name, as_recorded_on=as_recorded_on)
    if not report.challenges:
        _require_case(ledger, name)
    query = {"as_of": on, "as_recorded_on": as_recorded_on or today(), "child": name}
    query |= {"council": None, "iro": None, "open": False}
    data: dict[str, Any] = {"challenges": report.challenges, "per_iro": report.per_iro}
    data |= {"per_council": report.per_council, "protocol": report.protocol.model_dump()}
    return answer(state, "challenges", query, data)


@router.get("/chronology", summary="The court chronology, in any of its formats")
def chronology(
    request: Request,
    who: Signed,
    child: Child,
    format: Literal["md", "csv", "html", "pdf", "json"] = "json",
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Day = None,
    reason: Reason = None,
) -> Response:
    if from_ and to and from_ > to:
        raise LedgerError("from: is after to")
    state, ledger, name = opened_for(request, who, child, "chronology", reason)
    period = shared_period(state, who, name, (from_, to))
    made = ledger.chronology(name, who.name, *period)
    headers = {"X-Careledger-Lag": lag_header(state)}
    if format in ("pdf", "md", "csv"):
        extension = {"md": "md", "csv": "csv", "pdf": "pdf"}[format]
        headers["Content-Disposition"] = f'attachment; filename="chronology.{extension}"'
    return Response(render(made, format), media_type=CHRONOLOGY_MEDIA[format], headers=headers)


@router.get("/verify", summary="The child's integrity chain, recomputed")
def verify_child(
    request: Request, who: Signed, child: Child, reason: Reason = None
) -> JSONResponse:
    state, ledger, name = opened_for(request, who, child, "verify", reason)
    verdict, report = verification(ledger, named_child(name), head_keys=head_keys())
    if verdict.cases == 0:
        raise not_found()
    return answer(state, "verify", verify_query(name), report)


def shared_period(
    state: ServiceState, who: Principal, child: str, asked: tuple[date | None, date | None]
) -> tuple[date | None, date | None]:
    """A court clerk sees the chronology only within the dates the council shared with their
    court (the share in force that begins first, when there are several)."""
    shares = state.ledger.access.shared(who, child)
    if not shares:
        return asked
    share = shares[0]
    start = max(asked[0] or share.from_on, share.from_on)
    end = min(asked[1] or share.to_on, share.to_on)
    if start > end:
        raise LedgerError("from: the dates asked for are outside those shared with your court")
    return start, end


def head_keys() -> list[bytes]:
    """The keys a signed head must be signed with, as `careledger verify` finds them with
    no --head-public-key: the public half of the recording key, if this machine has it."""
    from careledger.cli.heads import trusted_head_keys

    return trusted_head_keys(())


def verify_query(child: str | None) -> dict[str, Any]:
    """`careledger verify [--child C] --format json`'s query, with no seal, key or head log."""
    query: dict[str, Any] = {"child": child, "seal": None, "public_key": None}
    return query | {"head_public_key": [], "head_log": None, "projections": False}


def answer(
    state: ServiceState,
    command: str,
    query: dict[str, Any],
    data: Any,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """`careledger COMMAND --format json`'s document for the same query, saying in a header
    how far behind the ledger the projections it was read from are."""
    document = json.loads(as_json_text(enveloped(command, query, data)))
    lag = {"X-Careledger-Lag": lag_header(state)}
    return JSONResponse(document, headers=lag | dict(headers or {}))


def _require_case(ledger: Opened, name: str) -> None:
    """An empty answer only for a child on the ledger (`CaseNotFound` is answered as not
    found)."""
    ledger.unapproved(name)
