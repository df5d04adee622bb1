"""`careledger settings`: every setting in force and where it came from; and the settings
file's values as the defaults of the options that have a variable (`--db`, `--actor`, ...).

The environment and the file are read by `careledger.settings`; here they only meet the
command line, whose options come first (click reads an option's variable itself, then the
defaults below, which are the file's).
"""

from __future__ import annotations

import json
import os
from typing import Any

import click
from click.core import ParameterSource

from careledger.cli.options import COUNCIL_OPTION, DB_OPTION, FORMAT_OPTION
from careledger.cli.render import render
from careledger.ledger.domain.vocabulary import Role
from careledger.settings import (
    PREFIXES,
    file_values,
    load_settings,
    origin,
    shown,
    variables,
)


def file_defaults(command: click.Command) -> dict[str, Any]:
    """The settings file's values for the options of `command` and its subcommands that
    read a variable: click's `default_map`, which the command line and the environment
    both come before."""
    given = {
        f"{PREFIXES[section]}{field.upper()}": value
        for section, table in file_values().items()
        for field, value in table.items()
    }
    return _defaults(command, given)


def _defaults(command: click.Command, given: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(command, click.Group):
        for name, subcommand in command.commands.items():
            inner = _defaults(subcommand, given)
            if inner:
                found[name] = inner
    for param in command.params:
        envvar = getattr(param, "envvar", None)
        if isinstance(envvar, str) and envvar in given and param.name:
            value = str(given[envvar])
            found[param.name] = value.split(os.pathsep) if param.multiple else value
    return found


@click.command("settings")
@DB_OPTION
@COUNCIL_OPTION
@click.option("--actor", envvar="CARELEDGER_ACTOR", help="Who would record.")
@click.option(
    "--role", envvar="CARELEDGER_ROLE", type=click.Choice([r.value for r in Role]),
    help="Their role.",
)  # fmt: skip
@FORMAT_OPTION
@click.pass_context
def settings_command(
    ctx: click.Context,
    db: str | None,
    council: str | None,
    actor: str | None,
    role: str | None,
    fmt: str,
) -> None:
    """Every setting in force, and where it came from: the default, an environment
    variable, the settings file (CARELEDGER_SETTINGS_FILE, or ./careledger.toml) or an
    option. Secrets are shown only as set or not set. A bad value is one line naming its
    variable."""
    in_force = load_settings()
    options = {"CARELEDGER_DB": "db", "CARELEDGER_COUNCIL": "council",
               "CARELEDGER_ACTOR": "actor", "CARELEDGER_ROLE": "role"}  # fmt: skip
    rows = []
    for variable in variables():
        value = getattr(getattr(in_force, variable.section), variable.field)
        source = origin(variable)
        option = options.get(variable.name)
        if option and ctx.get_parameter_source(option) == ParameterSource.COMMANDLINE:
            value, source = ctx.params[option], f"--{option}"
        rows.append(
            {
                "variable": variable.name,
                "section": variable.section,
                "value": _text(shown(value, variable.secret), fmt),
                "from": source,
            }
        )
    query = {"council": council, "actor": actor, "role": role}  # --db: its own row, masked
    render(rows, fmt, "Settings in force", query=query)


def _text(value: object, fmt: str) -> object:
    """A table shows a list or a mapping as JSON; JSON output keeps it as it is."""
    if fmt == "json" or isinstance(value, str | int | float | bool) or value is None:
        return value
    return json.dumps(value)
