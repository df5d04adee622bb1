"""Finding a return's tables in a directory and reading them one child at a time.

A return's files are not sorted by child, and a return may be large: each row's record, once
read and checked, is staged in a temporary SQLite file and read back child by child, so
memory holds one child's records, not the return."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import NamedTuple, TextIO

from eventsourcing.persistence import Cipher
from pydantic_core import from_json

from careledger.ledger.domain.limits import limits
from careledger.ledger.errors import LedgerError
from careledger.ledger.ssda903.records import ChildDetails, Episode
from careledger.ledger.ssda903.rows import (
    PARTICIPATION_BY_CODE,
    Review,
    SocialWorker,
    Table,
    clean_names,
    clean_values,
    recognise,
)
from careledger.ledger.store import trusted

Row = dict[str, str | None]
Record = Episode | ChildDetails | Review | SocialWorker


@dataclass(frozen=True)
class ReturnFile:
    path: Path
    table: Table
    sha256: str

    @cached_property
    def name(self) -> str:
        """The file's name (asked for every row's `source`)."""
        return self.path.name


class Line(NamedTuple):
    """One data row of a table, cleaned (`return_rows.clean`): `row` is its row number as a
    spreadsheet shows it (the column names are row 1). (A named tuple: one is made for every
    row of a return, and a frozen dataclass costs twice as much to make.)"""

    file: ReturnFile
    row: int
    values: Row
    problem: str | None = None  # why the row cannot be read (cells missing, a cell too long)
    problem_column: str = "(row)"  # the column the problem is in, if it is in one


class Checked(NamedTuple):
    """A row read into its record and checked (`mapping.checked`): what is staged of it, so
    that the recording reads each row once, not again. (A named tuple, as `Line` is.)"""

    file: ReturnFile
    row: int
    record: Record


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _columns(path: Path) -> list[str]:
    with _reading(path) as f:
        return next(_csv_rows(f, path.name), (0, []))[1]


def _csv_rows(f: TextIO, name: str) -> Iterator[tuple[int, list[str]]]:
    """The CSV rows of `f` with the number of each row's last line, read without ever
    holding more than CARELEDGER_MAX_LINE_LENGTH characters of one line (a file with no line
    breaks is refused, not read whole). The csv module's own cap on a cell is raised to that
    length while the file is read, so that a long cell is refused by `lines`, naming its
    column, rather than by the csv module naming none."""
    most = limits().line_length
    read = 0

    def bounded() -> Iterator[str]:
        nonlocal read
        while line := f.readline(most + 1):
            read += 1
            if len(line.rstrip("\r\n")) > most:
                raise LedgerError(
                    f"{name} line {read}: longer than {most:,} characters "
                    "(CARELEDGER_MAX_LINE_LENGTH); nothing recorded"
                )
            yield line

    reader = csv.reader(bounded())
    before = csv.field_size_limit(most)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as error:
        raise LedgerError(f"{name} row {reader.line_num}: {error}; nothing recorded") from None
    finally:
        csv.field_size_limit(before)


@contextmanager
def _reading(path: Path) -> Iterator[TextIO]:
    """A return's CSV as UTF-8 text (a byte-order mark is allowed); any other encoding is
    refused with the file's name, before anything is recorded."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            yield f
    except UnicodeDecodeError as error:
        raise LedgerError(
            f"{path.name}: not UTF-8 text (byte {error.start} cannot be read); "
            "save it as CSV UTF-8 and import again"
        ) from None


def find_tables(directory: Path) -> dict[Table, ReturnFile]:
    """The Header, Episodes, Reviews (and SWEpisodes) files of a return, by their columns."""
    if not directory.is_dir():
        raise LedgerError(f"{directory}: not a directory")
    found: dict[Table, ReturnFile] = {}
    for path in sorted(x for x in directory.iterdir() if x.suffix.lower() == ".csv"):
        table = recognise(_columns(path))
        if table is None:
            continue
        if table in found:
            raise LedgerError(
                f"{directory}: both {found[table].name} and {path.name} hold the {table} table"
            )
        found[table] = ReturnFile(path, table, _digest(path))
    missing = [t for t in (Table.HEADER, Table.EPISODES) if t not in found]
    if missing:
        names = ", ".join(missing)
        raise LedgerError(f"{directory}: no {names} table (recognised by its columns)")
    return found


