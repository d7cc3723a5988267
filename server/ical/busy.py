"""Busy time read from someone else's calendar (.ics), as UTC intervals, with bounded work.

Pure: bytes in, intervals out. Transparent ("free") and cancelled events do not count;
an all-day event blocks the whole day in the calendar's own zone (X-WR-TIMEZONE, else
the zone of its VTIMEZONE, else the owner's zone), and so do floating times.

Recurrences are expanded here with dateutil's ``rrule`` rather than through
recurring-ical-events: that library iterates every rule from its DTSTART inside
dateutil where no caller can count or stop it (``FREQ=MINUTELY`` from the year 1 is a
billion silent steps, each one cached), and it copies a whole component per occurrence.
Here every rule is first moved forward by whole periods to just before the window
(exact arithmetic, so the set of occurrences does not change: ``busy_rrule``), and
every occurrence examined, before the window included, counts against
``MAX_EXAMINED`` and is checked against a deadline inside the loop (``busy_parse``'s
``Budget``). What the counting cannot see (a rule whose filters never match makes
dateutil spin without yielding) is bounded by running the read in a process that is
killed at its deadline (``server.ical.busy_reader``). This module turns the parsed
calendar's events, series and overrides into merged intervals.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the parsers load with the first imported calendar
    import icalendar

from server.ical.busy_parse import (
    MAX_EVENTS,
    MAX_RULES,
    Budget,
    BusyCalendarError,
    OverBudget,
    calendar_zone,
    event_uid,
    events_of,
    parse_calendar,
    utc_instant,
)
from server.ical.busy_rrule import rule_occurrences


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    start: datetime  # UTC
    end: datetime  # UTC


@dataclass(frozen=True, slots=True)
class Reading:
    """What a calendar file holds for the window, and how much work it took to find."""

    intervals: list[Interval]
    name: str
    examined: int


# --- reading ----------------------------------------------------------------------------


def busy_intervals(
    data: bytes,
    *,
    start: datetime,
    end: datetime,
    default_zone: str,
    budget: Budget | None = None,
) -> list[Interval]:
    """Merged busy intervals (UTC) of the calendar in ``data`` within [start, end)."""
    return read_calendar(
        data, start=start, end=end, default_zone=default_zone, budget=budget
    ).intervals


def read_calendar(
    data: bytes,
    *,
    start: datetime,
    end: datetime,
    default_zone: str,
    budget: Budget | None = None,
) -> Reading:
    """The calendar's name and merged busy intervals (UTC) within [start, end)."""
    budget = budget or Budget()
    cal = parse_calendar(data)
    budget.check_time()
    name = str(cal.get("X-WR-CALNAME", "")).strip()
    zone = ZoneInfo(calendar_zone(cal, default_zone))
    found = []
    for begin, finish in _occurrences(cal, zone, start, end, budget):
        begin, finish = max(begin, start), min(finish, end)
        if begin < finish:
            found.append(Interval(begin, finish))
    return Reading(merge(found), name, budget.examined)


def _occurrences(
    cal: icalendar.Calendar, zone: ZoneInfo, start: datetime, end: datetime, budget: Budget
) -> Iterator[tuple[datetime, datetime]]:
    import x_wr_timezone

    try:
        cal = x_wr_timezone.to_standard(cal)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BusyCalendarError(f"This calendar's time zone cannot be read: {exc}") from None
    events = events_of(cal)
    budget.spend("it has too many events", len(events))
    moved: dict[str, Moved] = {}
    for event in events:
        if "RECURRENCE-ID" in event:
            moved.setdefault(str(event.get("UID", "")), Moved()).add(
                _value(event, "RECURRENCE-ID"), zone
            )
    kept = 0
    for event in events:
        if "DTSTART" not in event:
            continue
        busy = _counts(event)
        try:
            spans = (
                [_span(event, zone)]
                if "RECURRENCE-ID" in event
                else _series(event, zone, start, end, moved.get(str(event.get("UID", ""))), budget)
            )
            for span in spans:
                if span[1] <= start or span[0] >= end:
                    continue
                kept += 1
                if kept > MAX_EVENTS:
                    raise OverBudget(
                        f"This calendar has more than {MAX_EVENTS:,} events in the period "
                        "Meridian reads; split it or shorten its recurring events."
                    )
                if busy:
                    yield span
        except BusyCalendarError:
            raise
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError):
            continue  # a series that cannot be expanded is left out, as calendar apps do


def _counts(event: icalendar.Event) -> bool:
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    return str(event.get("STATUS", "")).upper() != "CANCELLED"


def _span(event: icalendar.Event, zone: ZoneInfo) -> tuple[datetime, datetime]:
    first = _value(event, "DTSTART")
    if not isinstance(first, date):
        raise BusyCalendarError(f"Event {event_uid(event)} has no start date.")
    last = _end(event, first)
    if not isinstance(last, date):
        raise BusyCalendarError(f"Event {event_uid(event)} has no end date.")
    return utc_instant(first, zone), utc_instant(last, zone)


