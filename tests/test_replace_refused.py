"""SQLite's INSERT OR REPLACE cannot rewrite a stored event or a chain row.

REPLACE deletes the row in its way without firing a DELETE trigger (SQLite fires none for it
unless recursive_triggers is on), so the refusals of UPDATE and DELETE alone let a direct
connection rewrite the third event of a recorded case, or its chain row, in one statement.
Each attempt here is made with the sqlite3 module, past the ledger, on a ledger recorded with
`careledger record`; the rows are unchanged afterwards and `verify` still says intact.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tamper import direct
from tests.test_integrity import EVENTS, attempt, lines_of, ok, record_two_children, verify

REFUSED = "careledger: the ledger is append-only: INSERT over an existing row of {table}"


@pytest.fixture
def ledger(sqlite_db: str, tmp_path: Path) -> str:
    record_two_children(sqlite_db, tmp_path)
    return sqlite_db


@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
def test_replacing_a_stored_event_by_its_log_position_is_refused(ledger: str, verb: str) -> None:
    with direct(ledger) as tables:
        refused = attempt(
            tables,
            f"{verb} INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "SELECT rowid, originator_id, originator_version, topic, "
            "replace(state, 'placement', 'permanence') FROM stored_events WHERE rowid = 3",
        )
    assert refused == REFUSED.format(table="stored_events")
    assert lines_of(ok(verify(ledger)))[0] == f"intact: {EVENTS} events in 2 case(s)"


def test_replacing_a_stored_event_by_its_case_and_sequence_is_refused(ledger: str) -> None:
    """Without the rowid, the new row would take a new log position and the old one vanish."""
    with direct(ledger) as tables:
        refused = attempt(
            tables,
            "INSERT OR REPLACE INTO stored_events "
            "(originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state || ' ' "
            "FROM stored_events WHERE rowid = 3",
        )
    assert refused == REFUSED.format(table="stored_events")


@pytest.mark.parametrize("key", ["notification_id", "originator_id, originator_version"])
def test_replacing_a_chain_row_is_refused(ledger: str, key: str) -> None:
    columns = "originator_id, originator_version, event_hash, previous, digest"
    with direct(ledger) as tables:
        given = "notification_id, " if key == "notification_id" else ""
        new_position = "" if given else "notification_id + 1000, "
        refused = attempt(
            tables,
            f"INSERT OR REPLACE INTO ledger_chain ({given or 'notification_id, '}{columns}) "
            f"SELECT {given or new_position}originator_id, originator_version, "
            "zeroblob(32), previous, digest FROM ledger_chain WHERE notification_id = 3",
        )
    assert refused == REFUSED.format(table="ledger_chain")
    assert lines_of(ok(verify(ledger)))[0] == f"intact: {EVENTS} events in 2 case(s)"
