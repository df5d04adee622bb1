"""`careledger chronology CHILD`: the court chronology of one child, as Markdown,
CSV, HTML, PDF or JSON. Every form carries the stamp line (case, events, period, the case's
head digest, the digest of the rows) that `careledger verify-export` checks."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from eventsourcing.persistence import StoredEvent

from careledger.api import Opened, opened
from careledger.cli.options import (
    CHILD_ARGUMENT,
    COUNCIL_OPTION,
    DB_OPTION,
    FORCE_OPTION,
    parse_child,
    parse_day,
)
from careledger.cli.principal import log_read
from careledger.cli.safe_text import printable, spreadsheet_cell
from careledger.ledger.domain.events import CaseEvent
from careledger.ledger.errors import CaseNotFound, LedgerError
from careledger.ledger.integrity.verify import case_events
from careledger.ledger.private_files import write_private
from careledger.projections.chronology import FIRST_FORMAT, FORMAT, Chronology, Row, chronology
from careledger.projections.queries import Child

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


@click.command(name="chronology")
@DB_OPTION
@CHILD_ARGUMENT
@COUNCIL_OPTION
@click.option("--from", "from_", help="First date (YYYY-MM-DD).")
@click.option("--to", "to", help="Last date (YYYY-MM-DD).")
@click.option(
    "--format", "fmt", type=click.Choice(["md", "csv", "html", "pdf", "json"]), default="md"
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Default: stdout. Written readable by you only.",
)
@FORCE_OPTION
@click.option(
    "--by",
    "produced_by",
    envvar="CARELEDGER_ACTOR",
    required=True,
    help="Who produces it (env CARELEDGER_ACTOR).",
)
def chronology_command(
    db: str | None,
    child: str,
    council: str | None,
    from_: str | None,
    to: str | None,
    fmt: str,
    out: Path | None,
    force: bool,
    produced_by: str,
) -> None:
    """The decision chronology of a child for a court: one row per event in date order, with
    who decided, on what authority, the IRO's challenges, flags and the source reference;
    corrections shown where they apply. The header gives the case's head digest."""
    who = parse_child(child, council)
    period = (parse_day(from_, "--from"), parse_day(to, "--to"))
    if period[0] and period[1] and period[0] > period[1]:
        raise LedgerError("--from: is after --to")
    with opened(db) as o:
        log_read(o.access, who, "chronology")
        made, _ = verified_chronology(o, who, datetime.now(UTC), produced_by, period)
    data = render(made, fmt)
    if out is not None:
        write_private(out, data, "--out", force=force)
        done = f"chronology of {made.child}: {len(made.rows)} rows -> {out}"
        click.echo(printable(done), err=True)
    elif fmt == "pdf" and sys.stdout.isatty():
        raise LedgerError("--out: a PDF is not written to a terminal; give --out FILE")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def verified_chronology(
    o: Opened,
    who: Child,
    produced_at: datetime,
    produced_by: str,
    period: tuple[date | None, date | None] = (None, None),
    up_to: int | None = None,
    form_version: str = FORMAT,
) -> tuple[Chronology, dict[int, bytes]]:
    """The chronology read from the case's stored events, decoded from the very bytes the
    chain verification hashed (a projection table could have been edited), and the hash of
    each of the case's events; its forms as `form_version` renders them."""
    events, hashes = verified_events(o, who)
    made = chronology(
        events,
        who,
        hashes,
        produced_at,
        produced_by,
        period,
        up_to,
        o.views.presumed_significant,
    )
    return replace(made, format=form_version), hashes


def verified_events(o: Opened, who: Child) -> tuple[list[CaseEvent], dict[int, bytes]]:
    """The case's events, decoded from the very bytes whose chain was just verified, and the
    hash of each."""
    hashes, stored = case_events(o.ledger.store_recorder, who.case_id)
    if not stored:
        raise CaseNotFound(who.council, who.child_ref)
    events = [
        o.ledger.mapper.to_domain_event(
            StoredEvent(
                originator_id=row.case,
                originator_version=row.seq,
                topic=row.topic,
                state=row.state,
            )
        )
        for row in stored
    ]
    return [x for x in events if isinstance(x, CaseEvent)], hashes


def render(made: Chronology, fmt: str) -> bytes:
    if fmt == "json":
        text = json.dumps(made.to_json(), indent=2, ensure_ascii=False) + "\n"
        return (text if made.format == FIRST_FORMAT else _json_controls(text)).encode()
    if fmt == "csv":
        return as_csv(made).encode()
    if fmt == "html":
        from careledger.cli.chronology_html import render_html

        return shown(made, render_html(made)).encode()
    if fmt == "pdf":
        from careledger.cli.chronology_pdf import render_pdf

        return render_pdf(made)
    return as_markdown(made).encode()


def _json_controls(text: str) -> str:
    """JSON escapes the C0 controls itself, not DEL and the C1 controls: escaped here too (as
    \\u007f...), which a JSON reader reads back as the same characters."""
    return JSON_CONTROL.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


def shown(made: Chronology, text: str) -> str:
    """Text as the printed forms show it: control characters as escapes (cli.safe_text),
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
    is shown as text even when it begins like a formula (cli.safe_text)."""
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
