"""The IRO's inbox: the lag from recording a change to its entry in the IRO's inbox.

    .venv/bin/python benchmarks/inbox.py [--rate 50] [--seconds 60] [--children 50]
                                         [--iros 5] [--catch-up]

On PostgreSQL (a schema of its own on CARELEDGER_TEST_POSTGRES or the local server, dropped
at the end) it records `--children` children in care, each allocated to one of `--iros` IROs,
then starts a real `careledger serve` and:

- by default, as a council deploys it: `careledger project --follow` keeps the projections
  current, in a process of its own, and the service runs with CARELEDGER_CATCH_UP=false;
- with `--catch-up`: no projector, and the request that records catches the projections up
  before it answers (CARELEDGER_CATCH_UP=true, the single-server default).

A council's system then posts significant changes to the children's plans through the API
(`POST /events`, a system token), `--rate` a second for `--seconds`, from four threads (each
with its own children, so no two requests race on one child's case). Meanwhile a reader,
opened for reading as a replica's reader would be, asks the inbox of each IRO with a change
not yet seen (`Opened.inbox`, what `GET /iro/inbox` and the inbox page answer from, asked for
the children whose changes are awaited) until the entry is there. It prints the lag from
sending each POST, and from its 201 answer, to the entry's first sighting: p50, p99 and the
largest, and p99 as a ratio to the target of 1 s. The poller's own round trip is in the
figures (it looks every 5 ms when nothing is pending).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.service import percentile, schema  # noqa: E402
from careledger.api import opened  # noqa: E402
from tests.service_server import issue_token, prepare, running  # noqa: E402

COUNCIL = "E10000099"
SENDERS = 4
TARGET_SECONDS = 1.0
TM = {"name": "Philippa Crane", "role": "TM"}


def child_ref(n: int) -> str:
    return f"IB-{n:04d}"


def iro_of(n: int, iros: int) -> str:
    return f"IRO-B{n % iros:02d}"


def start_of_care(children: int, iros: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n in range(children):
        base = {"council": COUNCIL, "child": child_ref(n)}
        events += [
            base | {"type": "ChildBecameLookedAfter", "occurred_on": "2025-01-06",
                    "source": f"LCS/EPI/{n}", "legal_status": "C2", "placement": "U4"},
            base | {"type": "IROAllocated", "occurred_on": "2025-01-08",
                    "source": f"LCS/NOTE/{n}", "iro_id": iro_of(n, iros),
                    "iro_name": f"Bench IRO {n % iros}"},
        ]  # fmt: skip
    return events


def change(n: int, number: int) -> dict[str, Any]:
    return {
        "type": "CarePlanSectionChanged", "council": COUNCIL, "child": child_ref(n),
        "occurred_on": date.today().isoformat(), "source": f"LCS/MGT/{n}/{number}",
        "change_id": f"CHG-{number}", "section": "placement",
        "content": f"Moved to foster carers of the Ashdown scheme ({number})",
        "significant": True, "decided_by": TM, "authority": {"kind": "none"},
    }  # fmt: skip


class Sightings:
    """What was sent and when, and when each change's entry was first seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # key: (iro, child, sent, answered)
        self.pending: dict[str, tuple[str, str, float, float]] = {}
        self.lags_sent: list[float] = []
        self.lags_answered: list[float] = []
        self.posts: list[float] = []
        self.failures: list[str] = []

    def sent(self, key: str, iro: str, sent: float, answered: float) -> None:
        with self.lock:
            self.pending[key] = (iro, key.partition("/")[0], sent, answered)
            self.posts.append(answered - sent)

    def waiting(self) -> dict[str, set[str]]:
        """The IROs with a change not yet seen, and the children it is of."""
        found: dict[str, set[str]] = {}
        with self.lock:
            for iro, child, _, _ in self.pending.values():
                found.setdefault(iro, set()).add(child)
        return found

    def seen(self, keys: set[str], at: float) -> None:
        with self.lock:
            for key in keys & self.pending.keys():
                _, _, sent, answered = self.pending.pop(key)
                self.lags_sent.append(at - sent)
                self.lags_answered.append(max(0.0, at - answered))


