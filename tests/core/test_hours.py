"""Overlap of working hours on real dates, checked against a minute-by-minute count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.core import hours as hrs
from server.core.hours import WeeklyInterval, overlap_hours, parse_clock

ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/St_Johns",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Pacific/Chatham",  # +12:45 with DST
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "UTC",
]
# Weeks holding a change in one zone only: the US springs forward on 2026-03-08 and
# falls back on 2026-11-01; the EU changes on 2026-03-29 and 2026-10-25; Australia and
# New Zealand change in April and September/October.
WEEK_STARTS = [
    datetime(2026, 3, 5, tzinfo=UTC),
    datetime(2026, 3, 26, tzinfo=UTC),
    datetime(2026, 4, 2, tzinfo=UTC),
    datetime(2026, 9, 24, tzinfo=UTC),
    datetime(2026, 10, 1, tzinfo=UTC),
    datetime(2026, 10, 22, tzinfo=UTC),
    datetime(2026, 10, 29, tzinfo=UTC),
    datetime(2026, 11, 25, tzinfo=UTC),
]


def brute_force_minutes(
    zone_a: str,
    hours_a: list[WeeklyInterval],
    zone_b: str,
    hours_b: list[WeeklyInterval],
    start: datetime,
) -> int:
    """Walk every minute of the week and ask both wall clocks."""

    def inside(zone: ZoneInfo, hours: list[WeeklyInterval], t: int) -> bool:
        local = datetime.fromtimestamp(t, zone)
        minute = local.hour * 60 + local.minute
        return any(iv.weekday == local.weekday() and iv.start <= minute < iv.end for iv in hours)

    za, zb = ZoneInfo(zone_a), ZoneInfo(zone_b)
    begin = int(start.timestamp())
    return sum(
        1
        for t in range(begin, begin + 7 * 86400, 60)
        if inside(za, hours_a, t) and inside(zb, hours_b, t)
    )


@st.composite
def weekly(draw: st.DrawFn) -> list[WeeklyInterval]:
    out = []
    for _ in range(draw(st.integers(0, 8))):
        start = draw(st.integers(0, 24 * 60 - 1))
        end = draw(st.integers(start + 1, 24 * 60))
        out.append(WeeklyInterval(draw(st.integers(0, 6)), start, end))
    return out


@st.composite
def week_starts(draw: st.DrawFn) -> datetime:
    base = draw(st.sampled_from(WEEK_STARTS))
    return base + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))


@settings(max_examples=120, deadline=None)
@given(
    zone_a=st.sampled_from(ZONES),
    zone_b=st.sampled_from(ZONES),
    hours_a=weekly(),
    hours_b=weekly(),
    start=week_starts(),
)
def test_overlap_agrees_with_a_minute_by_minute_count(
    zone_a: str,
    zone_b: str,
    hours_a: list[WeeklyInterval],
    hours_b: list[WeeklyInterval],
    start: datetime,
) -> None:
    expected = brute_force_minutes(zone_a, hours_a, zone_b, hours_b, start)
    got = overlap_hours(zone_a, hrs.normalize(hours_a), zone_b, hrs.normalize(hours_b), start)
    assert round(got * 60) == expected
    assert got == overlap_hours(zone_b, hours_b, zone_a, hours_a, start)


NINE_TO_FIVE = [WeeklyInterval(d, 9 * 60, 17 * 60) for d in range(5)]


@pytest.mark.parametrize(
    ("start", "hours"),
    [
        (datetime(2026, 11, 16, tzinfo=UTC), 10.0),  # both on winter time: 2 h a day
        (datetime(2026, 3, 9, tzinfo=UTC), 15.0),  # New York already on summer time
        (datetime(2026, 3, 30, tzinfo=UTC), 10.0),  # both on summer time
        (datetime(2026, 10, 26, tzinfo=UTC), 15.0),  # Berlin back on winter time first
    ],
)
def test_berlin_and_new_york_overlap_an_hour_longer_between_their_dst_dates(
    start: datetime, hours: float
) -> None:
    got = overlap_hours("Europe/Berlin", NINE_TO_FIVE, "America/New_York", NINE_TO_FIVE, start)
    assert got == hours


def test_the_short_night_loses_the_hour_that_does_not_exist() -> None:
    # Berlin skips 02:00-03:00 on Sunday 2026-03-29.
    night = [WeeklyInterval(6, 1 * 60, 5 * 60)]
    start = datetime(2026, 3, 27, tzinfo=UTC)
    assert overlap_hours("Europe/Berlin", night, "UTC", [], start) == 0
    alone = hrs.utc_intervals("Europe/Berlin", night, *hrs.week_window(start))
    assert hrs.total_seconds(alone) == 3 * 3600
    autumn = datetime(2026, 10, 23, tzinfo=UTC)
    repeated = hrs.utc_intervals("Europe/Berlin", night, *hrs.week_window(autumn))
    assert hrs.total_seconds(repeated) == 5 * 3600


def test_normalize_merges_touching_intervals() -> None:
    merged = hrs.normalize(
        [WeeklyInterval(0, 540, 720), WeeklyInterval(0, 720, 780), WeeklyInterval(1, 60, 120)]
    )
    assert merged == (WeeklyInterval(0, 540, 780), WeeklyInterval(1, 60, 120))


@pytest.mark.parametrize("text", ["9:00", "24:01", "12:60", "ab:cd", "1200", ""])
def test_bad_clock_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_clock(text)


def test_clock_text_round_trips() -> None:
    assert [parse_clock(t) for t in ("00:00", "09:30", "24:00")] == [0, 570, 1440]
    assert hrs.clock_text(570) == "09:30"


def test_the_strip_shows_the_first_day_with_the_most_shared_hours_in_the_viewers_time() -> None:
    # Saturday 2026-03-28: Berlin changes to summer time overnight, New York already has.
    now = datetime(2026, 3, 28, 12, tzinfo=UTC)
    strip = hrs.best_day_strip(
        "Europe/Berlin",
        ("Europe/Berlin", NINE_TO_FIVE),
        ("America/New_York", NINE_TO_FIVE),
        now,
    )
    assert strip.day.isoformat() == "2026-03-30"
    assert strip.mine == [(9 * 60, 17 * 60)]
    assert strip.theirs == [(15 * 60, 23 * 60)]
    assert strip.both == [(15 * 60, 17 * 60)]


def test_the_strip_of_a_day_without_overlap_says_so() -> None:
    strip = hrs.best_day_strip(
        "Asia/Tokyo",
        ("Asia/Tokyo", [WeeklyInterval(d, 9 * 60, 12 * 60) for d in range(7)]),
        ("America/Los_Angeles", [WeeklyInterval(d, 9 * 60, 12 * 60) for d in range(7)]),
        datetime(2026, 11, 25, 12, tzinfo=UTC),
    )
    assert strip.both == []
    assert strip.day.isoformat() == "2026-11-26"
