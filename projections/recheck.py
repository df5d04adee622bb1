"""`careledger verify --projections`: the projections rebuilt from the events, in scratch, and
compared with the live tables, table by table.

The chain proves the events; nothing but a rebuild proves the projections that every read
command answers from (a row deleted from `cl_unapproved` hides a flag, and the lag still
says 0). The rebuild goes as far as the live views' tracking position, no further, and judges
under the policy the live views recorded (`cl_policy`), not the environment's: the same
events under the same settings give the same rows.

- SQLite: the ledger file is copied (the backup API: one consistent state) into a private
  temporary directory, twice; the second copy's projections are rebuilt, then the first
  copy's live tables are compared with them.
- PostgreSQL: the views are rebuilt into a scratch schema of their own, dropped afterwards
  (so the role needs CREATE on the database); the comparison reads the live tables in one
  repeatable-read transaction, and starts again should the live views move on meanwhile.

Differences are found with EXCEPT both ways, in the database; each is named by its table
and primary key: a row missing from the live table, an extra row, or the columns whose live
value differs from the rebuilt one. With encryption at rest, the projected payloads
(`cl_events.payload`) are encrypted anew on each write, so they are compared decrypted.
"""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsourcing.persistence import ProgrammingError
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from careledger.ledger.application import CareLedger
from careledger.ledger.errors import LedgerError
from careledger.ledger.store.location import store_for
from careledger.projections import schema
from careledger.projections.runner import Projector, open_views
from careledger.projections.views import CaseViews

COMPARED = (*schema.TABLES, "cl_policy")
SHOWN = 20  # differences listed per table; the rest are counted
ATTEMPTS = 3  # comparisons started again when the live views move on meanwhile
MISSING, EXTRA, DIFFERS = "missing from the live table", "extra in the live table", "differs"

Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Difference:
    table: str
    key: dict[str, Any]
    problem: str  # MISSING, EXTRA or DIFFERS
    live: dict[str, Any] | None  # the differing columns (or the whole row), as live
    rebuilt: dict[str, Any] | None  # the same, as rebuilt


@dataclass
class Comparison:
    position: int  # the live views' tracking position: the rebuild went as far
    newest: int  # the log's newest position
    differences: list[Difference] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # table -> differing keys

    @property
    def same(self) -> bool:
        return not self.counts


def compare_projections(ledger: CareLedger, views: CaseViews) -> Comparison:
    recorded = views.recorded_policy()
    if recorded and recorded.get("views_schema") != schema.VERSION:
        raise LedgerError(
            "the projections were built by another version of careledger: run "
            "'careledger projections rebuild'; nothing compared"
        )
    if ledger.store.is_postgres:
        return _compare_postgres(ledger, views, recorded)
    return _compare_sqlite(ledger, views, recorded)


def _compare_sqlite(ledger: CareLedger, views: CaseViews, recorded: dict[str, str]) -> Comparison:
    with tempfile.TemporaryDirectory(prefix="careledger-verify-") as scratch:
        live, rebuilt = Path(scratch) / "live.db", Path(scratch) / "rebuilt.db"
        _copy(ledger.store.env["SQLITE_DBNAME"], live)
        _copy(str(live), rebuilt)
        with closing(sqlite3.connect(live)) as connection:
            run = _sqlite_run(connection)
            position = _position(run, "tracking", "?", ledger.name)
            newest = run("SELECT max(rowid) FROM stored_events", ())[0][0]
        key = ledger.store.env.get("CIPHER_KEY")  # the copy is encrypted as the ledger is
        _rebuild(CareLedger(store_for(str(rebuilt), cipher_key=key)), recorded, position, views)
        with closing(sqlite3.connect(live)) as connection:
            connection.execute("ATTACH DATABASE ? AS rebuilt", (str(rebuilt),))
            found = Comparison(position, newest or 0)
            return _compare(_sqlite_run(connection), "main.", "rebuilt.", views, found)


