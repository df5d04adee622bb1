"""The interleaved catch-up against the library's own `ProjectionRunner` (PostgreSQL).

    .venv/bin/python benchmarks/library_runner.py [--children N] [--rounds R]

eventsourcing's `ProjectionRunner` subscribes to an application's recorder and gives its
`Projection` one event at a time with its tracking object; the library's way to write the
view is a `TrackingRecorder` whose method writes the event's effect and the tracking record
in one transaction. Here that view is careledger's own `PostgresCaseViews`, made by the
runner in a schema of its own, and the projection's `process_event` applies each event with
its tracking alone (`apply_batch([event], tracking)`): the same tables, rows and rules as
careledger's catch-up and the same computation of a case, one event per transaction, as
the runner hands them over. (The library's SQLite recorder has no subscription: PostgreSQL
only.)

On one interleaved log, built as `benchmarks/run.py` builds its own (invented children,
recorded feed by feed), each from empty views, R rounds, alternating which goes first:

1. careledger's catch-up from empty (`Projector.catch_up`: a lag of 5,000 events or more is
   applied as one stretch, case by case);
2. careledger's catch-up batch by batch (500 events a batch: a following projector's way);
3. the library's `ProjectionRunner`, until its view's tracking reaches the last event;
4. a bare read of the log (`select_notifications`, 500 at a time), the issue's baseline.

It prints, for each, the wall-clock rate and the CPU time per event of this process (the
runner's threads included, PostgreSQL's own work not), with each careledger catch-up's ratio
to the runner's, and checks that the runner's tables hold the same rows as careledger's.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eventsourcing.persistence import Tracking  # noqa: E402
from eventsourcing.projection import Projection, ProjectionRunner  # noqa: E402

from benchmarks.run import BareReader, load_interleaved, postgres_store  # noqa: E402
from careledger.api import Opened, opened  # noqa: E402
from careledger.ledger.application import CareLedger  # noqa: E402
from careledger.ledger.domain import events as e  # noqa: E402
from careledger.ledger.store.location import store_for  # noqa: E402
from careledger.projections.runner import IDLE_TIMEOUT, VIEWS_NAME  # noqa: E402
from careledger.projections.schema import TABLES  # noqa: E402
from careledger.projections.views import PostgresCaseViews  # noqa: E402

WAIT_SECONDS = 3_600.0


class CaseViewsProjection(Projection[PostgresCaseViews]):
    """careledger's views as the library's projection: each event applied alone."""

    name = VIEWS_NAME
    cipher: Any = None  # the ledger's, set before the runner starts

    def __init__(self, view: PostgresCaseViews) -> None:
        super().__init__(view)
        view.cipher = self.cipher  # as `projections.runner.open_views` sets it

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        events = [domain_event] if isinstance(domain_event, e.CaseEvent) else []
        self.view.apply_batch(events, tracking)


def source_class(o: Opened) -> type[CareLedger]:
    """The application the runner makes and subscribes to: the ledger on the same store."""

    class Source(CareLedger):
        name = o.ledger.name  # the library names an application's tables after it

        def __init__(self, env: Any = None) -> None:
            super().__init__(o.ledger.store)

    return Source


def measured(action: Callable[[], int]) -> tuple[float, float, int]:
    """Wall-clock seconds, CPU seconds of this process (every thread) and the events done."""
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    done = action()
    return time.perf_counter() - started, time.process_time() - cpu, done


class Sides:
    def __init__(self, o: Opened, db: str) -> None:
        self.o, self.db = o, db
        self.newest = o.ledger.recorder.max_notification_id() or 0
        reader_env = {
            k: v for k, v in store_for(db).env.items() if k != "APPLICATION_RECORDER_TOPIC"
        }
        self.reader = BareReader(reader_env)
        self.runner_schema = ""

    def careledger(self, stretch: int) -> int:
        projector = self.o.projector
        projector.views.reset(self.o.ledger.name)
        kept, projector.stretch = projector.stretch, stretch
        try:
            return projector.catch_up()
        finally:
            projector.stretch = kept

    def stretch(self) -> int:
        return self.careledger(5_000)

    def batches(self) -> int:
        return self.careledger(sys.maxsize)

    def bare_read(self) -> int:
        return self.reader.read_all()

    def library(self) -> int:
        """The library's runner into views of its own, in a new schema, until it has
        applied the last event."""
        self.drop_runner_schema()
        self.runner_schema = f"cl_runner_{uuid.uuid4().hex[:10]}"
        self.admin(f'CREATE SCHEMA "{self.runner_schema}"')
        env = self.o.ledger.store.env | {
            "POSTGRES_SCHEMA": self.runner_schema,
            "CREATE_TABLE": "yes",
            IDLE_TIMEOUT: "60",
        }
        CaseViewsProjection.cipher = self.o.ledger.mapper.cipher
        with ProjectionRunner(
            application_class=source_class(self.o),
            projection_class=CaseViewsProjection,
            view_class=PostgresCaseViews,
            env=env,
        ) as runner:
            runner.wait(self.newest, timeout=WAIT_SECONDS)
        return self.newest

    def admin(self, sql: str) -> list[Any]:
        with self.o.views.datastore.transaction(commit=True) as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []

    def drop_runner_schema(self) -> None:
        if self.runner_schema:
            self.admin(f'DROP SCHEMA "{self.runner_schema}" CASCADE')
            self.runner_schema = ""

    def same_rows(self) -> list[str]:
        """The tables whose rows differ between careledger's views (as last caught up) and
        the runner's."""
        differ = []
        ours = self.o.views.datastore.schema
        for table in TABLES:
            digests = [
                self.admin(
                    f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                    f'AS d FROM "{schema}".{table} t'
                )[0]["d"]
                for schema in (ours, self.runner_schema)
            ]
            if digests[0] != digests[1]:
                differ.append(table)
        return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--children",
        type=int,
        default=100,
        help="invented children (the runner is slow: keep it small)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds, alternating the order")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, load average {load}", flush=True)
    with postgres_store() as (db, _), opened(db, create_tables=True, catch_up=False) as o:
        calls = load_interleaved(o, args.children)
        sides = Sides(o, db)
        try:
            print(
                f"interleaved log: {args.children:,} invented children, {sides.newest:,} events "
                f"in {calls:,} calls (one per feed); PostgreSQL",
                flush=True,
            )
            run(sides, args.rounds)
        finally:
            sides.drop_runner_schema()
            sides.reader.close()


