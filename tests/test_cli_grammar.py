"""One grammar for every command, tried as a script would use it, on a ledger holding two
children's histories from the demo (a SQLite file):

- every read command, found in the `careledger` group itself (so a new one cannot be left
  out), answers `--format json` with the one envelope: `format`, `command`, `query`, `data`,
  the query naming the child as COUNCIL:REF and dates as YYYY-MM-DD; a command that reads no
  --format must be one that records or writes files, and is listed as such here;
- the exit statuses: 0 ok, 1 refused, 2 usage, 3 verification failed (a tampered ledger for
  `verify` and for a chronology, an edited export for `verify-export`);
- `verify-export -` reads the export from standard input;
- `--by`, which meant three things, still works under its old name for each (with a note on
  stderr) but is hidden: `drift --group-by`, `chronology --produced-by`, `seal --signed-by`;
- `verify --format text`, the earlier name, is still read as `table`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from careledger.cli.main import cli
from tests.envelope import ENVELOPE_KEYS, data_of
from tests.tamper import direct
from tests.test_integrity import COUNCIL, FIRST, A, invoke, ok, record_two_children

CHILD = f"{COUNCIL}:{FIRST}"  # NR-0202: reviews, a recommendation, a plan changed
WRITERS = {
    ("init",),
    ("record",),
    ("demo",),
    ("import-903",),
    ("export-903",),
    ("seal",),
    ("seal-key",),
    ("head-key",),
    ("cipher-key",),
    ("projections", "catch-up"),
    ("projections", "rebuild"),
    ("project",),
    ("serve",),
    ("users", "add"),
    ("users", "disable"),
    ("tokens", "issue"),
    ("tokens", "revoke"),
    ("shares", "revoke"),
    ("notify",),
    ("shares", "add"),
}
DOCUMENTS = {("chronology",)}  # its JSON is the court export, stamped and verified as it is
DAY = "2025-06-30"


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> Iterator[Any]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def formats(command: click.Command) -> list[str]:
    """The --format choices a command lists (none: it takes no --format)."""
    for param in command.params:
        if isinstance(param, click.Option) and "--format" in param.opts:
            assert isinstance(param.type, click.Choice)
            return [str(choice) for choice in param.type.choices]
    return []


READ_COMMANDS = sorted(path for path, command in commands() if formats(command))


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Two children's histories, and an exported chronology of the first."""
    where = tmp_path_factory.mktemp("grammar")
    db = str(where / "careledger.db")
    record_two_children(db, where)
    export = where / "nr-0202.json"
    ok(invoke("chronology", "--db", db, CHILD, "--format", "json", "--out", export))
    return db, export


def arguments(path: tuple[str, ...], export: Path) -> list[Any]:
    """What each read command needs besides --db: a child, or a file."""
    child_first = {("plan",), ("history",), ("reviews",), ("chronology",)}
    if path in child_first:
        return [CHILD]
    if path == ("verify-export",):
        return [export]
    if path in {("drift",), ("challenges",)}:
        return ["--as-of", DAY]
    return []


def test_every_command_is_a_read_command_with_a_format_or_a_listed_writer() -> None:
    without_format = {path for path, command in commands() if not formats(command)}
    assert without_format == WRITERS
    assert len(READ_COMMANDS) >= 10  # plan, history, ..., verify, verify-export, status


@pytest.mark.parametrize("path", READ_COMMANDS, ids=" ".join)
def test_every_read_command_offers_table_and_json(path: tuple[str, ...]) -> None:
    (command,) = [c for p, c in commands() if p == path]
    assert {"json"} <= set(formats(command))
    assert "table" in formats(command) or path in DOCUMENTS


