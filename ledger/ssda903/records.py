"""What the DfE's SSDA903 looked-after children return reports, as the ledger keeps it.

A council's return is the one structured history every council has. The
ledger keeps each row as the return gave it, inside the event it maps to, so that a return
can be written out again and judged by the DfE's own rules: it records, it does not tidy.
Codes are checked (an unknown code cannot be read); consistency between rows is not (that is
`projections.inconsistencies`).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

from careledger.ledger.domain.fields import Id, Ref
from careledger.ledger.domain.vocabulary import CEASED_REASONS, LegalStatus

Code = Ref


class NewEpisodeReason(StrEnum):
    """RNE, the reason for a new episode (validator rule 143)."""

    S = "S"  # started to be looked after
    L = "L"  # change of legal status only
    P = "P"  # change of placement and carer(s)
    T = "T"  # change of placement, same carer(s)
    B = "B"  # change of legal status and placement and carer(s)
    U = "U"  # change of legal status and placement, same carer(s)


CONTINUES = "X1"  # REC: the episode ended but the period of care goes on in the next one

# PLACE over every collection year (rule 146 is year-versioned: 2024-25 adds K3; 2025-26
# drops H5 and P2 and splits Z1 into Z11-Z14). A code of another year is readable: which
# year's list applies is a question for the DfE's rules, not for reading the row.
PLACEMENT_CODES = frozenset(
    {"A3", "A4", "A5", "A6", "H5", "K1", "K2", "K3", "P1", "P2", "P3", "R1", "R2", "R3"}
    | {"R5", "S1", "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1"}
    | {"Z11", "Z12", "Z13", "Z14"}
)
PLACE_CHANGE_REASONS = frozenset(
    {"CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD", "LAREQ"}
    | {"PLACE", "CUSTOD", "OTHER"}
)  # rule 1009
PROVIDERS = frozenset({"PR0", "PR1", "PR2", "PR3", "PR4", "PR5"})  # rule 178
NEED_CODES = frozenset({f"N{n}" for n in range(1, 9)})  # CIN, category of need
SEX_CODES = frozenset({"1", "2"})  # rule 101
ETHNIC_CODES = frozenset(
    {"WBRI", "WIRI", "WOTH", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN"}
    | {"ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"}
)  # rule 103
SOCIAL_WORKER_CHANGE_REASONS = frozenset(
    {"MANAGE", "FCONTA", "LEFTRL", "ORGRST", "TSPROC", "ABSENC", "CHCHAN", "PCCHAN"}
    | {"SWDIED", "OTHERS"}
)


def _one_of(known: frozenset[str], what: str, value: str | None) -> str | None:
    if value is not None and value not in known:
        raise ValueError(f"'{value}' is not an SSDA903 {what}")
    return value


class Reported(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)


class Episode(Reported):
    """One row of the return's Episodes table. `episode_id` names it across returns: the
    child's episode starting on `decom` (a second row starting the same day gets '#2')."""

    episode_id: Id
    decom: date
    rne: NewEpisodeReason
    legal_status: LegalStatus
    cin: Code | None = None
    placement: Code | None = None
    place_provider: Code | None = None
    dec: date | None = None
    rec: Code | None = None
    reason_place_change: Code | None = None
    home_post: Code | None = None
    pl_post: Code | None = None
    urn: Code | None = None
    left_out_by: int | None = Field(
        default=None,
        description="the collection year of the first later return that no longer listed "
        "this episode though it was open in that year (a return replacing it)",
    )

    @field_validator("cin")
    @classmethod
    def _need(cls, value: str | None) -> str | None:
        return _one_of(NEED_CODES, "category of need (CIN)", value)

    @field_validator("placement")
    @classmethod
    def _placement(cls, value: str | None) -> str | None:
        return _one_of(PLACEMENT_CODES, "placement type (PLACE)", value)

    @field_validator("place_provider")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        return _one_of(PROVIDERS, "placement provider (PLACE_PROVIDER)", value)

    @field_validator("rec")
    @classmethod
    def _end(cls, value: str | None) -> str | None:
        return _one_of(CEASED_REASONS | {CONTINUES}, "reason episode ceased (REC)", value)

    @field_validator("reason_place_change")
    @classmethod
    def _change(cls, value: str | None) -> str | None:
        return _one_of(PLACE_CHANGE_REASONS, "reason for placement change", value)

    @property
    def ends_care(self) -> bool:
        """The child ceased to be looked after when this episode ended."""
        return self.dec is not None and self.rec not in (None, CONTINUES)


class ChildDetails(Reported):
    """The return's Header row: who the child is, as the DfE knows them."""

    sex: Code | None = None
    dob: date | None = None
    ethnic: Code | None = None
    upn: Code | None = None
    mother: Code | None = None
    mc_dob: date | None = None


def in_the_future(day: date | None, today: date) -> str | None:
    """Why a date that must already have happened cannot be recorded, or None: the ledger
    records what has happened (the same rule for an imported return and a recorded event)."""
    if day is not None and day > today:
        return f"{day} is in the future (today is {today})"
    return None


def past_dates(record: Episode | ChildDetails) -> list[tuple[str, date | None]]:
    """The dates of a return's record that must have happened, by field: a child's birth, a
    mother's child's birth, an episode's start and end."""
    if isinstance(record, Episode):
        return [("decom", record.decom), ("dec", record.dec)]
    return [("dob", record.dob), ("mc_dob", record.mc_dob)]


SOURCE_PREFIX = "SSDA903 "


def collection_name(year: int) -> str:
    """The collection year as the DfE writes it: 2019 is '2019-20' (April 2019 to March
    2020)."""
    return f"{year}-{(year + 1) % 100:02d}"


def source_ref(year: int, file_name: str, digest: str, row: int) -> str:
    """The `source` of an event read from a return: the collection year, the file and its
    SHA-256 (so the exact file can be found again) and the row as a spreadsheet numbers it
    (the column names are row 1)."""
    return f"{_file_ref(year, file_name, digest)} row {row}"


@lru_cache(maxsize=64)
def _file_ref(year: int, file_name: str, digest: str) -> str:
    """The part of a `source_ref` its file's every row shares, written once for them all."""
    return f"{SOURCE_PREFIX}{collection_name(year)} {file_name} sha256:{digest[:16]}"


def return_year(source: str) -> int | None:
    """The collection year of the return an event was read from ('SSDA903 2018-19 ...')."""
    if not source.startswith(SOURCE_PREFIX):
        return None
    head = source[len(SOURCE_PREFIX) :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def in_year(episode: Episode, year: int) -> bool:
    """Whether the episode was open at some time in collection `year` (April to March)."""
    start, end = date(year, 4, 1), date(year + 1, 3, 31)
    return episode.decom <= end and (episode.dec is None or episode.dec >= start)


def from_a_return(source: str) -> bool:
    """Whether an event was read from a statutory return rather than recorded by the council
    at the time (an import records years of history in one day)."""
    return source.startswith(SOURCE_PREFIX)
