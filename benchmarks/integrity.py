"""The integrity chain at scale: verify, recording with hashing, the chronology.

    .venv/bin/python benchmarks/integrity.py [--store sqlite|postgres|both] [--events N]
                                             [--quick] [--profile [TOP]]

The integrity benchmark gives three figures; for each store (a PostgreSQL schema of its own on
CARELEDGER_TEST_POSTGRES or the local server, dropped at the end, also on failure; or a
temporary SQLite directory) this script measures, in one run:

1. **Recording with hashing on vs off.** The ledger's recorder (which computes a chain row per
   event in the inserting transaction) against the library's plain application recorder on a
   table of its own (same schema, or a file of its own on SQLite), the same stored events on
   both sides: cases of 100 realistic events inserted 20 at a time (a typical command
   batch), in alternating rounds; medians and their ratio. No target was set; for context,
   `CareLedger.record` is also timed (bulk: 100 children x 10 commands per call; single: one
   command per call) beside the foundation's figures from an earlier run, quoted
   below.
2. **Verify against a bare read of the notification log**, over N events (default
   1,000,000). The ledger is filled through its own recorder's `insert_events` in calls of
   10 cases x 100 events, so that the recorder computes the chain rows as in production;
   each case is a copy of a real 100-event history recorded through `CareLedger.record`
   (the mapper's JSON, 500-800 bytes of state per event), under its own case id. Then the
   bare read (`select_notifications`, 5,000 at a time, from the start to the end) and
   `verify(recorder)` are each timed twice, alternating; the better of each is kept.
   Target: verify >= 0.5 of the bare read's events/s.
3. **Memory of verify as the ledger grows**: at a tenth (at least three pages of 5,000), about
   three tenths (the geometric mean) and all of N, verify
   is run once more under `tracemalloc` (not timed) for its peak of Python allocations, and
   the process's peak RSS during that run is read (Linux: VmHWM, reset before each run).
   Target: flat, the peak does not grow with the ledger (taken here as: the peak at the
   largest size within 25% + 1 MiB of the smallest's).
4. **The chronology of a child with 2,000 events**, recorded through `CareLedger.record` on
   dated clocks (reviews with decisions, proposals approved or rejected, changes on every
   kind of authority, recommendations completed, IRO challenges answered and resolved,
   corrections), the projections caught up; then `case_hashes` + `chronology(...)` (what
   `careledger chronology` does before rendering) is timed, median of 7 after a warm-up,
   once on the small ledger and again once the ledger holds N events. Target: under
   200 ms on PostgreSQL (judged on the full ledger). Rendering to Markdown and PDF is timed
   for information.

`--quick` is a smoke run of 50,000 events. `--profile` adds cProfile's hot spots of one
verify and one chronology at the full size.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, StoredEvent

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere, even without the editable install
    sys.path.insert(0, str(ROOT))

from benchmarks.profiling import print_profile  # noqa: E402
from careledger.api import Opened, opened  # noqa: E402
from careledger.ledger.domain import payloads as p  # noqa: E402
from careledger.ledger.domain.commands import Command, parse_command  # noqa: E402
from careledger.ledger.domain.identity import case_id  # noqa: E402
from careledger.ledger.integrity.verify import ChainSource, Verdict, case_hashes, verify  # noqa: E402
from careledger.ledger.store.location import store_for  # noqa: E402
from careledger.projections.chronology import Chronology  # noqa: E402
from careledger.projections.chronology_forms import render  # noqa: E402
from careledger.projections.queries import Child  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
STORE_NAMES = {"postgres": "PostgreSQL", "sqlite": "SQLite"}
COUNCIL = "E10000099"
FEED = p.Actor(actor_id="lcs-feed", role="ADMIN")
START = date(2009, 3, 2)

TEMPLATE_REF = "TPL-000001"
OPENED_REF = f'"child_ref":"{TEMPLATE_REF}"'.encode()  # in the stored CaseOpened
CHILD_REF = "CHR-002000"
CASE_EVENTS = 100  # events per filled case (a copy of the template's)
# 1,000 events per insert_events call when filling. With 10,000 (5.5 MB in one statement) a
# PostgreSQL run hung for good inside the library's insert_events, at its pipeline.sync():
# the server waiting to read the rest of the statement (ClientRead), the client in poll.
CASES_PER_FILL_CALL = 10
CHRONOLOGY_EVENTS = 2_000
RECORD_BATCH = 20  # events per insert_events call: a typical command batch
RECORD_EVENTS = 20_000  # per side, over all rounds
RECORD_ROUNDS = 4
BULK_CHILDREN, BULK_PER_CALL, BULK_COMMANDS = 1_000, 100, 10
SINGLE_CALLS = 200
PAGE = 5_000
TIMED_RUNS = 7
QUICK_EVENTS = 50_000

VERIFY_TARGET = 0.5  # verify's events/s, of the bare read's
CHRONOLOGY_TARGET_MS = 200.0
FLAT_FACTOR, FLAT_SLACK = 1.25, 1 << 20

# An earlier run (benchmarks/run.py, medians of 5 rounds, "this machine, last run"):
# CareLedger.record against bare eventsourcing saving trivial aggregates, events/s.
FOUNDATION = {
    "sqlite": {"single": (1_906, 2_835), "bulk": (21_112, 43_250)},
    "postgres": {"single": (644, 864), "bulk": (12_546, 25_746)},
}
OWN_CODE = tuple(str(ROOT / package) + os.sep for package in ("ledger", "projections", "cli"))
T = TypeVar("T")


def say(text: str = "") -> None:
    print(text, flush=True)


def timed(action: Callable[[], T]) -> tuple[float, T]:
    gc.collect()
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


# --- a realistic case history --------------------------------------------------------------

TM = {"name": "Joanne Maitland", "role": "TM"}
SM = {"name": "Priya Raman", "role": "SERVICE_MANAGER"}
WORKERS = [
    ("SW-2210", "Rachel Pemberton"),
    ("SW-3187", "Daniel Okafor"),
    ("SW-1045", "Siobhan Kerrigan"),
    ("SW-4420", "Tomasz Wiśniewski"),
]
IROS = [("IRO-04", "Gareth Lindqvist"), ("IRO-11", "Marcia Thompson-Hale")]
MINOR = [
    "health",
    "education",
    "emotional_behavioural",
    "identity",
    "family_social",
    "social_presentation",
    "self_care",
    "wishes_feelings",
]
PROPOSED = ["permanence", "education", "family_social"]
MINOR_TEXT = {
    "health": "Annual health assessment completed by the LAC nurse; dental check booked; "
    "immunisations up to date; referral to the community paediatrician for sleep problems",
    "education": "PEP reviewed with the designated teacher: additional literacy support "
    "three mornings a week funded from pupil premium plus; attendance 94% this term",
    "emotional_behavioural": "SDQ score 19 (borderline); carers to continue the therapeutic "
    "parenting approach agreed with the fostering team psychologist; CAMHS review in 8 weeks",
    "identity": "Life-story work started with the social worker; carers supporting contact "
    "with the child's faith community and heritage language lessons on Saturdays",
    "family_social": "Supervised contact with mother fortnightly at the family centre; "
    "indirect contact with father by letter box twice a year; sibling contact monthly",
    "social_presentation": "Carers helping with clothing allowance and self-presentation; "
    "child attends the youth club and the Saturday football team with friends from school",
    "self_care": "Age-appropriate independence skills plan: preparing simple meals, managing "
    "pocket money and travelling to school alone from next term, as agreed with carers",
    "wishes_feelings": "Child told the advocate they want more time with their brother and to "
    "stay at the same school; views recorded and shared with the IRO before the review",
}


def _on(day: date) -> str:
    return day.isoformat()


class HistoryBuilder:
    """A child's history as `careledger record` objects, built cycle by cycle: a review
    every quarter (approving or rejecting the proposals of the quarter before and making
    recommendations), the changes that follow on every kind of authority, recommendations
    completed (one left to an IRO challenge now and then), routine plan updates, changes of
    social worker and IRO, and now and then a correction of an earlier change."""

    def __init__(self, ref: str, start: date) -> None:
        self.ref = ref
        self.start = start
        self.items: list[tuple[date, int, dict[str, Any]]] = []
        self.pending: list[tuple[str, str]] = []  # proposals awaiting the next review
        self.nrp_change: str | None = None  # a change to ratify at the next review
        self.worker = WORKERS[0]
        self.iro = IROS[0]

    def add(self, day: date, kind: str, source: str, **fields: Any) -> None:
        obj = {
            "type": kind,
            "council": COUNCIL,
            "child": self.ref,
            "occurred_on": _on(day),
            "source": f"LCS/{source}",
            **fields,
        }
        self.items.append((day, len(self.items), obj))

    def chair(self) -> dict[str, str]:
        return {"name": self.iro[1], "role": "IRO"}

    def begin(self) -> None:
        d = self.start
        self.add(d, "ChildBecameLookedAfter", "EPI/09-0071", legal_status="C1", placement="U6")
        self.add(
            d,
            "SocialWorkerAllocated",
            "NOTE/4434",
            worker_id=self.worker[0],
            worker_name=self.worker[1],
            team="Children in Care North",
        )
        self.add(
            d + timedelta(days=2),
            "IROAllocated",
            "NOTE/4451",
            iro_id=self.iro[0],
            iro_name=self.iro[1],
            reason="First appointment (s.25A), within 5 working days of entry to care",
        )
        self.add(
            d + timedelta(days=9),
            "CarePlanAgreed",
            "PLAN/09-0112",
            decided_by=TM,
            sections={
                "placement": "Short-term foster placement with Mr and Mrs Hollis (U6) while "
                "the child's needs are assessed",
                "permanence": "Assessment under interim care order; permanence plan to be set "
                "by the second review",
                **{s: MINOR_TEXT[s] for s in MINOR[:4]},
            },
        )

    def cycle(self, k: int) -> None:
        d = self.start + timedelta(days=91 * k)
        review = f"REV-{k + 1:02d}"
        n = k + 1

        def at(days: int) -> date:
            return d + timedelta(days=days)

        if k % 12 == 11:
            self.iro = IROS[(k // 12) % len(IROS)]
            self.add(
                at(10),
                "IROAllocated",
                f"NOTE/{n}-IRO",
                iro_id=self.iro[0],
                iro_name=self.iro[1],
                reason="Previous IRO's caseload rebalanced by the IRO service manager",
            )
        if k % 4 == 3:
            self.worker = WORKERS[(k // 4 + 1) % len(WORKERS)]
            self.add(
                at(14),
                "SocialWorkerAllocated",
                f"NOTE/{n}-SW",
                worker_id=self.worker[0],
                worker_name=self.worker[1],
                team="Children in Care North",
                reason="MGMT",
            )
        decisions: list[dict[str, Any]] = []
        approved: list[tuple[str, str]] = []
        for i, (pid, section) in enumerate(self.pending):
            if k % 2 and i == len(self.pending) - 1 and len(self.pending) > 1:
                decisions.append(
                    {
                        "kind": "reject",
                        "proposal_id": pid,
                        "reason": "Not in the child's interests before the assessment is "
                        "completed; to be reconsidered at the next review",
                    }
                )
            else:
                decisions.append({"kind": "approve", "proposal_id": pid})
                approved.append((pid, section))
        if self.nrp_change:
            decisions.append({"kind": "ratify", "change_id": self.nrp_change})
        for r in (1, 2, 3):
            decisions.append(
                {
                    "kind": "recommend",
                    "recommendation_id": f"REC-{n}-{r}",
                    "text": f"Recommendation {r} of review {review}: complete the actions "
                    "in the plan and report back to the IRO",
                    "owner": {"name": self.worker[1], "role": "SW"},
                    "due_on": _on(at(60)),
                }
            )
        self.add(
            at(20),
            "ReviewHeld",
            f"REV/{n:03d}",
            review_id=review,
            chair=self.chair(),
            attendees=[
                f"{self.worker[1]} (SW)",
                "Mrs Hollis (foster carer)",
                "Child's mother",
                "Designated teacher",
            ],
            participation="PN1",
            child_seen_before=True,
            decisions=decisions,
        )
        self.pending, self.nrp_change = [], None
        for i, (pid, section) in enumerate(approved):
            self.add(
                at(21 + i),
                "CarePlanSectionChanged",
                f"NOTE/{n}-A{i}",
                change_id=f"C-{n}-A{i}",
                section=section,
                content=f"As approved at review {review}: {MINOR_TEXT['family_social']}",
                significant=True,
                decided_by=TM,
                authority={"kind": "review_decision", "review_id": review, "proposal_id": pid},
                child_consulted=True,
            )
        if k % 2 == 0:
            self.add(
                at(23),
                "CarePlanAgreed",
                f"PLAN/{n}",
                decided_by=TM,
                review_id=review,
                sections={s: MINOR_TEXT[s] for s in MINOR[(k // 2) % 5 : (k // 2) % 5 + 3]},
            )
        for j in range(20):
            section = MINOR[(j + k) % len(MINOR)]
            self.add(
                at(25 + 3 * j),
                "CarePlanSectionChanged",
                f"NOTE/{n}-M{j}",
                change_id=f"C-{n}-M{j}",
                section=section,
                content=f"Update {j + 1} of quarter {n}: {MINOR_TEXT[section]}",
                significant=False,
                decided_by={"name": self.worker[1], "role": "SW"},
                authority={"kind": "none"},
            )
        self.add(
            at(40),
            "RecommendationCompleted",
            f"NOTE/{n}-R1",
            recommendation_id=f"REC-{n}-1",
            completed_by={"name": self.worker[1], "role": "SW"},
            evidence="Assessment report received and shared with the carers and the IRO",
        )
        self.add(
            at(55),
            "RecommendationCompleted",
            f"NOTE/{n}-R2",
            recommendation_id=f"REC-{n}-2",
            completed_by={"name": self.worker[1], "role": "SW"},
            evidence="Referral made and acknowledged; first appointment offered",
        )
        if k % 4 == 1:
            self.add(
                at(45),
                "CarePlanSectionChanged",
                f"NOTE/{n}-P",
                change_id=f"C-{n}-P",
                section="placement",
                content="Moved to foster carers Mr and Mrs Varga (U6) after the placement "
                "broke down; the IRO was told afterwards",
                significant=True,
                decided_by=TM,
                authority={"kind": "none"},
                child_consulted=False,
            )
        if k % 5 == 2:
            self.nrp_change = f"C-{n}-NRP"
            self.add(
                at(50),
                "CarePlanSectionChanged",
                f"NOTE/{n}-NRP",
                change_id=self.nrp_change,
                section="placement",
                content="Emergency move to Larch House children's home (K2) the same evening",
                significant=True,
                decided_by=TM,
                authority={
                    "kind": "not_reasonably_practicable",
                    "reason": "The carers gave same-day notice after an assault; the child "
                    "could not stay overnight and no review could be convened",
                },
                child_consulted=True,
            )
        if k % 3 == 0:
            pid = f"P-{n}-I"
            self.add(
                at(30),
                "ChangeProposed",
                f"NOTE/{n}-PI",
                proposal_id=pid,
                section="education",
                content="Move to Oakfield Academy for a specialist SEMH unit place",
                significant=True,
                proposed_by=TM,
                child_consulted=True,
            )
            self.add(
                at(33),
                "IROAgreedChange",
                f"IRO/{n}-AG",
                proposal_id=pid,
                iro=self.chair(),
                reason="The place would be lost before the next review; the child agrees",
            )
            self.add(
                at(35),
                "CarePlanSectionChanged",
                f"NOTE/{n}-I",
                change_id=f"C-{n}-I",
                section="education",
                content="Started at Oakfield Academy SEMH unit; transport arranged",
                significant=True,
                decided_by=TM,
                authority={"kind": "iro_agreement", "proposal_id": pid},
                child_consulted=True,
            )
        if k % 3 == 1:
            challenge = f"CH-{n}"
            self.add(
                at(61),
                "ChallengeRaised",
                f"IRO/{n}-CH",
                challenge_id=challenge,
                subject="recommendation",
                about=f"REC-{n}-3",
                concern="The recommendation of the review is overdue and nothing has been "
                "done; the child is waiting for the assessment",
                remedy_sought="Complete the assessment within four weeks",
                raised_by=self.chair(),
            )
            self.add(
                at(68),
                "ChallengeResponded",
                f"IRO/{n}-CR",
                challenge_id=challenge,
                responded_by=SM,
                response="Agreed; the assessment is booked and the team manager will confirm",
            )
            self.add(
                at(78),
                "ChallengeResolved",
                f"IRO/{n}-CV",
                challenge_id=challenge,
                outcome="upheld",
                resolved_by=self.chair(),
                summary="The assessment was completed and shared with the IRO",
            )
            self.add(
                at(79),
                "RecommendationCompleted",
                f"NOTE/{n}-R3",
                recommendation_id=f"REC-{n}-3",
                completed_by={"name": self.worker[1], "role": "SW"},
                evidence="Completed after the IRO's challenge",
            )
        if k == 6:
            self.add(
                at(70),
                "LegalStatusChanged",
                "LEGAL/0610",
                legal_status="C2",
                order_ref="Family Court NB10C00412, final care order",
            )
        for i, section in enumerate(PROPOSED):
            pid = f"P-{n}-{i + 1}"
            self.add(
                at(62 + 5 * i),
                "ChangeProposed",
                f"NOTE/{n}-PP{i}",
                proposal_id=pid,
                section=section,
                content=f"Proposed for review {n + 1}: {MINOR_TEXT.get(section, section)}",
                significant=True,
                proposed_by=TM,
                child_consulted=True,
            )
            self.pending.append((pid, section))
        if k % 9 == 4:
            self.add(
                at(85),
                "CorrectionRecorded",
                f"NOTE/{n}-COR",
                corrects_seq=f"C-{n}-M3",  # resolved to a sequence number by `commands`
                reason="Keyed against the wrong section text; corrected from the signed plan",
                corrected={
                    "content": f"Corrected update of quarter {n}: contact arrangements "
                    "as signed by the team manager"
                },
            )

    def commands(self, events: int) -> list[tuple[date, dict[str, Any]]]:
        """The first `events - 1` commands in date order (the case's CaseOpened makes
        `events`), each correction pointing at its change's sequence number."""
        ordered = sorted(self.items)
        seq_of = {
            obj["change_id"]: seq
            for seq, (_, _, obj) in enumerate(ordered, start=2)
            if "change_id" in obj
        }
        result = []
        for _, (day, _, obj) in zip(range(events - 1), ordered, strict=False):
            if obj["type"] == "CorrectionRecorded":
                obj = {**obj, "corrects_seq": seq_of[obj["corrects_seq"]]}
            result.append((day, obj))
        return result


