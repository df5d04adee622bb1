"""The access tables, in the ledger's own store: the same SQLite file, or the same PostgreSQL
schema, with the same connections. `careledger init` creates them with the ledger's.

- `access_users`: people (local accounts, and those who sign in through the council's
  identity provider), their role and councils; a local account's Argon2id hash and lockout.
- `access_emails`: a person's email address, where their notices go (optional).
- `access_tokens`: systems' API tokens, by the SHA-256 of the secret, never the secret.
- `access_shares`: a child's chronology shared with a court, for a date range, until a day.
- `access_share_revocations`: a share ended before its expiry, by whom and when; appended,
  never changed (triggers refuse UPDATE and DELETE), so the share's row and its end both stay.
- `access_log` (+ `access_log_lock`): every read of a child's record, hash-chained
  (`careledger.access.log_chain`); triggers refuse UPDATE and DELETE on it, as on the ledger.
- `access_log_heads`: the log's signed heads (`careledger.access.log_heads`), append-only too.

Plain SQL both databases accept; `?` placeholders are turned into psycopg's `%s`, and table
names are qualified with the schema on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.postgres import PostgresDatastore

from careledger.ledger.application import CareLedger

REFUSAL = "careledger: the access log is append-only"
REVOCATIONS_REFUSAL = "careledger: the revocations of shares are append-only"

TABLES = (
    """CREATE TABLE IF NOT EXISTS {s}access_users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, councils TEXT NOT NULL, court TEXT,
        password_hash TEXT, disabled INTEGER NOT NULL, failures INTEGER NOT NULL,
        locked_until TEXT, created_at TEXT NOT NULL)""",
    # Where a person's notices go (`careledger.access.emails`): an IRO's inbox notices.
    """CREATE TABLE IF NOT EXISTS {s}access_emails (
        name TEXT PRIMARY KEY, email TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {s}access_tokens (
        token_id TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, system TEXT NOT NULL,
        council TEXT NOT NULL, issued_at TEXT NOT NULL, expires_at TEXT NOT NULL,
        revoked_at TEXT)""",
    """CREATE TABLE IF NOT EXISTS {s}access_shares (
        share_id TEXT PRIMARY KEY, child TEXT NOT NULL, court TEXT NOT NULL,
        from_on TEXT NOT NULL, to_on TEXT NOT NULL, expires_on TEXT NOT NULL,
        shared_by TEXT NOT NULL, shared_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {s}access_share_revocations (
        share_id TEXT PRIMARY KEY, revoked_by TEXT NOT NULL, revoked_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {s}access_log (
        position INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,
        role TEXT NOT NULL, council TEXT NOT NULL, child TEXT NOT NULL, view TEXT NOT NULL,
        reason TEXT, outcome TEXT NOT NULL, digest TEXT NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS access_log_child ON {s}access_log (child)""",
    """CREATE TABLE IF NOT EXISTS {s}access_log_lock (
        id INTEGER PRIMARY KEY, appends INTEGER NOT NULL)""",
    # The access log's signed heads (`careledger.access.log_heads`), hex text in both stores.
    """CREATE TABLE IF NOT EXISTS {s}access_log_heads (
        position INTEGER PRIMARY KEY, digest TEXT NOT NULL, signed_at TEXT NOT NULL,
        public_key TEXT NOT NULL, signature TEXT NOT NULL)""",
)

APPEND_ONLY = ("access_log", "access_log_heads")

SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} ON "
    f"{table} BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {action} on {table}'); END"
    for table in APPEND_ONLY
    for action in ("UPDATE", "DELETE")
) + tuple(
    f"CREATE TRIGGER IF NOT EXISTS access_share_revocations_no_{action.lower()} BEFORE "
    f"{action} ON access_share_revocations BEGIN SELECT RAISE(ABORT, "
    f"'{REVOCATIONS_REFUSAL}: {action} on access_share_revocations'); END"
    for action in ("UPDATE", "DELETE")
)

POSTGRES_TRIGGERS = (
    f"""CREATE OR REPLACE FUNCTION {{s}}access_log_refuse() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        RAISE EXCEPTION '{REFUSAL}: % on %', TG_OP, TG_TABLE_NAME; END $$""",
    *(
        statement
        for table in APPEND_ONLY
        for statement in (
            f"""CREATE OR REPLACE TRIGGER {table}_append_only
                BEFORE UPDATE OR DELETE ON {{s}}{table}
                FOR EACH ROW EXECUTE FUNCTION {{s}}access_log_refuse()""",
            f"""CREATE OR REPLACE TRIGGER {table}_no_truncate
                BEFORE TRUNCATE ON {{s}}{table}
                FOR EACH STATEMENT EXECUTE FUNCTION {{s}}access_log_refuse()""",
        )
    ),
    f"""CREATE OR REPLACE FUNCTION {{s}}access_share_revocations_refuse() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        RAISE EXCEPTION '{REVOCATIONS_REFUSAL}: % on %', TG_OP, TG_TABLE_NAME; END $$""",
    """CREATE OR REPLACE TRIGGER access_share_revocations_append_only
        BEFORE UPDATE OR DELETE ON {s}access_share_revocations
        FOR EACH ROW EXECUTE FUNCTION {s}access_share_revocations_refuse()""",
    """CREATE OR REPLACE TRIGGER access_share_revocations_no_truncate
        BEFORE TRUNCATE ON {s}access_share_revocations
        FOR EACH STATEMENT EXECUTE FUNCTION {s}access_share_revocations_refuse()""",
)


# What `careledger init --roles` lets each role do to the access tables beyond reading them
# (all are the owner's, like the ledger's): the writer (the service's workers) counts failed
# sign-ins and appends to the access log; the reader appends too, for its reads are logged.
# Only the owner (the administrator's command line) registers people, tokens and shares;
# the writer may also end a share (a council officer, through the service).
ROLE_GRANTS = (
    ("access_users", "UPDATE", ""),
    ("access_emails", "INSERT, UPDATE", ""),  # the identity provider's email claim
    ("access_tokens", "", ""),
    ("access_shares", "", ""),
    ("access_share_revocations", "INSERT", ""),
    ("access_log", "INSERT", "INSERT"),
    ("access_log_lock", "UPDATE", "UPDATE"),
    ("access_log_heads", "INSERT", "INSERT"),
)


class AccessStore:
    """The access tables over the ledger's datastore (its pool of connections)."""

    def __init__(self, ledger: CareLedger) -> None:
        self.datastore = ledger.store_recorder.datastore
        self.is_postgres = ledger.store.is_postgres
        schema = getattr(self.datastore, "schema", "")
        self.prefix = f'"{schema}".' if self.is_postgres else ""

    def q(self, statement: str) -> str:
        """A statement with its tables qualified and its placeholders in the driver's style."""
        statement = statement.replace("{s}", self.prefix)
        return statement.replace("?", "%s") if self.is_postgres else statement

    def create_tables(self) -> None:
        triggers = POSTGRES_TRIGGERS if self.is_postgres else SQLITE_TRIGGERS
        with self.transaction() as cursor:
            for statement in (*TABLES, *triggers):
                cursor.cursor.execute(statement.replace("{s}", self.prefix))
            cursor.execute(
                self.q(
                    "INSERT INTO {s}access_log_lock (id, appends) VALUES (1, 0) "
                    "ON CONFLICT (id) DO NOTHING"
                )
            )

    def has_table(self, name: str) -> bool:
        """Whether the store has the table (a ledger made before it was added has not)."""
        if self.is_postgres:
            schema = getattr(self.datastore, "schema", "") or "public"
            quoted = ".".join('"' + part.replace('"', '""') + '"' for part in (schema, name))
            rows = self.fetch("SELECT to_regclass(?) IS NOT NULL AS found", [quoted])
        else:
            statement = (
                "SELECT count(*) > 0 AS found FROM sqlite_master WHERE type = 'table' AND name = ?"
            )
            rows = self.fetch(statement, [name])
        return bool(rows[0]["found"])

    def check_tables(self) -> None:
        """Raises the store's missing-table error on a ledger made before the access tables
        (`careledger init` run again adds them)."""
        self.fetch("SELECT appends FROM {s}access_log_lock WHERE id = 1")

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor in a transaction that commits when the block ends without an error."""
        with self.datastore.transaction(commit=True) as cursor:
            yield Cursor(cursor, self)

    def fetch(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """One read. On PostgreSQL, a statement of its own on the pool's autocommit
        connection, which is a transaction of its own: one round trip to the server, where
        BEGIN and ROLLBACK around it would make three (every API request checks its token
        here)."""
        if isinstance(self.datastore, PostgresDatastore):
            with self.datastore.get_connection() as connection:
                rows = connection.execute(self.q(statement), list(params)).fetchall()
                return [dict(row) for row in rows]
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.q(statement), list(params))
            return [dict(row) for row in cursor.fetchall()]


class Cursor:
    """A driver's cursor that takes `?` statements with `{s}` table prefixes."""

    def __init__(self, cursor: Any, store: AccessStore) -> None:
        self.cursor = cursor
        self.store = store

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(self.store.q(statement), list(params))

    def one(self, statement: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        self.execute(statement, params)
        row = self.cursor.fetchone()
        return dict(row) if row is not None else None

    @property
    def rowcount(self) -> int:
        driver = getattr(self.cursor, "sqlite_cursor", self.cursor)  # the library wraps SQLite's
        return int(driver.rowcount)