@pytest.mark.parametrize("path", READ_COMMANDS, ids=" ".join)
def test_every_read_command_answers_json_in_the_one_envelope(
    ledger: tuple[str, Path], path: tuple[str, ...]
) -> None:
    db, export = ledger
    args = [*path, "--db", db, *arguments(path, export), "--format", "json"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    if path in DOCUMENTS:
        document = json.loads(result.stdout)
        assert document["format"].startswith("careledger-chronology/") and document["stamp"]
        return
    envelope = json.loads(result.stdout)
    assert list(envelope) == ENVELOPE_KEYS
    assert envelope["format"] == "careledger/1"
    assert envelope["command"] == " ".join(path)
    assert "db" not in envelope["query"] and "fmt" not in envelope["query"]
    if CHILD in arguments(path, export):
        assert envelope["query"]["child"] == CHILD
    if "--as-of" in arguments(path, export):
        assert envelope["query"]["as_of"] == DAY
    assert data_of(result.stdout) == envelope["data"] is not None


def test_the_answers_use_the_event_formats_field_names(ledger: tuple[str, Path]) -> None:
    db, _ = ledger
    history = data_of(ok(invoke("history", "--db", db, CHILD, "--format", "json")).stdout)
    assert {"occurred_on", "recorded_at", "recorded_by"} <= set(history[0])
    flagged = data_of(ok(invoke("unapproved", "--db", db, "--format", "json")).stdout)
    assert flagged and all("occurred_on" in row and "date" not in row for row in flagged)


def test_exit_status_0_when_the_answer_is_given(ledger: tuple[str, Path]) -> None:
    db, _ = ledger
    assert invoke("plan", "--db", db, CHILD).exit_code == 0
    assert invoke("verify", "--db", db).exit_code == 0


def test_exit_status_1_when_refused(ledger: tuple[str, Path]) -> None:
    db, _ = ledger
    unknown = invoke("plan", "--db", db, f"{COUNCIL}:NR-9999")
    assert unknown.exit_code == 1
    assert unknown.stderr == f"error: no case for child 'NR-9999' of council '{COUNCIL}'\n"
    not_a_date = invoke("reviews", "--db", db, CHILD, "--as-of", "30/06/2025")
    assert not_a_date.exit_code == 1
    assert "--as-of: '30/06/2025' is not a date (YYYY-MM-DD)" in not_a_date.stderr


def test_exit_status_2_for_usage(ledger: tuple[str, Path]) -> None:
    db, _ = ledger
    assert invoke("plan", "--db", db, CHILD, "--as-at", DAY).exit_code == 2
    assert invoke("plan", "--db", db, CHILD, "--format", "xml").exit_code == 2
    assert invoke("plan", "--db", db).exit_code == 2  # CHILD missing


def test_exit_statuses_are_in_the_help() -> None:
    shown = ok(invoke("--help")).stdout
    assert "Exit status: 0 ok; 1 refused or error" in shown
    assert "3 verification failed" in shown and "4 verify-export" in shown


@pytest.fixture
def tampered(sqlite_db: str, tmp_path: Path) -> tuple[str, Path]:
    """The two histories, a chronology of NR-0202 exported, then one byte of its event 5
    changed by someone who disabled the triggers."""
    record_two_children(sqlite_db, tmp_path)
    export = tmp_path / "nr-0202.md"
    ok(invoke("chronology", "--db", sqlite_db, CHILD, "--out", export))
    with direct(sqlite_db) as tables:
        tables.disable_triggers()
        state = tables.event(A, 5).state
        tables.set_state(A, 5, state[:-2] + bytes([state[-2] ^ 1]) + state[-1:])
    return sqlite_db, export


def test_exit_status_3_when_the_ledger_does_not_verify(
    tampered: tuple[str, Path], tmp_path: Path
) -> None:
    db, export = tampered
    broken = invoke("verify", "--db", db)
    assert broken.exit_code == 3
    assert broken.stdout.startswith("BROKEN\n")
    as_json = invoke("verify", "--db", db, "--format", "json")
    assert as_json.exit_code == 3 and data_of(as_json.stdout)["intact"] is False
    chronology = invoke("chronology", "--db", db, CHILD)
    assert chronology.exit_code == 3
    assert "the chain of this case is broken at event 5" in chronology.stderr
    assert invoke("verify-export", "--db", db, export).exit_code == 3
    ok(invoke("seal-key", tmp_path / "council.key"))
    sealed = invoke("seal", "--db", db, "--key", tmp_path / "council.key")
    assert sealed.exit_code == 3
    assert sealed.stderr == "error: the chain is broken: run 'careledger verify'; nothing sealed\n"


def test_exit_status_3_when_an_export_was_edited(ledger: tuple[str, Path], tmp_path: Path) -> None:
    db, export = ledger
    edited = tmp_path / "edited.json"
    edited.write_text(export.read_text(encoding="utf-8").replace("NR-0202", "NR-0203", 1))
    result = invoke("verify-export", "--db", db, edited)
    assert result.exit_code == 3
    assert result.stdout.splitlines()[0] == "DOES NOT MATCH the ledger"


def run_with_input(*args: Any, given: bytes) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=given)


