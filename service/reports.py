"""Reports over many children: the unapproved changes, drift and delay (JSON, CSV or the
self-contained HTML), the integrity chain of the whole ledger, and the access log a
data-protection officer answers a subject access request from. Each is limited to the
councils `Access.check_report` gives the principal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from careledger.access.errors import AccessRefused
from careledger.access.principal import Principal
from careledger.api import today
from careledger.cli.integrity import verification
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.errors import LedgerError
from careledger.projections.drift import By, Count, Report
from careledger.service.freshness import lag_header
from careledger.service.identity import Signed
from careledger.service.problems import Problem, forbidden
from careledger.service.reads import answer, head_keys, verify_query
from careledger.service.state import ServiceState, state_of

router = APIRouter()

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
    return answer(state, "unapproved", {"child": None}, rows, shown(councils))


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
    report = _drift_within(state, councils, on, as_recorded_on, group_by, months)
    lag = {"X-Careledger-Lag": lag_header(state)} | shown(councils)
    if format == "csv":
        return Response(as_csv(report), media_type="text/csv; charset=utf-8", headers=lag)
    if format == "html":
        headers = lag | {"Content-Security-Policy": REPORT_POLICY}
        return Response(render_html(report), media_type="text/html; charset=utf-8",
                        headers=headers)  # fmt: skip
    query = {"as_of": on, "as_recorded_on": as_recorded_on or today(), "group_by": group_by}
    return answer(state, "drift", query, as_json(report), shown(councils))


def _drift_within(
    state: ServiceState,
    councils: frozenset[str],
    on: date,
    known: date | None,
    by: str | None,
    months: int,
) -> Report:
    """The report as asked when the ledger holds no other council's children; otherwise each
    permitted council's counts and findings only, summed when no grouping is asked (an IRO's
    or team's count could mix councils: refused), without the trend."""
    per_council = state.reader.drift(on, By.COUNCIL.value, known)
    present = {count.group for count in per_council.counts}
    if present <= councils:
        if by == By.COUNCIL.value and not months:
            return per_council
        return state.reader.drift(on, by, known, months=months)
    if by in (By.IRO.value, By.TEAM.value):
        raise Problem(
            403, "Forbidden",
            "an IRO's or a team's counts can span councils you may not see: group by council, "
            "or not at all", "group_by",
        )  # fmt: skip
    counts = [count for count in per_council.counts if count.group in councils]
    findings = {
        measure: [f for f in found if f.group in councils]
        for measure, found in per_council.findings.items()
    }
    put_right = [count for count in per_council.to_put_right if count.group in councils]
    if by is None:
        counts, put_right = _summed(counts), _summed(put_right)
        findings = {m: [f._replace(group="all") for f in found] for m, found in findings.items()}
    return replace(
        per_council, by=By(by) if by else None, counts=counts, findings=findings,
        to_put_right=put_right, trend=[],
    )  # fmt: skip


def _summed(counts: list[Count]) -> list[Count]:
    totals: dict[str, tuple[int, int]] = {}
    for count in counts:
        done, of = totals.get(count.measure, (0, 0))
        totals[count.measure] = (done + count.count, of + count.of)
    return [Count(measure, "all", done, of) for measure, (done, of) in totals.items()]


@router.get("/verify", summary="The whole ledger's integrity chain, recomputed")
def verify(request: Request, who: Signed) -> JSONResponse:
    """For those who read reports across a council: the chain's digests and counts, no
    child's record."""
    councils_for(request, who, "drift", None)
    state = state_of(request)
    _, report = verification(state.reader, None, head_keys=head_keys())
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
