"""Reliability trials: what careledger keeps, refuses and notices when things go wrong.

    .venv/bin/python benchmarks/reliability.py [--store sqlite|postgres|both] [--trials N]
        [--writer-events N] [--measures concurrency,kill,tamper,corpus] [--quick]

careledger is driven as its users drive it: the `careledger` command in subprocesses
(CARELEDGER_DB, CARELEDGER_ACTOR, CARELEDGER_ROLE; JSON Lines files as README describes them,
built from the demo's histories) and the Python API (`CareLedger.record`, opened as the CLI
opens it). Each store is a temporary SQLite file, or a PostgreSQL schema of its own on
CARELEDGER_TEST_POSTGRES (default the local server), created and dropped. Per store:

1. concurrent writers: four processes (two through the API, two through `careledger record
   --file`) record interleaved events for overlapping children; then, from the store: no
   event a writer was told was recorded is missing, none is there twice, none is there that
   a writer was told was refused; each case's events are numbered 1..n in log order and each
   writer's events are in the log in the order it recorded them; the projections equal a
   rebuild. Each writer's outcomes are counted: recorded, refused with a clear message
   ("nothing recorded"), refused otherwise, traceback.
2. kill -9: `careledger record --file` (the demo's histories), `careledger import-903` (the
   2021 sample return) and catch-up (`careledger projections rebuild`, or a read command
   catching up after events recorded through the API) killed after a random delay within the
   command's own run time. After each: `record` left all its lines or none; the import left
   each child whole or absent, and running it again completes it with nothing twice; the
   chain verifies (the function `careledger verify` runs, in this process); the projections,
   caught up, equal a rebuild.
3. tampering: a database administrator's edits, each on a fresh ledger, and which check
   catches it: the append-only triggers refusing the statement, `careledger verify`,
   `verify --seal` with a seal made before, `verify --projections` when that option exists.
4. bad input: about seventy inputs no ledger should take (control characters, absurd sizes,
   impossible dates, look-alike ids, broken returns...) through the CLI, each classified as
   a clear error, an error that is not clear, a traceback, wrongly accepted, or a timeout;
   each runs on a ledger of its own, and a refusal must leave its event count as it was.

The targets: 0 lost, 0 duplicated, 0 out of order, 0 applied twice (projections differing
from a rebuild), 0 tracebacks, 0 wrongly accepted, every tamper case caught. Exit status:
0 when every target is met, 1 when any is missed (the figures are printed either way), 2
when the run could not start (bad options, PostgreSQL unreachable).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from careledger.api import Opened, opened  # noqa: E402
from careledger.ledger.domain import payloads as p  # noqa: E402
from careledger.ledger.domain.commands import parse_command  # noqa: E402
from careledger.ledger.domain.identity import case_id  # noqa: E402
from careledger.ledger.errors import LedgerError  # noqa: E402
from careledger.ledger.integrity.chain import (  # noqa: E402
    GENESIS,
    ChainRow,
    StoredRow,
    chain,
    event_hash,
    next_digest,
)
from careledger.ledger.integrity.verify import verify  # noqa: E402
from careledger.projections.schema import TABLES as VIEW_TABLES  # noqa: E402
from tests.tamper import Direct, direct  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CARELEDGER = str(Path(sys.executable).with_name("careledger"))
DEMO = ROOT / "cli" / "demo" / "demo.jsonl"
SAMPLE_RETURN = ROOT / "tests" / "data" / "ssda903" / "d2i_demand_model_multiyear" / "2021"
SAMPLE_COUNCIL, SAMPLE_YEAR = "E09000027", 2021
COUNCIL = "E10000099"
ACTOR = p.Actor(actor_id="reliability.bench", role="ADMIN")
USER_ENV = {"CARELEDGER_ACTOR": "sw-2210", "CARELEDGER_ROLE": "SW"}
NOTHING_RECORDED = "nothing recorded"
CLEAR_LINES, CLEAR_CHARS = 5, 2_000  # an error message longer than this is not clear
WRITER_CHILDREN = [f"CW-{n:02d}" for n in range(1, 6)]
TM = {"name": "Priya Nand", "role": "TM"}
IRO = {"name": "Dana Whitlock", "role": "IRO"}


def say(text: str = "") -> None:
    print(text, flush=True)


# --- running careledger ---------------------------------------------------------------------


@dataclass
class Run:
    exit_code: int | None  # None: killed or timed out
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.stderr

    @property
    def first_error_line(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if self.traceback and lines else (lines[0] if lines else "")


def user_env(db: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELEDGER_")}
    return env | USER_ENV | {"CARELEDGER_DB": db, "COLUMNS": "200"} | extra


def careledger(args: list[str], env: dict[str, str], timeout: float = 120) -> Run:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [CARELEDGER, *args], env=env, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as expired:
        return Run(None, _text(expired.stdout), _text(expired.stderr), timeout, timed_out=True)
    seconds = time.perf_counter() - started
    return Run(done.returncode, _text(done.stdout), _text(done.stderr), seconds)


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data or ""


def killed_after(args: list[str], env: dict[str, str], delay: float) -> Run:
    """Start the command and SIGKILL it after `delay` seconds, unless it finished first."""
    started = time.perf_counter()
    with subprocess.Popen(
        [CARELEDGER, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=delay)
            return Run(
                process.returncode, _text(stdout), _text(stderr), time.perf_counter() - started
            )
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            stdout, stderr = process.communicate()
            return Run(None, _text(stdout), _text(stderr), time.perf_counter() - started)


# --- stores -----------------------------------------------------------------------------------


class Stores:
    """Fresh ledger locations on one kind of store: SQLite files in a temporary folder, or
    PostgreSQL schemas of their own, all removed by `close`."""

    def __init__(self, kind: str, folder: Path, server: str) -> None:
        self.kind = kind
        self.folder = folder
        self.server = server
        self.schemas: list[str] = []
        self.admin: psycopg.Connection[Any] | None = None
        if kind == "postgres":
            self.admin = psycopg.connect(server, autocommit=True, connect_timeout=5)

    def fresh(self, name: str) -> str:
        """A new, initialised, empty ledger."""
        if self.admin is None:
            db = str(self.folder / f"{name}-{uuid.uuid4().hex[:8]}.db")
        else:
            schema = f"cl_reliability_{uuid.uuid4().hex[:10]}"
            self.admin.execute(f'CREATE SCHEMA "{schema}"')
            self.schemas.append(schema)
            parts = urlsplit(self.server)
            db = urlunsplit((parts.scheme, parts.netloc, parts.path, f"schema={schema}", ""))
        with opened(db, create_tables=True):
            pass
        return db

    def close(self) -> None:
        if self.admin is None:
            return
        for schema in self.schemas:
            self.admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self.admin.close()


# --- reading the store ------------------------------------------------------------------------


def event_count(db: str) -> int:
    with direct(db) as store:
        return int(store.run("SELECT count(*) FROM {events}")[0][0])


def events_marked(store: Direct, marker: str) -> int:
    """Stored events whose state holds `marker` (the states are JSON: no cipher here)."""
    test = "instr(state, ?) > 0" if store.kind == "sqlite" else "position(?::bytea in state) > 0"
    return int(store.run(f"SELECT count(*) FROM {{events}} WHERE {test}", marker.encode())[0][0])


def view_rows(store: Direct) -> dict[str, Counter[tuple[Any, ...]]]:
    return {
        table: Counter(tuple(row) for row in store.run(f"SELECT * FROM {table}"))
        for table in VIEW_TABLES
    }


def differing_tables(db: str, o: Opened) -> list[str]:
    """Catch the views up as a read command would, then compare every view table's rows with
    what a rebuild from the first event gives; returns the tables that differ, with how."""
    o.catch_up()
    with direct(db) as store:
        live = view_rows(store)
        o.projector.rebuild()
        rebuilt = view_rows(store)
    differences = []
    for table in VIEW_TABLES:
        extra = sum((live[table] - rebuilt[table]).values())
        missing = sum((rebuilt[table] - live[table]).values())
        if extra or missing:
            differences.append(f"{table} (+{extra} -{missing} rows against a rebuild)")
    return differences


def chain_intact(o: Opened) -> bool:
    return verify(o.ledger.store_recorder).intact


# --- events -----------------------------------------------------------------------------------


def demo_lines() -> list[dict[str, Any]]:
    """The demo's histories, as `careledger record --file` reads them (without the demo-only
    `recorded_on`)."""
    lines = []
    for text in DEMO.read_text(encoding="utf-8").splitlines():
        if text.strip():
            line = json.loads(text)
            line.pop("recorded_on", None)
            lines.append(line)
    return lines


def renamed(lines: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    """The same histories for other children (`NR-0101-K3`), each source marked with `tag`."""
    return [
        line | {"child": f"{line['child']}-{tag}", "source": f"{line['source']}#{tag}"}
        for line in lines
    ]


def jsonl(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def opening(child: str, on: str = "2024-01-08", source: str = "LCS/EPI/1") -> dict[str, Any]:
    return {
        "type": "ChildBecameLookedAfter",
        "council": COUNCIL,
        "child": child,
        "occurred_on": on,
        "source": source,
        "legal_status": "C2",
        "placement": "U4",
    }


def writer_event(writer: int, number: int, child: str) -> dict[str, Any]:
    """One of four kinds of event that any order of recording accepts."""
    on = (date(2024, 2, 1) + timedelta(days=number % 600)).isoformat()
    base = {"council": COUNCIL, "child": child, "occurred_on": on, "source": f"W{writer}/{number}"}
    tag = f"W{writer}-{number}"
    kinds: list[dict[str, Any]] = [
        {"type": "IROAllocated", "iro_id": f"IRO-{tag}", "iro_name": "Dana Whitlock"},
        {
            "type": "SocialWorkerAllocated",
            "worker_id": f"SW-{tag}",
            "worker_name": "Omar Reece",
            "team": "Children in Care East",
        },
        {
            "type": "CarePlanSectionChanged",
            "change_id": f"CH-{tag}",
            "section": "health",
            "content": f"Health plan {tag}",
            "significant": False,
            "decided_by": TM,
            "authority": {"kind": "none"},
        },
        {
            "type": "ChangeProposed",
            "proposal_id": f"P-{tag}",
            "section": "education",
            "content": f"School support {tag}",
            "significant": True,
            "proposed_by": TM,
        },
    ]
    return base | kinds[number % len(kinds)]


# --- 1. concurrent writers --------------------------------------------------------------------


@dataclass
class WriterReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    recorded: list[list[str]] = field(default_factory=list)  # each batch's sources, in order
    refused: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # one of each kind of non-recording


def writer_batches(
    writer: int, events: int, seed: int, size: Callable[[random.Random], int]
) -> Iterator[list[dict[str, Any]]]:
    """The writer's events in batches: children chosen among its neighbours' too, so that
    writers share children and some batches go to the same child."""
    rng = random.Random(seed)
    number = 0
    while number < events:
        batch = []
        for _ in range(min(size(rng), events - number)):
            child = WRITER_CHILDREN[(writer + rng.randint(0, 2)) % len(WRITER_CHILDREN)]
            batch.append(writer_event(writer, number, child))
            number += 1
        yield batch


def api_writer(db: str, writer: int, events: int, seed: int) -> WriterReport:
    """Records through `CareLedger.record`, one to three events per call."""
    report = WriterReport()
    with opened(db) as o:
        for batch in writer_batches(writer, events, seed, lambda rng: rng.randint(1, 3)):
            sources = [line["source"] for line in batch]
            try:
                o.ledger.record([parse_command(line) for line in batch], ACTOR)
            except Exception as error:  # every outcome is counted
                # the API's refusals are LedgerErrors; anything else escaped it
                outcome = "clear refusal" if isinstance(error, LedgerError) else "traceback"
                note(report, outcome, f"{type(error).__name__}: {error}", sources)
                continue
            report.outcomes["recorded"] += 1
            report.recorded.append(sources)
    return report


def cli_writer(db: str, writer: int, events: int, seed: int, folder: Path) -> WriterReport:
    """Records through `careledger record --file`, twenty events per file."""
    report = WriterReport()
    env = user_env(db)
    for number, batch in enumerate(writer_batches(writer, events, seed, lambda rng: 20)):
        path = folder / f"writer-{writer}-{number}.jsonl"
        path.write_text(jsonl(batch), encoding="utf-8")
        run = careledger(["record", "--file", str(path)], env)
        sources = [line["source"] for line in batch]
        if run.exit_code == 0 and run.stdout.strip() == f"recorded {len(batch)} event(s)":
            report.outcomes["recorded"] += 1
            report.recorded.append(sources)
        elif run.traceback:
            note(report, "traceback", run.first_error_line, sources)
        elif NOTHING_RECORDED in run.stderr and len(run.stderr.splitlines()) <= CLEAR_LINES:
            note(report, "clear refusal", run.first_error_line, sources)
        else:
            note(
                report,
                "refused otherwise",
                f"exit {run.exit_code}: {run.first_error_line}",
                sources,
            )
    return report


def note(report: WriterReport, outcome: str, message: str, sources: list[str]) -> None:
    report.outcomes[outcome] += 1
    report.refused += sources
    if not any(m.startswith(outcome) for m in report.messages):
        report.messages.append(f"{outcome}: {' '.join(message.split())[:300]}")


def run_worker(spec: str) -> None:
    """The hidden `--worker` mode: one writer process, its report as JSON on stdout."""
    args = json.loads(spec)
    if args["via"] == "api":
        report = api_writer(args["db"], args["writer"], args["events"], args["seed"])
    else:
        report = cli_writer(
            args["db"], args["writer"], args["events"], args["seed"], Path(args["folder"])
        )
    print(
        json.dumps(
            {
                "outcomes": dict(report.outcomes),
                "recorded": report.recorded,
                "refused": report.refused,
                "messages": report.messages,
            }
        )
    )


@dataclass
class Figure:
    """One printed line: what was measured, its count, the target, whether it is met."""

    label: str
    count: int | str
    target: str
    met: bool | None  # None: information, no target
    detail: str = ""


def concurrency(stores: Stores, writer_events: int, folder: Path) -> list[Figure]:
    db = stores.fresh("writers")
    with opened(db) as o:
        o.ledger.record([parse_command(opening(child)) for child in WRITER_CHILDREN], ACTOR)
    workers = []
    for writer, via in enumerate(["api", "cli", "api", "cli"]):
        spec = {
            "db": db,
            "writer": writer,
            "events": writer_events,
            "seed": 1000 + writer,
            "via": via,
            "folder": str(folder),
        }
        workers.append(
            subprocess.Popen(
                [sys.executable, __file__, "--worker", json.dumps(spec)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=user_env(db),
            )
        )
    reports, crashed = [], []
    for process in workers:
        stdout, stderr = process.communicate(timeout=600)
        if process.returncode == 0:
            reports.append(json.loads(stdout))
        else:
            crashed.append(_text(stderr).strip().splitlines()[-1:])
    return writer_figures(db, reports, crashed, writer_events)


def writer_figures(
    db: str, reports: list[dict[str, Any]], crashed: list[list[str]], writer_events: int
) -> list[Figure]:
    outcomes: Counter[str] = Counter()
    for report in reports:
        outcomes.update(report["outcomes"])
    recorded = [s for r in reports for batch in r["recorded"] for s in batch]
    refused = set(s for r in reports for s in r["refused"])
    with direct(db) as store:
        rows = store.events()
    in_log = [(row, json.loads(row.state).get("source", "")) for row in rows]
    written = Counter(source for _, source in in_log if source.startswith("W"))
    lost = [s for s in recorded if s not in written]
    duplicated = sum(n - 1 for n in written.values() if n > 1)
    phantom = [s for s in written if s in refused]
    out_of_order = ordering_faults(in_log, reports)
    with opened(db) as o:
        differences = differing_tables(db, o)
        intact = chain_intact(o)
    messages = sorted({m for r in reports for m in r["messages"]})
    figures = [
        Figure(
            "writers x events each",
            f"4 x {writer_events}",
            "",
            None,
            "2 through the API (1-3 events per call), 2 through the CLI (20 per file)",
        ),
        Figure("batches recorded", outcomes["recorded"], "", None, f"{len(recorded)} events"),
        Figure("batches refused with 'nothing recorded'", outcomes["clear refusal"], "", None),
        Figure(
            "batches refused otherwise",
            outcomes["refused otherwise"],
            "0",
            outcomes["refused otherwise"] == 0,
        ),
        Figure(
            "tracebacks (or unexpected exceptions)",
            outcomes["traceback"] + len(crashed),
            "0",
            outcomes["traceback"] + len(crashed) == 0,
            "; ".join(" ".join(c) for c in crashed)[:300],
        ),
        Figure("first message of each kind of refusal", "", "", None, " | ".join(messages)[:600]),
        Figure(
            "lost (reported recorded, not in the log)",
            len(lost),
            "0",
            not lost,
            ", ".join(lost[:5]),
        ),
        Figure("duplicated", duplicated, "0", duplicated == 0),
        Figure(
            "in the log though reported refused",
            len(phantom),
            "0",
            not phantom,
            ", ".join(phantom[:5]),
        ),
        Figure("out of order", out_of_order, "0", out_of_order == 0),
        Figure(
            "projections differing from a rebuild",
            len(differences),
            "0",
            not differences,
            "; ".join(differences),
        ),
        Figure("chain (verify)", "intact" if intact else "BROKEN", "intact", intact),
    ]
    return figures


def ordering_faults(in_log: list[tuple[StoredRow, str]], reports: list[dict[str, Any]]) -> int:
    """Cases whose events are not numbered 1..n in log order, and writers whose batches are
    not in the log in the order they recorded them (within one batch, the ledger may store
    the cases' events in any order)."""
    faults = 0
    by_case: dict[uuid.UUID, list[StoredRow]] = {}
    for row, _ in in_log:
        by_case.setdefault(row.case, []).append(row)
    for rows in by_case.values():
        if [row.seq for row in rows] != list(range(1, len(rows) + 1)):
            faults += 1
    position = {source: row.notification_id for row, source in in_log}
    for report in reports:
        spans = [[position[s] for s in batch if s in position] for batch in report["recorded"]]
        spans = [span for span in spans if span]
        if any(max(a) > min(b) for a, b in pairwise(spans)):
            faults += 1
    return faults


# --- 2. kill -9 ---------------------------------------------------------------------------------


@dataclass
class KillTally:
    trials: Counter[str] = field(default_factory=Counter)
    finished_first: Counter[str] = field(default_factory=Counter)
    partial: list[str] = field(default_factory=list)
    applied_twice: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    import_states: Counter[str] = field(default_factory=Counter)
    not_completed: list[str] = field(default_factory=list)
    reruns: int = 0


class KillTrials:
    """`careledger` commands killed with SIGKILL at a random point of their run."""

    def __init__(self, stores: Stores, folder: Path, rng: random.Random) -> None:
        self.stores = stores
        self.folder = folder
        self.rng = rng
        self.tally = KillTally()
        self.demo = demo_lines()
        self.db = stores.fresh("kill")
        self.template = ""  # SQLite: an empty initialised ledger, copied for each import
        self.reference: dict[uuid.UUID, int] = {}
        self.durations: dict[str, float] = {}
        self.batch = 0

    def env(self, db: str | None = None) -> dict[str, str]:
        return user_env(db or self.db)

    # calibration: each command once, unkilled, for its run time (and the import's reference)
    def calibrate(self) -> None:
        run = careledger(["record", "--file", str(self.demo_file("C0"))], self.env())
        self.durations["record"] = run.seconds
        self.full_record = events_in(self.db, "#C0")
        db = self.fresh_import_ledger()
        run = self.import_run(db)
        self.durations["import-903"] = run.seconds
        with direct(db) as store:
            self.reference = dict(Counter(row.case for row in store.events()))
        self.durations["projections rebuild"] = careledger(
            ["projections", "rebuild"], self.env()
        ).seconds
        self.record_through_api("C1")
        self.durations["unapproved (catching up)"] = careledger(["unapproved"], self.env()).seconds

    def demo_file(self, tag: str) -> Path:
        path = self.folder / f"kill-{tag}.jsonl"
        path.write_text(jsonl(renamed(self.demo, tag)), encoding="utf-8")
        return path

    def record_through_api(self, tag: str) -> None:
        with opened(self.db) as o:
            o.ledger.record([parse_command(line) for line in renamed(self.demo, tag)], ACTOR)

    def fresh_import_ledger(self) -> str:
        if self.stores.kind == "postgres":
            return self.stores.fresh("import")
        if not self.template:
            self.template = self.stores.fresh("import-template")
        db = str(self.folder / f"import-{uuid.uuid4().hex[:8]}.db")
        shutil.copyfile(self.template, db)
        return db

    def import_run(self, db: str, delay: float | None = None) -> Run:
        args = [
            "import-903",
            str(SAMPLE_RETURN),
            "--council",
            SAMPLE_COUNCIL,
            "--year",
            str(SAMPLE_YEAR),
            "--accept-partial",
            "--report",
            str(self.folder / "refused.csv"),
        ]
        return (
            careledger(args, self.env(db))
            if delay is None
            else killed_after(args, self.env(db), delay)
        )

    def delay(self, command: str) -> float:
        return self.rng.uniform(0, self.durations[command])

    def account(self, command: str, run: Run) -> None:
        self.tally.trials[command] += 1
        if run.exit_code is not None:
            self.tally.finished_first[command] += 1
        if run.traceback:
            self.tally.tracebacks.append(f"{command}: {run.first_error_line}")

    # the trials
    def record_trial(self, number: int) -> None:
        tag = f"K{number}"
        run = killed_after(
            ["record", "--file", str(self.demo_file(tag))], self.env(), self.delay("record")
        )
        self.account("record", run)
        stored = events_in(self.db, f"#{tag}")
        if stored not in (0, self.full_record):
            self.tally.partial.append(f"record {tag}: {stored} of {self.full_record} events")
        self.check(self.db, f"record {tag}")

    def import_trial(self, number: int) -> None:
        db = self.fresh_import_ledger()
        run = self.import_run(db, self.delay("import-903"))
        self.account("import-903", run)
        with direct(db) as store:
            cut = Counter(row.case for row in store.events())
        whole = [c for c in cut if cut[c] == self.reference.get(c)]
        self.tally.import_states[f"{len(whole)} of {len(self.reference)} children"] += 1
        if len(whole) != len(cut):
            self.tally.partial.append(
                f"import I{number}: {len(cut) - len(whole)} child(ren) part-recorded"
            )
        with opened(db) as o:
            if not chain_intact(o):
                self.tally.broken.append(f"import I{number} (after the kill)")
        if not cut:  # nothing recorded: running it again is the calibration's import
            return
        self.tally.reruns += 1
        again = self.import_run(db)
        with direct(db) as store:
            done = dict(Counter(row.case for row in store.events()))
        if again.exit_code != 0 or done != self.reference:
            self.tally.not_completed.append(
                f"import I{number}: exit {again.exit_code}, {sum(done.values())} events, "
                f"reference {sum(self.reference.values())}: {again.first_error_line[:200]}"
            )
        self.check(db, f"import I{number}")

    def catch_up_trial(self, number: int) -> None:
        if number % 2:
            command, args = "projections rebuild", ["projections", "rebuild"]
        else:
            self.record_through_api(f"U{number}")
            command, args = "unapproved (catching up)", ["unapproved"]
        run = killed_after(args, self.env(), self.delay(command))
        self.account(command, run)
        self.check(self.db, f"{command} #{number}")

    def check(self, db: str, name: str) -> None:
        with opened(db) as o:
            if not chain_intact(o):
                self.tally.broken.append(name)
            differences = differing_tables(db, o)
        if differences:
            self.tally.applied_twice.append(f"{name}: {'; '.join(differences)}")

    def run(self, trials: int) -> list[Figure]:
        self.calibrate()
        kinds = [self.record_trial, self.import_trial, self.catch_up_trial]
        for number in range(trials):
            kinds[number % len(kinds)](number)
        return self.figures()

    def figures(self) -> list[Figure]:
        tally = self.tally
        final = careledger(["verify"], self.env())
        runs = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.durations.items())
        killed = ", ".join(
            f"{name} {n} ({tally.finished_first[name]} finished first)"
            for name, n in tally.trials.items()
        )
        states = ", ".join(f"{n} x {state}" for state, n in sorted(tally.import_states.items()))
        return [
            Figure(
                "trials",
                sum(tally.trials.values()),
                "",
                None,
                f"this store's share of --trials: {killed}",
            ),
            Figure("unkilled run times (the delay's range)", "", "", None, runs),
            Figure("import cut off at", "", "", None, states),
            Figure(
                "batches left part-recorded",
                len(tally.partial),
                "0",
                not tally.partial,
                "; ".join(tally.partial[:3]),
            ),
            Figure(
                "imports not completed by running again",
                len(tally.not_completed),
                "0",
                not tally.not_completed,
                "; ".join(tally.not_completed[:3]) or f"{tally.reruns} run again",
            ),
            Figure(
                "applied twice (projections differ from a rebuild)",
                len(tally.applied_twice),
                "0",
                not tally.applied_twice,
                "; ".join(tally.applied_twice[:3]),
            ),
            Figure(
                "chain broken after a trial",
                len(tally.broken),
                "0",
                not tally.broken,
                ", ".join(tally.broken[:5]),
            ),
            Figure(
                "tracebacks from the killed commands",
                len(tally.tracebacks),
                "0",
                not tally.tracebacks,
                "; ".join(tally.tracebacks[:3]),
            ),
            Figure(
                "careledger verify at the end",
                final.stdout.splitlines()[0] if final.stdout else final.first_error_line,
                "intact",
                final.exit_code == 0 and final.stdout.startswith("intact"),
            ),
        ]


