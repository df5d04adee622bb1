"""Encryption at rest, on a SQLite file and on PostgreSQL.

With a key (CARELEDGER_CIPHER_KEY, or CARELEDGER_CIPHER_KEY_FILE), every stored event's state
is encrypted with the library's AES-GCM cipher, and so is the projected copy of each payload:
a child's name or a worker's words are not in either table. The integrity chain hashes the
stored bytes, so `verify` needs no key; reading needs the right one, and a missing or wrong
key is a clear error, never a traceback.

Children: NR-0202 Shannon and NR-0205 Leah of the demo (NAIRO's case 4).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.envelope import data_of
from tests.tamper import Direct, direct
from tests.test_integrity import COUNCIL, FIRST, SECOND, demo_lines, invoke, ok

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()
WORDS = ("Looked After Children Service", "Hannah Cole", "Okafor")  # in NR-0205's events


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CARELEDGER_CIPHER_KEY", KEY)
    yield


@pytest.fixture
def encrypted(db: str, tmp_path: Path, keyed: None) -> str:
    ok(invoke("init", "--db", db))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(demo_lines(FIRST) + demo_lines(SECOND)) + "\n", encoding="utf-8")
    ok(invoke("record", "--db", db, "--file", path))
    ok(invoke("history", "--db", db, f"{COUNCIL}:{SECOND}"))  # projects everything
    return db


@pytest.fixture
def tables(encrypted: str) -> Iterator[Direct]:
    with direct(encrypted) as found:
        yield found


def test_stored_events_and_projected_payloads_hold_no_plain_words(
    encrypted: str, tables: Direct
) -> None:
    states = [row.state for row in tables.events()]
    assert len(states) == len(demo_lines(FIRST)) + len(demo_lines(SECOND)) + 2
    for word in WORDS:
        assert not any(word.encode() in state for state in states), word
    assert not any(_is_json(state) for state in states)
    payloads = [str(row[0]) for row in tables.run("SELECT payload FROM cl_events")]
    assert payloads and not any(word in p for p in payloads for word in WORDS)


def test_with_the_key_the_history_reads_as_recorded(encrypted: str) -> None:
    rows = data_of(
        ok(invoke("history", "--db", encrypted, f"{COUNCIL}:{SECOND}", "--format", "json")).stdout
    )
    assert any("Hannah Cole" in row["what"] for row in rows)


def test_the_chain_verifies_without_the_key(
    encrypted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARELEDGER_CIPHER_KEY")
    assert ok(invoke("verify", "--db", encrypted)).stdout.startswith("intact: ")


def test_without_the_key_reading_is_a_clear_error(
    encrypted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARELEDGER_CIPHER_KEY")
    result = invoke("history", "--db", encrypted, f"{COUNCIL}:{SECOND}")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: the ledger is encrypted: set CARELEDGER_CIPHER_KEY or CARELEDGER_CIPHER_KEY_FILE"
    )


def test_with_another_key_reading_is_a_clear_error(
    encrypted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARELEDGER_CIPHER_KEY", OTHER_KEY)
    result = invoke("projections", "rebuild", "--db", encrypted)
    assert result.exit_code == 1
    assert "CARELEDGER_CIPHER_KEY: not the key this ledger was encrypted with" in result.output


def test_a_key_file_works_as_the_key(
    encrypted: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "careledger.ledger.key"
    ok(invoke("cipher-key", key_file))
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert len(base64.b64decode(key_file.read_text().strip())) == 32
    key_file.write_text(KEY + "\n", encoding="ascii")
    monkeypatch.delenv("CARELEDGER_CIPHER_KEY")
    monkeypatch.setenv("CARELEDGER_CIPHER_KEY_FILE", str(key_file))
    ok(invoke("history", "--db", encrypted, f"{COUNCIL}:{FIRST}"))


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_key_is_refused_naming_the_setting(
    sqlite_db: str, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("CARELEDGER_CIPHER_KEY", bad)
    result = invoke("init", "--db", sqlite_db)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: CARELEDGER_CIPHER_KEY: not the base64 of a 16, 24 or 32 byte key"
    )
    assert not os.path.exists(sqlite_db)


# --- every command refuses an encrypted ledger without its key ------------------------------

ENCRYPTED_ERROR = (
    "error: the ledger is encrypted: set CARELEDGER_CIPHER_KEY or CARELEDGER_CIPHER_KEY_FILE\n"
)
READS = {
    "unapproved": ("unapproved",),
    "challenges": ("challenges", "--as-of", "2026-01-30"),
    "drift by iro": ("drift", "--as-of", "2026-01-30", "--group-by", "iro"),
    "history": ("history", f"{COUNCIL}:{SECOND}"),
    "plan": ("plan", f"{COUNCIL}:{SECOND}"),
    "plan as of": ("plan", f"{COUNCIL}:{SECOND}", "--as-of", "2025-06-01"),
    "reviews": ("reviews", f"{COUNCIL}:{SECOND}", "--as-of", "2026-01-30"),
    "chronology": ("chronology", f"{COUNCIL}:{SECOND}"),
    "inconsistencies": ("inconsistencies",),
}


@pytest.mark.parametrize("command", READS.values(), ids=READS.keys())
def test_without_the_key_every_read_is_refused(
    encrypted: str, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    """The projection tables could answer without decrypting anything: the ledger itself
    says it is encrypted, before any of them is read."""
    monkeypatch.delenv("CARELEDGER_CIPHER_KEY")
    result = invoke(command[0], "--db", encrypted, *command[1:])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", ENCRYPTED_ERROR)


def test_with_another_key_a_read_from_the_projections_is_refused(
    encrypted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARELEDGER_CIPHER_KEY", OTHER_KEY)
    result = invoke("unapproved", "--db", encrypted)
    assert (result.exit_code, result.stdout) == (1, "")
    assert "CARELEDGER_CIPHER_KEY: not the key this ledger was encrypted with" in result.stderr


def test_without_the_key_a_new_child_is_not_recorded_in_the_clear(
    encrypted: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """NR-0204's first record, made by someone who forgot the key, would be the only event
    of the ledger stored as plain JSON."""
    monkeypatch.delenv("CARELEDGER_CIPHER_KEY")
    with direct(encrypted) as before:
        count = len(before.events())
    path = tmp_path / "new.jsonl"
    path.write_text(demo_lines("NR-0204")[0] + "\n", encoding="utf-8")

    result = invoke("record", "--db", encrypted, "--file", path)

    assert (result.exit_code, result.stderr) == (1, ENCRYPTED_ERROR)
    with direct(encrypted) as after:
        assert len(after.events()) == count

