"""A ledger's tables reached directly, past the ledger: what a database administrator can do.

`direct(db)` opens the store behind a ledger location (a SQLite file, or a PostgreSQL URL with
`?schema=`) with the database's own driver: the `sqlite3` module, or `psycopg`. Nothing here
goes through `ledger.*` except the arithmetic of `ledger.integrity.chain`, which is public: anyone
who can write to the tables can recompute a chain.

SQL is written with `?` placeholders and `{events}`, `{chain}`, `{nid}` for the events table,
the chain table and the events table's notification id column; case ids are passed through
`key()`, which turns a UUID into the form the store keeps (hex text on SQLite, uuid on
PostgreSQL).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from uuid import UUID

import psycopg
from psycopg import sql

from careledger.ledger.integrity.chain import ChainRow, StoredRow, event_hash, next_digest
from careledger.ledger.integrity.heads import SignedHead


class Direct:
    """One store's tables, reached with the database's own driver, in autocommit mode."""

    kind: str
    events_table: str
    chain_table: str
    nid_column: str
    refused: tuple[type[Exception], ...]  # what the driver raises when a trigger refuses
    triggers: tuple[str, ...]

    def run(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def key(self, case: UUID) -> Any:
        raise NotImplementedError

    def disable_triggers(self) -> None:
        """What the attacker does first: the append-only triggers stop firing."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def unguard_projections(self) -> None:
        """What the attacker does first to reach the projection tables (`projections.guard`).
        On PostgreSQL, nothing: these connections are a superuser's, whom no privilege stops."""

    def qualified(self, table: str) -> str:
        """The table's name as the store's refusal message gives it."""
        return table

    def enabled_triggers(self) -> set[str]:
        """The user triggers now in force on the events and chain tables."""
        raise NotImplementedError

    def fill(self, statement: str) -> str:
        return statement.format(
            events=self.events_table, chain=self.chain_table, nid=self.nid_column
        )

    # --- reading -----------------------------------------------------------------------

    def events(self) -> list[StoredRow]:
        """Every stored event, in the log's order."""
        rows = self.run(
            "SELECT {nid}, originator_id, originator_version, topic, state FROM {events} "
            "ORDER BY {nid}"
        )
        return [StoredRow(n, UUID(str(c)), v, t, bytes(s)) for n, c, v, t, s in rows]

    def event(self, case: UUID, seq: int) -> StoredRow:
        found = [e for e in self.events() if e.case == case and e.seq == seq]
        assert len(found) == 1, f"no single event {seq} of case {case.hex}"
        return found[0]

    def links(self) -> list[ChainRow]:
        """Every chain row, in the log's order."""
        rows = self.run(
            "SELECT notification_id, originator_id, originator_version, event_hash, previous, "
            "digest FROM {chain} ORDER BY notification_id"
        )
        return [
            ChainRow(n, UUID(str(c)), v, bytes(h), bytes(p), bytes(d)) for n, c, v, h, p, d in rows
        ]

    def link(self, case: UUID, seq: int) -> ChainRow:
        found = [k for k in self.links() if k.case == case and k.seq == seq]
        assert len(found) == 1, f"no single chain row for event {seq} of case {case.hex}"
        return found[0]

    # --- tampering (after disable_triggers) --------------------------------------------------

    def set_state(self, case: UUID, seq: int, state: bytes) -> None:
        self.run(
            "UPDATE {events} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            state,
            self.key(case),
            seq,
        )

    def delete_event(self, case: UUID, seq: int) -> None:
        self.run(
            "DELETE FROM {events} WHERE originator_id = ? AND originator_version = ?",
            self.key(case),
            seq,
        )

    def delete_link(self, case: UUID, seq: int) -> None:
        self.run(
            "DELETE FROM {chain} WHERE originator_id = ? AND originator_version = ?",
            self.key(case),
            seq,
        )

    def move(self, case: UUID, seq: int, to: int) -> None:
        """Give event `seq` of the case, and its chain row, the version `to`."""
        for table in ("{events}", "{chain}"):
            self.run(
                f"UPDATE {table} SET originator_version = ? "
                "WHERE originator_id = ? AND originator_version = ?",
                to,
                self.key(case),
                seq,
            )

    def insert_event(self, row: StoredRow) -> None:
        self.run(
            "INSERT INTO {events} ({nid}, originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?, ?)",
            row.notification_id,
            self.key(row.case),
            row.seq,
            row.topic,
            row.state,
        )

    def insert_link(self, link: ChainRow) -> None:
        self.run(
            "INSERT INTO {chain} (notification_id, originator_id, originator_version, "
            "event_hash, previous, digest) VALUES (?, ?, ?, ?, ?, ?)",
            link.notification_id,
            self.key(link.case),
            link.seq,
            link.event_hash,
            link.previous,
            link.digest,
        )

    # --- the signed heads ------------------------------------------------------------------

    heads_table: str

    def heads(self) -> list[SignedHead]:
        """Every signed head, in the log's order."""
        rows = self.run(
            f"SELECT position, first_position, events, digest, signed_at, public_key, signature "
            f"FROM {self.heads_table} ORDER BY position"
        )
        return [
            SignedHead(n, f, e, bytes(d), str(t), bytes(k), bytes(s))
            for n, f, e, d, t, k, s in rows
        ]

    def disable_head_triggers(self) -> None:
        raise NotImplementedError

    def delete_head(self, position: int) -> None:
        self.run(f"DELETE FROM {self.heads_table} WHERE position = ?", position)

    def insert_head(self, head: SignedHead) -> None:
        self.run(
            f"INSERT INTO {self.heads_table} (position, first_position, events, digest, "
            "signed_at, public_key, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
            *head,
        )

    def append_forged(self, case: UUID, topic: str, state: bytes) -> tuple[StoredRow, ChainRow]:
        """An event appended past the ledger with INSERT alone, which the triggers allow: the
        case's next version, at the log's end (the store gives its position), with the chain
        row the public arithmetic gives it."""
        links = self.links()
        end = links[-1]
        previous = [link for link in links if link.case == case][-1]
        self.run(
            "INSERT INTO {events} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            self.key(case),
            previous.seq + 1,
            topic,
            state,
        )
        row = self.event(case, previous.seq + 1)
        hash_ = event_hash(case, row.seq, topic, state, previous.event_hash)
        link = ChainRow(
            row.notification_id, case, row.seq, hash_, previous.event_hash,
            next_digest(end.digest, hash_),
        )  # fmt: skip
        self.insert_link(link)
        return row, link

    # --- the access log and its signed heads (`careledger.access.log_heads`) ---------------

    def disable_access_log_triggers(self) -> None:
        """The access log's and its heads' append-only triggers stop firing."""
        raise NotImplementedError

    def access_log_positions(self) -> list[int]:
        return [int(p) for (p,) in self.run("SELECT position FROM access_log ORDER BY position")]

    def access_log_heads(self) -> list[int]:
        """The positions signed."""
        rows = self.run("SELECT position FROM access_log_heads ORDER BY position")
        return [int(p) for (p,) in rows]

    def cut_access_log(self, entries: int, with_heads: bool = False) -> None:
        """The log's last `entries` entries deleted (each entry holds its own link of the
        chain), and with `with_heads` their signed heads too."""
        last = self.access_log_positions()[-entries]
        self.run("DELETE FROM access_log WHERE position >= ?", last)
        if with_heads:
            self.run("DELETE FROM access_log_heads WHERE position >= ?", last)

    def replace_link(self, link: ChainRow) -> None:
        self.run(
            "UPDATE {chain} SET event_hash = ?, previous = ?, digest = ? WHERE notification_id = ?",
            link.event_hash,
            link.previous,
            link.digest,
            link.notification_id,
        )


