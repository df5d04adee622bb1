"""Options and arguments the commands share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from careledger.api import use_input_limits
from careledger.cli.render import format_option
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import refusal_from
from careledger.ledger.domain.fields import new_case_key
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.errors import LedgerError
from careledger.projections.queries import Child

DB_OPTION = click.option(
    "--db",
    envvar="CARELEDGER_DB",
    default=None,
    help="SQLite file path or postgresql:// URL (env CARELEDGER_DB; default ./careledger.db).",
)
FORMAT_OPTION = format_option()


def parse_child(value: str, council: str | None) -> Child:
    """CHILD is COUNCIL:REF, or REF with --council (or env CARELEDGER_COUNCIL)."""
    if ":" in value:
        council_part, ref = value.split(":", 1)
        return Child(council_part.strip(), ref.strip())
    if not council:
        raise LedgerError(f"CHILD: '{value}' needs a council: give COUNCIL:REF or --council")
    return Child(council, value)


def named(child: Child) -> str:
    """A child as every report names them: COUNCIL:REF."""
    return f"{child.council}:{child.child_ref}"


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


def new_council_code(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    """A council's code that may open cases: `council_code`, and only the characters a new
    case's council may hold (`ledger.domain.fields.new_case_key`)."""
    code = council_code(ctx, param, value)
    if code is None:
        return None
    try:
        return new_case_key(code)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


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


def actor_of(actor: str, role: str) -> p.Actor:
    """Who is recording, from --actor/CARELEDGER_ACTOR and --role: an id like any other."""
    use_input_limits()
    try:
        return p.Actor(actor_id=actor, role=Role(role))
    except ValidationError as error:
        refusal = refusal_from(error)
        raise LedgerError(f"--actor (CARELEDGER_ACTOR): {refusal.problem}") from None


Decorated = TypeVar("Decorated", bound=Callable[..., Any])


def renamed_option(
    new: str, name: str, old: str, *, required: bool = False, **settings: Any
) -> Callable[[Decorated], Decorated]:
    """The option `new`, still read under its earlier name `old` (hidden from --help, with a
    one-line note on stderr) so that scripts written for it keep working. Given both, or
    `old` beside the environment variable, the command line's `old` wins over the
    environment and `new` over `old`."""
    key = f"renamed:{name}"

    def remember_old(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            click.echo(f"note: {old} is deprecated; use {new}", err=True)
            ctx.meta[key] = value

    def take_old(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        given = ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
        if not given and key in ctx.meta:
            value = ctx.meta[key]
        if value is None and required:
            raise click.MissingParameter(ctx=ctx, param=param)
        return value

    type_ = settings.get("type")
    hidden_old = click.option(
        old,
        f"deprecated_{name}",
        type=type_,
        hidden=True,
        is_eager=True,  # read before `new`, whose callback takes its value
        expose_value=False,
        callback=remember_old,
    )
    shown_new = click.option(new, name, callback=take_old, **settings)

    def decorate(function: Decorated) -> Decorated:
        return hidden_old(shown_new(function))

    return decorate
