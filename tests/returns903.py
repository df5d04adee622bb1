"""Writing small SSDA903 returns by hand, importing them and reading back what was recorded:
what the import tests share. The DfE's columns are written out here rather
than taken from the importer, so a mistake in its column lists is caught."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from careledger.api import Opened
from careledger.cli.main import cli
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.ssda903.importer import ImportReport, ReturnImport
from careledger.ledger.ssda903.records import collection_name

COUNCIL = "E09000099"
YEAR = 2019
ACTOR = p.Actor(actor_id="data-officer", role=Role.ADMIN)
ENV: dict[str, str | None] = {
    "CARELEDGER_ACTOR": "data-officer",
    "CARELEDGER_ROLE": "ADMIN",
    "CARELEDGER_DB": None,
    "CARELEDGER_COUNCIL": None,
}

HEADER = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODES = (
    "CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
    "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN",
)  # fmt: skip
REVIEWS = ("CHILD", "DOB", "REVIEW", "REVIEW_CODE")
SW_EPISODES = ("CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON")
DOB = "14/02/2010"


# --- writing a return ---------------------------------------------------------------------


def header(child: str, dob: str = DOB, **columns: str) -> dict[str, str]:
    row = {"CHILD": child, "SEX": "1", "DOB": dob, "ETHNIC": "WBRI", "UPN": "", "MOTHER": "",
           "MC_DOB": ""}  # fmt: skip
    return {**row, **columns}


def episode(child: str, decom: str, rne: str, **columns: str) -> dict[str, str]:
    row = {"CHILD": child, "DECOM": decom, "RNE": rne, "LS": "C2", "CIN": "N1", "PLACE": "U1",
           "PLACE_PROVIDER": "PR1"}  # fmt: skip
    return {**row, **columns}


def review(child: str, held: str, code: str, dob: str = DOB) -> dict[str, str]:
    return {"CHILD": child, "DOB": dob, "REVIEW": held, "REVIEW_CODE": code}


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_return(
    directory: Path,
    headers: list[dict[str, str]],
    episodes: list[dict[str, str]],
    reviews: list[dict[str, str]] | None = None,
    names: tuple[str, str, str] = ("header.csv", "episodes.csv", "reviews.csv"),
) -> Path:
    write_csv(directory / names[0], HEADER, headers)
    write_csv(directory / names[1], EPISODES, episodes)
    if reviews is not None:
        write_csv(directory / names[2], REVIEWS, reviews)
    return directory


def sha_prefix(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def source(path: Path, row: int, year: int = YEAR) -> str:
    return f"SSDA903 {collection_name(year)} {path.name} sha256:{sha_prefix(path)} row {row}"


# --- the ledger ---------------------------------------------------------------------------


def run_import(
    o: Opened, directory: Path, year: int = YEAR, accept_partial: bool = False
) -> ImportReport:
    return ReturnImport(o.ledger, COUNCIL, year, ACTOR).run(directory, accept_partial)


def events(o: Opened, child: str) -> list[Any]:
    """The case's recorded events in order (CaseOpened is not among its entries)."""
    entries = o.ledger.case(COUNCIL, child).entries
    return [entries[seq].payload for seq in sorted(entries)]


def of(kind: type[p.Payload], recorded: list[Any]) -> list[Any]:
    return [x for x in recorded if isinstance(x, kind)]


def types(recorded: list[Any]) -> list[str]:
    return [type(x).__name__ for x in recorded]  # each event class is named as its payload


def invoke(*args: Any) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env=ENV)
