"""What a projector that follows the ledger spends on each new event (CPU time).

    .venv/bin/python benchmarks/following.py [--store sqlite|postgres] [--children N]
                                             [--every CALLS] [--lengths L [L ...]]

Two measures, each on a ledger of its own (a temporary SQLite file, or a PostgreSQL schema
created and dropped, on CARELEDGER_TEST_POSTGRES or the local server):

1. **Following a council's feeds.** N invented children (`careledger.synthetic`) recorded
   feed by feed as `benchmarks/run.py`'s interleaved log is, the projections caught up after
   every CALLS record calls (stretch out of reach: batch by batch, as a projector following
   the ledger applies what arrives). Prints the catch-ups' CPU per event, beside a bare read
   of the same log (the library's `select_notifications`, 500 at a time, not decoded) and the
   ratio of the two, the measure `run.py` gives for a rebuild.
2. **One new event for a long case.** A child with L events (reviews with a recommendation,
   recommendations completed, social workers allocated, plan changes, every few days), then
   40 rounds of one new allocation, one review and one plan change, each recorded alone and
   caught up at once. Prints the median CPU per catch-up by kind and length. A case folded
   forward (`projections.case_fold`) costs about the same at any length, where computing the
   case whole costs in proportion to its length; a review still has the case's flags judged
   whole.

CPU time, not wall time: the figures hold on a shared machine. Results: benchmarks/NOTES.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from run import (  # noqa: E402
    FEED,
    SYNTHETIC_UNTIL,
    BareReader,
    feeds,
    postgres_store,
    sqlite_store,
)

from careledger.api import Opened, opened  # noqa: E402
from careledger.ledger.domain import payloads as p  # noqa: E402
from careledger.ledger.domain.commands import Command, parse_command  # noqa: E402
from careledger.ledger.store.location import store_for  # noqa: E402
from careledger.synthetic import synthetic_history  # noqa: E402

ACTOR = p.Actor(actor_id="bench", role="ADMIN")
TM = {"name": "Team Manager", "role": "TM"}
IRO = {"name": "Reviewing Officer", "role": "IRO"}
ROUNDS = 40


@contextmanager
def ledger(store: str) -> Iterator[tuple[Opened, str]]:
    context = sqlite_store() if store == "sqlite" else postgres_store()
    with context as (db, _), opened(db, create_tables=True, catch_up=False) as o:
        o.projector.stretch = 10**9  # batch by batch, as a projector following the ledger
        yield o, db


def cpu(action: Callable[[], Any]) -> float:
    started = time.process_time()
    action()
    return time.process_time() - started


def following(store: str, children: int, every: int) -> None:
    pairs = synthetic_history(children, seed=1, until=SYNTHETIC_UNTIL)
    with ledger(store) as (o, db):
        now = [pairs[0][0]]
        o.ledger.clock = lambda: now[0]
        spent, applied = 0.0, [0]

        def catch_up() -> None:
            applied[0] += o.projector.catch_up()

        for calls, (at, commands) in enumerate(feeds(pairs), start=1):
            now[0] = at
            o.ledger.record(commands, FEED)
            if calls % every == 0:
                spent += cpu(catch_up)
        spent += cpu(catch_up)
        env = {k: v for k, v in store_for(db).env.items() if k != "APPLICATION_RECORDER_TOPIC"}
        reader = BareReader(env)
        try:
            read = min(cpu(reader.read_all) for _ in range(3))
        finally:
            reader.close()
    ours, bare = spent / applied[0] * 1e6, read / applied[0] * 1e6
    print(
        f"{store}: following {children:,} children's feeds, caught up every {every} calls: "
        f"{applied[0]:,} events, {ours:.0f} µs CPU an event; a bare read {bare:.1f} µs; "
        f"ratio {bare / ours:.3f}"
    )


class LongCase:
    """One child's records, a few days apart, as a council records them."""

    def __init__(self) -> None:
        self.count = 0
        self.day = date(2000, 1, 3)

    def line(self, kind: str, **fields: Any) -> Command:
        self.count += 1
        return parse_command(
            {
                "type": kind,
                "council": "E10000001",
                "child": "LONG1",
                "occurred_on": self.day.isoformat(),
                "source": f"CMS/{self.count}",
                **fields,
            }
        )

    def opening(self) -> list[Command]:
        return [
            self.line("ChildBecameLookedAfter", legal_status="C2", placement="U4"),
            self.line("CarePlanAgreed", sections={"placement": "Foster A"}, decided_by=TM),
        ]

    def allocation(self) -> Command:
        return self.line(
            "SocialWorkerAllocated", worker_id=f"SW{self.count % 7}", worker_name="A Worker"
        )

    def review(self, recommendation: str | None = None) -> Command:
        due = (self.day + timedelta(days=30)).isoformat()
        decisions = (
            [
                {
                    "kind": "recommend",
                    "recommendation_id": recommendation,
                    "text": "Visit",
                    "owner": TM,
                    "due_on": due,
                }
            ]
            if recommendation
            else []
        )
        return self.line(
            "ReviewHeld",
            review_id=f"rev-{self.count}",
            chair=IRO,
            participation="PN1",
            decisions=decisions,
        )

    def change(self) -> Command:
        return self.line(
            "CarePlanSectionChanged",
            change_id=f"chg-{self.count}",
            section="health",
            content=f"Health plan {self.count}",
            significant=False,
            decided_by=TM,
            authority={"kind": "none"},
        )

    def history(self, length: int) -> list[Command]:
        commands = self.opening()
        while len(commands) < length:
            self.day += timedelta(days=3)
            turn = len(commands) % 4
            if turn == 0:
                commands.append(self.review(recommendation=f"rec-{self.count}"))
            elif turn == 1:
                done = commands[-1].payload
                assert isinstance(done, p.ReviewHeld)
                recommendation = done.decisions[0].recommendation_id  # type: ignore[union-attr]
                commands.append(
                    self.line(
                        "RecommendationCompleted", recommendation_id=recommendation, completed_by=TM
                    )
                )
            elif turn == 2:
                commands.append(self.allocation())
            else:
                commands.append(self.change())
        return commands


def long_case(store: str, length: int) -> None:
    case = LongCase()
    with ledger(store) as (o, _):
        o.ledger.clock = lambda: datetime(2030, 1, 7, 10, tzinfo=UTC)
        o.ledger.record(case.history(length), ACTOR)
        o.projector.catch_up()
        spent: dict[str, list[float]] = {"allocation": [], "review": [], "change": []}
        for _ in range(ROUNDS):
            case.day += timedelta(days=1)
            for kind, command in (
                ("allocation", case.allocation()),
                ("review", case.review()),
                ("change", case.change()),
            ):
                o.ledger.record([command], ACTOR)
                spent[kind].append(cpu(o.projector.catch_up) * 1e3)
    medians = ", ".join(f"{k} {statistics.median(v):.2f} ms" for k, v in spent.items())
    print(f"{store}: one new event for a case of {length:,} events, CPU per catch-up: {medians}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--children", type=int, default=1_000)
    parser.add_argument("--every", type=int, default=50, help="record calls between catch-ups")
    parser.add_argument("--lengths", type=int, nargs="*", default=[20, 500, 2_000])
    args = parser.parse_args()
    if args.children < 1 or args.every < 1 or any(length < 3 for length in args.lengths):
        parser.error("--children and --every at least 1, each length at least 3")
    following(args.store, args.children, args.every)
    for length in args.lengths:
        long_case(args.store, length)


if __name__ == "__main__":
    main()
