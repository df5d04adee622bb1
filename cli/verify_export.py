"""`careledger verify-export FILE`: does an exported chronology still match the ledger?

Every form of `careledger chronology` carries a stamp: the case, how many of its events the
export covers, the period, the case's head digest then, and the digest of the rows. This
checks, against the ledger now:

1. the case's chain verifies, and its event N (the last the export covers) still has the head
   digest of the stamp: the same events, unchanged;
2. the rows the ledger gives for those N events and that period have the stamp's content
   digest: the export's content is what the ledger says;
3. for the JSON and CSV forms, the rows in the file itself have that digest too: the file was
   not edited (Markdown, HTML and PDF are checked through their stamp only);
4. whether the case has grown since: events recorded after the export.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import click

from careledger.api import opened
from careledger.cli.chronology import render, verified_events
from careledger.cli.options import DB_OPTION
from careledger.cli.principal import log_read
from careledger.cli.safe_text import unquoted_cell
from careledger.ledger.errors import LedgerError
from careledger.projections.chronology import (
    FIRST_FORMAT,
    FORMAT,
    FORMATS,
    Chronology,
    CorrectedSince,
    Row,
    chronology,
    content_digest,
    corrected_since,
)
from careledger.projections.queries import Child

STAMP = re.compile(
    rb"(?P<format>careledger-chronology/[12]) case=(?P<case>[0-9a-f]{32}) events=(?P<events>\d+) "
    rb"from=(?P<from>[0-9-]+) to=(?P<to>[0-9-]+) at=(?P<at>[0-9T:+-]+) by=(?P<by>[^ ]+) "
    rb"head=(?P<head>[0-9a-f]{64}) content=(?P<content>[0-9a-f]{64})"
)
LIST_FIELDS = {"flags", "corrections"}
CORRECTED_SINCE = 4  # exit status: matches, but some entries are no longer the ledger's word


@dataclass(frozen=True)
class Stamp:
    format: str  # the version of the forms (projections.chronology.FORMATS)
    case: str
    events: int
    period: tuple[date | None, date | None]
    produced_at: datetime
    produced_by: str
    head: str
    content: str


def read_stamp(data: bytes) -> Stamp:
    """The stamp: the JSON form's own field; in the other forms the last stamp-shaped line
    (the real one closes the file: text in a row cannot stand in for it)."""
    if data.lstrip().startswith(b"{"):
        found = STAMP.fullmatch(str(json.loads(data).get("stamp", "")).encode())
    else:
        matches = list(STAMP.finditer(data))
        found = matches[-1] if matches else None
    if found is None:
        raise LedgerError("FILE: no careledger chronology stamp found in it")

    def day(value: bytes) -> date | None:
        return None if value == b"-" else date.fromisoformat(value.decode())

    return Stamp(
        found["format"].decode(),
        found["case"].decode(),
        int(found["events"]),
        (day(found["from"]), day(found["to"])),
        datetime.fromisoformat(found["at"].decode()),
        unquote(found["by"].decode()),
        found["head"].decode(),
        found["content"].decode(),
    )


def file_rows(data: bytes, version: str) -> tuple[str, list[Row] | None]:
    """The form of the file, and its rows when the form can be read back exactly."""
    text = data.lstrip()
    if text.startswith(b"{"):
        loaded = json.loads(data)
        if loaded.get("format") not in FORMATS:
            raise LedgerError(f"FILE: a JSON file, but not a {FORMAT} export")
        return "json", [Row(**row) for row in loaded["rows"]]
    if text.startswith(b"%PDF"):
        return "pdf", None
    if text.startswith(b"number,"):
        return "csv", _csv_rows(data.decode(), quoted=version != FIRST_FORMAT)
    return ("html" if b"<html" in data[:2000].lower() else "md"), None


def _csv_rows(text: str, quoted: bool) -> list[Row]:
    """The rows of a CSV form; `quoted`: its cells were quoted for spreadsheets (version 2),
    and are read back unquoted."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    rows = []
    for values in reader:
        if len(values) == 1:  # the stamp
            break
        if len(values) != len(header):
            raise LedgerError(f"FILE: CSV row {reader.line_num} has {len(values)} fields")
        if quoted:
            values = [unquoted_cell(value) for value in values]
        raw: dict[str, Any] = dict(zip(header, values, strict=True))
        rows.append(Row(**{f.name: _csv_value(f.name, raw[f.name]) for f in fields(Row)}))
    return rows


