"""PostgreSQL roles (`careledger init --roles PREFIX`): each command runs as a role that can
do what it needs and no more, and none but the owner can undo the append-only triggers.

Roles are cluster-wide: each test makes its own, under a unique prefix, and drops them
afterwards (REASSIGN OWNED, DROP OWNED, DROP ROLE) before its schema is dropped. The
server's pg_hba.conf trusts local connections, so the roles connect without a password.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from careledger.ledger.store.roles import KINDS
from tests.envelope import data_of
from tests.returns903 import COUNCIL as COUNCIL_903
from tests.returns903 import YEAR
from tests.returns903 import invoke as invoke_903
from tests.test_import_903_mapping import a_year_of_two_children
from tests.test_integrity import (
    EVENTS,
    FIRST,
    LATER,
    SECOND,
    SPLIT,
    demo_lines,
    invoke,
    lines_of,
    ok,
    record,
)

EVENTS_TABLE, CHAIN_TABLE = "careledger_events", "careledger_events_chain"
TRIGGERS = {
    EVENTS_TABLE: "careledger_events_no_change",
    CHAIN_TABLE: "careledger_events_chain_no_change",
}


class Roles:
    """The four roles of one ledger: each one's URL, and a direct connection as it."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url, self.prefix = url, prefix
        self.schema = parse_qs(urlsplit(url).query)["schema"][0]

    def name(self, kind: str) -> str:
        return f"{self.prefix}_{kind}"

    def url_of(self, kind: str) -> str:
        parts = urlsplit(self.url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, f"{self.name(kind)}@{host}", parts.path, parts.query, ""))

    def connect(self, kind: str) -> psycopg.Connection:
        parts = urlsplit(self.url_of(kind))
        connection = psycopg.connect(
            urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), autocommit=True
        )
        connection.execute(sql.SQL("SET search_path TO {0}").format(sql.Identifier(self.schema)))
        return connection


@pytest.fixture
def roles(postgres_db: str, postgres_admin: psycopg.Connection) -> Iterator[Roles]:
    prefix = f"cl_test_{uuid.uuid4().hex[:10]}"
    made = Roles(postgres_db, prefix)
    try:
        result = ok(invoke("init", "--db", postgres_db, "--roles", prefix))
        assert lines_of(result)[0] == "roles: " + ", ".join(made.name(k) for k in KINDS)
        yield made
    finally:
        names = sql.SQL(", ").join(
            sql.Identifier(made.name(kind))
            for kind in KINDS
            if postgres_admin.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (made.name(kind),)
            ).fetchone()
        )
        if names.as_string():
            postgres_admin.execute(sql.SQL("REASSIGN OWNED BY {0} TO CURRENT_USER").format(names))
            postgres_admin.execute(sql.SQL("DROP OWNED BY {0}").format(names))
            postgres_admin.execute(sql.SQL("DROP ROLE {0}").format(names))


def refused(connection: psycopg.Connection, statement: str) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as error:
        connection.execute(statement.encode())
    return str(error.value).splitlines()[0]


def record_as_writer(roles: Roles, tmp_path: Path) -> list[str]:
    """Two children recorded as the writer; the notes each record printed."""
    notes = []
    for lines in (demo_lines(FIRST)[:SPLIT], demo_lines(SECOND), demo_lines(FIRST)[SPLIT:]):
        path = tmp_path / f"{uuid.uuid4().hex}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = ok(invoke("record", "--db", roles.url_of("writer"), "--file", path))
        assert result.stdout.strip() == f"recorded {len(lines)} event(s)"
        notes.append(result.stderr)
    return notes


def test_the_writer_cannot_disable_drop_or_get_past_the_append_only_triggers(
    roles: Roles, tmp_path: Path
) -> None:
    record_as_writer(roles, tmp_path)
    writer = roles.connect("writer")
    for table, trigger in TRIGGERS.items():
        assert refused(writer, f"ALTER TABLE {table} DISABLE TRIGGER USER") == (
            f"must be owner of table {table}"
        )
        assert refused(writer, f"ALTER TABLE {table} DISABLE TRIGGER {trigger}").startswith(
            "must be owner"
        )
        assert refused(writer, f"DROP TRIGGER {trigger} ON {table}").startswith("must be owner")
        assert refused(writer, f"DROP TABLE {table}").startswith("must be owner")
        assert refused(writer, f"UPDATE {table} SET originator_version = 99").startswith(
            "careledger: the ledger is append-only: UPDATE"
        )
        assert refused(writer, f"DELETE FROM {table}").startswith("permission denied for table")
        assert refused(writer, f"TRUNCATE {table}").startswith("permission denied for table")
    assert refused(writer, "SET session_replication_role = replica").startswith(
        'permission denied to set parameter "session_replication_role"'
    )
    counts = [writer.execute(f"SELECT count(*) FROM {t}").fetchone() for t in TRIGGERS]
    assert counts == [(EVENTS,), (EVENTS,)]
    writer.close()
    assert lines_of(ok(invoke("verify", "--db", roles.url_of("reader"))))[0] == (
        f"intact: {EVENTS} events in 2 case(s)"
    )


