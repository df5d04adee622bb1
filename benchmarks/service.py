"""`careledger serve` under load: 20 concurrent clients post 10,000 events and read plans.

    .venv/bin/python benchmarks/service.py [--clients 20] [--events 10000] [--workers 1]
                                           [--reads-every 10] [--projector]
                                           [--http-client stdlib|httpx]
                                           [--store postgres|sqlite]

On PostgreSQL (a schema of its own on CARELEDGER_TEST_POSTGRES or the local server, dropped
at the end; with --store sqlite, a temporary SQLite file: the embedded default) it starts a
real `careledger serve` (uvicorn) and:

1. has each client post its children's events one event per request, each with an
   Idempotency-Key, as a council's case-management system would (a request that fails in
   transport is sent again with the same key), and read the plan of one of its children as
   an IRO manager after every --reads-every posts;
2. counts, per child, the events the ledger itself holds (its events table, not the
   projections) against those posted: events lost or duplicated (both must be 0);
3. records the same events, one per call, with `CareLedger.record` called directly in
   another schema, before and after the service's run (the machine's load drifts; the
   service is compared with the mean of the two), for the throughput the service is
   compared with: recording alone, and recording with the projections caught up after.

By default each POST catches the projections up before it answers (CARELEDGER_CATCH_UP, the
single-server default). With `--projector` the service runs with CARELEDGER_CATCH_UP=false
beside one `careledger project --follow` process, as the README's deployment does: a POST only
records; the time the projector took to apply the last event after the last POST's answer is
printed.

The clients run as threads of this process, on the same machine as the server: with httpx
each request costs the client several times the CPU that the standard library's http.client
takes, CPU a shared machine's server then lacks (a council's case-management system runs on
machines of its own). The default is http.client; --http-client httpx runs the same requests
through httpx, and the clients' CPU per event is printed either way.

It prints p50 and p99 latency of a single-event POST and of a plan read, the service's
throughput as a ratio to the direct one, and the CPU time per event of the server's processes
against `CareLedger.record`'s (a figure a shared machine's load moves far less than the wall
clock's). Targets: p99 under 100 ms for a POST, ratio at
least 0.5. Exit status 1 when an event was lost or duplicated.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from careledger.api import opened  # noqa: E402
from careledger.ledger.domain import payloads as p  # noqa: E402
from careledger.ledger.domain.commands import parse_command  # noqa: E402
from careledger.ledger.domain.identity import uncached_case_id  # noqa: E402
from careledger.ledger.domain.vocabulary import Role  # noqa: E402
from tests.service_server import (  # noqa: E402
    add_person,
    as_person,
    issue_token,
    prepare,
    running,
    sign_in,
)

COUNCIL = "E10000099"
EVENTS_PER_CHILD = 20
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def events_of(child: str) -> list[dict[str, Any]]:
    """A child who came into care, then proposals to their plan: every event valid in order."""
    base = {"council": COUNCIL, "child": child}
    first = base | {
        "type": "ChildBecameLookedAfter", "occurred_on": "2025-01-06",
        "source": f"LCS/EPI/{child}", "legal_status": "C2", "placement": "U4",
    }  # fmt: skip
    return [first] + [
        base
        | {
            "type": "ChangeProposed",
            "occurred_on": "2025-02-03",
            "source": f"LCS/NOTE/{child}/{n}",
            "proposal_id": f"P-{n}",
            "section": "health",
            "content": f"Dental check-up booked ({n})",
            "significant": False,
            "proposed_by": {"name": "Omar Reece", "role": "SW"},
        }
        for n in range(1, EVENTS_PER_CHILD)
    ]


@contextmanager
def ledger_at(store: str) -> Iterator[str]:
    """A new, empty place for a ledger: a PostgreSQL schema of its own, or a SQLite file."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cl_bench_") as folder:
            yield str(Path(folder) / "ledger.db")
        return
    with schema() as url:
        yield url


