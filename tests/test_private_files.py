"""Every file careledger writes is readable by its owner only, and none is written through a
symbolic link unless the user forces it (`ledger.private_files`).

The files are made under umask 000, so that only the mode careledger asks for protects them:
a SQLite ledger made by `init` (and its -wal and -shm files, while a command has it open), a
court chronology, a seal, the two kinds of key, the refused-rows report of an import and an
export's CSV files. A file that was there with a looser mode is made owner-only, with a
warning naming it and its mode. A link planted where an output is to go is refused, and its
target is left as it was; `--force` writes to where it points.

Children: NR-0202 Shannon and NR-0205 Leah of the demo (after NAIRO's case 4).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import Result

from tests.envelope import data_of
from tests.returns903 import COUNCIL as RETURN_COUNCIL
from tests.returns903 import YEAR
from tests.test_import_903_restatements import a_return_with_a_refused_row, import_903
from tests.test_integrity import COUNCIL, FIRST, invoke, ok, record_two_children

TARGET_TEXT = "a file the user keeps elsewhere\n"
pytestmark = pytest.mark.usefixtures("open_umask")


@pytest.fixture
def ledger(sqlite_db: str, tmp_path: Path) -> str:
    record_two_children(sqlite_db, tmp_path)
    return sqlite_db


def mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def planted_link(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A symbolic link at `name`, pointing at a file of the user's elsewhere."""
    target = tmp_path / "elsewhere" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(TARGET_TEXT)
    link = tmp_path / name
    link.symlink_to(target)
    return link, target


def refused_link(result: Result, setting: str, link: Path) -> None:
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {setting}: '{link}' is a symbolic link; careledger does not write through "
        "one (give --force to write to where it points)\n"
    )


def test_a_ledger_made_by_init_and_its_wal_and_shm_files_are_owner_only(
    sqlite_db: str,
) -> None:
    ok(invoke("init", "--db", sqlite_db))
    assert mode(sqlite_db) == 0o600
    with sqlite3.connect(sqlite_db) as connection:  # SQLite makes -wal and -shm as it opens
        connection.execute("SELECT count(*) FROM stored_events").fetchone()
        assert mode(f"{sqlite_db}-wal") == 0o600
        assert mode(f"{sqlite_db}-shm") == 0o600
    connection.close()


def test_a_ledger_left_readable_by_others_is_made_owner_only_with_a_warning(
    ledger: str,
) -> None:
    os.chmod(ledger, 0o666)
    result = ok(invoke("history", "--db", ledger, f"{COUNCIL}:{FIRST}"))
    assert (
        f"warning: '{ledger}' was readable by others (mode 0666); made 0600 (owner only)\n"
        in result.stderr
    )
    assert mode(ledger) == 0o600


def test_a_chronology_is_written_owner_only_and_an_open_file_it_replaces_is_tightened(
    ledger: str, tmp_path: Path
) -> None:
    out = tmp_path / "chronology.csv"
    ok(invoke("chronology", "--db", ledger, f"{COUNCIL}:{FIRST}", "--format", "csv", "--out", out))
    assert mode(out) == 0o600

    again = tmp_path / "shared.md"
    again.write_text("old\n")
    again.chmod(0o666)
    result = ok(invoke("chronology", "--db", ledger, f"{COUNCIL}:{FIRST}", "--out", again))
    assert result.stderr.startswith(
        f"warning: '{again}' was readable by others (mode 0666); made 0600 (owner only)\n"
    )
    assert mode(again) == 0o600
    assert again.read_text().startswith(f"# Chronology of {COUNCIL}:{FIRST}")


def test_a_chronology_is_not_written_through_a_symbolic_link_unless_forced(
    ledger: str, tmp_path: Path
) -> None:
    link, target = planted_link(tmp_path, "chronology.md")
    args = ("chronology", "--db", ledger, f"{COUNCIL}:{FIRST}", "--out", link)

    refused_link(invoke(*args), "--out", link)
    assert target.read_text() == TARGET_TEXT

    ok(invoke(*args, "--force"))
    assert target.read_text().startswith(f"# Chronology of {COUNCIL}:{FIRST}")
    assert link.is_symlink()


