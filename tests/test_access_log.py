"""The access log: every read of a child's record, hash-chained in the ledger's own store,
append-only, and safe with several API workers appending at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from careledger.access.log_chain import verify_log
from careledger.api import Opened, opened
from careledger.ledger.errors import LedgerError
from tests.access_histories import HOME, OTHER, person

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


def test_the_store_refuses_to_change_or_remove_an_entry(o: Opened) -> None:
    o.access.access_log.append("SW-2210", "SW", f"{HOME}:NR-0201", "plan", "allowed")
    for statement in (
        "UPDATE {s}access_log SET actor = 'someone else'",
        "DELETE FROM {s}access_log",
    ):
        refused = pytest.raises(Exception, match="the access log is append-only")
        with refused, o.access.store.transaction() as cursor:
            cursor.execute(statement)
    assert [e["actor"] for e in o.access.access_log.entries()] == ["SW-2210"]


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