def send(
    url: str, token: str, children: list[int], iros: int, rate: float, seconds: float,
    offset: float, sightings: Sightings, started: float,
) -> None:  # fmt: skip
    """This sender's share of the steady rate: one POST every SENDERS / rate seconds."""
    every = SENDERS / rate
    count = int(seconds * rate / SENDERS)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        for i in range(count):
            due = started + offset + i * every
            time.sleep(max(0.0, due - time.perf_counter()))
            n = children[i % len(children)]
            sent = time.perf_counter()
            answer = client.post("/events", json=change(n, i))
            answered = time.perf_counter()
            if answer.status_code != 201:
                sightings.failures.append(f"{answer.status_code} {answer.text[:200]}")
                continue
            seq = answer.json()["events"][0]["seq"]
            key = f"{COUNCIL}:{child_ref(n)}/{seq}"
            sightings.sent(key, iro_of(n, iros), sent, answered)


def poll(db: str, sightings: Sightings, stop: threading.Event) -> None:
    """Ask the inbox of each IRO with a change not yet seen, until told to stop: the entries
    of the children whose changes are awaited (as the API's inbox is read, for the children
    the reader may see), so that the poller's own time stays small beside the lag."""
    with opened(db, reading=True) as reader:
        reader.notify = lambda message: None
        while not stop.is_set():
            waiting = sightings.waiting()
            if not waiting:
                time.sleep(0.005)
                continue
            for iro, children in waiting.items():
                keys = {entry.key for entry in reader.inbox(iro, children=children)}
                sightings.seen(keys, time.perf_counter())


@contextmanager
def projector(db: str, directory: Path) -> Iterator[None]:
    """`careledger project --follow`, a process of its own, until the block ends."""
    command = [str(Path(sys.executable).parent / "careledger"), "project", "--follow", "--db", db]
    with (directory / "projector.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(2)  # it takes the lock and catches up with the children in care
        if process.poll() is not None:
            raise RuntimeError((directory / "projector.log").read_text())
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(args: argparse.Namespace, db: str) -> Sightings:
    prepare(db)
    with opened(db) as ledger:
        ledger.record(start_of_care(args.children, args.iros), "lcs-feed", "ADMIN")
        ledger.catch_up()
    token = issue_token(db, "LCS", COUNCIL, timedelta(hours=2))
    sightings, stop = Sightings(), threading.Event()
    catch_up = "true" if args.catch_up else "false"
    with (
        tempfile.TemporaryDirectory() as logs,
        projector(db, Path(logs)) if not args.catch_up else _nothing(),
        running(db, Path(logs), CARELEDGER_CATCH_UP=catch_up) as service,
    ):
        poller = threading.Thread(target=poll, args=(db, sightings, stop))
        poller.start()
        started = time.perf_counter() + 0.5
        senders = [
            threading.Thread(target=send, args=(
                service.url, token, list(range(k, args.children, SENDERS)), args.iros,
                args.rate, args.seconds, k / args.rate, sightings, started,
            ))
            for k in range(SENDERS)
        ]  # fmt: skip
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        deadline = time.perf_counter() + 10
        while sightings.waiting() and time.perf_counter() < deadline:
            time.sleep(0.05)
        stop.set()
        poller.join()
    return sightings


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="changes a second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--children", type=int, default=50)
    parser.add_argument("--iros", type=int, default=5)
    parser.add_argument("--catch-up", action="store_true", help="catch up in the request")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with schema() as db:
        found = run(args, db)
    load_after = os.getloadavg()
    mode = (
        "catch-up in the recording request (CARELEDGER_CATCH_UP=true)"
        if args.catch_up
        else "projector process (careledger project --follow), CARELEDGER_CATCH_UP=false"
    )
    sent = len(found.posts)
    print(f"inbox lag on PostgreSQL: {mode}")
    print(f"{args.children} children, {args.iros} IROs; {sent} changes posted at "
          f"{args.rate:g}/s for {args.seconds:g} s; refused {len(found.failures)}; "
          f"never seen {len(found.pending)}")  # fmt: skip
    print(f"POST: p50 {percentile(found.posts, 0.5):.1f} ms, "
          f"p99 {percentile(found.posts, 0.99):.1f} ms")  # fmt: skip
    for name, lags in (("from sending", found.lags_sent), ("from the 201", found.lags_answered)):
        largest = max(lags, default=0) * 1000
        print(f"lag {name}: p50 {percentile(lags, 0.5):.0f} ms, "
              f"p99 {percentile(lags, 0.99):.0f} ms, max {largest:.0f} ms")  # fmt: skip
    p99 = percentile(found.lags_sent, 0.99) / 1000
    print(f"p99 from sending / target {TARGET_SECONDS:g} s: {p99 / TARGET_SECONDS:.2f}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    for failure in found.failures[:5]:
        print(f"  refused: {failure}")
    if found.failures or found.pending:
        sys.exit(1)


if __name__ == "__main__":
    main()