def test_an_export_is_read_from_standard_input(ledger: tuple[str, Path]) -> None:
    db, export = ledger
    piped = run_with_input("verify-export", "--db", db, "-", given=export.read_bytes())
    assert piped.exit_code == 0, piped.output
    assert piped.stdout.splitlines()[0] == "MATCHES the ledger"
    as_json = run_with_input(
        "verify-export", "--db", db, "-", "--format", "json", given=export.read_bytes()
    )
    assert json.loads(as_json.stdout)["query"] == {"file": "-"}
    edited = export.read_bytes().replace(b"NR-0202", b"NR-0203", 1)
    assert run_with_input("verify-export", "--db", db, "-", given=edited).exit_code == 3


def test_drift_groups_by_group_by_and_still_reads_by_with_a_note(
    ledger: tuple[str, Path],
) -> None:
    db, _ = ledger
    grouped = ok(invoke("drift", "--db", db, "--as-of", DAY, "--group-by", "iro", "--format",
                        "json"))  # fmt: skip
    assert grouped.stderr == ""
    old = ok(invoke("drift", "--db", db, "--as-of", DAY, "--by", "iro", "--format", "json"))
    assert old.stderr == "note: --by is deprecated; use --group-by\n"
    assert old.stdout == grouped.stdout
    assert json.loads(old.stdout)["query"]["group_by"] == "iro"
    assert invoke("drift", "--db", db, "--by", "postcode").exit_code == 2


def test_a_chronology_names_its_producer_under_either_name(ledger: tuple[str, Path]) -> None:
    db, _ = ledger
    for option in ("--produced-by", "--by"):
        made = ok(invoke("chronology", "--db", db, CHILD, "--format", "json", option, "court"))
        assert json.loads(made.stdout)["produced_by"] == "court"
        assert made.stderr == ("" if option == "--produced-by" else
                               "note: --by is deprecated; use --produced-by\n")  # fmt: skip


def test_a_seal_names_its_signer_under_either_name(
    ledger: tuple[str, Path], tmp_path: Path
) -> None:
    db, _ = ledger
    key = tmp_path / "council.key"
    ok(invoke("seal-key", key))
    for option in ("--signed-by", "--by"):
        sealed = ok(invoke("seal", "--db", db, "--key", key, option, "Family Court"))
        assert json.loads(sealed.stdout)["sealed_by"] == "Family Court"
        assert ("note: --by is deprecated" in sealed.stderr) == (option == "--by")


def test_a_missing_producer_is_a_usage_error_naming_the_new_option(
    ledger: tuple[str, Path],
) -> None:
    db, _ = ledger
    result = CliRunner().invoke(cli, ["chronology", "--db", db, CHILD],
                                env={"CARELEDGER_ACTOR": None})  # fmt: skip
    assert result.exit_code == 2
    assert "Missing option '--produced-by'" in result.stderr


@pytest.mark.parametrize(
    "path, new", [(("drift",), "--group-by"), (("chronology",), "--produced-by"),
                  (("seal",), "--signed-by")],
)  # fmt: skip
def test_the_old_by_is_hidden_from_the_help(path: tuple[str, ...], new: str) -> None:
    shown = ok(invoke(*path, "--help")).stdout
    assert new in shown and "--by " not in shown


def test_verify_reads_text_as_table_and_lists_table_and_json(ledger: tuple[str, Path]) -> None:
    db, _ = ledger
    as_text = ok(invoke("verify", "--db", db, "--format", "text")).stdout
    assert as_text == ok(invoke("verify", "--db", db, "--format", "table")).stdout
    assert as_text.startswith("intact: ")
    assert "[table|json]" in ok(invoke("verify", "--help")).stdout
