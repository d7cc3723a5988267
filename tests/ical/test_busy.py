"""Busy time read from other calendars: recurrences, all-day days, free and cancelled events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.ical.busy import Interval, busy_intervals, merge
from server.ical.busy_parse import BusyCalendarError
from tests.ical.ics import (
    FREE_LUNCH,
    NEW_YORK_VTIMEZONE,
    TOKYO_HOLIDAY,
    WEEKLY_STANDUP,
    calendar,
    sample,
    vevent,
)

START = datetime(2026, 11, 25, tzinfo=UTC)
END = START + timedelta(days=180)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def read(data: bytes, zone: str = "Europe/Berlin") -> list[Interval]:
    return busy_intervals(data, start=START, end=END, default_zone=zone)


def test_weekly_event_expands_in_its_zone_across_dst() -> None:
    found = read(calendar(NEW_YORK_VTIMEZONE, WEEKLY_STANDUP))
    starts = [i.start for i in found]
    assert len(found) == 19  # 20 occurrences, one excluded
    assert utc(2026, 12, 16, 14, 0) not in starts
    assert starts[0] == utc(2026, 12, 2, 14, 0)  # 09:00 EST
    assert utc(2027, 3, 17, 13, 0) in starts  # 09:00 EDT after 14 March
    assert all(i.end - i.start == timedelta(minutes=30) for i in found)


def test_all_day_event_blocks_the_day_in_the_calendars_zone() -> None:
    found = read(calendar(TOKYO_HOLIDAY, head="X-WR-TIMEZONE:Asia/Tokyo"))
    assert found == [Interval(utc(2026, 12, 2, 15, 0), utc(2026, 12, 3, 15, 0))]


def test_all_day_event_uses_the_vtimezone_when_no_calendar_zone_is_named() -> None:
    found = read(calendar(NEW_YORK_VTIMEZONE, TOKYO_HOLIDAY))
    assert found == [Interval(utc(2026, 12, 3, 5, 0), utc(2026, 12, 4, 5, 0))]


def test_all_day_event_falls_back_to_the_owners_zone() -> None:
    found = read(calendar(TOKYO_HOLIDAY), zone="America/Sao_Paulo")
    assert found == [Interval(utc(2026, 12, 3, 3, 0), utc(2026, 12, 4, 3, 0))]


def test_transparent_and_cancelled_events_do_not_count() -> None:
    found = read(sample())
    assert utc(2026, 12, 4, 12, 0) not in [i.start for i in found]
    assert utc(2026, 12, 5, 12, 0) not in [i.start for i in found]
    assert read(calendar(FREE_LUNCH)) == []


def test_overlapping_events_merge_and_the_window_clips() -> None:
    data = calendar(
        vevent("a", "DTSTART:20261201T100000Z", "DTEND:20261201T110000Z"),
        vevent("b", "DTSTART:20261201T103000Z", "DURATION:PT1H"),
        vevent("c", "DTSTART:20261124T230000Z", "DTEND:20261125T010000Z"),
    )
    assert read(data) == [
        Interval(START, utc(2026, 11, 25, 1, 0)),
        Interval(utc(2026, 12, 1, 10, 0), utc(2026, 12, 1, 11, 30)),
    ]
    assert merge([]) == []


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"<html>Not found</html>", "BEGIN:VCALENDAR"),
        (b"", "BEGIN:VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\n\xff\xfe\r\nEND:VCALENDAR\r\n", "UTF-8"),
        (
            calendar(vevent("x", "DTSTART:not-a-date", "DTEND:20261201T110000Z")),
            "cannot be read",
        ),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261201T100000Z\r\n", "cannot be read"),
    ],
)
def test_malformed_text_is_a_clear_error(data: bytes, words: str) -> None:
    with pytest.raises(BusyCalendarError, match=words):
        read(data)


def test_runaway_recurrence_is_refused() -> None:
    data = calendar(vevent("x", "DTSTART:20261201T100000Z", "DURATION:PT1M", "RRULE:FREQ=MINUTELY"))
    with pytest.raises(BusyCalendarError, match="more than"):
        read(data)
