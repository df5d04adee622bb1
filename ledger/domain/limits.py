"""How much input the ledger accepts, read from the environment (prefix CARELEDGER_MAX_).

Without limits one bad file can exhaust the machine (a file with no line breaks is one
unbounded line) or record what no one can read back (a review with half a million
attendees). Each default is far above anything a council records, so a real record is never
refused; README lists them with the reasons.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from careledger.ledger.errors import LedgerError

PREFIX = "CARELEDGER_MAX_"


class InputLimits(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True)

    line_length: int = Field(
        default=10_000_000,
        ge=1,
        description="characters in one line of a JSON Lines file or one row of a CSV file",
    )
    events_per_file: int = Field(
        default=1_000_000, ge=1, description="events in one JSON Lines file (one atomic batch)"
    )
    json_depth: int = Field(
        default=32, ge=2, le=500, description="how deeply a JSON line's objects and lists nest"
    )
    list_length: int = Field(
        default=1_000, ge=1, description="items in one list field (attendees, decisions, ...)"
    )
    id_length: int = Field(
        default=200,
        ge=1,
        description="characters in an id, code, name or reference (council, child, review_id, "
        "actor, source, ...)",
    )
    text_length: int = Field(default=20_000, ge=1, description="characters in a free text")
    csv_cell: int = Field(default=20_000, ge=1, description="characters in one CSV cell")


_current: InputLimits | None = None


def limits() -> InputLimits:
    """The limits in force: as read when input last began to be taken in (`refresh`), or
    read now if they never were. Every field of every event asks, so this reads no
    environment variable."""
    return _current if _current is not None else refresh()


def refresh() -> InputLimits:
    """Read the limits from the environment again: each way in (a file of events, a
    command's options, a return) calls this once before it reads its input."""
    global _current
    _current = _limits(tuple(os.environ.get(PREFIX + name.upper()) for name in _NAMES))
    return _current


_NAMES = tuple(InputLimits.model_fields)


@lru_cache(maxsize=8)
def _limits(_values: tuple[str | None, ...]) -> InputLimits:
    try:
        return InputLimits()
    except ValidationError as error:
        first = error.errors()[0]
        name = PREFIX + "".join(str(part) for part in first["loc"]).upper()
        raise LedgerError(f"{name}: {first['msg']}") from None
