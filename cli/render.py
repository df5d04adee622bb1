"""Every read command renders the same way for the same --format: a table for people, or
one JSON envelope for programs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from careledger.projections.safe_text import printable

Decorated = TypeVar("Decorated", bound=Callable[..., Any])
ENVELOPE = "careledger/1"  # the version of the JSON envelope: bumped when its shape changes


class Formats(click.Choice):  # type: ignore[type-arg]
    """The formats a command gives, and earlier names it still reads without listing them
    (`verify --format text` is `table`)."""

    def __init__(self, choices: list[str], aliases: dict[str, str] | None = None) -> None:
        super().__init__(choices)
        self.aliases = aliases or {}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return super().convert(self.aliases.get(value, value), param, ctx)


def format_option(
    *more: str,
    default: str = "table",
    aliases: dict[str, str] | None = None,
    help: str = "json: one envelope, the same for every read command (README: JSON output).",
) -> Callable[[Decorated], Decorated]:
    """The one --format: `table` and `json` for every read command, and `more` (csv, html,
    pdf, md) where a command has them. A name in `aliases` is read as another: `verify`'s
    earlier `text` is its `table`; the chronology's `table` is its Markdown table."""
    aliases = aliases or {}
    choices = [name for name in ("table", "json", *more) if name not in aliases]
    choices.sort(key=lambda name: name != default)  # the default first
    return click.option(
        "--format",
        "fmt",
        type=Formats(choices, aliases),
        default=default,
        show_default=True,
        help=help,
    )


def command_name(ctx: click.Context) -> str:
    """The command as typed after `careledger` ("plan", "projections status")."""
    names: list[str] = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def envelope(query: dict[str, Any], data: Any) -> dict[str, Any]:
    """The one shape of every read command's JSON: what was asked, and the answer."""
    return enveloped(command_name(click.get_current_context()), query, data)


def enveloped(command: str, query: dict[str, Any], data: Any) -> dict[str, Any]:
    """The envelope of `command`'s answer: the service gives its reads in the same one."""
    return {"format": ENVELOPE, "command": command, "query": query, "data": data}


def as_json_text(document: dict[str, Any]) -> str:
    """A document as JSON text, every value as the commands write it (a date as YYYY-MM-DD);
    JSON escapes every control character itself."""
    return json.dumps(document, indent=2, default=str)


def emit_json(query: dict[str, Any], data: Any) -> None:
    click.echo(as_json_text(envelope(query, data)))


def render(
    rows: list[dict[str, Any]],
    fmt: str,
    title: str,
    empty: str = "none",
    query: dict[str, Any] | None = None,
) -> None:
    """The rows as the envelope's data (json), or as a table."""
    if fmt == "json":
        emit_json(query or {}, rows)
        return
    show_table(rows, title, empty)


def show_table(rows: list[dict[str, Any]], title: str, empty: str = "none") -> None:
    """A table shows each control character as its escape (`projections.safe_text`), and shows
    markup such as "[came from challenge CH-2]" as typed."""
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