def _sqlite_run(connection: sqlite3.Connection) -> Run:
    def run(statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return connection.execute(statement, params).fetchall()

    return run


def _copy(source: str, target: Path) -> None:
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


def _rebuild(ledger: CareLedger, recorded: dict[str, str], position: int, like: CaseViews) -> None:
    """The scratch copy's projections, rebuilt under the recorded policy up to `position`."""
    try:
        views = open_views(ledger)
        try:
            views.adopt_policy(recorded or like.policy())
            projector = Projector(ledger, views)
            views.reset(ledger.name)
            projector.catch_up(stop=position)
        finally:
            views.datastore.close()
    finally:
        ledger.close()


def _position(run: Run, tracking: str, marker: str, name: str) -> int:
    """The views' tracking position, as the live tables have it."""
    rows = run(f"SELECT notification_id FROM {tracking} WHERE application_name = {marker}", (name,))
    return int(rows[0][0]) if rows else 0


def _compare_postgres(ledger: CareLedger, views: CaseViews, recorded: dict[str, str]) -> Comparison:
    scratch = f"careledger_verify_{uuid.uuid4().hex[:12]}"
    live_schema = ledger.store.env["POSTGRES_SCHEMA"]
    try:
        with views.datastore.transaction(commit=True) as cursor:
            cursor.execute(SQL("CREATE SCHEMA {0}").format(Identifier(scratch)))
    except ProgrammingError as error:
        raise LedgerError(
            f"--projections: cannot make the scratch schema to rebuild in ({error}): run it "
            "as a role that may create schemas in the database, such as the owner"
        ) from None
    try:
        return _compare_with_scratch(ledger, views, recorded, scratch, live_schema)
    finally:
        with views.datastore.transaction(commit=True) as cursor:
            cursor.execute(SQL("DROP SCHEMA {0} CASCADE").format(Identifier(scratch)))


def _compare_with_scratch(
    ledger: CareLedger, views: CaseViews, recorded: dict[str, str], scratch: str, live: str
) -> Comparison:
    rebuilt = open_views(ledger, scratch_schema=scratch)
    try:
        rebuilt.adopt_policy(recorded or views.policy())
        projector = Projector(ledger, rebuilt)
        for _ in range(ATTEMPTS):
            position = views.max_tracking_id(ledger.name) or 0
            if projector.position() > position:
                rebuilt.reset(ledger.name)
            projector.catch_up(stop=position)
            with _repeatable_read(views) as run:
                if _position(run, views.tracking_table, "%s", ledger.name) != position:
                    continue
                events = ledger.store_recorder.events_table_name
                newest = run(f'SELECT max(notification_id) FROM "{live}"."{events}"', ())
                found = Comparison(position, int(newest[0][0] or 0))
                return _compare(run, f'"{live}".', f'"{scratch}".', views, found)
    finally:
        rebuilt.datastore.close()
    raise LedgerError(
        "the projections moved on during each comparison: run 'careledger verify "
        "--projections' again when fewer events are being recorded"
    )


@contextmanager
def _repeatable_read(views: CaseViews) -> Iterator[Run]:
    """Statements on one snapshot of the live tables."""
    with views.datastore.get_connection() as connection, connection.transaction():
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

        def run(statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            with connection.cursor(row_factory=tuple_row) as cursor:
                cursor.execute(statement.encode(), params)
                rows: list[tuple[Any, ...]] = cursor.fetchall()
                return rows

        yield run


def _compare(run: Run, live: str, rebuilt: str, views: CaseViews, found: Comparison) -> Comparison:
    for table in COMPARED:
        columns = list(schema.COLUMNS[table])
        compared = columns
        if table == "cl_events" and views.cipher is not None:
            compared = [c for c in columns if c != "payload"]
        key = [columns[i] for i in schema.KEY_POSITIONS[table]]
        listed = ", ".join(compared)
        only_live = run(
            f"SELECT {listed} FROM {live}{table} EXCEPT SELECT {listed} FROM {rebuilt}{table}", ()
        )
        only_rebuilt = run(
            f"SELECT {listed} FROM {rebuilt}{table} EXCEPT SELECT {listed} FROM {live}{table}", ()
        )
        differences = _differences(table, compared, key, only_live, only_rebuilt)
        if table == "cl_events" and views.cipher is not None:
            differences += _payload_differences(run, live, rebuilt, views)
        if differences:
            found.counts[table] = len(differences)
            found.differences += differences[:SHOWN]
    return found


def _differences(
    table: str,
    columns: list[str],
    key: list[str],
    only_live: list[tuple[Any, ...]],
    only_rebuilt: list[tuple[Any, ...]],
) -> list[Difference]:
    positions = [columns.index(name) for name in key]
    live = {tuple(row[i] for i in positions): row for row in only_live}
    rebuilt = {tuple(row[i] for i in positions): row for row in only_rebuilt}
    found = []
    for row_key in sorted(live.keys() | rebuilt.keys(), key=repr):
        named = dict(zip(key, row_key, strict=True))
        here, there = live.get(row_key), rebuilt.get(row_key)
        if here is None:
            missing = Difference(table, named, MISSING, None, _row(columns, there))
            found.append(missing)
        elif there is None:
            found.append(Difference(table, named, EXTRA, _row(columns, here), None))
        else:
            changed = [i for i, (a, b) in enumerate(zip(here, there, strict=True)) if a != b]
            found.append(
                Difference(
                    table,
                    named,
                    DIFFERS,
                    {columns[i]: here[i] for i in changed},
                    {columns[i]: there[i] for i in changed},
                )
            )
    return found


def _row(columns: list[str], row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    return None if row is None else dict(zip(columns, row, strict=True))


def _payload_differences(run: Run, live: str, rebuilt: str, views: CaseViews) -> list[Difference]:
    """Encrypted payloads, compared decrypted, for the events both tables hold."""
    rows = run(
        f"SELECT l.case_id, l.seq, l.payload, r.payload FROM {live}cl_events l "
        f"JOIN {rebuilt}cl_events r ON r.case_id = l.case_id AND r.seq = l.seq "
        "ORDER BY l.case_id, l.seq",
        (),
    )
    found = []
    for case_id, seq, here, there in rows:
        opened_here, opened_there = views.open_payload(here), views.open_payload(there)
        if opened_here != opened_there:
            found.append(
                Difference(
                    "cl_events",
                    {"case_id": case_id, "seq": seq},
                    DIFFERS,
                    {"payload": opened_here},
                    {"payload": opened_there},
                )
            )
    return found
