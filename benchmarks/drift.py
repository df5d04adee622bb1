"""The drift report at scale: synthetic ledgers of 10,000 and 80,000 children.

    .venv/bin/python benchmarks/drift.py [--children N ...] [--store sqlite|postgres|both]
                                         [--seed S] [--runs R] [--aggregate-cache CASES]
                                         [--profile [TOP]] [--explain]
                                         [--keep | --reuse URL]

The targets: the report in under 2 s, and the HTML page's call (the report with its
12-month trend) in under 5 s, at 80,000 children on PostgreSQL, from the projections, not by
replaying events. For each store (a PostgreSQL schema of its own on
CARELEDGER_TEST_POSTGRES or the local server, dropped at the end; or a temporary SQLite file)
and each number of children it:

1. generates the children's histories (cli/synthetic.py) up to --until;
2. loads them through `CareLedger.record`, one call per feed: the generator stamps each
   record with the hour of the feed that carried it, so the pairs sharing a `recorded_at`
   are recorded in one call on a clock set to exactly that time. (Batching across feeds on
   the batch's last clock would keep occurred_on <= the recorded date, but it would move
   records to later days, and the report's recording-lag and as-of measures read that day.)
3. catches the projections up from the first event;
4. times `drift_report(views, until)` for by=None and by=IRO (median of R runs after a
   warm-up), and the HTML page's call (trend_months=12: the report and its twelve earlier
   month ends, each measure counted at every month end in one statement), beside thirteen
   whole reports, one per date (how the trend was computed before), in the same process.

Loading and projecting 80,000 children took 45 to 80 minutes on 2 CPUs: --keep leaves the
PostgreSQL schema in place and prints its URL, and --reuse URL times the report (steps 3 and
4) on it, for measuring a change to the report.

--profile adds cProfile's hot spots of one report and the time of each of its SQL
statements; --explain prints PostgreSQL's EXPLAIN ANALYZE of the slowest statements. Both
run the report in one lane (cProfile sees one thread; EXPLAIN replays one transaction).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from importlib.metadata import version
from itertools import groupby, islice
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, even without the editable install
    sys.path.insert(0, str(ROOT))

from benchmarks.profiling import print_profile  # noqa: E402
from careledger.api import Opened, opened  # noqa: E402
from careledger.ledger.domain import payloads as p  # noqa: E402
from careledger.ledger.domain.commands import Command  # noqa: E402
from careledger.projections.drift import By, drift_report  # noqa: E402
from careledger.projections.drift.assembler import month_ends  # noqa: E402
from careledger.projections.drift.query import Query  # noqa: E402
from careledger.projections.schema import TABLES  # noqa: E402
from careledger.synthetic import synthetic_history  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
FEED = p.Actor(actor_id="lcs-feed", role="ADMIN")
TARGET_SECONDS = 2.0
HTML_TARGET_SECONDS = 5.0  # the drift HTML page's call: the report with trend_months=12
REPORT, BY_IRO = "drift report (by=None)", "drift report (by=IRO)"
HTML_CALL = "HTML call (trend_months=12)"
OLD_TREND = "thirteen reports (the trend as before)"
MAX_CALL = 2_000  # commands per record call, at most (a feed is rarely larger)
STORE_NAMES = {"postgres": "PostgreSQL", "sqlite": "SQLite"}
OWN_CODE = tuple(str(ROOT / package) + os.sep for package in ("ledger", "projections", "cli"))

T = TypeVar("T")


# --- stores --------------------------------------------------------------------------------


@contextmanager
def postgres_store(keep: bool = False) -> Iterator[str]:
    """A ledger URL in a fresh schema of its own, dropped afterwards unless kept."""
    url = os.environ.get("CARELEDGER_TEST_POSTGRES", DEFAULT_POSTGRES)
    schema = f"cl_drift_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(url)
    with psycopg.connect(urlunsplit((*parts[:3], "", "")), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        ledger = urlunsplit((parts.scheme, parts.netloc, parts.path, f"schema={schema}", ""))
        try:
            yield ledger
        finally:
            if keep:
                say(f"   kept: --reuse {ledger}  (drop with DROP SCHEMA {schema} CASCADE)")
            else:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def sqlite_store() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="careledger-drift-") as folder:
        yield os.path.join(folder, "careledger.ledger.db")


# --- measuring -----------------------------------------------------------------------------


def timed(action: Callable[[], T]) -> tuple[float, T]:
    gc.collect()
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


# The CPU time of this process in each timed report, by label: on a shared machine the wall
# clock counts the time waiting for a CPU; SQLite's work is all in this process, PostgreSQL's
# mostly in its server's.
CPU: dict[str, list[float]] = {}


def clocked(label: str, action: Callable[[], Any]) -> float:
    """The wall-clock seconds of `action`, its CPU seconds noted under `label`."""
    cpu = time.process_time()
    seconds, _ = timed(action)
    CPU.setdefault(label, []).append(time.process_time() - cpu)
    return seconds


def say(text: str) -> None:
    print(text, flush=True)


def feeds(pairs: list[tuple[datetime, Command]]) -> Iterator[tuple[datetime, list[Command]]]:
    """The commands of each feed (one recorded_at), in calls of at most MAX_CALL."""
    for at, group in groupby(pairs, key=lambda pair: pair[0]):
        commands = iter(command for _, command in group)
        while call := list(islice(commands, MAX_CALL)):
            yield at, call


def load(o: Opened, pairs: list[tuple[datetime, Command]]) -> int:
    """Record every pair on a clock at its recorded_at; returns the number of calls."""
    now = [pairs[0][0] if pairs else datetime.min]
    o.ledger.clock = lambda: now[0]
    calls, started, step = 0, time.perf_counter(), max(1, len(pairs) // 10)
    done, next_report = 0, step
    for at, commands in feeds(pairs):
        now[0] = at
        o.ledger.record(commands, FEED)
        calls, done = calls + 1, done + len(commands)
        if done >= next_report:
            rate = done / (time.perf_counter() - started)
            say(f"     ... {done:,} of {len(pairs):,} commands recorded ({rate:,.0f}/s)")
            next_report += step
    return calls


def catch_up(o: Opened) -> int:
    started, last = time.perf_counter(), [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 30:
            last[0] = time.perf_counter()
            rate = done / (last[0] - started)
            say(f"     ... {done:,} of about {total:,} events projected ({rate:,.0f}/s)")

    return o.projector.catch_up(progress)


def row_counts(o: Opened) -> str:
    counts = [(t, o.views.fetch(f"SELECT COUNT(*) AS n FROM {{s}}{t}")[0]["n"]) for t in TABLES]
    return ", ".join(f"{table} {n:,}" for table, n in counts if table != "cl_events")


def analyze(o: Opened) -> None:
    """Table statistics, as autovacuum keeps them on a live server (this benchmark may run on
    one where it is off: a freshly loaded table has none until then)."""
    with o.views.datastore.transaction(commit=True) as cursor:
        for table in TABLES:
            cursor.execute(o.views.q(f"ANALYZE {{s}}{table}"))


def report_runs(
    o: Opened, label: str, until: date, by: By | None, runs: int, trend_months: int = 0
) -> list[float]:
    drift_report(o.views, until, by, trend_months=trend_months)  # warm-up
    return [
        clocked(label, lambda: drift_report(o.views, until, by, trend_months=trend_months))
        for _ in range(runs)
    ]


def thirteen_reports(o: Opened, until: date) -> None:
    """The trend as it was computed before: a whole report on each of its thirteen dates."""
    for day in month_ends(until, 12):
        drift_report(o.views, day)


@contextmanager
def one_lane(o: Opened) -> Iterator[None]:
    """The report with its measures one after another on one connection: for comparison, and
    for profiling (cProfile sees only the calling thread) and EXPLAIN (one transaction)."""
    lanes = o.views.report_lanes
    o.views.report_lanes = 1
    try:
        yield
    finally:
        o.views.report_lanes = lanes


def show_figures(store: str, children: int, figures: dict[str, list[float]]) -> None:
    header = (
        f"   {'measure':<42}{'median':>9}{'min-max':>13}{'runs':>5}{'ratio of target':>17}"
        f"{'CPU here':>10}"
    )
    say(header)
    say("   " + "-" * (len(header) - 3))
    for label, seconds in figures.items():
        median = statistics.median(seconds)
        spread = f"{min(seconds):.2f}-{max(seconds):.2f}"
        target = HTML_TARGET_SECONDS if label in (HTML_CALL, OLD_TREND) else TARGET_SECONDS
        say(
            f"   {label:<42}{median:>8.2f}s{spread:>13}{len(seconds):>5}"
            f"{median / target:>11.2f} of {target:.0f} s{statistics.median(CPU[label]):>9.2f}s"
        )
    for label, target in ((REPORT, TARGET_SECONDS), (HTML_CALL, HTML_TARGET_SECONDS)):
        median = statistics.median(figures[label])
        met = "met" if median < target else "not met"
        say(
            f"   {label}, {children:,} children, {STORE_NAMES[store]}: {median:.2f} s "
            f"(target {target:.0f} s: ratio {median / target:.2f} of target"
            + (f", {met})" if store == "postgres" else "; the target is PostgreSQL's)")
        )
    for clock, figure in (("wall clock", figures), ("CPU here", CPU)):
        html, old = statistics.median(figure[HTML_CALL]), statistics.median(figure[OLD_TREND])
        say(
            f"   {HTML_CALL} against {OLD_TREND}, {clock}: {html / old:.2f} of the time "
            f"({old / html:.1f}x less)"
        )
    CPU.clear()


# --- where the time goes -------------------------------------------------------------------


class _Spy:
    """A cursor that notes each statement it is given, exactly as the database gets it."""

    def __init__(self, cursor: Any, log: list[tuple[str, Any]]) -> None:
        self._cursor, self._log = cursor, log

    def execute(self, statement: str, params: Any = None) -> Any:
        self._log.append((statement, params))
        return self._cursor.execute(statement, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


Seen = list[tuple[float, str, Any]]  # seconds, statement, parameters


@contextmanager
def statements_timed() -> Iterator[Seen]:
    """Time each SQL statement the report runs, in order (wrapping Query.run for the
    duration only; the statements are those the cursor was given)."""
    seen: Seen = []
    original = Query.run

    def run(query: Any, sql: str, fetch: bool = True) -> Any:
        cursor, given = query.cursor, list[tuple[str, Any]]()
        query.cursor = _Spy(cursor, given)
        started = time.perf_counter()
        try:
            return original(query, sql, fetch)
        finally:
            query.cursor = cursor
            seen.extend((time.perf_counter() - started, st, ps) for st, ps in given[-1:])

    Query.run = run  # type: ignore[method-assign, assignment]
    try:
        yield seen
    finally:
        Query.run = original  # type: ignore[method-assign]


def show_profile(o: Opened, until: date, top: int) -> None:
    profiler = cProfile.Profile()
    with statements_timed() as seen:
        gc.collect()
        profiler.enable()
        drift_report(o.views, until)
        profiler.disable()
    print_profile(profiler, "one drift report (by=None)", top)
    say(f"\n   SQL statements of that report, slowest first ({sum(s for s, _, _ in seen):.2f} s)")
    for seconds, text, _ in sorted(seen, key=lambda s: -s[0])[:top]:
        say(f"   {seconds:>7.3f} s  {_one_line(text)[:110]}")


def explain(o: Opened, until: date, top: int) -> None:
    """PostgreSQL's plans, with actual times, of the report's slowest statements: the report's
    statements are replayed in order in one transaction (rolled back), the slowest under
    EXPLAIN ANALYZE, so that each sees the temporary table as the report did."""
    with statements_timed() as seen:
        drift_report(o.views, until)
    slowest = sorted(range(len(seen)), key=lambda i: -seen[i][0])[:top]
    with o.views.datastore.transaction(commit=False) as cursor:
        o.views.start_report(cursor, None)  # the report's settings (work_mem) and isolation
        for i, (seconds, statement, params) in enumerate(seen):
            if i not in slowest:
                cursor.execute(statement, params)
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            plan = "\n".join(f"      {row['QUERY PLAN']}" for row in cursor.fetchall())
            say(
                f"\n   EXPLAIN ANALYZE ({seconds:.3f} s in the report): {_one_line(statement)[:90]}"
            )
            say(plan)


def _one_line(sql: str) -> str:
    return " ".join(sql.split())


# --- a run ---------------------------------------------------------------------------------


def generate(o: Opened, children: int, args: argparse.Namespace) -> None:
    seconds, pairs = timed(lambda: synthetic_history(children, seed=args.seed, until=args.until))
    say(f"   generated {len(pairs):,} commands in {seconds:.1f} s")
    seconds, calls = timed(lambda: load(o, pairs))
    say(
        f"   loading: {len(pairs):,} commands in {calls:,} calls (one per feed): "
        f"{seconds:.1f} s, {len(pairs) / seconds:,.0f} commands/s"
    )


def run(store: str, children: int, args: argparse.Namespace) -> None:
    until: date = args.until
    say(f"\n== {STORE_NAMES[store]}, {children:,} children, seed {args.seed}, until {until}")
    if args.reuse:
        context: Any = nullcontext(args.reuse)
        say(f"   reusing the ledger at {args.reuse} (generated earlier with these settings)")
    else:
        context = postgres_store(args.keep) if store == "postgres" else sqlite_store()
    with context as db, opened(db, create_tables=True) as o:
        if not args.reuse:
            generate(o, children, args)
        seconds, events = timed(lambda: catch_up(o))
        say(f"   catch-up: {events:,} events in {seconds:.1f} s, {events / seconds:,.0f} events/s")
        say(f"   projection rows: {row_counts(o)}")
        if store == "postgres":
            seconds, _ = timed(lambda: analyze(o))
            say(f"   ANALYZE of the projection tables (what autovacuum would do): {seconds:.1f} s")
        figures = {
            REPORT: report_runs(o, REPORT, until, None, args.runs),
            BY_IRO: report_runs(o, BY_IRO, until, By.IRO, args.runs),
            HTML_CALL: report_runs(o, HTML_CALL, until, None, args.runs, trend_months=12),
            OLD_TREND: [
                clocked(OLD_TREND, lambda: thirteen_reports(o, until)) for _ in range(args.runs)
            ],
        }
        if o.views.report_lanes > 1:
            with one_lane(o):
                label = "drift report (by=None), one lane"
                figures[label] = report_runs(o, label, until, None, args.runs)
        show_figures(store, children, figures)
        with one_lane(o):
            if args.profile:
                show_profile(o, until, args.profile)
            if args.explain and store == "postgres":
                explain(o, until, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, nargs="+", default=[10_000, 80_000])
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="postgres")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--until", type=date.fromisoformat, default=date(2025, 11, 28))
    parser.add_argument("--runs", type=int, default=5, help="timed reports per measure")
    parser.add_argument(
        "--aggregate-cache",
        type=int,
        metavar="CASES",
        help="cases the ledger keeps in memory while loading (CARELEDGER_AGGREGATE_CACHE_MAXSIZE; "
        "default: the ledger's own, 10,000, against which most of 80,000 children's commands "
        "replay the child's case from the store)",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        type=int,
        const=15,
        default=0,
        metavar="TOP",
        help="cProfile's hot spots of one report and its SQL statements (top TOP)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE the slowest statements (PostgreSQL)"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the PostgreSQL schema and print the URL for --reuse (loading 80,000 "
        "children and projecting them take 45 to 80 minutes)",
    )
    parser.add_argument(
        "--reuse",
        metavar="URL",
        help="time the report on a ledger kept by --keep (one --children and --store), "
        "catching its projections up first: for measuring a change to the report",
    )
    args = parser.parse_args()
    if args.reuse and (len(args.children) != 1 or args.store == "both"):
        parser.error("--reuse takes one --children (the kept ledger's) and one --store")
    if args.runs < 1 or min(args.children) < 1:
        parser.error("--runs and --children must be positive")
    if args.aggregate_cache:
        os.environ["CARELEDGER_AGGREGATE_CACHE_MAXSIZE"] = str(args.aggregate_cache)
    say(
        f"careledger drift benchmark: Python {platform.python_version()}, eventsourcing "
        f"{version('eventsourcing')}, pydantic {version('pydantic')}, psycopg "
        f"{psycopg.__version__} ({psycopg.pq.__impl__}), {os.cpu_count()} CPUs; ledger cache "
        f"{os.environ.get('CARELEDGER_AGGREGATE_CACHE_MAXSIZE', 'default')}"
    )
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    for children in args.children:
        for store in stores:
            run(store, children, args)


if __name__ == "__main__":
    main()
