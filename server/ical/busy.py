"""Busy time read from someone else's calendar (.ics), as UTC intervals.

Pure: bytes in, intervals out. Recurrences are expanded over the requested window with
recurring-ical-events; transparent ("free") and cancelled events do not count; an
all-day event blocks the whole day in the calendar's own zone (X-WR-TIMEZONE, else the
zone of its VTIMEZONE, else the owner's zone), and so do floating times.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the parsers load with the first imported calendar
    import icalendar

from server.config import is_timezone

MAX_EVENTS = 20_000
VITAL = frozenset({"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"})


class BusyCalendarError(ValueError):
    """The file cannot be used as a calendar; the message says why, for a person."""


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    start: datetime  # UTC
    end: datetime  # UTC


def parse_calendar(data: bytes) -> icalendar.Calendar:
    text = data.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.upper().startswith(b"BEGIN:VCALENDAR"):
        raise BusyCalendarError(
            "This is not an iCalendar file: it should start with BEGIN:VCALENDAR."
        )
    try:
        text.decode()
    except UnicodeDecodeError:
        raise BusyCalendarError("This calendar file is not valid UTF-8 text.") from None
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise BusyCalendarError(f"This calendar file cannot be read: {exc}") from None
    if not isinstance(cal, icalendar.Calendar):
        raise BusyCalendarError("This file holds no VCALENDAR.")
    for event in cal.walk("VEVENT"):
        for name, problem in event.errors:
            if name in VITAL:
                uid = str(event.get("UID", "without a UID"))
                raise BusyCalendarError(
                    f"This calendar file cannot be read: event {uid[:80]} has a bad {name} "
                    f"({str(problem)[:120]})."
                )
    return cal


def calendar_zone(cal: icalendar.Calendar, default: str) -> str:
    """The zone a calendar's all-day and floating times are meant in."""
    named = str(cal.get("X-WR-TIMEZONE", "")).strip()
    if is_timezone(named):
        return named
    for tz in cal.walk("VTIMEZONE"):
        tzid = str(tz.get("TZID", "")).strip()
        if is_timezone(tzid):
            return tzid
    return default


def busy_intervals(
    data: bytes, *, start: datetime, end: datetime, default_zone: str
) -> list[Interval]:
    """Merged busy intervals (UTC) of the calendar in ``data`` within [start, end)."""
    cal = parse_calendar(data)
    zone = ZoneInfo(calendar_zone(cal, default_zone))
    found = []
    for begin, finish in _occurrences(cal, zone, start, end):
        begin, finish = max(begin, start), min(finish, end)
        if begin < finish:
            found.append(Interval(begin, finish))
    return merge(found)


def _occurrences(
    cal: icalendar.Calendar, zone: ZoneInfo, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    import recurring_ical_events

    try:
        query = recurring_ical_events.of(cal, skip_bad_series=True)
        count = 0
        for event in query.after(start):  # in order of start, produced lazily
            if "DTSTART" not in event:
                continue
            span = _span(event, zone)
            if span[0] >= end + timedelta(days=2):  # margin: all-day ordering is zone-less
                return
            count += 1
            if count > MAX_EVENTS:
                raise BusyCalendarError(
                    f"This calendar has more than {MAX_EVENTS:,} events in the period Meridian "
                    "reads; split it or shorten its recurring events."
                )
            if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if str(event.get("STATUS", "")).upper() == "CANCELLED":
                continue
            yield span
    except BusyCalendarError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise BusyCalendarError(f"This calendar's events cannot be read: {exc}") from None


def _span(event: icalendar.Event, zone: ZoneInfo) -> tuple[datetime, datetime]:
    first = _value(event, "DTSTART")
    if not isinstance(first, date):
        raise BusyCalendarError(f"Event {str(event.get('UID', ''))[:80]} has no start date.")
    last: object
    if "DTEND" in event:
        last = _value(event, "DTEND")
    elif "DURATION" in event:
        duration = _value(event, "DURATION")
        last = first + duration if isinstance(duration, timedelta) else None
    elif isinstance(first, datetime):
        last = first
    else:
        last = first + timedelta(days=1)
    if not isinstance(last, date):
        raise BusyCalendarError(f"Event {str(event.get('UID', ''))[:80]} has no end date.")
    return _instant(first, zone), _instant(last, zone)


def _value(event: icalendar.Event, name: str) -> object:
    prop: Any = event[name]
    return getattr(prop, "dt", None)


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for item in sorted(intervals):
        if merged and item.start <= merged[-1].end:
            if item.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, item.end)
        else:
            merged.append(item)
    return merged
