"""Recurring series anchored in the host's wall clock, and the shifts the guest will see.

A series repeats the first session's *local* date and time in the host's zone: 18:00
in Berlin stays 18:00 in Berlin whatever DST does. An occurrence whose wall time does
not exist that day (a spring-forward gap) or whose date does not exist (31 February)
is skipped and reported, not moved; an ambiguous wall time (fall-back) is its first
occurrence. ``count`` counts the periods stepped, skipped ones included, so a series
never grows past what was asked for.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from server.scheduling.zones import DAY, ZoneTable, day_date, local_day

MAX_OCCURRENCES = 200
"""The longest series accepted: about four years of weekly sessions."""

Frequency = Literal["weekly", "monthly"]


class RecurrenceError(ValueError):
    """A recurrence rule that cannot be expanded; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Rule:
    frequency: Frequency
    interval: int = 1
    count: int | None = None
    until: date | None = None
    """The last local date (in the host's zone) an occurrence may fall on."""


@dataclass(frozen=True, slots=True)
class Occurrence:
    index: int
    """Periods since the first occurrence (0 for the first)."""
    local_date: date
    """The local date; for a date that does not exist, the 1st of the month lacking it."""
    start: int | None
    """UTC minute, or None when skipped."""
    skipped: str | None = None

    @property
    def when(self) -> str:
        """The date as people are told it: ``2027-03-28``, or for "31 February" the month
        that has no such day, ``2027-02``."""
        if self.skipped == "no-date":
            return self.local_date.strftime("%Y-%m")
        return self.local_date.isoformat()


@dataclass(frozen=True, slots=True)
class Shift:
    """The guest's wall time of occurrence ``index`` differs from the previous one's."""

    index: int
    start: int
    previous_local: str
    local: str
    minutes: int
    cause: Literal["host", "guest", "both"]


def _period_dates(rule: Rule, first: date) -> list[tuple[int, date | None]]:
    """Candidate local dates per period; None where the date does not exist."""
    if rule.interval < 1 or rule.interval > 12:
        raise RecurrenceError("recurrence.interval", "interval must be between 1 and 12")
    if (rule.count is None) == (rule.until is None):
        raise RecurrenceError("recurrence", "give either count or until, not both or neither")
    if rule.count is not None and not 1 <= rule.count <= MAX_OCCURRENCES:
        raise RecurrenceError(
            "recurrence.count", f"a series has between 1 and {MAX_OCCURRENCES} occurrences"
        )
    if rule.until is not None and rule.until < first:
        raise RecurrenceError("recurrence.until", "until is before the first session")
    out: list[tuple[int, date | None]] = []
    index = 0
    while True:
        if rule.count is not None and index >= rule.count:
            break
        day: date | None
        if rule.frequency == "weekly":
            day = day_date(local_day(first) + 7 * rule.interval * index)
        else:
            months = first.month - 1 + rule.interval * index
            year, month = first.year + months // 12, months % 12 + 1
            exists = first.day <= calendar.monthrange(year, month)[1]
            day = date(year, month, first.day) if exists else None
            if day is None and rule.until is not None and date(year, month, 1) > rule.until:
                break
        if rule.until is not None and day is not None and day > rule.until:
            break
        if index >= MAX_OCCURRENCES:
            raise RecurrenceError(
                "recurrence.until",
                f"this series would have more than {MAX_OCCURRENCES} occurrences; "
                "choose an earlier end",
            )
        out.append((index, day))
        index += 1
    return out


def expand(rule: Rule, first_start: int, host_timezone: str) -> list[Occurrence]:
    """Every occurrence of the series whose first session starts at ``first_start``."""
    table0 = ZoneTable.build(host_timezone, first_start - DAY, first_start + DAY)
    local_first = table0.local(first_start)
    first_date = day_date(local_first // DAY)
    minute_of_day = local_first % DAY
    periods = _period_dates(rule, first_date)
    last = max((d for _, d in periods if d is not None), default=first_date)
    table = ZoneTable.build(host_timezone, first_start - DAY, (local_day(last) + 2) * DAY)
    out: list[Occurrence] = []
    for index, day in periods:
        if day is None:
            out.append(Occurrence(index, _month_anchor(first_date, rule, index), None, "no-date"))
            continue
        start = table.first_instant(local_day(day) * DAY + minute_of_day)
        if start is None:
            out.append(Occurrence(index, day, None, "nonexistent-time"))
        else:
            out.append(Occurrence(index, day, start))
    return out


def _month_anchor(first: date, rule: Rule, index: int) -> date:
    months = first.month - 1 + rule.interval * index
    return date(first.year + months // 12, months % 12 + 1, 1)


def _clock(local: int) -> str:
    minute = local % DAY
    return f"{minute // 60:02d}:{minute % 60:02d}"


def guest_shifts(
    starts: Sequence[tuple[int, int]], host_timezone: str, guest_timezone: str
) -> list[Shift]:
    """Where the guest's wall time moves between consecutive ``(index, start)`` pairs."""
    if len(starts) < 2:
        return []
    lo, hi = starts[0][1] - DAY, starts[-1][1] + DAY
    host = ZoneTable.build(host_timezone, lo, hi)
    guest = ZoneTable.build(guest_timezone, lo, hi)
    out: list[Shift] = []
    for (_, prev), (index, cur) in itertools.pairwise(starts):
        before, after = guest.local(prev) % DAY, guest.local(cur) % DAY
        if before == after:
            continue
        moved = after - before
        if moved > DAY // 2:
            moved -= DAY
        elif moved < -DAY // 2:
            moved += DAY
        host_moved = host.offset_at(prev) != host.offset_at(cur)
        guest_moved = guest.offset_at(prev) != guest.offset_at(cur)
        cause: Literal["host", "guest", "both"] = (
            "both" if host_moved and guest_moved else "host" if host_moved else "guest"
        )
        out.append(
            Shift(index, cur, _clock(guest.local(prev)), _clock(guest.local(cur)), moved, cause)
        )
    return out
