"""Throughput of careledger against bare `eventsourcing` on the same store, in the same run.

    .venv/bin/python benchmarks/run.py [--store sqlite|postgres|both] [--children N]

Prints, per store: single recording (events/s), bulk recording (events/s) and projection
catch-up (events/s), each beside its baseline and the ratio, with the issue's target.
PostgreSQL comes from CARELEDGER_TEST_POSTGRES (default: the local server); the run uses a
schema of its own and drops it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from cli.context import opened
from ledger import payloads as p
from ledger.commands import Command, parse_command
from ledger.store import store_for

ACTOR = p.Actor(actor_id="bench", role="ADMIN")
TM = {"name": "Team Manager", "role": "TM"}
IRO = {"name": "Reviewing Officer", "role": "IRO"}
START = date(2023, 1, 9)


class Counter(Aggregate):
    """The bare baseline's trivial aggregate."""

    @event("Started")
    def __init__(self) -> None:
        self.n = 0

    @event("Counted")
    def count(self) -> None:
        self.n += 1


class Bare(Application[uuid.UUID]):
    name = "bare"


def child_history(ref: str) -> list[Command]:
    """Ten events of a realistic case: entry, IRO, social worker, plan, a change approved at a
    review, a change without review, a challenge."""

    def line(kind: str, days: int, **fields: Any) -> Command:
        on = (START + timedelta(days=days)).isoformat()
        return parse_command({"type": kind, "council": "E10000001", "child": ref,
                              "occurred_on": on, "source": f"B/{ref}/{kind}/{days}", **fields})

    return [
        line("ChildBecameLookedAfter", 0, legal_status="C2", placement="U4"),
        line("IROAllocated", 2, iro_id="IRO-1", iro_name="R. Officer"),
        line("SocialWorkerAllocated", 2, worker_id="SW-1", worker_name="S. Worker", team="CiC"),
        line("CarePlanAgreed", 9, sections={"placement": "Foster carers", "health": "IHA"},
             decided_by=TM),
        line("ChangeProposed", 20, proposal_id="P1", section="permanence",
             content="Long-term fostering", significant=True, proposed_by=TM),
        line("ReviewHeld", 27, review_id="R1", chair=IRO, participation="PN1",
             decisions=[{"kind": "approve", "proposal_id": "P1"}]),
        line("CarePlanSectionChanged", 28, change_id="C1", section="permanence",
             content="Long-term fostering", significant=True, decided_by=TM,
             authority={"kind": "review_decision", "review_id": "R1", "proposal_id": "P1"}),
        line("ChangeProposed", 60, proposal_id="P2", section="education",
             content="New school", significant=True, proposed_by=TM),
        line("CarePlanSectionChanged", 70, change_id="C2", section="placement",
             content="Residential", significant=True, decided_by=TM, authority={"kind": "none"}),
        line("ChallengeRaised", 75, challenge_id="CH1", subject="care_planning",
             concern="Moved without review", raised_by=IRO),
    ]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_single(db: str, bare_env: dict[str, str], n: int) -> tuple[float, float]:
    with opened(db) as o:
        o.ledger.record(child_history("S-0")[:1], ACTOR)
        commands = [
            parse_command({"type": "IROAllocated", "council": "E10000001", "child": "S-0",
                           "occurred_on": "2024-01-02", "source": f"S/{i}", "iro_id": f"I{i}",
                           "iro_name": "R. Officer"})
            for i in range(n)
        ]
        ours = timed(lambda: [o.ledger.record([c], ACTOR) for c in commands])
    app = Bare(bare_env)
    counter = Counter()
    app.save(counter)

    def bare_saves() -> None:
        for _ in range(n):
            counter.count()
            app.save(counter)

    theirs = timed(bare_saves)
    app.close()
    return rate(n, ours), rate(n, theirs)


def bench_bulk(db: str, bare_env: dict[str, str], children: int) -> tuple[float, float, int]:
    histories = [child_history(f"B-{i:06d}") for i in range(children)]
    stored = sum(len(h) + 1 for h in histories)  # + CaseOpened each
    with opened(db) as o:

        def record_bulk() -> None:
            for first in range(0, children, 100):
                batch = [c for h in histories[first:first + 100] for c in h]
                o.ledger.record(batch, ACTOR)

        ours = timed(record_bulk)
    app = Bare(bare_env)

    def bare_bulk() -> None:
        for _ in range(0, children, 100):
            aggregates = []
            for _ in range(100):
                counter = Counter()
                for _ in range(10):
                    counter.count()
                aggregates.append(counter)
            app.save(*aggregates)

    bare_events = (children // 100) * 100 * 11
    theirs = timed(bare_bulk)
    app.close()
    return rate(stored, ours), rate(bare_events, theirs), stored


def bench_catch_up(db: str) -> tuple[float, float, int]:
    with opened(db) as o:
        total = o.ledger.recorder.max_notification_id() or 0
        ours = timed(o.projector.rebuild)

        def read_log() -> None:
            position = 0
            while batch := o.ledger.recorder.select_notifications(
                start=position, limit=500, inclusive_of_start=False
            ):
                position = batch[-1].id

        theirs = timed(read_log)
    return rate(total, ours), rate(total, theirs), total


@contextmanager
def sqlite_store() -> Iterator[tuple[str, dict[str, str]]]:
    with tempfile.TemporaryDirectory() as folder:
        yield (os.path.join(folder, "ledger.db"),
               {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": os.path.join(folder, "bare.db")})


@contextmanager
def postgres_store() -> Iterator[tuple[str, dict[str, str]]]:
    url = os.environ.get("CARELEDGER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"cl_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            parts = urlsplit(url)
            db = urlunsplit((parts.scheme, parts.netloc, parts.path, f"schema={schema}", ""))
            bare = store_for(db, create_tables=True).env
            yield db, bare
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(store: str, children: int, singles: int) -> None:
    context = sqlite_store() if store == "sqlite" else postgres_store()
    with context as (db, bare_env):
        bare_env = {**bare_env, "CREATE_TABLE": "yes"}
        with opened(db, create_tables=True):
            pass
        single = bench_single(db, bare_env, singles)
        bulk = bench_bulk(db, bare_env, children)
        catch_up = bench_catch_up(db)
    print(f"\n== {store}: {singles} single saves; {children} children, {bulk[2]} events in bulk; "
          f"catch-up over {catch_up[2]} events")
    print(f"{'measure':<34}{'careledger':>14}{'bare':>14}{'ratio':>8}{'target':>8}  met")
    for label, (ours, theirs), target in (
        ("single recording (events/s)", single, 0.67),
        ("bulk recording (events/s)", bulk[:2], 0.6),
        ("projection catch-up (events/s)", catch_up[:2], 0.5),
    ):
        ratio = ours / theirs
        met = "yes" if ratio >= target else "NO"
        print(f"{label:<34}{ours:>14,.0f}{theirs:>14,.0f}{ratio:>8.2f}{target:>8.2f}  {met}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--children", type=int, default=2000, help="children in the bulk run")
    parser.add_argument("--singles", type=int, default=300, help="events recorded one by one")
    args = parser.parse_args()
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    for store in stores:
        run(store, args.children, args.singles)


if __name__ == "__main__":
    main()
