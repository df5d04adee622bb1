"""The library's application recorders, extended with what the ledger asks of its store.

- `existing_cases` answers "which of these cases exist?" in one query, so that a bulk record
  of many new children does not look each one up in turn.
- `events_after` counts the events recorded after a log position: how far the projections
  are behind the ledger (`projections.lag`).
- The integrity chain (`ledger.integrity.chain`): in the transaction that inserts events, after the
  library has given them their notification ids, a chain row per event is appended to
  `<events>_chain` (SQLite: `ledger_chain`).
- Append-only in the database itself: triggers refuse UPDATE and DELETE on the events table
  and the chain table (and TRUNCATE, on PostgreSQL), whoever asks. They are created with the
  tables (`careledger init`). On SQLite they refuse, too, an insert over a row already there
  (`_replace_refusals`).
- Signed heads (`ledger.integrity.heads`, `ledger.integrity.head_store`): with a key, after
  the chain rows, one row in `<events>_heads` (SQLite: `ledger_heads`) signs the log's head,
  in the same transaction; the same triggers keep it append-only.
- Rows kept with the events (`ledger.store.alongside`): a save's `alongside=` rows are
  inserted after the events, in their transaction; a unique key refusing one of them raises
  `AlongsideRefused`, with nothing recorded.

`iter_case_rows` and `iter_chain` read back raw rows for `ledger.integrity.verify`, streaming;
`iter_case_history` streams the log case by case for a projection rebuild (`projections.runner`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator, Sequence
from functools import cached_property
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier

from careledger.ledger.errors import LedgerError
from careledger.ledger.integrity.chain import GENESIS, RawChain, RawLink, StoredRow, chain
from careledger.ledger.integrity.head_store import PostgresHeads, SQLiteHeads
from careledger.ledger.store.alongside import Alongside, AlongsideRefused, refused_table

PAGE = 5_000  # rows fetched at a time when streaming
StoredHistory = tuple[StoredEvent, int]  # an event as stored, and its log position

REFUSAL = "careledger: the ledger is append-only"
# What the SQLite trigger against INSERT OR REPLACE says. An ordinary insert meets it only when
# another writer has just taken the case's next sequence number: a write conflict.
OVER_EXISTING_ROW = "INSERT over an existing row of"


def _stored_rows(stored_events: Sequence[StoredEvent], ids: Sequence[int]) -> list[StoredRow]:
    return [
        StoredRow(nid, _uuid(s.originator_id), s.originator_version, s.topic, s.state)
        for s, nid in zip(stored_events, ids, strict=True)
    ]


def _uuid(originator_id: UUID | str) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)


def _case_keys(stored_events: Sequence[StoredEvent]) -> list[tuple[UUID, str]]:
    """Each event's case, and the case as SQLite's tables key it (32 hex digits), worked out
    once for each run of a case's events: a batch holds its cases' events one case after
    another, and `UUID.hex` formats the number anew at every call."""
    keys: list[tuple[UUID, str]] = []
    last: object = None
    key: tuple[UUID, str] = (UUID(int=0), "")
    for stored in stored_events:
        if stored.originator_id is not last:
            last = stored.originator_id
            case = _uuid(stored.originator_id)
            key = (case, case.hex)
        keys.append(key)
    return keys


def _first_versions(rows: list[StoredRow]) -> dict[UUID, int]:
    first: dict[UUID, int] = {}
    for row in rows:
        known = first.get(row.case)
        if known is None or row.seq < known:
            first[row.case] = row.seq
    return first


def _inserted(error: IntegrityError, kwargs: dict[str, Any]) -> None:
    """A refusal of a row kept with the events is `AlongsideRefused`; any other is raised as
    it came (a write conflict is the library's IntegrityError)."""
    table = refused_table(error, kwargs.get("alongside", ()))
    if table is not None:
        raise AlongsideRefused(table) from error


def _values(rows: Sequence[Alongside], table: str) -> list[tuple[Any, ...]]:
    return [row.values for row in rows if row.table == table]


def _replace_refusals(table: str, position: str) -> list[str]:
    """A trigger refusing an insert whose log position, or whose case and sequence number, a
    row of `table` already has. SQLite's INSERT OR REPLACE (and REPLACE) removes the row in
    the way without firing any DELETE trigger (unless recursive_triggers is on): without this,
    a stored event or a chain row could be rewritten past the refusals of UPDATE and DELETE.
    Two index probes per inserted row; an ordinary insert of a new event never matches."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN EXISTS (SELECT 1 FROM {table} WHERE originator_id = NEW.originator_id "
        "AND originator_version = NEW.originator_version) "
        f"OR EXISTS (SELECT 1 FROM {table} WHERE {position} = NEW.{position}) "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {OVER_EXISTING_ROW} {table}'); END"
    ]


class SQLiteLedgerRecorder(SQLiteHeads, SQLiteApplicationRecorder):
    chain_table = "ledger_chain"

    def construct_create_table_statements(self) -> list[str]:
        events, chain_ = self.events_table_name, self.chain_table
        statements = super().construct_create_table_statements()
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {chain_} (notification_id INTEGER PRIMARY KEY, "
            "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, "
            "event_hash BLOB NOT NULL, previous BLOB NOT NULL, digest BLOB NOT NULL, "
            "UNIQUE (originator_id, originator_version))"
        )
        statements.append(self.heads_statement())
        for table in (events, chain_, self.heads_table):
            for action in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} "
                    f"BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {action} on {table}'); END"
                )
        statements += _replace_refusals(events, "rowid")
        statements += _replace_refusals(chain_, "notification_id")
        return statements

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        try:
            ids = super().insert_events(stored_events, **kwargs)
        except IntegrityError as error:
            _inserted(error, kwargs)
            raise
        self._log_head()  # committed: its signed head may go to the copy outside
        return ids

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        alongside: Sequence[Alongside] = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        """The events in one `executemany`, where the library inserts them one statement at a
        time to read each one's rowid; then their chain rows, then the rows kept with them."""
        ids: list[int] = []
        if stored_events:
            keys = _case_keys(stored_events)
            c.executemany(
                self.insert_events_statement,
                [
                    (key, s.originator_version, s.topic, s.state)
                    for (_, key), s in zip(keys, stored_events, strict=True)
                ],
            )
            ids = self._inserted_ids(c, stored_events)
            stored = [
                StoredRow(nid, case, s.originator_version, s.topic, s.state)
                for (case, _), s, nid in zip(keys, stored_events, ids, strict=True)
            ]
            self._append_chain(c, stored, [key for _, key in keys])
        for table in dict.fromkeys(row.table for row in alongside):
            rows = _values(alongside, table)
            marks = ",".join("?" * len(rows[0]))
            c.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        return ids

    def _inserted_ids(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent]) -> list[int]:
        """The log positions of the events just inserted, in their order. The transaction
        holds the write lock from its first insert, and SQLite gives a new row the largest
        rowid so far plus one, so they are the last rowid and those just before it: checked
        against the first event's own rowid, which differs where SQLite has had to pick
        rowids at random: once a row holds the largest rowid there can be, which only a
        hand-made row can."""
        c.execute("SELECT last_insert_rowid() AS last")
        last = int(c.fetchone()["last"])
        first = last - len(stored_events) + 1
        event = stored_events[0]
        c.execute(
            f"SELECT rowid FROM {self.events_table_name} "
            "WHERE originator_id = ? AND originator_version = ?",
            (_uuid(event.originator_id).hex, event.originator_version),
        )
        found = c.fetchone()
        if found is None or found["rowid"] != first:
            raise LedgerError(
                "the log's positions are not in order: an event is stored at the largest "
                "position there can be, so new events would be given positions at random; "
                "nothing recorded (run 'careledger verify')"
            )
        return list(range(first, last + 1))

    def _append_chain(self, c: SQLiteCursor, rows: list[StoredRow], keys: list[str]) -> None:
        """The chain rows of events just inserted: `rows` in log order (as `_inserted_ids`
        gives their positions), each one's case as the events table keys it in `keys`."""
        heads: dict[UUID, bytes] = {}
        for case, first in _first_versions(rows).items():
            if first > 1:
                c.execute(
                    f"SELECT event_hash FROM {self.chain_table} "
                    "WHERE originator_id=? AND originator_version=?",
                    (case.hex, first - 1),
                )
                found = c.fetchone()
                heads[case] = bytes(found["event_hash"]) if found else GENESIS
        c.execute(f"SELECT digest FROM {self.chain_table} ORDER BY notification_id DESC LIMIT 1")
        last = c.fetchone()
        new = chain(rows, heads, bytes(last["digest"]) if last else GENESIS)
        c.executemany(
            f"INSERT INTO {self.chain_table} VALUES (?,?,?,?,?,?)",
            [
                (r.notification_id, key, r.seq, r.event_hash, r.previous, r.digest)
                for r, key in zip(new, keys, strict=True)
            ],
        )
        self._append_head(c, new)

    def existing_cases(self, case_ids: Sequence[UUID]) -> set[UUID]:
        if not case_ids:
            return set()
        marks = ",".join("?" * len(case_ids))
        statement = (
            f"SELECT DISTINCT originator_id FROM {self.events_table_name} "
            f"WHERE originator_id IN ({marks})"
        )
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, [case_id.hex for case_id in case_ids])
            return {UUID(row["originator_id"]) for row in cursor.fetchall()}

    def events_after(self, position: int) -> int:
        """How many events were recorded after this log position (ids may have gaps)."""
        statement = f"SELECT COUNT(*) AS n FROM {self.events_table_name} WHERE rowid > ?"
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, [position])
            return int(cursor.fetchone()["n"])

    def iter_case_rows(self, case: UUID | None = None) -> Iterator[RawLink]:
        """Every event with its chain row (None where it has none), case by case in sequence
        order: (case bytes, seq, log position, topic, state, chain position, hash, previous)."""
        where = "WHERE e.originator_id = ?" if case else ""
        statement = (
            "SELECT e.originator_id, e.originator_version, e.rowid, e.topic, e.state, "
            "c.notification_id, c.event_hash, c.previous "
            f"FROM {self.events_table_name} e LEFT JOIN {self.chain_table} c "
            "ON c.originator_id = e.originator_id AND c.originator_version = e.originator_version "
            f"{where} ORDER BY e.originator_id, e.originator_version"
        )
        key, key_bytes = None, b""
        for row in self._stream(statement, [case.hex] if case else []):
            if row[0] != key:
                key, key_bytes = row[0], bytes.fromhex(row[0])
            state = row[4] if isinstance(row[4], bytes) else str(row[4]).encode()
            yield (key_bytes, row[1], row[2], str(row[3]), state, *_link(row[5:8]))

    def iter_case_history(self, start: int, stop: int) -> Generator[StoredHistory, None, None]:
        """Every event up to log position `stop` of each case that has one after `start`,
        case by case in sequence order: (stored event, log position). Through the primary
        key's order, streaming: memory stays flat however long the log."""
        touched = (
            ""
            if start == 0
            else f"AND originator_id IN (SELECT originator_id FROM {self.events_table_name} "
            "WHERE rowid > ? AND rowid <= ?)"
        )
        statement = (
            "SELECT originator_id, originator_version, topic, state, rowid "
            f"FROM {self.events_table_name} WHERE rowid <= ? {touched} "
            "ORDER BY originator_id, originator_version"
        )
        key, case = None, UUID(int=0)
        for row in self._stream(statement, [stop] if start == 0 else [stop, start, stop]):
            if row[0] != key:
                key, case = row[0], UUID(row[0])
            state = row[3] if isinstance(row[3], bytes) else str(row[3]).encode()
            yield StoredEvent(case, row[1], row[2], state), row[4]

    def iter_orphans(self, case: UUID | None = None) -> Iterator[RawChain]:
        """Chain rows whose event is gone."""
        where = "AND c.originator_id = ?" if case else ""
        statement = (
            f"SELECT c.notification_id, c.originator_id, c.originator_version, c.event_hash, "
            f"c.digest FROM {self.chain_table} c LEFT JOIN {self.events_table_name} e "
            "ON e.originator_id = c.originator_id AND e.originator_version = c.originator_version "
            f"WHERE e.originator_id IS NULL {where} ORDER BY c.notification_id"
        )
        for row in self._stream(statement, [case.hex] if case else []):
            yield row[0], bytes.fromhex(row[1]), row[2], bytes(row[3]), bytes(row[4])

    def iter_chain(self) -> Iterator[tuple[int, bytes, bytes]]:
        """The chain in notification order: (position, event hash, digest)."""
        statement = (
            f"SELECT notification_id, event_hash, digest FROM {self.chain_table} "
            "ORDER BY notification_id"
        )
        for row in self._stream(statement, []):
            yield row[0], row[1], row[2]

    def chain_row_at(self, position: int) -> RawChain:
        """One chain row in full, to name a break."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT * FROM {self.chain_table} WHERE notification_id = ?", (position,))
            row = c.fetchone()
        return (
            row["notification_id"],
            bytes.fromhex(row["originator_id"]),
            row["originator_version"],
            bytes(row["event_hash"]),
            bytes(row["digest"]),
        )

    def _stream(self, statement: str, params: list[Any]) -> Iterator[Any]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            while page := c.sqlite_cursor.fetchmany(PAGE):
                yield from page


class PostgresLedgerRecorder(PostgresHeads, PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.datastore.enable_db_functions:
            # The library's stored-function path inserts events without the chain.
            raise LedgerError("POSTGRES_ENABLE_DB_FUNCTIONS: must be off for careledger")
        self.chain_table_name = f"{self.events_table_name}_chain"
        self.heads_table_name = f"{self.events_table_name}_heads"
        self.sql_create_statements.extend(self._chain_statements())
        self.insert_events_statement = self._chained_insert_statement()

    def create_table(self) -> None:
        """`careledger init` makes the schema its URL names first, if it is not there yet."""
        schema = Identifier(self.datastore.schema)
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(schema))
        super().create_table()

    def _chained_insert_statement(self) -> Composed:
        """The library's insert, returning with each new event what its chain row needs: the
        hash of the case's event before it, where that is already chained, and the log's last
        digest. Read here, under the same table lock, they need no statement of their own: a
        save makes two round trips, as the library's own saves do, not three.

        The array of stored events is sent in binary (`%b`). The library's `%s` lets psycopg
        pick the composite type's text dumper, which quotes each event's state as hex text and
        escapes it with regular expressions (a sixth of bulk recording's time on the client,
        for states of a few hundred bytes); the server then parses the text back."""
        return SQL(
            "WITH new AS (INSERT INTO {0} AS t (originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state "
            "FROM unnest(%b::{1}.{2}[]) "
            "RETURNING notification_id, originator_id, originator_version) "
            "SELECT notification_id, originator_id, originator_version, "
            "CASE WHEN originator_version > 1 AND originator_version = first THEN "
            "(SELECT event_hash FROM {3} c WHERE c.originator_id = o.originator_id "
            "AND c.originator_version = o.originator_version - 1) END AS previous, "
            "(SELECT digest FROM {3} ORDER BY notification_id DESC LIMIT 1) AS digest "
            "FROM (SELECT *, min(originator_version) OVER (PARTITION BY originator_id) AS first "
            "FROM new) o"
        ).format(
            self._table(self.events_table_name),
            Identifier(self.datastore.schema),
            Identifier(self.stored_event_type_name),
            self._table(self.chain_table_name),
        )

    def _table(self, name: str) -> Composed:
        return SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(name))

    def _chain_statements(self) -> list[Composed]:
        schema = Identifier(self.datastore.schema)
        refuse = Identifier("careledger_refuse_change")
        statements = [
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (notification_id bigint PRIMARY KEY, "
                "originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
                "event_hash bytea NOT NULL, previous bytea NOT NULL, digest bytea NOT NULL, "
                "UNIQUE (originator_id, originator_version))"
            ).format(self._table(self.chain_table_name)),
            self.heads_statement(),
            SQL(
                "CREATE OR REPLACE FUNCTION {0}.{1}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION '" + REFUSAL + ": % on %.%', "
                "TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; "
                "END $$"
            ).format(schema, refuse),
        ]
        for table in (self.events_table_name, self.chain_table_name, self.heads_table_name):
            statements += [
                SQL(
                    "CREATE OR REPLACE TRIGGER {0} BEFORE UPDATE OR DELETE ON {1} "
                    "FOR EACH ROW EXECUTE FUNCTION {2}.{3}()"
                ).format(Identifier(f"{table}_no_change"), self._table(table), schema, refuse),
                SQL(
                    "CREATE OR REPLACE TRIGGER {0} BEFORE TRUNCATE ON {1} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION {2}.{3}()"
                ).format(Identifier(f"{table}_no_truncate"), self._table(table), schema, refuse),
            ]
        return statements

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        try:
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
        except IntegrityError as error:
            _inserted(error, kwargs)
            raise
        self._log_head()  # committed: its signed head may go to the copy outside
        return ids

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        alongside: Sequence[Alongside] = (),
        **kwargs: Any,
    ) -> None:
        """The events, under the library's table lock, then the rows kept with them, in the
        same pipeline: a unique key refusing a row is reported when the library syncs it,
        before the commit, so the transaction rolls back. Inserted after the lock, a row never
        waits on another writer's uncommitted row: every such row is inserted under it."""
        with _pipeline_synced_on_error(curs):
            super()._insert_stored_events(curs, stored_events, **kwargs)
            for table in dict.fromkeys(row.table for row in alongside):
                rows = _values(alongside, table)
                marks = SQL(",").join([SQL("%s")] * len(rows[0]))
                with curs.connection.cursor() as other:  # `curs` keeps the insert's answer
                    other.executemany(
                        SQL("INSERT INTO {0} VALUES ({1})").format(self._table(table), marks),
                        rows,
                    )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """Before the insert, in its transaction: the head key, read and checked against the
        store at the first commit (`ledger.integrity.head_store`). A refusal must come from
        here: the library re-raises what `_fetch_ids_after_insert_events` raises only after it has
        committed the transaction."""
        self._resolved_signer(curs)
        super()._insert_events(curs, stored_events, **kwargs)

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Each event's log position, matched by case and sequence (a join returns rows in no
        promised order), then the chain rows, appended in the same transaction. The insert
        ran under the library's table lock, so no other writer is between the last digest
        and these events."""
        with _pipeline_synced_on_error(curs):
            returned = curs.fetchall()
            if len(returned) != len(stored_events):
                raise ProgrammingError(
                    f"got {len(returned)} notification ids for {len(stored_events)} events"
                )
            position = {(r["originator_id"], r["originator_version"]): r for r in returned}
            ids = [
                position[_uuid(s.originator_id), s.originator_version]["notification_id"]
                for s in stored_events
            ]
            heads = {r["originator_id"]: bytes(r["previous"]) for r in returned if r["previous"]}
            last = returned[0]["digest"]
            self._append_chain(curs, _stored_rows(stored_events, ids), heads, last)
            return ids

    def _append_chain(
        self,
        curs: Cursor[DictRow],
        rows: list[StoredRow],
        heads: dict[UUID, bytes],
        last: bytes | None,
    ) -> None:
        """One statement appends the chain rows; it goes to the server with the commit."""
        new = chain(rows, heads, bytes(last) if last is not None else GENESIS)
        curs.execute(
            SQL(
                "INSERT INTO {0} SELECT * FROM unnest(%b::bigint[], %b::uuid[], %b::bigint[], "
                "%b::bytea[], %b::bytea[], %b::bytea[])"
            ).format(self._table(self.chain_table_name)),
            [list(column) for column in zip(*new, strict=True)],
        )
        self._append_head(curs, new)

    def existing_cases(self, case_ids: Sequence[UUID]) -> set[UUID]:
        if not case_ids:
            return set()
        with self.datastore.get_connection() as conn:
            rows = conn.execute(self._existing_statement, (list(case_ids),)).fetchall()
        return {row["id"] for row in rows}

    def events_after(self, position: int) -> int:
        """How many events were recorded after this log position (ids may have gaps)."""
        statement = SQL("SELECT COUNT(*) AS n FROM {0} WHERE notification_id > %s").format(
            self._table(self.events_table_name)
        )
        with self.datastore.get_connection() as conn:
            row = conn.execute(statement, (position,)).fetchone()
        return int(row["n"]) if row else 0

    @cached_property
    def _existing_statement(self) -> Composed:
        """One index probe per case asked about, whatever the planner knows of the table.
        (`originator_id = ANY(...)` was planned as a scan of the whole log on a table that
        had not been analysed, as a new ledger's is until autovacuum gets to it.) A single
        read needs no transaction, which would cost two more round trips."""
        return SQL(
            "SELECT id FROM unnest(%s::uuid[]) AS asked(id) "
            "WHERE EXISTS (SELECT FROM {0} e WHERE e.originator_id = asked.id)"
        ).format(self._table(self.events_table_name))

    def iter_case_rows(self, case: UUID | None = None) -> Iterator[RawLink]:
        where = SQL("WHERE e.originator_id = %s") if case else SQL("")
        statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.notification_id, e.topic, e.state, "
            "c.notification_id, c.event_hash, c.previous FROM {0} e LEFT JOIN {1} c "
            "ON c.originator_id = e.originator_id AND c.originator_version = e.originator_version "
            "{2} ORDER BY e.originator_id, e.originator_version"
        ).format(self._table(self.events_table_name), self._table(self.chain_table_name), where)
        key, key_bytes = None, b""
        for row in self._stream(statement, [case] if case else []):
            if row[0] != key:
                key, key_bytes = row[0], row[0].bytes
            yield (key_bytes, *row[1:5], *_link(row[5:8]))

    def iter_case_history(self, start: int, stop: int) -> Generator[StoredHistory, None, None]:
        table = self._table(self.events_table_name)
        touched: SQL | Composed = SQL("")
        if start:
            touched = SQL(
                "AND originator_id IN (SELECT originator_id FROM {0} "
                "WHERE notification_id > %s AND notification_id <= %s)"
            ).format(table)
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state, notification_id FROM {0} "
            "WHERE notification_id <= %s {1} ORDER BY originator_id, originator_version"
        ).format(table, touched)
        params: list[Any] = [stop] if start == 0 else [stop, start, stop]
        for row in self._stream(statement, params, name="careledger_rebuild"):
            yield StoredEvent(row[0], row[1], row[2], bytes(row[3])), row[4]

    def iter_orphans(self, case: UUID | None = None) -> Iterator[RawChain]:
        where = SQL("AND c.originator_id = %s") if case else SQL("")
        statement = SQL(
            "SELECT c.notification_id, c.originator_id, c.originator_version, c.event_hash, "
            "c.digest FROM {0} c LEFT JOIN {1} e ON e.originator_id = c.originator_id "
            "AND e.originator_version = c.originator_version "
            "WHERE e.originator_id IS NULL {2} ORDER BY c.notification_id"
        ).format(self._table(self.chain_table_name), self._table(self.events_table_name), where)
        for row in self._stream(statement, [case] if case else []):
            yield row[0], row[1].bytes, row[2], bytes(row[3]), bytes(row[4])

    def iter_chain(self) -> Iterator[tuple[int, bytes, bytes]]:
        statement = SQL(
            "SELECT notification_id, event_hash, digest FROM {0} ORDER BY notification_id"
        ).format(self._table(self.chain_table_name))
        yield from self._stream(statement, [])

    def chain_row_at(self, position: int) -> RawChain:
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, event_hash, digest "
            "FROM {0} WHERE notification_id = %s"
        ).format(self._table(self.chain_table_name))
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, (position,))
            row = curs.fetchone()
        assert row is not None
        return (
            row["notification_id"],
            UUID(str(row["originator_id"])).bytes,
            row["originator_version"],
            bytes(row["event_hash"]),
            bytes(row["digest"]),
        )

    def _stream(
        self, statement: Composed, params: list[Any], name: str = "careledger_verify"
    ) -> Iterator[tuple[Any, ...]]:
        """A server-side cursor: memory stays flat however many rows there are."""
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(name=name, row_factory=tuple_row) as curs,
        ):
            curs.itersize = PAGE
            # A named cursor is planned to return its first rows fast; verify reads them all.
            conn.execute("SET LOCAL cursor_tuple_fraction = 1")
            # Between pages the reader works (a rebuild computes and writes a page's cases):
            # the library's few seconds idle in a transaction could end the session.
            conn.execute("SET LOCAL idle_in_transaction_session_timeout = '60s'")
            curs.execute(statement, params)
            yield from curs


@contextlib.contextmanager
def _pipeline_synced_on_error(curs: Cursor[DictRow]) -> Iterator[None]:
    """The server's own refusal, whenever it comes back, not psycopg's "pipeline aborted".

    The library sends a save's statements in one pipeline and syncs it after the insert,
    keeping any error raised before then to raise once its transaction has ended. But an
    error the server sends back while a later statement of the save is still being sent (a
    read-only server refusing the library's LOCK TABLE, a unique key the insert) is raised
    there, from that statement, before the library's sync: the pipeline is then left
    aborted, and the COMMIT with which the library ends the transaction comes back as
    psycopg's `PipelineAborted`, an OperationalError, which the library tries again ten
    times and then raises in place of the server's error. Whether the error comes back in
    time depends on how fast the server answers the client, so the same refusal was
    reported either way from one run to the next. Synced here, at the error, the pipeline
    leaves its aborted state (the transaction stays failed, so the commit rolls back) and
    the server's error is what the library raises."""
    try:
        yield
    except psycopg.Error:
        # The pipeline under way, entered again (psycopg nests it): its sync collects the
        # results still owed, which are only the aborted statements'.
        with contextlib.suppress(psycopg.Error), curs.connection.pipeline() as pipeline:
            pipeline.sync()
        raise


def _link(values: Any) -> tuple[Any, ...]:
    nid, hash_, previous = values
    if nid is None:
        return (None, None, None)
    return nid, bytes(hash_), bytes(previous)
