"""Only one projector follows a ledger at a time.

Two projectors applying the same batches would each refuse the other's (the tracking row
keeps every event applied exactly once: `projections.runner`), so that one of them only
throws work away, and whoever watches the projector would not know which one to watch. The
first to start holds the ledger's projector lock until it stops; a second is told so.

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`), its key derived from the
  ledger's schema, held on a connection of the projector's own. The server lets it go when
  that connection ends, however the process ends. The same connection LISTENs on the
  channel the library NOTIFYs with every insert of events, so that a recorded event wakes
  the projector at once.
- SQLite: an exclusive `flock` on a file beside the ledger's (`LEDGER.projector-lock`,
  owner-only), which the system lets go when the process ends. Nothing wakes the projector:
  it looks again after a while.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from threading import Event
from time import monotonic
from typing import Any, Protocol

import psycopg
from psycopg.sql import SQL, Identifier

from careledger.ledger.application import CareLedger
from careledger.ledger.errors import LedgerError
from careledger.ledger.private_files import create_private
from careledger.ledger.store.location import Store
from careledger.projections.runner import VIEWS_NAME

WAKE_CHECK = 0.5  # seconds between looks at `stopping` while waiting for a notification


class ProjectorBusy(LedgerError):
    """Another projector holds the ledger's projector lock."""

    def __init__(self, store: Store) -> None:
        super().__init__(
            f"another projector is already following the ledger at {store.location}; only "
            "one may ('careledger project --wait' takes over when it stops)"
        )


class ProjectorLock(Protocol):
    def take(self) -> bool:
        """Take the lock if it is free; whether this process holds it now."""

    def held(self) -> bool:
        """Whether this process still holds the lock (PostgreSQL: its connection lives)."""

    def wait(self, seconds: float, stopping: Event) -> None:
        """Return when events may have been recorded, after `seconds` at most, or as soon as
        `stopping` is set."""

    def release(self) -> None: ...


def projector_lock(ledger: CareLedger) -> ProjectorLock:
    """The ledger's projector lock, not yet taken."""
    store = ledger.store
    if store.is_postgres:
        channel = str(getattr(ledger.recorder, "channel_name"))  # noqa: B009
        return AdvisoryLock(store, channel)
    return FileLock(Path(store.env["SQLITE_DBNAME"] + ".projector-lock"))


def lock_key(schema: str) -> int:
    """The advisory lock's key: one per schema (advisory locks are per database), stable
    across versions and processes."""
    name = f"{VIEWS_NAME} projector {schema}".encode()
    return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)


class AdvisoryLock:
    def __init__(self, store: Store, channel: str) -> None:
        self.env = store.env
        self.key = lock_key(store.env["POSTGRES_SCHEMA"])
        self.channel = channel
        self.connection: psycopg.Connection[Any] | None = None
        self.taken = False

    def take(self) -> bool:
        if self.held():
            return True
        if self.connection is None or self.connection.broken or self.connection.closed:
            self.release()
            self.connection = self._connect()
        connection = self.connection
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if not row or not row[0]:
            return False
        connection.execute(SQL("LISTEN {0}").format(Identifier(self.channel)))
        self.taken = True
        return True

    def held(self) -> bool:
        connection = self.connection
        return self.taken and connection is not None and not connection.broken

    def wait(self, seconds: float, stopping: Event) -> None:
        """Until a notification comes, `seconds` pass or `stopping` is set. A lost connection
        raises (psycopg's OperationalError), and the lock is lost with it."""
        assert self.connection is not None
        deadline = monotonic() + seconds
        while not stopping.is_set() and (left := deadline - monotonic()) > 0:
            for _ in self.connection.notifies(timeout=min(left, WAKE_CHECK), stop_after=1):
                return

    def release(self) -> None:
        """Ending the session lets the lock go."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        self.taken = False

    def _connect(self) -> psycopg.Connection[Any]:
        env = self.env
        return psycopg.connect(
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
            application_name="careledger projector",
            autocommit=True,
        )


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.descriptor: int | None = None
        self.taken = False

    def take(self) -> bool:
        if self.taken:
            return True
        if self.descriptor is None:
            create_private(self.path)
            self.descriptor = os.open(self.path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.taken = True
        return True

    def held(self) -> bool:
        return self.taken

    def wait(self, seconds: float, stopping: Event) -> None:
        stopping.wait(seconds)

    def release(self) -> None:
        """Closing the file lets the lock go. The file stays: removing it could let a second
        projector lock a new file of the same name while the first still holds the old."""
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None
        self.taken = False