def child_history(ref: str, events: int, start: date = START) -> list[tuple[date, dict[str, Any]]]:
    builder = HistoryBuilder(ref, start)
    builder.begin()
    k = 0
    while len(builder.items) < events + 60:  # a cycle is 30-40 commands
        builder.cycle(k)
        k += 1
    history = builder.commands(events)
    assert len(history) == events - 1, (len(history), events)
    return history


def weekly_calls(
    history: list[tuple[date, dict[str, Any]]],
) -> Iterator[tuple[datetime, list[Command]]]:
    """A feed a week: the commands of each ISO week in one call, recorded the day after the
    week's last event at 17:00 UTC."""
    call: list[Command] = []
    week: tuple[int, int] | None = None
    last = START
    for day, obj in history:
        this = day.isocalendar()[:2]
        if call and this != week:
            yield datetime.combine(last + timedelta(days=1), clock_time(17), UTC), call
            call = []
        week, last = this, day
        call.append(parse_command(obj))
    if call:
        yield datetime.combine(last + timedelta(days=1), clock_time(17), UTC), call


def record_child(o: Opened, ref: str, events: int) -> tuple[float, int]:
    """Record a child's history a week at a time; returns seconds and calls."""
    now = [datetime.now(UTC)]
    o.ledger.clock = lambda: now[0]
    calls = list(weekly_calls(child_history(ref, events)))
    started = time.perf_counter()
    for at, commands in calls:
        now[0] = at
        o.ledger.record(commands, FEED)
    return time.perf_counter() - started, len(calls)


