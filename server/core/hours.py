"""Weekly working hours on real dates: which UTC instants fall inside them, and overlap.

Hours are wall-clock intervals in a person's own zone. A week of real dates is split
at the zone's UTC-offset changes; inside each piece wall time is UTC plus a constant
offset, so an interval maps exactly to the instants whose local wall time lies in it.
That makes a DST change count the way a clock on the wall does: a shortened day has
one hour fewer, a lengthened day one hour more, and each zone changes on its own date.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.core.intervals import Interval as Interval
from server.core.intervals import intersect as intersect
from server.core.intervals import union as union

DAY = 86_400
HOUR = 3_600
# 1970-01-01 was a Thursday; Monday is weekday 0 as in ``date.weekday()``.
_EPOCH_WEEKDAY = 3
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True, order=True)
class WeeklyInterval:
    """``[start, end)`` minutes after local midnight on ``weekday`` (0 = Monday)."""

    weekday: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start < self.end <= 24 * 60:
            raise ValueError("start must be before end, both within the day")

    def to_wire(self) -> dict[str, object]:
        return {
            "weekday": self.weekday,
            "start": clock_text(self.start),
            "end": clock_text(self.end),
        }


def parse_clock(text: str) -> int:
    """Minutes after midnight of a wall time written "HH:MM" (00:00 to 24:00)."""
    hh, sep, mm = text.partition(":")
    if not sep or len(hh) != 2 or len(mm) != 2 or not (hh + mm).isdigit():
        raise ValueError(f"{text!r} is not a time like 09:30")
    minutes = int(hh) * 60 + int(mm)
    if int(mm) > 59 or minutes > 24 * 60:
        raise ValueError(f"{text!r} is not a time between 00:00 and 24:00")
    return minutes


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def normalize(intervals: Iterable[WeeklyInterval]) -> tuple[WeeklyInterval, ...]:
    """Sorted, with touching or overlapping intervals of the same day merged."""
    merged: list[WeeklyInterval] = []
    for iv in sorted(intervals):
        last = merged[-1] if merged else None
        if last is not None and last.weekday == iv.weekday and iv.start <= last.end:
            merged[-1] = WeeklyInterval(last.weekday, last.start, max(last.end, iv.end))
        else:
            merged.append(iv)
    return tuple(merged)


def week_start(now: datetime) -> datetime:
    """The start of the "coming week" used for overlap: now, on the whole minute."""
    return now.astimezone(UTC).replace(second=0, microsecond=0)


@functools.lru_cache(maxsize=4096)
def offset_segments(zone: str, start: int, end: int) -> tuple[tuple[int, int, int], ...]:
    """``(seg_start, seg_end, utc_offset_seconds)`` pieces covering ``[start, end)``.

    Offsets are probed hourly and each change is pinned to the second by bisection;
    real zones never change twice within an hour.
    """
    tz = ZoneInfo(zone)

    def offset(t: int) -> int:
        delta = datetime.fromtimestamp(t, tz).utcoffset()
        assert delta is not None
        return int(delta.total_seconds())

    segments: list[tuple[int, int, int]] = []
    seg_start, current = start, offset(start)
    probe = start
    while probe < end:
        nxt = min(probe + HOUR, end)
        if offset(nxt) != current:
            lo, hi = probe, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == current:
                    lo = mid
                else:
                    hi = mid
            if hi < end:
                segments.append((seg_start, hi, current))
                seg_start, current = hi, offset(hi)
        probe = nxt
    segments.append((seg_start, end, current))
    return tuple(segments)


def utc_intervals(
    zone: str, hours: Sequence[WeeklyInterval], start: int, end: int
) -> list[Interval]:
    """The instants in ``[start, end)`` whose wall time in ``zone`` is inside ``hours``."""
    return list(_utc_intervals(zone, tuple(hours), start, end))


@functools.lru_cache(maxsize=16384)
def _utc_intervals(
    zone: str, hours: tuple[WeeklyInterval, ...], start: int, end: int
) -> tuple[Interval, ...]:
    # Many people share a zone and the same hours, and discovery asks for one window.
    out: list[Interval] = []
    by_day: dict[int, list[WeeklyInterval]] = {}
    for iv in hours:
        by_day.setdefault(iv.weekday, []).append(iv)
    for seg_start, seg_end, off in offset_segments(zone, start, end):
        local_lo, local_hi = seg_start + off, seg_end + off
        for day in range(local_lo // DAY, (local_hi - 1) // DAY + 1):
            midnight = day * DAY
            for iv in by_day.get((day + _EPOCH_WEEKDAY) % 7, ()):
                lo = max(midnight + iv.start * 60, local_lo)
                hi = min(midnight + iv.end * 60, local_hi)
                if lo < hi:
                    out.append((lo - off, hi - off))
    return tuple(union(out))


def total_seconds(intervals: Iterable[Interval]) -> int:
    return sum(hi - lo for lo, hi in intervals)


def week_window(start: datetime, days: int = 7) -> tuple[int, int]:
    begin = int(start.timestamp())
    return begin, begin + days * DAY


def overlap_hours(
    zone_a: str,
    hours_a: Sequence[WeeklyInterval],
    zone_b: str,
    hours_b: Sequence[WeeklyInterval],
    start: datetime,
    days: int = 7,
) -> float:
    """Hours in ``[start, start + days)`` inside both people's working hours."""
    lo, hi = week_window(start, days)
    common = intersect(
        utc_intervals(zone_a, hours_a, lo, hi), utc_intervals(zone_b, hours_b, lo, hi)
    )
    return total_seconds(common) / HOUR


