"""Throughput of careledger against bare `eventsourcing` on the same store, in the same run.

    .venv/bin/python benchmarks/run.py [--store sqlite|postgres|both] [--events N]
                                       [--rounds R] [--interleaved CHILDREN] [--profile]

For each store (a temporary SQLite file; a PostgreSQL schema of its own, created and dropped,
on CARELEDGER_TEST_POSTGRES or the local server) it prints a table of three measures, each
beside a baseline measured in the same run on the same kind of store, with the ratio and the
target:

1. single recording: `CareLedger.record` of one event per call on existing children, against
   a bare `eventsourcing` Application saving one event of a trivial Aggregate per `save`;
2. bulk recording: 100 children of 10 commands per `record` call, against 100 trivial
   aggregates of as many stored events per `save`;
3. projection catch-up: `Projector.rebuild()` over the whole log, against a bare read of the
   notification log (`select_notifications`, 500 at a time);
4. projection catch-up on a realistic interleaved log, against a bare read of the same log.

Measure 3's log is the bulk recordings': every case arrives whole in one call, so a batch of
catch-up touches each of its cases once. Measure 4's log is built as `benchmarks/drift.py`
builds its own: invented children (`careledger.synthetic`) whose records arrive feed by
feed, one `record` call per feed, so each case's events are spread over many calls and many
batches of catch-up. It is loaded once into a ledger of its own (`--interleaved CHILDREN`,
0 to skip) and rebuilt R times.

Rates count stored events (a new child's case also stores `CaseOpened`). Each measure runs
R rounds, careledger and baseline alternating (and alternating which goes first); the table
shows the medians and the range of the per-round ratios. Everything is warmed up once first.
`--profile` adds cProfile's hot spots in careledger's own code for bulk recording and catch-up.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib.metadata import version
from itertools import groupby, islice
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, even without the editable install
    sys.path.insert(0, str(ROOT))

from careledger.api import Opened, opened  # noqa: E402
from careledger.ledger.domain import payloads as p  # noqa: E402
from careledger.ledger.domain.commands import Command, parse_command  # noqa: E402
from careledger.ledger.store.location import store_for  # noqa: E402
from careledger.synthetic import synthetic_history  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
COUNCIL = "E10000001"
ACTOR = p.Actor(actor_id="bench", role="ADMIN")
TM = {"name": "Team Manager", "role": "TM"}
IRO = {"name": "Reviewing Officer", "role": "IRO"}
START = date(2023, 1, 9)
COMMANDS_PER_CHILD = 10
EVENTS_PER_CHILD = COMMANDS_PER_CHILD + 1  # + CaseOpened
CHILDREN_PER_CALL = 100
SINGLE_POOL = 50  # existing children (and bare aggregates) the single recordings cycle over
OWN_CODE = tuple(str(ROOT / package) + os.sep for package in ("ledger", "projections", "cli"))

T = TypeVar("T")
TARGETS = {"single": 0.67, "bulk": 0.6, "catch_up": 0.5, "interleaved": 0.2}
LABELS = {
    "single": "single recording (events/s)",
    "bulk": "bulk recording (events/s)",
    "catch_up": "projection catch-up (events/s)",
    "interleaved": "catch-up, interleaved (events/s)",
}
FEED = p.Actor(actor_id="lcs-feed", role="ADMIN")
SYNTHETIC_UNTIL = date(2025, 11, 28)  # benchmarks/drift.py's default
MAX_CALL = 2_000  # commands per record call, at most, as in benchmarks/drift.py


# --- the bare baseline ---------------------------------------------------------------------


class Counter(Aggregate):
    """The baseline's trivial aggregate."""

    @event("Started")
    def __init__(self) -> None:
        self.n = 0

    @event("Counted")
    def count(self) -> None:
        self.n += 1


class BareApp(Application[uuid.UUID]):
    name = "benchbare"  # its own tables: benchbare_events on PostgreSQL, its own file on SQLite


