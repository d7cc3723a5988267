"""VTIMEZONE blocks in RRULE form, derived from the zoneinfo database.

Outlook mis-shifts events whose zone is written as a list of RDATEs, so each zone is
described the way Outlook itself writes it: one STANDARD and one DAYLIGHT observance,
each with a yearly RRULE (``BYMONTH=3;BYDAY=-1SU``). The rule is read off the real
transitions of a reference year and checked against the following years; a zone whose
changes follow no weekday rule (some move with a lunar calendar) gets one dated
observance per transition over the years the calendar needs instead. A zone without
daylight saving time gets a single STANDARD observance.

Pure: no I/O. Results are cached per zone and year, so each block is built once.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
CHECK_YEARS = 5
EARLIEST_YEAR = 1970


@dataclass(frozen=True, slots=True)
class Transition:
    """An instant when the zone's UTC offset changes."""

    at: datetime  # UTC
    offset_from: timedelta
    offset_to: timedelta
    name: str

    @property
    def local(self) -> datetime:
        """Wall-clock time of the change, read in the offset that was in force before it."""
        return (self.at + self.offset_from).replace(tzinfo=None)


def transitions(zone: ZoneInfo, year: int) -> list[Transition]:
    """Every offset change of ``zone`` during ``year`` (UTC), found to the second."""
    return list(_transitions(zone.key, year))


@functools.lru_cache(maxsize=4096)
def _transitions(name: str, year: int) -> tuple[Transition, ...]:
    zone = ZoneInfo(name)
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    found: list[Transition] = []
    probe = start
    before = _offset(zone, probe)
    while probe < end:
        step = min(probe + DAY, end)
        after = _offset(zone, step)
        if after != before:
            at = _bisect(zone, probe, step, before)
            name = at.astimezone(zone).tzname() or ""
            found.append(Transition(at, before, after, name))
            before = after
        probe = step
    return tuple(found)


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _bisect(zone: ZoneInfo, low: datetime, high: datetime, before: timedelta) -> datetime:
    """The first second in (low, high] whose offset differs from ``before``."""
    lo, hi = low, high
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(seconds=1)
        if _offset(zone, mid) == before:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True, slots=True)
class Rule:
    """A yearly rule at a wall-clock time: the nth (or last) weekday of a month, or the
    first weekday on or after a day of the month ("Sun>=2", as Chile and Israel use)."""

    month: int
    weekday: int  # 0 = Monday
    nth: int  # 1..4, -1 for the last one of the month, 0 when ``on_or_after`` is used
    hour: int
    minute: int
    second: int
    on_or_after: int = 0

    def date_in(self, year: int) -> datetime:
        days = calendar.monthrange(year, self.month)[1]
        matching = [
            d for d in range(1, days + 1) if calendar.weekday(year, self.month, d) == self.weekday
        ]
        if self.on_or_after:
            day = next(d for d in matching if d >= self.on_or_after)
        else:
            day = matching[-1] if self.nth == -1 else matching[self.nth - 1]
        return datetime(year, self.month, day, self.hour, self.minute, self.second)

    def rrule(self) -> str:
        head = f"FREQ=YEARLY;BYMONTH={self.month};BYDAY="
        if self.on_or_after:
            days = ",".join(str(d) for d in range(self.on_or_after, self.on_or_after + 7))
            return f"{head}{WEEKDAYS[self.weekday]};BYMONTHDAY={days}"
        return f"{head}{self.nth}{WEEKDAYS[self.weekday]}"


