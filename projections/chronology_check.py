"""Does an exported chronology still match the ledger?

Every form of the court chronology carries a stamp: the case, how many of its events the
export covers, the period, the case's head digest then, and the digest of the rows. This
checks, against the ledger now:

1. the case's chain verifies, and its event N (the last the export covers) still has the head
   digest of the stamp: the same events, unchanged;
2. the file is exactly what the ledger gives for those N events and that period, rendered
   again in the version of the forms its stamp names (`projections.chronology_forms`): the
   export's content is what the ledger says, and nothing in the file was edited; for the JSON
   and CSV forms, whose rows read back exactly, an edited row is named;
3. which of its entries a correction recorded since has changed;
4. whether the case has grown since: events recorded after the export.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote

from careledger.ledger.domain.events import CaseEvent
from careledger.ledger.domain.vocabulary import Section
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
from careledger.projections.chronology_forms import render
from careledger.projections.queries import Child
from careledger.projections.safe_text import unquoted_cell

STAMP = re.compile(
    rb"(?P<format>careledger-chronology/[0-9]+) case=(?P<case>[0-9a-f]{32}) events=(?P<events>\d+) "
    rb"from=(?P<from>[0-9-]+) to=(?P<to>[0-9-]+) at=(?P<at>[0-9T:+-]+) by=(?P<by>[^ ]+) "
    rb"head=(?P<head>[0-9a-f]{64}) content=(?P<content>[0-9a-f]{64})"
)
LIST_FIELDS = {"flags", "corrections"}


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
    if found["format"].decode() not in FORMATS:
        raise LedgerError(
            f"FILE: its stamp names {found['format'].decode()}, a version of the chronology's "
            f"forms this careledger does not know ({', '.join(FORMATS)})"
        )

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
    """The rows of a CSV form; `quoted`: its cells were quoted for spreadsheets (from version 2 on),
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


@dataclass(frozen=True)
class ExportVerdict:
    """What checking an export found: `matches` when its events are the ledger's, unchanged,
    and the file is exactly what the ledger gives for them; the entries corrected since (the
    export is no longer the ledger's word for them); how many events were recorded since; and
    the findings in words, the verdict first."""

    child: str  # COUNCIL:REF
    form: str  # md, csv, html, pdf or json
    stamp: Stamp
    matches: bool
    corrected_since: list[CorrectedSince]
    events_since: int
    findings: list[str]

    def report(self) -> dict[str, Any]:
        """As `verify-export --format json` gives it."""
        return {
            "matches": self.matches,
            "corrected_since": [asdict(correction) for correction in self.corrected_since],
            "events_since": self.events_since,
            "findings": self.findings,
            "child": self.child,
        }


def check_export(
    data: bytes,
    child: Child,
    events: Sequence[CaseEvent],
    hashes: dict[int, bytes],
    presumed: frozenset[Section],
) -> ExportVerdict:
    """The export `data` checked against the case's stored events (decoded from the very bytes
    whose hashes are `hashes`), its flags judged under the policy `presumed`."""
    stamp = read_stamp(data)
    form, rows = file_rows(data, stamp.format)
    made = chronology(
        events,
        child,
        hashes,
        stamp.produced_at,
        stamp.produced_by,
        stamp.period,
        stamp.events,
        presumed,
    )
    made = replace(made, format=stamp.format)  # rendered again as its own version renders
    corrections = corrected_since(events, made)
    same_bytes = render(made, form) == data
    matches, events_since, findings = _judge(
        stamp, form, rows, hashes, made, same_bytes, corrections
    )
    return ExportVerdict(made.child, form, stamp, matches, corrections, events_since, findings)


def _judge(
    stamp: Stamp,
    form: str,
    rows: list[Row] | None,
    hashes: dict[int, bytes],
    made: Chronology,
    same_bytes: bool,
    corrections: list[CorrectedSince],
) -> tuple[bool, int, list[str]]:
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
    elif rows is not None and content_digest(rows, stamp.format) != stamp.content:
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
    return matches, max(grown, 0), findings


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