class BareReader(Application[uuid.UUID]):
    """The library's own recorder on careledger's events table (same name, no extensions)."""

    name = "careledger"

    def read_all(self) -> int:
        """Every stored event, 500 at a time, not decoded: the baseline of a catch-up."""
        select = self.recorder.select_notifications
        position, read = 0, 0
        while batch := select(position, limit=500, inclusive_of_start=False):
            position = batch[-1].id
            read += len(batch)
        return read


# --- the workload --------------------------------------------------------------------------


def line(ref: str, kind: str, days: int, **fields: Any) -> dict[str, Any]:
    """One JSON Lines object, as `careledger record --file` reads it."""
    on = (START + timedelta(days=days)).isoformat()
    return {
        "type": kind,
        "council": COUNCIL,
        "child": ref,
        "occurred_on": on,
        "source": f"B/{ref}/{kind}/{days}",
        **fields,
    }


def child_history(ref: str) -> list[dict[str, Any]]:
    """Ten events of a realistic case: entry to care, IRO and social worker, a plan, a change
    proposed and approved at a review then made, a change made without review, a challenge."""
    history = [
        line(ref, "ChildBecameLookedAfter", 0, legal_status="C2", placement="U4"),
        line(ref, "IROAllocated", 2, iro_id="IRO-1", iro_name="R. Officer"),
        line(
            ref, "SocialWorkerAllocated", 2, worker_id="SW-1", worker_name="S. Worker", team="CiC"
        ),
        line(
            ref,
            "CarePlanAgreed",
            9,
            sections={"placement": "Foster carers", "health": "IHA"},
            decided_by=TM,
        ),
        line(
            ref,
            "ChangeProposed",
            20,
            proposal_id="P1",
            section="permanence",
            content="Long-term fostering",
            significant=True,
            proposed_by=TM,
        ),
        line(
            ref,
            "ReviewHeld",
            27,
            review_id="R1",
            chair=IRO,
            participation="PN1",
            attendees=["child", "carer", "SW-1"],
            decisions=[{"kind": "approve", "proposal_id": "P1"}],
        ),
        line(
            ref,
            "CarePlanSectionChanged",
            28,
            change_id="C1",
            section="permanence",
            content="Long-term fostering",
            significant=True,
            decided_by=TM,
            authority={"kind": "review_decision", "review_id": "R1", "proposal_id": "P1"},
        ),
        line(
            ref,
            "ChangeProposed",
            60,
            proposal_id="P2",
            section="education",
            content="New school",
            significant=True,
            proposed_by=TM,
        ),
        line(
            ref,
            "CarePlanSectionChanged",
            70,
            change_id="C2",
            section="placement",
            content="Residential",
            significant=True,
            decided_by=TM,
            authority={"kind": "none"},
        ),
        line(
            ref,
            "ChallengeRaised",
            75,
            challenge_id="CH1",
            subject="care_planning",
            concern="Moved without review",
            raised_by=IRO,
        ),
    ]
    assert len(history) == COMMANDS_PER_CHILD
    return history


def bulk_calls(prefix: str, children: int) -> list[list[Command]]:
    """`children` new children's histories, parsed, in calls of 100 children each."""
    calls = []
    for first in range(0, children, CHILDREN_PER_CALL):
        refs = [f"{prefix}-{i:07d}" for i in range(first, min(first + CHILDREN_PER_CALL, children))]
        calls.append([parse_command(obj) for ref in refs for obj in child_history(ref)])
    return calls


def single_commands(start: int, count: int) -> list[Command]:
    """One event per call on existing children: an IRO allocated, or a section changed with
    authority `none`, alternately."""
    commands = []
    for i in range(start, start + count):
        ref = f"S-{i % SINGLE_POOL:03d}"
        days = 30 + i // SINGLE_POOL
        if i % 2:
            obj = line(
                ref, "IROAllocated", days, iro_id=f"IRO-{i}", iro_name="R. Officer", source=f"S/{i}"
            )
        else:
            obj = line(
                ref,
                "CarePlanSectionChanged",
                days,
                change_id=f"S{i}",
                section="health",
                content=f"Health plan {i}",
                significant=False,
                decided_by=TM,
                authority={"kind": "none"},
                source=f"S/{i}",
            )
        commands.append(parse_command(obj))
    return commands


