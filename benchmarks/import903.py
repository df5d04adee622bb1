"""Importing an SSDA903 return: speed against bare `eventsourcing` bulk saves, and memory.

    .venv/bin/python benchmarks/import903.py [--store sqlite|postgres|both] [--rounds R]
                                             [--return DIR] [--year YEAR]

For each store (a temporary SQLite file; a PostgreSQL schema of its own, created and dropped)
it imports the 2,675-child sample return (tests/data/ssda903/d2i_validator_fake_2017_18,
with --accept-partial: 28 children have reviews dated in the future) R times, each round
under a new council code so that every round records everything, and alternates with the
baseline: a bare `eventsourcing` Application saving as many trivial aggregates, with as many
stored events each, in saves of as many aggregates as the import's batches (target:
ratio >= 0.5). The import's time counts everything `import-903` does before the projections
catch up: finding and hashing the files, reading and checking every row, staging them by
child, building the events and saving them.

A second ratio, for comparison only, is against bare saves of events carrying as many
characters of state as the import's events do on average.

A third figure, to show how far the import can go: the ledger's recording alone of the same
events (the return read, checked and mapped beforehand, then saved batch by batch through
`CareLedger.save_reported`, as the import saves them) against the same bare saves. Reading the
return can only lower the import's ratio below this one. The import against that recording,
in the same rounds, is the fourth (target: ratio >= 0.6): what reading a real return costs
beside recording its events.

Memory: the peak traced by `tracemalloc` while importing the return, and while importing a
return four times its size (the same rows under four sets of child ids). Flat memory means
the two peaks are about the same: the importer holds one batch of children, not the return.

And the command's whole peak: `careledger import-903` of the return and of sixteen times
it, catch-up included, each in a process of its own into a new ledger (its maximum resident
set, as the kernel counts it for the process), against the target of 250 MiB.
`--memory-only` measures that alone.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eventsourcing.domain import Aggregate, event  # noqa: E402

from benchmarks.run import BareApp, Counter, postgres_store, sqlite_store  # noqa: E402
from careledger.api import opened  # noqa: E402
from careledger.ledger.domain import payloads as p  # noqa: E402
from careledger.ledger.ssda903.files import Checked  # noqa: E402
from careledger.ledger.ssda903.importer import ImportReport, ReturnImport  # noqa: E402
from careledger.ledger.ssda903.mapping import ChildRows  # noqa: E402
from careledger.ledger.ssda903.restatements import changes_for  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "ssda903" / "d2i_validator_fake_2017_18"
ACTOR = p.Actor(actor_id="bench", role="ADMIN")
TARGET = 0.5
OWN_TARGET = 0.6  # the import against the ledger's own recording of its events
PEAK_TARGET_MIB = 250  # `careledger import-903` of 16 times the return, catch-up included
COMMAND = "from careledger.cli.main import main; main()"


def import_once(db: str, council: str, directory: Path, year: int) -> tuple[float, ImportReport]:
    with opened(db) as o:
        importer = ReturnImport(o.ledger, council, year, ACTOR)
        gc.collect()
        started = time.perf_counter()
        report = importer.run(directory, accept_partial=True)
        return time.perf_counter() - started, report


class Prepared(ReturnImport):
    """The import with its saves held back: each batch's children with the events the import
    would record for them in a ledger that has none of them yet."""

    batches: list[list[tuple[str, list[p.Payload]]]]

    def _save(self, report: ImportReport, batch: list[tuple[str, list[Checked]]]) -> None:
        today = self._today()
        self.batches.append(
            [
                (child, changes_for(None, ChildRows(self.year, today, rows), child).payloads)
                for child, rows in batch
            ]
        )


def prepared(db: str, directory: Path, year: int) -> list[list[tuple[str, list[p.Payload]]]]:
    with opened(db) as o:
        reading = Prepared(o.ledger, "PREPARED", year, ACTOR)
        reading.batches = []
        reading.run(directory, accept_partial=True)
        return reading.batches


def record_prepared(
    db: str, council: str, batches: list[list[tuple[str, list[p.Payload]]]]
) -> float:
    """Seconds to record the prepared events, one save per batch, as the import does."""
    with opened(db) as o:
        gc.collect()
        started = time.perf_counter()
        for batch in batches:
            reports = [(None, child, payloads) for child, payloads in batch]
            o.ledger.save_reported(council, reports, ACTOR)
        return time.perf_counter() - started


def stored_events(report: ImportReport) -> int:
    return report.events + report.children  # each child's case also stores CaseOpened


def bare_saves(bare: BareApp, sizes: list[int], batch: int) -> float:
    """Seconds to save aggregates of these event counts, `batch` aggregates per save."""
    gc.collect()
    started = time.perf_counter()
    for first in range(0, len(sizes), batch):
        aggregates = []
        for size in sizes[first : first + batch]:
            counter = Counter()
            for _ in range(size - 1):
                counter.count()
            aggregates.append(counter)
        bare.save(*aggregates)
    return time.perf_counter() - started


class Carrier(Aggregate):
    """A second baseline: bare events that each carry as many bytes as the import's."""

    @event("Started")
    def __init__(self, data: str) -> None:
        self.data = data

    @event("Carried")
    def carry(self, data: str) -> None:
        self.data = data


