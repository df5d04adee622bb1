"""The court chronology's forms: Markdown, CSV, HTML, PDF and JSON, each carrying the stamp
line (case, events, period, the case's head digest, the digest of the rows) that
`careledger verify-export` reads. The forms are part of what an export proves: verify-export
renders a file again, in the version its stamp names, and compares it byte for byte."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict
from typing import Any

from careledger.projections.chronology import FIRST_FORMAT, Chronology, Row
from careledger.projections.safe_text import printable, spreadsheet_cell

COLUMNS = (
    "No",
    "Date",
    "What happened",
    "Decided by",
    "Authority",
    "IRO challenge",
    "Flags",
    "Source",
    "Ledger record",
)
CSV_FIELDS = tuple(Row.__dataclass_fields__)
LIST_SEPARATOR = " | "
JSON_CONTROL = re.compile("[\x7f-\x9f]")


def render(made: Chronology, fmt: str) -> bytes:
    if fmt == "json":
        text = json.dumps(made.to_json(), indent=2, ensure_ascii=False) + "\n"
        return (text if made.format == FIRST_FORMAT else _json_controls(text)).encode()
    if fmt == "csv":
        return as_csv(made).encode()
    if fmt == "html":
        from careledger.projections.chronology_html import render_html

        return shown(made, render_html(made)).encode()
    if fmt == "pdf":
        from careledger.projections.chronology_pdf import render_pdf

        return render_pdf(made)
    return as_markdown(made).encode()


def _json_controls(text: str) -> str:
    """JSON escapes the C0 controls itself, not DEL and the C1 controls: escaped here too (as
    \\u007f...), which a JSON reader reads back as the same characters."""
    return JSON_CONTROL.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


def shown(made: Chronology, text: str) -> str:
    """Text as the printed forms show it: control characters as escapes (projections.safe_text),
    from the second version of the forms on."""
    return text if made.format == FIRST_FORMAT else printable(text)


def header_lines(made: Chronology) -> list[str]:
    period = f"{made.period_from or 'the beginning'} to {made.period_to or 'the latest record'}"
    lines = [
        f"Child: {made.child} (case {made.case_id})",
        f"Period: {period}",
        f"Produced: {made.produced_at} by {made.produced_by}",
        f"Ledger: events 1 to {made.events} of this case (event 1 opens the case record); "
        f"head digest {made.head_digest}",
    ]
    return [shown(made, line) for line in lines]


def cells(made: Chronology, row: Row) -> list[str]:
    """The printed columns (COLUMNS) of one row."""
    what = row.what + "".join(f"\nCORRECTED: {c}" for c in row.corrections)
    printed = [
        str(row.number),
        row.date,
        what,
        row.decided_by or "",
        row.authority or "",
        row.challenge or "",
        "; ".join(row.flags),
        row.source,
        f"event {row.event}, recorded {row.recorded}; hash {row.event_hash[:16]}",
    ]
    return [shown(made, cell) for cell in printed]


def as_markdown(made: Chronology) -> str:
    lines = [f"# Chronology of {shown(made, made.child)}", ""]
    lines += [f"- {line}" for line in header_lines(made)] + [""]
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    for row in made.rows:
        lines.append("| " + " | ".join(_md(cell) for cell in cells(made, row)) + " |")
    lines += ["", f"<!-- {made.stamp()} -->", ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def as_csv(made: Chronology) -> str:
    """One line per row, for a spreadsheet: from the second version of the forms on, a cell
    is shown as text even when it begins like a formula (projections.safe_text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in made.rows:
        values = asdict(row)
        writer.writerow(
            _csv_cell(made, LIST_SEPARATOR.join(v) if isinstance(v, list) else v)
            for v in (values[name] for name in CSV_FIELDS)
        )
    writer.writerow([made.stamp()])
    return buffer.getvalue()


def _csv_cell(made: Chronology, value: Any) -> Any:
    if value is None:
        return ""
    if made.format == FIRST_FORMAT or not isinstance(value, str):
        return value
    return spreadsheet_cell(printable(value), reversible=True)
