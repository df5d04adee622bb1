"""`careledger reviews` and `careledger drift`: what is due for a child, and drift and delay
across a council."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import click

from careledger.api import opened, setting
from careledger.cli.drift_output import as_csv, as_json, show_tables
from careledger.cli.options import (
    CHILD_ARGUMENT,
    COUNCIL_OPTION,
    DB_OPTION,
    load_protocol,
    parse_child,
    parse_day,
)
from careledger.cli.render import render
from careledger.ledger.domain.case import ENGLAND
from careledger.projections import reviews as child_reviews
from careledger.projections.drift import By, drift_report
from careledger.projections.safe_text import printable

AS_OF_OPTION = click.option(
    "--as-of",
    help="The business date: what had happened by the end of it (YYYY-MM-DD; default today).",
)
AS_RECORDED_ON_OPTION = click.option(
    "--as-recorded-on",
    help="Only what had been recorded by the end of this date (default: everything recorded).",
)


def recorded_title(as_recorded_on: date | None) -> str:
    return f", as recorded by the end of {as_recorded_on}" if as_recorded_on else ""


def today() -> date:
    return datetime.now(ENGLAND).date()


@click.command()
@DB_OPTION
@CHILD_ARGUMENT
@COUNCIL_OPTION
@AS_OF_OPTION
@AS_RECORDED_ON_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def reviews(
    db: str | None,
    child: str,
    council: str | None,
    as_of: str | None,
    as_recorded_on: str | None,
    fmt: str,
) -> None:
    """The child's review timetable (reg 33), past and next, and the reviews' recommendations."""
    who = parse_child(child, council)
    on = parse_day(as_of, "--as-of") or today()
    known = parse_day(as_recorded_on, "--as-recorded-on")
    with opened(db) as o:
        o.catch_up()
        timetable = child_reviews.timetable(o.views, who, on, known)
        recommendations = child_reviews.recommendations(o.views, who, on, known)
    name = f"{who.council}:{who.child_ref}"
    if fmt == "json":
        recorded = known.isoformat() if known else None
        data: dict[str, Any] = {"child": name, "as_of": on.isoformat(), "as_recorded_on": recorded}
        data |= {"reviews": timetable, "recommendations": recommendations}
        click.echo(json.dumps(data, indent=2))
        return
    title = f"Reviews of {name} as of {on}{recorded_title(known)} (reg 33)"
    render(timetable, fmt, title, "no period of care recorded")
    render(recommendations, fmt, f"Recommendations of {name}'s reviews (reg 37)")


@click.command()
@DB_OPTION
@AS_OF_OPTION
@AS_RECORDED_ON_OPTION
@click.option("--by", type=click.Choice([b.value for b in By]), help="Count per group.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]), default="table"
)
def drift(
    db: str | None, as_of: str | None, as_recorded_on: str | None, by: str | None, fmt: str
) -> None:
    """Drift and delay across the ledger: counts and rates per measure, worst first, and the
    children behind each count. --as-of D --as-recorded-on D shows what an inspector would
    have seen on D."""
    on = parse_day(as_of, "--as-of") or today()
    known = parse_day(as_recorded_on, "--as-recorded-on")
    settings = setting("drift")
    protocol = load_protocol()
    months = 12 if fmt == "html" else 0
    with opened(db) as o:
        o.catch_up()
        grouped = By(by) if by else None
        report = drift_report(o.views, on, grouped, settings, months, protocol, known)
    if fmt == "json":
        click.echo(json.dumps(as_json(report), indent=2, default=str))
    elif fmt == "csv":
        click.echo(as_csv(report), nl=False)
    elif fmt == "html":
        from careledger.cli.drift_html import render_html

        click.echo(printable(render_html(report)))
    else:
        show_tables(report)