def to_datetimes(intervals: Iterable[Interval]) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC)) for lo, hi in intervals
    ]


@dataclass(frozen=True, slots=True)
class DayStrip:
    """One local day of the viewer: minutes after local midnight inside each person's hours."""

    day: date
    mine: list[tuple[int, int]]
    theirs: list[tuple[int, int]]
    both: list[tuple[int, int]]


def _wall_minutes(zone: ZoneInfo, t: int, day: date) -> int:
    local = datetime.fromtimestamp(t, zone)
    if local.date() > day:
        return 24 * 60
    return local.hour * 60 + local.minute


def _day_parts(zone: ZoneInfo, day: date, intervals: Sequence[Interval]) -> list[tuple[int, int]]:
    lo = int(datetime.combine(day, time(), zone).timestamp())
    hi = int(datetime.combine(day + timedelta(days=1), time(), zone).timestamp())
    out = []
    for a, b in intersect(intervals, [(lo, hi)]):
        first, last = _wall_minutes(zone, a, day), _wall_minutes(zone, b, day)
        out.append((min(first, last), max(first, last)))
    return out


def best_day_strip(
    viewer_zone: str,
    mine: tuple[str, Sequence[WeeklyInterval]],
    theirs: tuple[str, Sequence[WeeklyInterval]],
    now: datetime,
) -> DayStrip:
    """The viewer's local day among the next seven with the most shared hours (first wins)."""
    zone = ZoneInfo(viewer_zone)
    today = now.astimezone(zone).date()
    first = datetime.combine(today + timedelta(days=1), time(), zone)
    lo = int(first.timestamp())
    hi = int(datetime.combine(today + timedelta(days=8), time(), zone).timestamp())
    a = utc_intervals(mine[0], mine[1], lo, hi)
    b = utc_intervals(theirs[0], theirs[1], lo, hi)
    both = intersect(a, b)
    best: DayStrip | None = None
    best_len = -1
    for offset in range(1, 8):
        day = today + timedelta(days=offset)
        shared = _day_parts(zone, day, both)
        length = sum(e - s for s, e in shared)
        if length > best_len:
            best_len = length
            best = DayStrip(day, _day_parts(zone, day, a), _day_parts(zone, day, b), shared)
    assert best is not None
    return best
