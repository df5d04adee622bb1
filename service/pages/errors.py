"""What a page tells its user was wrong: a message and the field it names, shown in the
GOV.UK error summary (linking to the field) and beside the field itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str  # the id of the input the summary links to
    text: str
