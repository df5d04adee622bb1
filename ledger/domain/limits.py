"""How much input the ledger accepts: the settings CARELEDGER_MAX_* (`careledger.settings`,
section `limits`), put in force by the composition root (`use`).

Without limits one bad file can exhaust the machine (a file with no line breaks is one
unbounded line) or record what no one can read back (a review with half a million
attendees). Each default is far above anything a council records, so a real record is never
refused; README lists them with the reasons.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class InputLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

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


_current = InputLimits()


def limits() -> InputLimits:
    """The limits in force: the defaults, or those last put in force (`use`). Every field
    of every event asks, so this reads no setting."""
    return _current


def use(given: InputLimits) -> InputLimits:
    """Put these limits in force: each way in (a file of events, a command's options, a
    return) has them in force before it reads its input."""
    global _current
    _current = given
    return _current
