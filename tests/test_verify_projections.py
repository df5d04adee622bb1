"""`careledger verify --projections`: the projections rebuilt from the events, in scratch,
and compared with the live tables, on a SQLite file and on PostgreSQL.

Two children are recorded with `careledger record` (NR-0205's placement is changed without
review approval: one flag in `cl_unapproved`). Someone who gets past the guard on the
projection tables (on SQLite by dropping its triggers, on PostgreSQL as a superuser) deletes
that flag: the chain still verifies and the lag is still 0, but `verify --projections` names
the table, the row's key and what the rebuild holds, and exits 1. A changed value is named
with its live and rebuilt values, an extra row with its live values. Views built under
another policy setting are rebuilt under that recorded setting, not the environment's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from careledger.ledger.domain.identity import case_id
from careledger.ledger.store.location import new_cipher_key
from tests.envelope import data_of
from tests.tamper import direct
from tests.test_integrity import (
    COUNCIL,
    ENV,
    EVENTS,
    FIRST,
    SECOND,
    demo_lines,
    invoke,
    lines_of,
    ok,
    record,
    record_two_children,
)

FLAGGED = case_id(COUNCIL, SECOND)
FLAG_KEY = f"case_id='{FLAGGED}', seq=10, kind='made without review approval', section='placement'"
SAME = f"projections: the same as rebuilt from the events, up to log position {EVENTS}"
DIFFER = f"projections: DIFFER from a rebuild from the events, up to log position {EVENTS}"


@pytest.fixture
def ledger(db: str, tmp_path: Path) -> str:
    record_two_children(db, tmp_path)
    return db


def recheck(db: str, *options: str) -> Result:
    return invoke("verify", "--db", db, "--projections", *options)


def tamper(db: str, *statements: str) -> None:
    with direct(db) as tables:
        tables.unguard_projections()
        for statement in statements:
            tables.run(statement)


def test_freshly_projected_views_are_the_same_as_a_rebuild(ledger: str) -> None:
    assert lines_of(ok(recheck(ledger)))[-1] == SAME


def test_a_deleted_flag_is_named_though_the_chain_is_intact_and_the_lag_is_0(ledger: str) -> None:
    tamper(ledger, f"DELETE FROM cl_unapproved WHERE case_id = '{FLAGGED}'")
    assert (
        '"lag": 0' in ok(invoke("projections", "status", "--db", ledger, "--format", "json")).stdout
    )
    result = recheck(ledger)
    assert result.exit_code == 3, result.output  # verification failed
    lines = lines_of(result)
    assert lines[0] == f"intact: {EVENTS} events in 2 case(s)"
    assert lines[2:6] == [
        DIFFER,
        "  cl_unapproved: 1 row(s) differ",
        f"    {FLAG_KEY}: missing from the live table",
        lines[5],
    ]
    assert lines[5].startswith(f"      rebuilt row: {{'case_id': '{FLAGGED}', 'seq': 10, ")
    assert "'child_ref': 'NR-0205', 'section': 'placement'" in lines[5]


def test_a_changed_value_and_an_extra_row_are_named_with_their_values(ledger: str) -> None:
    other = case_id(COUNCIL, FIRST)
    tamper(
        ledger,
        f"UPDATE cl_cases SET iro = 'Nobody' WHERE case_id = '{other}'",
        "INSERT INTO cl_unapproved SELECT case_id, 99, kind, council, child_ref, section, "
        "occurred_on, decided_by, decided_role, why, rule FROM cl_unapproved "
        "WHERE child_ref = 'NR-0205'",
    )
    result = recheck(ledger, "--format", "json")
    assert result.exit_code == 3, result.output  # verification failed
    found: dict[str, Any] = data_of(result.stdout)["projections"]
    assert found["same"] is False
    assert found["differing_rows"] == {"cl_cases": 1, "cl_unapproved": 1}
    changed, extra = found["differences"]
    assert changed["table"] == "cl_cases" and changed["key"] == {"case_id": str(other)}
    assert changed["problem"] == "differs"
    assert changed["live"] == {"iro": "Nobody"} and changed["rebuilt"]["iro"] != "Nobody"
    assert extra["table"] == "cl_unapproved" and extra["key"]["seq"] == 99
    assert extra["problem"] == "extra in the live table" and extra["rebuilt"] is None
    assert extra["live"]["child_ref"] == "NR-0205"


def test_views_built_under_another_policy_are_rebuilt_under_it(db: str, tmp_path: Path) -> None:
    """NR-0203's placement change, recorded as not significant, is flagged when placement
    changes are presumed significant (the default), not when only legal status changes are.
    Views built under the latter are compared with a rebuild under it: rebuilt under the
    environment's default instead, they would lack the rebuild's flag."""
    setting = "CARELEDGER_PRESUMED_SIGNIFICANT"
    ENV[setting] = "legal_status"
    try:
        ok(invoke("init", "--db", db))
        record(db, tmp_path, demo_lines("NR-0203"))
    finally:
        del ENV[setting]
    with direct(db) as tables:
        flagged = "SELECT why FROM cl_unapproved WHERE kind != 'differs from the proposal approved'"
        whys = [str(why) for (why,) in tables.run(flagged)]
    assert len(whys) == 3 and not any("presumed significant" in why for why in whys)
    events = len(demo_lines("NR-0203")) + 1  # and its CaseOpened
    assert lines_of(ok(recheck(db)))[-1] == SAME.replace(str(EVENTS), str(events))


def test_an_encrypted_ledger_is_compared_on_its_decrypted_payloads(db: str, tmp_path: Path) -> None:
    ENV["CARELEDGER_CIPHER_KEY"] = new_cipher_key()
    try:
        record_two_children(db, tmp_path)
        assert lines_of(ok(recheck(db)))[-1] == SAME
        tamper(
            db,
            "UPDATE cl_events SET payload = (SELECT payload FROM cl_events WHERE seq = 2 "
            "LIMIT 1) WHERE seq = 3",
        )
        result = recheck(db, "--format", "json")
    finally:
        del ENV["CARELEDGER_CIPHER_KEY"]
    assert result.exit_code == 3, result.output  # verification failed
    found = data_of(result.stdout)["projections"]
    assert found["differing_rows"] == {"cl_events": 2}
    assert {d["key"]["seq"] for d in found["differences"]} == {3}
    assert all(set(d["live"]) == {"payload"} for d in found["differences"])


def test_the_scratch_schema_is_dropped_afterwards(postgres_db: str, tmp_path: Path) -> None:
    record_two_children(postgres_db, tmp_path)
    with direct(postgres_db) as tables:
        scratch = "SELECT nspname FROM pg_namespace WHERE nspname LIKE ?"
        before = tables.run(scratch, "careledger_verify_%")
        ok(recheck(postgres_db))
        assert tables.run(scratch, "careledger_verify_%") == before
