"""Reads served by a PostgreSQL streaming replica.

A hot standby of the local server is made for the test (`pg_basebackup` into a temporary
directory, started on a free port) and removed after it, whatever happens. A council's
system records Megan's history (the demo's staying-put case) to the primary; the projector
follows the primary; an IRO's reads go to the replica (CARELEDGER_READ_DB). Before the
projector has run, the replica answers from the projections as they stand and says how far
behind they are, without trying to write; once it has replayed the projector's work, the
plan read there is the primary's. The replica itself refuses every write.

The server must accept a replication connection from 127.0.0.1 for its user: `.ci/run`
allows one in pg_hba.conf. A missing binary or a refused connection fails the test.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from eventsourcing.postgres import PostgresApplicationRecorder

from careledger.api import opened
from careledger.cli.drift_output import as_json
from careledger.ledger.errors import LedgerError, StoreFailure
from tests.conftest import postgres_url
from tests.test_api import MEGAN, megans_history
from tests.test_projector import projector, running, until
from tests.test_reading import INSPECTION_DAY, NEW_CHILD, invoke

# What a hot standby must have at least as much of as its primary, or it will not start.
MATCHED = (
    "max_connections", "max_worker_processes", "max_wal_senders",
    "max_prepared_transactions", "max_locks_per_transaction",
)  # fmt: skip


def as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL's server refuses to run as root: as root, run it as `postgres`."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def run(command: list[str], what: str, timeout: float = 300) -> None:
    done = subprocess.run(as_server_user(command), capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({done.returncode}): {done.stderr.strip()}", pytrace=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_binaries(admin: psycopg.Connection) -> Path:
    row = admin.execute("SHOW server_version_num").fetchone()
    assert row is not None
    binaries = Path(f"/usr/lib/postgresql/{int(row[0]) // 10000}/bin")
    for tool in ("pg_basebackup", "pg_ctl", "postgres"):
        if not (binaries / tool).exists():
            pytest.fail(f"{binaries / tool} is missing: the replica test needs the server's "
                        "binaries of the primary's version", pytrace=False)  # fmt: skip
    return binaries


def standby_settings(admin: psycopg.Connection, port: int, directory: Path) -> str:
    matched = []
    for name in MATCHED:
        row = admin.execute(f"SHOW {name}").fetchone()
        assert row is not None
        matched.append(f"{name} = {row[0]}")
    return "\n".join([
        f"port = {port}", "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{directory}'", "hot_standby = on",
        "shared_buffers = '32MB'", "fsync = off", *matched, "",
    ])  # fmt: skip


@pytest.fixture(scope="module")
def replica(postgres_admin: psycopg.Connection) -> Iterator[str]:
    """The URL (without a schema) of a hot standby of the test server, streaming from it."""
    binaries = server_binaries(postgres_admin)
    primary = urlsplit(postgres_url())
    directory = Path(tempfile.mkdtemp(prefix="careledger-replica-"))
    data = directory / "data"
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    port = free_port()
    try:
        run([str(binaries / "pg_basebackup"), "-h", primary.hostname or "127.0.0.1",
             "-p", str(primary.port or 5432), "-U", primary.username or "postgres",
             "-D", str(data), "-X", "stream", "-R", "--checkpoint=fast", "--no-password"],
            "pg_basebackup (a replication connection: see .ci/run)")  # fmt: skip
        files = {
            "postgresql.conf": standby_settings(postgres_admin, port, directory),
            "pg_hba.conf": "local all all trust\nhost all all 127.0.0.1/32 trust\n",
            "pg_ident.conf": "",
        }
        for name, text in files.items():
            (data / name).write_text(text)
            if os.geteuid() == 0:
                shutil.chown(data / name, "postgres", "postgres")
        run([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"),
             "-w", "-t", "120", "start"], "starting the replica")  # fmt: skip
        yield f"postgresql://postgres@127.0.0.1:{port}{primary.path}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m",
                                           "immediate", "-w", "stop"]),
                           capture_output=True, timeout=120)  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)


def newest_on(db: str) -> int:
    """The newest event the replica holds (0 before it has replayed the ledger's tables)."""
    try:
        with opened(db, reading=True) as ledger:
            return ledger.lag().newest
    except LedgerError:  # its tables not replayed yet, or the schema not even there
        return 0


def test_an_iro_reads_the_plan_on_a_streaming_replica_once_it_has_caught_up(
    postgres_db: str, replica: str
) -> None:
    schema = parse_qs(urlsplit(postgres_db).query)["schema"][0]
    on_replica = f"{replica}?schema={schema}"
    with opened(postgres_db, create_tables=True, catch_up=False) as ledger:
        ledger.record(megans_history(), actor="lcs-feed", role="SW")
        newest = ledger.lag().newest
    until(lambda: newest_on(on_replica) == newest)
    reads = {"CARELEDGER_DB": postgres_db, "CARELEDGER_READ_DB": on_replica}

    behind = invoke("unapproved", "--format", "json", **reads)
    assert behind.exit_code == 0, behind.stderr  # it did not try to catch up there
    assert json.loads(behind.stdout)["data"] == []
    assert behind.stderr.startswith(f"note: the projections are {newest} event(s) behind")

    follower = projector(postgres_db, "--follow")
    with running(follower):
        assert follower.next_line().startswith("following the ledger at ")

        def replica_caught_up() -> bool:
            with opened(on_replica, reading=True) as ledger:
                return ledger.lag().position == newest

        until(replica_caught_up)
        follower.stopped(signal.SIGTERM)

    plan = invoke("plan", MEGAN, "--format", "json", **reads)
    assert plan.exit_code == 0 and plan.stderr == "", plan.stderr
    assert {row["section"] for row in json.loads(plan.stdout)["data"]} >= {"placement", "pathway"}
    with opened(postgres_db, reading=True) as primary, opened(on_replica, reading=True) as copy:
        assert copy.plan(MEGAN) == primary.plan(MEGAN)
        assert copy.unapproved() == primary.unapproved()
        assert as_json(copy.drift(INSPECTION_DAY)) == as_json(primary.drift(INSPECTION_DAY))
        lag = copy.lag()
        assert lag.events == 0 and lag.replayed_to is not None
        assert primary.lag().replayed_to is None  # the primary replays nothing


def test_the_replica_refuses_writes(postgres_db: str, replica: str) -> None:
    schema = parse_qs(urlsplit(postgres_db).query)["schema"][0]
    on_replica = f"{replica}?schema={schema}"
    with opened(postgres_db, create_tables=True) as ledger:
        newest = ledger.record(megans_history(), actor="lcs-feed", role="SW") + 1
    until(lambda: newest_on(on_replica) == newest)
    not_for_reading = opened(on_replica)  # not even opened for reading
    with pytest.raises(StoreFailure, match="during recovery"), not_for_reading as ledger:
        ledger.record([NEW_CHILD], actor="lcs-feed", role="SW")
    refused = invoke("record", "--type", "ChildBecameLookedAfter", "--council", "E10000099",
                     "--child", "NR-0190", "--set", "occurred_on=2025-01-06",
                     "--set", "source=LCS/EPI/190", "--set", "legal_status=C2",
                     "--set", "placement=U4", "--actor", "lcs-feed", "--role", "SW",
                     CARELEDGER_DB=on_replica)  # fmt: skip
    assert refused.exit_code == 1 and "during recovery" in refused.stderr, refused.stderr
    assert newest_on(postgres_db) == newest  # nothing recorded anywhere


def test_the_refusal_is_the_replicas_however_soon_it_comes_back(
    postgres_db: str, replica: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save's statements go to the server in one pipeline. Here the replica's refusal of the
    first (the library's LOCK TABLE) is back before the next is sent, as it may be on a busy
    machine: still the server's refusal is reported, not psycopg's "pipeline aborted"."""
    schema = parse_qs(urlsplit(postgres_db).query)["schema"][0]
    on_replica = f"{replica}?schema={schema}"
    with opened(postgres_db, create_tables=True) as ledger:
        newest = ledger.record(megans_history(), actor="lcs-feed", role="SW") + 1
    until(lambda: newest_on(on_replica) == newest)
    notify = PostgresApplicationRecorder._notify_channel

    def after_the_answer(recorder: PostgresApplicationRecorder, curs: psycopg.Cursor) -> None:
        readable, _, _ = select.select([curs.connection.fileno()], [], [], 30)
        assert readable, "the replica did not answer the LOCK TABLE"
        notify(recorder, curs)

    monkeypatch.setattr(PostgresApplicationRecorder, "_notify_channel", after_the_answer)
    with pytest.raises(StoreFailure, match="during recovery"), opened(on_replica) as ledger:
        ledger.record([NEW_CHILD], actor="lcs-feed", role="SW")
    assert newest_on(postgres_db) == newest