# --- the stores ----------------------------------------------------------------------------


class PlainApp(Application[uuid.UUID]):
    """The library's own application recorder, on a table (or a file) of its own."""

    name = "benchplain"


Locations = tuple[str, str, dict[str, str]]


@contextmanager
def postgres_store() -> Iterator[Locations]:
    """The main ledger's URL in a fresh schema; a second schema for the recording measure,
    holding a second ledger and the plain recorder's table (the same settings without
    careledger's recorder); both dropped afterwards, also on failure."""
    url = os.environ.get("CARELEDGER_TEST_POSTGRES", DEFAULT_POSTGRES)
    stem = f"cl_integrity_{uuid.uuid4().hex[:10]}"
    schemas = [stem, f"{stem}_rec"]
    parts = urlsplit(url)

    def at(schema: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, f"schema={schema}", ""))

    with psycopg.connect(urlunsplit((*parts[:3], "", "")), autocommit=True) as admin:
        try:
            for schema in schemas:
                admin.execute(f'CREATE SCHEMA "{schema}"')
            env = dict(store_for(at(schemas[1])).env)
            del env["APPLICATION_RECORDER_TOPIC"]
            yield at(schemas[0]), at(schemas[1]), env
        finally:
            for schema in schemas:
                admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            say(f"   (schemas {', '.join(schemas)} dropped)")


