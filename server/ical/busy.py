"""Busy time read from someone else's calendar (.ics), as UTC intervals, with bounded work.

Pure: bytes in, intervals out. Transparent ("free") and cancelled events do not count;
an all-day event blocks the whole day in the calendar's own zone (X-WR-TIMEZONE, else
the zone of its VTIMEZONE, else the owner's zone), and so do floating times.

Recurrences are expanded here with dateutil's ``rrule`` rather than through
recurring-ical-events: that library iterates every rule from its DTSTART inside
dateutil where no caller can count or stop it (``FREQ=MINUTELY`` from the year 1 is a
billion silent steps, each one cached), and it copies a whole component per occurrence.
Here every rule is first moved forward by whole periods to just before the window
(exact arithmetic, so the set of occurrences does not change), and every occurrence
examined, before the window included, counts against ``MAX_EXAMINED`` and is checked
against a deadline inside the loop. What the counting cannot see (a rule whose filters
never match makes dateutil spin without yielding) is bounded by running the read in a
process that is killed at its deadline (``server.ical.busy_reader``).
"""

from __future__ import annotations

import heapq
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the parsers load with the first imported calendar
    import icalendar
    from dateutil import rrule

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
    for event in _events(cal):
        for name, problem in event.errors:
            if name in VITAL:
                raise BusyCalendarError(
                    f"This calendar file cannot be read: event {_uid(event)} has a bad "
                    f"{name} ({str(problem)[:120]})."
                )
    return cal


def _events(cal: icalendar.Calendar) -> list[icalendar.Event]:
    """The calendar's own events (an event nested in another component is not one)."""
    import icalendar

    return [c for c in cal.subcomponents if isinstance(c, icalendar.Event)]


def _uid(event: icalendar.Event) -> str:
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
    events = _events(cal)
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
        raise BusyCalendarError(f"Event {_uid(event)} has no start date.")
    last = _end(event, first)
    if not isinstance(last, date):
        raise BusyCalendarError(f"Event {_uid(event)} has no end date.")
    return _instant(first, zone), _instant(last, zone)


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


def _instant(value: date | datetime, zone: tzinfo) -> datetime:
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
        raise BusyCalendarError(f"Event {_uid(event)} has no start date.")
    last = _end(event, first)
    if not isinstance(last, date):
        raise BusyCalendarError(f"Event {_uid(event)} has no end date.")
    length = _instant(last, zone) - _instant(first, zone)
    if length < timedelta(0):
        length = timedelta(0)
    rules = event.rrules
    if len(rules) > MAX_RULES:
        raise OverBudget(
            f"This calendar is too much work to read: event {_uid(event)} has {len(rules):,} "
            f"recurrence rules; Meridian reads at most {MAX_RULES} per event."
        )
    rdates = event.rdates
    exdates = event.exdates
    budget.spend(f"event {_uid(event)} lists too many dates", len(rdates) + len(exdates))
    if not rules and not rdates:
        yield _instant(first, zone), _instant(first, zone) + length
        return

    anchor = _naive(first).replace(tzinfo=first.tzinfo if isinstance(first, datetime) else None)
    excluded = Excluded(exdates)
    lowest = start - length  # an occurrence starting earlier ends before the window
    streams: list[Iterable[tuple[datetime, timedelta]]] = [[(anchor, length)]]
    for recur in rules:
        streams.append((o, length) for o in _rule(recur, anchor, lowest, end, zone, event, budget))
    extra = []
    for when, until in rdates:
        day = _naive(when).replace(tzinfo=_tz(when, anchor) if anchor.tzinfo else None)
        span = length if until is None else _instant(until, zone) - _instant(when, zone)
        extra.append((day, span))
    streams.append(sorted(extra, key=lambda x: _instant(x[0], zone)))
    horizon = end + timedelta(days=2)
    previous = None
    for occurrence, span in heapq.merge(*streams, key=lambda x: _instant(x[0], zone)):
        if occurrence == previous:
            continue
        previous = occurrence
        begin = _instant(occurrence, zone)
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


# --- one RRULE ---------------------------------------------------------------------------

_FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_PARTS = ("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYDAY")
_PARTS = ("BYMONTH", *_DAY_PARTS, "BYHOUR", "BYMINUTE", "BYSECOND", "BYSETPOS")
_EVERY = {
    "YEARLY": "year",
    "MONTHLY": "month",
    "WEEKLY": "week",
    "DAILY": "day",
    "HOURLY": "hour",
    "MINUTELY": "minute",
    "SECONDLY": "second",
}


_RANGES = {
    "BYMONTH": (1, 12),
    "BYMONTHDAY": (-31, 31),
    "BYYEARDAY": (-366, 366),
    "BYWEEKNO": (-53, 53),
    "BYHOUR": (0, 23),
    "BYMINUTE": (0, 59),
    "BYSECOND": (0, 59),
    "BYSETPOS": (-366, 366),
}


def _ints(recur: Any, name: str) -> list[int] | None:
    """A numeric rule part; a value out of its range makes the rule unusable (RFC 5545
    3.3.10), where dateutil would search the calendar to the year 9999 for it."""
    values = recur.get(name)
    if not values:
        return None
    low, high = _RANGES[name]
    out = [int(v) for v in values]
    if any(v < low or v > high or (v == 0 and low < 0) for v in out):
        raise ValueError(f"{name} out of range")
    return out


def _weekdays(recur: Any) -> list[rrule.weekday] | None:
    from dateutil import rrule

    values = recur.get("BYDAY")
    if not values:
        return None
    out = []
    for raw in values:
        text = str(raw).strip().upper()
        day, n = text[-2:], text[:-2]
        if day not in _DAYS:
            raise ValueError(f"bad BYDAY {text[:20]}")
        weekday = rrule.weekday(_DAYS.index(day))
        out.append(weekday(int(n)) if n not in ("", "+") else weekday)
    return out


