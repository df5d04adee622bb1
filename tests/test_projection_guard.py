"""On SQLite, only the projector's connections write the projection tables.

Two children recorded with `careledger record` leave one flag in `cl_unapproved` (NR-0205's
placement changed without review approval). A direct connection with the sqlite3 module, as
the sqlite3 shell would open, can read every projection table but cannot delete that flag,
nor insert, update or delete a row of any projection table or of the tracking table (which
would make the views' lag lie); the ledger's own commands still project and answer. A ledger
made before the guard gets it from `careledger init`, run again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from careledger.projections import guard
from tests.tamper import Direct, direct
from tests.test_integrity import invoke, ok, record_two_children

FLAG = ("NR-0205", "placement", "made without review approval")


@pytest.fixture
def ledger(sqlite_db: str, tmp_path: Path) -> str:
    record_two_children(sqlite_db, tmp_path)
    return sqlite_db


def flags(db: str) -> list[tuple[str, str, str]]:
    with direct(db) as tables:
        rows = tables.run("SELECT child_ref, section, kind FROM cl_unapproved")
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def test_a_direct_connection_cannot_delete_a_flag(ledger: str) -> None:
    before = flags(ledger)
    assert FLAG in before
    with direct(ledger) as tables, pytest.raises(sqlite3.OperationalError) as refused:
        tables.run("DELETE FROM cl_unapproved WHERE child_ref = 'NR-0205'")
    assert str(refused.value) == f"no such function: {guard.FUNCTION}"
    assert flags(ledger) == before
    shown = ok(invoke("unapproved", "--db", ledger, "--format", "json")).stdout
    assert '"child": "NR-0205"' in shown


@pytest.mark.parametrize("table", guard.GUARDED)
def test_no_projection_table_can_be_written_past_the_projector(ledger: str, table: str) -> None:
    with direct(ledger) as tables:
        before = tables.run(f"SELECT * FROM {table} ORDER BY 1, 2")
        for statement in (
            f"DELETE FROM {table}",
            f"UPDATE {table} SET {first_column(tables, table)} = NULL",
            f"INSERT OR REPLACE INTO {table} SELECT * FROM {table}",
        ):
            with pytest.raises(sqlite3.OperationalError, match=guard.FUNCTION):
                tables.run(statement)
        assert tables.run(f"SELECT * FROM {table} ORDER BY 1, 2") == before


def first_column(tables: Direct, table: str) -> str:
    return str(tables.run(f"PRAGMA table_info({table})")[0][1])


def test_the_projector_still_writes_through_the_guard(ledger: str, tmp_path: Path) -> None:
    before = flags(ledger)
    ok(invoke("projections", "rebuild", "--db", ledger))
    assert FLAG in before
    assert sorted(flags(ledger)) == sorted(before)
    status = ok(invoke("projections", "status", "--db", ledger, "--format", "json")).stdout
    assert '"lag": 0' in status


def test_init_run_again_guards_a_ledger_made_before_the_guard(ledger: str) -> None:
    with direct(ledger) as tables:
        tables.unguard_projections()
        tables.run("DELETE FROM cl_unapproved")
    ok(invoke("init", "--db", ledger))
    with direct(ledger) as tables:
        names = tables.run("SELECT name FROM sqlite_master WHERE name LIKE '%projector_only%'")
        assert len(names) == 3 * len(guard.GUARDED)
        with pytest.raises(sqlite3.OperationalError, match=guard.FUNCTION):
            tables.run("INSERT INTO cl_policy VALUES ('x', 'y')")


def test_a_rebuild_leaves_every_table_guarded_and_indexed(ledger: str) -> None:
    """A rebuild makes the tables anew, their guard's triggers and their secondary indexes only
    once the rows are in: every one of them is there afterwards, and the guard refuses."""
    ok(invoke("projections", "rebuild", "--db", ledger))
    with direct(ledger) as tables:
        triggers = tables.run("SELECT name FROM sqlite_master WHERE name LIKE '%projector_only%'")
        assert len(triggers) == 3 * len(guard.GUARDED)
        indexes = {
            row[0] for row in tables.run("SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert {"cl_cases_child", "cl_children_settled"} <= indexes
        with pytest.raises(sqlite3.OperationalError, match=guard.FUNCTION):
            tables.run("DELETE FROM cl_unapproved")
    assert FLAG in flags(ledger)