def test_a_seal_is_written_owner_only_and_never_through_a_link_unless_forced(
    ledger: str, tmp_path: Path
) -> None:
    key = tmp_path / "council.pem"
    ok(invoke("seal-key", key))
    assert mode(key) == 0o600
    out = tmp_path / "seal.json"
    ok(invoke("seal", "--db", ledger, "--key", key, "--signed-by", "Family Court", "--out", out))
    assert mode(out) == 0o600

    link, target = planted_link(tmp_path, "seal-for-court.json")
    args = ("seal", "--db", ledger, "--key", key, "--signed-by", "Family Court", "--out", link)
    refused_link(invoke(*args), "--out", link)
    assert target.read_text() == TARGET_TEXT
    ok(invoke(*args, "--force"))
    assert '"careledger-seal/2"' in target.read_text()


@pytest.mark.parametrize("command", ["cipher-key", "seal-key"])
def test_a_key_is_made_owner_only_and_never_through_a_dangling_link_unless_forced(
    tmp_path: Path, command: str
) -> None:
    made = tmp_path / "made.key"
    ok(invoke(command, made))
    assert mode(made) == 0o600

    target = tmp_path / "elsewhere.key"
    link = tmp_path / "careledger.ledger.key"
    link.symlink_to(target)  # dangling: where an attacker wants the key written

    refused = invoke(command, link)
    assert refused.exit_code == 1
    assert refused.stderr == f"error: PATH: '{link}' exists; a key is never overwritten\n"
    assert not target.exists()

    ok(invoke(command, link, "--force"))
    assert mode(target) == 0o600


def test_an_import_report_is_not_written_through_a_link_and_nothing_is_recorded(
    sqlite_db: str, tmp_path: Path
) -> None:
    ok(invoke("init", "--db", sqlite_db))
    directory = a_return_with_a_refused_row(tmp_path / "r")
    link, target = planted_link(tmp_path, "refused.csv")

    result = import_903(sqlite_db, directory, YEAR, "--accept-partial", "--report", link)

    refused_link(result, "--report", link)
    assert target.read_text() == TARGET_TEXT
    unapproved = ok(invoke("inconsistencies", "--db", sqlite_db, "--format", "json"))
    assert data_of(unapproved.stdout) == []

    ok(import_903(sqlite_db, directory, YEAR, "--accept-partial", "--report", link, "--force"))
    assert target.read_text().startswith("file,row,column,reason,child")


def test_an_export_is_not_written_through_a_link_in_its_directory_unless_forced(
    sqlite_db: str, tmp_path: Path
) -> None:
    ok(invoke("init", "--db", sqlite_db))
    directory = a_return_with_a_refused_row(tmp_path / "r")
    report = tmp_path / "refused.csv"
    ok(import_903(sqlite_db, directory, YEAR, "--accept-partial", "--report", report))
    out = tmp_path / "export"
    out.mkdir()
    target = tmp_path / "elsewhere.csv"
    target.write_text(TARGET_TEXT)
    (out / "episodes.csv").symlink_to(target)
    args = ("export-903", "--db", sqlite_db, "--council", RETURN_COUNCIL, "--year", YEAR, out)

    refused_link(invoke(*args), "DIRECTORY", out / "episodes.csv")
    assert target.read_text() == TARGET_TEXT
    assert sorted(path.name for path in out.iterdir()) == ["episodes.csv"]

    ok(invoke(*args, "--force"))
    assert target.read_text().startswith("CHILD,")
    assert mode(out / "header.csv") == 0o600


def test_a_ledger_in_a_directory_that_is_not_there_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-directory" / "careledger.db"
    result = invoke("init", "--db", missing)
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: --db: cannot create '{missing}' (No such file or directory)\n",
    )
