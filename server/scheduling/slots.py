"""Bookable slots: a host's hours minus everything that is already taken.

Everything is whole minutes since the POSIX epoch in UTC ("instants") or in a zone's
wall clock ("local minutes"), held in sorted lists of half-open intervals, so 90 days
with hundreds of bookings are a few thousand integer comparisons, never a loop over
minutes (the minutes and the zones' offsets are ``zones.py``'s).

The rules, exactly (tests/scheduling/test_slots.py checks them against a brute-force
minute-by-minute reference):

* A minute is *working* when its wall-clock reading in the host's zone lies inside a
  window of that local date: the date override if there is one (an empty override is a
  day off), else the weekly hours of that weekday. On a fall-back night a repeated
  wall time is working both times it happens; a skipped one never happens.
* A slot starts on the host's local grid (minute of the day divisible by ``step``),
  at a wall time that exists (a spring-forward gap gives no slot) and at its first
  occurrence (a fall-back repeat gives no second slot).
* Every minute of ``[start, start + duration)`` is working.
* The slot padded by the host's buffers ``[start - before, end + after)`` overlaps no
  booking of either participant padded the same way, and no interval that is taken
  already (stored sessions carry their own buffers; imported calendar time has none).
* ``start`` is in the query range, at least ``notice`` after now and before
  ``now + horizon``.
* The host has fewer than ``max_per_day`` sessions on the slot's local date and fewer
  than ``max_per_week`` in its ISO week (Monday to Sunday, host's zone).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from server.core.intervals import Interval as Interval
from server.core.intervals import subtract as subtract
from server.core.intervals import union as union

# The engine's time vocabulary lives in zones.py; callers of the engine need one import.
from server.scheduling.zones import DAY as DAY
from server.scheduling.zones import ZoneTable as ZoneTable
from server.scheduling.zones import day_date as day_date
from server.scheduling.zones import from_minute as from_minute
from server.scheduling.zones import local_day as local_day
from server.scheduling.zones import local_iso as local_iso
from server.scheduling.zones import to_minute as to_minute
from server.scheduling.zones import utc_iso as utc_iso
from server.scheduling.zones import week_of, weekday_of

STEPS = (5, 10, 15, 20, 30, 45, 60, 90, 120)

"""``[start, end)`` in whole minutes."""
Window = tuple[int, int]
"""``[start, end)`` minutes after local midnight, ``0 <= start < end <= 1440``."""
Comfort = Literal["inside", "early", "late"]


# --- rules ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rules:
    """A host's availability, all in the host's own zone."""

    timezone: str
    weekly: tuple[tuple[Window, ...], ...]
    """Seven entries, Monday first; each a sorted tuple of disjoint windows."""
    overrides: Mapping[date, tuple[Window, ...]] = field(default_factory=dict)
    """Replaces the weekly hours on that date; an empty tuple is a day off."""
    buffer_before: int = 0
    buffer_after: int = 0
    notice: int = 0
    horizon_days: int = 60
    step: int = 30
    max_per_day: int | None = None
    max_per_week: int | None = None

    def windows_on(self, day: int) -> tuple[Window, ...]:
        found = self.overrides.get(day_date(day))
        if found is not None:
            return found
        return self.weekly[weekday_of(day)]


@dataclass(frozen=True, slots=True)
class Person:
    """Whose comfort a slot is judged by: a zone and weekly working hours there."""

    timezone: str
    weekly: tuple[tuple[Window, ...], ...]


@dataclass(frozen=True, slots=True)
class Busy:
    """What is already taken.

    ``bookings`` are sessions of either participant given bare, padded here by the
    host's buffers like a new slot; ``taken`` are intervals a new session and its
    buffers must not touch as they are: stored sessions already padded by their own
    buffers, and busy time imported from outside calendars (the calendars feature
    fills these through ``server.scheduling.busy.BusySource``); ``host_sessions``
    are the host's own sessions, counted against the daily and weekly limits.
    """

    bookings: Sequence[Interval] = ()
    host_sessions: Sequence[Interval] = ()
    taken: Sequence[Interval] = ()


@dataclass(frozen=True, slots=True)
class Slot:
    start: int
    end: int
    host_offset: int
    viewer_offset: int
    host_comfort: Comfort
    viewer_comfort: Comfort


# --- interval algebra -------------------------------------------------------------------


def clip(intervals: Sequence[Interval], lo: int, hi: int) -> list[Interval]:
    out = []
    for a, b in intervals:
        a, b = max(a, lo), min(b, hi)
        if a < b:
            out.append((a, b))
    return out


def working_instants(
    table: ZoneTable,
    windows_on: Mapping[int, tuple[Window, ...]] | None,
    weekly: tuple[tuple[Window, ...], ...],
    lo: int,
    hi: int,
) -> list[Interval]:
    """Instants in ``[lo, hi)`` whose local reading is inside that local date's windows."""
    out: list[Interval] = []
    first_day = (lo + min(table.offsets)) // DAY
    last_day = (hi + max(table.offsets)) // DAY
    for day in range(first_day, last_day + 1):
        windows = windows_on.get(day) if windows_on is not None else None
        if windows is None:
            windows = weekly[weekday_of(day)]
        base = day * DAY
        for a, b in windows:
            out.extend(table.to_instants(base + a, base + b))
    return clip(union(out), lo, hi)


