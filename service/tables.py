"""The service's own tables, kept in the ledger's store (the same SQLite file, the same
PostgreSQL schema): sessions, idempotency keys, the inbox notices sent, and the sign-in
attempts each client address made in the last minute. Workers keep nothing in memory that
another worker needs, so several can serve one address.

`careledger init` creates them with the ledger's tables; the service only uses them
(concurrent DDL at start-up races on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from careledger.ledger.application import CareLedger
from careledger.ledger.store.failures import STORE_ERRORS

TABLES = {
    "careledger_sessions": (
        "session_hash TEXT PRIMARY KEY, principal TEXT NOT NULL, expires_at TEXT NOT NULL"
    ),
    "careledger_idempotency": (
        "principal TEXT NOT NULL, idempotency_key TEXT NOT NULL, body_digest TEXT NOT NULL, "
        "status INTEGER, response TEXT, created_at TEXT NOT NULL, "
        "PRIMARY KEY (principal, idempotency_key)"
    ),
    # Each inbox entry an IRO was sent a notice of (`careledger notify`): sent once.
    "careledger_notices": (
        "iro TEXT NOT NULL, entry TEXT NOT NULL, sent_at TEXT NOT NULL, PRIMARY KEY (iro, entry)"
    ),
    # The ID token of a session begun at the council's identity provider, kept for as long
    # as the session, to name it to the provider when the person signs out (RP-initiated
    # logout's id_token_hint).
    "careledger_session_id_tokens": "session_hash TEXT PRIMARY KEY, id_token TEXT NOT NULL",
    # A keyed hash of the address, never the address; the window's start in milliseconds
    # since the epoch (BIGINT in both stores: exact, and compared as a number).
    "careledger_sign_in_attempts": (
        "address_hash TEXT PRIMARY KEY, window_start BIGINT NOT NULL, attempts INTEGER NOT NULL"
    ),
}

# What `careledger init --roles` lets each role do to the service's tables beyond reading them
# (the owner's, like the access tables): the writer, as which the service's workers run,
# starts and ends sessions and reserves, completes and releases idempotency keys; the reader
# needs nothing more, for the service never writes at the read URL.
ROLE_GRANTS = (
    ("careledger_sessions", "INSERT, UPDATE, DELETE", ""),
    ("careledger_idempotency", "INSERT, UPDATE, DELETE", ""),
    ("careledger_notices", "INSERT", ""),
    ("careledger_session_id_tokens", "INSERT, UPDATE, DELETE", ""),
    ("careledger_sign_in_attempts", "INSERT, UPDATE, DELETE", ""),
)


class ServiceTables:
    """Statements on the service's tables, in the ledger's own database: `?` placeholders and
    `{s}` for the schema, as the projections write them."""

    def __init__(self, ledger: CareLedger) -> None:
        self.datastore: Any = ledger.recorder.datastore  # type: ignore[attr-defined]
        self.is_postgres = ledger.store.is_postgres
        self.prefix = f'"{self.datastore.schema}".' if self.is_postgres else ""

    def q(self, sql: str) -> str:
        sql = sql.replace("{s}", self.prefix)
        return sql.replace("?", "%s") if self.is_postgres else sql

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """A statement in a transaction of its own; how many rows it changed."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self.q(sql), tuple(params))
            # The library wraps SQLite's cursor, which alone knows the count.
            return int(getattr(cursor, "sqlite_cursor", cursor).rowcount)

    def run_returning(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[dict[str, Any]]:
        """Statements in one transaction of their own; the rows the last returns."""
        with self.datastore.transaction(commit=True) as cursor:
            for sql, params in statements:
                cursor.execute(self.q(sql), tuple(params))
            return [dict(row) for row in cursor.fetchall()]

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """One read: on PostgreSQL a statement of its own on the pool's autocommit connection
        (one round trip, where BEGIN and ROLLBACK around it would make three)."""
        if self.is_postgres:
            with self.datastore.get_connection() as connection:
                rows = connection.execute(self.q(sql), tuple(params)).fetchall()
                return [dict(row) for row in rows]
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.q(sql), tuple(params))
            return [dict(row) for row in cursor.fetchall()]

    def create(self) -> None:
        for name, columns in TABLES.items():
            self.run(f"CREATE TABLE IF NOT EXISTS {{s}}{name} ({columns})")

    def exist(self) -> bool:
        try:
            for name in TABLES:
                self.fetch(f"SELECT 1 FROM {{s}}{name} LIMIT 1")
        except STORE_ERRORS:
            return False
        return True