@contextmanager
def sqlite_store() -> Iterator[Locations]:
    """The main ledger's file; for the recording measure, a second ledger's file and the
    plain recorder's (SQLite's table names are fixed: one application per file)."""
    with tempfile.TemporaryDirectory(prefix="careledger-integrity-") as folder:
        yield (
            os.path.join(folder, "careledger.ledger.db"),
            os.path.join(folder, "recording.db"),
            {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": os.path.join(folder, "plain.db"),
            },
        )


# --- the measures --------------------------------------------------------------------------


@dataclass
class SizePoint:
    events: int
    verify_rate: float
    traced_peak: int  # bytes, tracemalloc
    rss_peak: int  # bytes, VmHWM during the traced run (0 when it cannot be read)
    rss_before: int


@dataclass
class Results:
    store: str
    state_bytes: float = 0.0
    recorded_child: tuple[float, int] = (0.0, 0)
    catch_up: float = 0.0
    hashing_on: list[float] = field(default_factory=list)
    hashing_off: list[float] = field(default_factory=list)
    ledger_bulk: float = 0.0
    ledger_single: float = 0.0
    fill_events: int = 0
    fill_seconds: float = 0.0
    sizes: list[SizePoint] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    verified: list[float] = field(default_factory=list)
    log_size: int = 0
    chrono_small: dict[str, float] = field(default_factory=dict)
    chrono_full: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    render_ms: dict[str, float] = field(default_factory=dict)
    max_rss: int = 0
    seconds: float = 0.0

    @property
    def verify_ratio(self) -> float:
        return max(self.verified) / max(self.bare)

    @property
    def hashing_ratio(self) -> float:
        return statistics.median(self.hashing_on) / statistics.median(self.hashing_off)

    @property
    def flat(self) -> bool:
        first, last = self.sizes[0].traced_peak, self.sizes[-1].traced_peak
        return last <= FLAT_FACTOR * first + FLAT_SLACK


def mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def _status_kib(name: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def clone_case(template: list[StoredEvent], ref: str) -> list[StoredEvent]:
    """The template's events under another child's case id (CaseOpened names the child)."""
    cid = case_id(COUNCIL, ref)
    first = template[0]
    state = first.state.replace(OPENED_REF, f'"child_ref":"{ref}"'.encode())
    return [StoredEvent(cid, first.originator_version, first.topic, state)] + [
        StoredEvent(cid, s.originator_version, s.topic, s.state) for s in template[1:]
    ]


class Bench:
    def __init__(
        self, o: Opened, side: Opened, plain: ApplicationRecorder, results: Results
    ) -> None:
        self.o = o
        self.recorder = o.ledger.recorder
        self.side = side  # a second, empty ledger for the recording measure
        self.plain = plain
        self.r = results
        self.template: list[StoredEvent] = []
        self.next_case = 0
        self.child = Child(COUNCIL, CHILD_REF)

    def source(self) -> ChainSource:
        return self.recorder  # type: ignore[return-value]

    def log_size(self) -> int:
        return self.recorder.max_notification_id() or 0

    # 0. the chronology child and the template case, through CareLedger.record
    def record_children(self) -> None:
        seconds, calls = record_child(self.o, CHILD_REF, CHRONOLOGY_EVENTS)
        self.r.recorded_child = (seconds, calls)
        say(
            f"   chronology child {COUNCIL}:{CHILD_REF}: {CHRONOLOGY_EVENTS:,} events recorded "
            f"through CareLedger.record in {calls} weekly calls, {seconds:.1f} s "
            f"({CHRONOLOGY_EVENTS / seconds:,.0f} events/s)"
        )
        record_child(self.o, TEMPLATE_REF, CASE_EVENTS)
        self.template = list(self.recorder.select_events(case_id(COUNCIL, TEMPLATE_REF)))
        assert len(self.template) == CASE_EVENTS
        assert OPENED_REF in self.template[0].state, self.template[0].state
        self.r.state_bytes = statistics.mean(len(s.state) for s in self.template)
        kinds = len({s.topic for s in self.template})
        say(
            f"   template case {COUNCIL}:{TEMPLATE_REF}: {CASE_EVENTS} events of {kinds} kinds, "
            f"stored state {self.r.state_bytes:.0f} bytes on average "
            f"({min(len(s.state) for s in self.template)}-"
            f"{max(len(s.state) for s in self.template)})"
        )
        seconds, done = timed(self.o.catch_up)
        self.r.catch_up = seconds
        say(f"   projections caught up: {done:,} events in {seconds:.1f} s")

    # 1. recording with hashing on and off
    def record_round(self, recorder: ApplicationRecorder, round_no: int) -> float:
        cases = RECORD_EVENTS // RECORD_ROUNDS // CASE_EVENTS
        clones = [clone_case(self.template, f"R{round_no}-{i:05d}") for i in range(cases)]
        batches = [
            clone[first : first + RECORD_BATCH]
            for first in range(0, CASE_EVENTS, RECORD_BATCH)
            for clone in clones  # interleaved: consecutive batches concern different cases
        ]
        insert = recorder.insert_events
        seconds, _ = timed(lambda: [insert(batch) for batch in batches])
        return cases * CASE_EVENTS / seconds

    def recording(self) -> None:
        hashing = self.side.ledger.recorder
        self.record_round(hashing, -1)  # warm-up
        self.record_round(self.plain, -1)
        for r in range(RECORD_ROUNDS):
            if r % 2:
                self.r.hashing_off.append(self.record_round(self.plain, r))
                self.r.hashing_on.append(self.record_round(hashing, r))
            else:
                self.r.hashing_on.append(self.record_round(hashing, r))
                self.r.hashing_off.append(self.record_round(self.plain, r))
        say(
            f"   recording, {RECORD_EVENTS // RECORD_ROUNDS:,} events per round and side in "
            f"batches of {RECORD_BATCH}: hashing on "
            f"{', '.join(f'{x:,.0f}' for x in self.r.hashing_on)}; off "
            f"{', '.join(f'{x:,.0f}' for x in self.r.hashing_off)} events/s; "
            f"ratio of medians {self.r.hashing_ratio:.2f}"
        )
        self.r.ledger_bulk = self.ledger_bulk()
        self.r.ledger_single = self.ledger_single()
        say(
            f"   CareLedger.record: bulk {self.r.ledger_bulk:,.0f} events/s "
            f"({BULK_CHILDREN:,} children x {BULK_COMMANDS} commands, {BULK_PER_CALL} "
            f"children per call); single {self.r.ledger_single:,.0f} events/s"
        )

    def ledger_bulk(self) -> float:
        base = child_history("BULK-X", BULK_COMMANDS + 1)
        calls = []
        for first in range(0, BULK_CHILDREN, BULK_PER_CALL):
            call = []
            for i in range(first, first + BULK_PER_CALL):
                for _, obj in base:
                    call.append(parse_command({**obj, "child": f"BULK-{i:06d}"}))
            calls.append(call)
        now = datetime(2025, 1, 6, 17, tzinfo=UTC)
        self.side.ledger.clock = lambda: now
        record = self.side.ledger.record
        seconds, _ = timed(lambda: [record(call, FEED) for call in calls])
        return BULK_CHILDREN * (BULK_COMMANDS + 1) / seconds

    def ledger_single(self) -> float:
        commands = [
            parse_command(
                {
                    "type": "CarePlanSectionChanged",
                    "council": COUNCIL,
                    "child": f"BULK-{i % BULK_CHILDREN:06d}",
                    "occurred_on": "2025-01-06",
                    "source": f"LCS/NOTE/S{i}",
                    "change_id": f"S-{i}",
                    "section": "health",
                    "content": MINOR_TEXT["health"],
                    "significant": False,
                    "decided_by": TM,
                    "authority": {"kind": "none"},
                }
            )
            for i in range(SINGLE_CALLS)
        ]
        record = self.side.ledger.record
        seconds, _ = timed(lambda: [record([command], FEED) for command in commands])
        return SINGLE_CALLS / seconds

    # 2. filling
    def fill_to(self, size: int) -> None:
        have = self.log_size()
        cases = max(0, -(-(size - have) // CASE_EVENTS))
        started, shown = time.perf_counter(), time.perf_counter()
        insert = self.recorder.insert_events
        spent = 0.0
        for first in range(0, cases, CASES_PER_FILL_CALL):
            count = min(CASES_PER_FILL_CALL, cases - first)
            events: list[StoredEvent] = []
            for i in range(self.next_case, self.next_case + count):
                events += clone_case(self.template, f"F-{i:07d}")
            self.next_case += count
            t0 = time.perf_counter()
            insert(events)
            spent += time.perf_counter() - t0
            self.r.fill_events += len(events)
            if time.perf_counter() - shown > 30:
                shown = time.perf_counter()
                done = (first + count) * CASE_EVENTS
                say(
                    f"     ... {done:,} of {cases * CASE_EVENTS:,} events inserted "
                    f"({done / spent:,.0f}/s)"
                )
        self.r.fill_seconds += spent
        if cases:
            say(
                f"   filled to {self.log_size():,} events: {cases * CASE_EVENTS:,} inserted in "
                f"{spent:.1f} s ({cases * CASE_EVENTS / spent:,.0f} events/s; "
                f"{time.perf_counter() - started:.1f} s with building the rows)"
            )

    # 3. bare read and verify
    def bare_read(self) -> float:
        select = self.recorder.select_notifications

        def read_log() -> int:
            position, count = 0, 0
            while batch := select(position, limit=PAGE, inclusive_of_start=False):
                position = batch[-1].id
                count += len(batch)
            return count

        seconds, read = timed(read_log)
        assert read == self.log_size(), (read, self.log_size())
        return read / seconds

    def verify_rate(self) -> float:
        seconds, verdict = timed(lambda: verify(self.source()))
        self.check(verdict)
        return verdict.events / seconds

    def check(self, verdict: Verdict) -> None:
        if not verdict.intact:
            raise SystemExit(f"verify: the ledger is not intact: {verdict.first_break}")
        assert verdict.events == self.log_size(), (verdict.events, self.log_size())

    def traced_verify(self) -> tuple[int, int, int]:
        """Peak of Python allocations and the process's peak RSS during one verify."""
        gc.collect()
        rss_before = _status_kib("VmRSS") * 1024
        can_reset = _reset_peak_rss()
        tracemalloc.start()
        try:
            verdict = verify(self.source())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.check(verdict)
        rss_peak = _status_kib("VmHWM") * 1024 if can_reset else 0
        return peak, rss_peak, rss_before

    def at_size(self, size: int) -> None:
        self.fill_to(size)
        rate = self.verify_rate()
        peak, rss_peak, rss_before = self.traced_verify()
        point = SizePoint(self.log_size(), rate, peak, rss_peak, rss_before)
        self.r.sizes.append(point)
        rss = f"; RSS {mib(rss_before)} before, peak {mib(rss_peak)}" if rss_peak else ""
        say(
            f"   at {point.events:,} events: verify {rate:,.0f} events/s; "
            f"verify's peak Python allocations {mib(peak)} (tracemalloc){rss}"
        )

    def read_and_verify(self) -> None:
        for _ in range(2):
            self.r.bare.append(self.bare_read())
            self.r.verified.append(self.verify_rate())
        self.r.log_size = self.log_size()
        say(
            f"   over {self.r.log_size:,} events: bare read "
            f"{', '.join(f'{x:,.0f}' for x in self.r.bare)} events/s; verify "
            f"{', '.join(f'{x:,.0f}' for x in self.r.verified)} events/s; "
            f"ratio of the better {self.r.verify_ratio:.2f} (target >= {VERIFY_TARGET})"
        )

    # 4. the chronology
    def chronology_once(self) -> tuple[float, float, Chronology]:
        """What `careledger chronology` does before rendering: verify the case's chain and
        decode the very rows it hashed (`Opened.chronology`). Returned as (the hashing
        alone, the rest), so that their sum is the command's time."""
        t0 = time.perf_counter()
        case_hashes(self.source(), self.child.case_id)
        t1 = time.perf_counter()
        who = f"{self.child.council}:{self.child.child_ref}"
        made = self.o.chronology(who, "bench", produced_at=datetime.now(UTC))
        t2 = time.perf_counter()
        return t1 - t0, (t2 - t1) - (t1 - t0), made

    def time_chronology(self, label: str) -> dict[str, float]:
        _, _, made = self.chronology_once()  # warm-up
        assert made.events == CHRONOLOGY_EVENTS, made.events
        self.r.rows = len(made.rows)
        runs = []
        for _ in range(TIMED_RUNS):
            gc.collect()
            runs.append(self.chronology_once()[:2])
        totals = [1000 * (a + b) for a, b in runs]
        result = {
            "total": statistics.median(totals),
            "min": min(totals),
            "max": max(totals),
            "hashes": statistics.median(1000 * a for a, _ in runs),
            "rows": statistics.median(1000 * b for _, b in runs),
        }
        say(
            f"   chronology ({label}, {self.log_size():,} events in the ledger): "
            f"{len(made.rows):,} rows; case_hashes + chronology {result['total']:.0f} ms median "
            f"of {TIMED_RUNS} ({result['min']:.0f}-{result['max']:.0f}): case_hashes "
            f"{result['hashes']:.0f} ms, chronology {result['rows']:.0f} ms"
        )
        return result

    def time_render(self) -> None:
        _, _, made = self.chronology_once()
        for fmt, runs in (("md", 5), ("pdf", 2)):
            render(made, fmt)  # warm-up (imports, fonts)
            times, data = [], b""
            for _ in range(runs):
                gc.collect()
                t0 = time.perf_counter()
                data = render(made, fmt)
                times.append(1000 * (time.perf_counter() - t0))
            self.r.render_ms[fmt] = statistics.median(times)
            say(
                f"   render {fmt}: {self.r.render_ms[fmt]:.0f} ms median of {runs} "
                f"({len(data):,} bytes)"
            )

    def profile(self, top: int) -> None:
        show_profile(f"verify over {self.log_size():,} events", lambda: verify(self.source()), top)
        show_profile("case_hashes + chronology", self.chronology_once, top)


def show_profile(title: str, action: Callable[[], Any], top: int) -> None:
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    action()
    profiler.disable()
    print_profile(profiler, title, top)


# --- one store -----------------------------------------------------------------------------


def run_store(store: str, events: int, profile: int) -> Results:
    results = Results(store)
    context = sqlite_store() if store == "sqlite" else postgres_store()
    started = time.perf_counter()
    say(f"\n== {STORE_NAMES[store]}: {events:,} events")
    with context as (db, side_db, plain_env):
        for location in (db, side_db):
            with opened(location, create_tables=True):  # `careledger init`
                pass
        plain_app = PlainApp({**plain_env, "CREATE_TABLE": "yes"})
        try:
            with opened(db) as o, opened(side_db) as side:
                bench = Bench(o, side, plain_app.recorder, results)
                bench.record_children()
                results.chrono_small = bench.time_chronology("small ledger")
                bench.recording()
                first = max(3 * PAGE, events // 10)  # a few pages at least
                middle = int(round((first * events) ** 0.5, -3))
                sizes = sorted({max(bench.log_size() + 1, n) for n in (first, middle, events)})
                for size in sizes:
                    bench.at_size(size)
                bench.read_and_verify()
                results.chrono_full = bench.time_chronology("full ledger")
                bench.time_render()
                if profile:
                    bench.profile(profile)
        finally:
            plain_app.close()
    results.max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    results.seconds = time.perf_counter() - started
    return results


def summary(all_results: list[Results]) -> None:
    say("\n== Summary")
    for r in all_results:
        name = STORE_NAMES[r.store]
        foundation = FOUNDATION[r.store]
        ms = r.chrono_full["total"]
        chrono_met = "yes" if ms < CHRONOLOGY_TARGET_MS else "NO"
        if r.store != "postgres":
            chrono_met += " (target is for PostgreSQL)"
        verify_met = "yes" if r.verify_ratio >= VERIFY_TARGET else "NO"
        peaks = " / ".join(f"{mib(s.traced_peak)} at {s.events:,}" for s in r.sizes)
        rss = " / ".join(mib(s.rss_peak) for s in r.sizes if s.rss_peak)
        lines = [
            ("log size at the end (events)", f"{r.log_size:,}", ""),
            ("stored state per event (template)", f"{r.state_bytes:.0f} bytes", ""),
            (
                f"fill: insert_events, {CASES_PER_FILL_CALL * CASE_EVENTS:,} ev/call",
                f"{r.fill_events / r.fill_seconds:,.0f} ev/s",
                f"{r.fill_events:,} events in {r.fill_seconds:.0f} s",
            ),
            (
                "recording, 20 ev/call, hashing on",
                f"{statistics.median(r.hashing_on):,.0f} ev/s",
                f"median of {RECORD_ROUNDS} rounds",
            ),
            (
                "recording, 20 ev/call, hashing off",
                f"{statistics.median(r.hashing_off):,.0f} ev/s",
                "library's plain recorder",
            ),
            ("  ratio on/off", f"{r.hashing_ratio:.2f}", "no target set"),
            (
                "CareLedger.record bulk (100 x 10/call)",
                f"{r.ledger_bulk:,.0f} ev/s",
                f"foundation: {foundation['bulk'][0]:,} (bare es {foundation['bulk'][1]:,})",
            ),
            (
                "CareLedger.record single (1/call)",
                f"{r.ledger_single:,.0f} ev/s",
                f"foundation: {foundation['single'][0]:,} (bare es {foundation['single'][1]:,})",
            ),
            ("bare read of the log (best of 2)", f"{max(r.bare):,.0f} ev/s", f"page {PAGE:,}"),
            ("verify (best of 2)", f"{max(r.verified):,.0f} ev/s", ""),
            (
                "  ratio verify/bare",
                f"{r.verify_ratio:.2f}",
                f"target >= {VERIFY_TARGET}: {verify_met}",
            ),
            ("verify peak (tracemalloc)", peaks, f"flat: {'yes' if r.flat else 'NO'}"),
        ]
        if rss:
            lines.append(("verify peak RSS (VmHWM)", rss, "per size, as above"))
        lines += [
            ("process max RSS", mib(r.max_rss), "whole run"),
            (
                f"chronology, {CHRONOLOGY_EVENTS:,}-event child",
                f"{ms:.0f} ms",
                f"target < {CHRONOLOGY_TARGET_MS:.0f} ms: {chrono_met}",
            ),
            (
                "  of which case_hashes / chronology",
                f"{r.chrono_full['hashes']:.0f} / {r.chrono_full['rows']:.0f} ms",
                f"{r.rows:,} rows; small ledger: {r.chrono_small['total']:.0f} ms",
            ),
            (
                "render md / pdf (information)",
                f"{r.render_ms['md']:.0f} / {r.render_ms['pdf']:.0f} ms",
                "",
            ),
        ]
        say(f"\n   {name} ({r.seconds / 60:.1f} min)")
        for label, value, note in lines:
            say(f"   {label:<44}{value:>34}  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--events", type=int, default=None, help="events in the ledger (default 1,000,000)"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:,} events")
    parser.add_argument(
        "--profile",
        nargs="?",
        type=int,
        const=15,
        default=0,
        metavar="TOP",
        help="profile one verify and one chronology at the full size (top TOP functions)",
    )
    args = parser.parse_args()
    events = args.events or (QUICK_EVENTS if args.quick else 1_000_000)
    if events < 10_000:
        parser.error("--events: at least 10,000")
    say(
        f"careledger integrity benchmark: Python {platform.python_version()}, eventsourcing "
        f"{version('eventsourcing')}, psycopg {psycopg.__version__} ({psycopg.pq.__impl__}), "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}"
    )
    results = [
        run_store(store, events, args.profile)
        for store in (["postgres", "sqlite"] if args.store == "both" else [args.store])
    ]
    summary(results)


if __name__ == "__main__":
    main()
