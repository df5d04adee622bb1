"""`careledger verify`, `careledger seal` and `careledger seal-key`: proving the ledger was
never rewritten."""

from __future__ import annotations

import sys
from pathlib import Path
from uuid import UUID

import click

from careledger.access.log_heads import LogHead
from careledger.api import Opened, opened, read_seal
from careledger.cli.exit_status import VERIFICATION_FAILED
from careledger.cli.heads import (
    HEAD_LOG_OPTION,
    HEAD_PUBLIC_KEY_OPTION,
    head_report,
    outside_access_head,
    outside_head,
    print_head,
    trusted_head_keys,
)
from careledger.cli.options import (
    COUNCIL_OPTION,
    DB_OPTION,
    FORCE_OPTION,
    named,
    parse_child,
    renamed_option,
)
from careledger.cli.principal import log_read
from careledger.cli.projection_check import print_projections, projections_report
from careledger.cli.render import emit_json, format_option
from careledger.ledger.errors import LedgerError
from careledger.ledger.integrity import seal as sealing
from careledger.ledger.integrity.heads import SignedHead, verify_heads
from careledger.ledger.integrity.verify import Verdict
from careledger.ledger.private_files import open_private, write_private
from careledger.ledger.store.failures import STORE_ERRORS, is_missing_table
from careledger.ledger.store.location import new_cipher_key
from careledger.projections.queries import Child
from careledger.projections.recheck import Comparison, compare_projections

KEY_OPTION = click.option(
    "--key",
    "key",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The Ed25519 private key file (PEM).",
)


@click.command(name="verify")
@DB_OPTION
@click.option("--child", default=None, help="Only this child's case (COUNCIL:REF).")
@COUNCIL_OPTION
@click.option("--seal", "seal_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--public-key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The key the seal must be signed with (PEM); without it, the seal's own key is used.",
)
@HEAD_PUBLIC_KEY_OPTION
@HEAD_LOG_OPTION
@format_option(aliases={"text": "table"})  # `text`: its earlier name, still read
@click.option(
    "--projections",
    "recheck",
    is_flag=True,
    help="Also rebuild the projections from the events, in scratch, and compare them with "
    "the live tables.",
)
def verify_command(
    db: str | None,
    child: str | None,
    council: str | None,
    seal_file: Path | None,
    public_key: Path | None,
    head_public_keys: tuple[Path, ...],
    head_log_path: Path | None,
    fmt: str,
    recheck: bool,
) -> None:
    """Recompute the integrity chain from the stored rows: "intact" with the head digests, or
    the first broken link. With --seal, also prove the ledger still holds, unchanged, what it
    held when sealed. With --projections, also name every row of the projection tables that
    differs from a rebuild. Exit status 3 when anything is broken or differs."""
    who = parse_child(child, council) if child else None
    seal = read_seal(seal_file, public_key) if seal_file else None
    head_keys = trusted_head_keys(head_public_keys)
    outside = outside_head(head_log_path)
    access_outside = outside_access_head(head_log_path)
    with opened(db, check_policy=False) as o:
        if who is not None:
            log_read(o, who, "verify", db)
        compared = compare_projections(o.ledger, o.views) if recheck else None
        verdict, report = verification(o, who, seal, head_keys, outside, compared, access_outside)
    if who is not None and verdict.cases == 0:
        raise LedgerError(
            f"--child: no case for child '{who.child_ref}' of council '{who.council}'"
        )
    if fmt == "json":
        query = {"child": named(who) if who else None, "seal": seal_file, "public_key": public_key}
        more = {"head_public_key": head_public_keys, "head_log": head_log_path}
        emit_json(query | more | {"projections": recheck}, report)
    else:
        _print(report)
        if compared is not None:
            print_projections(compared)
    if not report["intact"] or (compared is not None and not compared.same):
        sys.exit(VERIFICATION_FAILED)


def verification(
    o: Opened,
    who: Child | None,
    seal: sealing.Seal | None = None,
    head_keys: list[bytes] | None = None,
    outside: SignedHead | None = None,
    compared: Comparison | None = None,
    access_outside: LogHead | None = None,
) -> tuple[Verdict, dict[str, object]]:
    """The chain (of one child's case, if named) recomputed, with the signed heads and the
    access log and its signed heads: `verify --format json`'s data, which the service gives
    too."""
    verdict = o.verify(named(who) if who else None, seal)
    access_log = access_log_report(o, head_keys or [], access_outside)
    heads = verify_heads(o.ledger.store_recorder, head_keys or [], outside)
    broken_child = _child_of(o, verdict.first_break.case) if verdict.first_break else None
    report = _report(verdict, who.case_id.hex if who else None, seal, broken_child)
    if compared is not None:
        report["projections"] = projections_report(compared)
    report["head"] = head_report(heads, verdict.events, outside)
    if not access_log["intact"] or not access_log["heads_table"]:
        report["access_log"] = access_log  # an intact log adds nothing to "intact"
    report["intact"] = verdict.intact and heads.holds and access_log["intact"]
    return verdict, report


def access_log_report(
    o: Opened, head_keys: list[bytes], outside: LogHead | None = None
) -> dict[str, object]:
    """The access log's chain recomputed (`careledger.access.log_chain`), and its signed
    heads checked (`careledger.access.log_heads`). A log whose table is gone cannot be judged,
    and is reported broken: removing it would hide who read what. A ledger made before the
    table of the log's signed heads verifies as before, and says what to run."""
    try:
        verdict = o.access.verify_log(head_keys, outside)
    except STORE_ERRORS as error:
        if not is_missing_table(error):
            raise
        return {
            "intact": False,
            "entries": 0,
            "head": None,
            "problem": "the access log's table is missing (removed, or the ledger was made "
            "before it: run 'careledger init' again)",
            "heads_table": True,
            "signatures": 0,
        }
    return {
        "intact": verdict.intact,
        "entries": verdict.entries,
        "head": verdict.head.hex(),
        "problem": verdict.problem,
        "heads_table": verdict.heads_table,
        "signatures": verdict.signatures,
    }


