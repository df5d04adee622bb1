"""`careledger verify-export FILE`: does an exported chronology still match the ledger? The
checks (`careledger.api`'s `verify_export`, `projections.chronology_check`): the same events,
unchanged; the file exactly what the ledger gives for them; the entries corrected since; the
events recorded since."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from careledger.cli.exit_status import CORRECTED_SINCE, VERIFICATION_FAILED
from careledger.cli.options import DB_OPTION
from careledger.cli.principal import log_read
from careledger.cli.reading import CATCH_UP_OPTION, READ_DB_OPTION, opened_to_read
from careledger.cli.render import emit_json, format_option


@click.command(name="verify-export")
@DB_OPTION
@READ_DB_OPTION
@CATCH_UP_OPTION
@click.argument(
    "file", type=click.Path(path_type=Path, dir_okay=False, exists=True, allow_dash=True)
)
@format_option(aliases={"text": "table"})  # `text`: its earlier name, still read
def verify_export_command(
    db: str | None, read_db: str | None, catch_up: bool, file: Path, fmt: str
) -> None:
    """Check an exported chronology (FILE, or - for standard input) against the ledger: the
    same events, unchanged, the same content, whether any of its entries has been corrected
    since, and whether the case has grown. Exit status 3 when it does not match; 4 when it
    matches but entries have been corrected since (the export is no longer the ledger's word
    for them)."""
    data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    with opened_to_read(db, read_db, catch_up) as o:
        verdict = o.verify_export(data)
        log_read(o, verdict.child, "chronology", db)
    report = verdict.report()
    if fmt == "json":
        emit_json({"file": "-" if str(file) == "-" else file}, report)
    else:
        for line in report["findings"]:
            click.echo(line)
    if not report["matches"]:
        sys.exit(VERIFICATION_FAILED)
    if verdict.corrected_since:
        sys.exit(CORRECTED_SINCE)