def bare_sized_saves(bare: BareApp, sizes: list[int], batch: int, payload: int) -> float:
    """As `bare_saves`, with events of `payload` characters of state each."""
    data = "x" * payload
    gc.collect()
    started = time.perf_counter()
    for first in range(0, len(sizes), batch):
        aggregates = []
        for size in sizes[first : first + batch]:
            carrier = Carrier(data)
            for _ in range(size - 1):
                carrier.carry(data)
            aggregates.append(carrier)
        bare.save(*aggregates)
    return time.perf_counter() - started


def mean_payload(db: str, council: str) -> int:
    """The mean length of the imported events' state (as the projection holds it)."""
    with opened(db) as o:
        rows = o.views.fetch(
            "SELECT AVG(LENGTH(e.payload)) AS n FROM {s}cl_events e "
            "JOIN {s}cl_cases c ON c.case_id = e.case_id WHERE c.council=?",
            (council,),
        )
    return int(rows[0]["n"])


def event_counts(db: str, council: str) -> list[int]:
    """Stored events per case of a council, as the baseline must save them."""
    with opened(db) as o:
        o.catch_up()
        rows = o.views.fetch(
            "SELECT last_seq FROM {s}cl_cases WHERE council=? ORDER BY child_ref", (council,)
        )
    return [row["last_seq"] for row in rows]


def scaled_copy(directory: Path, times: int, into: Path) -> Path:
    """The return with every row repeated under `times` sets of child ids."""
    for path in directory.glob("*.csv"):
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        if not rows or "CHILD" not in rows[0]:
            continue
        at = rows[0].index("CHILD")
        with (into / path.name).open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(rows[0])
            for copy in range(times):
                for row in rows[1:]:
                    writer.writerow([f"{v}x{copy}" if i == at else v for i, v in enumerate(row)])
    return into


def peak_mib(db: str, council: str, directory: Path, year: int) -> tuple[float, int]:
    gc.collect()
    tracemalloc.start()
    try:
        _, report = import_once(db, council, directory, year)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20, report.children


def command_peak(db: str, council: str, directory: Path, year: int) -> tuple[int, float]:
    """`careledger import-903` (catch-up included) in a process of its own: its maximum
    resident set in MiB (`wait4`'s, the kernel's count for that process) and its seconds."""
    command = [
        *(sys.executable, "-c", COMMAND, "import-903", "--db", db, "--council", council),
        *("--year", str(year), "--accept-partial", "--report", os.devnull, str(directory)),
    ]
    env = os.environ | {"CARELEDGER_ACTOR": "bench", "CARELEDGER_CATCH_UP": "true"}
    started = time.perf_counter()
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) as process:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"import-903 failed (exit status {process.returncode})")
    return usage.ru_maxrss // 1024, time.perf_counter() - started