def _end(event: icalendar.Event, first: date) -> object:
    if "DTEND" in event:
        return _value(event, "DTEND")
    if "DURATION" in event:
        duration = _value(event, "DURATION")
        return first + duration if isinstance(duration, timedelta) else None
    if isinstance(first, datetime):
        return first
    return first + timedelta(days=1)


def _value(event: icalendar.Event, name: str) -> Any:
    prop: Any = event[name]
    if isinstance(prop, list):  # a property given twice: the first one counts
        prop = prop[0]
    return getattr(prop, "dt", None)


def merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for item in sorted(intervals):
        if merged and item.start <= merged[-1].end:
            if item.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, item.end)
        else:
            merged.append(item)
    return merged


# --- series -------------------------------------------------------------------------------


@dataclass
class Moved:
    """Occurrences of a series that an override (RECURRENCE-ID) replaces."""

    instants: set[datetime] = field(default_factory=set)  # UTC
    walls: set[datetime] = field(default_factory=set)  # naive wall-clock readings

    def add(self, value: object, zone: tzinfo) -> None:
        if isinstance(value, datetime) and value.tzinfo is not None:
            self.instants.add(value.astimezone(UTC))
        elif isinstance(value, date):
            self.walls.add(_naive(value))

    def __contains__(self, start: datetime) -> bool:
        if start.tzinfo is not None and start.astimezone(UTC) in self.instants:
            return True
        return start.replace(tzinfo=None) in self.walls


def _naive(value: date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def _series(
    event: icalendar.Event,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    moved: Moved | None,
    budget: Budget,
) -> Iterator[tuple[datetime, datetime]]:
    """The occurrences of one event that could touch [start, end), skipping the moved ones."""
    first = _value(event, "DTSTART")
    if not isinstance(first, date):
        raise BusyCalendarError(f"Event {event_uid(event)} has no start date.")
    last = _end(event, first)
    if not isinstance(last, date):
        raise BusyCalendarError(f"Event {event_uid(event)} has no end date.")
    length = utc_instant(last, zone) - utc_instant(first, zone)
    if length < timedelta(0):
        length = timedelta(0)
    rules = event.rrules
    if len(rules) > MAX_RULES:
        raise OverBudget(
            f"This calendar is too much work to read: event {event_uid(event)} has {len(rules):,} "
            f"recurrence rules; Meridian reads at most {MAX_RULES} per event."
        )
    rdates = event.rdates
    exdates = event.exdates
    budget.spend(f"event {event_uid(event)} lists too many dates", len(rdates) + len(exdates))
    if not rules and not rdates:
        yield utc_instant(first, zone), utc_instant(first, zone) + length
        return

    anchor = _naive(first).replace(tzinfo=first.tzinfo if isinstance(first, datetime) else None)
    excluded = Excluded(exdates)
    lowest = start - length  # an occurrence starting earlier ends before the window
    streams: list[Iterable[tuple[datetime, timedelta]]] = [[(anchor, length)]]
    for recur in rules:
        streams.append(
            (o, length) for o in rule_occurrences(recur, anchor, lowest, end, zone, event, budget)
        )
    extra = []
    for when, until in rdates:
        day = _naive(when).replace(tzinfo=_tz(when, anchor) if anchor.tzinfo else None)
        span = length if until is None else utc_instant(until, zone) - utc_instant(when, zone)
        extra.append((day, span))
    streams.append(sorted(extra, key=lambda x: utc_instant(x[0], zone)))
    horizon = end + timedelta(days=2)
    previous = None
    for occurrence, span in heapq.merge(*streams, key=lambda x: utc_instant(x[0], zone)):
        if occurrence == previous:
            continue
        previous = occurrence
        begin = utc_instant(occurrence, zone)
        if begin >= horizon:
            return
        if begin + span <= start or occurrence in excluded:
            continue
        if moved is not None and occurrence in moved:
            continue
        yield begin, begin + span


def _tz(value: date, anchor: datetime) -> tzinfo | None:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.tzinfo
    return anchor.tzinfo


class Excluded:
    """EXDATE values: instants, wall-clock readings, and whole days."""

    def __init__(self, values: Iterable[date]) -> None:
        self.instants: set[datetime] = set()
        self.walls: set[datetime] = set()
        self.days: set[date] = set()
        for value in values:
            if isinstance(value, datetime):
                if value.tzinfo is not None:
                    self.instants.add(value.astimezone(UTC))
                else:
                    self.walls.add(value)
            else:
                self.days.add(value)

    def __contains__(self, start: datetime) -> bool:
        if start.tzinfo is not None and start.astimezone(UTC) in self.instants:
            return True
        wall = start.replace(tzinfo=None)
        return wall in self.walls or wall.date() in self.days
