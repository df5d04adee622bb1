"""A rebuild on PostgreSQL leaves the planner statistics of every table it made anew, so a
report straight after it is planned on what the tables hold, not on guesses (where
autovacuum is off or has not come round yet)."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg

from careledger.projections import schema
from tests.test_integrity import invoke, ok, record_two_children


def analyzed_tables(admin: psycopg.Connection, schema_name: str) -> set[str]:
    rows = admin.execute(
        "SELECT relname FROM pg_stat_user_tables"
        " WHERE schemaname = %s AND last_analyze IS NOT NULL",
        (schema_name,),
    ).fetchall()
    return {str(name) for (name,) in rows}


def test_a_rebuild_leaves_every_projection_table_analyzed(
    postgres_db: str, postgres_admin: psycopg.Connection, tmp_path: Path
) -> None:
    record_two_children(postgres_db, tmp_path)
    [schema_name] = parse_qs(urlsplit(postgres_db).query)["schema"]
    started = time.time()
    ok(invoke("projections", "rebuild", "--db", postgres_db))
    # The server publishes each table's last ANALYZE a moment after the transaction ends.
    deadline = time.monotonic() + 10
    while not set(schema.TABLES) <= analyzed_tables(postgres_admin, schema_name):
        assert time.monotonic() < deadline, sorted(
            set(schema.TABLES) - analyzed_tables(postgres_admin, schema_name)
        )
        time.sleep(0.2)
    newest = postgres_admin.execute(
        "SELECT MIN(EXTRACT(EPOCH FROM last_analyze)) FROM pg_stat_user_tables"
        " WHERE schemaname = %s AND relname = ANY(%s)",
        (schema_name, list(schema.TABLES)),
    ).fetchone()
    assert newest is not None and float(newest[0]) >= started - 1