def run(sides: Sides, rounds: int) -> None:
    ways: dict[str, Callable[[], int]] = {
        "careledger catch-up from empty (one stretch)": sides.stretch,
        "careledger catch-up batch by batch (500)": sides.batches,
        "the library's ProjectionRunner (1 event a transaction)": sides.library,
        "bare read of the log": sides.bare_read,
    }
    sides.bare_read()  # warm-up
    figures: dict[str, list[tuple[float, float, int]]] = {name: [] for name in ways}
    for r in range(rounds):
        order = list(ways) if r % 2 == 0 else list(reversed(ways))
        for name in order:
            figures[name].append(measured(ways[name]))
            wall, cpu, done = figures[name][-1]
            load = os.getloadavg()[0]
            print(
                f"  round {r + 1}: {name}: {done:,} events, {wall:.1f} s, {cpu:.1f} s CPU "
                f"(load {load:.1f})",
                flush=True,
            )
    differ = sides.same_rows()
    print(
        "the runner's tables against careledger's (as its last catch-up left them): "
        + (f"DIFFER in {', '.join(differ)}" if differ else f"the same rows in all {len(TABLES)}")
    )
    show(figures)


def show(figures: dict[str, list[tuple[float, float, int]]]) -> None:
    runner = "the library's ProjectionRunner (1 event a transaction)"

    def rate(name: str) -> float:
        return statistics.median(done / wall for wall, _, done in figures[name])

    def cpu_us(name: str) -> float:
        return statistics.median(1e6 * cpu / done for _, cpu, done in figures[name])

    header = (
        f"  {'way':<56}{'events/s':>10}{'µs CPU/event':>14}{'x runner (rate)':>17}"
        f"{'x runner (CPU)':>16}{'of bare read':>14}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    bare = rate("bare read of the log")
    for name in figures:
        print(
            f"  {name:<56}{rate(name):>10,.0f}{cpu_us(name):>14,.0f}"
            f"{rate(name) / rate(runner):>17.1f}{cpu_us(runner) / cpu_us(name):>16.1f}"
            f"{rate(name) / bare:>14.2f}"
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  (medians of {len(figures[runner])} rounds; load average {load})")


if __name__ == "__main__":
    main()
