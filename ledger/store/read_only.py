"""Connections that cannot write, for a ledger opened for reading.

A report, the service's reads and a streaming replica read the ledger and its projections
and must never change them: the database itself is asked to refuse every write on the
connections of a ledger opened for reading, so that no path a read takes can write, however
it was reached. PostgreSQL: every transaction is read-only (`default_transaction_read_only`,
which a hot standby enforces anyway). SQLite: `PRAGMA query_only`.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore

from careledger.ledger.store.sqlite_persistence import LedgerConnectionPool

READ_ONLY_OPTIONS = "-c default_transaction_read_only=on"


def refuse_writes(datastore: Any) -> None:
    """Make every connection of the datastore read-only. Its pool must have made none yet:
    called on a factory's datastore before any recorder is made from it (on PostgreSQL the
    library connects as it makes a recorder, to read its composite type)."""
    pool = datastore.pool
    if isinstance(datastore, PostgresDatastore) and pool.closed:
        pool.kwargs = {**pool.kwargs, "options": READ_ONLY_OPTIONS}
    elif isinstance(pool, LedgerConnectionPool) and not pool.connections_made:
        pool.query_only = True
    else:
        raise RuntimeError("refuse_writes: not a ledger's datastore, or it has connected")
