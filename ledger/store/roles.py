"""PostgreSQL roles for a ledger (`careledger init --roles PREFIX`).

The append-only triggers stop any role but the tables' owner, and a superuser: the owner can
disable or drop them. So the owner role is for `init` and migrations only, and each other
command runs as a role that can do what it needs and no more:

- PREFIX_owner owns the schema, the events and chain tables, their triggers and the refusing
  function, and is a member of PREFIX_projector (so that `init`, run again, reaches the
  projection tables too); it may create schemas in the database (`verify --projections`
  rebuilds into a scratch schema).
- PREFIX_writer records: SELECT on every table; INSERT on the events and chain tables and use
  of the events' sequence; UPDATE on those two tables too, because the library takes an
  EXCLUSIVE lock on the events table to keep the log's order, and PostgreSQL grants that lock
  only with UPDATE, DELETE or TRUNCATE. Every UPDATE is still refused by the triggers, which
  the writer, not owning the tables, cannot disable or drop.
- PREFIX_projector owns the projection tables and the tracking table (a rebuild drops and
  recreates them, which only an owner may), may create tables in the schema, and reads the
  events.
- PREFIX_reader reads every table.

Run once as a superuser (it creates roles and hands over ownership); safe to run again. The
roles may log in but have no password: set one (ALTER ROLE ... PASSWORD) or allow them in
pg_hba.conf.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from psycopg import sql

from careledger.ledger.errors import LedgerError

KINDS = ("owner", "writer", "projector", "reader")
PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,40}")


def role_names(prefix: str) -> dict[str, str]:
    """Each kind of role's name; refuses a prefix that is not a plain lower-case name."""
    if not PREFIX.fullmatch(prefix):
        raise LedgerError(
            f"--roles: '{prefix}' is not a role name prefix (lower-case letters, digits and "
            "_, not starting with a digit, at most 41 characters)"
        )
    return {kind: f"{prefix}_{kind}" for kind in KINDS}


# A table the owner keeps (so no other role can disable its triggers), with what the writer
# and the reader may do to it beyond reading: (table, writer's privileges, reader's).
Guarded = tuple[str, str, str]


def create_roles(recorder: Any, prefix: str, guarded: Sequence[Guarded] = ()) -> dict[str, str]:
    """Create the four roles (those missing) and give the ledger's schema to them, in one
    transaction. `recorder` is the ledger's PostgreSQL application recorder; `guarded`, the
    other tables the owner keeps (the access tables: `careledger.access.store`)."""
    names = role_names(prefix)
    schema = recorder.datastore.schema
    ledger_tables = (recorder.events_table_name, recorder.chain_table_name)
    with recorder.datastore.transaction(commit=True) as cursor:
        for name in names.values():
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {0} LOGIN").format(sql.Identifier(name)))
        for statement in _statements(cursor, schema, ledger_tables, names, guarded):
            cursor.execute(statement)
    return names


def _statements(
    cursor: Any,
    schema: str,
    ledger_tables: tuple[str, str],
    names: dict[str, str],
    guarded: Sequence[Guarded],
) -> list[sql.Composable]:
    role = {kind: sql.Identifier(name) for kind, name in names.items()}
    s = sql.Identifier(schema)
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    tables = [str(row["tablename"]) for row in cursor.fetchall()]
    kept = {table for table, _, _ in guarded}
    projection_tables = [t for t in tables if t not in ledger_tables and t not in kept]
    events, chain = (sql.SQL("{0}.{1}").format(s, sql.Identifier(t)) for t in ledger_tables)
    statements: list[sql.Composable] = [
        sql.SQL("ALTER SCHEMA {0} OWNER TO {1}").format(s, role["owner"]),
        sql.SQL("ALTER TABLE {0} OWNER TO {1}").format(events, role["owner"]),
        sql.SQL("ALTER TABLE {0} OWNER TO {1}").format(chain, role["owner"]),
    ]
    statements += _owned_types_and_functions(cursor, schema, role["owner"])
    statements += [
        sql.SQL("ALTER TABLE {0}.{1} OWNER TO {2}").format(
            s, sql.Identifier(table), role["projector"]
        )
        for table in projection_tables
    ]
    everyone = sql.SQL(", ").join(role.values())
    statements += [
        sql.SQL("GRANT USAGE ON SCHEMA {0} TO {1}").format(s, everyone),
        sql.SQL("GRANT CREATE ON SCHEMA {0} TO {1}").format(s, role["projector"]),
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {0} TO {1}").format(s, everyone),
        sql.SQL("GRANT INSERT, UPDATE ON {0}, {1} TO {2}").format(events, chain, role["writer"]),
        sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {0} TO {1}").format(s, role["writer"]),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {0} IN SCHEMA {1} GRANT SELECT ON TABLES TO {2}"
        ).format(role["projector"], s, everyone),
        # The owner runs `init` again after an upgrade, which (re)creates the projections'
        # indexes too: only their owner, or a member of it, may.
        sql.SQL("GRANT {0} TO {1}").format(role["projector"], role["owner"]),
        sql.SQL("GRANT CREATE ON DATABASE {0} TO {1}").format(
            sql.Identifier(_database(cursor)), role["owner"]
        ),
    ]
    for table, writer, reader in guarded:
        name = sql.SQL("{0}.{1}").format(s, sql.Identifier(table))
        statements.append(sql.SQL("ALTER TABLE {0} OWNER TO {1}").format(name, role["owner"]))
        for kind, privileges in (("writer", writer), ("reader", reader)):
            if privileges:
                statements.append(
                    sql.SQL("GRANT {0} ON {1} TO {2}").format(sql.SQL(privileges), name, role[kind])
                )
    return statements


def _owned_types_and_functions(
    cursor: Any, schema: str, owner: sql.Identifier
) -> list[sql.Composable]:
    """The library's composite type of stored events, its functions and the refusing trigger
    function: every free-standing type and every function in the schema."""
    cursor.execute(
        "SELECT t.typname AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = %s AND t.typtype = 'c' AND NOT EXISTS "
        "(SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')",
        (schema,),
    )
    types = [str(row["name"]) for row in cursor.fetchall()]
    cursor.execute(
        "SELECT p.oid::regprocedure::text AS signature FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s",
        (schema,),
    )
    # regprocedure's text is the function's name, qualified and quoted, with its arguments.
    functions = [str(row["signature"]) for row in cursor.fetchall()]
    s = sql.Identifier(schema)
    statements: list[sql.Composable] = [
        sql.SQL("ALTER TYPE {0}.{1} OWNER TO {2}").format(s, sql.Identifier(name), owner)
        for name in types
    ]
    statements += [
        sql.SQL("ALTER FUNCTION {0} OWNER TO {1}").format(sql.SQL(signature), owner)
        for signature in functions
    ]
    return statements


def _database(cursor: Any) -> str:
    cursor.execute("SELECT current_database() AS name")
    return str(cursor.fetchone()["name"])
