"""`POST /events`: one event (a JSON object), a batch (a JSON array), or a JSON Lines file's
lines (`application/x-ndjson`), recorded whole or not at all, with the checks and the words
of `careledger record`. Who records is who signed in: `recorded_by` is never read from the
body, and a body that names one is refused."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from careledger.access.errors import AccessRefused
from careledger.access.principal import Principal
from careledger.ledger.application import BatchRefused, Recorded
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import Command, parse_command
from careledger.ledger.domain.json_lines import LineRefused, NotJSON, parse_json, read_commands
from careledger.ledger.domain.limits import limits
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.errors import LedgerError, RecordingRefused
from careledger.ledger.store.alongside import AlongsideRefused
from careledger.service.freshness import caught_up_after_recording
from careledger.service.idempotency import HEADER, MAX_KEY_LENGTH, IdempotencyKeys, KeyedRequest
from careledger.service.identity import principal
from careledger.service.problems import Problem
from careledger.service.state import ServiceState, state_of

router = APIRouter()

JSON = "application/json"
JSON_LINES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")
# What a body may not say of itself: who records is who signed in.
IDENTITY_FIELDS = ("recorded_by", "recorded_at", "actor", "role", "actor_id")
# What the OpenAPI document says the route takes: the handler reads the body itself (each
# media type its own way), so the framework cannot tell it from a signature.
DOCUMENTED_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": {"oneOf": [
                {"type": "object", "description": "one event, in the JSON Lines event format"},
                {"type": "array", "items": {"type": "object"},
                 "description": "a batch of events, recorded all or nothing"},
            ]}},
            JSON_LINES[0]: {"schema": {
                "type": "string", "description": "JSON Lines: one event a line, all or nothing",
            }},
        },
    },
    "parameters": [{
        "name": HEADER, "in": "header", "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        "description": "makes a retry safe: the same key and body are answered as the first "
                       "time, and recorded once",
    }],
}  # fmt: skip


# Declared here for the OpenAPI document and the access log; a request is answered ahead of
# the router by `service.events_ahead`, which calls `record_events` itself.
@router.post(
    "/events",
    status_code=201,
    summary="Record one event, or a batch: all or nothing",
    responses={201: {"description": "Recorded"}, 422: {"description": "A problem"}},
    openapi_extra=DOCUMENTED_REQUEST,
)
async def record_events(request: Request) -> JSONResponse:
    """The body is one event (a JSON object), a JSON array of them, or JSON Lines
    (`application/x-ndjson`), in the JSON Lines event format. Send `Idempotency-Key` to make
    a retry safe.

    Who signed in (`service.identity.principal`, which asks the store) is found on the same
    worker thread that records, not as a dependency on a thread of its own: one hand-over to
    a thread per POST, not two."""
    body = await request.body()
    status, answer, replayed = await run_in_threadpool(_record_body, request, body)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(answer, status_code=status, headers=headers)


def _record_body(request: Request, body: bytes) -> tuple[int, dict[str, Any], bool]:
    """Who signed in, then the body checked and recorded (once per idempotency key, kept in
    the events' transaction: `service.idempotency`): the status, the answer, and whether it
    is a replay of an earlier answer."""
    who = principal(request)
    state = state_of(request)
    kind = _media_type(request)
    key = request.headers.get(HEADER)
    numbered = _commands(body, kind)
    _check_may_record(state, who, numbered, kind)
    keyed = KeyedRequest.of(_keyed_as(who), key, kind.encode() + b"\n" + body) if key else None
    try:
        recorded = _record(state, who, numbered, kind, keyed)
    except AlongsideRefused:  # another request with the key recorded first
        assert keyed is not None
        replay = IdempotencyKeys(state.tables).answered_before(keyed)
        if replay is None:
            raise
        return replay.status, replay.body, True
    except Problem:  # a retry's events may be refused as already there
        replay = IdempotencyKeys(state.tables).answered_before(keyed) if keyed else None
        if replay is None:
            raise
        return replay.status, replay.body, True
    caught_up_after_recording(state)
    return 201, _answer(recorded), False


def _answer(recorded: list[Recorded]) -> dict[str, Any]:
    return {"recorded": len(recorded), "events": [_shown(r) for r in recorded]}


def _media_type(request: Request) -> str:
    given = request.headers.get("content-type", "")
    kind = given.partition(";")[0].strip().lower()
    if kind != JSON and kind not in JSON_LINES:
        raise Problem(
            415, "Unsupported Media Type",
            f"expected {JSON} (an event or an array of events) or application/x-ndjson "
            f"(JSON Lines), not '{kind or 'none'}'", "Content-Type",
        )  # fmt: skip
    return kind


def _commands(body: bytes, kind: str) -> list[tuple[int, Command]]:
    """The events with their place: the line for JSON Lines, the index in an array (0 for a
    single object)."""
    if kind in JSON_LINES:
        try:
            commands = read_commands(io.BytesIO(body))
        except LineRefused as refusal:
            raise _refused(refusal.field, refusal.problem, line=refusal.line) from None
        if not commands:
            raise _refused("(body)", "holds no events")
        return commands
    settings = limits()  # as put in force when the worker started (`service.app`)
    try:
        data = parse_json(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise _refused("(body)", f"not UTF-8 text (byte {error.start + 1})") from None
    except NotJSON as error:
        raise _refused("(body)", f"not valid JSON ({error})") from None
    except RecordingRefused as refusal:
        raise _refused(refusal.field, refusal.problem) from None
    items: list[Any] = data if isinstance(data, list) else [data]
    if not items:
        raise _refused("(body)", "holds no events")
    if len(items) > settings.events_per_file:
        raise _refused("(body)", f"holds more than {settings.events_per_file:,} events "
                       "(CARELEDGER_MAX_EVENTS_PER_FILE); record it in parts")  # fmt: skip
    numbered = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            for name in IDENTITY_FIELDS:
                if name in item:
                    raise _refused(
                        name, "is who signed in, and is not given in the request",
                        index=index, status=403,
                    )  # fmt: skip
        try:
            numbered.append((index, parse_command(item)))
        except RecordingRefused as refusal:
            raise _refused(refusal.field, refusal.problem, index=index) from None
    return numbered


def _check_may_record(
    state: ServiceState, who: Principal, numbered: list[tuple[int, Command]], kind: str
) -> None:
    """Every event's council must be one the principal records for (a system token: its own
    council only); checked before anything is recorded."""
    access = state.ledger.access
    allowed: set[str] = set()
    for place, command in numbered:
        if who.kind == "system" and isinstance(command.payload, p.IROInformed):
            where = {"line": place} if kind in JSON_LINES else {"index": place}
            detail = "an IRO's acknowledgement is recorded by the IRO, signed in, from their inbox"
            raise _refused("type", detail, status=403, **where)
        if command.council in allowed:
            continue
        try:
            access.check_record(who, command.council)
        except LedgerError as refused:  # not theirs (403), or no council's code (422)
            where = {"line": place} if kind in JSON_LINES else {"index": place}
            detail = str(refused).partition(": ")[2] or str(refused)
            status = 403 if isinstance(refused, AccessRefused) else 422
            raise _refused("council", detail, status=status, **where) from None
        allowed.add(command.council)


def _record(
    state: ServiceState,
    who: Principal,
    numbered: list[tuple[int, Command]],
    kind: str,
    keyed: KeyedRequest | None,
) -> list[Recorded]:
    """Recorded as `careledger record` records, into the ledger's own store (never the read
    URL), with the key and its answer in the same transaction; the projections are caught up
    afterwards (`service.freshness`). Requests that arrive together on the worker's threads
    share one transaction, each still all or nothing (`ledger.group_commit`)."""
    kept_with = (lambda recorded: [keyed.answered(201, _answer(recorded))]) if keyed else None
    try:
        recorded = state.recording.record(
            [command for _, command in numbered], recording_actor(state, who), kept_with
        )
    except BatchRefused as refusal:
        place = numbered[refusal.index][0]
        where = {"line": place} if kind in JSON_LINES else {"index": place}
        raise _refused(refusal.field, refusal.problem, **where) from None
    return recorded


def recording_actor(state: ServiceState, who: Principal) -> p.Actor:
    """`recorded_by`: the principal's name, in the ledger role its role records as (a
    system's feed: its name, as ADMIN)."""
    try:
        actor, role = state.ledger.access.recorded_by(who)
    except AccessRefused as refused:
        field, _, detail = str(refused).partition(": ")
        raise Problem(403, "Forbidden", detail, field) from None
    return p.Actor(actor_id=actor, role=Role(role))


def _refused(
    field: str | None,
    problem: str,
    status: int = 422,
    line: int | None = None,
    index: int | None = None,
) -> Problem:
    """The problem in `careledger record`'s words: `line 3, field 'x': ...; nothing
    recorded` (`item 2` for a JSON array's index)."""
    where = f"line {line}, " if line is not None else f"item {index}, " if index is not None else ""
    named = f"field '{field}': " if field else ""
    extra = {"line": line} if line is not None else {"index": index} if index is not None else {}
    title = "Forbidden" if status == 403 else "Unprocessable Content"
    detail = f"{where}{named}{problem}; nothing recorded"
    return Problem(status, title, detail, field, None, **extra)


def _keyed_as(who: Principal) -> str:
    return f"{who.kind}:{who.name}"


def _shown(recorded: Recorded) -> dict[str, Any]:
    return {
        "council": recorded.council,
        "child": recorded.child_ref,
        "seq": recorded.seq,
        "type": recorded.event_type,
    }