def _csv_value(name: str, value: str) -> Any:
    if name in LIST_FIELDS:
        return value.split(" | ") if value else []
    if name in {"number", "event"}:
        return int(value)
    if name in {"decided_by", "authority", "challenge"}:
        return value or None
    return value


@click.command(name="verify-export")
@DB_OPTION
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def verify_export_command(db: str | None, file: Path, fmt: str) -> None:
    """Check an exported chronology against the ledger: the same events, unchanged, the same
    content, whether any of its entries has been corrected since, and whether the case has
    grown. Exit status 1 when it does not match; 4 when it matches but entries have been
    corrected since (the export is no longer the ledger's word for them)."""
    data = file.read_bytes()
    stamp = read_stamp(data)
    form, rows = file_rows(data, stamp.format)
    with opened(db) as o:
        o.catch_up()
        child = _child(o.views.fetch("SELECT * FROM {s}cl_cases"), stamp.case)
        log_read(o.access, child, "chronology")
        events, hashes = verified_events(o, child)
        made = chronology(
            events,
            child,
            hashes,
            stamp.produced_at,
            stamp.produced_by,
            stamp.period,
            stamp.events,
            o.views.presumed_significant,
        )
    made = replace(made, format=stamp.format)  # rendered again as its own version renders
    corrections = corrected_since(events, made)
    report = _judge(stamp, form, rows, hashes, made, render(made, form) == data, corrections)
    report["child"] = f"{child.council}:{child.child_ref}"
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        for line in report["findings"]:
            click.echo(line)
    if not report["matches"]:
        sys.exit(1)
    if corrections:
        sys.exit(CORRECTED_SINCE)


def _child(cases: list[dict[str, Any]], case_hex: str) -> Child:
    for row in cases:
        child = Child(row["council"], row["child_ref"])
        if child.case_id.hex == case_hex:
            return child
    raise LedgerError(f"FILE: the export is of case {case_hex}, which this ledger does not hold")


def _judge(
    stamp: Stamp,
    form: str,
    rows: list[Row] | None,
    hashes: dict[int, bytes],
    made: Chronology,
    same_bytes: bool,
    corrections: list[CorrectedSince],
) -> dict[str, Any]:
    """The export matches when its events are the ledger's, unchanged, and the file is
    exactly what the ledger gives for them (rendered again with the stamp's date, author and
    period): a changed header, row, or anything added to the file, is found."""
    findings: list[str] = []
    now = max(hashes) if hashes else 0
    same_events = stamp.events <= now and hashes[stamp.events].hex() == stamp.head
    if same_events:
        findings.append(
            f"same events: the {stamp.events} events it covers are in the ledger as they were "
            "recorded"
        )
    else:
        findings.append(
            f"DIFFERENT: the export covers {stamp.events} events with head digest {stamp.head}; "
            f"the ledger's event {stamp.events} has "
            f"{hashes[stamp.events].hex() if stamp.events in hashes else 'no such event'}"
        )
    if same_bytes:
        findings.append(
            f"unedited: the {form.upper()} file is exactly what the ledger gives for them"
        )
    elif rows is not None and content_digest(rows) != stamp.content:
        first = next(
            (mine.number for mine, theirs in zip(rows, made.rows, strict=False) if mine != theirs),
            min(len(rows), len(made.rows)) + 1,
        )
        findings.append(f"DIFFERENT: the file's rows were edited (first at row {first})")
    else:
        findings.append(
            f"DIFFERENT: the {form.upper()} file is not what the ledger gives for these events "
            "(edited, or produced by another version or policy of careledger)"
        )
    findings += [f"CORRECTED SINCE: {correction}" for correction in corrections]
    grown = now - stamp.events
    findings.append(
        f"the case has grown: {grown} event(s) recorded since the export"
        if grown > 0
        else "the case has not grown since the export"
    )
    matches = same_events and same_bytes
    findings.insert(0, _verdict(matches, corrections))
    return {
        "matches": matches,
        "corrected_since": [asdict(correction) for correction in corrections],
        "events_since": max(grown, 0),
        "findings": findings,
    }


def _verdict(matches: bool, corrections: list[CorrectedSince]) -> str:
    if not matches:
        return "DOES NOT MATCH the ledger"
    if corrections:
        return (
            f"MATCHES the ledger as it stood when exported, but {len(corrections)} of its "
            "entries have been corrected since: for those, the export is no longer the "
            "ledger's word"
        )
    return "MATCHES the ledger"
