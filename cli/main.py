"""The `careledger` command."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from careledger import __version__
from careledger.access.store import ROLE_GRANTS as ACCESS_ROLE_GRANTS
from careledger.api import debugging, opened, progress_bar, today, use_input_limits
from careledger.cli.access import shares, tokens, users
from careledger.cli.access_log import access_log_command
from careledger.cli.challenges import challenges
from careledger.cli.chronology import chronology_command
from careledger.cli.demo import demo
from careledger.cli.exit_status import EPILOG, REFUSED, VERIFICATION_FAILED
from careledger.cli.heads import head_key_command
from careledger.cli.integrity import (
    cipher_key_command,
    seal_command,
    seal_key_command,
    verify_command,
)
from careledger.cli.notify import notify_command
from careledger.cli.options import (
    CHILD_ARGUMENT,
    COUNCIL_OPTION,
    DB_OPTION,
    FORMAT_OPTION,
    actor_of,
    named,
    parse_child,
    parse_day,
)
from careledger.cli.principal import log_read
from careledger.cli.project import project
from careledger.cli.reading import CATCH_UP_OPTION, READ_DB_OPTION, opened_to_read
from careledger.cli.render import render
from careledger.cli.reports import drift, reviews
from careledger.cli.returns import export_903, import_903, inconsistencies
from careledger.cli.serve import serve_command
from careledger.cli.settings import file_defaults, settings_command
from careledger.cli.verify_export import verify_export_command
from careledger.ledger.application import BatchRefused
from careledger.ledger.domain import limits
from careledger.ledger.domain.commands import Command, parse_command
from careledger.ledger.domain.json_lines import (
    LineRefused,
    NotJSON,
    TooDeep,
    parse_json,
    read_commands,
)
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.errors import ChainBroken, LedgerError, RecordingRefused
from careledger.ledger.store.failures import STORE_ERRORS, problem
from careledger.ledger.store.roles import create_roles, role_names
from careledger.projections.safe_text import printable
from careledger.service.tables import ROLE_GRANTS as SERVICE_ROLE_GRANTS
from careledger.service.tables import ServiceTables


class LedgerGroup(click.Group):
    """Turns the ledger's own errors, and a failing environment (the store, a file, the
    disk), into one line on stderr and exit status 1 (3 for a chain found broken: a failed
    verification, not a refusal; `cli.exit_status`). Any other exception is a programming
    error and keeps its traceback. CARELEDGER_DEBUG=1 shows the traceback behind every error
    that came from another."""

    def invoke(self, ctx: click.Context) -> Any:
        in_force = limits.limits()
        try:
            return super().invoke(ctx)
        except LedgerError as error:
            if debugging() and error.__cause__ is not None:
                raise
            _fail(str(error), VERIFICATION_FAILED if isinstance(error, ChainBroken) else REFUSED)
        except (*STORE_ERRORS, OSError) as error:
            if debugging():
                raise
            _fail(environment_problem(error))
        finally:
            limits.use(in_force)  # this command's settings are not the next one's


def _fail(message: str, status: int = REFUSED) -> None:
    click.echo(f"error: {printable(message)}", err=True)
    sys.exit(status)


def environment_problem(error: BaseException) -> str:
    """One line for an error of the environment outside an opened ledger."""
    if isinstance(error, OSError) and error.strerror:
        where = error.filename if error.filename is not None else "a file"
        return f"{where}: {error.strerror}"
    return problem(error)


@click.group(cls=LedgerGroup, epilog=EPILOG)
@click.version_option(__version__, prog_name="careledger")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """careledger: an append-only ledger of care-plan decisions for looked-after children.
    Settings come from options, then CARELEDGER_* variables, then the settings file
    (CARELEDGER_SETTINGS_FILE, or ./careledger.toml): see 'careledger settings'."""
    use_input_limits()
    ctx.default_map = file_defaults(cli)


@cli.command()
@DB_OPTION
@click.option(
    "--roles",
    "roles_prefix",
    metavar="PREFIX",
    help="PostgreSQL: also create the roles PREFIX_owner, PREFIX_writer, PREFIX_projector "
    "and PREFIX_reader and hand the schema to them (as a superuser).",
)
def init(db: str | None, roles_prefix: str | None) -> None:
    """Create the ledger's tables (events, projections) and their triggers. Safe to run
    again: run it again after an upgrade to add new triggers to an existing ledger."""
    if roles_prefix is not None:
        role_names(roles_prefix)
    with opened(db, create_tables=True) as o:
        ServiceTables(o.ledger).create()
        if roles_prefix is not None:
            if not o.ledger.store.is_postgres:
                raise LedgerError("--roles: a SQLite ledger has no roles (PostgreSQL only)")
            made = create_roles(
                o.ledger.store_recorder, roles_prefix, ACCESS_ROLE_GRANTS + SERVICE_ROLE_GRANTS
            )
            click.echo(f"roles: {', '.join(made.values())}")
        click.echo(f"ledger ready at {o.ledger.store.location}")


@cli.command()
@DB_OPTION
@CATCH_UP_OPTION
@click.option(
    "--actor",
    envvar="CARELEDGER_ACTOR",
    required=True,
    help="Who is recording (env CARELEDGER_ACTOR).",
)
@click.option(
    "--role",
    envvar="CARELEDGER_ROLE",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="Their role (env CARELEDGER_ROLE).",
)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A JSON Lines file of events (- for standard input): all recorded, or none.",
)
@click.option("--type", "kind", help="Event type, to record one event from options.")
@click.option("--council", help="Council code, with --type.")
@click.option("--child", help="Child reference, with --type.")
@click.option(
    "--set",
    "fields",
    multiple=True,
    metavar="FIELD=VALUE",
    help="An event field, with --type; VALUE is read as JSON when it parses.",
)
def record(
    db: str | None,
    catch_up: bool,
    actor: str,
    role: str,
    path: Path | None,
    kind: str | None,
    council: str | None,
    child: str | None,
    fields: tuple[str, ...],
) -> None:
    """Record one event from options, or every event of a JSON Lines file."""
    if (path is None) == (kind is None):
        raise LedgerError("give either --file or --type (with --council, --child, --set)")
    commands = (
        read_lines(path) if path else [(0, command_from_options(kind, council, child, fields))]
    )
    recorded_by = actor_of(actor, role)
    with opened(db, catch_up=catch_up) as o:
        try:
            with progress_bar() as progress:
                progress.add_task(f"recording {len(commands)} event(s)", total=None)
                results = o.ledger.record([c for _, c in commands], recorded_by)
        except BatchRefused as refusal:
            line = commands[refusal.index][0]
            where = f"line {line}, " if path else ""
            raise LedgerError(
                f"{where}field '{refusal.field}': {refusal.problem}; nothing recorded"
            ) from None
        click.echo(f"recorded {len(results)} event(s)")
        o.catch_up_after_recording(show_progress=len(results) > 500)


def read_lines(path: Path) -> list[tuple[int, Command]]:
    """The commands of a JSON Lines file, or of standard input for `-`."""
    if str(path) == "-":
        try:
            commands = read_commands(sys.stdin.buffer)
        except LineRefused as refusal:
            raise LedgerError(f"{refusal}; nothing recorded") from None
        if not commands:
            raise LedgerError("--file: standard input holds no events")
        return commands
    if not path.exists():
        raise LedgerError(f"--file: '{path}' does not exist")
    try:
        with path.open("rb") as stream, progress_bar() as progress:
            task = progress.add_task("checking events", total=path.stat().st_size or None)
            commands = read_commands(stream, lambda size: progress.advance(task, size))
    except OSError as error:
        raise LedgerError(f"--file: cannot read '{path}' ({error.strerror})") from None
    except LineRefused as refusal:
        raise LedgerError(f"{refusal}; nothing recorded") from None
    if not commands:
        raise LedgerError(f"--file: '{path}' holds no events")
    return commands


def command_from_options(
    kind: str | None, council: str | None, child: str | None, fields: tuple[str, ...]
) -> Command:
    use_input_limits()
    data: dict[str, Any] = {"type": kind, "council": council, "child": child}
    given: set[str] = set()
    try:
        for item in fields:
            name, sep, raw = item.partition("=")
            if not sep or not name:
                raise LedgerError(f"--set: '{item}' is not FIELD=VALUE")
            if name in given or data.get(name) is not None:
                raise RecordingRefused(name, "is given twice")
            given.add(name)
            data[name] = option_value(name, raw)
        return parse_command(data)
    except RecordingRefused as refusal:
        raise LedgerError(f"field '{refusal.field}': {refusal.problem}; nothing recorded") from None


def option_value(name: str, raw: str) -> Any:
    """A --set VALUE: read as JSON when it parses as JSON, else the text as given."""
    try:
        return parse_json(raw)
    except TooDeep as error:
        raise RecordingRefused(name, str(error)) from None
    except NotJSON:
        return raw


@cli.command()
@DB_OPTION
@READ_DB_OPTION
@CATCH_UP_OPTION
@CHILD_ARGUMENT
@COUNCIL_OPTION
@click.option("--as-of", help="The plan in force on this date (YYYY-MM-DD).")
@click.option("--as-recorded-on", help="As the ledger knew it at the end of this date.")
@FORMAT_OPTION
def plan(
    db: str | None,
    read_db: str | None,
    catch_up: bool,
    child: str,
    council: str | None,
    as_of: str | None,
    as_recorded_on: str | None,
    fmt: str,
) -> None:
    """The child's care plan: each section, since when, decided by whom, on what authority."""
    who = parse_child(child, council)
    on = parse_day(as_of, "--as-of")
    known = parse_day(as_recorded_on, "--as-recorded-on")
    with opened_to_read(db, read_db, catch_up) as o:
        log_read(o, who, "plan", db)
        rows = o.plan(who, on, known)
    title = f"Care plan of {who.council}:{who.child_ref}"
    title += f" in force on {on}" if on else " (current)"
    title += f", as recorded by the end of {known}" if known else ""
    # The dates it was read as of, filled in: the plan in force today, as recorded by now.
    query = {"child": named(who), "as_of": on or today(), "as_recorded_on": known or today()}
    render(rows, fmt, title, "no plan recorded", query)


