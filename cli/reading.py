"""How a read command opens the ledger: where it reads, whether it brings the projections up
to date first, and what it says when they lag.

- Where: `--read-db` (CARELEDGER_READ_DB: the read URL, a reader's role or a streaming
  replica), else `--db` (CARELEDGER_DB). A read URL other than the ledger's is opened for
  reading: connections that refuse every write.
- Catching up: as the single-user default always has, a read command first applies the
  events recorded since the projections' position, unless `--no-catch-up`
  (CARELEDGER_CATCH_UP=false: one projector process keeps them current, `careledger project
  --follow`) or it reads at a read URL.
- The lag: when it does not catch up and the projections are behind, it says so on stderr,
  and answers from them as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from careledger.api import Opened, opened

READ_DB_OPTION = click.option(
    "--read-db",
    envvar="CARELEDGER_READ_DB",
    default=None,
    help="Where reads go, opened for reading only: a reader's URL or a streaming replica "
    "(env CARELEDGER_READ_DB; default: --db).",
)
CATCH_UP_OPTION = click.option(
    "--catch-up/--no-catch-up",
    envvar="CARELEDGER_CATCH_UP",
    default=True,
    show_default=True,
    help="Bring the projections up to date first (env CARELEDGER_CATCH_UP); --no-catch-up "
    "when 'careledger project --follow' keeps them current.",
)


def is_read_url(db: str | None, read_db: str | None) -> bool:
    """Whether reads go to a read URL set apart from the ledger's own location."""
    return read_db is not None and read_db != db


@contextmanager
def opened_to_read(
    db: str | None, read_db: str | None, catch_up: bool, projections: bool = True
) -> Iterator[Opened]:
    """The ledger opened for a read command; with `projections`, the projections caught up
    first where it may (see the module), else their lag told on stderr. A command that reads
    only the events (the chronology) passes `projections=False`."""
    reading = is_read_url(db, read_db)
    where = read_db if reading else db
    with opened(where, reading=reading, catch_up=catch_up and projections) as o:
        if o.catches_up:
            o.catch_up()
        elif projections:
            lag = o.lag()
            if lag.events:
                o.notify(f"note: {lag.described()}; answering from them as they are")
        yield o
