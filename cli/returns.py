"""`careledger import-903`, `export-903` and `inconsistencies`: the DfE's SSDA903 return in
and out of the ledger."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from careledger.api import opened
from careledger.cli.options import (
    COUNCIL_OPTION,
    DB_OPTION,
    FORCE_OPTION,
    FORMAT_OPTION,
    actor_of,
    council_code,
    named,
    new_council_code,
    parse_child,
)
from careledger.cli.reading import CATCH_UP_OPTION, READ_DB_OPTION, opened_to_read
from careledger.cli.render import render
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.errors import LedgerError
from careledger.ledger.private_files import refuse_links
from careledger.ledger.ssda903.importer import ImportReport
from careledger.ledger.ssda903.records import collection_name
from careledger.projections import returns
from careledger.projections.safe_text import printable, spreadsheet_row

YEAR = click.option(
    "--year",
    type=click.IntRange(2000, 2100),
    required=True,
    help="Collection year: 2017 is the return for 1 April 2017 to 31 March 2018.",
)


@click.command("import-903")
@DB_OPTION
@CATCH_UP_OPTION
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--council", required=True, callback=new_council_code,
    help="The council's code (e.g. its LA code).",
)  # fmt: skip
@YEAR
@click.option(
    "--accept-partial",
    is_flag=True,
    help="Record the children whose rows all read; write the refused rows to --report.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the refused rows are written, readable by you only "
    "(default DIRECTORY-refused-<year>.csv here).",
)
@FORCE_OPTION
@click.option(
    "--actor", envvar="CARELEDGER_ACTOR", required=True,
    help="Who is importing (env CARELEDGER_ACTOR).",
)  # fmt: skip
@click.option(
    "--role", envvar="CARELEDGER_ROLE", default=Role.ADMIN.value,
    type=click.Choice([r.value for r in Role]),
)  # fmt: skip
def import_903(
    db: str | None,
    catch_up: bool,
    directory: Path,
    council: str,
    year: int,
    accept_partial: bool,
    report_path: Path | None,
    force: bool,
    actor: str,
    role: str,
) -> None:
    """Import a council's SSDA903 return (Header, Episodes, Reviews; SWEpisodes if present)
    from the CSV files in DIRECTORY, recognised by their columns. Importing it again records
    nothing new; a later return's restatements are recorded as corrections."""
    recorded_by = actor_of(actor, role)
    report_path = report_path or Path(f"{directory.name}-refused-{year}.csv")
    if accept_partial and not report_path.parent.is_dir():
        raise LedgerError(f"--report: {report_path.parent} is not a directory")
    if accept_partial and not force:
        refuse_links([report_path], "--report")  # before anything is recorded
    with opened(db, catch_up=catch_up) as o:
        report = o.import_return(
            directory, council, year, recorded_by.actor_id, role, accept_partial
        )
    if report.refused:
        _refused(report, report_path, accept_partial, force)
    click.echo(
        f"{council} {collection_name(year)}: {report.children} children, "
        f"{report.events} event(s) recorded ({report.corrections} restatement(s) as "
        f"corrections), {report.unchanged} already in the ledger as given"
    )


def _refused(report: ImportReport, path: Path, accept_partial: bool, force: bool) -> None:
    rows = [
        {"file": r.file, "row": r.row, "column": r.column, "reason": r.reason, "child": r.child}
        for r in report.refused
    ]
    if not accept_partial:
        for r in rows[:20]:
            line = f"{r['file']} row {r['row']}, {r['column']}: {r['reason']}"
            click.echo(printable(line), err=True)
        more = f" (the first 20 of {len(rows)} shown)" if len(rows) > 20 else ""
        raise LedgerError(
            f"{len(rows)} row(s) cannot be read or recorded{more}; nothing recorded. "
            "Mend them, or give --accept-partial to record the other children"
        )
    with returns.private_file(path, "--report", force) as f:
        writer = csv.DictWriter(f, fieldnames=["file", "row", "column", "reason", "child"])
        writer.writeheader()
        writer.writerows(spreadsheet_row(row) for row in rows)
    click.echo(
        f"{len(rows)} row(s) refused; no event recorded for their "
        f"{len(report.refused_children)} child(ren); the rows are listed in {path}",
        err=True,
    )


@click.command("export-903")
@DB_OPTION
@READ_DB_OPTION
@CATCH_UP_OPTION
@click.option("--council", required=True, callback=council_code)
@YEAR
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@FORCE_OPTION
def export_903(
    db: str | None,
    read_db: str | None,
    catch_up: bool,
    council: str,
    year: int,
    directory: Path,
    force: bool,
) -> None:
    """Write Header, Episodes and Reviews for one collection year into DIRECTORY, in the
    DfE's CSV layout, from what the ledger holds."""
    with opened_to_read(db, read_db, catch_up) as o:
        counts = o.export_return(council, year, directory, force)
    click.echo(
        f"wrote {counts['header']} children, {counts['episodes']} episodes and "
        f"{counts['reviews']} reviews to {directory}"
    )


@click.command("inconsistencies")
@DB_OPTION
@READ_DB_OPTION
@CATCH_UP_OPTION
@click.option("--child", "child", default=None, help="Only this child (COUNCIL:REF).")
@COUNCIL_OPTION
@click.option(
    "--year", type=int, default=None,
    help="Judge the return for this collection year only (default: all the ledger holds).",
)  # fmt: skip
@FORMAT_OPTION
def inconsistencies(
    db: str | None,
    read_db: str | None,
    catch_up: bool,
    child: str | None,
    council: str | None,
    year: int | None,
    fmt: str,
) -> None:
    """What the SSDA903 records say that does not fit together (the imported returns, and
    the episodes the council's own records make), per child, with the DfE validation rule
    each matches."""
    who = parse_child(child, council) if child else None
    with opened_to_read(db, read_db, catch_up) as o:
        rows = o.inconsistencies(who, council, year)
    query = {"child": named(who) if who else None, "council": council, "year": year}
    render(rows, fmt, "Inconsistencies in the SSDA903 records", "none found", query)