@cli.command()
@DB_OPTION
@READ_DB_OPTION
@CATCH_UP_OPTION
@CHILD_ARGUMENT
@COUNCIL_OPTION
@FORMAT_OPTION
def history(
    db: str | None,
    read_db: str | None,
    catch_up: bool,
    child: str,
    council: str | None,
    fmt: str,
) -> None:
    """Every event of the child's case in order, with what it changed and its corrections."""
    who = parse_child(child, council)
    with opened_to_read(db, read_db, catch_up) as o:
        log_read(o, who, "history", db)
        rows = o.history(who)
    render(rows, fmt, f"History of {named(who)}", query={"child": named(who)})


@cli.command()
@DB_OPTION
@READ_DB_OPTION
@CATCH_UP_OPTION
@click.option("--child", "child", default=None, help="Only this child (COUNCIL:REF).")
@COUNCIL_OPTION
@FORMAT_OPTION
def unapproved(
    db: str | None,
    read_db: str | None,
    catch_up: bool,
    child: str | None,
    council: str | None,
    fmt: str,
) -> None:
    """Plan changes made without review approval, and those listed for the IRO's attention."""
    who = parse_child(child, council) if child else None
    with opened_to_read(db, read_db, catch_up) as o:
        if who is not None:
            log_read(o, who, "unapproved", db)
        rows = o.unapproved(who)
    title = "Changes without review approval (reg 32(2), reg 14)"
    render(rows, fmt, title, "none found", {"child": named(who) if who else None})


