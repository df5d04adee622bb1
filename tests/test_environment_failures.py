"""When the environment fails (a file that is no ledger, a server that is not there, a full
disk, a read-only ledger, a missing table), careledger says so in one line naming what
failed, exit status 1, never a traceback, and never "not an initialised ledger" when that is
not the problem. A PostgreSQL password is never printed: not where the ledger is, not in an
error. Every failure here is real: real files, a real server, a real file-size limit, a real
second user.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg
import pytest
from click.testing import Result

from careledger.ledger.errors import StoreFailure
from tests.envelope import data_of
from tests.test_cli_end_to_end import COUNCIL, ENV, ev, init, invoke, ok, record, write_lines

PASSWORD = "Wd7-never-printed"
NOBODY = 65534


def one_line(result: Result) -> str:
    """The error line of a command that failed cleanly: exit status 1, one line, no
    traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "not an initialised ledger" not in result.stderr
    return result.stderr.strip()


def looked_after(child: str) -> dict[str, object]:
    return ev(child, "ChildBecameLookedAfter", "2024-09-02", legal_status="C2", placement="U4")


def with_password(url: str, port: int | None = None, user: str = "postgres") -> str:
    parts = urlsplit(url)
    netloc = f"{user}:{PASSWORD}@{parts.hostname}:{port or parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def test_a_file_that_is_not_a_sqlite_database_is_named_not_taken_for_a_ledger(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "README.md"
    notes.write_text("# Notes\n\nNot a ledger at all.\n" * 40, encoding="utf-8")

    for args in (["plan", f"{COUNCIL}:NR-1"], ["verify"], ["projections", "status"]):
        line = one_line(invoke(*args, "--db", notes))
        assert line == (
            f"error: the ledger at '{notes}' is not a SQLite database (file is not a database)"
        )


def test_a_dead_postgresql_port_is_named_with_host_and_problem_and_no_password(
    postgres_db: str,
) -> None:
    url = with_password(postgres_db, port=1)

    line = one_line(invoke("history", "--db", url, f"{COUNCIL}:NR-1"))

    assert line == (
        "error: cannot connect to PostgreSQL at 127.0.0.1:1 (database 'test', user "
        "'postgres'): Connection refused"
    )


def test_an_unknown_role_or_database_on_postgresql_is_named_and_the_password_masked(
    postgres_db: str,
) -> None:
    no_role = with_password(postgres_db, user="careledger_no_such_role")
    parts = urlsplit(postgres_db)
    no_database = with_password(urlunsplit((parts.scheme, parts.netloc, "/no_such_db", "", "")))

    role_line = one_line(invoke("init", "--db", no_role))
    database_line = one_line(invoke("init", "--db", no_database))

    assert role_line == (
        "error: cannot connect to PostgreSQL at 127.0.0.1:5432 (database 'test', user "
        "'careledger_no_such_role'): role \"careledger_no_such_role\" does not exist"
    )
    assert database_line == (
        "error: cannot connect to PostgreSQL at 127.0.0.1:5432 (database 'no_such_db', user "
        "'postgres'): database \"no_such_db\" does not exist"
    )


def test_the_password_is_masked_where_the_ledger_is_shown(postgres_db: str) -> None:
    url = with_password(postgres_db)
    schema = parse_qs(urlsplit(postgres_db).query)["schema"][0]
    masked = f"postgresql://postgres:***@127.0.0.1:5432/test?schema={schema}"

    not_yet = one_line_or_uninitialised(invoke("plan", "--db", url, f"{COUNCIL}:NR-1"))
    ready = ok(invoke("init", "--db", url))

    assert not_yet == f"error: --db: '{masked}' is not an initialised ledger; run 'careledger init'"
    assert ready.stdout == f"ledger ready at {masked}\n"
    assert PASSWORD not in ready.output


