"""`careledger users`, `tokens` and `shares`: who may use the service, and what a court may
read. Run by an administrator (the database's credentials are theirs)."""

from __future__ import annotations

import sys

import click

from careledger.access.checks import day
from careledger.access.tokens import life
from careledger.api import opened
from careledger.cli.options import COUNCIL_OPTION, DB_OPTION, FORMAT_OPTION, parse_child
from careledger.cli.principal import cli_principal
from careledger.cli.render import render
from careledger.ledger.errors import LedgerError


@click.group()
def users() -> None:
    """People who may sign in to the service, with their role and councils."""


@users.command(name="add")
@DB_OPTION
@click.argument("name")
@click.option("--role", required=True, help="Their role (README: who may read and record what).")
@click.option(
    "--council",
    "councils",
    multiple=True,
    help="A council they belong to (an inspector: one they inspect); repeat for several.",
)
@click.option("--court", default=None, help="A court clerk's court.")
@click.option(
    "--email",
    default=None,
    help="Where their notices go (an IRO's inbox notices, `careledger notify`).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input, not a prompt.",
)
@click.option(
    "--no-password",
    is_flag=True,
    help="No local password: they sign in only through the council's identity provider.",
)
def users_add(
    db: str | None,
    name: str,
    role: str,
    councils: tuple[str, ...],
    court: str | None,
    email: str | None,
    password_stdin: bool,
    no_password: bool,
) -> None:
    """Register NAME (the id they act under in the ledger: an IRO's iro_id). The password is
    asked for, or read from standard input; it is never an argument, which others could
    read in the process list or the shell's history."""
    if password_stdin and no_password:
        raise LedgerError("--password-stdin and --no-password: give one, not both")
    from careledger.access.accounts import person_principal
    from careledger.access.emails import Emails, checked_address

    person_principal(name, role, list(councils), court)  # refuse bad input before asking
    if email is not None:
        checked_address(email)
    password = None if no_password else _password(password_stdin)
    with opened(db) as o:
        who = o.access.accounts.add(name, role, list(councils), court, password)
        if email is not None:
            Emails(o.access.store).set(who.name, email)
    where = who.court or ", ".join(sorted(who.councils))
    click.echo(f"registered {who.name} as {who.role} ({where})")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise LedgerError("password: standard input holds none")
        return line.rstrip("\r\n")
    entered: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return entered


@users.command(name="list")
@DB_OPTION
@FORMAT_OPTION
def users_list(db: str | None, fmt: str) -> None:
    """Every registered person (no password hashes)."""
    with opened(db) as o:
        rows = o.access.accounts.listing()
    render(rows, fmt, "People who may sign in", "nobody registered")


@users.command(name="disable")
@DB_OPTION
@click.argument("name")
def users_disable(db: str | None, name: str) -> None:
    """NAME may no longer sign in, by password or through the identity provider."""
    with opened(db) as o:
        o.access.accounts.disable(name)
    click.echo(f"disabled {name}")


@click.group()
def tokens() -> None:
    """API tokens for a council's systems: each records for one council, and reads nothing."""


@tokens.command(name="issue")
@DB_OPTION
@click.option("--system", required=True, help="The system's name (e.g. LCS): its actor id.")
@click.option("--council", required=True, help="The one council it records for.")
@click.option("--expires-in", default=None, help="Its life: 90d or 12h (default 90 days).")
def tokens_issue(db: str | None, system: str, council: str, expires_in: str | None) -> None:
    """Issue a token and print it, once: only its SHA-256 is kept."""
    lasts = life(expires_in) if expires_in is not None else None
    with opened(db) as o:
        issued = o.access.issue_token(system, council, lasts)
    click.echo(issued.secret)
    click.echo(
        f"token {issued.token_id} for {system} ({council.strip().upper()}), expires "
        f"{issued.expires_at.isoformat(timespec='seconds')}; shown once: keep it secret",
        err=True,
    )


@tokens.command(name="list")
@DB_OPTION
@FORMAT_OPTION
def tokens_list(db: str | None, fmt: str) -> None:
    """Every token, without its secret."""
    with opened(db) as o:
        rows = o.access.tokens.listing()
    render(rows, fmt, "API tokens", "none issued")


@tokens.command(name="revoke")
@DB_OPTION
@click.argument("token_id")
def tokens_revoke(db: str | None, token_id: str) -> None:
    """TOKEN_ID (from `tokens list`) is refused from now on."""
    with opened(db) as o:
        o.access.tokens.revoke(token_id)
    click.echo(f"revoked {token_id}")


@click.group()
def shares() -> None:
    """A child's chronology shared with a court: one child, a date range, an expiry."""


@shares.command(name="add")
@DB_OPTION
@click.argument("child")
@COUNCIL_OPTION
@click.option("--court", required=True, help="The court's name, as its clerks are registered.")
@click.option("--from", "from_", required=True, help="First date of the chronology shared.")
@click.option("--to", "to", required=True, help="Last date of the chronology shared.")
@click.option("--expires", required=True, help="The last day the court may read it.")
def shares_add(
    db: str | None,
    child: str,
    council: str | None,
    court: str,
    from_: str,
    to: str,
    expires: str,
) -> None:
    """Share CHILD's chronology from --from to --to with --court until --expires."""
    who = parse_child(child, council)
    first, last, until = day(from_, "--from"), day(to, "--to"), day(expires, "--expires")
    with opened(db) as o:
        if not o.ledger.store_recorder.existing_cases([who.case_id]):
            raise LedgerError(f"CHILD: no case for child '{who.child_ref}' of '{who.council}'")
        share = o.access.shares.add(
            f"{who.council}:{who.child_ref}", court, first, last, until, cli_principal().name
        )
    click.echo(
        f"shared {share.child}'s chronology {share.from_on} to {share.to_on} with "
        f"{share.court} until {share.expires_on} (share {share.share_id})"
    )


@shares.command(name="revoke")
@DB_OPTION
@click.argument("share_id")
def shares_revoke(db: str | None, share_id: str) -> None:
    """End share SHARE_ID (from `shares list`) now: the court's clerks read it no more. The
    revocation is recorded, with who made it and when; the share itself is kept."""
    with opened(db) as o:
        share = o.access.revoke_share(cli_principal(), share_id)
    click.echo(
        f"revoked share {share['share_id']} of {share['child']}'s chronology with "
        f"{share['court']} (by {share['revoked_by']} at {share['revoked_at']})"
    )


@shares.command(name="list")
@DB_OPTION
@click.option("--child", default=None, help="Only this child's shares (COUNCIL:REF).")
@FORMAT_OPTION
def shares_list(db: str | None, child: str | None, fmt: str) -> None:
    """Every share: active, expired, or revoked (by whom, when)."""
    with opened(db) as o:
        rows = o.access.shares.listing(child)
    render(rows, fmt, "Chronologies shared with courts", "none", {"child": child})