@cli.group()
def projections() -> None:
    """The read models: their lag behind the ledger, and rebuilding them."""


@projections.command()
@DB_OPTION
@FORMAT_OPTION
def status(db: str | None, fmt: str) -> None:
    """Each projection's position against the newest event."""
    with opened(db) as o:
        rows = o.projections_status()
    render(rows, fmt, "Projections", query={})


@projections.command(name="catch-up")
@DB_OPTION
def catch_up(db: str | None) -> None:
    """Apply the events recorded since the projections' position (the projector's job)."""
    with opened(db) as o:
        count = o.projector.catch_up()
    click.echo(f"applied {count} event(s)")


@projections.command()
@DB_OPTION
@click.argument("name", required=False)
def rebuild(db: str | None, name: str | None) -> None:
    """Rebuild projections from the first event (NAME: careledger_views, the only one now)."""
    from careledger.projections.runner import VIEWS_NAME

    if name not in (None, VIEWS_NAME):
        raise LedgerError(f"NAME: no projection '{name}' (known: {VIEWS_NAME})")
    with opened(db, check_policy=False) as o:
        count = o.rebuild()
    click.echo(f"rebuilt {VIEWS_NAME} from {count} event(s)")


cli.add_command(demo)
cli.add_command(project)
cli.add_command(notify_command)
cli.add_command(reviews)
cli.add_command(drift)
cli.add_command(challenges)
cli.add_command(verify_command)
cli.add_command(chronology_command)
cli.add_command(verify_export_command)
cli.add_command(seal_command)
cli.add_command(seal_key_command)
cli.add_command(head_key_command)
cli.add_command(cipher_key_command)
cli.add_command(import_903)
cli.add_command(export_903)
cli.add_command(inconsistencies)
cli.add_command(serve_command)
cli.add_command(settings_command)
cli.add_command(users)
cli.add_command(tokens)
cli.add_command(shares)
cli.add_command(access_log_command)


def main() -> None:
    if debugging():  # the tracebacks the API logs at debug level (a failed catch-up's)
        logging.basicConfig(level=logging.DEBUG, format="%(message)s")
    cli()
