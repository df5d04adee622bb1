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

from careledger.api import opened
from tests.test_api import MEGAN, megans_history

CARELEDGER = str(Path(sys.executable).parent / "careledger")
BUSY = "error: another projector is already following the ledger at "
SETTINGS = ("CARELEDGER_DB", "CARELEDGER_READ_DB", "CARELEDGER_CATCH_UP", "CARELEDGER_DEBUG")


def projector(db: str, *options: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    return subprocess.Popen(
        [CARELEDGER, "project", "--db", db, "--interval", "0.5", *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )  # fmt: skip


@contextmanager
def running(*processes: subprocess.Popen[str]) -> Iterator[None]:
    """Every process ends with the test, whatever happens in it."""
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=30)


def first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline()


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


def stopped(process: subprocess.Popen[str], how: int) -> tuple[str, str]:
    process.send_signal(how)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out, err


def test_two_projectors_started_together_one_follows_and_the_other_is_refused(db: str) -> None:
    with opened(db, create_tables=True):
        pass
    first, second = projector(db, "--follow"), projector(db, "--follow")
    with running(first, second):
        until(lambda: first.poll() is not None or second.poll() is not None)
        refused, following = (first, second) if first.poll() is not None else (second, first)
        out, err = refused.communicate(timeout=30)
        assert refused.returncode == 1
        assert err.startswith(BUSY) and err.count("\n") == 1, err
        assert first_line(following).startswith("following the ledger at ")
        assert following.poll() is None

        recorded = record_without_catching_up(db)
        until(lambda: events_behind(db) == 0)
        with opened(db, reading=True) as ledger:
            assert {row["section"] for row in ledger.plan(MEGAN)} >= {"placement", "pathway"}
            assert ledger.lag().position == ledger.lag().newest

        out, err = stopped(following, signal.SIGTERM)
        applied = recorded + 1  # and the case's opening
        assert out.splitlines()[-1] == f"stopped: applied {applied} event(s) while following"
        assert err == ""


def test_a_standby_projector_takes_over_when_the_first_is_stopped(db: str) -> None:
    with opened(db, create_tables=True):
        pass
    first = projector(db, "--follow")
    with running(first):
        assert first_line(first).startswith("following the ledger at ")
        standby = projector(db, "--follow", "--wait")
        with running(standby):
            assert first_line(standby).startswith("waiting: another projector follows")
            stopped(first, signal.SIGTERM)
            assert first_line(standby).startswith("took over: this projector now follows")
            record_without_catching_up(db)
            until(lambda: events_behind(db) == 0)
            out, _ = stopped(standby, signal.SIGINT)
            assert out.splitlines()[-1].startswith("stopped: applied ")


def test_a_killed_projectors_lock_dies_with_it(db: str) -> None:
    with opened(db, create_tables=True):
        pass
    first = projector(db, "--follow")
    with running(first):
        assert first_line(first).startswith("following the ledger at ")
        record_without_catching_up(db)
        first.kill()
    once = projector(db)
    with running(once):
        out, err = once.communicate(timeout=60)
    assert once.returncode == 0, err
    assert out.startswith("applied ") and events_behind(db) == 0
