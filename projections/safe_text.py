"""Text from the ledger made safe for where it is shown: a terminal and a spreadsheet.

Whatever a record says is shown as text, never obeyed. A reason recorded with ESC [ ... in
it would otherwise recolour, move the cursor of, or rewrite the terminal of whoever reads
the history; a CSV cell beginning `=` would be run as a formula by the spreadsheet that
opens it (OWASP, "CSV Injection").
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls but the newline, DEL, and the C1 controls (U+0080 to U+009F: a terminal may
# read U+009B alone as ESC [).
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# A cell a spreadsheet reads as a formula begins with one of these (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str) -> str:
    """`text` with every control character but the newline shown as its escape (`\\x1b`)."""
    return CONTROL.sub(lambda found: f"\\x{ord(found[0]):02x}", text)


def spreadsheet_cell(value: Any, reversible: bool = False) -> Any:
    """A CSV cell a spreadsheet shows as text: one beginning like a formula gets a leading
    `'`, which spreadsheets take as "text follows". Numbers are left as they are (a negative
    number is a number, not a formula). `reversible`: a cell beginning with `'` itself is
    quoted too, so that reading it back (`unquoted_cell`) takes exactly one off."""
    starts = (*FORMULA_START, "'") if reversible else FORMULA_START
    if isinstance(value, str) and value.startswith(starts):
        return "'" + value
    return value


def spreadsheet_row(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row for people: every text cell printable and shown as text."""
    return {
        name: spreadsheet_cell(printable(value)) if isinstance(value, str) else value
        for name, value in row.items()
    }


def unquoted_cell(text: str) -> str:
    """The value `spreadsheet_cell` quoted, reversibly."""
    return text[1:] if text.startswith("'") else text
