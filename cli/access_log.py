"""`careledger access-log`: who read a child's record, for a subject access request (UK GDPR
art. 15) or an inquiry. Every entry is shown, allowed and refused, with the reason given for
a break-glass read."""

from __future__ import annotations

from datetime import datetime, time

import click

from careledger.api import opened
from careledger.cli.options import DB_OPTION, FORMAT_OPTION, parse_child, parse_day
from careledger.cli.principal import cli_principal
from careledger.cli.render import render
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.errors import LedgerError


@click.command(name="access-log")
@DB_OPTION
@click.option("--child", default=None, help="Only reads of this child (COUNCIL:REF).")
@click.option("--actor", default=None, help="Only reads by this person or system.")
@click.option("--from", "from_", default=None, help="From this day (YYYY-MM-DD), inclusive.")
@click.option("--to", "to", default=None, help="To this day (YYYY-MM-DD), inclusive.")
@click.option(
    "--break-glass",
    is_flag=True,
    help="Only reads made with a stated reason (an inspector opening a named child): the "
    "list for the council's IRO manager.",
)
@FORMAT_OPTION
def access_log_command(
    db: str | None,
    child: str | None,
    actor: str | None,
    from_: str | None,
    to: str | None,
    break_glass: bool,
    fmt: str,
) -> None:
    """The access log's entries, oldest first."""
    named = parse_child(child, None) if child else None
    first, last = parse_day(from_, "--from"), parse_day(to, "--to")
    if first and last and first > last:
        raise LedgerError("--from: is after --to")
    since = datetime.combine(first, time.min, ENGLAND) if first else None
    until = datetime.combine(last, time.max, ENGLAND) if last else None
    with opened(db) as o:
        rows = o.access.log(
            f"{named.council}:{named.child_ref}" if named else None,
            actor,
            since,
            until,
            who=cli_principal(),
            break_glass=break_glass,
        )
    shown = [{k: v for k, v in row.items() if k not in ("council", "digest")} for row in rows]
    query = {"child": child, "actor": actor, "from": first, "to": last}
    render(shown, fmt, "Access log", "no reads recorded", query | {"break_glass": break_glass})