def command_peaks(store: str, directory: Path, year: int) -> None:
    """The command's peak for the return and for sixteen times it, each into a new ledger."""
    print(f"\n== {store}: careledger import-903, catch-up included, each into a new ledger")
    peaks = []
    for times in (1, 16):
        context = sqlite_store() if store == "sqlite" else postgres_store()
        with context as (db, _), tempfile.TemporaryDirectory(prefix="careledger-903x") as big:
            with opened(db, create_tables=True):
                pass
            source = directory if times == 1 else scaled_copy(directory, times, Path(big))
            peak, seconds = command_peak(db, "E10000001", source, year)
            with opened(db, catch_up=False) as o:
                events = o.ledger.recorder.max_notification_id() or 0
                behind = o.projector.status().lag
        peaks.append(peak)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"{times:>2}x the return: {events:,} events, max RSS {peak} MiB (target "
            f"{PEAK_TARGET_MIB} MiB: ratio {peak / PEAK_TARGET_MIB:.2f}, "
            f"{'met' if peak < PEAK_TARGET_MIB else 'NOT met'}); {seconds:.0f} s; projections "
            f"{behind} events behind after it; load average {load}"
        )
    print(f"16x against 1x: max RSS x{peaks[1] / peaks[0]:.2f}")


def run_store(store: str, directory: Path, year: int, rounds: int) -> None:
    context = sqlite_store() if store == "sqlite" else postgres_store()
    with context as (db, bare_env):
        with opened(db, create_tables=True):
            pass
        bare = BareApp({**bare_env, "CREATE_TABLE": "yes"})
        try:
            import_once(db, "WARMUP", directory, year)  # warm-up: imports, caches, JIT-free
            sizes = event_counts(db, "WARMUP")
            payload = mean_payload(db, "WARMUP")
            bare_saves(bare, sizes, ReturnImport.batch_size)
            batches = prepared(db, directory, year)
            ours, theirs, ratios, sized, alone, own = [], [], [], [], [], []
            events = 0
            for r in range(rounds):
                council = f"B{r}"
                if r % 2:
                    t_bare = bare_saves(bare, sizes, ReturnImport.batch_size)
                    t_alone = record_prepared(db, f"R{r}", batches)
                    t_ours, report = import_once(db, council, directory, year)
                else:
                    t_ours, report = import_once(db, council, directory, year)
                    t_alone = record_prepared(db, f"R{r}", batches)
                    t_bare = bare_saves(bare, sizes, ReturnImport.batch_size)
                events = stored_events(report)
                ours.append(events / t_ours)
                theirs.append(sum(sizes) / t_bare)
                ratios.append(ours[-1] / theirs[-1])
                alone.append(t_bare / t_alone)
                own.append(t_alone / t_ours)  # the same events: the ratio of the rates
                t_sized = bare_sized_saves(bare, sizes, ReturnImport.batch_size, payload)
                sized.append(ours[-1] / (sum(sizes) / t_sized))
            del batches
            with tempfile.TemporaryDirectory(prefix="careledger-903x4-") as big:
                small_peak, small_n = peak_mib(db, "M1", directory, year)
                large_peak, large_n = peak_mib(db, "M4", scaled_copy(directory, 4, Path(big)), year)
        finally:
            bare.close()
    print(f"\n== {store}: {directory.name}, {events} stored events per import, {rounds} rounds")
    print(f"import-903          {statistics.median(ours):9.0f} events/s (median)")
    print(f"bare bulk saves     {statistics.median(theirs):9.0f} events/s (median)")
    print(
        f"ratio               {statistics.median(ratios):9.2f}  (rounds {min(ratios):.2f}-"
        f"{max(ratios):.2f}; target >= {TARGET})"
    )
    print(
        f"ratio, bare events of the import's mean size ({payload} characters): "
        f"{statistics.median(sized):.2f} (not the issue's baseline; for comparison)"
    )
    print(
        f"ratio, the ledger's recording alone of the same events: {statistics.median(alone):.2f}"
        " (the ceiling for the import's ratio; for comparison)"
    )
    print(
        f"import-903 against the ledger's own recording of the same events: "
        f"{statistics.median(own):.2f} (rounds {min(own):.2f}-{max(own):.2f}; "
        f"target >= {OWN_TARGET})"
    )
    print(
        f"peak memory         {small_peak:9.1f} MiB for {small_n} children; "
        f"{large_peak:.1f} MiB for {large_n} children (x{large_peak / small_peak:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--return", dest="directory", type=Path, default=SAMPLE)
    parser.add_argument("--year", type=int, default=2017)
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="only the command's peak memory, for the return and sixteen times it",
    )
    args = parser.parse_args()
    for store in ("sqlite", "postgres") if args.store == "both" else (args.store,):
        if not args.memory_only:
            run_store(store, args.directory, args.year, args.rounds)
        command_peaks(store, args.directory, args.year)


if __name__ == "__main__":
    main()
