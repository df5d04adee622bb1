"""Reports over many children: the unapproved changes, drift and delay (JSON, CSV or the
self-contained HTML), the integrity chain of the whole ledger, and the access log a
data-protection officer answers a subject access request from. Each is limited to the
councils `Access.check_report` gives the principal."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from careledger.access.errors import AccessRefused
from careledger.access.policy import Scope, rights
from careledger.access.principal import Principal
from careledger.api import today
from careledger.cli.integrity import verification
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.errors import LedgerError
from careledger.projections.drift import Report
from careledger.service.freshness import lag_header
from careledger.service.identity import Signed
from careledger.service.problems import forbidden
from careledger.service.reads import answer, head_keys, verify_query
from careledger.service.state import state_of

router = APIRouter()

STAFF_FINDINGS = {"iro_caseload"}  # findings naming IROs, not children

Council = Annotated[str | None, Query(max_length=20, description="a council's code")]
Day = Annotated[date | None, Query(description="YYYY-MM-DD")]
# The drift report's own page: inline style and SVG, never a script, nothing loaded.
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def councils_for(
    request: Request, who: Principal, report: str, council: str | None
) -> frozenset[str]:
    """The councils this report may show the principal; none: forbidden (403, not 404: a
    report over many children names none of them, so refusing it reveals nothing)."""
    state = state_of(request)
    code = council.strip().upper() if council else None
    try:
        councils = state.ledger.access.check_report(who, report, code)
    except AccessRefused:
        raise forbidden(f"reports of {code}" if code else "this report") from None
    if not councils:
        raise forbidden("this report")
    return frozenset(councils)


@router.get("/unapproved", summary="Changes without review approval, across the councils")
def unapproved(request: Request, who: Signed, council: Council = None) -> JSONResponse:
    councils = councils_for(request, who, "unapproved", council)
    state = state_of(request)
    rows = [row for row in state.reader.unapproved() if _council_of(row) in councils]
    named = names_children(who)
    headers = shown(councils) | {"X-Careledger-Children-Named": "true" if named else "false"}
    return answer(state, "unapproved", {"child": None}, rows if named else counted(rows), headers)


def counted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes made without review approval as counts, for each council, kind and rule
    (reg 32(2)): what someone who reads a child's record only with a stated reason (an
    inspector) reads of the list, which otherwise names each child."""
    changes: Counter[tuple[str, str, str]] = Counter()
    children: dict[tuple[str, str, str], set[str]] = {}
    for row in rows:
        key = (str(row["council"]), str(row["kind"]), str(row["rule"]))
        changes[key] += 1
        children.setdefault(key, set()).add(str(row["child"]))
    return [
        {"council": key[0], "kind": key[1], "rule": key[2],
         "changes": changes[key], "children": len(children[key])}
        for key in sorted(changes)
    ]  # fmt: skip


@router.get("/drift", summary="Drift and delay across the councils the principal may see")
def drift(
    request: Request,
    who: Signed,
    as_of: Day = None,
    as_recorded_on: Day = None,
    group_by: Literal["council", "iro", "team"] | None = None,
    format: Literal["json", "csv", "html"] = "json",
    council: Council = None,
) -> Response:
    from careledger.cli.drift_html import render_html
    from careledger.cli.drift_output import as_csv, as_json

    councils = councils_for(request, who, "drift", council)
    state = state_of(request)
    on = as_of or today()
    months = 12 if format == "html" else 0
    # Only the permitted councils' children are counted, in every grouping and month end.
    report = state.reader.drift(on, group_by, as_recorded_on, months, councils=councils)
    named = names_children(who)
    if not named:
        report = counts_only(report)
    lag = {"X-Careledger-Lag": lag_header(state)} | shown(councils)
    lag["X-Careledger-Children-Named"] = "true" if named else "false"
    if format == "csv":
        return Response(as_csv(report), media_type="text/csv; charset=utf-8", headers=lag)
    if format == "html":
        headers = lag | {"Content-Security-Policy": REPORT_POLICY}
        return Response(render_html(report, named), media_type="text/html; charset=utf-8",
                        headers=headers)  # fmt: skip
    query = {"as_of": on, "as_recorded_on": as_recorded_on or today(), "group_by": group_by}
    return answer(state, "drift", query, as_json(report), lag)


def names_children(who: Principal) -> bool:
    """Whether the report may name the children behind its counts: only to those who may
    read every child's record of the councils it covers. An inspector reads counts and
    rates; they open a named child's record only with a reason (break-glass)."""
    return rights(who.role).child_record in (Scope.THEIR_COUNCIL, Scope.EVERY_COUNCIL)


def counts_only(report: Report) -> Report:
    """The report without the children behind its counts (the IROs behind the caseload
    measure stay: they are staff, not children)."""
    kept = {key: found if key in STAFF_FINDINGS else [] for key, found in report.findings.items()}
    return replace(report, findings=kept)


@router.get("/verify", summary="The whole ledger's integrity chain, recomputed")
def verify(request: Request, who: Signed) -> JSONResponse:
    """For those who read reports across a council: `careledger verify --format json`'s
    document, the chain's digests and counts; a broken link names its child only to those
    the drift report names children to."""
    councils_for(request, who, "drift", None)
    state = state_of(request)
    _, report = verification(state.reader, None, head_keys=head_keys())
    broken = report.get("first_broken_link")
    if isinstance(broken, dict) and not names_children(who):
        broken["child"] = None
    return answer(state, "verify", verify_query(None), report)


@router.get("/access-log", summary="Who read which child's record, when, and why")
def access_log(
    request: Request,
    who: Signed,
    child: Annotated[str | None, Query(max_length=420)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    from_: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD")] = None,
    to: Day = None,
    break_glass: bool = False,
) -> JSONResponse:
    """As `careledger access-log --format json`: the entries oldest first, from the first
    day to the last (in England), inclusive."""
    if from_ and to and from_ > to:
        raise LedgerError("from: is after to")
    state = state_of(request)
    since = datetime.combine(from_, time.min, ENGLAND) if from_ else None
    until = datetime.combine(to, time.max, ENGLAND) if to else None
    try:
        entries = state.ledger.access.log(
            child, actor, since, until, who=who, break_glass=break_glass
        )
    except AccessRefused:
        raise forbidden("the access log") from None
    shown_entries = [
        {k: v for k, v in entry.items() if k not in ("council", "digest")} for entry in entries
    ]
    query = {"child": child, "actor": actor, "from": from_, "to": to, "break_glass": break_glass}
    return answer(state, "access-log", query, shown_entries)


def shown(councils: frozenset[str]) -> dict[str, str]:
    """The councils a report was limited to, as only the service limits it: a header."""
    return {"X-Careledger-Councils": ",".join(sorted(councils))}


def _council_of(row: dict[str, Any]) -> str | None:
    if row.get("council"):
        return str(row["council"])
    child = str(row.get("child") or "")
    return child.partition(":")[0] if ":" in child else None
