"""Finding a return's tables in a directory and reading them one child at a time.

A return's files are not sorted by child, and a return may be large: the rows are staged in
a temporary SQLite file and read back child by child, so memory holds one child's rows, not
the return."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TextIO

from eventsourcing.persistence import Cipher

from careledger.ledger.domain.limits import limits
from careledger.ledger.errors import LedgerError
from careledger.ledger.ssda903.rows import Table, clean_names, clean_values, recognise

Row = dict[str, str | None]


@dataclass(frozen=True)
class ReturnFile:
    path: Path
    table: Table
    sha256: str

    @cached_property
    def name(self) -> str:
        """The file's name (asked for every row's `source`)."""
        return self.path.name


@dataclass(frozen=True)
class Line:
    """One data row of a table, cleaned (`return_rows.clean`): `row` is its row number as a
    spreadsheet shows it (the column names are row 1)."""

    file: ReturnFile
    row: int
    values: Row
    problem: str | None = None  # why the row cannot be read (cells missing, a cell too long)
    problem_column: str = "(row)"  # the column the problem is in, if it is in one


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
            long = next((i for i, cell in enumerate(cells) if len(cell) > most), None)
            if long is not None:
                column = names[long].strip().upper() if long < len(names) else "(row)"
                problem = (
                    f"is {len(cells[long]):,} characters long; at most {most:,} are accepted "
                    "(CARELEDGER_MAX_CSV_CELL)"
                )
                cells = [cell if len(cell) <= most else "" for cell in cells]
            values = clean_values(columns, cells)
            yield Line(file, row, values, problem, column)


_SEP = "\x1f"  # the ASCII unit separator, which no cell of a return should hold


def _packed(values: Row, columns: tuple[str, ...]) -> str:
    """A staged row: its values joined by the unit separator when it has its file's
    `columns`, else names and values as JSON (also the rare time a cell holds the
    separator); cheaper than JSON for every row of a large return."""
    if tuple(values) == columns:
        joined = _SEP.join([v or "" for v in values.values()])
        if joined.count(_SEP) == max(len(columns) - 1, 0):
            return "S" + joined
    return "J" + json.dumps(values)


def _unpacked(data: str, columns: tuple[str, ...]) -> Row:
    if data[0] == "J":
        loaded: Row = json.loads(data[1:])
        return loaded
    if not columns:
        return {}
    return dict(zip(columns, [value or None for value in data[1:].split(_SEP)], strict=True))


class Staging:
    """A temporary SQLite file of a return's rows, read back grouped by child: in a
    directory only its owner can read, removed when the import ends, and encrypted with the
    ledger's cipher when encryption at rest is on (the rows are about children)."""

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
        self._columns: dict[str, tuple[str, ...]] = {}  # each file's, as its first row has them
        self._pending: list[tuple[str, str, str, int, str | bytes]] = []

    def add(self, child: str, line: Line) -> None:
        name = line.file.name
        columns = self._columns.get(name)
        if columns is None:
            self._files[name] = line.file
            columns = self._columns[name] = tuple(line.values)
        packed = _packed(line.values, columns)
        self._pending.append((child, str(line.file.table), name, line.row, self._sealed(packed)))
        if len(self._pending) >= 1000:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO rows VALUES (?,?,?,?,?)", self._pending)
        self._pending.clear()

    def _sealed(self, packed: str) -> str | bytes:
        return packed if self._cipher is None else self._cipher.encrypt(packed.encode())

    def _opened(self, data: str | bytes, columns: tuple[str, ...]) -> Row:
        if self._cipher is not None:
            assert isinstance(data, bytes)
            data = self._cipher.decrypt(data).decode()
        assert isinstance(data, str)
        return _unpacked(data, columns)

    def children(self) -> Iterator[tuple[str, list[Line]]]:
        self._flush()
        self._db.commit()
        self._db.execute("CREATE INDEX rows_child ON rows (child, tbl, rowno)")
        cursor = self._db.execute(
            "SELECT child, file, rowno, data FROM rows ORDER BY child, tbl, rowno"
        )
        child, group = "", list[Line]()
        for ref, name, rowno, data in cursor:
            if ref != child and group:
                yield child, group
                group = []
            child = ref
            group.append(Line(self._files[name], rowno, self._opened(data, self._columns[name])))
        if group:
            yield child, group

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()
