"""`careledger reviews` and `careledger drift`: what is due for a child, and drift and delay
across a council."""

from __future__ import annotations

from datetime import date, datetime

import click

from careledger.cli.drift_output import as_csv, as_json, show_tables
from careledger.cli.options import (
    CHILD_ARGUMENT,
    COUNCIL_OPTION,
    DB_OPTION,
    FORMAT_OPTION,
    named,
    parse_child,
    parse_day,
    renamed_option,
)
from careledger.cli.principal import log_read
from careledger.cli.reading import CATCH_UP_OPTION, READ_DB_OPTION, opened_to_read
from careledger.cli.render import emit_json, format_option, show_table
from careledger.ledger.domain.case import ENGLAND
from careledger.projections.drift import By
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
@READ_DB_OPTION
@CATCH_UP_OPTION
@CHILD_ARGUMENT
@COUNCIL_OPTION
@AS_OF_OPTION
@AS_RECORDED_ON_OPTION
@FORMAT_OPTION
def reviews(
    db: str | None,
    read_db: str | None,
    catch_up: bool,
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
    with opened_to_read(db, read_db, catch_up) as o:
        log_read(o, who, "reviews", db)
        found = o.reviews(who, on, known)
    if fmt == "json":
        emit_json({"child": named(who), "as_of": on, "as_recorded_on": known or today()}, found)
        return
    name = named(who)
    title = f"Reviews of {name} as of {on}{recorded_title(known)} (reg 33)"
    show_table(found["timetable"], title, "no period of care recorded")
    show_table(found["recommendations"], f"Recommendations of {name}'s reviews (reg 37)")


@click.command()
@DB_OPTION
@READ_DB_OPTION
@CATCH_UP_OPTION
@AS_OF_OPTION
@AS_RECORDED_ON_OPTION
@renamed_option(
    "--group-by",
    "group_by",
    "--by",
    type=click.Choice([b.value for b in By]),
    help="Count per group.",
)
@format_option("csv", "html")
def drift(
    db: str | None,
    read_db: str | None,
    catch_up: bool,
    as_of: str | None,
    as_recorded_on: str | None,
    group_by: str | None,
    fmt: str,
) -> None:
    """Drift and delay across the ledger: counts and rates per measure, worst first, and the
    children behind each count. --as-of D --as-recorded-on D shows what an inspector would
    have seen on D."""
    on = parse_day(as_of, "--as-of") or today()
    known = parse_day(as_recorded_on, "--as-recorded-on")
    months = 12 if fmt == "html" else 0
    with opened_to_read(db, read_db, catch_up) as o:
        report = o.drift(on, group_by, known, months)
    if fmt == "json":
        query = {"as_of": on, "as_recorded_on": known or today(), "group_by": group_by}
        emit_json(query, as_json(report))
    elif fmt == "csv":
        click.echo(as_csv(report), nl=False)
    elif fmt == "html":
        from careledger.cli.drift_html import render_html

        click.echo(printable(render_html(report)))
    else:
        show_tables(report)
