"""One RRULE expanded from just before the window, every occurrence counted.

dateutil's ``rrule`` iterates from the rule's DTSTART, so a ``FREQ=MINUTELY`` rule from
the year 1 would take a billion steps to reach this year. Here the rule is first moved
forward by whole periods to just before the window (exact arithmetic on the series'
own wall clock, so the set of occurrences does not change), and every occurrence it
then yields is charged to the calendar's ``Budget``. Rule parts out of their RFC 5545
ranges make the rule unusable rather than a search to the year 9999.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the parsers load with the first imported calendar
    import icalendar
    from dateutil import rrule

from server.ical.busy_parse import Budget, event_uid, utc_instant

_FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_PARTS = ("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYDAY")
_PARTS = ("BYMONTH", *_DAY_PARTS, "BYHOUR", "BYMINUTE", "BYSECOND", "BYSETPOS")
_EVERY = {
    "YEARLY": "year",
    "MONTHLY": "month",
    "WEEKLY": "week",
    "DAILY": "day",
    "HOURLY": "hour",
    "MINUTELY": "minute",
    "SECONDLY": "second",
}


_RANGES = {
    "BYMONTH": (1, 12),
    "BYMONTHDAY": (-31, 31),
    "BYYEARDAY": (-366, 366),
    "BYWEEKNO": (-53, 53),
    "BYHOUR": (0, 23),
    "BYMINUTE": (0, 59),
    "BYSECOND": (0, 59),
    "BYSETPOS": (-366, 366),
}


def _ints(recur: Any, name: str) -> list[int] | None:
    """A numeric rule part; a value out of its range makes the rule unusable (RFC 5545
    3.3.10), where dateutil would search the calendar to the year 9999 for it."""
    values = recur.get(name)
    if not values:
        return None
    low, high = _RANGES[name]
    out = [int(v) for v in values]
    if any(v < low or v > high or (v == 0 and low < 0) for v in out):
        raise ValueError(f"{name} out of range")
    return out


def _weekdays(recur: Any) -> list[rrule.weekday] | None:
    from dateutil import rrule

    values = recur.get("BYDAY")
    if not values:
        return None
    out = []
    for raw in values:
        text = str(raw).strip().upper()
        day, n = text[-2:], text[:-2]
        if day not in _DAYS:
            raise ValueError(f"bad BYDAY {text[:20]}")
        weekday = rrule.weekday(_DAYS.index(day))
        out.append(weekday(int(n)) if n not in ("", "+") else weekday)
    return out


def _until(value: object, anchor: datetime) -> datetime | None:
    """UNTIL in the form dateutil compares with the series' start."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if anchor.tzinfo is None:
            return value.replace(tzinfo=None)
        if value.tzinfo is None:
            return value.replace(tzinfo=anchor.tzinfo)
        return value
    if isinstance(value, date):
        day_end = datetime(value.year, value.month, value.day, 23, 59, 59)
        return day_end.replace(tzinfo=anchor.tzinfo)
    return None


def rule_occurrences(
    recur: Any,
    anchor: datetime,
    lowest: datetime,
    end: datetime,
    zone: ZoneInfo,
    event: icalendar.Event,
    budget: Budget,
) -> Iterator[datetime]:
    """The occurrences of one RRULE, starting from the period just before ``lowest``."""
    from dateutil import rrule

    freq_name = str((recur.get("FREQ") or [""])[0]).upper()
    if freq_name not in _FREQS:
        raise ValueError("no FREQ")
    interval = int((recur.get("INTERVAL") or [1])[0])
    if interval < 1:
        raise ValueError("INTERVAL below 1")
    counts = recur.get("COUNT")
    count = int(counts[0]) if counts else None
    if count is not None and count < 1:
        return
    until = _until((recur.get("UNTIL") or [None])[0], anchor)
    wkst_name = str((recur.get("WKST") or ["MO"])[0]).upper()
    wkst = _DAYS.index(wkst_name) if wkst_name in _DAYS else 0
    freq: Any = _FREQS.index(freq_name)  # dateutil numbers YEARLY..SECONDLY 0..6
    parts: dict[str, Any] = {
        "bymonth": _ints(recur, "BYMONTH"),
        "bymonthday": _ints(recur, "BYMONTHDAY"),
        "byyearday": _ints(recur, "BYYEARDAY"),
        "byweekno": _ints(recur, "BYWEEKNO"),
        "byweekday": _weekdays(recur),
        "byhour": _ints(recur, "BYHOUR"),
        "byminute": _ints(recur, "BYMINUTE"),
        "bysecond": _ints(recur, "BYSECOND"),
        "bysetpos": _ints(recur, "BYSETPOS"),
    }
    explicit = any(v is not None for v in parts.values())
    _fill_defaults(parts, freq_name, anchor)
    # A margin for wall clocks that jump (DST, a zone changing its offset).
    margin = timedelta(hours=3) if freq_name in _STEP and freq_name != "DAILY" else _DAYS_MARGIN
    target = _wall(lowest - margin, anchor, zone)
    begin, skipped = _fast_forward(freq_name, interval, anchor, target, wkst)
    if skipped and count is not None:
        if explicit or freq_name in ("YEARLY", "MONTHLY"):
            # Periods then hold different numbers of occurrences: count them all.
            begin, skipped = anchor, 0
        elif count <= skipped:
            return
        else:
            count -= skipped
    if until is not None and begin > until:
        return
    rule = rrule.rrule(
        freq,
        dtstart=begin,
        interval=interval,
        wkst=wkst,
        count=count,
        until=until,
        cache=False,
        **parts,
    )
    what = (
        f"event {event_uid(event)} repeats every {_EVERY[freq_name]}"
        f"{f' (every {interval})' if interval > 1 else ''} from {anchor.date().isoformat()}"
    )
    horizon = end + timedelta(days=2)
    for occurrence in rule:
        budget.spend(what)
        if utc_instant(occurrence, zone) >= horizon:
            return
        yield occurrence


