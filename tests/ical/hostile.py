"""Calendar files built to make a reader work without end, and a few honest heavy ones."""

from __future__ import annotations

from tests.ical.ics import calendar, vevent


def _series(rule: str, start: str = "00010101T000000Z", uid: str = "runaway") -> bytes:
    return calendar(vevent(uid, f"DTSTART:{start}", "DURATION:PT1S", f"RRULE:{rule}"))


def many_rules(rules: int = 2_000) -> bytes:
    lines = [f"RRULE:FREQ=MINUTELY;BYSECOND={i % 60}" for i in range(rules)]
    return calendar(vevent("rules", "DTSTART:00010101T000000Z", "DURATION:PT1S", *lines))


def ordinary() -> bytes:
    """An honest calendar: a weekly meeting since 2020, busy whatever day it is read."""
    return calendar(
        vevent(
            "weekly",
            "DTSTART;TZID=Europe/Berlin:20200106T100000",
            "DTEND;TZID=Europe/Berlin:20200106T110000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,TH",
        )
    )


def many_events(events: int = 60_000) -> bytes:
    return calendar(
        *(
            vevent(f"e{i}", "DTSTART:20270101T100000Z", "DTEND:20270101T110000Z")
            for i in range(events)
        )
    )


def deep_nesting(depth: int = 20_000) -> bytes:
    inner = "\r\n".join(["BEGIN:X-BOX"] * depth + ["END:X-BOX"] * depth)
    return calendar(vevent("deep", "DTSTART:20270101T100000Z", "DURATION:PT1H", inner))


def many_daily_series(events: int = 3_000) -> bytes:
    return calendar(
        *(
            vevent(
                f"d{i}",
                "DTSTART:20000101T100000Z",
                "DURATION:PT30M",
                "RRULE:FREQ=DAILY",
            )
            for i in range(events)
        )
    )


HOSTILE = {
    "minutely-from-year-1": _series("FREQ=MINUTELY"),
    "secondly-from-year-1": _series("FREQ=SECONDLY"),
    "huge-count-minutely": _series("FREQ=MINUTELY;COUNT=2147483647"),
    "huge-count-with-bysecond": _series("FREQ=MINUTELY;COUNT=2147483647;BYSECOND=0,15,30,45"),
    "bysecond-list-secondly": _series(
        "FREQ=SECONDLY;BYSECOND=" + ",".join(str(i) for i in range(60))
    ),
    "yearly-every-second": _series(
        "FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYHOUR="
        + ",".join(str(i) for i in range(24))
        + ";BYMINUTE="
        + ",".join(str(i) for i in range(60))
        + ";BYSECOND="
        + ",".join(str(i) for i in range(60))
    ),
    "never-matching-filter": _series("FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30"),
    "never-matching-daily": _series("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31;COUNT=5"),
    "many-rules": many_rules(),
    "too-many-components": many_events(),
    "many-events": many_events(30_000),
    "deep-nesting": deep_nesting(),
    "many-daily-series": many_daily_series(),
}
"""Each must be refused with a clear message, quickly, whatever day it is read on."""

SPINNING = ["never-matching-filter", "never-matching-daily"]
"""Rules that make dateutil search without yielding: only the deadline stops them."""
SLOW = ["many-events"]
"""Honest structure, but more than one calendar's time to parse."""
COUNTED = [name for name in HOSTILE if name not in SPINNING + SLOW]
"""Refused by counting, the same way on every machine."""
