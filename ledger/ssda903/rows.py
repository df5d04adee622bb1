"""Reading the rows of an SSDA903 return: each CSV row becomes a typed record, or a refusal
naming the file, row, column and reason. Nothing here decides whether rows agree with each
other: an overlap is the council's record and is imported."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from careledger.ledger.domain.fields import new_case_key, normal_id
from careledger.ledger.domain.vocabulary import Participation
from careledger.ledger.ssda903.records import (
    ETHNIC_CODES,
    SEX_CODES,
    SOCIAL_WORKER_CHANGE_REASONS,
    ChildDetails,
    Episode,
)


class Table(StrEnum):
    """The tables of the return the ledger reads, recognised by their columns (as the DfE's
    own validator does), whatever the files are called."""

    HEADER = "Header"
    EPISODES = "Episodes"
    REVIEWS = "Reviews"
    SW_EPISODES = "SWEpisodes"


COLUMNS: dict[Table, tuple[str, ...]] = {
    Table.HEADER: ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"),
    Table.EPISODES: (
        "CHILD",
        "DECOM",
        "RNE",
        "LS",
        "CIN",
        "PLACE",
        "PLACE_PROVIDER",
        "DEC",
        "REC",
        "REASON_PLACE_CHANGE",
        "HOME_POST",
        "PL_POST",
        "URN",
    ),
    Table.REVIEWS: ("CHILD", "DOB", "REVIEW", "REVIEW_CODE"),
    Table.SW_EPISODES: ("CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"),
}

# Which column each field of a record was read from, so a refusal names the column.
EPISODE_COLUMNS = {
    "decom": "DECOM", "rne": "RNE", "legal_status": "LS", "cin": "CIN", "placement": "PLACE",
    "place_provider": "PLACE_PROVIDER", "dec": "DEC", "rec": "REC",
    "reason_place_change": "REASON_PLACE_CHANGE", "home_post": "HOME_POST",
    "pl_post": "PL_POST", "urn": "URN",
}
DETAILS_COLUMNS = {
    "sex": "SEX", "dob": "DOB", "ethnic": "ETHNIC", "upn": "UPN", "mother": "MOTHER",
    "mc_dob": "MC_DOB",
}
DATE_FIELDS = {"decom", "dec", "dob", "mc_dob"}


def recognise(columns: list[str]) -> Table | None:
    """The table whose every column the file has (extra columns are allowed, as in a
    council's own extract)."""
    present = {c.strip().upper() for c in columns}
    for table, needed in COLUMNS.items():
        if set(needed) <= present:
            return table
    return None


class Unreadable(Exception):
    """A row that cannot be read: which column, and why."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class Review:
    """A Reviews row: a statutory review held on `held_on`, with the child's participation."""

    held_on: date
    participation: Participation


@dataclass(frozen=True)
class SocialWorker:
    """A SWEpisodes row (2023-24 returns on)."""

    worker_id: str
    from_on: date
    reason: str | None


def read_date(column: str, text: str | None) -> date | None:
    """dd/mm/yyyy, as the return's specification gives dates; blank is no date."""
    if not text:
        return None
    day = _day(text)
    if day is None:
        raise Unreadable(column, f"'{text}' is not a date in dd/mm/yyyy")
    return day


@lru_cache(maxsize=4096)
def _day(text: str) -> date | None:
    """The day dd/mm/yyyy names, or None. Remembered: a return gives the same few thousand
    days (births, starts, reviews) in row after row."""
    day, month, year = [*text.split("/"), "", ""][:3]
    if day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4:
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            pass
    return None


def clean_names(names: list[str]) -> list[tuple[int, str]]:
    """A table's column names upper-cased and trimmed, each with its place in a row (a
    column without a name is not read)."""
    return [(at, name.strip().upper()) for at, name in enumerate(names) if name]


def clean_values(columns: list[tuple[int, str]], cells: list[str]) -> dict[str, str | None]:
    """A row's cells by column name (`clean_names`): trimmed, blanks as None; a column the
    row is too short for is left out, and of two columns with one name the later is read."""
    if columns and columns[-1][0] < len(cells):  # every column has its cell: no need to ask
        return {name: cells[at].strip() or None for at, name in columns}
    return {name: cells[at].strip() or None for at, name in columns if at < len(cells)}


def child_of(row: Mapping[str, str | None]) -> str:
    """The row's child, who must be one a case can be opened for (`fields.new_case_key`)."""
    child = row.get("CHILD")
    if not child:
        raise Unreadable("CHILD", "missing")
    problem = _child_problem(child)
    if problem is not None:
        raise Unreadable("CHILD", problem)
    return child


@lru_cache(maxsize=4096)
def _child_problem(child: str) -> str | None:
    """Why `child` cannot open a case, or None. Remembered for a while: a return gives each
    child's id in row after row (a header, its episodes, its reviews)."""
    try:
        if new_case_key(child) != child:
            return "is not in its normal form (NFKC)"
    except ValueError as error:
        return str(error)
    return None


def _fields(row: Mapping[str, str | None], columns: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, column in columns.items():
        value = row.get(column)
        values[name] = read_date(column, value) if name in DATE_FIELDS else value
    return values


def _model(model: type[Episode] | type[ChildDetails], values: dict[str, Any],
           columns: dict[str, str]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        reason = first["msg"].removeprefix("Value error, ")
        if first["type"] in ("missing", "string_too_short") or first.get("input", "") is None:
            reason = "missing"  # a blank cell is read as None: not a code, not a date
        elif first["type"] == "enum":
            reason = f"'{first['input']}' is not a known code ({reason})"
        raise Unreadable(columns.get(name, name), reason) from None


def read_episode(row: Mapping[str, str | None], episode_id: str) -> Episode:
    values = _fields(row, EPISODE_COLUMNS)
    episode: Episode = _model(Episode, {"episode_id": episode_id, **values}, EPISODE_COLUMNS)
    return episode


def renamed_episode(episode: Episode, episode_id: str) -> Episode:
    """The episode as `read_episode` reads it under another id (the child's second episode
    starting the same day is '#2'), the new id checked as that reading checks it."""
    if episode.episode_id == episode_id:
        return episode
    values = {name: value for name, value in episode if name in Episode.model_fields}
    values.pop("left_out_by")  # never read from a row
    renamed: Episode = _model(Episode, {**values, "episode_id": episode_id}, EPISODE_COLUMNS)
    return renamed


def episode_start(row: Mapping[str, str | None]) -> date:
    start = read_date("DECOM", row.get("DECOM"))
    if start is None:
        raise Unreadable("DECOM", "missing")
    return start


def read_details(row: Mapping[str, str | None]) -> ChildDetails:
    """A Header row. Its codes are checked here, not by `ChildDetails`, which also reads back
    details recorded before these checks (an event is never made unreadable)."""
    for column, known in (("SEX", SEX_CODES), ("ETHNIC", ETHNIC_CODES)):
        code = row.get(column)
        if code is not None and code not in known:
            raise Unreadable(column, f"'{code}' is not a known code")
    details: ChildDetails = _model(ChildDetails, _fields(row, DETAILS_COLUMNS),
                                   DETAILS_COLUMNS)
    return details


def read_review(row: Mapping[str, str | None]) -> Review:
    held_on = read_date("REVIEW", row.get("REVIEW"))
    if held_on is None:
        raise Unreadable("REVIEW", "missing")
    code = row.get("REVIEW_CODE")
    if code is None:
        raise Unreadable(
            "REVIEW_CODE", "missing: a review is recorded with the child's participation"
        )
    participation = PARTICIPATION_BY_CODE.get(code)
    if participation is None:
        raise Unreadable("REVIEW_CODE", f"'{code}' is not a participation code (PN0-PN7)")
    return Review(held_on, participation)


# Each code's member, found by a look-up (the enum's own call costs more, row after row).
PARTICIPATION_BY_CODE = {member.value: member for member in Participation}


def read_social_worker(row: Mapping[str, str | None]) -> SocialWorker:
    worker = row.get("SW_ID")
    if worker is None:
        raise Unreadable("SW_ID", "missing")
    try:
        if normal_id(worker) != worker:
            raise ValueError("is not in its normal form (NFKC)")
    except ValueError as error:
        raise Unreadable("SW_ID", str(error)) from None
    from_on = read_date("SW_DECOM", row.get("SW_DECOM"))
    if from_on is None:
        raise Unreadable("SW_DECOM", "missing")
    read_date("SW_DEC", row.get("SW_DEC"))
    reason = row.get("SW_REASON")
    if reason is not None and reason not in SOCIAL_WORKER_CHANGE_REASONS:
        raise Unreadable("SW_REASON", f"'{reason}' is not a known code")
    return SocialWorker(worker, from_on, reason)
