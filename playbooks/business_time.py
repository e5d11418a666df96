"""Business time: SLA due times counted in a team's working hours.

Rules (pinned by tests/playbooks/test_business_time.py):

- Every input is an aware datetime (a naive one raises ValueError); results are aware
  datetimes in the calendar's zone.
- Working time is the local wall-clock interval [starts, ends) on working days that are not
  holidays. Openings and closings are built per day with ``datetime.combine(day, t,
  tzinfo=zone)``, so across a daylight-saving change the day still opens at 09:00 local and
  a 09:00–18:00 day is still 9 working hours; only the UTC offset moves.
- Durations inside a day are real elapsed time (UTC differences): a DST jump *inside*
  working hours (rare) shortens or lengthens that one day.
- add_business_hours: a start outside working time starts the clock at the next opening;
  0 hours gives next_working_moment(start). A due time landing exactly on closing stays at
  closing (18:00), not the next morning's opening. Fractional hours are fine.
- add_business_days(start, n): a start outside working time first moves to the next opening,
  then the result is the same local time of day n working days later.
  Friday 20:00 + 3 days → Monday 09:00 + 3 days → Thursday 09:00.
- HOURS (clock hours) is plain elapsed time around the clock, ignoring the calendar.
- business_hours_between: working hours elapsed from start to end; negative when end < start.
- A calendar with no working days raises ValueError; a search that finds no working time
  within ten years (e.g. everything is a holiday) raises ValueError instead of looping.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

SEARCH_LIMIT_DAYS = 3660  # ten years: a calendar with no working time in that span is broken
ISO_WEEKDAYS = frozenset(range(1, 8))


class SlaUnit(models.TextChoices):
    BUSINESS_HOURS = "business_hours", _("business hours")
    BUSINESS_DAYS = "business_days", _("business days")
    HOURS = "hours", _("clock hours")


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str  # IANA name, e.g. "Asia/Taipei"
    working_days: frozenset[int]  # ISO weekdays, 1 = Monday … 7 = Sunday
    starts: time
    ends: time
    holidays: frozenset[date] = frozenset()  # local dates

    def __post_init__(self):
        if not self.working_days or not self.working_days <= ISO_WEEKDAYS:
            raise ValueError("A calendar needs working days between 1 (Monday) and 7 (Sunday).")
        # Overnight shifts would make a working interval span two dates; not supported.
        if self.ends <= self.starts:
            raise ValueError("The working day must end after it starts.")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)  # ZoneInfo caches instances, so this is cheap

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.working_days and day not in self.holidays

    def hours_per_day(self) -> float:
        """Nominal length of a working day (wall clock, ignoring DST jumps)."""
        return (_seconds_into_day(self.ends) - _seconds_into_day(self.starts)) / 3600

    def opening(self, day: date) -> datetime:
        return datetime.combine(day, self.starts, tzinfo=self.zone)

    def closing(self, day: date) -> datetime:
        return datetime.combine(day, self.ends, tzinfo=self.zone)

    def working_days_from(self, day: date) -> Iterator[date]:
        """Working days from `day` on (`day` included when it is one), for ten years at most."""
        for offset in range(SEARCH_LIMIT_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                yield candidate
        raise ValueError("No working time within ten years.")


def _seconds_into_day(moment: time) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1_000_000


def _local(moment: datetime, calendar: BusinessCalendar) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Business time needs an aware datetime.")
    return moment.astimezone(calendar.zone)


def _utc(moment: datetime) -> datetime:
    # Aware datetimes sharing one tzinfo compare by wall clock, which is wrong in the repeated
    # hour of a fall-back change; comparing in UTC is always real time order.
    return moment.astimezone(UTC)


def _elapsed(start: datetime, end: datetime) -> timedelta:
    """Real elapsed time, whatever the offsets (wall-clock subtraction would ignore DST)."""
    return _utc(end) - _utc(start)


def _unreachable() -> AssertionError:
    return AssertionError("working_days_from raises before running out")


def next_working_moment(moment: datetime, calendar: BusinessCalendar) -> datetime:
    """The moment itself when inside working time, else the next opening."""
    local = _local(moment, calendar)
    for day in calendar.working_days_from(local.date()):
        if _utc(local) < _utc(calendar.opening(day)):
            return calendar.opening(day)
        if _utc(local) < _utc(calendar.closing(day)):
            return local
        # Already closed on this day: the next working day's opening is the answer.
    raise _unreachable()


def add_business_hours(start: datetime, hours: float | Decimal | int, calendar: BusinessCalendar) -> datetime:
    remaining = timedelta(hours=float(hours))
    if remaining < timedelta(0):
        raise ValueError("Business hours to add must not be negative.")
    cursor = next_working_moment(start, calendar)
    for day in calendar.working_days_from(cursor.date()):
        begin = cursor if day == cursor.date() else calendar.opening(day)
        available = _elapsed(begin, calendar.closing(day))
        # `<=` keeps a due time that lands exactly on closing at closing.
        if remaining <= available:
            return (_utc(begin) + remaining).astimezone(calendar.zone)
        remaining -= available
    raise _unreachable()


def add_business_days(start: datetime, days: int, calendar: BusinessCalendar) -> datetime:
    if days < 0:
        raise ValueError("Business days to add must not be negative.")
    cursor = next_working_moment(start, calendar)
    target = cursor.date()
    for _step in range(days):
        target = next(calendar.working_days_from(target + timedelta(days=1)))
    # Same local time of day, so the wall clock holds across a DST change.
    return datetime.combine(target, cursor.time(), tzinfo=calendar.zone)


def due_at(start: datetime, amount: int | float | Decimal, unit: str, calendar: BusinessCalendar) -> datetime:
    if unit == SlaUnit.BUSINESS_HOURS:
        return add_business_hours(start, amount, calendar)
    if unit == SlaUnit.BUSINESS_DAYS:
        return add_business_days(start, int(amount), calendar)
    if unit == SlaUnit.HOURS:
        # Clock hours are real elapsed time: add in UTC so a DST change doesn't add or drop an hour.
        return (_utc(_local(start, calendar)) + timedelta(hours=float(amount))).astimezone(calendar.zone)
    raise ValueError(f"Unknown SLA unit: {unit!r}")


def business_hours_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    """Working hours elapsed from start to end (e.g. "overdue by N business hours").

    Negative when end comes before start.
    """
    start, end = _local(start, calendar), _local(end, calendar)
    if _utc(end) < _utc(start):
        return -business_hours_between(end, start, calendar)
    total = timedelta(0)
    cursor = next_working_moment(start, calendar)
    for day in calendar.working_days_from(cursor.date()):
        begin = cursor if day == cursor.date() else calendar.opening(day)
        if _utc(begin) >= _utc(end):
            break
        finish = min(calendar.closing(day), end, key=_utc)
        total += _elapsed(begin, finish)
    return total.total_seconds() / 3600


def default_calendar() -> BusinessCalendar:
    """Monday–Friday, 09:00–18:00 in the site's TIME_ZONE, no holidays."""
    return BusinessCalendar(
        time_zone=settings.TIME_ZONE,
        working_days=frozenset({1, 2, 3, 4, 5}),
        starts=time(9, 0),
        ends=time(18, 0),
    )
