"""Quiet hours: when a notification may reach a person, given their working hours.

A notice is delivered at once inside the recipient's weekly working hours (wall-clock
times in their own zone, on real dates, so DST moves them with the clock on the wall);
outside them it waits for the next start of those hours. Someone who has set no
working hours is reachable at any time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from server.core.hours import DAY, WeeklyInterval, parse_clock, utc_intervals

LOOKAHEAD_DAYS = 8


def weekly_hours(raw: Iterable[Mapping[str, Any]]) -> list[WeeklyInterval]:
    """Profile ``working_hours`` rows (``{"weekday", "start", "end"}``); bad rows are skipped."""
    hours = []
    for row in raw:
        try:
            hours.append(
                WeeklyInterval(
                    int(row["weekday"]),
                    parse_clock(str(row["start"])),
                    parse_clock(str(row["end"])),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return hours


def next_delivery(now: datetime, zone: str, hours: list[WeeklyInterval]) -> datetime:
    """``now`` if it is inside working hours, else the next moment they begin."""
    if not hours:
        return now
    start = int(now.timestamp())
    for lo, hi in utc_intervals(zone, hours, start, start + LOOKAHEAD_DAYS * DAY):
        if hi > start:
            return now if lo <= start else datetime.fromtimestamp(lo, UTC)
    return now
