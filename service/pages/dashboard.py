"""The inspector's dashboard: the drift report, live from the projections, for the councils
the signed-in person may read aggregate reports of (an inspector: those they inspect), with
its groupings and its month-end trend. Counts and rates only: no child is named on it, as
an inspector opens a named child's record only after stating a reason (`break_glass`).

It leads with the summary; how the counts are made (settings, rules and their sources)
follows. The measures are those of the drift report (CPPCR 2010 regs 33, 36, 37; IRO
Handbook), counted by `careledger.api` as `careledger drift` counts them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from careledger.access.errors import AccessRefused
from careledger.api import today as england_today
from careledger.cli.drift_html import breakable, protocol_settings, rate, settings
from careledger.projections.drift import MEASURE, MEASURES, TO_PUT_RIGHT, By, Count, Report
from careledger.service.pages.errors import FieldError
from careledger.service.pages.rendering import page
from careledger.service.pages.signed import SignInFirst, person, to_sign_in
from careledger.service.state import state_of

router = APIRouter()

TREND_MONTHS = 12
GROUPINGS = {"": "Not grouped", **{by.value: label for by, label in (
    (By.COUNCIL, "Council"), (By.IRO, "IRO"), (By.TEAM, "Social worker's team"))}}  # fmt: skip
Choice = Annotated[str, Query(max_length=20)]


@dataclass(frozen=True)
class SummaryRow:
    key: str
    title: str
    group: str
    count: int
    of: int
    rate: str
    year_before: str | None  # the overall rate at the first month end of the trend


@dataclass(frozen=True)
class Trend:
    key: str
    title: str
    points: list[tuple[date, Count, str]]  # month end, count, rate


@dataclass(frozen=True)
class SettingRow:
    name: Markup
    variable: Markup
    value: str
    description: str


@router.get("/dashboard")
def dashboard(request: Request, group_by: Choice = "", council: Choice = "") -> Response:
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    state = state_of(request)
    council = council.strip().upper()
    try:
        permitted = state.ledger.access.check_report(who, "drift", None)
    except AccessRefused:
        return page(request, "not_for_your_role.html.j2", who, status_code=403,
                    title="Drift and delay")  # fmt: skip
    errors = _errors(group_by, council, permitted)
    if errors:
        group_by = council = ""
    councils = frozenset({council}) if council else permitted
    report = state.reader.drift(
        england_today(), group_by or None, months=TREND_MONTHS, councils=councils
    )
    return page(
        request,
        "dashboard.html.j2",
        who,
        status_code=400 if errors else 200,
        title="Drift and delay",
        errors=errors,
        report=report,
        councils=sorted(councils),
        inspected=sorted(permitted),
        chosen={"group_by": group_by, "council": council},
        groupings=GROUPINGS,
        grouped_by=GROUPINGS[group_by] if group_by else None,
        summary=summary(report),
        trends=trends(report),
        to_put_right=to_put_right(report),
        settings=_settings(report),
        measures=MEASURES,
        statuses={m.key: breakable(m.status) for m in MEASURES},
        opens_with_reason=who.role == "INSPECTOR",
        not_yet_counted=state.reader.lag().events,
    )


def _errors(group_by: str, council: str, permitted: frozenset[str]) -> list[FieldError]:
    errors = []
    if group_by not in GROUPINGS:
        errors.append(FieldError("group_by", "Select how to group the counts"))
    if council and council not in permitted:
        errors.append(FieldError("council", "Select a council whose reports you may read"))
    return errors


def summary(report: Report) -> list[SummaryRow]:
    """Every measure's count per group, worst rate first, with the overall rate at the
    trend's first month end beside it when the report is not grouped."""
    first = report.trend[0][1] if report.trend and report.by is None else {}
    return [_summary_row(count, first.get(count.measure)) for count in report.summary()]


def _summary_row(count: Count, year_before: Count | None) -> SummaryRow:
    title = MEASURE[count.measure].title
    before = rate(year_before) if year_before is not None else None
    return SummaryRow(count.measure, title, count.group, count.count, count.of, rate(count), before)


def trends(report: Report) -> list[Trend]:
    return [
        Trend(
            measure.key,
            measure.title,
            [(day, counts[measure.key], rate(counts[measure.key])) for day, counts in report.trend],
        )
        for measure in MEASURES
    ]


def to_put_right(report: Report) -> list[tuple[str, str, int, str]]:
    """Records the council is to put right: (what, group, how many, rule); counts only."""
    kinds = {kind.key: kind for kind in TO_PUT_RIGHT}
    return [
        (kinds[c.measure].title, c.group, c.count, kinds[c.measure].rule)
        for c in report.to_put_right
    ]


def _settings(report: Report) -> list[SettingRow]:
    used = settings(report.settings) + protocol_settings(report.protocol)
    return [
        SettingRow(breakable(s.name), breakable(s.variable), s.value, s.description) for s in used
    ]
