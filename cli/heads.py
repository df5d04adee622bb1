"""`careledger head-key`, and what `careledger verify` says of the signed heads
(`ledger.integrity.heads`)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from careledger.access import log_heads
from careledger.access.log_heads import LogHead
from careledger.api import setting
from careledger.ledger.errors import LedgerError
from careledger.ledger.integrity import head_log
from careledger.ledger.integrity import seal as sealing
from careledger.ledger.integrity.heads import KEY_SETTING, HeadVerdict, SignedHead, shown

PUBLIC_KEY_SETTING = "CARELEDGER_HEAD_PUBLIC_KEY_FILE"

HEAD_PUBLIC_KEY_OPTION = click.option(
    "--head-public-key",
    "head_public_keys",
    multiple=True,
    envvar=PUBLIC_KEY_SETTING,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A public key the head must be signed with (PEM; repeat for keys rotated out, or "
    f"list them in {PUBLIC_KEY_SETTING}, separated by '{os.pathsep}'). Default: the public "
    f"half of {KEY_SETTING}, if set.",
)


HEAD_LOG_OPTION = click.option(
    "--head-log",
    "head_log_path",
    envvar=head_log.SETTING,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The copy of the signed heads kept outside the database: the log must still reach "
    f"its latest head. Default: {head_log.SETTING}, if set.",
)


def outside_head(path: Path | None) -> SignedHead | None:
    return head_log.latest(path) if path is not None else None


def outside_access_head(path: Path | None) -> LogHead | None:
    """The access log's latest head in the same copy outside the database, if any."""
    line = head_log.latest_line(path, log_heads.KIND) if path is not None else None
    try:
        return None if line is None else log_heads.head_of(line)
    except (ValueError, KeyError, TypeError) as error:
        raise LedgerError(
            f"--head-log: '{path}' holds a line that is not a signed head ({error})"
        ) from None


def trusted_head_keys(paths: tuple[Path, ...]) -> list[bytes]:
    """The keys given, or else the public half of the recording key, if this machine has it."""
    if paths:
        return [sealing.read_public_key(path, "--head-public-key") for path in paths]
    private = setting("integrity").head_key_file
    return [sealing.read_public_key(Path(private), KEY_SETTING)] if private else []


def head_report(
    verdict: HeadVerdict, events: int, outside: SignedHead | None = None
) -> dict[str, object]:
    last = verdict.last
    return {
        "head_log_position": outside.position if outside else None,
        "signed": verdict.signed,
        "holds": verdict.holds,
        "signatures": verdict.signatures,
        "keys": verdict.keys,
        "checked_against_given_keys": verdict.trusted,
        "last_signed_position": last.position if last else None,
        "last_signed_at": last.signed_at if last else None,
        "signed_events": verdict.last_events if last else 0,
        "events": events,
        "recorded_before_signing": verdict.before_signing,
        "problems": verdict.problems,
        "more_problems": verdict.more_problems,
    }


def print_head(report: dict[str, object]) -> None:
    """Problems and a signed head on stdout; an unsigned head is a warning, on stderr."""
    problems = report["problems"]
    assert isinstance(problems, list)
    if problems:
        click.echo("head signatures: do NOT hold:")
        more = report["more_problems"]
        assert isinstance(more, int)
        for problem in shown(problems, more):
            click.echo(f"  {problem}")
    elif not report["signed"]:
        click.echo(
            f"warning: the head is not signed (recorded without {KEY_SETTING}): a forged "
            "append or a cut tail shows only against a seal taken before",
            err=True,
        )
    else:
        _print_signed(report)
    if not problems and report["head_log_position"] is not None:
        click.echo(
            f"head log outside the database: its latest head, at log position "
            f"{report['head_log_position']}, holds"
        )


def _print_signed(report: dict[str, object]) -> None:
    keys = report["keys"]
    assert isinstance(keys, list)
    click.echo(
        f"head: signed: {report['signatures']} signature(s) by key {', '.join(keys)}; the last, "
        f"at log position {report['last_signed_position']} ({report['last_signed_at']}), "
        f"covers all {report['signed_events']} events"
    )
    if report["recorded_before_signing"]:
        click.echo(
            f"  the first {report['recorded_before_signing']} events were recorded before "
            "signing began: the first signature vouches for them"
        )
    if not report["checked_against_given_keys"]:
        click.echo(
            "  warning: checked only against the keys stored with the signatures; give "
            f"--head-public-key (or {PUBLIC_KEY_SETTING}) to refuse another key",
            err=True,
        )


@click.command(name="head-key")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def head_key_command(path: Path) -> None:
    """Make a new Ed25519 key to sign the ledger's head at each commit (owner-only file): set
    CARELEDGER_HEAD_KEY_FILE to it for the recording service only. Prints the public key,
    for verify's --head-public-key."""
    public = sealing.new_key(path, "PATH")
    click.echo(sealing.public_pem(public), nl=False)
    click.echo(f"key fingerprint: {sealing.fingerprint(public)}", err=True)