def events_in(db: str, marker: str) -> int:
    with direct(db) as store:
        return events_marked(store, marker + '"')


# --- 3. tampering ---------------------------------------------------------------------------


TAMPER_CHILDREN = ("NR-0202", "NR-0205")


@dataclass
class Tampered:
    refused_by_triggers: bool = False
    seal: Path | None = None  # a seal made before the tampering


class TamperCases:
    """A database administrator's edits on a fresh ledger each, past the ledger."""

    def __init__(self, stores: Stores, folder: Path) -> None:
        self.stores = stores
        self.folder = folder
        self.key = folder / "council.pem"
        self.public = folder / "council.pub"
        self.lines = [
            line
            for line in demo_lines()
            if line["child"] in TAMPER_CHILDREN and line["council"] == "E09000099"
        ]
        self.projections_option = (
            "--projections" in careledger(["verify", "--help"], user_env("x")).stdout
        )
        self.head_env = self.head_key()

    def head_key(self) -> dict[str, str]:
        """The ledgers record with a head key, as a council is advised to (README: signed
        heads); where careledger has no head-key command, none."""
        path = self.folder / "head.pem"
        made = careledger(["head-key", str(path)], user_env("x"))
        return {"CARELEDGER_HEAD_KEY_FILE": str(path)} if made.exit_code == 0 else {}

    def ledger(self) -> str:
        """The two demo children's histories, interleaved in the log, projections caught up."""
        db = self.stores.fresh("tamper")
        first = [line for line in self.lines if line["child"] == TAMPER_CHILDREN[0]]
        second = [line for line in self.lines if line["child"] == TAMPER_CHILDREN[1]]
        os.environ.update(self.head_env)
        try:
            with opened(db) as o:
                for batch in (first[:8], second, first[8:]):
                    o.ledger.record([parse_command(line) for line in batch], ACTOR)
                o.catch_up()
        finally:
            for name in self.head_env:
                os.environ.pop(name, None)
        return db

    def seal(self, db: str) -> Path:
        if not self.key.exists():
            made = careledger(["seal-key", str(self.key)], user_env(db))
            self.public.write_text(made.stdout, encoding="utf-8")
        out = self.folder / f"seal-{uuid.uuid4().hex[:8]}.json"
        careledger(["seal", "--key", str(self.key), "--out", str(out)], user_env(db))
        return out

    def cases(self) -> list[tuple[str, Callable[[Direct, str], Tampered]]]:
        cases: list[tuple[str, Callable[[Direct, str], Tampered]]] = [
            ("UPDATE of an event (triggers in force)", self.plain_update),
            ("DELETE of an event (triggers in force)", self.plain_delete),
            ("a changed byte", self.changed_byte),
            ("a deleted event", self.deleted_event),
            ("two events swapped", self.swapped),
            ("an event slipped into a case", self.slipped_in),
            ("a forged append, chain recomputed", self.forged_append),
            ("a cut tail, no seal", self.cut_tail),
            ("a cut tail, a seal made before", self.cut_tail_after_seal),
            ("a case rewritten, chain recomputed, a seal made before", self.rewritten_after_seal),
            ("a deleted projection row", self.deleted_view_row),
            ("a changed projection row", self.changed_view_row),
        ]
        if self.stores.kind == "sqlite":
            cases.append(("INSERT OR REPLACE rewrite, chain recomputed", self.replace_rewrite))
        else:
            cases.append(("INSERT ... ON CONFLICT DO UPDATE rewrite", self.upsert_rewrite))
            cases.append(("TRUNCATE (triggers in force)", self.truncate))
        return cases

    def run(self) -> list[Figure]:
        figures = []
        for name, tamper in self.cases():
            db = self.ledger()
            with direct(db) as store:
                tampered = tamper(store, db)
            caught = self.caught_by(db, tampered)
            figures.append(Figure(name, ", ".join(caught) or "MISSED", "caught", bool(caught)))
        return figures

    def caught_by(self, db: str, tampered: Tampered) -> list[str]:
        caught = ["triggers refuse it"] if tampered.refused_by_triggers else []
        env = user_env(db, **self.head_env)
        if careledger(["verify"], env).exit_code != 0:
            caught.append("verify")
        if (
            tampered.seal
            and careledger(
                ["verify", "--seal", str(tampered.seal), "--public-key", str(self.public)], env
            ).exit_code
            != 0
        ):
            caught.append("verify --seal")
        if self.projections_option and careledger(["verify", "--projections"], env).exit_code != 0:
            caught.append("verify --projections")
        return caught

    # the edits
    @staticmethod
    def refused(store: Direct, statement: str, *params: Any) -> bool:
        # A trigger refuses; on SQLite, the projections' guard calls a function that only the
        # projector's connections register.
        refusals: tuple[type[Exception], ...] = (*store.refused, sqlite3.OperationalError)
        try:
            store.run(statement, *params)
        except refusals:
            return True
        return False

    def plain_update(self, store: Direct, db: str) -> Tampered:
        target = store.events()[3]
        return Tampered(
            self.refused(
                store,
                "UPDATE {events} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                changed_byte(target.state),
                store.key(target.case),
                target.seq,
            )
        )

    def plain_delete(self, store: Direct, db: str) -> Tampered:
        target = store.events()[3]
        return Tampered(
            self.refused(
                store,
                "DELETE FROM {events} WHERE originator_id = ? AND originator_version = ?",
                store.key(target.case),
                target.seq,
            )
        )

    def truncate(self, store: Direct, db: str) -> Tampered:
        return Tampered(self.refused(store, "TRUNCATE {events}, {chain}"))

    def changed_byte(self, store: Direct, db: str) -> Tampered:
        target = store.events()[5]
        store.disable_triggers()
        store.set_state(target.case, target.seq, changed_byte(target.state))
        return Tampered()

    def deleted_event(self, store: Direct, db: str) -> Tampered:
        target = store.events()[3]
        store.disable_triggers()
        store.delete_event(target.case, target.seq)
        return Tampered()

    def swapped(self, store: Direct, db: str) -> Tampered:
        one, other = store.events()[6], store.events()[14]
        store.disable_triggers()
        store.set_state(one.case, one.seq, other.state)
        store.set_state(other.case, other.seq, one.state)
        return Tampered()

    def slipped_in(self, store: Direct, db: str) -> Tampered:
        """A forged event at version 5 of the second case: its later events move up one, and
        the forgery goes in at the end of the log with a hash correct for itself."""
        case = case_id("E09000099", TAMPER_CHILDREN[1])
        store.disable_triggers()
        last = max(row.seq for row in store.events() if row.case == case)
        for seq in range(last, 4, -1):
            store.move(case, seq, seq + 1)
        model = store.event(case, 6)
        previous = store.link(case, 4).event_hash
        append_forgery(store, case, 5, model.topic, changed_byte(model.state), previous)
        return Tampered()

    def forged_append(self, store: Direct, db: str) -> Tampered:
        """A new last event of a case, with its hash and the log's digest computed as the
        recorder would: nothing about it differs from a genuine record. No trigger refuses
        an INSERT, so none is disabled."""
        case = case_id("E09000099", TAMPER_CHILDREN[1])
        last = max((row for row in store.events() if row.case == case), key=lambda row: row.seq)
        previous = store.link(case, last.seq).event_hash
        append_forgery(store, case, last.seq + 1, last.topic, changed_byte(last.state), previous)
        return Tampered()

    def cut_tail(self, store: Direct, db: str) -> Tampered:
        last = store.links()[-1]
        store.disable_triggers()
        store.delete_event(last.case, last.seq)
        store.delete_link(last.case, last.seq)
        return Tampered()

    def cut_tail_after_seal(self, store: Direct, db: str) -> Tampered:
        sealed = self.seal(db)
        self.cut_tail(store, db)
        return Tampered(seal=sealed)

    def rewritten_after_seal(self, store: Direct, db: str) -> Tampered:
        sealed = self.seal(db)
        target = store.events()[4]
        store.disable_triggers()
        store.set_state(target.case, target.seq, changed_byte(target.state))
        for link in recomputed_links(store):
            store.replace_link(link)
        return Tampered(seal=sealed)

    def replace_rewrite(self, store: Direct, db: str) -> Tampered:
        """SQLite's INSERT OR REPLACE deletes the row in the way without firing its DELETE
        triggers (unless recursive triggers are on): a changed event and its recomputed chain
        rows, with the triggers left as they are."""
        target = store.events()[4]
        state = changed_byte(target.state)
        try:
            store.run(
                "INSERT OR REPLACE INTO {events} ({nid}, originator_id, originator_version, "
                "topic, state) VALUES (?, ?, ?, ?, ?)",
                target.notification_id,
                store.key(target.case),
                target.seq,
                target.topic,
                state,
            )
            for link in recomputed_links(store):
                store.run(
                    "INSERT OR REPLACE INTO {chain} (notification_id, originator_id, "
                    "originator_version, event_hash, previous, digest) VALUES "
                    "(?, ?, ?, ?, ?, ?)",
                    link.notification_id,
                    store.key(link.case),
                    link.seq,
                    link.event_hash,
                    link.previous,
                    link.digest,
                )
        except store.refused:
            return Tampered(refused_by_triggers=True)
        return Tampered()

    def upsert_rewrite(self, store: Direct, db: str) -> Tampered:
        target = store.events()[4]
        return Tampered(
            self.refused(
                store,
                "INSERT INTO {events} ({nid}, originator_id, originator_version, topic, state) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (originator_id, originator_version) "
                "DO UPDATE SET state = EXCLUDED.state",
                target.notification_id,
                store.key(target.case),
                target.seq,
                target.topic,
                changed_byte(target.state),
            )
        )

    def deleted_view_row(self, store: Direct, db: str) -> Tampered:
        case, section = store.run("SELECT case_id, section FROM cl_current_plan ORDER BY 1, 2")[0]
        statement = "DELETE FROM cl_current_plan WHERE case_id = ? AND section = ?"
        return self.past_the_guard(store, statement, case, section)

    def changed_view_row(self, store: Direct, db: str) -> Tampered:
        case, section = store.run("SELECT case_id, section FROM cl_current_plan ORDER BY 1, 2")[0]
        statement = "UPDATE cl_current_plan SET content = ? WHERE case_id = ? AND section = ?"
        changed = "Placement with an approved carer"
        return self.past_the_guard(store, statement, changed, case, section)

    def past_the_guard(self, store: Direct, statement: str, *params: Any) -> Tampered:
        """Tried with the projections' guard in force (SQLite's triggers; on PostgreSQL these
        connections are a superuser's, whom no role stops), then done past it, as whoever can
        write the file (or is the superuser) can: `verify --projections` must still name it."""
        refused = self.refused(store, statement, *params)
        store.unguard_projections()
        store.run(statement, *params)
        return Tampered(refused)


