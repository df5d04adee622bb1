"""Several writers recording in one child's case at the same moment, each with a ledger of
its own (as separate processes of a council's system would be), on one SQLite file and on
one PostgreSQL schema, for real: threads, no mock.

Two writers cannot both take a case's next event number: the store refuses the second (a
unique key). The loser tries again on the case as the store now holds it, after a short
random wait; if it keeps losing, it gives up with `RecordingConflict` ("nothing recorded;
try again"), never the store's own IntegrityError. Every call is either recorded, exactly
once, or told that nothing was recorded: nothing is lost, nothing is recorded twice.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from careledger.api import opened
from careledger.ledger.application import CareLedger
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import parse_command
from careledger.ledger.errors import RecordingConflict
from tests.tamper import direct
from tests.test_cli_end_to_end import invoke
from tests.test_heads import new_key, ok
from tests.test_heads import run as run_cli

COUNCIL, CHILD = "E10000077", "CW-09"
DUTY_TEAM = p.Actor(actor_id="duty-team", role="SW")
WRITERS, CALLS = 6, 20


def allocation(writer: int, call: int) -> dict[str, Any]:
    """A social worker allocated: an event with no id of its own, so one recorded twice
    would be there twice."""
    return {
        "type": "SocialWorkerAllocated",
        "council": COUNCIL,
        "child": CHILD,
        "occurred_on": "2024-05-13",
        "source": f"LCS/ALLOC/{writer}-{call}",
        "worker_id": f"SW-{writer}-{call}",
    }


def open_case(db: str) -> None:
    with opened(db, create_tables=True) as o:
        first = {
            "type": "ChildBecameLookedAfter",
            "council": COUNCIL,
            "child": CHILD,
            "occurred_on": "2024-05-01",
            "source": "LCS/OPEN/1",
            "legal_status": "C2",
        }
        o.ledger.record([parse_command(first)], DUTY_TEAM)


def writers_at_once(db: str, save_attempts: int | None = None) -> tuple[set[str], Counter[str]]:
    """Every writer records its calls as fast as it can; returns the sources recorded and
    how each call ended (the error's class name where it failed)."""
    recorded: set[str] = set()
    outcomes: Counter[str] = Counter()
    start = threading.Barrier(WRITERS)

    def write(writer: int) -> None:
        with opened(db) as o:
            if save_attempts is not None:
                o.ledger.save_attempts = save_attempts
            start.wait()
            for call in range(CALLS):
                line = allocation(writer, call)
                try:
                    o.ledger.record([parse_command(line)], DUTY_TEAM)
                except RecordingConflict as conflict:
                    told = str(conflict).endswith("nothing recorded; try again")
                    outcomes["RecordingConflict" if told else f"unclear: {conflict}"] += 1
                except Exception as error:  # counted, so that the test names it
                    outcomes[f"{type(error).__name__}: {error}"] += 1
                else:
                    outcomes["recorded"] += 1
                    recorded.add(line["source"])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return recorded, outcomes


def sources_in_the_case(db: str) -> list[str]:
    with opened(db) as o:
        case = o.ledger.case(COUNCIL, CHILD)
        return [
            entry.payload.source
            for _, entry in sorted(case.entries.items())
            if isinstance(entry.payload, p.SocialWorkerAllocated)
        ]


def test_writers_at_once_on_one_case_each_record_once_or_are_told_nothing_was_recorded(
    db: str,
) -> None:
    open_case(db)

    recorded, outcomes = writers_at_once(db)

    assert set(outcomes) <= {"recorded", "RecordingConflict"}, outcomes
    assert outcomes.total() == WRITERS * CALLS
    in_case = sources_in_the_case(db)
    assert sorted(in_case) == sorted(recorded)  # none lost, none twice
    assert len(in_case) == outcomes["recorded"]


def test_a_writer_that_keeps_losing_the_race_gets_recording_conflict_not_a_store_error(
    db: str,
) -> None:
    """With one attempt each, the losers of every race give up at once: the conflict is
    certain to be met, and must reach the caller as `RecordingConflict`."""
    open_case(db)

    recorded, outcomes = writers_at_once(db, save_attempts=1)

    assert set(outcomes) <= {"recorded", "RecordingConflict"}, outcomes
    assert outcomes["RecordingConflict"] > 0, outcomes
    in_case = sources_in_the_case(db)
    assert sorted(in_case) == sorted(recorded)
    assert len(in_case) == outcomes["recorded"]


def test_the_record_command_that_loses_the_race_says_nothing_was_recorded_in_one_line(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`careledger record`, run again and again while other writers keep recording in the
    same case, with one attempt each so that the command meets the conflict."""
    open_case(db)
    monkeypatch.setattr(CareLedger, "save_attempts", 1)
    conflict = (
        "error: other writers were recording in the same case at the same time, 1 attempt(s) "
        "in a row; nothing recorded; try again\n"
    )
    stop, racing = threading.Event(), threading.Event()
    # Each writer's calls are spent only while the command runs; a catch-up that folds each
    # allocation into the case made them fast enough that 150 each could be spent before the
    # command met a race, on a loaded machine. 600 each bound the case at a few thousand events.
    background = [
        threading.Thread(target=write_until, args=(db, writer, stop, 600, racing))
        for writer in range(3)
    ]
    for thread in background:
        thread.start()
    recorded, refused = [], 0
    try:
        # Until the command has met the conflict three times, or a minute has passed: how
        # many tries a conflict takes depends on the machine's load, never zero chances.
        deadline, call = time.monotonic() + 60, 0
        while time.monotonic() < deadline:
            call += 1
            fields = allocation(100, call)
            sets = [f"--set={name}={fields[name]}" for name in ("source", "worker_id")]
            racing.set()
            result = invoke(
                "record", "--db", db, "--type", "SocialWorkerAllocated",
                "--council", COUNCIL, "--child", CHILD, "--set=occurred_on=2024-05-13", *sets,
            )  # fmt: skip
            racing.clear()
            if result.exit_code == 0:
                assert "recorded 1 event(s)" in result.stdout
                recorded.append(fields["source"])
                continue
            assert isinstance(result.exception, SystemExit), repr(result.exception)
            assert result.stderr == conflict
            refused += 1
            if refused >= 3:
                break
    finally:
        stop.set()
        for thread in background:
            thread.join()

    assert refused >= 1
    from_the_command = [s for s in sources_in_the_case(db) if s.startswith("LCS/ALLOC/100-")]
    assert from_the_command == recorded


def write_until(
    db: str,
    writer: int,
    stop: threading.Event,
    most: int = 150,
    racing: threading.Event | None = None,
) -> None:
    """A writer recording in the case as fast as it can, until told to stop or `most` calls
    are made (each command catches the views up with all they wrote, so the case must not
    grow without bound); it loses some races itself (`RecordingConflict`), which is what it
    is for. With `racing`, it records only while that is set (while the command under test
    runs), so that its `most` calls are spent racing the command, not before or after it."""
    with opened(db) as o:
        call = 0
        while not stop.is_set() and call < most:
            if racing is not None and not racing.wait(0.05):
                continue
            with contextlib.suppress(RecordingConflict):
                o.ledger.record([parse_command(allocation(writer, call))], DUTY_TEAM)
            call += 1


THREADS, COMMITS = 8, 12


def test_threads_of_one_ledger_record_at_once_and_every_commit_signs_and_logs_its_own_head(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One ledger, as one worker of the service holds it, recording on many threads at once:
    each thread to a child of its own and to one child they all share (on PostgreSQL, side
    by side under the cases' locks; on SQLite, one at a time). Every call is recorded once
    (or told nothing was), each commit's signed head is in the heads table and its line in
    the head log outside (never another commit's head twice, never one missing), and
    `verify` holds, with the head log."""
    key, log = new_key(tmp_path, "service"), tmp_path / "heads.jsonl"
    monkeypatch.setenv("CARELEDGER_HEAD_KEY_FILE", str(key))
    monkeypatch.setenv("CARELEDGER_HEAD_LOG", str(log))
    open_case(db)
    outcomes: Counter[str] = Counter()
    start = threading.Barrier(THREADS)

    def write(ledger: CareLedger, thread: int) -> None:
        start.wait()
        for call in range(COMMITS):
            own = allocation(thread, call) | {"child": f"CW-T{thread}"}
            if call == 0:
                own = {**own, "type": "ChildBecameLookedAfter", "legal_status": "C2"}
                del own["worker_id"]
            shared = allocation(thread, call)
            for line in (own, shared):
                try:
                    ledger.record([parse_command(line)], DUTY_TEAM)
                except RecordingConflict:
                    outcomes["RecordingConflict"] += 1
                except Exception as error:  # counted, so that the test names it
                    outcomes[f"{type(error).__name__}: {error}"] += 1
                else:
                    outcomes["recorded"] += 1

    with opened(db) as o:
        threads = [threading.Thread(target=write, args=(o.ledger, n)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert set(outcomes) <= {"recorded", "RecordingConflict"}, outcomes
    assert outcomes["recorded"] == 2 * THREADS * COMMITS  # one ledger: it never conflicts
    shared_sources = sources_in_the_case(db)
    assert sorted(shared_sources) == sorted(
        allocation(t, c)["source"] for t in range(THREADS) for c in range(COMMITS)
    )
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    written = [line for line in lines if "log" not in line]  # the events', not the access log's
    with direct(db) as tables:
        heads = tables.heads()
    assert len(heads) == 2 * THREADS * COMMITS + 1  # one per commit, the case opened too
    assert sorted(line["position"] for line in written) == [head.position for head in heads]
    assert {line["signature"] for line in written} == {
        base64.b64encode(head.signature).decode() for head in heads
    }
    verdict = ok(run_cli("verify", "--db", db, "--head-log", log)).stdout.splitlines()
    assert verdict[-1] == (
        f"head log outside the database: its latest head, at log position "
        f"{heads[-1].position}, holds"
    )
