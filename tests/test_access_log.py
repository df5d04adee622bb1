"""The access log: every read of a child's record, hash-chained in the ledger's own store,
append-only, and safe with several API workers appending at once. Where the appending process
holds the head key (CARELEDGER_HEAD_KEY_FILE), each entry's head is signed
(`careledger.access.log_heads`): a tail cut by someone with write access to the database, but
not the key, is caught by `careledger verify`, and with the head log kept outside the database
even when the signatures are cut with it."""

from __future__ import annotations

import multiprocessing
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from careledger.access.log_chain import entry_digest, verify_log
from careledger.access.log_heads import sign
from careledger.api import Opened, opened
from careledger.cli.exit_status import VERIFICATION_FAILED
from careledger.cli.main import cli
from careledger.ledger.errors import LedgerError
from careledger.ledger.integrity.heads import HeadSigner
from careledger.ledger.integrity.seal import fingerprint, public_pem, read_public_key
from tests.access_histories import HOME, OTHER, person
from tests.tamper import direct
from tests.test_service_recording import came_into_care

WORKERS, READS = 2, 40


def test_entries_chain_each_to_the_one_before(o: Opened) -> None:
    iro = person("IRO", "B-IRO-11")
    for child in (f"{HOME}:NR-0201", f"{HOME}:NR-0203"):
        o.access.access_log.append(iro.name, iro.role, child, "plan", "allowed")
    entries = o.access.access_log.entries()
    assert [e["position"] for e in entries] == [1, 2]
    assert o.access.verify_log().intact
    assert o.access.verify_log().entries == 2
    changed = [dict(entries[0], view="history"), entries[1]]
    found = verify_log(changed)
    assert not found.intact
    assert found.problem is not None and found.problem.startswith("access log entry 1 differs")
    assert verify_log(entries[1:]).problem == "access log entry 1 is missing (next is 2)"


def test_filters_answer_a_subject_access_request(o: Opened) -> None:
    sw, inspector = person("SW", "SW-2210"), person("INSPECTOR", "ofsted.insp1", (HOME, OTHER))
    o.access.check_child(sw, f"{HOME}:NR-0201", "plan")
    o.access.check_child(inspector, f"{HOME}:NR-0201", "history", "ILACS: plan sampling")
    o.access.check_child(sw, f"{HOME}:NR-0203", "reviews")
    with pytest.raises(Exception, match="not found or not allowed"):
        o.access.check_child(sw, f"{OTHER}:NR-0101", "plan")
    dpo = person("DPO", "dpo.e09")
    child = o.access.log(f"{HOME}:NR-0201", who=dpo)
    assert [(e["actor"], e["view"], e["reason"]) for e in child] == [
        ("SW-2210", "plan", None),
        ("ofsted.insp1", "history", "ILACS: plan sampling"),
    ]
    assert [e["child"] for e in o.access.log(actor="SW-2210", who=dpo)] == [
        f"{HOME}:NR-0201",
        f"{HOME}:NR-0203",
    ]  # the refused read of another council's child is that council's DPO's to see
    admin = person("ADMIN", "root")
    assert o.access.log(actor="SW-2210", who=admin)[-1]["outcome"] == "refused"
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert o.access.log(since=later, who=dpo) == []
    assert len(o.access.log(until=later, who=dpo)) == 3


def _append_reads(db: str, worker: int) -> int:
    with opened(db) as o:
        for _ in range(READS):
            o.access.check_child(person("SW", f"SW-{worker}"), f"{HOME}:NR-0201", "plan")
    return READS


def test_api_workers_appending_at_once_keep_one_unbroken_chain(db: str) -> None:
    with opened(db, create_tables=True):
        pass
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        done = list(pool.map(_append_reads, [db] * WORKERS, range(WORKERS)))
    assert done == [READS] * WORKERS
    with opened(db) as o:
        entries = o.access.access_log.entries()
        verdict = o.access.verify_log()
    assert [e["position"] for e in entries] == list(range(1, WORKERS * READS + 1))
    assert {e["actor"] for e in entries} == {f"SW-{w}" for w in range(WORKERS)}
    assert verdict.intact and verdict.entries == WORKERS * READS


def tamper(db: str, statement: str) -> None:
    """Change the access log behind careledger's back, as its tables' owner could."""
    if db.startswith("postgresql://"):
        schema = db.split("schema=", 1)[1]
        with psycopg.connect(db.split("?", 1)[0], autocommit=True) as connection:
            connection.execute(f'SET search_path TO "{schema}"')
            connection.execute("ALTER TABLE access_log DISABLE TRIGGER access_log_append_only")
            connection.execute(statement)
        return
    with sqlite3.connect(db) as connection:
        connection.execute("DROP TRIGGER IF EXISTS access_log_no_update")
        connection.execute("DROP TRIGGER IF EXISTS access_log_no_delete")
        connection.execute(statement)


