"""The IRO's inbox over HTTP, as JSON: `GET /iro/inbox` lists the changes to the IRO's
children they have not acknowledged (`careledger.projections.inbox`), and
`POST /iro/inbox/acknowledgements` records that they acknowledge one (an `IROInformed` event,
CPPCR 2010 reg 37), recorded as the signed-in IRO: who acknowledges comes from sign-in, never
from the body. The inbox page (`service.pages.inbox`) uses the same two functions, so the page
and the API refuse the same things.

Each child's entries are read only once `Access.check_child` allows the `inbox` view (and logs
it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from careledger.access.errors import AccessRefused
from careledger.access.principal import Principal
from careledger.api import named_child
from careledger.api import today as england_today
from careledger.ledger.errors import LedgerError, RecordingRefused
from careledger.projections.inbox import InboxEntry, parse_key
from careledger.service.freshness import lag_header
from careledger.service.identity import Signed
from careledger.service.problems import Problem
from careledger.service.state import ServiceState, state_of

router = APIRouter(prefix="/iro/inbox")


class Acknowledgement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry: str = Field(max_length=700, description="the entry's key, as GET /iro/inbox gives it")
    seen: int = Field(
        ge=0, description="the entry's `seen`: the case's last event when the inbox was read"
    )


def read_inbox(state: ServiceState, who: Principal) -> list[InboxEntry]:
    """The signed-in IRO's entries, of the children they may read (each read logged)."""
    if who.role != "IRO":
        raise AccessRefused(f"role: only an IRO has an inbox, not {who.role}")
    today = england_today()
    allowed = []
    for child in state.reader.caseload(who.name, today):
        try:
            state.ledger.access.check_child(who, child, "inbox")
        except AccessRefused:
            continue
        allowed.append(child)
    return state.reader.inbox(who.name, today, allowed)


def acknowledge(state: ServiceState, who: Principal, key: str, seen: int) -> InboxEntry:
    """Record that the signed-in IRO acknowledges `key`, with the checks `careledger record`
    applies (`Opened.acknowledge`); a refusal names the field (`entry`, `seen`)."""
    if who.role != "IRO":
        raise AccessRefused(f"role: only an IRO acknowledges, not {who.role}")
    try:
        child = named_child(parse_key(key)[0])
    except (ValueError, LedgerError):
        raise RecordingRefused("entry", f"'{key}' is not an entry of your inbox") from None
    name = f"{child.council}:{child.child_ref}"
    state.ledger.access.check_child(who, name, "inbox")
    state.ledger.access.check_record(who, child.council)
    actor, _role = state.ledger.access.recorded_by(who)
    return state.ledger.acknowledge(key, seen, actor=actor, iro=who.name)


@router.get("", summary="The signed-in IRO's inbox: changes to their children not acknowledged")
def inbox(request: Request, who: Signed) -> JSONResponse:
    state = state_of(request)
    try:
        entries = read_inbox(state, who)
    except AccessRefused as refused:
        raise Problem(403, "Forbidden", str(refused).partition(": ")[2], "role") from None
    return JSONResponse(
        {"iro": who.name, "entries": [entry.to_json() for entry in entries]},
        headers={"X-Careledger-Lag": lag_header(state)},
    )


@router.post(
    "/acknowledgements",
    status_code=201,
    summary="Acknowledge an entry of the inbox (records IROInformed as the signed-in IRO)",
)
async def acknowledgement(
    request: Request, who: Signed, body: Annotated[Acknowledgement, Body()]
) -> JSONResponse:
    state = state_of(request)
    try:
        entry = await run_in_threadpool(acknowledge, state, who, body.entry, body.seen)
    except RecordingRefused as refused:
        detail = f"field '{refused.field}': {refused.problem}; nothing recorded"
        raise Problem(422, "Unprocessable Content", detail, refused.field) from None
    except AccessRefused as refused:
        if str(refused).startswith("role: "):
            raise Problem(403, "Forbidden", str(refused).partition(": ")[2], "role") from None
        raise
    return JSONResponse({"acknowledged": entry.to_json()}, status_code=201)
