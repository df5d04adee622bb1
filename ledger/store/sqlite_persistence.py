"""The library's SQLite persistence, with connections that keep their prepared statements.

eventsourcing 9.5 opens each SQLite connection with `cached_statements=True`, which Python's
sqlite3 reads as a cache of one statement. Saving one event runs seven different statements
(BEGIN, the insert, two reads of the positions it was given, the chain's two reads and its
insert: `SQLiteLedgerRecorder`), so every save prepared them all anew: with five, a tenth of
the time of recording one event. The store
names `LedgerSQLiteFactory` as its PERSISTENCE_MODULE (`ledger.store.location`): the library's
factory, with a pool whose connections keep Python's default of 128 statements.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventsourcing.persistence import DatabaseError, InterfaceError
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType

from careledger.ledger.private_files import create_private, tighten_path

STATEMENTS = 128  # prepared statements each connection keeps (Python's default)

# The database files this process holds open through SQLite, by (device, inode), with how many
# pools hold each. Closing any descriptor of a file drops every POSIX lock the process holds
# on it, SQLite's own included ("How To Corrupt An SQLite Database File", section 2.2): so a
# file already open here is never opened again by `keep_private`. Were it reopened (the same
# ledger opened twice in one process: for recording and for reading), the locks of the
# connections already open would go, among them the one on the -shm file by which another
# process learns that the WAL is in use; that process would then take the WAL as its own,
# checkpoint it and delete it as it ends, and this process's connections would go on reading
# the deleted WAL, blind to every event recorded since.
_HELD: dict[tuple[int, int], int] = {}
_HELD_LOCK = threading.Lock()  # ledgers may be opened and closed on several threads


class LedgerConnectionPool(SQLiteConnectionPool):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Application-defined SQL functions each new connection registers, by name (the
        # projector's mark, `projections.guard`).
        self.functions: dict[str, Callable[[], int]] = {}
        # A ledger opened for reading refuses every write (`ledger.store.read_only`).
        self.query_only = False
        self.connections_made = 0
        self.held: tuple[int, int] | None = None  # the file this pool holds (`_HELD`)

    def hold_file(self) -> None:
        """Count the database file as open in this process while this pool lives."""
        if not self.is_sqlite_memory_mode and self.held is None:
            self.held = _identity(Path(self.db_name))
            if self.held is not None:
                with _HELD_LOCK:
                    _HELD[self.held] = _HELD.get(self.held, 0) + 1

    def close(self) -> None:
        super().close()
        with _HELD_LOCK:
            if self.held is not None:
                _HELD[self.held] -= 1
                if not _HELD[self.held]:
                    del _HELD[self.held]
                self.held = None

    def _create_connection(self) -> SQLiteConnection:
        """As the library's, with `cached_statements=STATEMENTS`: autocommit (the library
        issues BEGIN itself), usable from any thread, WAL for a file; and secure_delete."""
        try:
            connection = sqlite3.connect(
                database=self.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,
                cached_statements=STATEMENTS,
                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
            )
        except (sqlite3.Error, TypeError) as error:
            raise InterfaceError(error) from error
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            try:
                self._use_wal(connection)
            except sqlite3.Error as error:  # the file is not a database, or cannot be written
                connection.close()
                raise DatabaseError(error) from error
        # What is deleted is overwritten, not left in the file's free space: a projection
        # row replaced by a later record (a plan section's old text) is gone from the file.
        connection.execute("PRAGMA secure_delete=ON")
        if self.query_only:
            connection.execute("PRAGMA query_only=ON")
        self.connections_made += 1
        connection.row_factory = sqlite3.Row
        for name, function in self.functions.items():
            connection.create_function(name, 0, function, deterministic=True)
        return SQLiteConnection(sqlite_conn=connection, max_age=self.max_age)

    def _use_wal(self, connection: sqlite3.Connection) -> None:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            connection.execute("PRAGMA journal_mode=WAL")
            self.journal_mode_was_changed_to_wal = True
        self.is_journal_mode_wal = True


def keep_statements(datastore: SQLiteDatastore) -> SQLiteDatastore:
    """The datastore, its pool of connections (which has made none yet) replaced by one whose
    connections keep their prepared statements, with the library pool's settings."""
    library = datastore.pool
    datastore.pool = LedgerConnectionPool(
        db_name=library.db_name,
        lock_timeout=library.lock_timeout,
        pool_size=library.pool_size,
        max_overflow=library.max_overflow,
        pool_timeout=library.pool_timeout,
        max_age=library.max_age,
        pre_ping=library.pre_ping,
    )
    library.close()
    datastore.pool.hold_file()
    return datastore


def keep_private(datastore: SQLiteDatastore) -> None:
    """The database file owner-only (`ledger.private_files`): created 0600 before SQLite opens
    it, which then gives its -wal and -shm files the same mode; a database, -wal or -shm file
    left readable by others (by an older careledger, or a copy) is made owner-only, with a
    warning. A file this process already holds open is left as it is (`_HELD`): it was made
    owner-only when first opened, and opening it again would drop SQLite's locks on it."""
    if datastore.pool.is_sqlite_memory_mode:
        return
    path = Path(datastore.pool.db_name)
    create_private(path)
    if _identity(path) in _HELD:
        return
    if not _is_database_or_empty(path):
        return  # not a ledger (--db README.md): SQLite refuses it, and it is not ours to touch
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        tighten_path(name)


SQLITE_HEADER = b"SQLite format 3\x00"


def _identity(path: Path) -> tuple[int, int] | None:
    """The file's (device, inode), or None where there is none."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _is_database_or_empty(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            start = file.read(len(SQLITE_HEADER))
    except OSError:
        return False
    return start in (b"", SQLITE_HEADER)


class LedgerSQLiteFactory(SQLiteFactory):
    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        keep_private(self.datastore)
        keep_statements(self.datastore)
