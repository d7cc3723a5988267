"""Series anchored in the host's wall clock, and the guest's shifts across DST."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.scheduling.recurrence import (
    MAX_OCCURRENCES,
    RecurrenceError,
    Rule,
    expand,
    guest_shifts,
)
from server.scheduling.slots import to_minute

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def at(zone: str, text: str) -> int:
    return to_minute(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)))


def local(zone: str, minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def test_series_keeps_berlin_evening_across_dst() -> None:
    first = at(BERLIN, "2027-03-01T18:00")
    found = expand(Rule("weekly", count=40), first, BERLIN)
    starts = [o.start for o in found if o.start is not None]
    assert len(starts) == 40
    assert {local(BERLIN, s)[11:] for s in starts} == {"18:00"}
    ny = [local(NEW_YORK, s) for s in starts]
    # Between the US change (14 March) and the EU one (28 March) New York sees 13:00.
    assert ny[:2] == ["2027-03-01 12:00", "2027-03-08 12:00"]
    assert ny[2:4] == ["2027-03-15 13:00", "2027-03-22 13:00"]
    assert ny[4] == "2027-03-29 12:00"
    # In autumn Europe changes first (31 October), the US a week later (7 November).
    assert ny[34] == "2027-10-25 12:00"
    assert ny[35] == "2027-11-01 13:00"
    assert ny[36] == "2027-11-08 12:00"

    shifts = guest_shifts([(o.index, o.start) for o in found if o.start], BERLIN, NEW_YORK)
    assert [(s.index, s.previous_local, s.local, s.minutes, s.cause) for s in shifts] == [
        (2, "12:00", "13:00", 60, "guest"),
        (4, "13:00", "12:00", -60, "host"),
        (35, "12:00", "13:00", 60, "host"),
        (36, "13:00", "12:00", -60, "guest"),
    ]


def test_0230_new_york_on_spring_forward_day_is_skipped() -> None:
    first = at(NEW_YORK, "2027-02-28T02:30")
    found = expand(Rule("weekly", count=4), first, NEW_YORK)
    assert [(o.local_date, o.skipped) for o in found] == [
        (date(2027, 2, 28), None),
        (date(2027, 3, 7), None),
        (date(2027, 3, 14), "nonexistent-time"),
        (date(2027, 3, 21), None),
    ]
    assert local(NEW_YORK, found[3].start or 0) == "2027-03-21 02:30"


def test_monthly_on_the_31st_skips_short_months() -> None:
    first = at(BERLIN, "2027-01-31T09:00")
    found = expand(Rule("monthly", until=date(2027, 5, 31)), first, BERLIN)
    assert [o.skipped for o in found] == [None, "no-date", None, "no-date", None]
    assert [local(BERLIN, o.start) for o in found if o.start] == [
        "2027-01-31 09:00",
        "2027-03-31 09:00",
        "2027-05-31 09:00",
    ]


def test_fall_back_takes_the_first_of_the_repeated_times() -> None:
    first = at(BERLIN, "2026-10-18T02:30")
    found = expand(Rule("weekly", count=2, interval=1), first, BERLIN)
    assert found[1].start is not None
    assert datetime.fromtimestamp(found[1].start * 60, ZoneInfo(BERLIN)).utcoffset() is not None
    assert local("UTC", found[1].start) == "2026-10-25 00:30"  # 02:30 CEST, not CET


def test_interval_every_other_week() -> None:
    first = at(BERLIN, "2027-01-04T10:00")
    found = expand(Rule("weekly", interval=2, until=date(2027, 2, 1)), first, BERLIN)
    assert [o.local_date for o in found] == [date(2027, 1, 4), date(2027, 1, 18), date(2027, 2, 1)]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (Rule("weekly", count=10_000), "recurrence.count"),
        (Rule("weekly", count=0), "recurrence.count"),
        (Rule("weekly"), "recurrence"),
        (Rule("weekly", count=3, until=date(2027, 6, 1)), "recurrence"),
        (Rule("weekly", interval=0, count=3), "recurrence.interval"),
        (Rule("weekly", until=date(2026, 1, 1)), "recurrence.until"),
        (Rule("weekly", until=date(2040, 1, 1)), "recurrence.until"),
    ],
)
def test_bad_rules_are_refused(rule: Rule, field: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        expand(rule, at(BERLIN, "2027-01-04T10:00"), BERLIN)
    assert caught.value.field == field


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(
        [BERLIN, NEW_YORK, "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo"]
    ),
    day=st.integers(0, 730),
    minute=st.integers(0, 95).map(lambda q: q * 15),
    frequency=st.sampled_from(["weekly", "monthly"]),
    interval=st.integers(1, 3),
    count=st.integers(1, 60),
)
def test_every_occurrence_keeps_the_host_wall_time(
    zone: str, day: int, minute: int, frequency: str, interval: int, count: int
) -> None:
    first_day = date.fromordinal(date(2026, 1, 1).toordinal() + day)
    text = f"{first_day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}"
    first_start = at(zone, text)
    if local(zone, first_start)[11:] != text[11:]:
        return  # the first session itself sits in a gap; the API refuses it before this
    found = expand(Rule(frequency, interval=interval, count=count), first_start, zone)  # type: ignore[arg-type]
    assert len(found) == count <= MAX_OCCURRENCES
    for occurrence in found:
        if occurrence.start is not None:
            assert local(zone, occurrence.start) == f"{occurrence.local_date} {text[11:]}"
        else:
            assert occurrence.skipped in ("nonexistent-time", "no-date")