def test_a_malformed_read_is_refused_naming_the_field_and_logs_nothing(o: Opened) -> None:
    sw = person("SW", "SW-2210")
    for child, view, field in (
        ("NR-0201", "plan", "child"),
        (f"{HOME}:NR-0201", "everything", "view"),
        (f"{HOME}:NR-0201", "plan", "reason"),
    ):
        with pytest.raises(LedgerError) as refused:
            o.access.check_child(sw, child, view, "x" * 501 if field == "reason" else None)
        assert str(refused.value).startswith(f"{field}: ")
    assert o.access.access_log.entries() == []


# --- signed heads: a cut tail ------------------------------------------------------------


def run(*args: object, key: Path | None = None, log: Path | None = None) -> Result:
    env = {
        "CARELEDGER_DB": None,
        "CARELEDGER_HEAD_KEY_FILE": str(key) if key else None,
        "CARELEDGER_HEAD_LOG": str(log) if log else None,
        "CARELEDGER_HEAD_PUBLIC_KEY_FILE": None,
    }
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


@pytest.fixture
def head_key(tmp_path: Path) -> Path:
    key = tmp_path / "head.key"
    made = run("head-key", key)
    assert made.exit_code == 0, made.output
    return key


def signed_reads(db: str, key: Path, reads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """`reads` reads logged by a process holding the head key, as the service's workers."""
    monkeypatch.setenv("CARELEDGER_HEAD_KEY_FILE", str(key))
    with opened(db, create_tables=True) as o:
        for number in range(reads):
            o.access.check_child(person("SW", "SW-2210"), f"{HOME}:NR-02{number:02}", "plan")
    monkeypatch.delenv("CARELEDGER_HEAD_KEY_FILE")


def broken(result: Result) -> str:
    """The access log's problem that `verify` printed, which exited 3."""
    assert result.exit_code == VERIFICATION_FAILED, result.output
    assert result.stdout.splitlines()[0] == "BROKEN"
    lines = [line for line in result.stdout.splitlines() if line.startswith("access log: ")]
    assert len(lines) == 1, result.stdout
    return lines[0].removeprefix("access log: BROKEN: ")


def test_each_signed_read_is_checked_and_a_cut_tail_is_caught(
    db: str, head_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_reads(db, head_key, 5, monkeypatch)
    with direct(db) as tables:
        assert tables.access_log_heads() == [1, 2, 3, 4, 5]
    with opened(db) as o:
        verdict = o.access.verify_log()
    assert verdict.intact and verdict.signatures == 5 and verdict.signed_to == 5
    intact = run("verify", "--db", db)
    assert intact.exit_code == 0, intact.output
    assert "access log" not in intact.output
    with direct(db) as tables:
        tables.disable_access_log_triggers()
        tables.cut_access_log(2)
        assert tables.access_log_positions() == [1, 2, 3]
    with opened(db) as o:
        assert verify_log(o.access.access_log.entries()).intact  # the chain alone holds
    assert broken(run("verify", "--db", db)) == (
        "the access log's heads are signed up to entry 5; the log ends at entry 3: entries "
        "were removed from its tail"
    )


def test_a_tail_cut_with_its_signatures_is_caught_by_the_head_log_outside(
    db: str, head_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "heads.jsonl"
    monkeypatch.setenv("CARELEDGER_HEAD_LOG", str(outside))
    signed_reads(db, head_key, 4, monkeypatch)
    assert len(outside.read_text().splitlines()) == 4
    assert run("verify", "--db", db, "--head-log", outside).exit_code == 0
    with direct(db) as tables:
        tables.disable_access_log_triggers()
        tables.cut_access_log(1, with_heads=True)
    assert run("verify", "--db", db).exit_code == 0  # what remains holds
    problem = broken(run("verify", "--db", db, "--head-log", outside))
    assert problem.startswith("the head log outside the database names access log entry 4 ")
    assert problem.endswith("the log ends at entry 3: entries were removed from its tail")


def test_a_rewritten_entry_with_its_chain_recomputed_no_longer_matches_its_signed_head(
    db: str, head_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_reads(db, head_key, 2, monkeypatch)
    with opened(db) as o:
        entries = o.access.access_log.entries()
    hidden = dict(entries[1], child=f"{HOME}:NR-0299")
    recomputed = entry_digest(bytes.fromhex(entries[0]["digest"]), hidden).hex()
    with direct(db) as tables:
        tables.disable_access_log_triggers()
        tables.run(
            "UPDATE access_log SET child = ?, digest = ? WHERE position = 2",
            hidden["child"],
            recomputed,
        )
    assert broken(run("verify", "--db", db)) == (
        f"the access log's head signed at entry 2 has digest {entries[1]['digest']}; the "
        f"log's there is {recomputed}"
    )


def test_reads_logged_without_the_key_stay_valid_beside_signed_ones(
    db: str, head_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_reads(db, head_key, 2, monkeypatch)
    with opened(db) as o:  # an administrator's read command: no key on their machine
        o.access.check_child(person("ADMIN", "it.admin"), f"{HOME}:NR-0201", "plan")
    verified = run("verify", "--db", db)
    assert verified.exit_code == 0, verified.output
    with direct(db) as tables:
        assert tables.access_log_positions() == [1, 2, 3]
        assert tables.access_log_heads() == [1, 2]


def test_workers_holding_the_key_appending_at_once_sign_every_entry(
    db: str, head_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "heads.jsonl"
    with opened(db, create_tables=True):
        pass
    monkeypatch.setenv("CARELEDGER_HEAD_KEY_FILE", str(head_key))
    monkeypatch.setenv("CARELEDGER_HEAD_LOG", str(outside))
    context = multiprocessing.get_context("spawn")  # the workers inherit the environment
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        done = list(pool.map(_append_reads, [db] * WORKERS, range(WORKERS)))
    assert done == [READS] * WORKERS
    with direct(db) as tables:
        assert tables.access_log_heads() == list(range(1, WORKERS * READS + 1))
    assert len(outside.read_text().splitlines()) == WORKERS * READS
    verified = run("verify", "--db", db, "--head-log", outside)
    assert verified.exit_code == 0, verified.output


def test_a_ledger_made_before_the_heads_table_verifies_and_says_what_to_run(
    db: str, head_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with opened(db, create_tables=True) as o:
        o.access.check_child(person("SW", "SW-2210"), f"{HOME}:NR-0201", "plan")
    with direct(db) as tables:
        tables.run("DROP TABLE access_log_heads")
    verified = run("verify", "--db", db)
    assert verified.exit_code == 0, verified.output
    assert (
        "warning: the access log's head cannot be signed: this ledger has no table for its "
        "signed heads; run 'careledger init' (safe to repeat) to add it"
    ) in verified.stderr
    monkeypatch.setenv("CARELEDGER_HEAD_KEY_FILE", str(head_key))
    with opened(db) as o, pytest.raises(LedgerError) as refused:
        o.access.check_child(person("SW", "SW-2210"), f"{HOME}:NR-0201", "plan")
    assert str(refused.value) == (
        "CARELEDGER_HEAD_KEY_FILE: this ledger has no table for the access log's signed heads; "
        "run 'careledger init' (safe to repeat) to add it; nothing read"
    )
    monkeypatch.delenv("CARELEDGER_HEAD_KEY_FILE")
    assert run("init", "--db", db).exit_code == 0
    signed_reads(db, head_key, 1, monkeypatch)
    verified = run("verify", "--db", db)
    assert verified.exit_code == 0, verified.output
    assert "access log" not in verified.output


@pytest.mark.parametrize(
    ("table", "change"),
    [("access_log", "actor = 'someone else'"), ("access_log_heads", "digest = 'ff'")],
)
def test_the_store_refuses_to_change_or_remove_an_entry_or_its_signed_head(
    o: Opened, head_key: Path, monkeypatch: pytest.MonkeyPatch, table: str, change: str
) -> None:
    monkeypatch.setenv("CARELEDGER_HEAD_KEY_FILE", str(head_key))
    with opened(str(o.ledger.store.location)) as signing:
        signing.access.access_log.append("SW-2210", "SW", f"{HOME}:NR-0201", "plan", "allowed")
    for statement in (f"UPDATE {{s}}{table} SET {change}", f"DELETE FROM {{s}}{table}"):
        refused = pytest.raises(Exception, match="the access log is append-only")
        with refused, o.access.store.transaction() as cursor:
            cursor.execute(statement)
    assert o.access.store.fetch(f"SELECT position FROM {{s}}{table}") == [{"position": 1}]


def test_a_head_signed_by_another_key_is_refused_when_the_verifier_gives_the_public_key(
    db: str, head_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_reads(db, head_key, 2, monkeypatch)
    monkeypatch.setenv("CARELEDGER_HEAD_KEY_FILE", str(head_key))
    with opened(db) as o:  # the ledger's own head signed too, as where the service records
        o.record([came_into_care("NR-0290")], "LCS", "ADMIN")
    monkeypatch.delenv("CARELEDGER_HEAD_KEY_FILE")
    public = tmp_path / "head.pub"
    public.write_text(public_pem(read_public_key(head_key)), encoding="utf-8")
    holds = run("verify", "--db", db, "--head-public-key", public)
    assert holds.exit_code == 0, holds.output
    forger = HeadSigner(Ed25519PrivateKey.generate())
    with opened(db) as o:
        last = o.access.access_log.entries()[-1]
    entry = {
        "position": 3, "at": last["at"], "actor": "SW-2210", "role": "SW",
        "council": HOME, "child": f"{HOME}:NR-0201", "view": "plan", "reason": None,
        "outcome": "allowed",
    }  # fmt: skip
    entry["digest"] = entry_digest(bytes.fromhex(last["digest"]), entry).hex()
    forged = sign(forger, 3, entry["digest"])
    with direct(db) as tables:  # INSERT alone: the triggers allow it
        names = list(entry)
        tables.run(
            f"INSERT INTO access_log ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            *entry.values(),
        )
        tables.run(
            "INSERT INTO access_log_heads (position, digest, signed_at, public_key, signature) "
            "VALUES (?, ?, ?, ?, ?)",
            *forged.row(),
        )
    problem = broken(run("verify", "--db", db, "--head-public-key", public))
    assert problem == (
        f"the access log's head signed at entry 3 ({forged.signed_at}) is signed by key "
        f"{forged.fingerprint}, not by a key given ({fingerprint(read_public_key(head_key))})"
    )
