"""Business time, pinned by hand-computed examples.

Reference week (2026): Mon 03-02, Tue 03-03, Wed 03-04, Thu 03-05, Fri 03-06, Sat 03-07,
Sun 03-08, Mon 03-09. Unless a test says otherwise the calendar is Asia/Taipei (UTC+8, no
DST), Monday–Friday, 09:00–18:00.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from playbooks.business_time import (
    BusinessCalendar,
    SlaUnit,
    add_business_days,
    add_business_hours,
    business_hours_between,
    default_calendar,
    due_at,
    next_working_moment,
)

TAIPEI = "Asia/Taipei"
NEW_YORK = "America/New_York"
LONDON = "Europe/London"
MON_FRI = frozenset({1, 2, 3, 4, 5})


def calendar(time_zone=TAIPEI, working_days=MON_FRI, starts=time(9), ends=time(18), holidays=()):
    return BusinessCalendar(
        time_zone=time_zone,
        working_days=frozenset(working_days),
        starts=starts,
        ends=ends,
        holidays=frozenset(holidays),
    )


def at(month, day, hour, minute=0, time_zone=TAIPEI, year=2026):
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(time_zone))


def hours(amount):
    return timedelta(hours=amount)


# --- the calendar itself -------------------------------------------------------------------


def test_calendar_knows_its_zone_day_length_and_working_days():
    cal = calendar(holidays={date(2026, 3, 3)})
    assert cal.zone == ZoneInfo(TAIPEI)
    assert cal.hours_per_day() == 9.0
    assert cal.is_working_day(date(2026, 3, 2))  # Monday
    assert not cal.is_working_day(date(2026, 3, 3))  # holiday
    assert not cal.is_working_day(date(2026, 3, 7))  # Saturday


def test_empty_working_days_raises():
    with pytest.raises(ValueError, match="working days"):
        calendar(working_days=())


def test_weekday_outside_iso_range_raises():
    with pytest.raises(ValueError, match="working days"):
        calendar(working_days={0, 1})


@pytest.mark.parametrize("ends", [time(9), time(8)])
def test_day_ending_at_or_before_its_start_raises(ends):
    with pytest.raises(ValueError, match="end after it starts"):
        calendar(ends=ends)


def test_calendar_with_no_working_time_in_ten_years_raises_instead_of_looping():
    mondays = {date(2026, 3, 2) + timedelta(weeks=n) for n in range(600)}
    cal = calendar(working_days={1}, holidays=mondays)
    with pytest.raises(ValueError, match="ten years"):
        next_working_moment(at(3, 2, 10), cal)
    with pytest.raises(ValueError, match="ten years"):
        add_business_hours(at(3, 2, 10), 1, cal)


def test_default_calendar_is_weekdays_nine_to_six_in_the_site_time_zone(settings):
    settings.TIME_ZONE = LONDON
    assert default_calendar() == calendar(time_zone=LONDON)


# --- next_working_moment -------------------------------------------------------------------


def test_next_working_moment_inside_working_time_is_the_moment_itself():
    assert next_working_moment(at(3, 2, 10, 15), calendar()) == at(3, 2, 10, 15)


def test_next_working_moment_before_opening_is_that_mornings_opening():
    assert next_working_moment(at(3, 2, 7, 30), calendar()) == at(3, 2, 9)


def test_next_working_moment_at_closing_is_the_next_mornings_opening():
    # Working time is [09:00, 18:00): 18:00 itself is already closed.
    assert next_working_moment(at(3, 2, 18), calendar()) == at(3, 3, 9)


def test_next_working_moment_on_a_weekend_is_monday_opening():
    assert next_working_moment(at(3, 7, 12), calendar()) == at(3, 9, 9)


# --- add_business_hours --------------------------------------------------------------------


def test_three_business_hours_within_a_day():
    assert add_business_hours(at(3, 2, 10), 3, calendar()) == at(3, 2, 13)


def test_four_business_hours_from_late_afternoon_cross_into_next_morning():
    # Monday 16:00: 2 hours until closing, 2 more on Tuesday from 09:00.
    assert add_business_hours(at(3, 2, 16), 4, calendar()) == at(3, 3, 11)


def test_four_business_hours_from_friday_afternoon_lands_on_monday_morning():
    assert add_business_hours(at(3, 6, 16), 4, calendar()) == at(3, 9, 11)


def test_holiday_is_skipped_like_a_weekend_day():
    # Monday 17:00: 1 hour on Monday, Tuesday is a holiday, 1 hour on Wednesday.
    cal = calendar(holidays={date(2026, 3, 3)})
    assert add_business_hours(at(3, 2, 17), 2, cal) == at(3, 4, 10)


def test_holiday_on_monday_after_a_weekend_pushes_to_tuesday():
    # Friday 17:00: 1 hour on Friday, weekend, Monday holiday, 2 hours on Tuesday.
    cal = calendar(holidays={date(2026, 3, 9)})
    assert add_business_hours(at(3, 6, 17), 3, cal) == at(3, 10, 11)


def test_start_before_opening_counts_from_opening():
    assert add_business_hours(at(3, 2, 7, 30), 2, calendar()) == at(3, 2, 11)


def test_start_after_closing_counts_from_next_opening():
    assert add_business_hours(at(3, 2, 19), 2, calendar()) == at(3, 3, 11)


def test_start_on_a_sunday_counts_from_monday_opening():
    assert add_business_hours(at(3, 8, 12), 1, calendar()) == at(3, 9, 10)


def test_due_time_landing_exactly_on_closing_stays_at_closing():
    assert add_business_hours(at(3, 2, 15), 3, calendar()) == at(3, 2, 18)


def test_full_day_from_opening_lands_on_closing_not_next_opening():
    assert add_business_hours(at(3, 2, 9), 9, calendar()) == at(3, 2, 18)


def test_twenty_four_business_hours_with_a_nine_hour_day_take_three_days():
    # Monday 10:00: 8 h Monday + 9 h Tuesday + 7 h Wednesday = 24 h → Wednesday 16:00.
    assert add_business_hours(at(3, 2, 10), 24, calendar()) == at(3, 4, 16)


def test_fractional_hours_cross_closing():
    assert add_business_hours(at(3, 2, 17, 45), 0.5, calendar()) == at(3, 3, 9, 15)


def test_decimal_hours_are_accepted():
    assert add_business_hours(at(3, 2, 10), Decimal("1.5"), calendar()) == at(3, 2, 11, 30)


def test_zero_hours_is_the_next_working_moment():
    cal = calendar()
    assert add_business_hours(at(3, 2, 10), 0, cal) == at(3, 2, 10)
    assert add_business_hours(at(3, 7, 10), 0, cal) == at(3, 9, 9)


def test_negative_hours_raise():
    with pytest.raises(ValueError, match="negative"):
        add_business_hours(at(3, 2, 10), -1, calendar())


def test_result_is_in_the_calendar_zone_whatever_the_input_zone():
    # Friday 08:00 UTC is Friday 16:00 in Taipei.
    start = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)
    due = add_business_hours(start, 4, calendar())
    assert due == at(3, 9, 11)
    assert due.tzinfo == ZoneInfo(TAIPEI)
    assert due.utcoffset() == hours(8)
    assert (due.hour, due.minute) == (11, 0)


# --- add_business_days ---------------------------------------------------------------------


def test_three_business_days_from_wednesday_morning_is_monday_same_time():
    assert add_business_days(at(3, 4, 10), 3, calendar()) == at(3, 9, 10)


def test_business_days_from_friday_evening_start_at_monday_opening():
    # Friday 20:00 → Monday 09:00 (next opening), then Tuesday, Wednesday, Thursday.
    assert add_business_days(at(3, 6, 20), 3, calendar()) == at(3, 12, 9)


def test_business_days_from_saturday_start_at_monday_opening():
    assert add_business_days(at(3, 7, 12), 1, calendar()) == at(3, 10, 9)


def test_business_days_skip_holidays():
    # Wednesday 10:00 with Friday off: Thursday, Monday, Tuesday.
    cal = calendar(holidays={date(2026, 3, 6)})
    assert add_business_days(at(3, 4, 10), 3, cal) == at(3, 10, 10)


def test_zero_business_days_is_the_next_working_moment():
    assert add_business_days(at(3, 4, 10), 0, calendar()) == at(3, 4, 10)
    assert add_business_days(at(3, 6, 20), 0, calendar()) == at(3, 9, 9)


def test_negative_business_days_raise():
    with pytest.raises(ValueError, match="negative"):
        add_business_days(at(3, 4, 10), -1, calendar())


# --- daylight saving -----------------------------------------------------------------------


def test_new_york_spring_forward_keeps_nine_oclock_opening_and_changes_offset():
    # DST starts Sunday 2026-03-08; Friday is EST (-05:00), Monday is EDT (-04:00).
    cal = calendar(time_zone=NEW_YORK)
    start = at(3, 6, 16, time_zone=NEW_YORK)
    due = add_business_hours(start, 4, cal)
    assert due == at(3, 9, 11, time_zone=NEW_YORK)
    assert (due.hour, due.minute) == (11, 0)
    assert start.utcoffset() == hours(-5)
    assert due.utcoffset() == hours(-4)
    assert due.astimezone(UTC) == datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def test_new_york_fall_back_keeps_nine_oclock_opening_and_changes_offset():
    # DST ends Sunday 2026-11-01; Friday is EDT (-04:00), Monday is EST (-05:00).
    cal = calendar(time_zone=NEW_YORK)
    start = at(10, 30, 16, time_zone=NEW_YORK)
    due = add_business_hours(start, 4, cal)
    assert (due.date(), due.hour, due.minute) == (date(2026, 11, 2), 11, 0)
    assert start.utcoffset() == hours(-4)
    assert due.utcoffset() == hours(-5)
    assert due.astimezone(UTC) == datetime(2026, 11, 2, 16, 0, tzinfo=UTC)


def test_business_days_across_spring_forward_keep_the_wall_clock_time():
    cal = calendar(time_zone=NEW_YORK)
    due = add_business_days(at(3, 6, 10, time_zone=NEW_YORK), 1, cal)
    assert (due.date(), due.hour, due.minute) == (date(2026, 3, 9), 10, 0)
    assert due.utcoffset() == hours(-4)


def test_london_spring_forward_monday_opens_at_nine_bst():
    # British Summer Time starts Sunday 2026-03-29: GMT (+00:00) → BST (+01:00).
    cal = calendar(time_zone=LONDON)
    start = at(3, 27, 17, time_zone=LONDON)
    due = add_business_hours(start, 2, cal)
    assert (due.date(), due.hour, due.minute) == (date(2026, 3, 30), 10, 0)
    assert start.utcoffset() == hours(0)
    assert due.utcoffset() == hours(1)
    assert business_hours_between(start, due, cal) == 2.0


def test_dst_jump_inside_working_hours_counts_real_elapsed_time():
    # A Sunday 01:00–04:00 shift in New York: on 2026-03-08 02:00 jumps to 03:00, so the
    # shift is only 2 real hours; on 2026-11-01 01:00–02:00 repeats, so it is 4.
    cal = calendar(time_zone=NEW_YORK, working_days={7}, starts=time(1), ends=time(4))
    spring_open, spring_close = at(3, 8, 1, time_zone=NEW_YORK), at(3, 8, 4, time_zone=NEW_YORK)
    assert business_hours_between(spring_open, spring_close, cal) == 2.0
    assert add_business_hours(spring_open, 2, cal) == spring_close
    fall_open, fall_close = at(11, 1, 1, time_zone=NEW_YORK), at(11, 1, 4, time_zone=NEW_YORK)
    assert business_hours_between(fall_open, fall_close, cal) == 4.0
    assert add_business_hours(fall_open, 4, cal) == fall_close


# --- business_hours_between ----------------------------------------------------------------


def test_business_hours_between_within_a_day():
    assert business_hours_between(at(3, 2, 10), at(3, 2, 13, 30), calendar()) == 3.5


def test_business_hours_between_is_negative_when_end_is_before_start():
    assert business_hours_between(at(3, 2, 13, 30), at(3, 2, 10), calendar()) == -3.5


def test_business_hours_between_across_a_weekend_counts_only_working_time():
    cal = calendar()
    assert business_hours_between(at(3, 6, 16), at(3, 9, 11), cal) == 4.0
    assert business_hours_between(at(3, 9, 11), at(3, 6, 16), cal) == -4.0


def test_business_hours_between_outside_working_time_is_zero():
    cal = calendar()
    assert business_hours_between(at(3, 7, 10), at(3, 8, 22), cal) == 0.0
    assert business_hours_between(at(3, 2, 18), at(3, 3, 9), cal) == 0.0


def test_business_hours_between_clips_to_working_time_at_both_ends():
    # Monday 07:00 → Tuesday 20:00 is two full days.
    assert business_hours_between(at(3, 2, 7), at(3, 3, 20), calendar()) == 18.0


def test_business_hours_between_accepts_mixed_zones():
    end = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 13:00 in Taipei
    assert business_hours_between(at(3, 2, 10), end, calendar()) == 3.0


@pytest.mark.parametrize("amount", [0.5, 1, 9, 24, 40])
def test_business_hours_between_undoes_add_business_hours(amount):
    cal = calendar(holidays={date(2026, 3, 9)})
    start = at(3, 5, 14, 20)
    assert business_hours_between(start, add_business_hours(start, amount, cal), cal) == pytest.approx(amount)


# --- other calendars -----------------------------------------------------------------------


def test_sunday_to_thursday_week_skips_friday_and_saturday():
    # Riyadh (UTC+3), Sunday–Thursday: Thursday 16:00 + 4 → 2 h Thursday, 2 h Sunday.
    cal = calendar(time_zone="Asia/Riyadh", working_days={7, 1, 2, 3, 4})
    assert add_business_hours(at(3, 5, 16, time_zone="Asia/Riyadh"), 4, cal) == at(
        3, 8, 11, time_zone="Asia/Riyadh"
    )
    assert add_business_days(at(3, 5, 10, time_zone="Asia/Riyadh"), 1, cal) == at(
        3, 8, 10, time_zone="Asia/Riyadh"
    )
    assert next_working_moment(at(3, 6, 12, time_zone="Asia/Riyadh"), cal) == at(
        3, 8, 9, time_zone="Asia/Riyadh"
    )


def test_custom_working_hours():
    # 08:30–17:00 is 8.5 hours: Monday 16:00 + 2 → 1 h Monday, 1 h from Tuesday 08:30.
    cal = calendar(starts=time(8, 30), ends=time(17))
    assert cal.hours_per_day() == 8.5
    assert add_business_hours(at(3, 2, 16), 2, cal) == at(3, 3, 9, 30)


# --- due_at and naive input ----------------------------------------------------------------


def test_due_at_dispatches_business_units():
    cal = calendar()
    assert due_at(at(3, 6, 16), 4, SlaUnit.BUSINESS_HOURS, cal) == at(3, 9, 11)
    assert due_at(at(3, 4, 10), 3, SlaUnit.BUSINESS_DAYS, cal) == at(3, 9, 10)
    assert due_at(at(3, 4, 10), 3, "business_days", cal) == at(3, 9, 10)


def test_clock_hours_unit_is_plain_elapsed_time_ignoring_the_calendar():
    start = at(3, 6, 16)
    due = due_at(start, 30, SlaUnit.HOURS, calendar())
    assert due == start + timedelta(hours=30)
    assert due == at(3, 7, 22)  # Saturday night: weekends don't matter for clock hours


def test_clock_hours_across_spring_forward_are_real_hours():
    # Saturday 12:00 EST + 24 real hours is Sunday 13:00 EDT (the wall clock skips 02:00).
    cal = calendar(time_zone=NEW_YORK)
    due = due_at(at(3, 7, 12, time_zone=NEW_YORK), 24, SlaUnit.HOURS, cal)
    assert (due.date(), due.hour, due.utcoffset()) == (date(2026, 3, 8), 13, hours(-4))


def test_unknown_unit_raises():
    with pytest.raises(ValueError, match="Unknown SLA unit"):
        due_at(at(3, 2, 10), 1, "fortnights", calendar())


@pytest.mark.parametrize(
    "call",
    [
        lambda start, cal: add_business_hours(start, 1, cal),
        lambda start, cal: add_business_days(start, 1, cal),
        lambda start, cal: next_working_moment(start, cal),
        lambda start, cal: due_at(start, 1, SlaUnit.HOURS, cal),
        lambda start, cal: business_hours_between(start, at(3, 2, 12), cal),
        lambda start, cal: business_hours_between(at(3, 2, 12), start, cal),
    ],
    ids=["add_hours", "add_days", "next_moment", "due_at_clock_hours", "between_start", "between_end"],
)
def test_naive_datetime_raises(call):
    with pytest.raises(ValueError, match="aware"):
        call(datetime(2026, 3, 2, 10, 0), calendar())
