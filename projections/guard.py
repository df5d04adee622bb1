"""Only the projector writes the projection tables.

The projection tables are what every read command answers from, so a row deleted from
`cl_unapproved` would hide a flag. Each store keeps them from anyone but the projector:

- SQLite has no users: triggers on every projection table and on the tracking table refuse
  INSERT, UPDATE and DELETE unless the connection says it is the projector's. The projector's
  connections (and only they) register the application-defined SQL function
  `careledger_projector()`, which returns 1; a connection without it, such as the `sqlite3`
  shell's, cannot compile the trigger and its write is refused. Whoever can write the file
  can still drop a trigger first: `careledger verify --projections` finds what they did.
- PostgreSQL has roles: the projector's role owns the projection tables and no other role may
  write them (`ledger.store.roles`).
"""

from __future__ import annotations

from typing import Any

from careledger.projections import schema

FUNCTION = "careledger_projector"
REFUSAL = "careledger: only the projector writes the projection tables"
GUARDED = (*schema.TABLES, "cl_policy", "tracking")


def projector_function() -> int:
    return 1


def as_projector(datastore: Any) -> None:
    """Make every connection the views' SQLite pool opens from now on the projector's."""
    datastore.pool.functions[FUNCTION] = projector_function


def sqlite_triggers(prefix: str = "") -> list[str]:
    """The refusing triggers, one per table and action, created with the tables."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {prefix}{table}_projector_only_{action.lower()} "
        f"BEFORE {action} ON {prefix}{table} WHEN {FUNCTION}() IS NOT 1 "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {action} on {table}'); END"
        for table in GUARDED
        for action in ("INSERT", "UPDATE", "DELETE")
    ]
