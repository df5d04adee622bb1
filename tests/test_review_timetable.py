"""The statutory review timetable (reg 33; reg 48 for short breaks; reg 2 "working day")
against hand-checked dates.

Every expected date below was counted by hand from a printed calendar (Python's `calendar`
module), never computed with `projections.timetable`. The bank holidays in England used in the
counting are the published gov.uk ones:

    2021: Mon 27 Dec (Christmas substitute), Tue 28 Dec (Boxing Day substitute)
    2022: Mon 3 Jan (New Year substitute), Fri 15 Apr, Mon 18 Apr (Easter), Mon 2 May,
          Thu 2 Jun (spring bank holiday, moved from Mon 30 May), Fri 3 Jun (Platinum
          Jubilee), Mon 29 Aug, Mon 19 Sep (the Queen's state funeral), Mon 26 Dec (Boxing
          Day), Tue 27 Dec (Christmas substitute; Christmas Day was a Sunday)
    2023: Mon 2 Jan (New Year substitute), Fri 7 Apr, Mon 10 Apr (Easter), Mon 1 May,
          Mon 8 May (the coronation), Mon 29 May, Mon 28 Aug, Mon 25 Dec, Tue 26 Dec
    2024: Mon 1 Jan, Fri 29 Mar, Mon 1 Apr (Easter), Mon 6 May, Mon 27 May, Mon 26 Aug,
          Wed 25 Dec, Thu 26 Dec
    2025: Wed 1 Jan

Counting convention (the module's; an unverified reading, docs/rules.md §6): the day the child
becomes looked after is day 0; working day 1 is the first working day after it. With no
holiday in the way, 20 working days from a weekday is the same weekday four weeks (28 days)
later; each weekday bank holiday inside the window pushes the due date on by one working day.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careledger.projections.timetable import (
    Regime,
    Slot,
    due_on,
    is_working_day,
    timetable,
    working_day_after,
    working_days_between,
)

# --------------------------------------------------------------------------------------------
# First review: 20 working days after the child becomes looked after (reg 33(1))
# --------------------------------------------------------------------------------------------


def test_first_review_is_four_weeks_on_when_no_holiday_is_in_the_way() -> None:
    # Entry Mon 2 Sep 2024; no bank holiday in September 2024.
    # Tue 3-Fri 6 = 1-4; Mon 9-Fri 13 = 5-9; Mon 16-Fri 20 = 10-14; Mon 23-Fri 27 = 15-19;
    # Mon 30 Sep = 20.
    assert due_on(1, date(2024, 9, 2)) == date(2024, 9, 30)


def test_first_review_from_a_midweek_entry_lands_on_the_same_weekday_four_weeks_on() -> None:
    # Entry Wed 2 Oct 2024; no bank holiday in October 2024.
    # Thu 3-Fri 4 = 1-2; weeks of 7, 14, 21 Oct = 3-17; Mon 28 = 18, Tue 29 = 19, Wed 30 = 20.
    assert due_on(1, date(2024, 10, 2)) == date(2024, 10, 30)


def test_first_review_skips_easter_good_friday_and_monday() -> None:
    # Entry Wed 20 Mar 2024. Thu 21 = 1, Fri 22 = 2, Mon 25-Thu 28 = 3-6;
    # Fri 29 Mar (Good Friday), Sat 30, Sun 31, Mon 1 Apr (Easter Monday) skipped;
    # Tue 2-Fri 5 = 7-10; Mon 8-Fri 12 = 11-15; Mon 15 = 16 ... Fri 19 Apr = 20.
    # (Without Easter it would have been Wed 17 Apr.)
    assert due_on(1, date(2024, 3, 20)) == date(2024, 4, 19)


def test_first_review_skips_boxing_day_and_the_christmas_and_new_year_substitute_days() -> None:
    # Entry Thu 15 Dec 2022. Fri 16 = 1; Mon 19-Fri 23 = 2-6;
    # Sat 24, Sun 25 (Christmas Day), Mon 26 (Boxing Day), Tue 27 (Christmas substitute)
    # skipped; Wed 28 = 7, Thu 29 = 8, Fri 30 = 9;
    # Sat 31, Sun 1 Jan (New Year's Day), Mon 2 Jan (New Year substitute) skipped;
    # Tue 3-Fri 6 = 10-13; Mon 9-Fri 13 = 14-18; Mon 16 = 19, Tue 17 Jan 2023 = 20.
    # (Without the three holidays it would have been Thu 12 Jan.)
    assert due_on(1, date(2022, 12, 15)) == date(2023, 1, 17)


def test_first_review_skips_christmas_2021_when_both_christmas_days_fell_at_the_weekend() -> None:
    # Entry Mon 20 Dec 2021. Tue 21-Fri 24 = 1-4; Sat 25, Sun 26, Mon 27 (Christmas
    # substitute), Tue 28 (Boxing Day substitute) skipped; Wed 29-Fri 31 = 5-7;
    # Sat 1, Sun 2, Mon 3 Jan 2022 (New Year substitute) skipped; Tue 4-Fri 7 = 8-11;
    # Mon 10-Fri 14 = 12-16; Mon 17 = 17, Tue 18 = 18, Wed 19 = 19, Thu 20 Jan 2022 = 20.
    assert due_on(1, date(2021, 12, 20)) == date(2022, 1, 20)


def test_first_review_skips_the_queens_state_funeral() -> None:
    # Entry Mon 12 Sep 2022. Tue 13-Fri 16 = 1-4; Mon 19 Sep (state funeral) skipped;
    # Tue 20-Fri 23 = 5-8; Mon 26-Fri 30 = 9-13; Mon 3-Fri 7 Oct = 14-18;
    # Mon 10 = 19, Tue 11 Oct 2022 = 20. (Without the funeral: Mon 10 Oct.)
    assert due_on(1, date(2022, 9, 12)) == date(2022, 10, 11)


def test_first_review_skips_the_coronation_and_the_spring_bank_holiday() -> None:
    # Entry Thu 4 May 2023. Fri 5 = 1; Mon 8 May (coronation) skipped; Tue 9-Fri 12 = 2-5;
    # Mon 15-Fri 19 = 6-10; Mon 22-Fri 26 = 11-15; Mon 29 May (spring bank holiday) skipped;
    # Tue 30 = 16, Wed 31 = 17, Thu 1 Jun = 18, Fri 2 = 19, Mon 5 Jun 2023 = 20.
    # (Without either holiday: Thu 1 Jun.)
    assert due_on(1, date(2023, 5, 4)) == date(2023, 6, 5)


def test_first_review_skips_the_platinum_jubilee_and_counts_the_unmoved_monday() -> None:
    # Entry Wed 25 May 2022. In 2022 the spring bank holiday moved from Mon 30 May to
    # Thu 2 Jun, with the Jubilee holiday on Fri 3 Jun: Mon 30 May was a working day.
    # Thu 26 = 1, Fri 27 = 2, Mon 30 = 3, Tue 31 = 4, Wed 1 Jun = 5; Thu 2, Fri 3 skipped;
    # Mon 6-Fri 10 = 6-10; Mon 13-Fri 17 = 11-15; Mon 20 = 16 ... Fri 24 Jun 2022 = 20.
    assert due_on(1, date(2022, 5, 25)) == date(2022, 6, 24)


def test_first_review_after_a_friday_entry_is_four_weeks_on() -> None:
    # Entry Fri 6 Sep 2024. Mon 9-Fri 13 = 1-5; Mon 16-Fri 20 = 6-10; Mon 23-Fri 27 = 11-15;
    # Mon 30 Sep = 16, Tue 1 Oct = 17, Wed 2 = 18, Thu 3 = 19, Fri 4 Oct 2024 = 20.
    assert due_on(1, date(2024, 9, 6)) == date(2024, 10, 4)


@pytest.mark.parametrize(
    "entry",
    [date(2024, 9, 7), date(2024, 9, 8)],
    ids=["saturday", "sunday"],
)
def test_first_review_after_a_weekend_entry_counts_from_the_monday(entry: date) -> None:
    # Entry Sat 7 or Sun 8 Sep 2024: the first working day after is Mon 9 Sep, exactly as
    # for the Friday entry above, so day 20 is again Fri 4 Oct 2024.
    assert due_on(1, entry) == date(2024, 10, 4)


@pytest.mark.parametrize(
    "entry",
    [date(2024, 8, 23), date(2024, 8, 24), date(2024, 8, 25), date(2024, 8, 26)],
    ids=["friday-before", "saturday", "sunday", "bank-holiday-monday"],
)
def test_first_review_after_entry_on_a_bank_holiday_counts_from_the_next_working_day(
    entry: date,
) -> None:
    # Mon 26 Aug 2024 is the late summer bank holiday. From an entry on it (or on the
    # weekend or Friday before) the first working day after is Tue 27 Aug:
    # Tue 27-Fri 30 = 1-4; Mon 2-Fri 6 Sep = 5-9; Mon 9-Fri 13 = 10-14;
    # Mon 16-Fri 20 = 15-19; Mon 23 Sep 2024 = 20.
    assert due_on(1, entry) == date(2024, 9, 23)


def test_first_review_after_entry_on_christmas_day_skips_boxing_day_and_new_year() -> None:
    # Entry Wed 25 Dec 2024 (Christmas Day). Thu 26 (Boxing Day) skipped; Fri 27 = 1;
    # Mon 30 = 2, Tue 31 = 3; Wed 1 Jan 2025 (New Year's Day) skipped; Thu 2 = 4, Fri 3 = 5;
    # Mon 6-Fri 10 = 6-10; Mon 13-Fri 17 = 11-15; Mon 20 = 16 ... Fri 24 Jan 2025 = 20.
    assert due_on(1, date(2024, 12, 25)) == date(2025, 1, 24)


def test_first_review_after_good_friday_entry_skips_easter_may_day_and_coronation() -> None:
    # Entry Fri 7 Apr 2023 (Good Friday). Mon 10 Apr (Easter Monday) skipped;
    # Tue 11-Fri 14 = 1-4; Mon 17-Fri 21 = 5-9; Mon 24-Fri 28 = 10-14;
    # Mon 1 May (May Day) skipped; Tue 2-Fri 5 = 15-18; Mon 8 May (coronation) skipped;
    # Tue 9 = 19, Wed 10 May 2023 = 20.
    assert due_on(1, date(2023, 4, 7)) == date(2023, 5, 10)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2022, 12, 27), False),  # Tue: Christmas Day's substitute
        (date(2023, 1, 2), False),  # Mon: New Year's Day's substitute
        (date(2022, 9, 19), False),  # Mon: the Queen's state funeral
        (date(2023, 5, 8), False),  # Mon: the coronation
        (date(2024, 3, 29), False),  # Fri: Good Friday
        (date(2024, 12, 25), False),  # Wed: Christmas Day
        (date(2024, 9, 7), False),  # Sat
        (date(2024, 9, 8), False),  # Sun
        (date(2022, 5, 30), True),  # Mon: usual spring bank holiday, moved in 2022
        (date(2022, 12, 28), True),  # Wed between Christmas and New Year
        (date(2024, 9, 9), True),  # an ordinary Monday
    ],
)
def test_working_day_follows_reg_2_and_englands_bank_holidays(day: date, working: bool) -> None:
    assert is_working_day(day) is working


# --------------------------------------------------------------------------------------------
# Second review three months after the first; later ones six months on (reg 33(2))
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "previous", "expected"),
    [
        # 30 Nov 2022 + 3 months: 30 Feb 2023 does not exist; 2023 is not a leap year.
        (2, date(2022, 11, 30), date(2023, 2, 28)),
        # 30 Nov 2023 + 3 months: 30 Feb 2024 does not exist; 2024 is a leap year.
        (2, date(2023, 11, 30), date(2024, 2, 29)),
        # 29 Feb 2024 + 3 months: 29 May exists, no clamping.
        (2, date(2024, 2, 29), date(2024, 5, 29)),
        # 31 May 2024 + 3 months: 31 Aug exists (a Saturday: month-based due dates are not
        # moved to a working day, as reg 33(2) speaks of months, not working days).
        (2, date(2024, 5, 31), date(2024, 8, 31)),
        # 31 Dec 2024 + 3 months: 31 Mar 2025, across the year end.
        (2, date(2024, 12, 31), date(2025, 3, 31)),
        # 31 Aug 2023 + 6 months: 31 Feb 2024 does not exist: 29 Feb (leap year).
        (3, date(2023, 8, 31), date(2024, 2, 29)),
        # 31 Aug 2022 + 6 months: 28 Feb 2023 (not a leap year).
        (3, date(2022, 8, 31), date(2023, 2, 28)),
        # 29 Feb 2024 + 6 months: 29 Aug 2024 exists.
        (3, date(2024, 2, 29), date(2024, 8, 29)),
        # 31 Mar 2024 + 6 months: 31 Sep does not exist: 30 Sep.
        (4, date(2024, 3, 31), date(2024, 9, 30)),
        # 31 Dec 2024 + 6 months: 31 Jun does not exist: 30 Jun 2025.
        (5, date(2024, 12, 31), date(2025, 6, 30)),
    ],
    ids=[
        "2nd-30nov-to-28feb",
        "2nd-30nov-to-29feb-leap",
        "2nd-29feb-to-29may",
        "2nd-31may-to-31aug-saturday",
        "2nd-31dec-to-31mar-next-year",
        "3rd-31aug-to-29feb-leap",
        "3rd-31aug-to-28feb",
        "3rd-29feb-to-29aug",
        "4th-31mar-to-30sep",
        "5th-31dec-to-30jun",
    ],
)
def test_month_based_due_dates_clamp_at_the_end_of_a_shorter_month(
    number: int, previous: date, expected: date
) -> None:
    assert due_on(number, previous) == expected


def test_second_review_is_three_months_and_later_ones_six_months_after_the_previous() -> None:
    # From the same held date, Wed 15 Mar 2023: review 2 is due 15 Jun 2023 (+3 months);
    # reviews 3 and beyond 15 Sep 2023 (+6 months).
    held = date(2023, 3, 15)
    assert due_on(2, held) == date(2023, 6, 15)
    assert due_on(3, held) == date(2023, 9, 15)
    assert due_on(7, held) == date(2023, 9, 15)


# --------------------------------------------------------------------------------------------
# The whole timetable of one period of care
# --------------------------------------------------------------------------------------------


def test_period_with_no_review_yet_has_only_the_open_first_slot() -> None:
    # Entry Thu 15 Dec 2022: first due Tue 17 Jan 2023 (counted above).
    assert timetable(date(2022, 12, 15), []) == [Slot(1, date(2023, 1, 17))]


def test_early_reviews_reset_the_clock_from_the_date_actually_held() -> None:
    # Entry Thu 15 Dec 2022 -> review 1 due Tue 17 Jan 2023 (counted above).
    # Review 1 held early, Fri 13 Jan 2023 -> review 2 due 13 Jan + 3 months = 13 Apr 2023
    #   (not 17 Apr, which is what counting from the due date would give).
    # Review 2 held early, Wed 1 Mar 2023 -> review 3 due 1 Mar + 6 months = 1 Sep 2023
    #   (not 13 Oct 2023).
    # Review 3 held late, Mon 16 Oct 2023: 1 Sep -> 1 Oct is 30 days, -> 16 Oct 15 more:
    #   45 calendar days late. Review 4 due 16 Oct + 6 months = 16 Apr 2024, still open.
    slots = timetable(
        date(2022, 12, 15),
        [(date(2023, 1, 13), "r1"), (date(2023, 3, 1), "r2"), (date(2023, 10, 16), "r3")],
    )
    assert slots == [
        Slot(1, date(2023, 1, 17), date(2023, 1, 13), "r1"),
        Slot(2, date(2023, 4, 13), date(2023, 3, 1), "r2"),
        Slot(3, date(2023, 9, 1), date(2023, 10, 16), "r3"),
        Slot(4, date(2024, 4, 16)),
    ]
    assert [slot.days_late for slot in slots] == [None, None, 45, None]


def test_late_reviews_count_calendar_days_late_and_the_next_runs_from_the_late_date() -> None:
    # Entry Thu 15 Dec 2022 -> review 1 due Tue 17 Jan 2023.
    # Review 1 held Mon 23 Jan 2023: 6 calendar days late (only 4 working days: the count is
    #   in calendar days). Review 2 due 23 Jan + 3 months = Sun 23 Apr 2023 (a Sunday: not
    #   moved). Held Mon 24 Apr: 1 day late. Review 3 due 24 Apr + 6 = 24 Oct 2023, held on
    #   that very day: not late (None, not 0). Review 4 due 24 Oct + 6 = 24 Apr 2024, open.
    slots = timetable(
        date(2022, 12, 15),
        [(date(2023, 1, 23), "a"), (date(2023, 4, 24), "b"), (date(2023, 10, 24), "c")],
    )
    assert slots == [
        Slot(1, date(2023, 1, 17), date(2023, 1, 23), "a"),
        Slot(2, date(2023, 4, 23), date(2023, 4, 24), "b"),
        Slot(3, date(2023, 10, 24), date(2023, 10, 24), "c"),
        Slot(4, date(2024, 4, 24)),
    ]
    assert [slot.days_late for slot in slots] == [6, 1, None, None]


def test_held_reviews_are_numbered_in_date_order_whatever_order_they_are_given_in() -> None:
    # Entry Mon 2 Sep 2024 -> review 1 due Mon 30 Sep 2024 (counted above); held Fri 27 Sep
    # -> review 2 due 27 Dec 2024; held Fri 20 Dec -> review 3 due 20 Jun 2025, open.
    slots = timetable(
        date(2024, 9, 2), [(date(2024, 12, 20), "second"), (date(2024, 9, 27), "first")]
    )
    assert slots == [
        Slot(1, date(2024, 9, 30), date(2024, 9, 27), "first"),
        Slot(2, date(2024, 12, 27), date(2024, 12, 20), "second"),
        Slot(3, date(2025, 6, 20)),
    ]


def test_month_end_clamping_does_not_compound_along_the_timetable() -> None:
    # Entry Wed 1 Nov 2023: Thu 2-Fri 3 = 1-2; weeks of 6, 13, 20 Nov = 3-17;
    # Mon 27 = 18, Tue 28 = 19, Wed 29 Nov 2023 = 20 (no bank holiday in November).
    # Review 1 held Thu 30 Nov 2023 (a day late) -> review 2 due 29 Feb 2024 (clamped).
    # Review 2 held Thu 29 Feb 2024 -> review 3 due 29 Aug 2024; held Fri 30 Aug (1 day late)
    # -> review 4 due 28 Feb 2025 (30 Feb clamped; 2025 not leap).
    slots = timetable(
        date(2023, 11, 1),
        [(date(2023, 11, 30), "x"), (date(2024, 2, 29), "y"), (date(2024, 8, 30), "z")],
    )
    assert [(s.number, s.due_on, s.days_late) for s in slots] == [
        (1, date(2023, 11, 29), 1),
        (2, date(2024, 2, 29), None),
        (3, date(2024, 8, 29), 1),
        (4, date(2025, 2, 28), None),
    ]


def test_days_late_is_none_for_an_unheld_or_early_review() -> None:
    assert Slot(1, date(2024, 9, 30)).days_late is None
    assert Slot(1, date(2024, 9, 30), date(2024, 9, 2)).days_late is None
    assert Slot(1, date(2024, 9, 30), date(2024, 9, 30)).days_late is None
    assert Slot(1, date(2024, 9, 30), date(2024, 10, 1)).days_late == 1
    # 30 Sep -> 31 Dec 2024: 31 (Oct) + 30 (Nov) + 31 (Dec) = 92 calendar days.
    assert Slot(1, date(2024, 9, 30), date(2024, 12, 31)).days_late == 92


# --------------------------------------------------------------------------------------------
# Short breaks (reg 48): first within three months, then every six
# --------------------------------------------------------------------------------------------


def test_short_breaks_first_review_is_three_calendar_months_not_20_working_days() -> None:
    # Entry Thu 15 Dec 2022 + 3 months = 15 Mar 2023 (Christmas holidays play no part).
    assert due_on(1, date(2022, 12, 15), Regime.SHORT_BREAKS) == date(2023, 3, 15)
    # Entry 30 Nov 2023 + 3 months: 30 Feb 2024 does not exist -> 29 Feb 2024.
    assert due_on(1, date(2023, 11, 30), Regime.SHORT_BREAKS) == date(2024, 2, 29)


def test_short_breaks_second_review_is_six_months_not_three() -> None:
    # Held 10 Mar 2023 + 6 months = 10 Sep 2023 (the standard regime would say 10 Jun).
    assert due_on(2, date(2023, 3, 10), Regime.SHORT_BREAKS) == date(2023, 9, 10)
    assert due_on(2, date(2023, 3, 10), Regime.STANDARD) == date(2023, 6, 10)


def test_short_breaks_timetable_runs_three_then_six_monthly_from_reviews_held() -> None:
    # Entry Thu 15 Dec 2022 -> review 1 due 15 Mar 2023; held Fri 10 Mar 2023 (early)
    # -> review 2 due 10 Sep 2023; held Sat 30 Sep 2023: Sep 10 -> 30 = 20 days late
    # -> review 3 due 30 Mar 2024, open.
    slots = timetable(
        date(2022, 12, 15),
        [(date(2023, 3, 10), "sb1"), (date(2023, 9, 30), "sb2")],
        Regime.SHORT_BREAKS,
    )
    assert slots == [
        Slot(1, date(2023, 3, 15), date(2023, 3, 10), "sb1"),
        Slot(2, date(2023, 9, 10), date(2023, 9, 30), "sb2"),
        Slot(3, date(2024, 3, 30)),
    ]
    assert [slot.days_late for slot in slots] == [None, 20, None]


def test_short_breaks_period_with_no_review_yet() -> None:
    # Entry Sat 31 Aug 2024 + 3 months: 31 Nov does not exist -> 30 Nov 2024.
    assert timetable(date(2024, 8, 31), [], Regime.SHORT_BREAKS) == [Slot(1, date(2024, 11, 30))]


# --------------------------------------------------------------------------------------------
# working_days_between: working days after `start`, up to and including `end` (recording lag)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Fri 6 Sep 2024 -> Mon 9 Sep: Sat, Sun not counted; Mon 9 = 1.
        (date(2024, 9, 6), date(2024, 9, 9), 1),
        # Fri 6 -> Sun 8 Sep 2024: only the weekend after the start: 0.
        (date(2024, 9, 6), date(2024, 9, 8), 0),
        # Sat 7 -> Mon 9 Sep 2024: Sun no, Mon 9 = 1.
        (date(2024, 9, 7), date(2024, 9, 9), 1),
        # Mon 2 -> Fri 6 Sep 2024: Tue, Wed, Thu, Fri = 4 (the start day is not counted).
        (date(2024, 9, 2), date(2024, 9, 6), 4),
        # Fri 6 -> Fri 13 Sep 2024: Mon 9-Fri 13 = 5.
        (date(2024, 9, 6), date(2024, 9, 13), 5),
        # Fri 23 -> Tue 27 Aug 2024: Sat, Sun, Mon 26 (bank holiday) no; Tue 27 = 1.
        (date(2024, 8, 23), date(2024, 8, 27), 1),
        # Thu 28 Mar -> Tue 2 Apr 2024: Good Friday, Sat, Sun, Easter Monday no; Tue 2 = 1.
        (date(2024, 3, 28), date(2024, 4, 2), 1),
        # Thu 15 Dec 2022 -> Tue 3 Jan 2023: Fri 16 (1), Mon 19-Fri 23 (5), Wed 28-Fri 30 (3),
        # Tue 3 Jan (1) = 10; Mon 26, Tue 27 Dec and Mon 2 Jan are bank holidays.
        (date(2022, 12, 15), date(2023, 1, 3), 10),
        # Fri 16 -> Tue 20 Sep 2022: Sat, Sun, Mon 19 (state funeral) no; Tue 20 = 1.
        (date(2022, 9, 16), date(2022, 9, 20), 1),
        # Same day: 0.
        (date(2024, 9, 9), date(2024, 9, 9), 0),
        # End before start: 0.
        (date(2024, 9, 13), date(2024, 9, 9), 0),
    ],
    ids=[
        "fri-to-mon-over-weekend",
        "fri-to-sun-weekend-only",
        "sat-to-mon",
        "mon-to-fri-same-week",
        "fri-to-next-fri",
        "over-late-summer-bank-holiday",
        "over-easter",
        "over-christmas-and-new-year-substitutes",
        "over-state-funeral",
        "same-day",
        "end-before-start",
    ],
)
def test_working_days_between_counts_after_start_up_to_and_including_end(
    start: date, end: date, expected: int
) -> None:
    assert working_days_between(start, end) == expected


# --------------------------------------------------------------------------------------------
# Properties (the hand-checked cases above are the point; these guard the gaps between them)
# --------------------------------------------------------------------------------------------

DATES = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@given(DATES)
def test_first_standard_due_date_is_a_working_day_exactly_20_working_days_on(entry: date) -> None:
    due = due_on(1, entry)
    assert is_working_day(due)
    assert working_days_between(entry, due) == 20
    assert working_days_between(entry, due - timedelta(days=1)) == 19
    # Never earlier than 26 calendar days (entry on a Sunday: Mon of week 1 to Fri of week 4),
    # and a few bank holidays can add at most a week or so.
    assert 26 <= (due - entry).days <= 40


@given(DATES, st.integers(min_value=0, max_value=60))
def test_working_day_after_and_working_days_between_agree(start: date, n: int) -> None:
    assert working_days_between(start, working_day_after(start, n)) == n


def _corresponding_date(day: date, months: int) -> date:
    """The Interpretation Act calendar month, worked out independently with `calendar`."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@given(DATES, st.integers(min_value=2, max_value=12), st.sampled_from(list(Regime)))
def test_later_due_dates_are_the_corresponding_date_clamped_at_month_end(
    held: date, number: int, regime: Regime
) -> None:
    months = 3 if number == 2 and regime is Regime.STANDARD else 6
    due = due_on(number, held, regime)
    assert due == _corresponding_date(held, months)
    # Three calendar months span 89-92 days, six span 181-184.
    low, high = (89, 92) if months == 3 else (181, 184)
    assert low <= (due - held).days <= high


@given(DATES, DATES)
def test_days_late_is_none_unless_held_after_the_due_date(due: date, held: date) -> None:
    late = Slot(1, due, held).days_late
    if held <= due:
        assert late is None
    else:
        assert late == (held - due).days
