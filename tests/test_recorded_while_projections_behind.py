"""Once events are committed they are recorded, whatever happens to the projections after.

`careledger record` and `import-903` commit the events, then bring the projections up to
date. When that second step fails (here for real: a trigger in the store refuses every row
written to the projection table `cl_events`, as a failing disk or a crashed server would),
the command still reports the events recorded, exit status 0, and warns on stderr that the
projections are behind. A user told "failed" would record again, and every event without an
id of its own would be recorded twice.

A read command whose catch-up fails shows nothing and says why (exit status 1): the views
may lack the newest events. Once the obstacle is gone, the next command catches up, and
each event is in the views exactly once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg
from click.testing import Result

from tests.returns903 import COUNCIL as RETURN_COUNCIL
from tests.returns903 import YEAR, episode, header, review, write_return
from tests.test_cli_end_to_end import (
    COUNCIL,
    as_json,
    ev,
    history,
    init,
    invoke,
    ok,
    record,
    status,
)

SW = {"name": "Nadia Hussain", "role": "SW"}
REFUSAL = "projection write refused by the test"


@contextmanager
def projection_writes_refused(db: str) -> Iterator[None]:
    """Every row written to the projection table cl_events refused by a trigger in the
    store itself, until the block ends and the trigger is dropped."""
    if not db.startswith("postgresql://"):
        create = (
            "CREATE TRIGGER refuse_views BEFORE INSERT ON cl_events "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )
        _sqlite(db, create)
        try:
            yield
        finally:
            _sqlite(db, "DROP TRIGGER refuse_views")
        return
    parts = urlsplit(db)
    schema = parse_qs(parts.query)["schema"][0]
    server = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            f'CREATE FUNCTION "{schema}".refuse_views() RETURNS trigger LANGUAGE plpgsql '
            f"AS $$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        admin.execute(
            f'CREATE TRIGGER refuse_views BEFORE INSERT ON "{schema}".cl_events '
            f'FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse_views()'
        )
        try:
            yield
        finally:
            admin.execute(f'DROP TRIGGER refuse_views ON "{schema}".cl_events')
            admin.execute(f'DROP FUNCTION "{schema}".refuse_views()')


def _sqlite(path: str, statement: str) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def assert_one_line(result: Result, starts: str) -> None:
    """A clear message, not a traceback: exit status 1 and the one line."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stderr.startswith(starts), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_events_committed_are_reported_recorded_when_the_projections_cannot_follow(
    db: str, tmp_path: Path
) -> None:
    init(db)
    ok(record(db, tmp_path, [ev("NR-0201", "ChildBecameLookedAfter", "2024-03-04",
                                legal_status="C2", placement="U4")]))  # fmt: skip
    allocations = [
        ev("NR-0201", "SocialWorkerAllocated", "2024-03-05", worker_id="SW-31"),
        ev("NR-0201", "IROAllocated", "2024-03-06", iro_id="IRO-7", iro_name="Dana Whitlock",
           reason="first allocation"),
    ]  # fmt: skip

    with projection_writes_refused(db):
        recorded = record(db, tmp_path, allocations)

        assert recorded.exit_code == 0, recorded.output
        assert recorded.stdout.strip() == "recorded 2 event(s)"
        assert recorded.stderr.startswith("warning: the projections are behind the ledger (")
        assert REFUSAL in recorded.stderr
        assert "the next command that reads them catches them up" in recorded.stderr
        assert recorded.stderr.count("\n") == 1
        assert status(db)["lag"] == 2

        assert_one_line(
            invoke("history", "--db", db, f"{COUNCIL}:NR-0201"),
            "error: the projections could not catch up with the ledger (",
        )

    rows = history(db, "NR-0201")  # the obstacle gone, this read catches up first
    assert [row["type"] for row in rows] == [
        "CaseOpened",
        "ChildBecameLookedAfter",
        "SocialWorkerAllocated",
        "IROAllocated",
    ]
    assert status(db)["lag"] == 0


def test_a_return_imported_is_reported_recorded_when_the_projections_cannot_follow(
    db: str, tmp_path: Path
) -> None:
    init(db)
    directory = write_return(
        tmp_path / "return",
        [header("R-11"), header("R-12")],
        [episode("R-11", "01/05/2019", "S"), episode("R-12", "03/06/2019", "S")],
        [review("R-11", "20/06/2019", "PN1")],
    )
    common = ["import-903", directory, "--db", db, "--council", RETURN_COUNCIL, "--year", YEAR]

    with projection_writes_refused(db):
        imported = invoke(*common)

        assert imported.exit_code == 0, imported.output
        assert "2 children, 5 event(s) recorded" in imported.stdout
        assert imported.stderr.startswith("warning: the projections are behind the ledger (")

    again = ok(invoke(*common))  # the ledger has them all: nothing is recorded twice
    assert "0 event(s) recorded" in again.stdout
    assert "5 already in the ledger as given" in again.stdout
    events = as_json(invoke("history", "--db", db, f"{RETURN_COUNCIL}:R-11", "--format", "json"))
    assert [row["type"] for row in events] == [
        "CaseOpened",
        "ChildBecameLookedAfter",
        "ReviewHeld",
        "ChildDetailsRecorded",
    ]