@contextmanager
def schema() -> Iterator[str]:
    url = os.environ.get("CARELEDGER_TEST_POSTGRES", DEFAULT_POSTGRES)
    name = f"cl_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
        parts = urlsplit(url)
        try:
            yield urlunsplit((parts.scheme, parts.netloc, parts.path, f"schema={name}", ""))
        finally:
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')


class Client(threading.Thread):
    def __init__(
        self,
        url: str,
        token: str,
        reader: dict[str, str],
        children: list[str],
        reads_every: int,
        projector: bool,
        http_client: str,
    ) -> None:
        super().__init__()
        self.projector, self.http_client = projector, http_client
        self.url, self.children, self.reads_every = url, children, reads_every
        self.headers = {"Authorization": f"Bearer {token}"}
        self.reader = reader
        self.posts: list[float] = []
        self.reads: list[float] = []
        self.failures: list[str] = []
        self.retries = 0
        self.not_yet_projected = 0

    def run(self) -> None:
        with connection_to(self.url, self.http_client) as client:
            for child in self.children:
                for n, event in enumerate(events_of(child)):
                    self._post(client, event, f"{child}/{n}")
                    if len(self.posts) % self.reads_every == 0:
                        self._read(client, child)

    def _post(self, client: HTTPClient, event: dict[str, Any], key: str) -> None:
        body = json.dumps(event).encode()
        headers = self.headers | {"Idempotency-Key": key, "Content-Type": "application/json"}
        for _attempt in range(5):
            started = time.perf_counter()
            try:
                status, text = client.request("POST", "/events", body, headers)
            except (httpx.TransportError, OSError, http.client.HTTPException):
                self.retries += 1
                continue
            self.posts.append(time.perf_counter() - started)
            if status != 201:
                self.failures.append(f"{status} {text[:200]}")
            return
        self.failures.append(f"gave up on {key}")

    def _read(self, client: HTTPClient, child: str) -> None:
        started = time.perf_counter()
        status, text = client.request(
            "GET", f"/children/{COUNCIL}:{child}/plan", None, self.reader
        )
        self.reads.append(time.perf_counter() - started)
        if status == 404 and self.projector:
            self.not_yet_projected += 1  # a child just posted, the projector not yet at it
        elif status != 200:
            self.failures.append(f"read {status} {text[:200]}")


class HTTPClient(Protocol):
    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str]: ...


class HttpxClient:
    """A client over httpx (connection kept alive), as a Python integration might be written."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=60)

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str]:
        answer = self.client.request(method, path, content=body, headers=headers)
        return answer.status_code, answer.text

    def close(self) -> None:
        self.client.close()


class StdlibClient:
    """The same requests over the standard library's `http.client` (one kept-alive connection,
    reopened after a transport failure): HTTP/1.1 as the server sees it from any client, at a
    fraction of httpx's CPU, so that on a machine shared by clients and server the clients
    take less of the CPU the server's figures are about."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str]:
        try:
            self.connection.request(method, path, body=body, headers=headers)
            answer = self.connection.getresponse()
            return answer.status, answer.read().decode()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            raise

    def close(self) -> None:
        self.connection.close()


@contextmanager
def connection_to(url: str, kind: str) -> Iterator[HTTPClient]:
    client = StdlibClient(url) if kind == "stdlib" else HttpxClient(url)
    try:
        yield client
    finally:
        client.close()