def changed_byte(state: bytes) -> bytes:
    """The state with the last digit of its `occurred_on` date changed: one byte."""
    at = state.index(b'"occurred_on":"') + len(b'"occurred_on":"') + 9
    digit = state[at] - ord("0")
    return state[:at] + bytes([ord("0") + (digit + 1) % 10]) + state[at + 1 :]


def append_forgery(
    store: Direct, case: uuid.UUID, seq: int, topic: str, state: bytes, previous: bytes
) -> None:
    end = store.links()[-1]
    forged = StoredRow(end.notification_id + 1, case, seq, topic, state)
    hash_ = event_hash(case, seq, topic, state, previous)
    store.insert_event(forged)
    store.insert_link(
        ChainRow(forged.notification_id, case, seq, hash_, previous, next_digest(end.digest, hash_))
    )


def recomputed_links(store: Direct) -> list[ChainRow]:
    """The chain rows the documented arithmetic gives for the rows as they now are, where
    they differ from the stored ones."""
    old = store.links()
    new = chain(store.events(), {}, GENESIS)
    return [after for before, after in zip(old, new, strict=True) if before != after]


# --- 4. bad input ---------------------------------------------------------------------------


@dataclass
class Input:
    name: str
    args: list[str]
    file: bytes | None = None  # written to a temporary file named by "{file}" in args
    env: dict[str, str] = field(default_factory=dict)
    control: bool = False  # a good input, run to prove the corpus's setting works


