"""How `careledger verify --projections` reports its comparison (`projections.recheck`)."""

from __future__ import annotations

from typing import Any

import click

from careledger.projections.recheck import SHOWN, Comparison, Difference


def projections_report(found: Comparison) -> dict[str, Any]:
    return {
        "same": found.same,
        "compared_up_to_log_position": found.position,
        "newest_log_position": found.newest,
        "differing_rows": found.counts,
        "differences": [
            {
                "table": d.table,
                "key": d.key,
                "problem": d.problem,
                "live": d.live,
                "rebuilt": d.rebuilt,
            }
            for d in found.differences
        ],
    }


def print_projections(found: Comparison) -> None:
    reach = f"up to log position {found.position}"
    if found.newest > found.position:
        reach += f" (the live views are {found.newest - found.position} event(s) behind)"
    if found.same:
        click.echo(f"projections: the same as rebuilt from the events, {reach}")
        return
    click.echo(f"projections: DIFFER from a rebuild from the events, {reach}")
    for table, count in found.counts.items():
        click.echo(f"  {table}: {count} row(s) differ")
        listed = [d for d in found.differences if d.table == table]
        for difference in listed:
            _print_difference(difference)
        if count > len(listed):
            click.echo(f"    and {count - len(listed)} more (at most {SHOWN} listed)")


def _print_difference(difference: Difference) -> None:
    key = ", ".join(f"{name}={value!r}" for name, value in difference.key.items())
    click.echo(f"    {key}: {difference.problem}")
    if difference.live is not None and difference.rebuilt is not None:
        for column, live in difference.live.items():
            click.echo(f"      {column}: live {live!r}, rebuilt {difference.rebuilt[column]!r}")
    elif difference.rebuilt is not None:
        click.echo(f"      rebuilt row: {difference.rebuilt}")
    elif difference.live is not None:
        click.echo(f"      live row: {difference.live}")