def _until(value: object, anchor: datetime) -> datetime | None:
    """UNTIL in the form dateutil compares with the series' start."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if anchor.tzinfo is None:
            return value.replace(tzinfo=None)
        if value.tzinfo is None:
            return value.replace(tzinfo=anchor.tzinfo)
        return value
    if isinstance(value, date):
        day_end = datetime(value.year, value.month, value.day, 23, 59, 59)
        return day_end.replace(tzinfo=anchor.tzinfo)
    return None


def _rule(
    recur: Any,
    anchor: datetime,
    lowest: datetime,
    end: datetime,
    zone: ZoneInfo,
    event: icalendar.Event,
    budget: Budget,
) -> Iterator[datetime]:
    """The occurrences of one RRULE, starting from the period just before ``lowest``."""
    from dateutil import rrule

    freq_name = str((recur.get("FREQ") or [""])[0]).upper()
    if freq_name not in _FREQS:
        raise ValueError("no FREQ")
    interval = int((recur.get("INTERVAL") or [1])[0])
    if interval < 1:
        raise ValueError("INTERVAL below 1")
    counts = recur.get("COUNT")
    count = int(counts[0]) if counts else None
    if count is not None and count < 1:
        return
    until = _until((recur.get("UNTIL") or [None])[0], anchor)
    wkst_name = str((recur.get("WKST") or ["MO"])[0]).upper()
    wkst = _DAYS.index(wkst_name) if wkst_name in _DAYS else 0
    freq: Any = _FREQS.index(freq_name)  # dateutil numbers YEARLY..SECONDLY 0..6
    parts: dict[str, Any] = {
        "bymonth": _ints(recur, "BYMONTH"),
        "bymonthday": _ints(recur, "BYMONTHDAY"),
        "byyearday": _ints(recur, "BYYEARDAY"),
        "byweekno": _ints(recur, "BYWEEKNO"),
        "byweekday": _weekdays(recur),
        "byhour": _ints(recur, "BYHOUR"),
        "byminute": _ints(recur, "BYMINUTE"),
        "bysecond": _ints(recur, "BYSECOND"),
        "bysetpos": _ints(recur, "BYSETPOS"),
    }
    explicit = any(v is not None for v in parts.values())
    _fill_defaults(parts, freq_name, anchor)
    # A margin for wall clocks that jump (DST, a zone changing its offset).
    margin = timedelta(hours=3) if freq_name in _STEP and freq_name != "DAILY" else _DAYS_MARGIN
    target = _wall(lowest - margin, anchor, zone)
    begin, skipped = _fast_forward(freq_name, interval, anchor, target, wkst)
    if skipped and count is not None:
        if explicit or freq_name in ("YEARLY", "MONTHLY"):
            # Periods then hold different numbers of occurrences: count them all.
            begin, skipped = anchor, 0
        elif count <= skipped:
            return
        else:
            count -= skipped
    if until is not None and begin > until:
        return
    rule = rrule.rrule(
        freq,
        dtstart=begin,
        interval=interval,
        wkst=wkst,
        count=count,
        until=until,
        cache=False,
        **parts,
    )
    what = (
        f"event {_uid(event)} repeats every {_EVERY[freq_name]}"
        f"{f' (every {interval})' if interval > 1 else ''} from {anchor.date().isoformat()}"
    )
    horizon = end + timedelta(days=2)
    for occurrence in rule:
        budget.spend(what)
        if _instant(occurrence, zone) >= horizon:
            return
        yield occurrence


def _fill_defaults(parts: dict[str, Any], freq: str, anchor: datetime) -> None:
    """The parts dateutil would take from DTSTART, made explicit so DTSTART can move."""
    from dateutil import rrule

    if all(parts[k] is None for k in ("byweekno", "byyearday", "bymonthday", "byweekday")):
        if freq == "YEARLY":
            if parts["bymonth"] is None:
                parts["bymonth"] = [anchor.month]
            parts["bymonthday"] = [anchor.day]
        elif freq == "MONTHLY":
            parts["bymonthday"] = [anchor.day]
        elif freq == "WEEKLY":
            parts["byweekday"] = [rrule.weekday(anchor.weekday())]
    order = _FREQS.index(freq)
    if parts["byhour"] is None and order < _FREQS.index("HOURLY"):
        parts["byhour"] = [anchor.hour]
    if parts["byminute"] is None and order < _FREQS.index("MINUTELY"):
        parts["byminute"] = [anchor.minute]
    if parts["bysecond"] is None and order < _FREQS.index("SECONDLY"):
        parts["bysecond"] = [anchor.second]


def _wall(instant: datetime, anchor: datetime, zone: ZoneInfo) -> datetime:
    """``instant`` as a reading of the series' own clock (its zone, else the calendar's)."""
    return instant.astimezone(anchor.tzinfo or zone).replace(tzinfo=None)


_DAYS_MARGIN = timedelta(days=2)

_STEP = {
    "DAILY": timedelta(days=1),
    "HOURLY": timedelta(hours=1),
    "MINUTELY": timedelta(minutes=1),
    "SECONDLY": timedelta(seconds=1),
}


def _fast_forward(
    freq: str, interval: int, anchor: datetime, target: datetime, wkst: int
) -> tuple[datetime, int]:
    """The start of the last period of the rule at or before ``target``, and how many
    periods that skips.

    Periods are counted on the series' wall clock, as dateutil steps them, and the new
    start is the first instant of its period, so every occurrence at or after it is
    the rule's own.
    """
    tz = anchor.tzinfo
    wall = anchor.replace(tzinfo=None)
    if target <= wall:
        return anchor, 0
    if freq == "YEARLY":
        k = (target.year - wall.year) // interval
        begin = datetime(wall.year + k * interval, 1, 1)
    elif freq == "MONTHLY":
        months = (target.year - wall.year) * 12 + target.month - wall.month
        k = months // interval
        m = wall.month - 1 + k * interval
        begin = datetime(wall.year + m // 12, m % 12 + 1, 1)
    elif freq == "WEEKLY":
        week = wall.date() - timedelta(days=(wall.weekday() - wkst) % 7)
        k = (target.date() - week).days // (7 * interval)
        day = week + timedelta(days=7 * interval * k)
        begin = datetime(day.year, day.month, day.day)
    else:
        step = _STEP[freq] * interval
        if freq == "DAILY":
            base = datetime(wall.year, wall.month, wall.day)
        elif freq == "HOURLY":
            base = wall.replace(minute=0, second=0, microsecond=0)
        elif freq == "MINUTELY":
            base = wall.replace(second=0, microsecond=0)
        else:
            base = wall.replace(microsecond=0)
        k = (target - base) // step
        begin = base + step * k
    if k <= 0:
        return anchor, 0
    return begin.replace(tzinfo=tz), k