def _child_of(o: Opened, case: UUID) -> str | None:
    """The child a case is of (COUNCIL:REF), as the projections name it: the case id alone
    tells a council nothing. None when the projections do not know the case."""
    try:
        rows = o.views.fetch(
            "SELECT council, child_ref FROM {s}cl_cases WHERE case_id=?", (str(case),)
        )
    except STORE_ERRORS:
        return None
    return f"{rows[0]['council']}:{rows[0]['child_ref']}" if rows else None


def _report(
    verdict: Verdict, case: str | None, seal: sealing.Seal | None, broken_child: str | None
) -> dict[str, object]:
    broken = verdict.first_break
    report: dict[str, object] = {
        "intact": verdict.intact,
        "events": verdict.events,
        "cases": verdict.cases,
        "global_head": verdict.head.hex(),
    }
    if case is not None:
        report["case"] = case
        report["case_events"] = verdict.case_events
        report["case_head"] = verdict.case_head.hex() if verdict.case_head else None
    if broken is not None:
        report["first_broken_link"] = {
            "log_position": broken.position,
            "child": broken_child,
            "case": broken.case.hex,
            "event": broken.seq,
            "problem": broken.problem,
            "expected": broken.expected,
            "found": broken.found,
        }
    if seal is not None:
        report["seal"] = {
            "events": seal.events,
            "digest": seal.digest.hex(),
            "sealed_at": seal.sealed_at.isoformat(),
            "key_fingerprint": seal.fingerprint,
            "holds": verdict.seal_problem is None and broken is None,
            "problem": verdict.seal_problem
            or (None if broken is None else "the chain is broken: see the first broken link"),
        }
    return report


def _print(report: dict[str, object]) -> None:
    if not report["intact"]:
        click.echo("BROKEN")
    elif "case" in report:
        click.echo(
            f"intact: the case's {report['case_events']} events; the log's {report['events']}"
        )
    else:
        click.echo(f"intact: {report['events']} events in {report['cases']} case(s)")
    click.echo(f"global head digest: {report['global_head']}")
    if "case" in report:
        head = report["case_head"] or "none (the case's chain is broken)"
        click.echo(f"case {report['case']} head digest: {head}")
    broken = report.get("first_broken_link")
    if isinstance(broken, dict):
        child = f"child {broken['child']}, " if broken.get("child") else ""
        click.echo(
            f"first broken link: {child}case {broken['case']}, event {broken['event']} "
            f"(log position {broken['log_position']}): {broken['problem']}"
        )
        if broken["expected"] is not None:
            click.echo(f"  expected (recorded): {broken['expected']}")
            click.echo(f"  found (recomputed):  {broken['found']}")
    seal = report.get("seal")
    if isinstance(seal, dict):
        if seal["holds"]:
            click.echo(
                f"seal of {seal['sealed_at']} ({seal['events']} events, key "
                f"{seal['key_fingerprint']}): holds"
            )
        else:
            click.echo(f"seal of {seal['sealed_at']}: does NOT hold: {seal['problem']}")
    head = report.get("head")
    if isinstance(head, dict):
        print_head(head)
    access_log = report.get("access_log")
    if isinstance(access_log, dict) and not access_log["intact"]:
        click.echo(f"access log: BROKEN: {access_log['problem']}")
    elif isinstance(access_log, dict):
        click.echo(UNSIGNED_ACCESS_LOG, err=True)


UNSIGNED_ACCESS_LOG = (
    "warning: the access log's head cannot be signed: this ledger has no table for its signed "
    "heads; run 'careledger init' (safe to repeat) to add it"
)


@click.command(name="seal")
@DB_OPTION
@KEY_OPTION
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Default: stdout.")
@FORCE_OPTION
@renamed_option(
    "--signed-by", "sealed_by", "--by", envvar="CARELEDGER_ACTOR", required=True,
    help="Who signs the seal (env CARELEDGER_ACTOR).",
)  # fmt: skip
def seal_command(db: str | None, key: Path, out: Path | None, force: bool, sealed_by: str) -> None:
    """Sign the ledger's current digest and event count (after verifying the whole chain)."""
    with opened(db, check_policy=False) as o:
        made = o.seal(key, sealed_by)
    if out is None:
        click.echo(made.to_json(), nl=False)
    else:
        write_private(out, made.to_json().encode(), "--out", force=force)
        click.echo(f"sealed {made.events} events, digest {made.digest.hex()} -> {out}", err=True)
    click.echo(f"key fingerprint: {made.fingerprint}", err=True)


@click.command(name="seal-key")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@FORCE_OPTION
def seal_key_command(path: Path, force: bool) -> None:
    """Make a new Ed25519 key for seals (owner-only file); prints the public key to share."""
    public = sealing.new_key(path, force=force)
    click.echo(sealing.public_pem(public), nl=False)
    click.echo(f"key fingerprint: {sealing.fingerprint(public)}", err=True)


@click.command(name="cipher-key")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@FORCE_OPTION
def cipher_key_command(path: Path, force: bool) -> None:
    """Make a new AES key for encryption at rest (owner-only file): then set
    CARELEDGER_CIPHER_KEY_FILE to it before 'careledger init'. Lose it and the ledger is lost."""
    with open_private(path, "PATH", force=force, exclusive=True) as file:
        file.write(new_cipher_key().encode() + b"\n")
    click.echo(f"wrote a new key to {path}; keep a copy somewhere safe", err=True)
