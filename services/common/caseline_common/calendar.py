"""Deadlines from durations, counting only working time for business units."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .contracts import BusinessCalendar, Duration, DurationUnit

# A calendar with any working time finds it within a year; the bound stops a loop over a calendar whose
# every workday is a holiday, and over a business duration longer than this many years of working time.
_SEARCH_YEARS = 30
_SEARCH_DAYS = 366 * _SEARCH_YEARS


class CalendarError(ValueError):
    """A deadline the calendar cannot give: an unknown time zone, or no working time left to count."""


def zone_of(calendar: BusinessCalendar) -> ZoneInfo:
    try:
        return ZoneInfo(calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f'unknown time zone "{calendar.timezone}"') from None


def _window(calendar: BusinessCalendar, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    if day.isoweekday() not in calendar.workdays or day.isoformat() in calendar.holidays:
        return None
    opens, closes = (time.fromisoformat(calendar.opens), time.fromisoformat(calendar.closes))
    return datetime.combine(day, opens, zone), datetime.combine(day, closes, zone)


def business_day_length(calendar: BusinessCalendar) -> timedelta:
    opens, closes = (time.fromisoformat(calendar.opens), time.fromisoformat(calendar.closes))
    return datetime.combine(date.min, closes) - datetime.combine(date.min, opens)


def _add_working_time(start: datetime, amount: timedelta, calendar: BusinessCalendar) -> datetime:
    zone = zone_of(calendar)
    cursor = start.astimezone(zone)
    remaining = amount
    for _ in range(_SEARCH_DAYS):
        window = _window(calendar, cursor.date(), zone)
        if window is not None:
            begin = max(cursor, window[0])
            if begin < window[1]:
                available = window[1] - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
        cursor = datetime.combine(cursor.date() + timedelta(days=1), time.min, zone)
    raise CalendarError(f"the calendar has not that much working time within {_SEARCH_YEARS} years")


def deadline(start: datetime, duration: Duration, calendar: BusinessCalendar) -> datetime:
    """When `duration` after `start` runs out; business units skip nights, weekends and holidays."""
    if duration.unit is DurationUnit.MINUTES:
        return start + timedelta(minutes=duration.amount)
    if duration.unit is DurationUnit.HOURS:
        return start + timedelta(hours=duration.amount)
    if duration.unit is DurationUnit.DAYS:
        return start + timedelta(days=duration.amount)
    if duration.unit is DurationUnit.BUSINESS_HOURS:
        return _add_working_time(start, timedelta(hours=duration.amount), calendar)
    return _add_working_time(start, business_day_length(calendar) * duration.amount, calendar)
