"""The drift report as one self-contained HTML file an inspector can open offline.

Nothing is fetched when it is viewed: the style is inline, the charts are inline SVG drawn
here (no JavaScript), and a Content-Security-Policy forbids scripts and every network load.
Child references, names and free text come from case records, so the template escapes
everything (jinja2 autoescape): a recommendation's text is shown, never run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files

from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup, escape

from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections.drift import (
    MEASURE,
    MEASURES,
    TO_PUT_RIGHT,
    By,
    Count,
    Finding,
    Measure,
    Report,
    owners,
)
from careledger.projections.drift_settings import DriftSettings

TEMPLATE = "templates/drift.html.j2"

GROUPED_BY = {By.COUNCIL: "council", By.IRO: "IRO", By.TEAM: "social worker's team"}


@dataclass(frozen=True)
class Columns:
    """What a finding's subject, date and days mean for one measure (None: not shown)."""

    subject: str
    on: str | None
    days: str | None


COLUMNS = {
    "review_overdue": Columns("Child", "Review due by", "Days overdue"),
    "review_late": Columns("Child", "Review held on", "Days late"),
    "recommendation_overdue": Columns("Child", "Due by", "Days overdue"),
    "child_voice": Columns("Child", "Review held on", None),
    "permanence_missing": Columns("Child", "Second review", "Days since"),
    "iro_caseload": Columns("IRO", None, "Children"),
    "continuity": Columns("Child", None, "Changes"),
    "recording_lag": Columns("Child", None, "Latest (working days)"),
}
DEFAULT_COLUMNS = Columns("Subject", "Date", "Days")
NOTHING = "\u2013"  # an en dash: a rate of nothing counted


# --- charts -------------------------------------------------------------------------------

WIDTH, HEIGHT = 600, 210
LEFT, RIGHT, TOP, BOTTOM = 52, 10, 20, 46
SCALES = (0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    centre: float
    label: str  # the month, under the axis
    count: str  # above the bar
    title: str  # the numbers, for a tooltip and screen readers
    latest: bool


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    bars: list[Bar]
    ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    bottom: int = HEIGHT - BOTTOM


def chart(measure: Measure, points: list[tuple[date, Count]]) -> Chart | None:
    """A bar per month end: its height the rate, the count written above it."""
    if not points:
        return None
    top = _scale(max(c.rate for _, c in points))
    slot = (WIDTH - LEFT - RIGHT) / len(points)
    bars = [_bar(i, slot, top, day, c, i == len(points) - 1) for i, (day, c) in enumerate(points)]
    ticks = [Tick(_y(top * f, top), _percent(top * f)) for f in (0, 0.5, 1)]
    span = f"{_month(points[0][0])} to {_day(points[-1][0])}"
    title = f"{measure.title}: rate at each month end, {span}"
    return Chart(f"chart-{measure.key}", title, bars, ticks)


def _bar(i: int, slot: float, top: float, day: date, c: Count, latest: bool) -> Bar:
    y, x = _y(c.rate, top), LEFT + i * slot + slot * 0.15
    numbers = f"{c.count} of {c.of} ({rate(c)})" if c.of else "nothing to count"
    title, count = f"{_day(day)}: {numbers}", str(c.count) if c.of else NOTHING
    height, centre = HEIGHT - BOTTOM - y, x + slot * 0.35
    return Bar(x, y, slot * 0.7, height, centre, f"{day:%b %y}", count, title, latest)


def _scale(highest: float) -> float:
    return next(s for s in SCALES if highest <= s)


def _y(value: float, top: float) -> float:
    return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top), 1)


def _percent(value: float) -> str:
    return f"{value * 100:g}%"


# --- the page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    measure: Measure
    counts: list[Count]
    columns: Columns
    findings: list[Finding]
    owners: list[tuple[str, int, int]]
    chart: Chart | None
    trend: list[tuple[date, Count]]


@dataclass(frozen=True)
class Setting:
    name: str
    variable: str
    value: str
    description: str


def render_html(report: Report, children_named: bool = True) -> str:
    """The report's page; without `children_named`, its findings were withheld (a report
    for an inspector, who opens a named child only with a reason), and it says so."""
    grouped_by = GROUPED_BY.get(report.by) if report.by else None
    return _template().render(
        report=report,
        children_named=children_named,
        grouped_by=grouped_by,
        group_heading=grouped_by[:1].upper() + grouped_by[1:] if grouped_by else None,
        measures=MEASURES,
        measure_titles={key: m.title for key, m in MEASURE.items()},
        settings=settings(report.settings) + protocol_settings(report.protocol),
        summary=report.summary(),
        sections=[section(report, m) for m in MEASURES],
        corrections={c.key: c for c in TO_PUT_RIGHT},
    )


def section(report: Report, measure: Measure) -> Section:
    found = report.findings.get(measure.key, [])
    trend = [(day, counts[measure.key]) for day, counts in report.trend if measure.key in counts]
    overdue = owners(found) if measure.key == "recommendation_overdue" else []
    counts = [c for c in report.counts if c.measure == measure.key]
    columns = COLUMNS.get(measure.key, DEFAULT_COLUMNS)
    return Section(measure, counts, columns, found, overdue, chart(measure, trend), trend)


def settings(used: DriftSettings) -> list[Setting]:
    values = used.model_dump()
    return [
        Setting(name, f"CARELEDGER_{name.upper()}", _value(values[name]), info.description or "")
        for name, info in type(used).model_fields.items()
    ]


def protocol_settings(protocol: DisputeProtocol) -> list[Setting]:
    stages = "; ".join(f"{s.name}: {s.responder}, {s.working_days}" for s in protocol.stages)
    return [
        Setting(
            "challenge_stages",
            "CARELEDGER_CHALLENGE_STAGES",
            stages,
            "each stage of the dispute-resolution protocol, who answers, and the working days "
            "to respond (local; the default is a policy choice)",
        ),
        Setting(
            "challenge_formal_limit_working_days",
            "CARELEDGER_CHALLENGE_FORMAL_LIMIT_WORKING_DAYS",
            str(protocol.formal_limit_working_days),
            "the whole formal process (IRO Handbook ch.6, verified at second hand)",
        ),
    ]


def _value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def rate(count: Count) -> str:
    """As a percentage; to a tenth below 10%, so that a few children never read as 0%."""
    if not count.of:
        return NOTHING
    return f"{count.rate:.1%}" if 0 < count.rate < 0.1 else f"{count.rate:.0%}"


def _day(value: date | str | None) -> str:
    if value is None:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.day} {day:%b %Y}"


def breakable(name: str) -> Markup:
    """A setting's name (or its variable's) that may break after each underscore: a long name
    wraps in its column at a word's end, not off the side of the page."""
    return Markup("_<wbr>").join(escape(part) for part in name.split("_"))


def _month(day: date) -> str:
    return f"{day:%b %Y}"


@cache
def _template() -> Template:
    env = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters.update(
        day=_day, rate=rate, breakable=breakable, long_day=lambda d: f"{d.day} {d:%B %Y}"
    )
    return env.from_string(files("careledger.cli").joinpath(TEMPLATE).read_text(encoding="utf-8"))
