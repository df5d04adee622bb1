"""`careledger chronology CHILD`: the court chronology of one child, as Markdown,
CSV, HTML, PDF or JSON (`careledger.api`'s `chronology`, rendered by
`projections.chronology_forms`). Every form carries the stamp line (case, events, period, the
case's head digest, the digest of the rows) that `careledger verify-export` checks."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from careledger.cli.options import (
    CHILD_ARGUMENT,
    COUNCIL_OPTION,
    DB_OPTION,
    FORCE_OPTION,
    parse_child,
    parse_day,
    renamed_option,
)
from careledger.cli.principal import log_read
from careledger.cli.reading import READ_DB_OPTION, opened_to_read
from careledger.cli.render import format_option
from careledger.ledger.errors import LedgerError
from careledger.ledger.private_files import write_private
from careledger.projections.chronology_forms import render
from careledger.projections.safe_text import printable


@click.command(name="chronology")
@DB_OPTION
@READ_DB_OPTION
@CHILD_ARGUMENT
@COUNCIL_OPTION
@click.option("--from", "from_", help="First date (YYYY-MM-DD).")
@click.option("--to", "to", help="Last date (YYYY-MM-DD).")
@format_option(
    "md", "csv", "html", "pdf", default="md", aliases={"table": "md"},
    help="md (or table): a Markdown table; json: the court document itself, with its stamp.",
)  # fmt: skip
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Default: stdout. Written readable by you only.",
)
@FORCE_OPTION
@renamed_option(
    "--produced-by", "produced_by", "--by", envvar="CARELEDGER_ACTOR", required=True,
    help="Who produces it (env CARELEDGER_ACTOR).",
)  # fmt: skip
def chronology_command(
    db: str | None,
    read_db: str | None,
    child: str,
    council: str | None,
    from_: str | None,
    to: str | None,
    fmt: str,
    out: Path | None,
    force: bool,
    produced_by: str,
) -> None:
    """The decision chronology of a child for a court: one row per event in date order, with
    who decided, on what authority, the IRO's challenges, flags and the source reference;
    corrections shown where they apply. The header gives the case's head digest."""
    who = parse_child(child, council)
    period = (parse_day(from_, "--from"), parse_day(to, "--to"))
    if period[0] and period[1] and period[0] > period[1]:
        raise LedgerError("--from: is after --to")
    with opened_to_read(db, read_db, catch_up=False, projections=False) as o:
        log_read(o, who, "chronology", db)
        made = o.chronology(f"{who.council}:{who.child_ref}", produced_by, *period)
    data = render(made, fmt)
    if out is not None:
        write_private(out, data, "--out", force=force)
        done = f"chronology of {made.child}: {len(made.rows)} rows -> {out}"
        click.echo(printable(done), err=True)
    elif fmt == "pdf" and sys.stdout.isatty():
        raise LedgerError("--out: a PDF is not written to a terminal; give --out FILE")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
