"""Reading a calendar file into icalendar's objects, and the bounds on the work it may cost.

Pure: bytes in, a parsed calendar out, or a ``BusyCalendarError`` that says to a person
why the file cannot be used. A raw scan refuses absurd nesting and component counts
before the parser sees the file; a ``Budget`` then counts every occurrence, date and
component that the expansion (``busy``, ``busy_rrule``) looks at, and checks a deadline
as it goes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser loads with the first imported calendar
    import icalendar

from server.config import is_timezone

MAX_EVENTS = 20_000
"""Occurrences kept inside the window, per calendar."""
MAX_EXAMINED = 200_000
"""Occurrences, dates and components looked at per calendar, wherever they fall."""
MAX_COMPONENTS = 50_000
MAX_RULES = 20
"""RRULEs of one event; calendar apps write one."""
MAX_DEPTH = 6
"""VCALENDAR > VEVENT > VALARM is 3 deep; nothing real nests twice that."""
CHECK_EVERY = 1024
VITAL = frozenset({"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"})
_LINE_START = re.compile(rb"^(BEGIN|END)[ \t]*:", re.IGNORECASE | re.MULTILINE)


class BusyCalendarError(ValueError):
    """The file cannot be used as a calendar; the message says why, for a person."""


class OverBudget(BusyCalendarError):
    """Reading the calendar would take more work or time than one calendar may use."""


# --- structure and parsing --------------------------------------------------------------


def check_structure(data: bytes) -> None:
    """Refuse files with absurdly many or deeply nested components before parsing them.

    A scan of the raw lines: cheap, and it keeps a hostile file from ever reaching the
    parser's recursion.
    """
    depth = count = 0
    for match in _LINE_START.finditer(data):
        if match.group(1).upper() == b"BEGIN":
            depth += 1
            count += 1
            if depth > MAX_DEPTH:
                raise BusyCalendarError(
                    f"This calendar file nests its components more than {MAX_DEPTH} deep; "
                    "calendar apps never write that."
                )
            if count > MAX_COMPONENTS:
                raise OverBudget(
                    f"This calendar has more than {MAX_COMPONENTS:,} components (events, "
                    "alarms, zones); export a shorter period or split it."
                )
        else:
            depth = max(depth - 1, 0)


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
    check_structure(text)
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
        raise BusyCalendarError(f"This calendar file cannot be read: {exc}") from None
    if not isinstance(cal, icalendar.Calendar):
        raise BusyCalendarError("This file holds no VCALENDAR.")
    for event in events_of(cal):
        for name, problem in event.errors:
            if name in VITAL:
                raise BusyCalendarError(
                    f"This calendar file cannot be read: event {event_uid(event)} has a bad "
                    f"{name} ({str(problem)[:120]})."
                )
    return cal


def events_of(cal: icalendar.Calendar) -> list[icalendar.Event]:
    """The calendar's own events (an event nested in another component is not one)."""
    import icalendar

    return [c for c in cal.subcomponents if isinstance(c, icalendar.Event)]


def event_uid(event: icalendar.Event) -> str:
    """The event's UID, quoted and cut short, to name it in a message to a person."""
    return "“" + str(event.get("UID", "without a UID"))[:80] + "”"


def calendar_zone(cal: icalendar.Calendar, default: str) -> str:
    """The zone a calendar's all-day and floating times are meant in."""
    named = str(cal.get("X-WR-TIMEZONE", "")).strip()
    if is_timezone(named):
        return named
    for tz in cal.subcomponents:
        if tz.name != "VTIMEZONE":
            continue
        tzid = str(tz.get("TZID", "")).strip()
        if is_timezone(tzid):
            return tzid
    return default


def utc_instant(value: date | datetime, zone: tzinfo) -> datetime:
    """A DATE or DATE-TIME as a UTC instant; dates and floating times are read in ``zone``."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


# --- the budget -------------------------------------------------------------------------


@dataclass
class Budget:
    """Work left for one calendar: occurrences examined, and a deadline (monotonic)."""

    deadline: float | None = None
    limit: int = MAX_EXAMINED
    examined: int = 0
    seconds: float = 0.0
    _next_check: int = CHECK_EVERY

    def spend(self, what: str, amount: int = 1) -> None:
        self.examined += amount
        if self.examined > self.limit:
            raise OverBudget(
                f"This calendar is too much work to read: {what}. Meridian looks at no more "
                f"than {self.limit:,} occurrences per calendar; shorten or remove that event."
            )
        if self.examined >= self._next_check:
            self._next_check = self.examined + CHECK_EVERY
            self.check_time()

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise too_slow(self.seconds)


def too_slow(seconds: float) -> OverBudget:
    return OverBudget(
        f"This calendar took longer than {seconds:g} seconds to read, the most Meridian "
        "spends on one calendar; export a shorter period or split it."
    )
