"""One projector keeps the projections current, and readers never write.

Two `careledger project --follow` processes started together on one ledger: one follows,
the other is refused in one line (exit status 1); a standby started with `--wait` takes over
when the first is stopped with SIGTERM; a killed projector's lock dies with it. Meanwhile a
council's system records Megan's history (the demo's staying-put case) without catching up,
and an IRO's read, opened for reading, answers from the projections as the projector leaves
them, saying how far behind they are. On a SQLite file and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, Queue
from threading import Thread

from careledger.api import opened
from tests.test_api import MEGAN, megans_history

CARELEDGER = str(Path(sys.executable).parent / "careledger")
BUSY = "error: another projector is already following the ledger at "
SETTINGS = ("CARELEDGER_DB", "CARELEDGER_READ_DB", "CARELEDGER_CATCH_UP", "CARELEDGER_DEBUG")


class Projector:
    """`careledger project` in a process of its own; its standard output read line by line
    as it comes, each line waited for a minute at most (a test never hangs on it)."""

    def __init__(self, db: str, *options: str) -> None:
        environment = {k: v for k, v in os.environ.items() if k not in SETTINGS}
        self.process = subprocess.Popen(
            [CARELEDGER, "project", "--db", db, "--interval", "0.5", *options],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
        )  # fmt: skip
        self.lines: Queue[str] = Queue()
        self.reader = Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def next_line(self) -> str:
        try:
            return self.lines.get(timeout=60)
        except Empty:
            raise AssertionError("the projector printed no line within a minute") from None

    def ended(self) -> tuple[int, list[str], str]:
        """Its exit status, the lines not yet read, and its standard error."""
        status = self.process.wait(timeout=60)
        self.reader.join(timeout=60)
        assert self.process.stderr is not None
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return status, rest, self.process.stderr.read()

    def stopped(self, how: int) -> tuple[list[str], str]:
        """Asked to stop, it ends with status 0."""
        self.process.send_signal(how)
        status, rest, err = self.ended()
        assert status == 0, err
        return rest, err


def projector(db: str, *options: str) -> Projector:
    return Projector(db, *options)


@contextmanager
def running(*projectors: Projector) -> Iterator[None]:
    """Every process ends with the test, whatever happens in it."""
    try:
        yield
    finally:
        for one in projectors:
            if one.process.poll() is None:
                one.process.kill()
            one.process.wait(timeout=60)
            for stream in (one.process.stdout, one.process.stderr):
                if stream is not None:
                    stream.close()


def until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.1)


def record_without_catching_up(db: str) -> int:
    """A council's system records, leaving the projections to the projector."""
    with opened(db, catch_up=False) as ledger:
        return ledger.record(megans_history(), actor="lcs-feed", role="SW")


def events_behind(db: str) -> int:
    with opened(db, reading=True) as ledger:
        return ledger.lag().events


def test_two_projectors_started_together_one_follows_and_the_other_is_refused(db: str) -> None:
    with opened(db, create_tables=True):
        pass
    first, second = projector(db, "--follow"), projector(db, "--follow")
    with running(first, second):
        until(lambda: first.process.poll() is not None or second.process.poll() is not None)
        refused, following = (
            (first, second) if first.process.poll() is not None else (second, first)
        )
        status, _, err = refused.ended()
        assert status == 1
        assert err.startswith(BUSY) and err.count("\n") == 1, err
        assert following.next_line().startswith("following the ledger at ")
        assert following.process.poll() is None

        recorded = record_without_catching_up(db)
        until(lambda: events_behind(db) == 0)
        with opened(db, reading=True) as ledger:
            assert {row["section"] for row in ledger.plan(MEGAN)} >= {"placement", "pathway"}
            assert ledger.lag().position == ledger.lag().newest

        rest, err = following.stopped(signal.SIGTERM)
        applied = recorded + 1  # and the case's opening
        assert rest[-1] == f"stopped: applied {applied} event(s) while following\n"
        assert err == ""


def test_a_standby_projector_takes_over_when_the_first_is_stopped(db: str) -> None:
    with opened(db, create_tables=True):
        pass
    first = projector(db, "--follow")
    with running(first):
        assert first.next_line().startswith("following the ledger at ")
        standby = projector(db, "--follow", "--wait")
        with running(standby):
            assert standby.next_line().startswith("waiting: another projector follows")
            first.stopped(signal.SIGTERM)
            assert standby.next_line().startswith("took over: this projector now follows")
            record_without_catching_up(db)
            until(lambda: events_behind(db) == 0)
            rest, _ = standby.stopped(signal.SIGINT)
            assert rest[-1].startswith("stopped: applied ")


def test_a_killed_projectors_lock_dies_with_it(db: str) -> None:
    with opened(db, create_tables=True):
        pass
    first = projector(db, "--follow")
    with running(first):
        assert first.next_line().startswith("following the ledger at ")
        record_without_catching_up(db)
        first.process.kill()
    once = projector(db)
    with running(once):
        status, lines, err = once.ended()
    assert status == 0, err
    assert lines[0].startswith("applied ") and events_behind(db) == 0