class DirectSQLite(Direct):
    kind = "sqlite"
    events_table = "stored_events"
    chain_table = "ledger_chain"
    nid_column = "rowid"
    refused = (sqlite3.IntegrityError,)
    heads_table = "ledger_heads"
    triggers = (
        "stored_events_no_update",
        "stored_events_no_delete",
        "ledger_chain_no_update",
        "ledger_chain_no_delete",
        "stored_events_no_replace",
        "ledger_chain_no_replace",
    )

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)

    def run(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.connection.execute(self.fill(statement), params).fetchall()

    def key(self, case: UUID) -> Any:
        return case.hex

    def disable_head_triggers(self) -> None:
        for action in ("update", "delete"):
            self.connection.execute(f"DROP TRIGGER {self.heads_table}_no_{action}")

    def disable_triggers(self) -> None:
        for trigger in self.triggers:
            self.connection.execute(f"DROP TRIGGER {trigger}")

    def disable_access_log_triggers(self) -> None:
        for table in ("access_log", "access_log_heads"):
            for action in ("update", "delete"):
                self.connection.execute(f"DROP TRIGGER {table}_no_{action}")

    def unguard_projections(self) -> None:
        """On SQLite the guard is triggers, which whoever can write the file can drop."""
        for (name,) in self.run(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE '%projector_only%'"
        ):
            self.connection.execute(f"DROP TRIGGER {name}")

    def enabled_triggers(self) -> set[str]:
        rows = self.run(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (?, ?)",
            self.events_table,
            self.chain_table,
        )
        return {str(name) for (name,) in rows}

    def close(self) -> None:
        self.connection.close()


class DirectPostgres(Direct):
    kind = "postgres"
    events_table = "careledger_events"
    chain_table = "careledger_events_chain"
    nid_column = "notification_id"
    refused = (psycopg.errors.InsufficientPrivilege,)
    heads_table = "careledger_events_heads"
    triggers = (
        "careledger_events_no_change",
        "careledger_events_no_truncate",
        "careledger_events_chain_no_change",
        "careledger_events_chain_no_truncate",
    )

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.schema = parse_qs(parts.query)["schema"][0]
        server = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.connection = psycopg.connect(server, autocommit=True, connect_timeout=5)
        self.connection.execute(
            sql.SQL("SET search_path TO {0}").format(sql.Identifier(self.schema))
        )

    def run(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        text = self.fill(statement).replace("?", "%s")
        cursor = self.connection.execute(text.encode(), params)  # bytes: psycopg's LiteralString
        return cursor.fetchall() if cursor.description else []

    def key(self, case: UUID) -> Any:
        return case

    def disable_head_triggers(self) -> None:
        self.connection.execute(
            sql.SQL("ALTER TABLE {0} DISABLE TRIGGER USER").format(sql.Identifier(self.heads_table))
        )

    def qualified(self, table: str) -> str:
        return f"{self.schema}.{table}"

    def enabled_triggers(self) -> set[str]:
        rows = self.run(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'O' "
            "AND tgrelid IN (?::regclass, ?::regclass)",
            self.qualified(self.events_table),
            self.qualified(self.chain_table),
        )
        return {str(name) for (name,) in rows}

    def disable_triggers(self) -> None:
        for table in (self.events_table, self.chain_table):
            self.connection.execute(
                sql.SQL("ALTER TABLE {0} DISABLE TRIGGER USER").format(sql.Identifier(table))
            )

    def disable_access_log_triggers(self) -> None:
        for table in ("access_log", "access_log_heads"):
            self.connection.execute(
                sql.SQL("ALTER TABLE {0} DISABLE TRIGGER USER").format(sql.Identifier(table))
            )

    def close(self) -> None:
        self.connection.close()


@contextmanager
def direct(db: str) -> Iterator[Direct]:
    """The store behind a ledger location, reached with the database's own driver."""
    connection: Direct = DirectPostgres(db) if db.startswith("postgresql://") else DirectSQLite(db)
    try:
        yield connection
    finally:
        connection.close()
