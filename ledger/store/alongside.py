"""Rows kept with a batch of events: inserted in the very transaction that inserts the events,
so that they are stored exactly when the events are, and never without them.

The service keeps a request's idempotency key and its answer this way: a key can then never
say "recorded" of events that were rolled back, nor events be recorded while their key is
lost with a worker that stopped between two transactions. A row's table must have a unique
key; if it refuses the row (another transaction kept the same key first), nothing of the
batch is recorded and the save raises `AlongsideRefused`, which is not a write conflict:
saving again would meet the same row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from careledger.ledger.errors import LedgerError


@dataclass(frozen=True)
class Alongside:
    """One row of `table` (in the ledger's own database and schema), its values in the
    table's column order."""

    table: str
    values: tuple[Any, ...]


class AlongsideRefused(LedgerError):
    """A unique key of `table` refused a row kept with the events: nothing was recorded."""

    def __init__(self, table: str) -> None:
        super().__init__(f"{table}: a row with the same key is already kept; nothing recorded")
        self.table = table


def refused_table(error: BaseException, rows: Sequence[Alongside]) -> str | None:
    """The table of `rows` whose unique key refused a row, if that is what `error` (the
    library's wrapping of the driver's error) says; None for any other failure (two writers
    claiming a case's next sequence number among them)."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, sqlite3.Error | psycopg.Error):
        cause = cause.__cause__
    for table in {row.table for row in rows}:
        if isinstance(cause, psycopg.errors.UniqueViolation):
            if cause.diag.table_name == table:
                return table
        elif isinstance(cause, sqlite3.IntegrityError) and f" {table}." in str(cause):
            return table  # "UNIQUE constraint failed: table.column, ..."
    return None