def _fill_defaults(parts: dict[str, Any], freq: str, anchor: datetime) -> None:
    """The parts dateutil would take from DTSTART, made explicit so DTSTART can move."""
    from dateutil import rrule

    if all(parts[k] is None for k in ("byweekno", "byyearday", "bymonthday", "byweekday")):
        if freq == "YEARLY":
            if parts["bymonth"] is None:
                parts["bymonth"] = [anchor.month]
            parts["bymonthday"] = [anchor.day]
        elif freq == "MONTHLY":
            parts["bymonthday"] = [anchor.day]
        elif freq == "WEEKLY":
            parts["byweekday"] = [rrule.weekday(anchor.weekday())]
    order = _FREQS.index(freq)
    if parts["byhour"] is None and order < _FREQS.index("HOURLY"):
        parts["byhour"] = [anchor.hour]
    if parts["byminute"] is None and order < _FREQS.index("MINUTELY"):
        parts["byminute"] = [anchor.minute]
    if parts["bysecond"] is None and order < _FREQS.index("SECONDLY"):
        parts["bysecond"] = [anchor.second]


def _wall(instant: datetime, anchor: datetime, zone: ZoneInfo) -> datetime:
    """``instant`` as a reading of the series' own clock (its zone, else the calendar's)."""
    return instant.astimezone(anchor.tzinfo or zone).replace(tzinfo=None)


_DAYS_MARGIN = timedelta(days=2)

_STEP = {
    "DAILY": timedelta(days=1),
    "HOURLY": timedelta(hours=1),
    "MINUTELY": timedelta(minutes=1),
    "SECONDLY": timedelta(seconds=1),
}


def _fast_forward(
    freq: str, interval: int, anchor: datetime, target: datetime, wkst: int
) -> tuple[datetime, int]:
    """The start of the last period of the rule at or before ``target``, and how many
    periods that skips.

    Periods are counted on the series' wall clock, as dateutil steps them, and the new
    start is the first instant of its period, so every occurrence at or after it is
    the rule's own.
    """
    tz = anchor.tzinfo
    wall = anchor.replace(tzinfo=None)
    if target <= wall:
        return anchor, 0
    if freq == "YEARLY":
        k = (target.year - wall.year) // interval
        begin = datetime(wall.year + k * interval, 1, 1)
    elif freq == "MONTHLY":
        months = (target.year - wall.year) * 12 + target.month - wall.month
        k = months // interval
        m = wall.month - 1 + k * interval
        begin = datetime(wall.year + m // 12, m % 12 + 1, 1)
    elif freq == "WEEKLY":
        week = wall.date() - timedelta(days=(wall.weekday() - wkst) % 7)
        k = (target.date() - week).days // (7 * interval)
        day = week + timedelta(days=7 * interval * k)
        begin = datetime(day.year, day.month, day.day)
    else:
        step = _STEP[freq] * interval
        if freq == "DAILY":
            base = datetime(wall.year, wall.month, wall.day)
        elif freq == "HOURLY":
            base = wall.replace(minute=0, second=0, microsecond=0)
        elif freq == "MINUTELY":
            base = wall.replace(second=0, microsecond=0)
        else:
            base = wall.replace(microsecond=0)
        k = (target - base) // step
        begin = base + step * k
    if k <= 0:
        return anchor, 0
    return begin.replace(tzinfo=tz), k
