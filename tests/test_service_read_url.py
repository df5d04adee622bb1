"""The service reads where CARELEDGER_READ_DB says, on connections that refuse every write,
and never catches the projections up itself: a deployment runs one projector (`careledger
project --follow`). The access log, sessions and recording stay on the ledger's own store.
The read URL here is the same PostgreSQL database opened for reading (every transaction
read-only, as on a streaming replica): were any write of a read sent there, the read would
fail."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from careledger.api import opened
from tests.envelope import data_of
from tests.service_server import add_person, as_person, issue_token, prepare, running, sign_in
from tests.test_service_recording import COUNCIL, came_into_care, plan_agreed

CHILD = f"{COUNCIL}:RU-01"


def read_url_of(db: str) -> str:
    """The same database under another URL (the user left to its default), so that the
    service opens it apart, for reading only."""
    parts = urlsplit(db)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def logged_reads(db: str, actor: str) -> list[tuple[str, str, str]]:
    with opened(db) as ledger:
        rows = ledger.access.store.fetch(
            "SELECT child, view, outcome FROM {s}access_log WHERE actor = ?", [actor]
        )
    return [(str(r["child"]), str(r["view"]), str(r["outcome"])) for r in rows]


def test_reads_at_a_read_only_url_serve_the_plan_and_log_on_the_ledger(
    postgres_db: str, tmp_path: Path
) -> None:
    prepare(postgres_db)
    with opened(postgres_db) as ledger:
        ledger.record([came_into_care("RU-01")], "LCS", "ADMIN")
    add_person(postgres_db, "mgr.ruth", "IRO_MANAGER", [COUNCIL])
    lcs = {"Authorization": f"Bearer {issue_token(postgres_db, 'LCS', COUNCIL)}"}
    settings = {"CARELEDGER_READ_DB": read_url_of(postgres_db), "CARELEDGER_CATCH_UP": "false"}
    with running(postgres_db, tmp_path, **settings) as service:
        manager = sign_in(service, "mgr.ruth")
        with service.client(**lcs) as system:
            assert system.post("/events", json=plan_agreed("RU-01")).status_code == 201
        with service.client(**as_person(manager)) as client:
            behind = client.get(f"/children/{CHILD}/plan")
            health_behind = client.get("/health").json()
            with opened(postgres_db, catch_up=True) as projector:
                projector.catch_up()  # as `careledger project --follow` would
            current = client.get(f"/children/{CHILD}/plan")
            health_current = client.get("/health").json()
    assert behind.status_code == 200, behind.text
    assert data_of(behind.text) == []  # the read did not catch up: the plan is not applied
    assert behind.headers["X-Careledger-Lag"] == "1"
    assert health_behind["projections"]["events"] == 1
    assert current.status_code == 200, current.text
    assert current.headers["X-Careledger-Lag"] == "0"
    assert [row["content"] for row in data_of(current.text)] == [
        "Foster placement with Ms Varga (U4)"
    ]
    assert health_current["projections"]["events"] == 0
    assert logged_reads(postgres_db, "mgr.ruth").count((CHILD, "plan", "allowed")) == 2


def test_a_sqlite_worker_reads_on_connections_of_its_own_and_sees_events_recorded_elsewhere(
    sqlite_db: str, tmp_path: Path
) -> None:
    """Each worker opens the file twice (for recording, and for reading, on connections that
    refuse every write); events recorded by another process, one after the other, are each
    read at once, and each read is logged on the ledger."""
    prepare(sqlite_db)
    add_person(sqlite_db, "mgr.ruth", "IRO_MANAGER", [COUNCIL])
    children = ("RU-11", "RU-12", "RU-13")
    with running(sqlite_db, tmp_path) as service:
        manager = sign_in(service, "mgr.ruth")
        with service.client(**as_person(manager)) as client:
            for child in children:
                with opened(sqlite_db) as elsewhere:  # another process than the worker's
                    elsewhere.record([came_into_care(child), plan_agreed(child)], "LCS", "ADMIN")
                plan = client.get(f"/children/{COUNCIL}:{child}/plan")
                assert plan.status_code == 200, plan.text
                assert plan.headers["X-Careledger-Lag"] == "0"
                assert [row["content"] for row in data_of(plan.text)] == [
                    "Foster placement with Ms Varga (U4)"
                ]
    logged = logged_reads(sqlite_db, "mgr.ruth")
    assert logged == [(f"{COUNCIL}:{child}", "plan", "allowed") for child in children]
