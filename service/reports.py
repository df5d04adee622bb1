"""Reports over many children: the unapproved changes, drift and delay (JSON, CSV or the
self-contained HTML), the integrity chain of the whole ledger, and the access log a
data-protection officer answers a subject access request from. Each is limited to the
councils `Access.check_report` gives the principal."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from careledger.access.policy import Scope, rights
from careledger.access.principal import Principal
from careledger.api import today
from careledger.projections.drift import Report
from careledger.service.freshness import lag_header
from careledger.service.identity import Signed
from careledger.service.problems import not_found
from careledger.service.reads import answer, verdict_json
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
    """The councils this report may show the principal; none: not found."""
    state = state_of(request)
    code = council.strip().upper() if council else None
    councils = state.ledger.access.check_report(who, report, code)
    if not councils:
        raise not_found()
    return frozenset(councils)


@router.get("/unapproved", summary="Changes without review approval, across the councils")
def unapproved(request: Request, who: Signed, council: Council = None) -> JSONResponse:
    councils = councils_for(request, who, "unapproved", council)
    state = state_of(request)
    rows = [row for row in state.reader.unapproved() if _council_of(row) in councils]
    return answer(state, {"councils": sorted(councils), "unapproved": rows})


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
    lag = {"X-Careledger-Lag": lag_header(state)}
    if format == "csv":
        return Response(as_csv(report), media_type="text/csv; charset=utf-8", headers=lag)
    if format == "html":
        headers = lag | {"Content-Security-Policy": REPORT_POLICY}
        return Response(render_html(report, named), media_type="text/html; charset=utf-8",
                        headers=headers)  # fmt: skip
    body = json.loads(json.dumps(as_json(report), default=str))
    extra = {"councils": sorted(councils), "children_named": named}
    return JSONResponse(body | extra, headers=lag)


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
    """For those who read reports across a council: the chain's digests and counts, no
    child's record."""
    councils_for(request, who, "drift", None)
    state = state_of(request)
    return answer(state, verdict_json(state.reader.verify()))


@router.get("/access-log", summary="Who read which child's record, when, and why")
def access_log(
    request: Request,
    who: Signed,
    child: Annotated[str | None, Query(max_length=420)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
) -> JSONResponse:
    state = state_of(request)
    entries = state.ledger.access.log(child, actor, from_, to, who=who)
    return JSONResponse(json.loads(json.dumps({"entries": entries}, default=str)))


def _council_of(row: dict[str, Any]) -> str | None:
    if row.get("council"):
        return str(row["council"])
    child = str(row.get("child") or "")
    return child.partition(":")[0] if ":" in child else None
