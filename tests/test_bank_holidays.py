"""England's bank holidays, pinned for the years the tests check: a new release of the
`holidays` package must not move a review's due date unnoticed (reg 2: a working day is not a
bank holiday). The weekdays that are not working days are listed here as gov.uk gives them,
substitute days and one-off holidays included."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from careledger.projections.timetable import is_working_day

WEEKDAY_BANK_HOLIDAYS = {
    2018: "01-01 03-30 04-02 05-07 05-28 08-27 12-25 12-26",
    2019: "01-01 04-19 04-22 05-06 05-27 08-26 12-25 12-26",
    2020: "01-01 04-10 04-13 05-08 05-25 08-31 12-25 12-28",  # VE Day moved to 8 May
    2021: "01-01 04-02 04-05 05-03 05-31 08-30 12-27 12-28",
    2022: "01-03 04-15 04-18 05-02 06-02 06-03 08-29 09-19 12-26 12-27",  # Jubilee, funeral
    2023: "01-02 04-07 04-10 05-01 05-08 05-29 08-28 12-25 12-26",  # the Coronation
    2024: "01-01 03-29 04-01 05-06 05-27 08-26 12-25 12-26",
    2025: "01-01 04-18 04-21 05-05 05-26 08-25 12-25 12-26",
    2026: "01-01 04-03 04-06 05-04 05-25 08-31 12-25 12-28",
    2027: "01-01 03-26 03-29 05-03 05-31 08-30 12-27 12-28",
}


@pytest.mark.parametrize("year", sorted(WEEKDAY_BANK_HOLIDAYS))
def test_the_weekdays_that_are_not_working_days_are_englands_bank_holidays(year: int) -> None:
    day, days_off = date(year, 1, 1), []
    while day.year == year:
        if day.weekday() < 5 and not is_working_day(day):
            days_off.append(day.strftime("%m-%d"))
        day += timedelta(days=1)
    assert days_off == WEEKDAY_BANK_HOLIDAYS[year].split()