def iro_line(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "IROAllocated",
        "council": COUNCIL,
        "child": "BI-001",
        "occurred_on": "2024-02-01",
        "source": f"BI/{name}",
        "iro_id": "IRO-9",
        "iro_name": "Dana Whitlock",
    } | fields


def change_line(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "CarePlanSectionChanged",
        "council": COUNCIL,
        "child": "BI-001",
        "occurred_on": "2024-03-01",
        "source": f"BI/{name}",
        "change_id": f"CH-{name}",
        "section": "health",
        "content": "Annual health assessment",
        "significant": False,
        "decided_by": TM,
        "authority": {"kind": "none"},
    } | fields


def review_line(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "ReviewHeld",
        "council": COUNCIL,
        "child": "BI-001",
        "occurred_on": "2024-03-04",
        "source": f"BI/{name}",
        "review_id": f"R-{name}",
        "chair": IRO,
        "attendees": ["child", "social worker"],
        "participation": "PN1",
        "decisions": [],
    } | fields


def file_of(name: str, bad: dict[str, Any] | str | bytes) -> bytes:
    """A good line first (so that a half-written batch shows), then the bad one."""
    good = json.dumps(iro_line(f"{name}/good", iro_id=f"IRO-{name}"))
    text = (
        bad
        if isinstance(bad, bytes)
        else (bad if isinstance(bad, str) else json.dumps(bad, ensure_ascii=False)).encode("utf-8")
    )
    return good.encode("utf-8") + b"\n" + text + b"\n"


