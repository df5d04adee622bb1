"""The GOV.UK date input read: three fields (day, month, year), each checked, so that a bad
date is named in the error summary by the field at fault and nothing is shown for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from careledger.service.pages.errors import FieldError

PARTS = ("day", "month", "year")


@dataclass(frozen=True)
class DateInput:
    """What was typed (shown again as typed), the date it makes, and what is wrong with it."""

    name: str  # the fields are NAME-day, NAME-month, NAME-year
    typed: dict[str, str]
    value: date | None = None
    error: FieldError | None = None
    wrong: tuple[str, ...] = ()  # the parts to mark in error

    @property
    def empty(self) -> bool:
        return not any(self.typed.values())


def read_date(name: str, label: str, typed: dict[str, str]) -> DateInput:
    """The date of the fields NAME-day, -month and -year; all empty is no date (not an
    error); otherwise each part must be a whole number and together a real date."""
    typed = {part: typed.get(part, "").strip() for part in PARTS}
    if not any(typed.values()):
        return DateInput(name, typed)
    missing = tuple(part for part in PARTS if not typed[part])
    if missing:
        text = f"{label} must include a {' and a '.join(missing)}"
        return _wrong(name, typed, text, missing)
    not_numbers = tuple(part for part in PARTS if not typed[part].isdigit())
    if not_numbers:
        return _wrong(name, typed, f"{label} must be a real date, in numbers", not_numbers)
    if len(typed["year"]) != 4:
        return _wrong(name, typed, f"{label}: the year must have 4 numbers", ("year",))
    try:
        value = date(int(typed["year"]), int(typed["month"]), int(typed["day"]))
    except ValueError:
        return _wrong(name, typed, f"{label} must be a real date", PARTS)
    return DateInput(name, typed, value)


def _wrong(name: str, typed: dict[str, str], text: str, parts: tuple[str, ...]) -> DateInput:
    return DateInput(name, typed, None, FieldError(f"{name}-{parts[0]}", text), parts)
