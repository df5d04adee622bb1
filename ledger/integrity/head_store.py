"""The table of signed heads (`ledger.integrity.heads`) in each store, as mixins of the ledger's
recorders.

The recorders call `_append_head` in the transaction that inserts a commit's events, after its
chain rows: with a key (CARELEDGER_HEAD_KEY_FILE) one row is appended, signing the log's head
after the commit. The key is read at a process's first commit, which also checks the store:
once a ledger's head has been signed, recording without the key is refused (the commit would
look exactly like a forged append), and a ledger made before the table existed needs
`careledger init` again to be signed. After the commit, `_log_head` appends its head to the
copy outside the database (`ledger.integrity.head_log`), where one is kept.

The head signed in a commit waits for `_log_head` in a place of the thread's own: one
recorder may commit on several threads at once (the service's workers record different cases
side by side), and each commit's head must go to the head log after that commit, never
another's.

The table is append-only by the same triggers as the events and the chain
(`ledger.store.recorders`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed

from careledger.ledger.errors import LedgerError
from careledger.ledger.integrity.chain import ChainRow
from careledger.ledger.integrity.head_log import SETTING as LOG_SETTING
from careledger.ledger.integrity.head_log import HeadLog, head_log_at
from careledger.ledger.integrity.heads import (
    KEY_SETTING,
    HeadSigner,
    SignedHead,
    signer_from,
)

_COLUMNS = "position, first_position, events, digest, signed_at, public_key, signature"
_UNSET = object()
_RESOLVING = threading.Lock()  # one thread reads the key and checks the store at the first commit


class _Heads:
    """What both stores share: when to sign, and the rows read back for verify."""

    _signer: Any = _UNSET  # a HeadSigner, or None, once resolved
    _head_log: HeadLog | None = None
    _head_key_file: str | None = None  # from the settings, by `sign_with`
    _head_log_file: str | None = None

    if TYPE_CHECKING:

        def _stream(self, statement: Any, params: list[Any]) -> Iterator[Any]: ...

    def sign_with(self, head_key_file: str | None, head_log: str | None) -> None:
        """The key file and the head log the settings name (CARELEDGER_HEAD_KEY_FILE,
        CARELEDGER_HEAD_LOG), read at the first commit."""
        self._head_key_file, self._head_log_file = head_key_file, head_log

    def _table_exists(self, cursor: Any) -> bool:
        raise NotImplementedError

    def _any_head(self, cursor: Any) -> bool:
        raise NotImplementedError

    def _insert_head(self, cursor: Any, head: SignedHead) -> None:
        raise NotImplementedError

    def _append_head(self, cursor: Any, rows: list[ChainRow]) -> None:
        signer = self._resolved_signer(cursor)
        if signer is not None:
            head = signer.sign(rows)
            self._insert_head(cursor, head)
            self._pending().head = head

    def _log_head(self) -> None:
        """After the commit: its head (signed on this thread), to the copy outside the
        database."""
        pending = self._pending()
        head, pending.head = getattr(pending, "head", None), None
        if head is not None and self._head_log is not None:
            self._head_log.append(head)

    def _pending(self) -> threading.local:
        """This thread's head signed in the commit under way (`head`), for the head log."""
        pending: threading.local | None = self.__dict__.get("_pending_heads")
        if pending is None:  # a recorder's first commit; setdefault keeps one if threads race
            pending = self.__dict__.setdefault("_pending_heads", threading.local())
        return pending

    def _resolved_signer(self, cursor: Any) -> HeadSigner | None:
        """The key, read at the first commit, with what the store allows (see the module)."""
        if self._signer is _UNSET:
            with _RESOLVING:
                if self._signer is _UNSET:
                    self._resolve_signer(cursor)
        signer_or_none: HeadSigner | None = self._signer
        return signer_or_none

    def _resolve_signer(self, cursor: Any) -> None:
        signer = signer_from(self._head_key_file)
        refusal = self._refusal(signer, cursor)
        if refusal:
            raise LedgerError(f"{refusal}; nothing recorded")
        self._head_log = head_log_at(self._head_log_file)
        self._signer = signer

    def _refusal(self, signer: HeadSigner | None, cursor: Any) -> str | None:
        exists = self._table_exists(cursor)
        if signer is not None and not exists:
            return (
                f"{KEY_SETTING}: this ledger has no table of signed heads; run "
                "'careledger init' (safe to repeat) to add it"
            )
        if signer is None and exists and self._any_head(cursor):
            return (
                f"{KEY_SETTING}: this ledger's head is signed, so it records only with the head key"
            )
        if signer is None and self._head_log_file:
            return f"{LOG_SETTING}: keeps signed heads, so it needs {KEY_SETTING}"
        return None


def _head(values: tuple[Any, ...]) -> SignedHead:
    position, first, events, digest, signed_at, public_key, signature = values
    return SignedHead(
        position, first, events, bytes(digest), str(signed_at), bytes(public_key),
        bytes(signature),
    )  # fmt: skip


