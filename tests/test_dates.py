"""The chosen days are what they claim to be in every year, and no test reads today's date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.dates import (
    BERLIN,
    DEFAULT_NOW,
    MONDAY,
    NEW_YORK,
    TOKYO,
    anyday_nows,
    iso,
    local_iso,
    upcoming,
)

YEARS = range(2024, 2061)


def offset(zone: str, instant: datetime) -> timedelta | None:
    return instant.astimezone(ZoneInfo(zone)).utcoffset()


@pytest.mark.parametrize("year", YEARS)
def test_the_chosen_days_straddle_each_change_and_the_turn_of_the_year(year: int) -> None:
    chosen = {c.name: c.instant for c in anyday_nows(year)}
    assert chosen["default"] == DEFAULT_NOW
    for region, zone in (("eu", BERLIN), ("us", NEW_YORK)):
        for season, shift in (("spring", timedelta(hours=1)), ("fall", -timedelta(hours=1))):
            before, after = chosen[f"{region}-{season}-before"], chosen[f"{region}-{season}-after"]
            assert after - before == timedelta(days=2)
            assert before.astimezone(ZoneInfo(zone)).weekday() == 5  # Saturday
            before_offset, after_offset = offset(zone, before), offset(zone, after)
            assert before_offset is not None and after_offset is not None
            assert after_offset - before_offset == shift, (region, season)
            assert before.year == year
    end = chosen["year-end"]
    assert (end.year, end.month, end.day) == (year, 12, 31)
    assert end.astimezone(ZoneInfo(TOKYO)).date().isoformat() == f"{year + 1}-01-01"
    leap = chosen["leap-day"]
    assert (leap.month, leap.day) == (2, 29) and year <= leap.year < year + 4
    assert len({c.id for c in anyday_nows(year)}) == 11


def test_upcoming_is_after_today_at_the_wall_time_across_a_change() -> None:
    saturday = datetime(2027, 3, 27, 12, tzinfo=UTC)  # Berlin springs forward on Sunday
    monday = upcoming(saturday, MONDAY, "10:00", BERLIN)
    assert iso(monday) == "2027-03-29T08:00:00Z"
    assert local_iso(monday, BERLIN) == "2027-03-29T10:00:00+02:00"
    assert iso(upcoming(saturday, MONDAY, "10:00", BERLIN, weeks=-1)) == "2027-03-22T09:00:00Z"
    on_a_monday = datetime(2026, 11, 30, 6, tzinfo=UTC)  # before 10:00, still next week's
    assert iso(upcoming(on_a_monday, MONDAY, "10:00", BERLIN)) == "2026-12-07T09:00:00Z"
    late = datetime(2026, 12, 31, 20, tzinfo=UTC)  # Friday 1 January in Tokyo already
    assert iso(upcoming(late, MONDAY, "09:00", TOKYO)) == "2027-01-04T00:00:00Z"


READS_TODAY = re.compile(
    r"datetime\.now\(|date\.today\(|datetime\.today\(|utcnow\(|time\.time\(|"
    r"SystemClock\(|Date\.now\(|new Date\(\)"
)


def test_no_test_reads_the_machines_date() -> None:
    """Only the chosen now counts; elapsed-time checks use monotonic clocks. (A line that
    reads a page's clock on purpose, to check that it is fixed, says "the page's own
    clock".)"""
    here = Path(__file__).parent
    found = [
        f"{path.relative_to(here)}:{number}: {line.strip()}"
        for path in sorted(here.rglob("*.py"))
        if path != Path(__file__)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if READS_TODAY.search(line) and "the page's own clock" not in line
    ]
    assert found == []
