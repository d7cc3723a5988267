"""Hostile busy calendars: bounded work, a clear 422, and nothing else slowed down.

The occurrences a read examines are counted deterministically; rules are moved to the
window by arithmetic, which the comparison with recurring-ical-events (an independent
expander that walks every rule from its start) shows changes no occurrence.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from server.ical.busy import read_calendar
from server.ical.busy_parse import MAX_EXAMINED, Budget, BusyCalendarError, OverBudget
from server.ical.busy_reader import CalendarReader
from tests.ical.hostile import COUNTED, HOSTILE, SPINNING, ordinary
from tests.ical.ics import calendar, vevent

Client = Any
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
START, END = NOW - timedelta(days=1), NOW + timedelta(days=365)


def read(data: bytes, budget: Budget | None = None) -> Any:
    return read_calendar(data, start=START, end=END, default_zone="Europe/Berlin", budget=budget)


# --- the work budget, counted ------------------------------------------------------------


@pytest.mark.parametrize("name", COUNTED)
def test_hostile_calendar_is_refused_within_the_work_budget(name: str) -> None:
    budget = Budget()
    with pytest.raises(BusyCalendarError) as refused:
        read(HOSTILE[name], budget)
    assert budget.examined <= MAX_EXAMINED + 1
    message = str(refused.value)
    assert message.startswith("This calendar") and len(message) < 300


def test_rules_from_the_year_1_are_moved_to_the_window_not_walked() -> None:
    hourly = calendar(
        vevent("h", "DTSTART:00010101T093000Z", "DURATION:PT15M", "RRULE:FREQ=HOURLY;INTERVAL=7"),
        vevent("w", "DTSTART;VALUE=DATE:00010102", "RRULE:FREQ=WEEKLY;BYDAY=TU,TH"),
        vevent("m", "DTSTART:00010131T100000Z", "DURATION:PT1H", "RRULE:FREQ=MONTHLY"),
    )
    found = read(hourly)
    assert found.examined < 3_000  # a year of them, not two thousand years
    starts = [i.start for i in found.intervals]
    assert starts[0] == START
    assert datetime(2027, 1, 31, 10, 0, tzinfo=UTC) in starts
    assert datetime(2027, 2, 28, 10, 0, tzinfo=UTC) not in starts


def test_a_huge_count_is_counted_from_the_start() -> None:
    data = calendar(
        vevent(
            "c",
            "DTSTART:00010101T000000Z",
            "DURATION:PT1S",
            "RRULE:FREQ=MINUTELY;COUNT=2147483647;BYSECOND=0,30",
        )
    )
    budget = Budget()
    with pytest.raises(OverBudget, match="repeats every minute from 0001-01-01"):
        read(data, budget)
    assert budget.examined == MAX_EXAMINED + 1


def test_an_exdate_removes_exactly_its_occurrence_from_an_hourly_rule() -> None:
    data = calendar(
        vevent(
            "h",
            "DTSTART;TZID=Europe/Berlin:20261201T003000",
            "DURATION:PT15M",
            "RRULE:FREQ=HOURLY;COUNT=72",
            "EXDATE;TZID=Europe/Berlin:20261202T103000",
        )
    )
    starts = [i.start for i in read(data).intervals]
    assert len(starts) == 71
    assert datetime(2026, 12, 2, 9, 30, tzinfo=UTC) not in starts
    assert datetime(2026, 12, 2, 8, 30, tzinfo=UTC) in starts
    assert datetime(2026, 12, 2, 10, 30, tzinfo=UTC) in starts


RULES = [
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3;COUNT=900",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=SU",
    "FREQ=WEEKLY;COUNT=400",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=MONTHLY;INTERVAL=5;BYDAY=MO,TU;BYSETPOS=2",
    "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
    "FREQ=HOURLY;INTERVAL=5;BYHOUR=9,14,19",
    "FREQ=HOURLY;COUNT=40000",
    "FREQ=MINUTELY;INTERVAL=97;BYHOUR=10,11",
    "FREQ=DAILY;UNTIL=20270110T000000Z",
]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Sao_Paulo"])
def test_moving_a_rule_forward_keeps_every_occurrence(rule: str, zone: str) -> None:
    exdate = f"EXDATE;TZID={zone}:20261230T103000"
    data = calendar(
        vevent(
            "r",
            f"DTSTART;TZID={zone}:20230305T103000",
            "DURATION:PT45M",
            f"RRULE:{rule}",
            # (recurring-ical-events matches an EXDATE's UTC reading against local ones,
            # so hourly rules would lose their neighbours there: no EXDATE for those.)
            *([] if "HOURLY" in rule or "MINUTELY" in rule else [exdate]),
        )
    )
    ours = {(i.start, i.end) for i in read(data).intervals}
    cal = icalendar.Calendar.from_ical(data)
    theirs = set()
    for event in recurring_ical_events.of(cal).between(START, END):
        a = max(event["DTSTART"].dt.astimezone(UTC), START)
        b = min(event["DTEND"].dt.astimezone(UTC), END)
        if a < b:
            theirs.add((a, b))
    assert theirs, "the rule has occurrences in the window"
    merged = {(i.start, i.end) for i in _merge(theirs)}
    assert ours == merged


def _merge(spans: set[tuple[datetime, datetime]]) -> list[Any]:
    from server.ical.busy import Interval, merge

    return merge([Interval(a, b) for a, b in spans])


# --- the reader: processes, deadlines ---------------------------------------------------------


@pytest.mark.parametrize("name", SPINNING)
async def test_a_rule_that_never_matches_is_stopped_at_the_deadline(name: str) -> None:
    reader = CalendarReader(workers=1, seconds=0.5)
    try:
        with pytest.raises(OverBudget, match=r"took longer than 0\.5 seconds"):
            await reader.read(HOSTILE[name], zone="UTC", start=START, end=END, wait=True)
        # The worker is free again (or replaced) for the next calendar.
        found = await reader.read(ordinary(), zone="UTC", start=START, end=END, wait=True)
        assert found.intervals
    finally:
        await reader.close()


async def test_every_reader_taken_answers_503_rather_than_queueing_without_end() -> None:
    reader = CalendarReader(workers=1, seconds=0.8)
    spinning = HOSTILE[SPINNING[0]]
    try:
        first = asyncio.create_task(
            reader.read(spinning, zone="UTC", start=START, end=END, wait=True)
        )
        await asyncio.sleep(0)  # the first read takes the only reader
        with pytest.raises(Exception) as busy:
            await reader.read(ordinary(), zone="UTC", start=START, end=END, wait=False)
        assert getattr(busy.value, "status", None) == 503
        with pytest.raises(OverBudget):
            await first
    finally:
        await reader.close()
