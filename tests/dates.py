"""The "now" tests stand on, and the dates they compute from it.

No test reads the machine's date. The server's clock (the `clock` fixture) and every
browser's clock (`open_page`) stand at the `now` fixture: `DEFAULT_NOW` (or the instant
given with `pytest --now 2031-06-01T12:00:00Z`), or, for tests
marked `@pytest.mark.anyday`, each instant of `anyday_nows(year)` in turn. That set is
computed for any year from the rules of the zones (not listed by hand): the days before
and after the EU and US daylight-saving changes, a year's last evening (already the
next year in Tokyo), a leap day, and the default.

A test whose literal dates are its point (a series across the spring 2027 changes)
stands on its own now with `@stands_on(instant)`, before those dates.

A test says "next Monday 10:00 in Berlin" as `upcoming(now, MONDAY, "10:00", BERLIN)`
and writes what the API answers with `iso()` and `local_iso()`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.core.wire import utc_text

DEFAULT_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday, on winter time

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
TOKYO = "Asia/Tokyo"
NOON = time(12, 0)


# --- reading and writing instants ---------------------------------------------------------


def iso(instant: datetime) -> str:
    """An instant as the API writes it: "2026-11-30T09:00:00Z"."""
    return utc_text(instant)


def local_iso(instant: datetime, zone: str) -> str:
    """The wall time of an instant in a zone, with its offset: "2026-11-30T10:00:00+01:00"."""
    return instant.astimezone(ZoneInfo(zone)).isoformat()


def wall(instant: datetime, zone: str, fmt: str = "%H:%M") -> str:
    """The wall clock of an instant in a zone ("10:00" by default)."""
    return instant.astimezone(ZoneInfo(zone)).strftime(fmt)


def at(day: date, clock: str, zone: str) -> datetime:
    """The instant of a wall time on a day in a zone, in UTC."""
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hours, minutes), ZoneInfo(zone)).astimezone(UTC)


def today(now: datetime, zone: str) -> date:
    """The date it is in a zone at `now`."""
    return now.astimezone(ZoneInfo(zone)).date()


def upcoming(now: datetime, weekday: int, clock: str, zone: str, *, weeks: int = 0) -> datetime:
    """The next `weekday` after today in `zone` (tomorrow at the earliest) at `clock`.

    `weeks` later ones are the same weekday that many weeks after it, at the same wall
    time, whatever daylight saving does in between.
    """
    day = today(now, zone) + timedelta(days=1)
    day += timedelta(days=(weekday - day.weekday()) % 7, weeks=weeks)
    return at(day, clock, zone)


def next_monday(now: datetime, zone: str, *, weeks: int = 0) -> date:
    """The date of the next Monday after today in `zone` (or `weeks` after it)."""
    return upcoming(now, MONDAY, "12:00", zone, weeks=weeks).astimezone(ZoneInfo(zone)).date()


def berlin(now: datetime, clock: str, *, week: int = 0, day: int = 0) -> datetime:
    """`clock` in Berlin on the `day`-th day (0 = Monday) of the `week`-th week to come.

    Week 0 begins with the next Monday after today in Berlin, so its days are all ahead.
    """
    return at(next_monday(now, BERLIN, weeks=week) + timedelta(days=day), clock, BERLIN)


def utc_day(instant: datetime) -> tuple[str, str]:
    """The UTC day holding `instant`, as the (start, end) a slot query takes."""
    start = datetime.combine(instant.astimezone(UTC).date(), time(0), UTC)
    return iso(start), iso(start + timedelta(days=1))


def day_title(instant: datetime, zone: str) -> str:
    """A date as the pages write it in British English: "Monday 30 November"."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%A} {local.day} {local:%B}"


# --- the chosen days ------------------------------------------------------------------------


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` of a month; n = -1 is the last one."""
    days = [
        d
        for d in calendar.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == weekday
    ]
    return days[n if n < 0 else n - 1]


def eu_changes(year: int) -> tuple[date, date]:
    """The EU's spring-forward and fall-back Sundays: the last of March and of October."""
    return nth_weekday(year, 3, SUNDAY, -1), nth_weekday(year, 10, SUNDAY, -1)


def us_changes(year: int) -> tuple[date, date]:
    """The US's: the second Sunday of March and the first of November."""
    return nth_weekday(year, 3, SUNDAY, 2), nth_weekday(year, 11, SUNDAY, 1)


def leap_day(year: int) -> date:
    """Feb 29 of `year`, or of the first leap year after it."""
    while not calendar.isleap(year):
        year += 1
    return date(year, 2, 29)


@dataclass(frozen=True)
class ChosenNow:
    name: str
    instant: datetime

    @property
    def id(self) -> str:
        return f"{self.name}-{self.instant:%Y-%m-%d}"


def anyday_nows(year: int, default: datetime = DEFAULT_NOW) -> list[ChosenNow]:
    """The instants time-sensitive tests run at: around each DST change, year end, leap day."""
    noon = lambda day: datetime.combine(day, NOON, UTC)  # noqa: E731
    chosen = [ChosenNow("default", default)]
    for region, (spring, fall) in (("eu", eu_changes(year)), ("us", us_changes(year))):
        for season, sunday in (("spring", spring), ("fall", fall)):
            chosen.append(ChosenNow(f"{region}-{season}-before", noon(sunday - timedelta(days=1))))
            chosen.append(ChosenNow(f"{region}-{season}-after", noon(sunday + timedelta(days=1))))
    # 20:00 UTC on Dec 31 is already 05:00 on Jan 1 in Tokyo.
    chosen.append(ChosenNow("year-end", datetime(year, 12, 31, 20, 0, tzinfo=UTC)))
    chosen.append(ChosenNow("leap-day", noon(leap_day(year))))
    return chosen


ANYDAY_NAMES = tuple(c.name for c in anyday_nows(DEFAULT_NOW.year))


def stands_on(instant: datetime) -> pytest.MarkDecorator:
    """Run a test at its own now, for tests whose literal dates lie ahead of it."""
    return pytest.mark.parametrize("now", [instant], ids=[f"now-{instant:%Y-%m-%d}"])
