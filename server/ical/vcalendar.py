"""Whole iCalendar objects: invitations, cancellations and subscribable feeds.

Pure: ``render.Event``s in, bytes out. A feed is a join of cached pieces: each event is
serialized once (``EventCache``) and its bytes reused until the event changes, so a feed
of 1,000 sessions costs 1,000 dictionary look-ups, not 1,000 serializations. Each
object carries the VTIMEZONE of every zone its events are written in (``vtimezone``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from server.ical.render import Event, component, escape_text, fold, local_text, vevent
from server.ical.vtimezone import vtimezone_lines

PRODID = "-//Meridian//Meridian Calendars 1.0//EN"


def _vtimezones(zones: Iterable[str], year: int) -> bytes:
    return b"".join(_vtimezone_bytes(z, year) for z in sorted(set(zones)))


@functools.lru_cache(maxsize=512)
def _vtimezone_bytes(zone: str, year: int) -> bytes:
    return b"".join(fold(line) for line in vtimezone_lines(zone, year))


def invitation(event: Event, *, now: datetime) -> bytes:
    """An iTIP message: METHOD:REQUEST, or METHOD:CANCEL once the session is cancelled."""
    method = "CANCEL" if event.status == "CANCELLED" else "REQUEST"
    head = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
    ]
    return (
        b"".join(fold(line) for line in head)
        + _vtimezones([event.timezone], now.year)
        + vevent(event, dtstamp=now)
        + fold("END:VCALENDAR")
    )


def occurrence_cancellation(
    series: Event, *, recurrence_id: datetime, sequence: int, now: datetime
) -> bytes:
    """METHOD:CANCEL for one occurrence of a series (its RECURRENCE-ID), the rest stays."""
    tz = series.timezone
    cancelled = dataclasses.replace(series, status="CANCELLED")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:CANCEL",
    ]
    body = component(
        cancelled,
        dtstamp=now,
        start=recurrence_id,
        end=recurrence_id + (series.end - series.start),
        sequence=sequence,
        last_modified=now,
        description=series.description,
        head=[f"RECURRENCE-ID;TZID={tz}:{local_text(recurrence_id, tz)}"],
    )
    body.append("END:VEVENT")
    return (
        b"".join(fold(line) for line in lines)
        + _vtimezones([tz], now.year)
        + b"".join(fold(line) for line in body)
        + fold("END:VCALENDAR")
    )


@dataclass(frozen=True, slots=True)
class Piece:
    """One event's serialized bytes and the zone they refer to."""

    data: bytes
    timezone: str


class EventCache:
    """Serialized events keyed by what identifies their content (id, sequence, change time).

    A key that is seen again returns the stored bytes without building the event; old
    keys age out when the cache is full.
    """

    def __init__(self, maxsize: int = 50_000) -> None:
        self.maxsize = maxsize
        self._pieces: OrderedDict[Hashable, Piece] = OrderedDict()
        self.builds = 0

    def get(self, key: Hashable, build: Callable[[], Event]) -> Piece:
        piece = self._pieces.get(key)
        if piece is not None:
            return piece
        event = build()
        piece = Piece(vevent(event), event.timezone)
        self.builds += 1
        self._pieces[key] = piece
        if len(self._pieces) > self.maxsize:
            self._pieces.popitem(last=False)
        return piece

    def peek(self, key: Hashable) -> Piece | None:
        return self._pieces.get(key)

    def __len__(self) -> int:
        return len(self._pieces)


@dataclass(frozen=True, slots=True)
class FeedHeader:
    name: str
    timezone: str
    year: int  # the year whose zone rules the VTIMEZONE blocks describe
    description: str = ""
    extra_zones: tuple[str, ...] = field(default=())


def feed(header: FeedHeader, pieces: Sequence[Piece]) -> bytes:
    """A subscribable calendar: METHOD:PUBLISH with refresh hints of one hour."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(header.name)}",
        f"X-WR-TIMEZONE:{header.timezone}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    if header.description:
        lines.append(f"X-WR-CALDESC:{escape_text(header.description)}")
    zones = {p.timezone for p in pieces} | set(header.extra_zones)
    parts = [b"".join(fold(line) for line in lines), _vtimezones(zones, header.year)]
    parts += [p.data for p in pieces]
    parts.append(fold("END:VCALENDAR"))
    return b"".join(parts)
