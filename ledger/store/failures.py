"""What went wrong with the store, in one line a user can act on.

The library wraps the driver's errors (sqlite3, psycopg) in its own `PersistenceError`
classes and keeps the driver's error as the cause: the cause says what happened (a unique key
refused a row, the disk is full, the file is not a database), so the questions here are asked
of it.
"""

from __future__ import annotations

import re
import sqlite3

import psycopg
import psycopg_pool
from eventsourcing.persistence import PersistenceError

from careledger.ledger.store.location import Store
from careledger.ledger.store.recorders import OVER_EXISTING_ROW

STORE_ERRORS = (PersistenceError, sqlite3.Error, psycopg.Error)

# What SQLite's result codes mean to someone running careledger.
SQLITE_PROBLEMS = {
    "SQLITE_FULL": "cannot grow: the disk is full or a file-size limit was reached",
    "SQLITE_READONLY": "cannot be written: the file or its directory is read-only to this user",
    "SQLITE_CANTOPEN": "cannot be opened: its directory is missing or not writable",
    "SQLITE_NOTADB": "is not a SQLite database",
    "SQLITE_IOERR": "could not be read or written: the disk may be full or failing, or a "
    "file-size limit reached",
    "SQLITE_BUSY": "is locked by another process",
    "SQLITE_CORRUPT": "is damaged",
    "SQLITE_PERM": "cannot be opened: permission denied",
}
UNIQUE_KEYS = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


def driver_error(error: BaseException) -> BaseException:
    """The driver's own error under the library's wrapping (or `error` itself)."""
    while error.__cause__ is not None and not isinstance(error, sqlite3.Error | psycopg.Error):
        error = error.__cause__
    return error


def is_write_conflict(error: BaseException) -> bool:
    """Two writers claimed the same place in a case (its next sequence number), and a unique
    key (or, on SQLite, the trigger against rewriting a stored row) refused the second.
    Another refusal (another trigger's, a check's) is no conflict: trying again would not
    help."""
    cause = driver_error(error)
    if isinstance(cause, sqlite3.IntegrityError):
        return cause.sqlite_errorname in UNIQUE_KEYS or OVER_EXISTING_ROW in str(cause)
    return isinstance(cause, psycopg.errors.UniqueViolation)


def is_missing_table(error: BaseException) -> bool:
    cause = driver_error(error)
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause).startswith("no such table")
    return isinstance(cause, psycopg.errors.UndefinedTable)


def problem(error: BaseException, store: Store | None = None) -> str:
    """The driver's message, on one line, without the store's password. Only its first
    line: PostgreSQL's further lines (CONTEXT, DETAIL) may quote a row, a child's data."""
    cause = driver_error(error)
    diagnosis = getattr(cause, "diag", None)
    primary = getattr(diagnosis, "message_primary", None) if diagnosis else None
    lines = (primary or str(cause)).strip().splitlines()
    text = " ".join(lines[0].split()) if lines else type(cause).__name__
    password = store.env.get("POSTGRES_PASSWORD") if store else None
    return text.replace(password, "***") if password else text


def describe(store: Store, error: BaseException) -> str:
    """One line: which store, what is wrong with it, and the driver's own words."""
    cause = driver_error(error)
    if store.is_postgres:
        if isinstance(cause, psycopg_pool.PoolTimeout):
            reason = _connection_problem(store) or (
                f"{problem(error, store)}, though a second attempt connected: the server may "
                "be overloaded; try again"
            )
            return _unreachable(store, reason)
        return f"the ledger at {store.location}: {problem(error, store)}"
    name = getattr(cause, "sqlite_errorname", "")  # e.g. SQLITE_IOERR_WRITE: an IOERR
    meaning = SQLITE_PROBLEMS.get("_".join(name.split("_")[:2]))
    said = problem(error, store)
    if not meaning:
        return f"the ledger at '{store.location}': {said}"
    return f"the ledger at '{store.location}' {meaning} ({said})"


def _unreachable(store: Store, reason: str) -> str:
    env = store.env
    return (
        f"cannot connect to PostgreSQL at {env['POSTGRES_HOST']}:{env['POSTGRES_PORT']} "
        f"(database '{env['POSTGRES_DBNAME']}', user '{env['POSTGRES_USER']}'): {reason}"
    )


def _connection_problem(store: Store) -> str | None:
    """Why a connection to the store's server fails, asked of the server once more: the
    library's pool only says that it gave up waiting for one."""
    env = store.env
    try:
        psycopg.connect(
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
        ).close()
    except psycopg.Error as error:
        first = problem(error, store)
        found = re.search(r"^.*failed: (?:FATAL: *)?(.*)$", first)
        return found.group(1) if found else first
    return None