# --- the engine -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    start: int
    """Slots start at or after this instant..."""
    end: int
    """...and before this one."""
    duration: int
    now: int
    viewer: Person
    host: Person | None = None
    """The host's comfort hours; the availability's weekly hours when None."""
    display_timezone: str | None = None
    """The zone ``viewer_offset`` is given in; the viewer's own when None. Comfort is
    always judged in the viewer's own zone."""


def horizon_end(rules: Rules, now: int) -> int:
    return now + rules.horizon_days * DAY


def free_slots(rules: Rules, busy: Busy, query: Query) -> list[Slot]:
    """Every bookable slot for ``query``, in time order."""
    duration = query.duration
    lo = max(query.start, query.now + rules.notice)
    hi = min(query.end, horizon_end(rules, query.now))
    if lo >= hi or duration <= 0:
        return []
    span_lo, span_hi = lo - 9 * DAY, hi + duration + 9 * DAY
    host_zone = ZoneTable.build(rules.timezone, span_lo, span_hi)

    overrides = {local_day(d): w for d, w in rules.overrides.items()}
    free = working_instants(host_zone, overrides, rules.weekly, lo, hi + duration)
    if not free:
        return []

    pad = rules.buffer_before + rules.buffer_after
    blocked = union(
        [(a - pad, b + pad) for a, b in busy.bookings if b + pad > lo and a - pad < hi + duration]
        + [
            (a - rules.buffer_after, b + rules.buffer_before)
            for a, b in busy.taken
            if b + rules.buffer_before > lo and a - rules.buffer_after < hi + duration
        ]
    )
    free = subtract(free, blocked)

    per_day: dict[int, int] = {}
    per_week: dict[int, int] = {}
    if rules.max_per_day is not None or rules.max_per_week is not None:
        for a, _b in busy.host_sessions:
            if span_lo <= a < span_hi:
                d = host_zone.local(a) // DAY
                per_day[d] = per_day.get(d, 0) + 1
                per_week[week_of(d)] = per_week.get(week_of(d), 0) + 1
    full_day = rules.max_per_day
    full_week = rules.max_per_week

    step = rules.step
    starts_ = host_zone.starts
    ends_ = host_zone.ends
    offs = host_zone.offsets
    candidates: list[tuple[int, int]] = []  # (instant, host offset)
    for fa, fb in free:
        last_start = min(fb - duration, hi - 1)
        if last_start < fa:
            continue
        i = max(bisect.bisect_right(starts_, fa) - 1, 0)
        while i < len(offs) and starts_[i] <= last_start:
            off = offs[i]
            a = max(fa, starts_[i])
            b = min(last_start + 1, ends_[i])
            if a < b:
                local = -(-(a + off) // step) * step
                # A fall-back repeat: the previous piece already read these wall times.
                repeat_until = starts_[i] + offs[i - 1] if i > 0 and offs[i - 1] > off else None
                while local - off < b:
                    if repeat_until is None or local >= repeat_until:
                        day = local // DAY
                        if not (
                            (full_day is not None and per_day.get(day, 0) >= full_day)
                            or (
                                full_week is not None and per_week.get(week_of(day), 0) >= full_week
                            )
                        ):
                            candidates.append((local - off, off))
                    local += step
            i += 1
    if not candidates:
        return []

    first, final = candidates[0][0], candidates[-1][0] + duration
    viewer_zone = ZoneTable.build(query.viewer.timezone, first - 2 * DAY, final + 2 * DAY)
    viewer_hours = working_instants(
        viewer_zone, None, query.viewer.weekly, first - DAY, final + DAY
    )
    shown = viewer_zone
    if query.display_timezone and query.display_timezone != query.viewer.timezone:
        shown = ZoneTable.build(query.display_timezone, first - DAY, final + DAY)
    host_person = query.host or Person(rules.timezone, rules.weekly)
    host_hours = working_instants(host_zone, None, host_person.weekly, first - DAY, final + DAY)
    viewer_judge = _Judge(viewer_zone, query.viewer.weekly, viewer_hours)
    host_judge = _Judge(host_zone, host_person.weekly, host_hours)
    out: list[Slot] = []
    for start, host_off in candidates:
        end = start + duration
        out.append(
            Slot(
                start,
                end,
                host_off,
                shown.offset_at(start),
                host_judge.comfort(start, end),
                viewer_judge.comfort(start, end),
            )
        )
    return out


class _Judge:
    """Inside a person's working hours, or early or late compared with them.

    Outside them, a time is judged on the clock face against that weekday's working
    day (from its first start to its last end; a day off takes the widest working day
    of the week): "late" when the end was fewer hours ago than the start is away, else
    "early". So 23:45 and 00:15 are late for a 09:00-17:00 day and 05:00 is early,
    whichever day of the week it is.
    """

    def __init__(
        self, table: ZoneTable, weekly: tuple[tuple[Window, ...], ...], hours: list[Interval]
    ) -> None:
        self.table = table
        self.hours = hours
        self.starts = [a for a, _ in hours]
        spans = [(days[0][0], days[-1][1]) for days in weekly if days]
        widest = (
            (min(a for a, _ in spans), max(b for _, b in spans)) if spans else (9 * 60, 17 * 60)
        )
        self.edges = [(days[0][0], days[-1][1]) if days else widest for days in weekly]

    def comfort(self, start: int, end: int) -> Comfort:
        i = bisect.bisect_right(self.starts, start) - 1
        if i >= 0 and end <= self.hours[i][1]:
            return "inside"
        local = self.table.local((start + end) // 2)
        day = local // DAY
        t = local - day * DAY
        first, last = self.edges[weekday_of(day)]
        if first <= t < last:  # partly inside, or in a break: the nearer edge
            return "early" if t - first < last - t else "late"
        since_end, until_start = (t - last) % DAY, (first - t) % DAY
        return "early" if until_start < since_end else "late"


def comfort_of(person: Person, start: int, end: int) -> Comfort:
    """One interval judged against a person's hours (for bookings, not slot lists)."""
    table = ZoneTable.build(person.timezone, start - 2 * DAY, end + 2 * DAY)
    hours = working_instants(table, None, person.weekly, start - DAY, end + DAY)
    return _Judge(table, person.weekly, hours).comfort(start, end)


def is_bookable(rules: Rules, busy: Busy, start: int, duration: int, now: int) -> bool:
    """Whether one slot (already on the grid) is free under ``rules``."""
    viewer = Person(rules.timezone, rules.weekly)
    found = free_slots(rules, busy, Query(start, start + 1, duration, now, viewer))
    return bool(found) and found[0].start == start


def nearest(slots: Sequence[Slot], around: int, count: int = 3) -> list[Slot]:
    """The ``count`` slots whose start is closest to ``around``, in time order."""
    ranked = sorted(slots, key=lambda s: (abs(s.start - around), s.start))[:count]
    return sorted(ranked, key=lambda s: s.start)


def minutes(td: timedelta) -> int:
    return int(td.total_seconds()) // 60
