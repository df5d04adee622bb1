"""`careledger project`: the ledger's one projector, once or following the ledger."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from threading import Event
from types import FrameType

import click

from careledger.api import opened
from careledger.cli.options import DB_OPTION
from careledger.projections.follow import Follower
from careledger.projections.projector_lock import projector_lock

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@click.command("project")
@DB_OPTION
@click.option(
    "--follow",
    is_flag=True,
    help="Keep following the ledger, applying each event soon after it is recorded, until "
    "stopped (SIGTERM or Ctrl-C).",
)
@click.option(
    "--wait",
    "wait_turn",
    is_flag=True,
    help="If another projector follows the ledger, wait and take over when it stops, "
    "instead of exiting with status 1.",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.1, 3600),
    default=2.0,
    show_default=True,
    help="Seconds between looks at the log (on PostgreSQL a new event wakes it at once).",
)
def project(db: str | None, follow: bool, wait_turn: bool, interval: float) -> None:
    """Bring the projections up to date as the ledger's one projector: once, or --follow.
    Only one may run: a second is refused (exit status 1), or with --wait waits its turn."""
    with opened(db) as o, stop_on_signals() as stopping:
        lock = projector_lock(o.ledger)
        follower = Follower(o.projector, lock, interval, say, warn, stopping)
        try:
            follower.take_turn(wait_turn)
            if stopping.is_set():
                return
            if not follow:
                say(f"applied {o.projector.catch_up(stopping=stopping.is_set)} event(s)")
                return
            status = o.projector.status()
            say(
                f"following the ledger at {o.ledger.store.location} from log position "
                f"{status.position} ({status.lag} behind); stop with SIGTERM or Ctrl-C"
            )
            applied = follower.follow()
            say(f"stopped: applied {applied} event(s) while following")
        finally:
            lock.release()


def say(message: str) -> None:
    click.echo(message)


def warn(message: str) -> None:
    click.echo(message, err=True)


@contextmanager
def stop_on_signals() -> Iterator[Event]:
    """An event set by SIGTERM or SIGINT (Ctrl-C) while inside: the projector finishes the
    batch it is applying, lets its lock go and ends with status 0."""
    stopping = Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield stopping
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
