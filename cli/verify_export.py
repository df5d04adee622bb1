"""`careledger verify-export FILE`: does an exported chronology still match the ledger? The
checks (`careledger.api`'s `verify_export`, `projections.chronology_check`): the same events,
unchanged; the file exactly what the ledger gives for them; the entries corrected since; the
events recorded since."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from careledger.api import opened
from careledger.cli.options import DB_OPTION, parse_child
from careledger.cli.principal import log_read

CORRECTED_SINCE = 4  # exit status: matches, but some entries are no longer the ledger's word


@click.command(name="verify-export")
@DB_OPTION
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def verify_export_command(db: str | None, file: Path, fmt: str) -> None:
    """Check an exported chronology against the ledger: the same events, unchanged, the same
    content, whether any of its entries has been corrected since, and whether the case has
    grown. Exit status 1 when it does not match; 4 when it matches but entries have been
    corrected since (the export is no longer the ledger's word for them)."""
    data = file.read_bytes()
    with opened(db) as o:
        verdict = o.verify_export(data)
        log_read(o.access, parse_child(verdict.child, None), "chronology")
    report = verdict.report()
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        for line in report["findings"]:
            click.echo(line)
    if not report["matches"]:
        sys.exit(1)
    if verdict.corrected_since:
        sys.exit(CORRECTED_SINCE)