def through_the_service(
    db: str,
    clients: int,
    events: int,
    workers: int,
    reads_every: int,
    projector: bool,
    http_client: str,
) -> dict[str, Any]:
    prepare(db)
    token = issue_token(db, "LCS", COUNCIL, timedelta(hours=2))
    add_person(db, "mgr.ruth", "IRO_MANAGER", [COUNCIL])
    children = [f"BS-{n:05d}" for n in range(events // EVENTS_PER_CHILD)]
    settings = {"CARELEDGER_SIGN_IN_ATTEMPTS_PER_MINUTE": "1000"}
    if projector:
        settings["CARELEDGER_CATCH_UP"] = "false"
    with (
        tempfile.TemporaryDirectory() as logs,
        following(db, Path(logs), projector) as follower,
        running(db, Path(logs), workers=workers, **settings) as service,
    ):
        reader = as_person(sign_in(service, "mgr.ruth"))
        threads = [
            Client(
                service.url,
                token,
                reader,
                children[n::clients],
                reads_every,
                projector,
                http_client,
            )
            for n in range(clients)
        ]
        cpu_before = cpu_seconds(service.process.pid)
        clients_cpu = time.process_time()
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(service.process.pid) - cpu_before
        clients_cpu = time.process_time() - clients_cpu
        projected_after = caught_up_after(db, follower) if follower else 0.0
        tracebacks = service.log_text().count("Traceback")
    held = held_per_child(db, children)
    expected = EVENTS_PER_CHILD + 1  # the case opened, then the child's events
    return {
        "elapsed": elapsed,
        "projected_after": projected_after,
        "server_cpu": server_cpu,
        "clients_cpu": clients_cpu,
        "posts": [s for t in threads for s in t.posts],
        "reads": [s for t in threads for s in t.reads],
        "failures": [f for t in threads for f in t.failures],
        "retries": sum(t.retries for t in threads),
        "not_yet_projected": sum(t.not_yet_projected for t in threads),
        "lost": sum(max(0, expected - held.get(c, 0)) for c in children),
        "duplicated": sum(max(0, held.get(c, 0) - expected) for c in children),
        "tracebacks": tracebacks,
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) used so far by a process and the processes it started
    (uvicorn's workers), from /proc: the work a POST costs the server, whatever else the
    machine's CPUs are doing, which a shared machine's wall-clock figures are not."""
    tree, found = {pid}, True
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    while found:
        found = False
        for child, (parent, _) in stats.items():
            if parent in tree and child not in tree:
                tree.add(child)
                found = True
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(stats[p][1] for p in tree if p in stats) / ticks


@contextmanager
def following(db: str, logs: Path, projector: bool) -> Iterator[subprocess.Popen[bytes] | None]:
    """`careledger project --follow` on the ledger while the block runs (if `projector`)."""
    if not projector:
        yield None
        return
    command = [str(Path(sys.executable).parent / "careledger"), "project", "--follow"]
    command += ["--db", db, "--interval", "1"]
    log = logs / "project.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)


def caught_up_after(db: str, projector: subprocess.Popen[bytes]) -> float:
    """Seconds until the projector has applied every event recorded so far."""
    started = time.perf_counter()
    with opened(db, catch_up=False) as ledger:
        while ledger.lag().events:
            if projector.poll() is not None:
                raise RuntimeError(f"the projector stopped (exit status {projector.returncode})")
            time.sleep(0.05)
    return time.perf_counter() - started


def held_per_child(db: str, children: list[str]) -> dict[str, int]:
    """How many events the ledger's own store holds of each child: read from the events
    table, so that the count does not depend on the projections being current."""
    with opened(db, catch_up=False) as ledger:
        events = ledger.ledger.repository.event_store
        return {
            child: len(list(events.get(uncached_case_id(COUNCIL, child)))) for child in children
        }


def directly(db: str, events: int) -> tuple[float, float, float]:
    """Events per second through `CareLedger.record`, one event per call, as one writer:
    recording alone, and recording with the projections caught up at the end; and the CPU
    time recording alone took, per event."""
    prepare(db)
    children = [f"BS-{n:05d}" for n in range(events // EVENTS_PER_CHILD)]
    actor = p.Actor(actor_id="LCS", role=Role.ADMIN)
    with opened(db) as ledger:
        commands = [parse_command(e) for child in children for e in events_of(child)]
        started, cpu = time.perf_counter(), time.process_time()
        for command in commands:
            ledger.ledger.record([command], actor)
        recorded, cpu = time.perf_counter() - started, time.process_time() - cpu
        ledger.catch_up()
        caught_up = time.perf_counter() - started
        return len(commands) / recorded, len(commands) / caught_up, cpu / len(commands)


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--store",
        choices=("postgres", "sqlite"),
        default="postgres",
        help="where the ledger is kept: PostgreSQL (the targets' store) or a SQLite file "
        "(the embedded default)",
    )
    parser.add_argument("--reads-every", type=int, default=10)
    parser.add_argument(
        "--projector",
        action="store_true",
        help="CARELEDGER_CATCH_UP=false beside a `careledger project --follow` process",
    )
    parser.add_argument(
        "--http-client",
        choices=("stdlib", "httpx"),
        default="stdlib",
        help="the clients' HTTP library: the standard library's http.client (default; the "
        "least CPU taken from the server on a shared machine) or httpx",
    )
    args = parser.parse_args()
    load = os.getloadavg()
    with ledger_at(args.store) as direct_db:
        before = directly(direct_db, args.events)
    with ledger_at(args.store) as served:
        result = through_the_service(
            served,
            args.clients,
            args.events,
            args.workers,
            args.reads_every,
            args.projector,
            args.http_client,
        )
    with ledger_at(args.store) as direct_db:
        after = directly(direct_db, args.events)
    direct_recorded = (before[0] + after[0]) / 2
    direct_caught_up = (before[1] + after[1]) / 2
    posted = len(result["posts"])
    served_rate = posted / result["elapsed"]
    mode = "a projector process follows" if args.projector else "each POST catches up"
    store = "SQLite" if args.store == "sqlite" else "PostgreSQL"
    print(f"service: {args.clients} clients ({args.http_client}), {args.workers} worker(s), "
          f"{store}, {mode}")  # fmt: skip
    print(f"load average at the start {load[0]:.1f}, at the end {os.getloadavg()[0]:.1f}")
    print(f"events posted: {posted} in {result['elapsed']:.1f} s ({served_rate:.0f}/s); "
          f"transport retries {result['retries']}; refused {len(result['failures'])}")  # fmt: skip
    if args.projector:
        print(f"projections current {result['projected_after']:.1f} s after the last answer")
    print(f"events lost: {result['lost']}  duplicated: {result['duplicated']}")
    print(f"POST one event: p50 {percentile(result['posts'], 0.5):.1f} ms, "
          f"p99 {percentile(result['posts'], 0.99):.1f} ms")  # fmt: skip
    if result["not_yet_projected"]:
        print(f"plan reads of a child the projector had not yet applied (404 with a lag): "
              f"{result['not_yet_projected']}")  # fmt: skip
    print(f"plan read ({len(result['reads'])}): p50 {percentile(result['reads'], 0.5):.1f} ms, "
          f"p99 {percentile(result['reads'], 0.99):.1f} ms")  # fmt: skip
    print(f"CareLedger.record directly (before / after the service): recording "
          f"{before[0]:.0f} / {after[0]:.0f} events/s, with the catch-up at the end "
          f"{before[1]:.0f} / {after[1]:.0f} events/s")  # fmt: skip
    print(f"service/direct ratio: {served_rate / direct_caught_up:.2f} against recording and "
          f"catching up, {served_rate / direct_recorded:.2f} against recording alone")  # fmt: skip
    server_cpu = result["server_cpu"] / max(posted, 1) * 1000
    direct_cpu = (before[2] + after[2]) / 2 * 1000
    print(f"CPU time per event: the server's {server_cpu:.2f} ms (its workers; not the "
          f"database's, nor the projector's), CareLedger.record's {direct_cpu:.2f} ms; "
          f"ratio {direct_cpu / server_cpu:.2f}")  # fmt: skip
    clients_cpu = result["clients_cpu"] / max(posted, 1) * 1000
    print(f"CPU time per event of the {args.clients} clients ({args.http_client}), on the same "
          f"machine: {clients_cpu:.2f} ms (posts and plan reads)")  # fmt: skip
    print(f"tracebacks in the server log: {result['tracebacks']}")
    for failure in result["failures"][:5]:
        print(f"  refused: {failure}")
    if result["lost"] or result["duplicated"] or result["failures"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