def record_file_inputs(scale: int) -> list[Input]:
    future = (date.today() + timedelta(days=400)).isoformat()
    deep = "[" * 3000 + "]" * 3000
    raw: dict[str, dict[str, Any] | str | bytes] = {
        "nul-in-source": iro_line("nul", source="LCS/\u0000/1"),
        "raw-nul-byte-in-line": json.dumps(iro_line("rawnul"))
        .replace("Dana", "Da\x00na", 1)
        .encode(),
        "control-characters-in-name": iro_line("ctl", iro_name="Dana\u0007\u0008 Whitlock"),
        "terminal-escape-in-name": iro_line("esc", iro_name="\u001b[2J\u001b[31mDana Whitlock"),
        "bidi-override-in-content": change_line("bidi", content="\u202eenohp eht no yats"),
        "json-nested-3000-deep": json.dumps(change_line("deep", content="X")).replace('"X"', deep),
        "child-id-100kb": opening("C" * 100_000, source="BI/longid"),
        "nan-significant": json.dumps(change_line("nan")).replace(
            '"significant": false', '"significant": NaN'
        ),
        "infinity-corrects-seq": json.dumps(
            {
                "type": "CorrectionRecorded",
                "council": COUNCIL,
                "child": "BI-001",
                "occurred_on": "2024-03-05",
                "source": "BI/inf",
                "corrects_seq": 2,
                "reason": "typo",
                "corrected": {"iro_name": "D. Whitlock"},
            }
        ).replace('"corrects_seq": 2', '"corrects_seq": Infinity'),
        "significant-yes": change_line("yes", significant="yes"),
        "date-of-birth-2030": {
            "type": "ChildDetailsRecorded",
            "council": COUNCIL,
            "child": "BI-001",
            "occurred_on": "2024-03-05",
            "source": "BI/dob",
            "details": {"sex": "2", "dob": "2030-01-01", "ethnic": "WBRI"},
        },
        "child-id-with-colon": opening("NR:0101", source="BI/colon"),
        "council-with-colon": iro_line("ccolon", council="E100:00099"),
        "date-2025-02-30": iro_line("feb30", occurred_on="2025-02-30"),
        "date-in-the-future": iro_line("future", occurred_on=future),
        "date-before-looked-after": iro_line("before", occurred_on="2001-01-01"),
        "date-as-a-number": iro_line("numdate", occurred_on=20240201),
        "sections-not-an-object": {
            "type": "CarePlanAgreed",
            "council": COUNCIL,
            "child": "BI-001",
            "occurred_on": "2024-03-05",
            "source": "BI/sections",
            "sections": "foster care",
            "decided_by": TM,
        },
        "attendees-a-string": review_line("att", attendees="child"),
        "participation-a-number": review_line("part", participation=1),
        "unknown-field": iro_line("unknown", colour="blue"),
        "recorded-at-supplied": iro_line("recat", recorded_at="2020-01-01T00:00:00Z"),
        "unknown-type": iro_line("type", type="ChildAdopted"),
        "type-null": iro_line("typenull", type=None),
        "source-missing": {k: v for k, v in iro_line("nosource").items() if k != "source"},
        "source-blank": iro_line("blank", source="   "),
        "child-id-with-newline": iro_line("nl", child="BI\n001"),
        "cyrillic-look-alike-child": opening("\u0412\u0406-001", source="BI/cyr"),
        "zero-width-space-in-child": opening("BI-001\u200b", source="BI/zw"),
        "cyrillic-look-alike-council": iro_line("ccyr", council="\u041510000099"),
        "correction-of-a-missing-event": {
            "type": "CorrectionRecorded",
            "council": COUNCIL,
            "child": "BI-001",
            "occurred_on": "2024-03-05",
            "source": "BI/corr",
            "corrects_seq": 9999,
            "reason": "typo",
            "corrected": {"iro_name": "D. Whitlock"},
        },
        "first-event-not-an-opening": iro_line("noopen", child="BI-404"),
        "not-json": "{type: IROAllocated, council: E10000099}",
        "a-json-array": "[1, 2, 3]",
        "a-json-null": "null",
        "a-json-string": '"IROAllocated"',
        "invalid-utf-8": json.dumps(iro_line("utf8")).encode().replace(b"Dana", b"D\xffna", 1),
        f"review-with-{500 * scale:,}-attendees": review_line(
            "many", attendees=[f"person {n}" for n in range(500 * scale)]
        ),
        f"review-with-{20 * scale:,}-recommendations": review_line(
            "recs",
            decisions=[
                {
                    "kind": "recommend",
                    "recommendation_id": f"REC-{n}",
                    "text": "Refer to CAMHS",
                    "owner": {"name": "Omar Reece", "role": "SW"},
                    "due_on": "2024-06-01",
                }
                for n in range(20 * scale)
            ],
        ),
        f"a-{scale // 20} MB-line": change_line("huge", content="x" * (scale // 20 * 1_000_000)),
    }
    inputs = [
        Input(name, ["record", "--file", "{file}"], file_of(name, bad)) for name, bad in raw.items()
    ]
    inputs += [
        Input("empty-file", ["record", "--file", "{file}"], b""),
        Input("file-is-a-directory", ["record", "--file", "/tmp"]),
        Input("file-does-not-exist", ["record", "--file", "/nonexistent/events.jsonl"]),
        Input(
            "control: a good file",
            ["record", "--file", "{file}"],
            (
                json.dumps(iro_line("control", source="BI/control: a good file/good")) + "\n"
            ).encode(),
            control=True,
        ),
    ]
    return inputs


def record_set_inputs() -> list[Input]:
    iro = [
        "record",
        "--type",
        "IROAllocated",
        "--council",
        COUNCIL,
        "--child",
        "BI-001",
        "--set",
        "occurred_on=2024-02-01",
        "--set",
        "source=BI/set",
    ]
    change = [
        "record",
        "--type",
        "CarePlanSectionChanged",
        "--council",
        COUNCIL,
        "--child",
        "BI-001",
        "--set",
        "occurred_on=2024-03-01",
        "--set",
        "source=BI/setchange",
        "--set",
        "change_id=CH-set",
        "--set",
        "section=health",
        "--set",
        "content=Dentist",
        "--set",
        'decided_by={"name": "Priya Nand", "role": "TM"}',
        "--set",
        'authority={"kind": "none"}',
    ]
    return [
        Input(
            "set-the-same-field-twice",
            [
                *iro,
                "--set",
                "iro_id=IRO-1",
                "--set",
                "iro_id=IRO-2",
                "--set",
                "iro_name=Dana Whitlock",
            ],
        ),
        Input(
            "set-a-terminal-escape",
            [*iro, "--set", "iro_id=IRO-3", "--set", "iro_name=\x1b[31mDana"],
        ),
        Input(
            "set-date-2025-02-30",
            [
                *iro[:-4],
                "--set",
                "occurred_on=2025-02-30",
                "--set",
                "source=BI/set",
                "--set",
                "iro_id=I",
                "--set",
                "iro_name=D",
            ],
        ),
        Input("set-significant-yes", [*change, "--set", "significant=yes"]),
        Input("set-significant-nan", [*change, "--set", "significant=NaN"]),
        Input("set-without-equals", [*iro, "--set", "iro_id"]),
        Input(
            "set-unknown-field",
            [*iro, "--set", "iro_id=I", "--set", "iro_name=D", "--set", "colour=blue"],
        ),
        Input(
            "set-unknown-type",
            [
                "record",
                "--type",
                "ChildAdopted",
                "--council",
                COUNCIL,
                "--child",
                "BI-001",
                "--set",
                "source=x",
            ],
        ),
        Input(
            "set-without-a-child",
            [
                "record",
                "--type",
                "IROAllocated",
                "--council",
                COUNCIL,
                "--set",
                "occurred_on=2024-02-01",
                "--set",
                "source=x",
            ],
        ),
    ]


def actor_inputs() -> list[Input]:
    def with_actor(name: str, actor: str | None = None, role: str | None = None) -> Input:
        env = {"CARELEDGER_ACTOR": actor} if actor is not None else {}
        env |= {"CARELEDGER_ROLE": role} if role is not None else {}
        line = json.dumps(iro_line(name, iro_id=f"IRO-{name}", source=f"BI/{name}/good")) + "\n"
        return Input(name, ["record", "--file", "{file}"], line.encode(), env)

    return [
        with_actor("actor-1000-characters", "a" * 1000),
        with_actor("actor-blank", "   "),
        with_actor("actor-with-a-newline", "sw-2210\nsw-9999"),
        with_actor("actor-with-a-terminal-escape", "\x1b[2Jsw-2210"),
        with_actor("role-not-in-the-list", role="KING"),
    ]


def db_inputs(folder: Path, server: str) -> list[Input]:
    readme = folder / "README.md"  # a copy: the repository's own is never opened as a ledger
    shutil.copyfile(ROOT / "README.md", readme)
    line = json.dumps(iro_line("db")) + "\n"
    parts = urlsplit(server)
    inputs = [
        Input("db-README.md", ["record", "--db", str(readme), "--file", "{file}"], line.encode()),
        Input(
            "db-dead-port",
            ["record", "--db", "postgresql://postgres@127.0.0.1:1/test", "--file", "{file}"],
            line.encode(),
        ),
        Input("db-a-directory", ["history", "--db", str(folder), "E10000099:BI-001"]),
        Input(
            "db-schema-with-a-quote",
            [
                "history",
                "--db",
                urlunsplit(
                    (
                        parts.scheme,
                        parts.netloc,
                        parts.path,
                        'schema=x"; DROP SCHEMA public; --',
                        "",
                    )
                ),
                "E10000099:BI-001",
            ],
        ),
    ]
    return inputs


def import_inputs(folder: Path) -> list[Input]:
    """The 2021 sample return, without its two reviews dated 2027 (so that the clean return
    imports whole), with one bad cell each; each to a council of its own."""

    def spoiled(
        name: str, table: str, change: Callable[[list[list[str]]], None], encoding: str = "utf-8"
    ) -> Path:
        target = folder / f"return-{name}"
        shutil.copytree(SAMPLE_RETURN, target)
        reviews = (target / "reviews.csv").read_text(encoding="utf-8").splitlines()
        (target / "reviews.csv").write_text(
            "\n".join(r for r in reviews if "/2027" not in r) + "\n", encoding="utf-8"
        )
        if table:
            rows = [r.split(",") for r in (target / table).read_text(encoding="utf-8").splitlines()]
            change(rows)
            (target / table).write_bytes(
                ("\n".join(",".join(r) for r in rows) + "\n").encode(encoding, errors="replace")
            )
        return target

    def cell(column: str, value: str) -> Callable[[list[list[str]]], None]:
        def change(rows: list[list[str]]) -> None:
            rows[1][rows[0].index(column)] = value

        return change

    def extra_cell(rows: list[list[str]]) -> None:
        rows[1].append("surplus")

    def no_decom(rows: list[list[str]]) -> None:
        at = rows[0].index("DECOM")
        for row in rows:
            del row[at]

    made = [
        ("import-1 MB-cell", spoiled("1mb", "episodes.csv", cell("HOME_POST", "Q" * 1_000_000))),
        (
            "import-300-character-CHILD",
            spoiled("longchild", "episodes.csv", cell("CHILD", "7" * 300)),
        ),
        ("import-NUL-in-CHILD", spoiled("nulchild", "episodes.csv", cell("CHILD", "62551\x00"))),
        (
            "import-terminal-escape-in-a-cell",
            spoiled("esc", "episodes.csv", cell("PLACE_PROVIDER", "\x1b[2JPR4")),
        ),
        ("import-date-30/02/2020", spoiled("feb30", "episodes.csv", cell("DECOM", "30/02/2020"))),
        ("import-a-row-with-a-surplus-cell", spoiled("surplus", "episodes.csv", extra_cell)),
        ("import-no-DECOM-column", spoiled("nodecom", "episodes.csv", no_decom)),
        (
            "import-latin-1-bytes",
            spoiled("latin1", "header.csv", cell("UPN", "R08401019841\u00e9"), "latin-1"),
        ),
        ("control: the clean return", spoiled("clean", "", lambda rows: None)),
    ]
    empty = folder / "return-empty"
    empty.mkdir()
    made.append(("import-an-empty-folder", empty))
    inputs = []
    for number, (name, directory) in enumerate(made):
        council = f"E0900{number + 1:04d}"
        inputs.append(
            Input(
                name,
                ["import-903", str(directory), "--council", council, "--year", str(SAMPLE_YEAR)],
                control=name.startswith("control"),
            )
        )
    return inputs


@dataclass
class Verdict:
    name: str
    outcome: str  # clear error | unclear error | traceback | wrongly accepted | timeout | control
    detail: str
    recorded: int = 0  # events it left in the corpus's ledger

    @property
    def recorded_while_refusing(self) -> bool:
        return self.recorded > 0 and self.outcome != "wrongly accepted"


def classify(item: Input, run: Run, recorded: int) -> Verdict:
    message = run.stderr.strip()
    if item.control:
        outcome = "control accepted" if run.exit_code == 0 else "control REFUSED"
        return Verdict(item.name, outcome, run.first_error_line[:160], recorded)
    if run.timed_out:
        return Verdict(item.name, "timeout", f"killed after {run.seconds:.0f} s", recorded)
    if run.traceback:
        return Verdict(item.name, "traceback", run.first_error_line[:160], recorded)
    if run.exit_code == 0:
        said = run.stdout.strip().splitlines()[:1]
        return Verdict(item.name, "wrongly accepted", f"exit 0: {said}", recorded)
    clear = (
        len(message.splitlines()) <= CLEAR_LINES
        and len(message) <= CLEAR_CHARS
        and not any(ord(c) < 32 and c not in "\n\t" for c in message)
    )
    outcome = "clear error" if clear else "unclear error"
    return Verdict(item.name, outcome, f"exit {run.exit_code}: {message[:160]!r}", recorded)


def corpus(stores: Stores, folder: Path, quick: bool) -> tuple[list[Figure], list[Verdict]]:
    ledgers = CorpusLedgers(stores, folder)
    scale = 100 if quick else 1000
    inputs = (
        record_file_inputs(scale)
        + record_set_inputs()
        + actor_inputs()
        + db_inputs(folder, stores.server)
        + import_inputs(folder)
    )
    with ThreadPoolExecutor(max_workers=2) as pool:  # two commands at a time
        verdicts = list(pool.map(lambda item: try_input(item, ledgers.fresh(), folder), inputs))
    return corpus_figures(verdicts), verdicts


class CorpusLedgers:
    """A ledger of its own for each input (one input's damage, such as projections that no
    longer catch up, must not be counted against the next), holding one child, BI-001."""

    def __init__(self, stores: Stores, folder: Path) -> None:
        self.stores = stores
        self.folder = folder
        self.template = self.one_child() if stores.kind == "sqlite" else ""

    def one_child(self) -> str:
        db = self.stores.fresh("corpus")
        with opened(db) as o:
            o.ledger.record([parse_command(opening("BI-001"))], ACTOR)
            o.catch_up()
        return db

    def fresh(self) -> str:
        if not self.template:
            return self.one_child()
        db = str(self.folder / f"corpus-{uuid.uuid4().hex[:8]}.db")
        shutil.copyfile(self.template, db)
        return db


def try_input(item: Input, db: str, folder: Path) -> Verdict:
    """Run one input on its own ledger; what it recorded is the change in the event count."""
    args = [f"source=BI/{item.name}/good" if a.startswith("source=") else a for a in item.args]
    path = folder / f"input-{uuid.uuid4().hex[:8]}.jsonl"
    if item.file is not None:
        path.write_bytes(item.file)
        args = [str(path) if a == "{file}" else a for a in args]
    before = event_count(db)
    try:
        run = careledger(args, user_env(db, **item.env), timeout=90)
    finally:
        path.unlink(missing_ok=True)
    return classify(item, run, event_count(db) - before)


def corpus_figures(verdicts: list[Verdict]) -> list[Figure]:
    bad = [v for v in verdicts if not v.outcome.startswith("control")]
    counts = Counter(v.outcome for v in bad)
    controls = [v for v in verdicts if v.outcome.startswith("control")]
    half = [f"{v.name} ({v.recorded} events)" for v in bad if v.recorded_while_refusing]

    def named(outcome: str) -> str:
        return ", ".join(v.name for v in bad if v.outcome == outcome)

    return [
        Figure(
            "bad inputs",
            len(bad),
            "",
            None,
            f"controls: {sum(v.outcome == 'control accepted' for v in controls)} of "
            f"{len(controls)} accepted",
        ),
        Figure("clear error", counts["clear error"], "all", counts["clear error"] == len(bad)),
        Figure(
            "error, not clear (long, or control characters echoed)",
            counts["unclear error"],
            "0",
            counts["unclear error"] == 0,
            named("unclear error"),
        ),
        Figure("traceback", counts["traceback"], "0", counts["traceback"] == 0, named("traceback")),
        Figure(
            "wrongly accepted",
            counts["wrongly accepted"],
            "0",
            counts["wrongly accepted"] == 0,
            named("wrongly accepted"),
        ),
        Figure("timeout", counts["timeout"], "0", counts["timeout"] == 0, named("timeout")),
        Figure("refused but recorded something", len(half), "0", not half, ", ".join(half)),
    ]


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Options:
    trials: int
    writer_events: int
    measures: list[str]
    quick: bool


def run_store(kind: str, server: str, options: Options, trials: int) -> list[Figure]:
    started = time.perf_counter()
    where = (
        "temporary files" if kind == "sqlite" else server.split("@")[-1] + ", schemas of its own"
    )
    say(f"\n== {kind} ({where})")
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="careledger-reliability-") as name:
        folder = Path(name)
        stores = Stores(kind, folder, server)
        try:
            for measure in options.measures:
                part_started = time.perf_counter()
                part = guarded(
                    measure, partial(run_measure, measure, stores, folder, options, trials)
                )
                show(measure, part, time.perf_counter() - part_started)
                figures += part
        finally:
            stores.close()
    say(f"   ({kind}: {time.perf_counter() - started:.0f} s)")
    return figures


def run_measure(
    measure: str, stores: Stores, folder: Path, options: Options, trials: int
) -> list[Figure]:
    if measure == "concurrency":
        return concurrency(stores, options.writer_events, folder)
    if measure == "kill":
        return KillTrials(stores, folder, random.Random(trials)).run(trials)
    if measure == "tamper":
        return TamperCases(stores, folder).run()
    figures, verdicts = corpus(stores, folder, options.quick)
    for verdict in verdicts:
        if os.environ.get("RELIABILITY_ALL") or verdict.outcome not in (
            "clear error",
            "control accepted",
        ):
            say(f"      {verdict.outcome:<17} {verdict.name}: {verdict.detail}")
    return figures


def guarded(measure: str, run: Callable[[], list[Figure]]) -> list[Figure]:
    """A measure that fails in this script's own work (PostgreSQL refusing more clients, a
    full disk) is reported as not run, and the others still run."""
    try:
        return run()
    except Exception as error:  # reported, not hidden: a figure that misses its target
        first = (str(error).strip().splitlines() or [""])[0][:300]
        return [Figure(f"{measure}: could not run", type(error).__name__, "ran", False, first)]


TITLES = {
    "concurrency": "1. concurrent writers",
    "kill": "2. kill -9 during record, import-903 and catch-up",
    "tamper": "3. tampering: caught by",
    "corpus": "4. bad input through the CLI",
}


def show(measure: str, figures: list[Figure], seconds: float) -> None:
    say(f"\n   {TITLES[measure]} ({seconds:.0f} s)")
    say(f"   {'measure':<58}{'count':>14}  {'target':<10}met")
    for figure in figures:
        met = "" if figure.met is None else ("yes" if figure.met else "NO")
        say(f"   {figure.label:<58}{figure.count!s:>14}  {figure.target:<10}{met}")
        if figure.detail:
            say(f"      {figure.detail}")


def parse_options() -> tuple[argparse.Namespace, Options]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--trials",
        type=int,
        help="kill -9 trials in all, over the stores (default 100; --quick 12)",
    )
    parser.add_argument(
        "--writer-events", type=int, help="events per concurrent writer (default 200; --quick 40)"
    )
    parser.add_argument(
        "--measures",
        default=",".join(TITLES),
        help="which measures, comma-separated (default all four: " + ",".join(TITLES) + ")",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer trials and events, smaller huge inputs"
    )
    parser.add_argument(
        "--serial",
        action="store_true",
        help="with both stores, one after the other (default: side by side)",
    )
    parser.add_argument("--part", action="store_true", help=argparse.SUPPRESS)  # one store of a run
    args = parser.parse_args()
    measures = [m.strip() for m in args.measures.split(",") if m.strip()]
    if unknown := set(measures) - set(TITLES):
        parser.error(
            f"--measures: unknown {', '.join(sorted(unknown))} (known: {', '.join(TITLES)})"
        )
    if args.trials is not None and args.trials < 0:
        parser.error("--trials: not negative")
    options = Options(
        trials=12
        if args.trials is None and args.quick
        else (100 if args.trials is None else args.trials),
        writer_events=args.writer_events or (40 if args.quick else 200),
        measures=measures,
        quick=args.quick,
    )
    return args, options


