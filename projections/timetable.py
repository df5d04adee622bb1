"""The statutory review timetable (reg 33 of the 2010 Regulations; docs/rules.md §1, §6).

- The first review within 20 working days of the date the child becomes looked after
  (reg 33(1)); the 20 are counted from the day after (an unverified reading: docs/rules.md §6).
- The second not more than three months after the first (reg 33(2)).
- Later ones at intervals of not more than six months (reg 33(2)).
- A review may be held earlier; each interval runs from the review actually held.
- A new period of care restarts the timetable (an unverified reading: docs/rules.md §6).
- Short breaks (legal status V3/V4, reg 48): first within three months, then six-monthly
  (unverified: docs/rules.md §1; `Regime` lets the projections choose).

A working day is not a Saturday or Sunday, Christmas Day, Good Friday or a bank holiday in
England (reg 2); the bank holidays, including proclaimed one-off days and substitute days,
come from the maintained `holidays` package, never from a hand-typed list. A "month" is a
calendar month: the corresponding date, clamped at the month's end (Interpretation Act 1978).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

import holidays
from dateutil.relativedelta import relativedelta

FIRST_REVIEW_WORKING_DAYS = 20


class Regime(StrEnum):
    STANDARD = "standard"  # reg 33
    SHORT_BREAKS = "short_breaks"  # reg 48 (unverified timings)
    # A period already under way when the records begin (an imported return whose first
    # episode continues care): its first and second reviews are long past, so every review
    # is due six months after the last (reg 33(2)), the first six months after the first
    # date known.
    CONTINUING = "continuing"


@lru_cache(maxsize=256)
def _england_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _england_holidays(day.year)


@lru_cache(maxsize=65_536)  # a council's open challenges share their stages' start dates
def working_day_after(start: date, n: int) -> date:
    """The n-th working day after `start` (`start` itself is not counted)."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


@lru_cache(maxsize=262_144)  # a case's history is judged again at each new event
def working_days_between(start: date, end: date) -> int:
    """How many working days fall after `start`, up to and including `end` (0 if none).

    Counted, not walked: a record made years after the event (an import of old history)
    costs no more than one made the next day."""
    if end <= start:
        return 0
    holidays_on_weekdays = sum(
        1
        for year in range(start.year, end.year + 1)
        for day in _england_holidays(year)
        if start < day <= end and day.weekday() < 5
    )
    return _weekdays_to(end) - _weekdays_to(start) - holidays_on_weekdays


def _weekdays_to(day: date) -> int:
    """Weekdays from 1 January of year 1 (a Monday) up to and including `day`."""
    weeks, rest = divmod(day.toordinal(), 7)
    return 5 * weeks + min(rest, 5)


def add_months(day: date, months: int) -> date:
    """The corresponding date `months` calendar months on, clamped at the month's end
    (31 August + 6 months = 28 or 29 February)."""
    result: date = day + relativedelta(months=months)
    return result


@lru_cache(maxsize=262_144)
def due_on(number: int, previous: date, regime: Regime = Regime.STANDARD) -> date:
    """When review `number` of a period of care is due, from the date the period began
    (number 1) or the date the previous review was actually held."""
    if regime is Regime.CONTINUING:
        return add_months(previous, 6)
    if number == 1:
        if regime is Regime.SHORT_BREAKS:
            return add_months(previous, 3)
        return working_day_after(previous, FIRST_REVIEW_WORKING_DAYS)
    if number == 2 and regime is Regime.STANDARD:
        return add_months(previous, 3)
    return add_months(previous, 6)


@dataclass(frozen=True)
class Slot:
    """One review of a period of care: when it was due and when (if yet) it was held."""

    number: int
    due_on: date
    held_on: date | None = None
    review_id: str | None = None

    @property
    def days_late(self) -> int | None:
        """Calendar days after the due date that the review was held (None if on time)."""
        if self.held_on is None or self.held_on <= self.due_on:
            return None
        return (self.held_on - self.due_on).days


def timetable(
    started_on: date,
    held: Iterable[tuple[date, str]],
    regime: Regime = Regime.STANDARD,
) -> list[Slot]:
    """Every review of one period of care, in order, and then the next one due.

    `held` is each review held in the period, as (date held, review id)."""
    slots: list[Slot] = []
    previous = started_on
    for number, (held_on, review_id) in enumerate(sorted(held), start=1):
        slots.append(Slot(number, due_on(number, previous, regime), held_on, review_id))
        previous = held_on
    number = len(slots) + 1
    slots.append(Slot(number, due_on(number, previous, regime)))
    return slots
