"""The demo's case histories (cli/demo/demo.jsonl), recorded for the access tests, and the
people of those histories as principals.

In them, IRO-04 is NR-0101's and NR-0104's IRO at council E10000099; at E09000099, NR-0205
had B-IRO-14, then B-IRO-31, then IRO-11 (so B-IRO-14 is a past IRO of NR-0205), and
B-IRO-11 has NR-0201, NR-0203 and NR-0204."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files

from careledger.access import Principal
from careledger.api import Opened, opened

HOME, OTHER = "E09000099", "E10000099"
COURT = "Family Court at Leeds"


def demo_events() -> list[dict[str, object]]:
    text = files("careledger.cli").joinpath("demo/demo.jsonl").read_text(encoding="utf-8")
    events = []
    for line in filter(str.strip, text.splitlines()):
        event = json.loads(line)
        event.pop("recorded_on", None)  # the demo's own recording dates; demo files only
        events.append(event)
    return events


@contextmanager
def demo_ledger(db: str) -> Iterator[Opened]:
    """The demo's histories recorded in a new ledger at `db`, its views caught up."""
    with opened(db, create_tables=True) as o:
        o.record(demo_events(), actor="lcs-feed", role="ADMIN")
        o.catch_up()
        yield o


def person(role: str, name: str = "B-IRO-14", councils: tuple[str, ...] = (HOME,)) -> Principal:
    """Someone of `role` at E09000099 (a court clerk: at the Family Court at Leeds; a system:
    the council's LCS feed)."""
    if role == "COURT_CLERK":
        return Principal(name, role, frozenset(), COURT)
    if role == "SYSTEM":
        return Principal(name, role, frozenset(councils), kind="system")
    return Principal(name, role, frozenset(councils))
