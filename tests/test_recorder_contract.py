"""careledger extends the library's application recorders (ledger/recorders.py); they must
still honour the library's own contract suites, on a real SQLite file and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from contextlib import closing

import psycopg
import pytest
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
    TrackingRecorderTestCase,
)

from careledger.api import opened
from careledger.ledger.store.location import _postgres_env
from careledger.ledger.store.recorders import PostgresLedgerRecorder, SQLiteLedgerRecorder
from careledger.ledger.store.sqlite_persistence import keep_statements
from careledger.projections import guard
from careledger.projections.views import PostgresCaseViews, SQLiteCaseViews
from tests.conftest import postgres_url


class SQLiteStore:
    def setUp(self) -> None:
        self.folder = tempfile.mkdtemp()
        # The ledger's own pool (ledger/sqlite_persistence.py), as `careledger` opens SQLite.
        self.datastore = keep_statements(
            SQLiteDatastore(db_name=os.path.join(self.folder, "contract.db"))
        )

    def tearDown(self) -> None:
        # The library's concurrency test stops its reader threads without joining them:
        # closing SQLite connections under a running reader crashes the interpreter, so the
        # datastore is left to be collected once they finish.
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_recorder(self) -> SQLiteLedgerRecorder:
        recorder = SQLiteLedgerRecorder(self.datastore)
        recorder.create_table()
        return recorder


class PostgresStore:
    def setUp(self) -> None:
        self.schema = f"cl_contract_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(postgres_url(), autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{self.schema}"')
        env = _postgres_env(postgres_url())
        self.datastore = PostgresDatastore(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            schema=self.schema,
            pool_size=12,
        )

    def tearDown(self) -> None:
        self.datastore.close()
        with psycopg.connect(postgres_url(), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{self.schema}" CASCADE')

    def create_recorder(self) -> PostgresLedgerRecorder:
        recorder = PostgresLedgerRecorder(self.datastore, events_table_name="careledger_events")
        recorder.create_table()
        return recorder


class TestSQLiteLedgerRecorder(SQLiteStore, ApplicationRecorderTestCase[SQLiteLedgerRecorder]):
    pass


class TestSQLiteNonInterleaving(SQLiteStore, NonInterleavingNotificationIDsBaseCase):
    pass


class TestPostgresLedgerRecorder(
    PostgresStore, ApplicationRecorderTestCase[PostgresLedgerRecorder]
):
    pass


class TestPostgresNonInterleaving(PostgresStore, NonInterleavingNotificationIDsBaseCase):
    pass


class TestSQLiteCaseViews(SQLiteStore, TrackingRecorderTestCase):
    """The projection tables extend the library's tracking recorder: its contract holds."""

    def create_recorder(self) -> SQLiteCaseViews:  # type: ignore[override]
        guard.as_projector(self.datastore)  # the views' connections are the projector's
        recorder = SQLiteCaseViews(self.datastore)
        recorder.create_table()
        return recorder


class TestPostgresCaseViews(PostgresStore, TrackingRecorderTestCase):
    def create_recorder(self) -> PostgresCaseViews:  # type: ignore[override]
        recorder = PostgresCaseViews(
            self.datastore, tracking_table_name="careledger_views_tracking"
        )
        recorder.create_table()
        return recorder


del ApplicationRecorderTestCase, NonInterleavingNotificationIDsBaseCase, TrackingRecorderTestCase


def test_existing_cases_names_exactly_the_cases_in_the_store(db: str) -> None:
    from careledger.api import opened
    from careledger.ledger.domain import payloads as p
    from careledger.ledger.domain.commands import parse_command
    from careledger.ledger.domain.identity import case_id

    with opened(db, create_tables=True) as o:
        entry = {
            "type": "ChildBecameLookedAfter",
            "council": "E10000099",
            "child": "AX-1",
            "occurred_on": "2024-03-04",
            "source": "LCS/EPI/1",
            "legal_status": "V2",
        }
        o.ledger.record([parse_command(entry)], p.Actor(actor_id="sw", role="SW"))
        known, unknown = case_id("E10000099", "AX-1"), case_id("E10000099", "AX-2")
        recorder = o.ledger.recorder
        assert isinstance(recorder, SQLiteLedgerRecorder | PostgresLedgerRecorder)
        assert recorder.existing_cases([known, unknown]) == {known}
        assert recorder.existing_cases([]) == set()


def test_a_sqlite_ledger_writes_ahead_so_readers_never_wait_for_the_writer(
    sqlite_db: str,
) -> None:
    """The ledger opens SQLite through its own pool of connections; like the library's, it
    puts the file in write-ahead-log mode (a setting the file keeps)."""
    with opened(sqlite_db, create_tables=True):
        pass
    with closing(sqlite3.connect(sqlite_db)) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_ledgers_sqlite_pool_keeps_the_librarys_pool_settings() -> None:
    folder = tempfile.mkdtemp()
    try:
        library = SQLiteDatastore(
            db_name=os.path.join(folder, "settings.db"),
            lock_timeout=7,
            pool_size=2,
            max_overflow=3,
            pool_timeout=4.0,
            max_age=60.0,
            pre_ping=True,
        )
        pool = keep_statements(library).pool
        assert (
            pool.lock_timeout,
            pool.pool_size,
            pool.max_overflow,
            pool.pool_timeout,
            pool.max_age,
            pool.pre_ping,
        ) == (7, 2, 3, 4.0, 60.0, True)
        library.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_sqlite_ledger_refuses_to_record_once_a_hand_made_row_holds_the_last_position(
    sqlite_db: str,
) -> None:
    """SQLite numbers a new event one past the largest position so far, which is how the
    ledger knows a bulk record's positions without asking for each. A row put by hand at the
    largest position there can be makes SQLite number new rows at random: the ledger then
    records nothing and says why, rather than chain events at positions it did not check."""
    from careledger.ledger.domain import payloads as p
    from careledger.ledger.domain.commands import parse_command
    from careledger.ledger.errors import LedgerError

    social_worker = p.Actor(actor_id="sw.tokafor", role="SW")

    def entry(child: str) -> dict[str, str]:
        return {
            "type": "ChildBecameLookedAfter",
            "council": "E10000099",
            "child": child,
            "occurred_on": "2024-03-04",
            "source": f"LCS/EPI/{child}",
            "legal_status": "V2",
        }

    with opened(sqlite_db, create_tables=True) as o:
        o.ledger.record([parse_command(entry("AX-1"))], social_worker)
    with closing(sqlite3.connect(sqlite_db, isolation_level=None)) as plain:
        plain.execute(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "VALUES (9223372036854775807, ?, 1, 'x', x'00')",
            (uuid.uuid4().hex,),
        )
        before = plain.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
    with opened(sqlite_db) as o:
        commands = [parse_command(entry(child)) for child in ("AX-2", "AX-3")]
        with pytest.raises(LedgerError, match="positions are not in order"):
            o.ledger.record(commands, social_worker)
    with closing(sqlite3.connect(sqlite_db)) as plain:
        assert plain.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0] == before
        assert plain.execute("SELECT COUNT(*) FROM ledger_chain").fetchone()[0] == 2