def _candidates(t: Transition) -> list[Rule]:
    local = t.local
    days = calendar.monthrange(local.year, local.month)[1]
    weekday = local.weekday()
    nths = []
    if local.day + 7 > days:
        nths.append(-1)
    if local.day <= 28:
        nths.append((local.day - 1) // 7 + 1)
    rules = [Rule(local.month, weekday, n, local.hour, local.minute, local.second) for n in nths]
    # "Weekday on or after day d" for every d that puts this year's date in the window.
    for first in range(max(1, local.day - 6), min(local.day, days - 6) + 1):
        rules.append(Rule(local.month, weekday, 0, local.hour, local.minute, local.second, first))
    return rules


@dataclass(frozen=True, slots=True)
class Observance:
    kind: str  # STANDARD or DAYLIGHT
    start: datetime  # naive local wall time, in offset_from
    offset_from: timedelta
    offset_to: timedelta
    name: str
    rule: Rule | None


def _kind(t: Transition, offsets: list[timedelta]) -> str:
    """DAYLIGHT is the larger of the zone's offsets (so Dublin's inverted flags read right)."""
    return "DAYLIGHT" if t.offset_to == max(offsets) and len(set(offsets)) > 1 else "STANDARD"


def observances(name: str, year: int) -> tuple[Observance, ...]:
    """Observances describing ``name`` for events around ``year`` and after it."""
    zone = ZoneInfo(name)
    current = transitions(zone, year)
    if not current:
        # No change this year: a fixed offset since the last change (or ever).
        last = _last_transition_before(zone, year)
        instant = datetime(year, 7, 1, tzinfo=UTC)
        offset = _offset(zone, instant)
        start = last.local if last else datetime(EARLIEST_YEAR, 1, 1)
        tzname = instant.astimezone(zone).tzname() or ""
        return (Observance("STANDARD", start, offset, offset, tzname, None),)
    offsets = [t.offset_to for t in current] + [current[0].offset_from]
    ruled = _ruled(zone, year, current, offsets)
    if ruled is not None:
        return ruled
    return _dated(zone, year, offsets)


def _ruled(
    zone: ZoneInfo, year: int, current: list[Transition], offsets: list[timedelta]
) -> tuple[Observance, ...] | None:
    """One RRULE observance per transition of ``year``, if a weekday rule explains them."""
    if len(current) != 2:
        return None
    result = []
    for index, t in enumerate(current):
        rule = None
        for candidate in _candidates(t):
            if all(_matches(zone, candidate, y, index, t) for y in range(year, year + CHECK_YEARS)):
                rule = candidate
                break
        if rule is None:
            return None
        first = year
        while first - 1 >= EARLIEST_YEAR and _matches(zone, rule, first - 1, index, t):
            first -= 1
        result.append(
            Observance(
                _kind(t, offsets), rule.date_in(first), t.offset_from, t.offset_to, t.name, rule
            )
        )
    return tuple(sorted(result, key=lambda o: o.kind, reverse=True))


def _matches(zone: ZoneInfo, rule: Rule, year: int, index: int, model: Transition) -> bool:
    found = transitions(zone, year)
    if len(found) != 2:
        return False
    t = found[index]
    return (
        t.offset_from == model.offset_from
        and t.offset_to == model.offset_to
        and t.local == rule.date_in(year)
    )


def _dated(zone: ZoneInfo, year: int, offsets: list[timedelta]) -> tuple[Observance, ...]:
    """One dated observance per transition from the year before ``year`` on."""
    result = []
    for y in range(year - 1, year + CHECK_YEARS * 2):
        for t in transitions(zone, y):
            result.append(
                Observance(_kind(t, offsets), t.local, t.offset_from, t.offset_to, t.name, None)
            )
    return tuple(result)


def _last_transition_before(zone: ZoneInfo, year: int) -> Transition | None:
    for y in range(year - 1, EARLIEST_YEAR - 1, -1):
        found = transitions(zone, y)
        if found:
            return found[-1]
    return None


def _offset_text(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}{minutes:02d}"
    return text + (f"{seconds:02d}" if seconds else "")


@functools.lru_cache(maxsize=512)
def vtimezone_lines(name: str, year: int) -> tuple[str, ...]:
    """The VTIMEZONE block for ``name`` as unfolded content lines (cached)."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}", f"X-LIC-LOCATION:{name}"]
    for o in observances(name, year):
        lines.append(f"BEGIN:{o.kind}")
        lines.append(f"DTSTART:{o.start:%Y%m%dT%H%M%S}")
        if o.rule is not None:
            lines.append(f"RRULE:{o.rule.rrule()}")
        lines.append(f"TZOFFSETFROM:{_offset_text(o.offset_from)}")
        lines.append(f"TZOFFSETTO:{_offset_text(o.offset_to)}")
        if o.name:
            lines.append(f"TZNAME:{o.name}")
        lines.append(f"END:{o.kind}")
    lines.append("END:VTIMEZONE")
    return tuple(lines)