# --- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    rounds: int
    singles: int  # events recorded one by one, per round, by each side
    children: int  # new children recorded in bulk, per round, by each side

    @classmethod
    def scaled(cls, events: int, rounds: int) -> Sizes:
        """`events` stored events recorded in bulk by careledger over all rounds (the same
        again by the baseline); single recordings are a twentieth of that."""
        per_round = max(1, round(events / EVENTS_PER_CHILD / rounds / CHILDREN_PER_CALL))
        return cls(rounds, max(50, events // 20 // rounds), per_round * CHILDREN_PER_CALL)


@dataclass
class Measure:
    ours: list[float] = field(default_factory=list)  # events/s per round
    theirs: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ours) / statistics.median(self.theirs)

    def ratio_range(self) -> str:
        ratios = [o / t for o, t in zip(self.ours, self.theirs, strict=True)]
        return f"{min(ratios):.2f}-{max(ratios):.2f}"


def timed(action: Callable[[], T]) -> tuple[float, T]:
    gc.collect()
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def alternate(
    round_no: int, ours: Callable[[], float], theirs: Callable[[], float], measure: Measure
) -> None:
    """One round of each, careledger first in even rounds and the baseline first in odd."""
    if round_no % 2:
        measure.theirs.append(theirs())
        measure.ours.append(ours())
    else:
        measure.ours.append(ours())
        measure.theirs.append(theirs())


class Bench:
    def __init__(self, o: Opened, bare: BareApp, reader: BareReader, sizes: Sizes) -> None:
        self.o = o
        self.bare = bare
        self.reader = reader
        self.sizes = sizes
        self.single_next = 0
        self.bulk_next = 0
        self.pool: list[Counter] = []

    # setup, not timed
    def prepare(self) -> None:
        openings = [
            parse_command(line(f"S-{i:03d}", "ChildBecameLookedAfter", 0, legal_status="V2"))
            for i in range(SINGLE_POOL)
        ]
        self.o.ledger.record(openings, ACTOR)
        self.pool = [Counter() for _ in range(SINGLE_POOL)]
        self.bare.save(*self.pool)

    def warm_up(self) -> None:
        self.ours_single(20)
        self.theirs_single(20)
        self.ours_bulk(CHILDREN_PER_CALL)
        self.theirs_bulk(CHILDREN_PER_CALL)
        self.ours_catch_up()
        self.theirs_catch_up()
        self.decode_log()

    # 1. single recording
    def ours_single(self, count: int) -> float:
        commands = single_commands(self.single_next, count)
        self.single_next += count
        record = self.o.ledger.record
        seconds, _ = timed(lambda: [record([command], ACTOR) for command in commands])
        return count / seconds

    def theirs_single(self, count: int) -> float:
        pool, save = self.pool, self.bare.save

        def saves() -> None:
            for i in range(count):
                counter = pool[i % SINGLE_POOL]
                counter.count()
                save(counter)

        seconds, _ = timed(saves)
        return count / seconds

    # 2. bulk recording
    def ours_bulk(self, children: int) -> float:
        calls = bulk_calls(f"B{self.bulk_next}", children)
        self.bulk_next += 1
        record = self.o.ledger.record
        seconds, _ = timed(lambda: [record(commands, ACTOR) for commands in calls])
        return children * EVENTS_PER_CHILD / seconds

    def theirs_bulk(self, children: int) -> float:
        save = self.bare.save

        def saves() -> None:
            for first in range(0, children, CHILDREN_PER_CALL):
                aggregates = []
                for _ in range(min(CHILDREN_PER_CALL, children - first)):
                    counter = Counter()
                    for _ in range(EVENTS_PER_CHILD - 1):
                        counter.count()
                    aggregates.append(counter)
                save(*aggregates)

        seconds, _ = timed(saves)
        return children * EVENTS_PER_CHILD / seconds

    # 3. projection catch-up
    def ours_catch_up(self) -> float:
        seconds, done = timed(self.o.projector.rebuild)
        assert done == self.log_size(), (done, self.log_size())
        return done / seconds

    def read_log(self) -> int:
        return self.reader.read_all()

    def theirs_catch_up(self) -> float:
        seconds, read = timed(self.read_log)
        assert read == self.log_size(), (read, self.log_size())
        return read / seconds

    def decode_log(self) -> float:
        """For information: reading the log and turning it into careledger's events (the
        mapper's work, which every projection of these events has to do)."""
        select = self.reader.recorder.select_notifications
        to_event = self.o.ledger.mapper.to_domain_event

        def read_and_decode() -> int:
            position, read = 0, 0
            while batch := select(position, limit=500, inclusive_of_start=False):
                position = batch[-1].id
                read += len([to_event(n) for n in batch])
            return read

        seconds, read = timed(read_and_decode)
        return read / seconds

    def log_size(self) -> int:
        return self.reader.recorder.max_notification_id() or 0  # no conflicts here: no gaps

    def run(self) -> tuple[dict[str, Measure], float]:
        measures = {name: Measure() for name in ("single", "bulk", "catch_up")}
        sizes = self.sizes
        for r in range(sizes.rounds):
            alternate(
                r,
                lambda: self.ours_single(sizes.singles),
                lambda: self.theirs_single(sizes.singles),
                measures["single"],
            )
        for r in range(sizes.rounds):
            alternate(
                r,
                lambda: self.ours_bulk(sizes.children),
                lambda: self.theirs_bulk(sizes.children),
                measures["bulk"],
            )
        for r in range(sizes.rounds):
            alternate(r, self.ours_catch_up, self.theirs_catch_up, measures["catch_up"])
        return measures, self.decode_log()

    def profile(self, top: int) -> None:
        calls = bulk_calls("P", max(CHILDREN_PER_CALL, self.sizes.children))
        events = sum(len(c) for c in calls) // COMMANDS_PER_CHILD * EVENTS_PER_CHILD
        record = self.o.ledger.record
        show_profile(
            f"bulk recording ({events} events)",
            lambda: [record(commands, ACTOR) for commands in calls],
            top,
        )
        show_profile(
            f"catch-up (rebuild over {self.log_size()} events)", self.o.projector.rebuild, top
        )


def show_profile(title: str, action: Callable[[], Any], top: int) -> None:
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    action()
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    # the profiled call's own cumulative time: profiler overhead makes the sum of own times
    # (`total_tt`) a little less than that
    total = max(ct for (_, _, _, ct, _) in raw.values())
    own = [
        (ct, tt, nc, f"{Path(f).relative_to(ROOT)}:{line}:{fn}")
        for (f, line, fn), (_, nc, tt, ct, _) in raw.items()
        if f.startswith(OWN_CODE)
    ]
    print(f"\n  profile: {title}, {total:.2f} s under cProfile")
    print(f"  {'careledger function':<62}{'cum %':>7}{'self %':>8}{'calls':>10}")
    for ct, tt, nc, name in sorted(own, reverse=True)[:top]:
        print(f"  {name:<62}{100 * ct / total:>6.1f}%{100 * tt / total:>7.1f}%{nc:>10}")
    print(f"  {'all code, by own time':<62}{'':>7}{'self %':>8}{'calls':>10}")
    rows = sorted(
        ((tt, nc, f"{_short(f)}:{line}:{fn}") for (f, line, fn), (_, nc, tt, _, _) in raw.items()),
        reverse=True,
    )[:top]
    for tt, nc, name in rows:
        print(f"  {name[:62]:<62}{'':>7}{100 * tt / total:>7.1f}%{nc:>10}")


def _short(filename: str) -> str:
    for marker in ("site-packages" + os.sep, str(ROOT) + os.sep, "lib" + os.sep):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# --- the interleaved log ------------------------------------------------------------------


def feeds(pairs: list[tuple[datetime, Command]]) -> Iterator[tuple[datetime, list[Command]]]:
    """The commands of each feed (one recorded_at), in calls of at most MAX_CALL."""
    for at, group in groupby(pairs, key=lambda pair: pair[0]):
        commands = iter(command for _, command in group)
        while call := list(islice(commands, MAX_CALL)):
            yield at, call


def load_interleaved(o: Opened, children: int) -> int:
    """Record `children` invented children feed by feed, each call on a clock set to its
    feed's time, as benchmarks/drift.py does; returns the number of calls."""
    pairs = synthetic_history(children, seed=1, until=SYNTHETIC_UNTIL)
    now = [pairs[0][0] if pairs else datetime.min]
    o.ledger.clock = lambda: now[0]
    calls = 0
    for at, commands in feeds(pairs):
        now[0] = at
        o.ledger.record(commands, FEED)
        calls += 1
    return calls


def interleaved_catch_up(store: str, children: int, rounds: int) -> tuple[Measure, int, int]:
    """Rebuild against a bare read of one interleaved log in a ledger of its own, R rounds;
    returns the measure, the log's size and the number of record calls that wrote it."""
    measure = Measure()
    context = sqlite_store() if store == "sqlite" else postgres_store()
    with context as (db, _), opened(db, create_tables=True) as o:
        calls = load_interleaved(o, children)
        reader_env = {
            k: v for k, v in store_for(db).env.items() if k != "APPLICATION_RECORDER_TOPIC"
        }
        reader = BareReader(reader_env)
        try:
            unused = BareApp({"PERSISTENCE_MODULE": "eventsourcing.popo"})
            bench = Bench(o, unused, reader, Sizes(rounds, 0, 0))
            bench.theirs_catch_up()  # warm-up
            for r in range(rounds):
                alternate(r, bench.ours_catch_up, bench.theirs_catch_up, measure)
            return measure, bench.log_size(), calls
        finally:
            reader.close()


# --- stores --------------------------------------------------------------------------------


@contextmanager
def sqlite_store() -> Iterator[tuple[str, dict[str, str]]]:
    """The ledger's file and the baseline's settings: a file of its own beside it (SQLite's
    table names are fixed, one application per file)."""
    with tempfile.TemporaryDirectory(prefix="careledger-bench-") as folder:
        yield (
            os.path.join(folder, "careledger.ledger.db"),
            {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": os.path.join(folder, "bare.db"),
            },
        )


@contextmanager
def postgres_store() -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh schema for the ledger and the baseline (different application names, so
    different tables), dropped afterwards; the baseline gets the ledger's own connection
    settings without careledger's recorder."""
    url = os.environ.get("CARELEDGER_TEST_POSTGRES", DEFAULT_POSTGRES)
    schema = f"cl_bench_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(url)
    with psycopg.connect(urlunsplit((*parts[:3], "", "")), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            db = urlunsplit((parts.scheme, parts.netloc, parts.path, f"schema={schema}", ""))
            env = dict(store_for(db).env)
            del env["APPLICATION_RECORDER_TOPIC"]
            yield db, env
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run_store(store: str, sizes: Sizes, profile: int, interleaved: int) -> None:
    context = sqlite_store() if store == "sqlite" else postgres_store()
    started = time.perf_counter()
    mixed: tuple[Measure, int, int] | None = None
    if interleaved:
        mixed = interleaved_catch_up(store, interleaved, sizes.rounds)
    with context as (db, bare_env):
        with opened(db, create_tables=True):  # `careledger init`
            pass
        bare = BareApp({**bare_env, "CREATE_TABLE": "yes"})
        reader_env = {
            k: v for k, v in store_for(db).env.items() if k != "APPLICATION_RECORDER_TOPIC"
        }
        reader = BareReader(reader_env)
        try:
            with opened(db) as o:
                bench = Bench(o, bare, reader, sizes)
                bench.prepare()
                bench.warm_up()
                measures, decode_rate = bench.run()
                log_size = bench.log_size()
                if mixed:
                    measures["interleaved"] = mixed[0]
                report(
                    store, db, sizes, measures, decode_rate, log_size, time.perf_counter() - started
                )
                if mixed:
                    print(
                        f"   interleaved log: {interleaved:,} invented children, "
                        f"{mixed[1]:,} events recorded in {mixed[2]:,} calls (one per feed)"
                    )
                if profile:
                    bench.profile(profile)
        finally:
            reader.close()
            bare.close()


def report(
    store: str,
    db: str,
    sizes: Sizes,
    measures: dict[str, Measure],
    decode_rate: float,
    log_size: int,
    seconds: float,
) -> None:
    where = "temporary file" if store == "sqlite" else db.split("@")[-1]
    print(f"\n== {store} ({where}); {seconds:.0f} s")
    print(
        f"   per round and side: {sizes.singles} single recordings; "
        f"{sizes.children} children x {COMMANDS_PER_CHILD} commands "
        f"= {sizes.children * EVENTS_PER_CHILD} stored events in calls of "
        f"{CHILDREN_PER_CALL} children; {sizes.rounds} rounds; "
        f"catch-up over the whole log ({log_size} events)"
    )
    header = (
        f"   {'measure':<32}{'careledger':>12}{'baseline':>12}{'ratio':>8}"
        f"{'rounds':>12}{'target':>8}  met"
    )
    print(header)
    print("   " + "-" * (len(header) - 3))
    for name, measure in measures.items():
        ours, theirs = statistics.median(measure.ours), statistics.median(measure.theirs)
        met = "yes" if measure.ratio >= TARGETS[name] else "NO"
        print(
            f"   {LABELS[name]:<32}{ours:>12,.0f}{theirs:>12,.0f}{measure.ratio:>8.2f}"
            f"{measure.ratio_range():>12}{TARGETS[name]:>8.2f}  {met}"
        )
    share = decode_rate / statistics.median(measures["catch_up"].theirs)
    print(
        f"   (info) reading the log and decoding it with careledger's mapper alone: "
        f"{decode_rate:,.0f} events/s, {share:.2f} of the bare read (no projection that "
        "decodes every event through the mapper can do better)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--events",
        type=int,
        default=66_000,
        help="stored events careledger records in bulk over all rounds "
        "(the baseline as many again); sets every other size",
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per measure")
    parser.add_argument("--children", type=int, help="override: children in bulk, per round")
    parser.add_argument(
        "--interleaved",
        type=int,
        default=2_000,
        metavar="CHILDREN",
        help="invented children in the interleaved log (0: skip that measure)",
    )
    parser.add_argument("--singles", type=int, help="override: single recordings, per round")
    parser.add_argument(
        "--profile",
        nargs="?",
        type=int,
        const=12,
        default=0,
        metavar="TOP",
        help="also profile bulk recording and catch-up (top TOP functions)",
    )
    args = parser.parse_args()
    if args.events < 1 or args.rounds < 1 or args.interleaved < 0:
        parser.error("--events and --rounds must be positive")
    sizes = Sizes.scaled(args.events, args.rounds)
    if args.children:
        sizes = Sizes(sizes.rounds, sizes.singles, args.children)
    if args.singles:
        sizes = Sizes(sizes.rounds, args.singles, sizes.children)
    print(
        f"careledger benchmark: Python {platform.python_version()}, eventsourcing "
        f"{version('eventsourcing')}, pydantic {version('pydantic')}, psycopg "
        f"{psycopg.__version__} ({psycopg.pq.__impl__}), SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs"
    )
    for store in ["sqlite", "postgres"] if args.store == "both" else [args.store]:
        run_store(store, sizes, args.profile, args.interleaved)


if __name__ == "__main__":
    main()
