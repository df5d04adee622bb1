"""Peak memory of the projections' rebuild and catch-up, at two or more ledger sizes.

    .venv/bin/python benchmarks/projection_memory.py [--store sqlite|postgres|both]
                                                     [--children N [N ...]]
                                                     [--modes rebuild catch-up batches]

For each size it records a log of invented children (`careledger.synthetic`, as
benchmarks/drift.py builds its log: recorded in order of recording, so the children's
records interleave), then measures, each in a new process so that its peak is its own:

- `rebuild`: `careledger projections rebuild` (`Projector.rebuild`);
- `catch-up`: a catch-up of the whole log into empty views (`Projector.catch_up`, as after a
  bulk import: far behind, so the lag is applied as one stretch, case by case);
- `batches`: the same catch-up made to go batch by batch (500 events a batch, the way a
  projector that follows the ledger applies what arrives), its cache of cases at its bound.

Each prints the process's peak RSS during the rebuild or catch-up alone (VmHWM, reset once
the ledger is open), beside the peak while opening (imports and start-up, the same at any
size) and the RSS just before; the CPU time per event; the log's size. Flat memory means the
peaks are about the same at every size.

At the end, for each store and mode, the targets: the process's peak (opening included)
under 250 MiB at every size; the same at every size (the peak of the rebuild or catch-up
alone, each size's over the smallest's, printed as a ratio; "the same" is taken as within
1.1); and a linear rebuild: the CPU per event of each size within 1.2 of the smallest's.

`--ledger CHILDREN URL` measures an existing ledger as well, loaded elsewhere with the same
generator (seed 1, until 2025-11-28): `benchmarks/drift.py --keep`'s 80,000 children, say.
Its projections are rebuilt (or reset and caught up): they end as they were.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from careledger.api import opened  # noqa: E402
from careledger.ledger.domain import payloads as p  # noqa: E402
from careledger.ledger.domain.commands import Command  # noqa: E402
from careledger.synthetic import synthetic_history  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
FEED = p.Actor(actor_id="lcs-feed", role="ADMIN")
UNTIL = date(2025, 11, 28)
CALL = 2_000  # commands per record call, at most
MODES = ("rebuild", "catch-up", "batches")
PEAK_TARGET_MIB = 250
SAME_PEAK = 1.1  # the largest size's peak over the smallest's, at most, to count as the same
LINEAR = 1.2  # the largest size's CPU per event over the smallest's, at most
FIGURES = "figures: "  # the line a measuring process ends with, read by the parent


def calls(pairs: list[tuple[datetime, Command]]) -> Iterator[tuple[datetime, list[Command]]]:
    """Consecutive feeds merged into calls of about CALL commands, each recorded at its last
    feed's time (nothing in a call happened after it): the log keeps its interleaving and
    loads in far fewer calls than one per feed."""
    call: list[Command] = []
    at = pairs[0][0] if pairs else datetime.min
    for at, group in groupby(pairs, key=lambda pair: pair[0]):
        call += [command for _, command in group]
        if len(call) >= CALL:
            yield at, call
            call = []
    if call:
        yield at, call


def load(db: str, children: int) -> int:
    with opened(db, create_tables=True, catch_up=False) as o:
        now = [datetime.min]
        o.ledger.clock = lambda: now[0]
        for at, commands in calls(synthetic_history(children, seed=1, until=UNTIL)):
            now[0] = at
            o.ledger.record(commands, FEED)
        return o.ledger.recorder.max_notification_id() or 0


def measure(db: str, mode: str) -> None:
    """In this process: one rebuild or catch-up, then its figures on one line."""
    with opened(db, catch_up=False) as o:
        if mode != "rebuild":
            o.views.reset(o.ledger.name)
        if mode == "batches":
            o.projector.stretch = sys.maxsize
        events = o.ledger.recorder.max_notification_id() or 0
        opened_peak, before = rss("VmHWM"), rss("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # the peak from here on (Linux)
        started, wall = time.process_time(), time.perf_counter()
        o.projector.rebuild() if mode == "rebuild" else o.projector.catch_up()
        cpu, wall = time.process_time() - started, time.perf_counter() - wall
        cached = len(o.views._cases)
        peak = rss("VmHWM")
    figures = {
        "events": events,
        "peak": max(peak, opened_peak),
        "own_peak": peak,
        "cpu_us": 1e6 * cpu / max(events, 1),
    }
    print(
        f"{mode:<9} {events:>9,} events  peak RSS {peak:>5} MiB (opening: {opened_peak}, "
        f"{before} before)  "
        f"{1e6 * cpu / max(events, 1):>5.0f} µs CPU/event  {wall:>6.1f} s wall  "
        f"{cached:>6,} cases cached",
        flush=True,
    )
    print(FIGURES + json.dumps(figures), flush=True)


def rss(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) // 1024
    return 0


@contextmanager
def store(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="careledger-memory-") as folder:
            yield os.path.join(folder, "careledger.ledger.db")
        return
    url = os.environ.get("CARELEDGER_TEST_POSTGRES", DEFAULT_POSTGRES)
    schema = f"cl_memory_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(url)
    with psycopg.connect(urlunsplit((*parts[:3], "", "")), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield urlunsplit((parts.scheme, parts.netloc, parts.path, f"schema={schema}", ""))
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


Figures = dict[tuple[str, str, int], dict[str, float]]  # (store, mode, children) -> figures


def measure_apart(db: str, mode: str) -> dict[str, float]:
    """One measure in a process of its own (its peak is its own); its line is echoed."""
    command = [sys.executable, __file__, "--measure", mode, "--db", db]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    figures: dict[str, float] = {}
    for line in done.stdout.splitlines():
        if line.startswith(FIGURES):
            figures = json.loads(line[len(FIGURES) :])
        else:
            print(line, flush=True)
    return figures


def show_targets(results: Figures) -> None:
    """Each store's and mode's figures at every size, against the targets."""
    print(
        f"\ntargets: peak RSS (opening included) under {PEAK_TARGET_MIB} MiB, and its own "
        f"(the rebuild's or catch-up's) the same at every size (within {SAME_PEAK}x the "
        f"smallest's); CPU per event within {LINEAR}x the smallest size's (a linear rebuild)"
    )
    for kind, mode in dict.fromkeys((k, m) for k, m, _ in results):
        sizes = sorted(c for k, m, c in results if (k, m) == (kind, mode))
        rows = [results[kind, mode, children] for children in sizes]
        for children, row in zip(sizes, rows, strict=True):
            print(
                f"  {kind:<8} {mode:<9} {children:>7,} children {int(row['events']):>10,} events"
                f"  peak {row['peak']:>4.0f} MiB ({row['peak'] / PEAK_TARGET_MIB:.2f} of "
                f"{PEAK_TARGET_MIB}; its own {row['own_peak']:.0f})  "
                f"{row['cpu_us']:>6.0f} µs CPU/event"
            )
        smallest = rows[0]
        for children, row in zip(sizes[1:], rows[1:], strict=True):
            same = row["own_peak"] / smallest["own_peak"]
            under, alike = row["peak"] < PEAK_TARGET_MIB, same <= SAME_PEAK
            linear = row["cpu_us"] / smallest["cpu_us"]
            print(
                f"  {kind:<8} {mode:<9} {children:,} against {sizes[0]:,} children: its own "
                f"peak {same:.2f}x ({met(under and alike)}: under {PEAK_TARGET_MIB} MiB "
                f"{yes(under)}, the same {yes(alike)}); CPU per event {linear:.2f}x (target "
                f"{LINEAR}x: {met(linear <= LINEAR)})"
            )


def met(done: bool) -> str:
    return "met" if done else "NOT met"


def yes(done: bool) -> str:
    return "yes" if done else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--children", type=int, nargs="*", default=[2_000, 8_000])
    parser.add_argument("--modes", choices=MODES, nargs="+", default=list(MODES))
    parser.add_argument(
        "--ledger",
        nargs=2,
        action="append",
        default=[],
        metavar=("CHILDREN", "URL"),
        help="also measure this existing ledger of CHILDREN invented children (its --store)",
    )
    parser.add_argument("--measure", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.db, args.measure)
        return
    if args.ledger and args.store == "both":
        parser.error("--ledger takes one --store, the ledgers' own")
    results: Figures = {}
    for kind in ("sqlite", "postgres") if args.store == "both" else (args.store,):
        for children in args.children:
            with store(kind) as db:
                started = time.perf_counter()
                events = load(db, children)
                took = time.perf_counter() - started
                print(f"{kind}, {children:,} children: {events:,} events loaded in {took:.0f} s")
                for mode in args.modes:
                    print(f"  {datetime.now():%H:%M}, load average {load_average()}", flush=True)
                    results[kind, mode, children] = measure_apart(db, mode)
        for children_text, db in args.ledger:
            print(f"{kind}, {int(children_text):,} children: the ledger at {db}")
            for mode in args.modes:
                print(f"  {datetime.now():%H:%M}, load average {load_average()}", flush=True)
                results[kind, mode, int(children_text)] = measure_apart(db, mode)
    show_targets(results)
    print(f"{datetime.now():%Y-%m-%d %H:%M}, load average {load_average()}", flush=True)


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
