"""Options and arguments the commands share."""

from __future__ import annotations

from datetime import date

import click

from cli.render import FORMATS
from ledger.errors import LedgerError
from ledger.protocol import DisputeProtocol
from projections.queries import Child

DB_OPTION = click.option(
    "--db",
    envvar="CARELEDGER_DB",
    default=None,
    help="SQLite file path or postgresql:// URL (env CARELEDGER_DB; default ./careledger.db).",
)
FORMAT_OPTION = click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)


def parse_child(value: str, council: str | None) -> Child:
    """CHILD is COUNCIL:REF, or REF with --council (or env CARELEDGER_COUNCIL)."""
    if ":" in value:
        council_part, ref = value.split(":", 1)
        return Child(council_part.strip(), ref.strip())
    if not council:
        raise LedgerError(f"CHILD: '{value}' needs a council: give COUNCIL:REF or --council")
    return Child(council, value)


def council_code(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A council's code as the case ids read it (trimmed, upper case): ' e09000027' and
    'E09000027' are one council, to every check as to the case ids."""
    if value is None:
        return None
    code = value.strip().upper()
    if not code:
        raise click.BadParameter("is empty: give the council's code (e.g. its LA code)")
    return code


FORCE_OPTION = click.option(
    "--force",
    is_flag=True,
    help="Write through a symbolic link at the output path (refused otherwise).",
)
CHILD_ARGUMENT = click.argument("child")
COUNCIL_OPTION = click.option(
    "--council",
    envvar="CARELEDGER_COUNCIL",
    default=None,
    help="Council code, when CHILD is given without one.",
)


def parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LedgerError(f"{name}: '{value}' is not a date (YYYY-MM-DD)") from None


def load_protocol() -> DisputeProtocol:
    """The council's dispute-resolution protocol, from CARELEDGER_CHALLENGE_* settings."""
    return DisputeProtocol.from_environment()