def lines(file: ReturnFile) -> Iterator[Line]:
    """The table's rows; a row with more or fewer cells than there are column names (a file
    cut short, a stray comma) comes with the problem, to be refused, not guessed at."""
    most = limits().csv_cell
    with _reading(file.path) as f:
        rows = _csv_rows(f, file.name)
        names = next(rows, (0, list[str]()))[1]
        columns = clean_names(names)
        for row, cells in rows:  # line_num counts blank lines too, as a spreadsheet does
            if not cells:
                continue
            problem, column = None, "(row)"
            if len(cells) != len(names):
                problem = f"has {len(cells)} cells where there are {len(names)} columns"
            if max(map(len, cells)) > most:
                long = next(i for i, cell in enumerate(cells) if len(cell) > most)
                column = names[long].strip().upper() if long < len(names) else "(row)"
                problem = (
                    f"is {len(cells[long]):,} characters long; at most {most:,} are accepted "
                    "(CARELEDGER_MAX_CSV_CELL)"
                )
                cells = [cell if len(cell) <= most else "" for cell in cells]
            values = clean_values(columns, cells)
            yield Line(file, row, values, problem, column)


_SEP = "\x1f"  # the ASCII unit separator: in no code, date or id (`fields.normal_id`)


def _packed(record: Record) -> str:
    """A checked record as it is staged: an episode or a child's details as pydantic's JSON
    of the validated model, a review or a social worker as its few values (codes, ISO dates
    and an id) joined by the unit separator, cheaper than JSON for most rows of a return."""
    if isinstance(record, Review):
        return f"{record.held_on.isoformat()}{_SEP}{record.participation.value}"
    if isinstance(record, SocialWorker):
        return _SEP.join([record.worker_id, record.from_on.isoformat(), record.reason or ""])
    return type(record).__pydantic_serializer__.to_json(record).decode()


def _unpacked(data: str, table: Table) -> Record:
    """A staged record, built as it was checked without being validated again: it was
    validated as it was read, and the staging file is the import's own (`ledger.store.trusted`
    builds a model from its JSON as validation would)."""
    if table is Table.EPISODES:
        return trusted.build(Episode, from_json(data))
    if table is Table.HEADER:
        return trusted.build(ChildDetails, from_json(data))
    values = data.split(_SEP)
    if table is Table.REVIEWS:
        return Review(date.fromisoformat(values[0]), PARTICIPATION_BY_CODE[values[1]])
    return SocialWorker(values[0], date.fromisoformat(values[1]), values[2] or None)


class Staging:
    """A temporary SQLite file of a return's checked records, read back grouped by child: in
    a directory only its owner can read, removed when the import ends, and encrypted with the
    ledger's cipher when encryption at rest is on (the records are about children)."""

    def __init__(self, cipher: Cipher | None = None) -> None:
        self._cipher = cipher
        self._dir = tempfile.TemporaryDirectory(prefix="careledger-903-")
        self._db = sqlite3.connect(Path(self._dir.name) / "rows.sqlite")
        # A scratch file, removed when the import ends: nothing to recover after a crash.
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE rows (child TEXT, tbl TEXT, file TEXT, rowno INTEGER, data TEXT)"
        )
        self._files: dict[str, ReturnFile] = {}
        self._pending: list[tuple[str, str, str, int, str | bytes]] = []

    def add(self, child: str, checked: Checked) -> None:
        file = checked.file
        self._files.setdefault(file.name, file)
        packed = self._sealed(_packed(checked.record))
        self._pending.append((child, str(file.table), file.name, checked.row, packed))
        if len(self._pending) >= 1000:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO rows VALUES (?,?,?,?,?)", self._pending)
        self._pending.clear()

    def _sealed(self, packed: str) -> str | bytes:
        return packed if self._cipher is None else self._cipher.encrypt(packed.encode())

    def _opened(self, data: str | bytes, table: Table) -> Record:
        if self._cipher is not None:
            assert isinstance(data, bytes)
            data = self._cipher.decrypt(data).decode()
        assert isinstance(data, str)
        return _unpacked(data, table)

    def children(self) -> Iterator[tuple[str, list[Checked]]]:
        self._flush()
        self._db.commit()
        self._db.execute("CREATE INDEX rows_child ON rows (child, tbl, rowno)")
        cursor = self._db.execute(
            "SELECT child, file, rowno, data FROM rows ORDER BY child, tbl, rowno"
        )
        child, group = "", list[Checked]()
        files = self._files
        for ref, name, rowno, data in cursor:
            if ref != child and group:
                yield child, group
                group = []
            child = ref
            file = files[name]
            record = (
                _unpacked(data, file.table) if self._cipher is None
                else self._opened(data, file.table)
            )  # fmt: skip
            group.append(Checked(file, rowno, record))
        if group:
            yield child, group

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()
