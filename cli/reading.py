"""How a read command opens the ledger: where it reads, whether it brings the projections up
to date first, and what it says when they lag.

- Where: `--db`, else CARELEDGER_READ_DB (the read URL: a reader's role, or a streaming
  replica), else CARELEDGER_DB.
- Catching up: as the single-user default always has, a read command first applies the
  events recorded since the projections' position, unless CARELEDGER_CATCH_UP is false (one
  projector process keeps them current: `careledger project --follow`) or it reads at the
  read URL, which it opens for reading: connections that refuse every write.
- The lag: when it does not catch up and the projections are behind, it says so on stderr,
  and answers from them as they are.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click
from pydantic import TypeAdapter, ValidationError

from careledger.api import Opened, opened
from careledger.ledger.errors import LedgerError

READ_DB = "CARELEDGER_READ_DB"
CATCH_UP = "CARELEDGER_CATCH_UP"

READ_DB_OPTION = click.option(
    "--db",
    envvar=[READ_DB, "CARELEDGER_DB"],
    default=None,
    help="SQLite file path or postgresql:// URL to read (env CARELEDGER_READ_DB, a read-only "
    "replica or a reader's URL; else CARELEDGER_DB; default ./careledger.db).",
)


def catch_up_setting() -> bool:
    """CARELEDGER_CATCH_UP (default true): whether commands bring the projections up to date
    themselves; false when `careledger project --follow` keeps them current."""
    value = os.environ.get(CATCH_UP)
    if value is None or not value.strip():
        return True
    try:
        return TypeAdapter(bool).validate_python(value.strip())
    except ValidationError:
        raise LedgerError(f"{CATCH_UP}: '{value}' is not true or false") from None


def is_read_url(db: str | None) -> bool:
    """Whether `db` is the read URL, set apart from the ledger's own location."""
    read_db = os.environ.get(READ_DB)
    return bool(read_db) and db == read_db and read_db != os.environ.get("CARELEDGER_DB")


@contextmanager
def opened_to_read(db: str | None, projections: bool = True) -> Iterator[Opened]:
    """The ledger opened for a read command; with `projections`, the projections caught up
    first where it may (see the module), else their lag told on stderr. A command that reads
    only the events (the chronology) passes `projections=False`."""
    reading = is_read_url(db)
    with opened(db, reading=reading, catch_up=catch_up_setting() and projections) as o:
        if o.catches_up:
            o.catch_up()
        elif projections:
            lag = o.lag()
            if lag.events:
                o.notify(f"note: {lag.described()}; answering from them as they are")
        yield o
