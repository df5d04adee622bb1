"""Every read command renders the same way for the same --format."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from careledger.projections.safe_text import printable

FORMATS = click.Choice(["table", "json"])


def render(rows: list[dict[str, Any]], fmt: str, title: str, empty: str = "none") -> None:
    """JSON escapes every control character itself; a table shows each one as its escape
    (`projections.safe_text`), and shows markup such as "[came from challenge CH-2]" as typed."""
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))
    if not rows:
        console.print(Text(printable(title), style="bold"), Text(f": {empty}"), sep="")
        return
    table = Table(title=Text(printable(title)), show_lines=True, title_justify="left")
    for column in rows[0]:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if v is None else printable(str(v))) for v in row.values()))
    console.print(table)