def one_line_or_uninitialised(result: Result) -> str:
    """As `one_line`, for the one failure where "not an initialised ledger" is right."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stderr.count("\n") == 1, result.stderr
    assert PASSWORD not in result.output
    return result.stderr.strip()


def test_verify_after_the_chain_table_was_dropped_says_the_chain_cannot_be_read(
    db: str, tmp_path: Path
) -> None:
    init(db)
    ok(record(db, tmp_path, [looked_after("NR-0301"), looked_after("NR-0302")]))
    drop_chain_table(db)

    for command in ("verify", "seal"):
        args = ["--key", seal_key(tmp_path)] if command == "seal" else []
        line = one_line(invoke(command, "--db", db, *args))
        assert line.startswith("error: the integrity chain cannot be read from the ledger at ")
        assert line.endswith("its table was removed or never made; nothing can be verified")


def drop_chain_table(db: str) -> None:
    if not db.startswith("postgresql://"):
        connection = sqlite3.connect(db)
        connection.execute("DROP TABLE ledger_chain")
        connection.commit()
        connection.close()
        return
    parts = urlsplit(db)
    schema = parse_qs(parts.query)["schema"][0]
    with psycopg.connect(urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))) as admin:
        admin.execute(f'DROP TABLE "{schema}".careledger_events_chain')


def seal_key(tmp_path: Path) -> Path:
    key = tmp_path / "council.key"
    if not key.exists():
        ok(invoke("seal-key", key))
    return key


FILE_SIZE_LIMITED = """
import resource, signal, sys
from careledger.cli.main import cli
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
cli(sys.argv[2:])
"""


def test_a_disk_that_cannot_take_the_write_is_one_line_and_nothing_is_recorded(
    sqlite_db: str, tmp_path: Path
) -> None:
    """No file may grow past 64 KiB (RLIMIT_FSIZE, as a full disk would refuse it): a batch
    of 300 children cannot be written."""
    init(sqlite_db)
    children = [looked_after(f"NR-{n:04d}") for n in range(300)]
    batch = write_lines(tmp_path / "intake.jsonl", children)
    environment = {k: v for k, v in {**os.environ, **ENV}.items() if v is not None}

    run = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMITED, str(64 * 1024),
         "record", "--db", sqlite_db, "--file", str(batch)],
        capture_output=True, text=True, env=environment, timeout=120,
    )  # fmt: skip

    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith(f"error: the ledger at '{sqlite_db}' could not be read or "), (
        run.stderr
    )
    assert run.stderr.count("\n") == 1
    status = data_of(ok(invoke("projections", "status", "--db", sqlite_db, "--format",
                                  "json")).stdout)  # fmt: skip
    assert status[0]["newest_event"] == 0  # nothing recorded


@pytest.fixture
def shared_directory() -> Iterator[Path]:
    """A directory another user can enter (pytest's own are private to their owner)."""
    directory = Path(tempfile.mkdtemp(prefix="careledger-ro-"))
    directory.chmod(0o755)
    yield directory
    directory.chmod(0o755)
    shutil.rmtree(directory)


def as_a_user_who_may_not_write(args: list[str]) -> dict[str, object]:
    """Runs the command where the ledger cannot be written. File modes do not stop root, so
    a root test runs it in a child process that has become the unprivileged user 'nobody'."""
    if os.geteuid() != 0:
        return _outcome(invoke(*args))
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run, report, and leave at once
        try:
            os.close(reader)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(writer, json.dumps(_outcome(invoke(*args))).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        outcome: dict[str, object] = json.loads(pipe.read())
    os.waitpid(pid, 0)
    return outcome


def _outcome(result: Result) -> dict[str, object]:
    return {
        "exit_code": result.exit_code,
        "stderr": result.stderr,
        "clean": isinstance(result.exception, SystemExit),
    }


def test_a_read_only_ledger_is_named_read_only_not_uninitialised(
    shared_directory: Path, tmp_path: Path
) -> None:
    ledger = shared_directory / "careledger.db"
    init(str(ledger))
    ok(record(str(ledger), tmp_path, [looked_after("NR-0401")]))
    more = write_lines(shared_directory / "more.jsonl", [looked_after("NR-0402")])
    ledger.chmod(0o444)
    shared_directory.chmod(0o555)

    for args in (
        ["record", "--db", str(ledger), "--file", str(more)],
        ["history", "--db", str(ledger), f"{COUNCIL}:NR-0401"],
    ):
        outcome = as_a_user_who_may_not_write(args)
        assert outcome["exit_code"] == 1, outcome
        assert outcome["clean"], outcome
        stderr = str(outcome["stderr"])
        # a warning that others may read it comes first: the ledger is 0444, not 0600
        warning, error = stderr.splitlines()
        assert warning.startswith(f"warning: '{ledger}' was readable by others"), stderr
        assert error.startswith(f"error: the ledger at '{ledger}' cannot be written"), stderr
        assert "not an initialised ledger" not in stderr


def test_a_file_that_cannot_be_written_is_one_line(sqlite_db: str, tmp_path: Path) -> None:
    init(sqlite_db)
    out = tmp_path / "no-such-directory" / "seal.json"

    line = one_line(invoke("seal", "--db", sqlite_db, "--key", seal_key(tmp_path), "--out", out))

    assert line == f"error: --out: cannot write '{out}' (No such file or directory)"


def test_careledger_debug_shows_the_traceback_behind_the_line(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a ledger\n" * 100, encoding="utf-8")

    result = invoke("plan", "--db", notes, f"{COUNCIL}:NR-1", env={"CARELEDGER_DEBUG": "1"})

    assert isinstance(result.exception, StoreFailure)
    assert isinstance(result.exception.__cause__, Exception)


def test_the_demo_masks_the_password_of_the_ledger_it_refuses(
    postgres_db: str, tmp_path: Path
) -> None:
    url = with_password(postgres_db)
    init(url)
    ok(record(url, tmp_path, [looked_after("NR-0501")]))

    refused = invoke("demo", "--db", url)

    assert refused.exit_code == 1, refused.output
    assert "postgresql://postgres:***@127.0.0.1:5432/test" in refused.stderr
    assert "already holds events" in refused.stderr
    assert PASSWORD not in refused.output


def test_a_directory_given_as_the_ledger_is_named_a_directory(tmp_path: Path) -> None:
    for args in (["init"], ["history", f"{COUNCIL}:NR-1"]):
        line = one_line(invoke(*args, "--db", tmp_path))
        assert line == f"error: --db: '{tmp_path}' is a directory; give the ledger's file in it"
