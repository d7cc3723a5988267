"""Time as whole minutes, and a zone's UTC offsets over a stretch of time.

The slot engine and recurrence count in whole minutes since the POSIX epoch in UTC
("instants") or in a zone's wall clock ("local minutes"); this module converts between
those, dates and text, and finds where a zone's offset changes without asking
``zoneinfo`` minute by minute.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from server.core.intervals import Interval

DAY = 1440
WEEK = 7 * DAY
# 1970-01-01 was a Thursday; with Monday = 0 its weekday is 3.
EPOCH_WEEKDAY = 3
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def to_minute(instant: datetime) -> int:
    """An aware instant as whole minutes since the epoch (seconds are dropped)."""
    return int(instant.timestamp()) // 60


def from_minute(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def local_day(day: date) -> int:
    """A calendar date as days since 1970-01-01."""
    return day.toordinal() - EPOCH_ORDINAL


def day_date(day: int) -> date:
    return date.fromordinal(day + EPOCH_ORDINAL)


def weekday_of(day: int) -> int:
    return (day + EPOCH_WEEKDAY) % 7


def week_of(day: int) -> int:
    """A number shared by the days of one Monday-to-Sunday week."""
    return (day + EPOCH_WEEKDAY) // 7


# --- zones ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _offset(zone: ZoneInfo, minute: int) -> int:
    delta = datetime.fromtimestamp(minute * 60, zone).utcoffset()
    assert delta is not None
    return int(delta.total_seconds()) // 60


@functools.lru_cache(maxsize=4096)
def _month_segments(name: str, month: int) -> tuple[tuple[int, int, int], ...]:
    """Offset pieces ``(start, end, offset)`` of one 32-day block (block ``month``).

    The block is probed every three hours and each change pinned to the minute by
    bisection; real zones never change twice within three hours. Cached, so a zone
    costs this once per block for the life of the process.
    """
    zone = _zone(name)
    start, end = month * 32 * DAY, (month + 1) * 32 * DAY
    segments: list[tuple[int, int, int]] = []
    seg_start, current = start, _offset(zone, start)
    probe = start
    while probe < end:
        nxt = min(probe + 180, end)
        if _offset(zone, nxt) != current:
            lo, hi = probe, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(zone, mid) == current:
                    lo = mid
                else:
                    hi = mid
            segments.append((seg_start, hi, current))
            seg_start, current = hi, _offset(zone, hi)
        probe = nxt
    segments.append((seg_start, end, current))
    return tuple(segments)


@dataclass(frozen=True, slots=True)
class ZoneTable:
    """A zone's UTC offsets over a stretch of time, as maximal constant pieces."""

    name: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    offsets: tuple[int, ...]

    @classmethod
    def build(cls, name: str, start: int, end: int) -> ZoneTable:
        pieces: list[tuple[int, int, int]] = []
        for block in range(start // (32 * DAY), (end - 1) // (32 * DAY) + 1):
            for seg in _month_segments(name, block):
                if pieces and pieces[-1][2] == seg[2] and pieces[-1][1] == seg[0]:
                    pieces[-1] = (pieces[-1][0], seg[1], seg[2])
                else:
                    pieces.append(seg)
        return cls(
            name,
            tuple(p[0] for p in pieces),
            tuple(p[1] for p in pieces),
            tuple(p[2] for p in pieces),
        )

    def offset_at(self, instant: int) -> int:
        i = bisect.bisect_right(self.starts, instant) - 1
        return self.offsets[max(i, 0)]

    def local(self, instant: int) -> int:
        return instant + self.offset_at(instant)

    def to_instants(self, lo: int, hi: int) -> list[Interval]:
        """The instants whose wall-clock reading lies in local ``[lo, hi)``."""
        out: list[Interval] = []
        for i, off in enumerate(self.offsets):
            a = max(lo, self.starts[i] + off)
            b = min(hi, self.ends[i] + off)
            if a < b:
                out.append((a - off, b - off))
        return out

    def first_instant(self, local: int) -> int | None:
        """The first instant reading ``local``, or None if that wall time is skipped."""
        for i, off in enumerate(self.offsets):
            if self.starts[i] + off <= local < self.ends[i] + off:
                return local - off
        return None


def local_iso(instant: int, offset: int) -> str:
    """RFC 3339 wall-clock text with its offset, e.g. ``2027-03-29T18:00:00+02:00``."""
    local = instant + offset
    day, minute = divmod(local, DAY)
    sign = "+" if offset >= 0 else "-"
    oh, om = divmod(abs(offset), 60)
    return f"{_date_text(day)}T{minute // 60:02d}:{minute % 60:02d}:00{sign}{oh:02d}:{om:02d}"


@functools.lru_cache(maxsize=8192)
def _date_text(day: int) -> str:
    return day_date(day).isoformat()


def utc_iso(instant: int) -> str:
    day, minute = divmod(instant, DAY)
    return f"{_date_text(day)}T{minute // 60:02d}:{minute % 60:02d}:00Z"
