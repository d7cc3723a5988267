"""static/lib/time.js in a real browser: the words every page uses for dates and times,
in British and American English, across a daylight-saving change, and its one clock
following the browser's (fixed here, as tests fix it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import OpenPage

pytestmark = pytest.mark.browser

NOW = "2026-11-25T12:00:00Z"
SAMPLES = """async () => {
  const t = await import("/lib/time.js");
  const at = "2026-11-30T14:05:00Z";
  const zone = "Europe/Berlin";
  return {
    now: t.now().toISOString(),
    today: t.todayIn("Pacific/Auckland"),
    time: t.formatTime(at, zone),
    wallTime: t.formatWallTime("13:00"),
    day: t.formatDay(at, zone),
    dayOfDate: t.formatDay("2026-11-30"),
    date: t.formatDate(at, zone),
    month: t.formatMonth("2027-02"),
    dayTime: t.formatDayTime(at, zone),
    morning: t.formatDayTime("2026-11-30T08:05:00Z", zone),
    range: t.formatRange(at, "2026-11-30T15:05:00Z", zone),
    overnight: t.formatRange("2026-11-30T22:00:00Z", "2026-12-01T00:30:00Z", zone),
    dateTime: t.formatDateTime(at, zone),
    weekdayTime: t.formatWeekdayTime(at, zone),
    shortWeekdayTime: t.formatWeekdayTime(at, zone, "short"),
    inThreeHours: t.formatRelative("2026-11-25T15:00:00Z"),
    tomorrow: t.formatRelative("2026-11-26T12:00:00Z"),
    minutesAgo: t.formatRelative("2026-11-25T11:55:00Z"),
    justNow: t.formatRelative("2026-11-25T12:00:20Z"),
    duration: t.formatDuration(90),
    clock: t.formatClock(65.4),
    endOfDay: t.formatMinuteOfDay(1440),
    minutes: t.parseMinuteOfDay("09:30"),
    label: t.zoneLabel("America/Sao_Paulo"),
    name: t.zoneName("America/Sao_Paulo"),
    offset: t.offsetLabel(at, "Asia/Kolkata"),
    calendarDate: t.calendarDate("2026-11-30T23:30:00Z", zone),
    wall: t.wallTime("2026-11-30T08:05:00Z", zone),
    afterSpringForward: t.addDays("2027-03-27", 1),
    skipped: t.zonedToInstant("2027-03-28", "02:30", zone).toISOString(),
    repeated: t.zonedToInstant("2027-10-31", "02:30", zone).toISOString(),
  };
}"""


def plain(words: dict[str, Any]) -> dict[str, Any]:
    """ICU writes a narrow no-break space before AM/PM; compare with a plain one."""
    return {k: v.replace("\u202f", " ") if isinstance(v, str) else v for k, v in words.items()}


async def samples(open_page: OpenPage, locale: str) -> dict[str, Any]:
    watched = await open_page(locale=locale, timezone_id="America/New_York")
    await watched.page.clock.set_fixed_time(NOW)
    await watched.goto("/login")
    words = plain(await watched.page.evaluate(SAMPLES))
    watched.assert_no_errors()
    return words


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_time_words_in_british_english(open_page: OpenPage) -> None:
    assert await samples(open_page, "en-GB") == {
        "now": "2026-11-25T12:00:00.000Z",
        "today": "2026-11-26",  # already Thursday in Auckland
        "time": "15:05",
        "wallTime": "13:00",
        "day": "Monday 30 November",
        "dayOfDate": "Monday 30 November",
        "date": "Monday, 30 November 2026",
        "month": "February 2027",
        "dayTime": "Monday 30 November at 15:05",
        "morning": "Monday 30 November at 09:05",
        "range": "Monday 30 November at 15:05\u201316:05",
        "overnight": "Monday 30 November at 23:00\u2013Tuesday 1 December at 01:30",
        "dateTime": "30 Nov 2026, 15:05",
        "weekdayTime": "Monday 15:05",
        "shortWeekdayTime": "Mon 15:05",
        "inThreeHours": "in 3 hours",
        "tomorrow": "tomorrow",
        "minutesAgo": "5 minutes ago",
        "justNow": "now",
        "duration": "90 minutes",
        "clock": "1:05",
        "endOfDay": "24:00",
        "minutes": 570,
        "label": "Sao Paulo",
        "name": "America/Sao Paulo",
        "offset": "GMT+5:30",
        "calendarDate": "2026-12-01",
        "wall": "09:05",
        "afterSpringForward": "2027-03-28",
        "skipped": "2027-03-28T01:30:00.000Z",  # 02:30 does not exist: 03:30 CEST
        "repeated": "2027-10-31T00:30:00.000Z",  # 02:30 happens twice: the first, CEST
    }


async def test_time_words_in_american_english(open_page: OpenPage) -> None:
    words = await samples(open_page, "en-US")
    assert {k: words[k] for k in ("time", "wallTime", "day", "dayTime", "morning", "range")} == {
        "time": "3:05 PM",
        "wallTime": "1:00 PM",
        "day": "Monday, November 30",
        "dayTime": "Monday, November 30 at 3:05 PM",
        "morning": "Monday, November 30 at 9:05 AM",
        "range": "Monday, November 30 at 3:05 PM\u20134:05 PM",
    }
    assert words["dateTime"] == "Nov 30, 2026, 3:05 PM"
    assert words["weekdayTime"] == "Monday 3:05 PM"