def shares(total: int, kinds: list[str]) -> list[int]:
    """The kill trials split over the stores."""
    return [total // len(kinds) + (1 if i < total % len(kinds) else 0) for i in range(len(kinds))]


def side_by_side(args: argparse.Namespace, options: Options, kinds: list[str]) -> int:
    """Each store in a process of its own, at the same time (most of a PostgreSQL run waits on
    the server); their reports are printed in turn when both are done."""
    processes = []
    for kind, trials in zip(kinds, shares(options.trials, kinds), strict=True):
        command = [
            sys.executable,
            __file__,
            "--store",
            kind,
            "--trials",
            str(trials),
            "--part",
            "--writer-events",
            str(options.writer_events),
            "--measures",
            ",".join(options.measures),
        ]
        command += ["--quick"] if options.quick else []
        processes.append(
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    codes = []
    for process in processes:
        output, _ = process.communicate()
        print(_text(output), end="", flush=True)
        codes.append(process.returncode)
    return 0 if all(c == 0 for c in codes) else (1 if all(c in (0, 1) for c in codes) else 2)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        run_worker(sys.argv[2])
        return
    args, options = parse_options()
    kinds = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    server = os.environ.get("CARELEDGER_TEST_POSTGRES", DEFAULT_POSTGRES)
    if "postgres" in kinds:
        try:
            psycopg.connect(server, connect_timeout=5).close()
        except psycopg.OperationalError as error:
            say(f"PostgreSQL at {server} is unreachable: {error}")
            sys.exit(2)
    if not args.part:
        say(
            f"careledger reliability trials: Python {platform.python_version()}, eventsourcing "
            f"{version('eventsourcing')}, psycopg {psycopg.__version__}, SQLite "
            f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
            f"{datetime.now(UTC).isoformat(timespec='seconds')}"
        )
    started = time.perf_counter()
    if len(kinds) > 1 and not args.serial:
        code = side_by_side(args, options, kinds)
        say(f"\n== exit status {code}; {time.perf_counter() - started:.0f} s in all")
        sys.exit(code)
    figures: list[Figure] = []
    for kind, trials in zip(kinds, shares(options.trials, kinds), strict=True):
        figures += run_store(kind, server, options, trials)
    missed = [f for f in figures if f.met is False]
    with_target = len(figures) - sum(f.met is None for f in figures)
    say(
        f"\n== {'+'.join(kinds)}: {with_target} figures with a target, {len(missed)} missed; "
        f"{time.perf_counter() - started:.0f} s"
    )
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