class SQLiteHeads(_Heads):
    heads_table = "ledger_heads"
    chain_table: str

    def heads_statement(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {self.heads_table} (position INTEGER PRIMARY KEY, "
            "first_position INTEGER NOT NULL, events INTEGER NOT NULL, digest BLOB NOT NULL, "
            "signed_at TEXT NOT NULL, public_key BLOB NOT NULL, signature BLOB NOT NULL)"
        )

    def _table_exists(self, cursor: Any) -> bool:
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.heads_table,)
        )
        return cursor.fetchone() is not None

    def _any_head(self, cursor: Any) -> bool:
        cursor.execute(f"SELECT 1 FROM {self.heads_table} LIMIT 1")
        return cursor.fetchone() is not None

    def _insert_head(self, cursor: Any, head: SignedHead) -> None:
        cursor.execute(f"INSERT INTO {self.heads_table} ({_COLUMNS}) VALUES (?,?,?,?,?,?,?)", head)

    def has_heads_table(self) -> bool:
        statement = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?"
        return any(True for _ in self._stream(statement, [self.heads_table]))

    def iter_orphan_heads(self) -> Iterator[SignedHead]:
        """Signed heads whose position has no chain row."""
        statement = (
            f"SELECT {_qualified('h', _COLUMNS)} FROM {self.heads_table} h "
            f"LEFT JOIN {self.chain_table} c ON c.notification_id = h.position "
            "WHERE c.notification_id IS NULL ORDER BY h.position"
        )
        for row in self._stream(statement, []):
            yield _head(tuple(row))

    def iter_chain_heads(self) -> Iterator[tuple[int, bytes, SignedHead | None]]:
        """The chain in log order, each row with the head signed at it, if any."""
        statement = (
            f"SELECT c.notification_id, c.digest, {_qualified('h', _COLUMNS)} "
            f"FROM {self.chain_table} c LEFT JOIN {self.heads_table} h "
            "ON h.position = c.notification_id ORDER BY c.notification_id"
        )
        for row in self._stream(statement, []):
            yield row[0], bytes(row[1]), None if row[2] is None else _head(tuple(row[2:]))


class PostgresHeads(_Heads):
    heads_table_name: str
    chain_table_name: str
    datastore: PostgresDatastore

    if TYPE_CHECKING:

        def _table(self, name: str) -> Composed: ...

    def heads_statement(self) -> Composed:
        return SQL(
            "CREATE TABLE IF NOT EXISTS {0} (position bigint PRIMARY KEY, "
            "first_position bigint NOT NULL, events bigint NOT NULL, digest bytea NOT NULL, "
            "signed_at text NOT NULL, public_key bytea NOT NULL, signature bytea NOT NULL)"
        ).format(self._table(self.heads_table_name))

    def _regclass(self) -> str:
        """The table's name, quoted, for to_regclass (which returns null where it is not)."""
        return ".".join(
            '"' + name.replace('"', '""') + '"'
            for name in (self.datastore.schema, self.heads_table_name)
        )

    def _table_exists(self, cursor: Any) -> bool:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (self._regclass(),))
        return bool(cursor.fetchone()["found"])

    def _any_head(self, cursor: Any) -> bool:
        cursor.execute(
            SQL("SELECT EXISTS (SELECT FROM {0}) AS found").format(
                self._table(self.heads_table_name)
            )
        )
        return bool(cursor.fetchone()["found"])

    def _insert_head(self, cursor: Any, head: SignedHead) -> None:
        cursor.execute(self._insert_head_statement, head, prepare=True)

    @cached_property
    def _insert_head_statement(self) -> Composed:
        """Composed once: one is executed with every commit."""
        return SQL("INSERT INTO {0} (" + _COLUMNS + ") VALUES (%s,%s,%s,%s,%s,%s,%s)").format(
            self._table(self.heads_table_name)
        )

    def has_heads_table(self) -> bool:
        statement = SQL("SELECT to_regclass(%s)")
        return any(row[0] is not None for row in self._stream(statement, [self._regclass()]))

    def iter_orphan_heads(self) -> Iterator[SignedHead]:
        statement = SQL(
            "SELECT " + _qualified("h", _COLUMNS) + " FROM {0} h LEFT JOIN {1} c "
            "ON c.notification_id = h.position WHERE c.notification_id IS NULL "
            "ORDER BY h.position"
        ).format(self._table(self.heads_table_name), self._table(self.chain_table_name))
        for row in self._stream(statement, []):
            yield _head(tuple(row))

    def iter_chain_heads(self) -> Iterator[tuple[int, bytes, SignedHead | None]]:
        statement = SQL(
            "SELECT c.notification_id, c.digest, " + _qualified("h", _COLUMNS) + " FROM {0} c "
            "LEFT JOIN {1} h ON h.position = c.notification_id ORDER BY c.notification_id"
        ).format(self._table(self.chain_table_name), self._table(self.heads_table_name))
        for row in self._stream(statement, []):
            yield row[0], bytes(row[1]), None if row[2] is None else _head(tuple(row[2:]))


def _qualified(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in columns.split(","))
