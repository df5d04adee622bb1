"""`careledger demo`: a ledger of children's case histories modelled on NAIRO's published ones,
loaded through the same path as `careledger record --file`, then its reports."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from importlib.resources import files
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from careledger.api import Opened, opened, progress_bar
from careledger.cli.demo_background import IRO, background_children, is_background
from careledger.cli.drift_output import show_tables
from careledger.cli.render import show_table
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.domain.commands import Command, parse_command
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.store.location import masked
from careledger.projections.drift import By
from careledger.projections.queries import Child
from careledger.service.tables import ServiceTables

DEMO_DB = "./careledger-demo.db"
LOADER = p.Actor(actor_id="demo-loader", role=Role.ADMIN)
INSPECTION_DAY = date(2026, 1, 30)  # the demo's drift report: what an inspector saw that day
RECORDED_AT = time(17, 0)  # the demo's records are made at the end of the working day
Timed = tuple[datetime, Command]


def demo_commands() -> list[Timed]:
    """The demo's histories, each event with the time the council recorded it.

    A demo line may carry `recorded_on` (a date; demo files only, not the JSON Lines format):
    the day that event was recorded, when it was not recorded the day it happened. A child's
    records never go back in time: a late record delays the records after it. The events
    of all children are then recorded in the order of those times, as a council's are."""
    text = files("careledger.cli").joinpath("demo/demo.jsonl").read_text(encoding="utf-8")
    timed: list[Timed] = []
    last: dict[tuple[str, str], datetime] = {}
    for line in filter(str.strip, text.splitlines()):
        data = json.loads(line)
        day = date.fromisoformat(data.pop("recorded_on", data["occurred_on"]))
        key = (data["council"], data["child"])
        at = max(_at(day), last.get(key, _at(day)))
        last[key] = at
        timed.append((at, parse_command(data)))
    timed += background_children()
    return sorted(timed, key=lambda item: item[0])


def _at(day: date) -> datetime:
    return datetime.combine(day, RECORDED_AT, tzinfo=ENGLAND).astimezone(UTC)


@click.command()
@click.option(
    "--db",
    default=DEMO_DB,
    show_default=True,
    help="Where to build the demo ledger: a SQLite file (replaced) or an empty "
    "PostgreSQL database URL.",
)
def demo(db: str) -> None:
    """Load a demo ledger of several children's histories and print its reports."""
    commands = demo_commands()
    if not db.startswith(("postgresql://", "postgres://")):
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
    with opened(db, create_tables=True) as o:
        ServiceTables(o.ledger).create()  # as `careledger init`: the demo can be served
        if o.ledger.recorder.max_notification_id():
            raise click.ClickException(
                f"{o.ledger.store.location} already holds events: the demo needs an empty ledger"
            )
        with progress_bar() as progress:
            task = progress.add_task("recording the demo histories", total=len(commands))
            for at, command in commands:
                o.ledger.clock = partial(lambda at: at, at)
                o.ledger.record([command], LOADER)
                progress.advance(task)
        o.catch_up(show_progress=True)
        show_reports(o)
    shown = masked(db)
    click.echo(
        f"\nThe demo ledger is in {shown}; try: careledger history --db {shown} "
        f"E10000099:NR-0101, or careledger plan --db {shown} E10000099:NR-0101 --as-of 2023-06-01"
    )


def show_reports(o: Opened) -> None:
    console = Console()
    every_child = o.children()
    children = [c for c in every_child if not is_background(c["council"], c["child_ref"])]
    show_table(
        [
            {
                "child": f"{c['council']}:{c['child_ref']}",
                "looked after since": c["looked_after_since"],
                "still looked after": bool(c["looked_after"]),
                "legal status": c["legal_status"],
                "IRO": c["iro"],
                "events": c["last_seq"],
            }
            for c in children
        ],
        "Children in the demo ledger",
    )
    background = len(every_child) - len(children)
    if background:
        click.echo(
            f"and {background} more children of {IRO.name}'s caseload, unremarkable on"
            " purpose (reviews on time, the child seen and heard), not listed here: they"
            " stand behind the caseload the drift report flags.\n"
        )
    for c in children:
        child = Child(c["council"], c["child_ref"])
        console.rule(f"{child.council}:{child.child_ref}")
        plan = o.plan(child)
        show_table(plan, f"Current care plan of {child.council}:{child.child_ref}")
        earlier = _before_last_change(plan)
        if earlier:
            show_table(
                o.plan(child, as_of=earlier),
                f"The plan as it stood on {earlier} (the day before its latest change)",
            )
    console.rule("Unapproved changes")
    show_table(
        o.unapproved(),
        "Significant plan changes without review approval, and changes listed for the IRO",
    )
    console.rule(f"Drift and delay, as an inspector saw it on {INSPECTION_DAY}")
    show_tables(o.drift(INSPECTION_DAY, By.COUNCIL))


def _before_last_change(plan: list[dict[str, Any]]) -> date | None:
    dates = sorted({date.fromisoformat(r["since"]) for r in plan})
    return dates[-1] - timedelta(days=1) if len(dates) > 1 else None
