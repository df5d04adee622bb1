"""One SQLite ledger opened twice in one process (for recording, and for reading, as each of
the service's workers opens it) sees every event another process records, each time: no
opening of the file in this process may drop the locks SQLite holds on it
(`ledger.store.sqlite_persistence`). Real files, and a second real process that records."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

from careledger.api import opened
from tests.test_service_recording import came_into_care

CHILDREN = ("RP-01", "RP-02", "RP-03")


def _record(db: str, child: str) -> int:
    """Another process: records one child coming into care, and says where the log ends."""
    with opened(db) as ledger:
        ledger.record([came_into_care(child)], "LCS", "ADMIN")
        return ledger.lag().newest


def recorded_elsewhere(db: str, child: str) -> int:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return int(pool.apply(_record, (db, child)))


def test_a_ledger_opened_twice_sees_each_event_another_process_records(
    sqlite_db: str,
) -> None:
    with opened(sqlite_db, create_tables=True) as ledger:
        ledger.record([came_into_care("RP-00")], "LCS", "ADMIN")
    with opened(sqlite_db) as ledger, opened(sqlite_db, reading=True) as reader:
        for child in CHILDREN:
            newest = recorded_elsewhere(sqlite_db, child)
            assert ledger.lag().newest == newest
            assert reader.lag().newest == newest
            history = ledger.history(f"E10000099:{child}")
            assert history and reader.history(f"E10000099:{child}") == history


def test_a_ledger_opened_and_closed_while_another_stays_open_hides_nothing(
    sqlite_db: str,
) -> None:
    with opened(sqlite_db, create_tables=True) as ledger:
        ledger.record([came_into_care("RP-00")], "LCS", "ADMIN")
    with opened(sqlite_db) as ledger:
        for child in CHILDREN:
            with opened(sqlite_db, reading=True) as briefly:
                assert briefly.lag().newest == ledger.lag().newest
            newest = recorded_elsewhere(sqlite_db, child)
            assert ledger.lag().newest == newest


def test_a_file_loosened_while_closed_is_tightened_when_opened_again(sqlite_db: str) -> None:
    with opened(sqlite_db, create_tables=True):
        pass
    os.chmod(sqlite_db, 0o644)
    with opened(sqlite_db), opened(sqlite_db, reading=True):
        assert stat.S_IMODE(Path(sqlite_db).stat().st_mode) == 0o600
