"""The input boundary: one JSON object per event, as in a JSON Lines file or CLI options.

    {"type": "CarePlanSectionChanged", "council": "E10000099", "child": "C0101",
     "occurred_on": "2025-03-03", "source": "LCS/NOTE/4412", ...the event's own fields}

Every error names the field and the problem (pydantic's location, dotted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.fields import address, new_case_key
from careledger.ledger.errors import RecordingRefused

ADDRESS_KEYS = ("type", "council", "child")


@dataclass(frozen=True)
class Command:
    """Record `payload` in the case of child `child_ref` of council `council`."""

    council: str
    child_ref: str
    payload: p.Payload


def parse_command(data: Any) -> Command:
    if not isinstance(data, dict):
        raise RecordingRefused("(line)", "expected a JSON object")
    for key in ADDRESS_KEYS:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise RecordingRefused(key, "is required and must be a non-empty string")
    council, child_ref = address_of("council", data["council"]), address_of("child", data["child"])
    kind = data["type"]
    payload_class = p.PAYLOADS.get(kind)
    if payload_class is None:
        known = ", ".join(sorted(p.PAYLOADS))
        raise RecordingRefused("type", f"unknown event type '{kind}' (known: {known})")
    fields = {k: v for k, v in data.items() if k not in ADDRESS_KEYS}
    try:
        payload = payload_class.model_validate(fields)
    except ValidationError as error:
        raise refusal_from(error) from None
    return Command(council, child_ref, payload)


def address_of(name: str, value: str) -> str:
    """The council or child a command names, as the case id reads it (`fields.address`)."""
    try:
        return address(value)
    except ValueError as error:
        raise RecordingRefused(name, str(error)) from None


def new_case_of(name: str, value: str) -> str:
    """A council or child that may open a new case (`fields.new_case_key`)."""
    try:
        return new_case_key(value)
    except ValueError as error:
        raise RecordingRefused(name, str(error)) from None


def refusal_from(error: ValidationError) -> RecordingRefused:
    """The first of pydantic's errors, as field and problem."""
    first = error.errors()[0]
    parts = [str(part) for part in first["loc"] if part != "[key]"]
    location = ".".join(parts) or "(event)"
    problem = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        problem = "is not a field of this event type"
    elif first["type"] == "missing":
        problem = "is required"
    return RecordingRefused(location, problem)
