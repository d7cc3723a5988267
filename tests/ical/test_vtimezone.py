"""VTIMEZONE blocks agree with zoneinfo when read back by icalendar, and use RRULEs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.config import known_timezones
from server.ical.render import fold
from server.ical.vtimezone import vtimezone_lines

YEAR = 2026
RRULE_ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "America/Los_Angeles",
    "America/Santiago",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Jerusalem",
]
FIXED_ZONES = ["Asia/Kolkata", "Asia/Tokyo", "America/Sao_Paulo", "UTC", "Asia/Tehran"]


def parsed(zone: str) -> icalendar.Timezone:
    block = b"".join(fold(line) for line in vtimezone_lines(zone, YEAR))
    component = icalendar.Timezone.from_ical(block)
    assert isinstance(component, icalendar.Timezone)
    return component


def assert_same_offsets(zone: str, start: datetime, days: int, step_hours: int = 6) -> None:
    ours = parsed(zone).to_tz(lookup_tzid=False)
    reference = ZoneInfo(zone)
    instant = start
    while instant < start + timedelta(days=days):
        expected = instant.astimezone(reference).utcoffset()
        got = instant.astimezone(ours).utcoffset()
        assert got == expected, (zone, instant)
        instant += timedelta(hours=step_hours)


@pytest.mark.parametrize("zone", RRULE_ZONES)
def test_daylight_zones_are_written_as_yearly_rules(zone: str) -> None:
    lines = vtimezone_lines(zone, YEAR)
    assert not any(line.startswith("RDATE") for line in lines)
    assert sum(line.startswith("RRULE:FREQ=YEARLY") for line in lines) == 2
    assert lines.count("BEGIN:STANDARD") == 1 and lines.count("BEGIN:DAYLIGHT") == 1
    assert_same_offsets(zone, datetime(YEAR, 1, 1, tzinfo=UTC), 5 * 365)


def test_transition_hours_match_to_the_minute() -> None:
    # Berlin: 01:00 UTC on the last Sundays of March and October.
    ours = parsed("Europe/Berlin").to_tz(lookup_tzid=False)
    for instant, hours in [
        (datetime(2027, 3, 28, 0, 59, tzinfo=UTC), 1),
        (datetime(2027, 3, 28, 1, 0, tzinfo=UTC), 2),
        (datetime(2027, 10, 31, 0, 59, tzinfo=UTC), 2),
        (datetime(2027, 10, 31, 1, 0, tzinfo=UTC), 1),
    ]:
        assert instant.astimezone(ours).utcoffset() == timedelta(hours=hours)


def test_daylight_is_the_summer_offset_even_where_flags_are_inverted() -> None:
    # Europe/Dublin marks winter as the "daylight" side in tzdata; Outlook expects summer.
    lines = vtimezone_lines("Europe/Dublin", YEAR)
    daylight = lines[lines.index("BEGIN:DAYLIGHT") : lines.index("END:DAYLIGHT")]
    assert "TZOFFSETTO:+0100" in daylight and "TZNAME:IST" in daylight


@pytest.mark.parametrize("zone", FIXED_ZONES)
def test_zones_without_dst_get_one_standard_observance(zone: str) -> None:
    lines = vtimezone_lines(zone, YEAR)
    assert lines.count("BEGIN:STANDARD") == 1 and "BEGIN:DAYLIGHT" not in lines
    assert not any(line.startswith(("RRULE", "RDATE")) for line in lines)
    assert_same_offsets(zone, datetime(YEAR, 1, 1, tzinfo=UTC), 3 * 365, step_hours=24)


def test_blocks_are_built_once_per_zone() -> None:
    assert vtimezone_lines("Europe/Berlin", YEAR) is vtimezone_lines("Europe/Berlin", YEAR)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(known_timezones())))
def test_any_zone_agrees_with_zoneinfo_for_the_next_two_years(zone: str) -> None:
    assert_same_offsets(zone, datetime(YEAR, 1, 1, tzinfo=UTC), 2 * 365, step_hours=12)