@pytest.mark.parametrize("kind", ["writer", "reader"])
def test_only_the_projector_writes_the_projection_tables(
    roles: Roles, tmp_path: Path, kind: str
) -> None:
    record_as_writer(roles, tmp_path)
    ok(invoke("projections", "catch-up", "--db", roles.url_of("projector")))
    other = roles.connect(kind)
    flags = other.execute("SELECT count(*) FROM cl_unapproved").fetchone()
    assert flags is not None and flags[0] > 0
    for statement in (
        "DELETE FROM cl_unapproved",
        "UPDATE cl_cases SET iro = NULL",
        "INSERT INTO cl_policy VALUES ('x', 'y')",
        "DELETE FROM careledger_views_tracking",
        "TRUNCATE cl_events",
        "DROP TABLE cl_unapproved",
        f"INSERT INTO {EVENTS_TABLE} SELECT * FROM {EVENTS_TABLE} LIMIT 0",
    ):
        if kind == "writer" and statement.startswith(f"INSERT INTO {EVENTS_TABLE}"):
            continue
        refused(other, statement)
    assert other.execute("SELECT count(*) FROM cl_unapproved").fetchone() == flags
    other.close()
    projector = roles.connect("projector")
    assert refused(projector, f"INSERT INTO {EVENTS_TABLE} SELECT * FROM {EVENTS_TABLE}") == (
        f"permission denied for table {EVENTS_TABLE}"
    )
    projector.close()


def test_the_writer_records_the_projector_catches_up_and_the_reader_reads(
    roles: Roles, tmp_path: Path
) -> None:
    notes = record_as_writer(roles, tmp_path)
    assert notes[0] == (
        f"note: the projections are {SPLIT + 1} event(s) behind the ledger and this database "
        "role may not write them: run 'careledger projections catch-up' as the projector\n"
    )
    behind = invoke("unapproved", "--db", roles.url_of("reader"), "--format", "json")
    assert data_of(ok(behind).stdout) == []
    assert f"the projections are {EVENTS} event(s) behind" in behind.stderr
    caught_up = ok(invoke("projections", "catch-up", "--db", roles.url_of("projector")))
    assert caught_up.stdout == f"applied {EVENTS} event(s)\n"
    now = ok(invoke("unapproved", "--db", roles.url_of("reader"), "--format", "json"))
    assert '"child": "NR-0205"' in now.stdout and now.stderr == ""
    rebuilt = ok(invoke("projections", "rebuild", "--db", roles.url_of("projector")))
    assert rebuilt.stdout.strip() == f"rebuilt careledger_views from {EVENTS} event(s)"
    again = ok(invoke("unapproved", "--db", roles.url_of("reader"), "--format", "json"))
    assert again.stdout == now.stdout
    checked = ok(invoke("verify", "--db", roles.url_of("owner"), "--projections"))
    assert lines_of(checked)[-1] == (
        f"projections: the same as rebuilt from the events, up to log position {EVENTS}"
    )
    as_reader = invoke("verify", "--db", roles.url_of("reader"), "--projections")
    assert as_reader.exit_code == 1
    message = as_reader.stderr
    assert message.startswith(
        "error: --projections: cannot make the scratch schema to rebuild in (permission denied "
        "for database "
    )
    assert message.endswith(
        "run it as a role that may create schemas in the database, such as the owner\n"
    )
    more = demo_lines(LATER)
    record(roles.url_of("writer"), tmp_path, more)
    refused_catch_up = invoke("projections", "catch-up", "--db", roles.url_of("reader"))
    assert refused_catch_up.exit_code == 1
    assert refused_catch_up.stderr == (
        f"error: the projections are {len(more) + 1} event(s) behind the ledger and this "
        "database role may not write them: run 'careledger projections catch-up' as the "
        "projector\n"
    )


def test_roles_are_refused_on_a_sqlite_ledger_and_a_bad_prefix_is_named(sqlite_db: str) -> None:
    result = invoke("init", "--db", sqlite_db, "--roles", "council")
    assert result.exit_code == 1
    assert result.stderr == "error: --roles: a SQLite ledger has no roles (PostgreSQL only)\n"
    bad = invoke("init", "--db", sqlite_db, "--roles", "Council-1")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: --roles: 'Council-1' is not")


def test_import_903_as_the_writer_waits_for_current_projections(
    roles: Roles, tmp_path: Path
) -> None:
    """An import reads from the views which return is the newest: while they lag, the writer
    is refused (with the lag), not answered from stale views; after the projector's catch-up
    it imports."""
    record_as_writer(roles, tmp_path)
    directory = a_year_of_two_children(tmp_path / "return")
    command = ["import-903", directory, "--db", roles.url_of("writer"), "--council", COUNCIL_903]
    command += ["--year", YEAR, "--actor", "data-officer"]
    refused = invoke_903(*command)
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"error: the projections are {EVENTS} event(s) behind")
    ok(invoke("projections", "catch-up", "--db", roles.url_of("projector")))
    imported = ok(invoke_903(*command))
    assert "2 children, 10 event(s) recorded" in imported.stdout
    assert "note: the projections are 12 event(s) behind" in imported.stderr  # and 2 CaseOpened


def test_init_runs_again_as_the_owner_and_the_roles_again_as_a_superuser(roles: Roles) -> None:
    assert lines_of(ok(invoke("init", "--db", roles.url_of("owner"))))[0].startswith(
        "ledger ready at "
    )
    again = ok(invoke("init", "--db", roles.url, "--roles", roles.prefix))
    assert lines_of(again)[0] == "roles: " + ", ".join(roles.name(k) for k in KINDS)
