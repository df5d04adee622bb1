"""The court chronology as one self-contained HTML file that prints as a court
document: A4 landscape, the table's header repeated on each printed page, no row split
across pages.

Nothing is fetched when it is opened (the style is inline; no script; a Content-Security-
Policy forbids every network load), and every value is escaped (jinja2 autoescape): names,
reasons and sources come from case records. The header and the columns are those of the
other forms (`header_lines`, `COLUMNS` and `cells` in projections/chronology_forms.py); the
stamp line that `careledger verify-export` reads is in a `<meta name="careledger-stamp">` and
in the footer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from jinja2 import Environment, StrictUndefined, Template

from careledger.projections.chronology import Chronology, Row
from careledger.projections.chronology_forms import COLUMNS, cells, header_lines

TEMPLATE = "templates/chronology.html.j2"
WHAT = 2  # the column of "What happened", where corrections are shown
FLAGS = 6  # the column of the flags
# Each column's share of the width, in per cent (a fixed layout: the same on every page).
WIDTHS = (6, 7.5, 24, 10, 10, 8.5, 12, 9, 13)


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Line:
    """One printed row: the cells of `cells(row)`, with what and the flags kept apart so the
    page can mark them; their text is that of the other forms."""

    row: Row
    cells: list[str]


def render_html(made: Chronology) -> str:
    facts = [Fact(*_label(line)) for line in header_lines(made)]
    return _template().render(
        made=made,
        facts=facts,
        columns=COLUMNS,
        what=WHAT,
        flags=FLAGS,
        widths=WIDTHS if len(WIDTHS) == len(COLUMNS) else [100 / len(COLUMNS)] * len(COLUMNS),
        lines=[Line(row, cells(made, row)) for row in made.rows],
        corrected=sum(1 for row in made.rows if row.corrections),
        flagged=sum(1 for row in made.rows if row.flags),
        stamp=made.stamp(),
        period=_period(made),
    )


def _label(line: str) -> tuple[str, str]:
    label, _, value = line.partition(": ")
    return (label, value) if value else ("", line)


def _period(made: Chronology) -> str:
    return f"{made.period_from or 'the beginning'} to {made.period_to or 'the latest record'}"


@cache
def _template() -> Template:
    env = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    template = files("careledger.projections").joinpath(TEMPLATE)
    return env.from_string(template.read_text(encoding="utf-8"))
