"""`careledger serve` as a deployment runs it on PostgreSQL: its workers connect as
PREFIX_writer (`careledger init --roles`), read as PREFIX_reader at the read URL, and leave
the projections to PREFIX_projector. The writer may start and end sessions, keep idempotency
keys, record and append to the access log, and nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest

from careledger.api import opened
from tests.envelope import data_of
from tests.service_server import add_person, as_person, issue_token, running, sign_in
from tests.test_postgres_roles import Roles, refused, roles  # noqa: F401 (a fixture)
from tests.test_service_recording import COUNCIL, came_into_care, plan_agreed

CHILD = f"{COUNCIL}:WR-01"


def test_the_service_runs_as_the_writer_and_reads_as_the_reader(
    roles: Roles, tmp_path: Path  # noqa: F811 (the fixture)
) -> None:
    add_person(roles.url, "mgr.ruth", "IRO_MANAGER", [COUNCIL])
    lcs = {"Authorization": f"Bearer {issue_token(roles.url, 'LCS', COUNCIL)}"}
    batch = [came_into_care("WR-01"), plan_agreed("WR-01")]
    read_url = {"CARELEDGER_READ_DB": roles.url_of("reader")}
    with running(roles.url_of("writer"), tmp_path, **read_url) as service:
        with service.client(**lcs, **{"Idempotency-Key": "lcs-batch-1"}) as system:
            first, again = system.post("/events", json=batch), system.post("/events", json=batch)
        with opened(roles.url_of("projector")) as projector:
            projector.catch_up()  # as `careledger project --follow`, run as the projector
        manager = sign_in(service, "mgr.ruth")
        with service.client(**as_person(manager)) as client:
            plan = client.get(f"/children/{CHILD}/plan")
            signed_out = client.post("/sign-out")
    assert first.status_code == 201, first.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert plan.status_code == 200, plan.text
    assert plan.headers["X-Careledger-Lag"] == "0"
    assert [row["content"] for row in data_of(plan.text)] == ["Foster placement with Ms Varga (U4)"]
    assert signed_out.status_code < 400, signed_out.text
    writer = roles.connect("writer")
    try:
        logged = writer.execute(
            "SELECT count(*) FROM access_log WHERE actor = 'mgr.ruth' AND view = 'plan'"
        ).fetchone()
        assert logged == (1,)
        assert writer.execute("SELECT count(*) FROM careledger_sessions").fetchone() == (0,)
        assert refused(writer, "DROP TABLE careledger_sessions").startswith("must be owner")
    finally:
        writer.close()


@pytest.mark.parametrize("table", ["careledger_sessions", "careledger_idempotency"])
def test_the_reader_may_not_write_the_service_tables(
    roles: Roles, table: str  # noqa: F811 (the fixture)
) -> None:
    reader = roles.connect("reader")
    try:
        assert refused(reader, f"DELETE FROM {table}").startswith("permission denied for table")
    finally:
        reader.close()
