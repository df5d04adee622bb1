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

import contextlib
import threading
import time
from collections import Counter
from typing import Any

import pytest

from careledger.api import opened
from careledger.ledger.application import CareLedger
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import parse_command
from careledger.ledger.errors import RecordingConflict
from tests.test_cli_end_to_end import invoke

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
    stop = threading.Event()
    background = [
        threading.Thread(target=write_until, args=(db, writer, stop)) for writer in range(3)
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
            result = invoke(
                "record", "--db", db, "--type", "SocialWorkerAllocated",
                "--council", COUNCIL, "--child", CHILD, "--set=occurred_on=2024-05-13", *sets,
            )  # fmt: skip
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


def write_until(db: str, writer: int, stop: threading.Event, most: int = 150) -> None:
    """A writer recording in the case as fast as it can, until told to stop or `most` calls
    are made (each command catches the views up with all they wrote, so the case must not
    grow without bound); it loses some races itself (`RecordingConflict`), which is what it
    is for."""
    with opened(db) as o:
        call = 0
        while not stop.is_set() and call < most:
            with contextlib.suppress(RecordingConflict):
                o.ledger.record([parse_command(allocation(writer, call))], DUTY_TEAM)
            call += 1
