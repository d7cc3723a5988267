"""iCalendar (RFC 5545) events for sessions: content lines and VEVENTs.

Pure: plain dataclasses in, content lines and bytes out; whole calendars are assembled
from these in ``vcalendar``. The lines are written here rather than through a
general-purpose library so that each event's bytes can be cached and joined into a
feed as they are. Tests parse everything written here with an independent parser.

Times are written as ``DTSTART;TZID=<zone>`` in the organizer's zone, the zone in which
a series is anchored, with that zone's VTIMEZONE in RRULE form (see ``vtimezone``).
Where wall times alone would be read differently by different apps, the instants are
written in UTC instead: a start or end that the zone's clocks show twice (the fall-back
hour; RFC 5545 means the first, Thunderbird reads the second) or a session that spans
an offset change (parsers add its length to the wall clock). A series keeps its
anchor in local time and gets a RECURRENCE-ID override with UTC times for each such
occurrence; an occurrence whose wall time does not exist that day is never booked and
is written as an EXDATE of that wall time, so no app shows it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

CRLF = b"\r\n"
MAX_OCTETS = 75
Status = Literal["CONFIRMED", "TENTATIVE", "CANCELLED"]
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# RFC 5545 3.1: no control character but HTAB may appear in a content line.
_LINE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A series rule, expanded in the event's own zone (so 18:00 Berlin stays 18:00)."""

    freq: Literal["DAILY", "WEEKLY", "MONTHLY"]
    interval: int = 1
    count: int | None = None
    until: datetime | None = None  # an instant (UTC)
    by_day: str | None = None  # e.g. "TU" or "2TU"
    by_month_day: int | None = None

    def text(self) -> str:
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append(f"UNTIL={ical_utc(self.until)}")
        if self.by_day:
            parts.append(f"BYDAY={self.by_day}")
        if self.by_month_day is not None:
            parts.append(f"BYMONTHDAY={self.by_month_day}")
        return ";".join(parts)


@dataclass(frozen=True, slots=True)
class Override:
    """One occurrence of a series that was moved (or changed) on its own."""

    recurrence_id: datetime  # the occurrence's original start (UTC)
    start: datetime
    end: datetime
    sequence: int
    last_modified: datetime
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A session, or the first occurrence of a series and the rule for the rest."""

    uid: str
    sequence: int
    start: datetime  # UTC
    end: datetime  # UTC
    timezone: str  # IANA zone the local times are written in
    summary: str
    description: str
    url: str
    organizer: Person
    attendees: tuple[Person, ...]
    status: Status
    created: datetime
    last_modified: datetime
    recurrence: Recurrence | None = None
    exdates: tuple[datetime, ...] = ()  # original starts of cancelled occurrences (UTC)
    overrides: tuple[Override, ...] = ()
    skipped: tuple[datetime, ...] = ()
    """Naive wall times (in ``timezone``) the rule names but the clocks skip that day."""


# --- text primitives ------------------------------------------------------------------


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def param_value(value: str) -> str:
    """A quoted parameter value; DQUOTE and control characters cannot appear inside."""
    return '"' + _CONTROL.sub("", value.replace('"', "'").replace("\n", " ")) + '"'


def raw_value(value: str) -> str:
    """A value written as is (a URI, an id): control characters, CR and LF removed."""
    return _LINE_CONTROL.sub("", value)


def mailto(email: str) -> str:
    return "mailto:" + raw_value(email)


def fold(line: str) -> bytes:
    """One content line as UTF-8, folded so no physical line exceeds 75 octets.

    Folds never split a multi-octet character; continuation lines start with a space.
    A CR, LF or other control character a value still holds is dropped here, so no
    value can end its line and start a property of its own.
    """
    raw = _LINE_CONTROL.sub("", line).encode()
    if len(raw) <= MAX_OCTETS:
        return raw + CRLF
    pieces = []
    start = 0
    limit = MAX_OCTETS
    while len(raw) - start > limit:
        cut = start + limit
        while raw[cut] & 0xC0 == 0x80:  # never inside a UTF-8 sequence
            cut -= 1
        pieces.append(raw[start:cut])
        start = cut
        limit = MAX_OCTETS - 1
    pieces.append(raw[start:])
    return b"\r\n ".join(pieces) + CRLF


def ical_utc(instant: datetime) -> str:
    """iCalendar's UTC form (``20261130T090000Z``), not the API's (``core.wire.utc_text``)."""
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def local_text(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y%m%dT%H%M%S")


def _repeated(local: datetime) -> bool:
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def unsteady(start: datetime, end: datetime, zone: str) -> bool:
    """Whether apps may read ``[start, end)`` differently when written as wall times.

    True when the start or the end is a wall time the zone shows twice, or when the
    zone's offset changes in between.
    """
    tz = ZoneInfo(zone)
    a, b = start.astimezone(tz), end.astimezone(tz)
    return a.utcoffset() != b.utcoffset() or _repeated(a) or _repeated(b)


def _times(start: datetime, end: datetime, zone: str, *, anchored: bool) -> list[str]:
    """DTSTART and DTEND: wall times in ``zone``, or UTC where wall times are unsteady.

    ``anchored`` (a series' own DTSTART, which its RRULE repeats) is always local.
    """
    if not anchored and unsteady(start, end, zone):
        return [f"DTSTART:{ical_utc(start)}", f"DTEND:{ical_utc(end)}"]
    return [
        f"DTSTART;TZID={zone}:{local_text(start, zone)}",
        f"DTEND;TZID={zone}:{local_text(end, zone)}",
    ]


# --- events -------------------------------------------------------------------------


def _people(event: Event) -> list[str]:
    org = event.organizer
    lines = [f"ORGANIZER;CN={param_value(org.name)}:{mailto(org.email)}"]
    for person in event.attendees:
        lines.append(
            f"ATTENDEE;CN={param_value(person.name)};CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;"
            f"PARTSTAT=ACCEPTED;RSVP=FALSE:{mailto(person.email)}"
        )
    return lines


def component(
    event: Event,
    *,
    dtstamp: datetime,
    start: datetime,
    end: datetime,
    sequence: int,
    last_modified: datetime,
    description: str,
    head: Sequence[str] = (),
    anchored: bool = False,
) -> list[str]:
    """One VEVENT's lines up to its END, so that a series can add its rule, an override
    its RECURRENCE-ID (``head``) and a cancellation its own times."""
    tz = event.timezone
    return [
        "BEGIN:VEVENT",
        f"UID:{raw_value(event.uid)}",
        *head,
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{ical_utc(dtstamp)}",
        f"CREATED:{ical_utc(event.created)}",
        f"LAST-MODIFIED:{ical_utc(last_modified)}",
        *_times(start, end, tz, anchored=anchored),
        f"SUMMARY:{escape_text(event.summary)}",
        *([f"DESCRIPTION:{escape_text(description)}"] if description else []),
        f"URL:{raw_value(event.url)}",
        *_people(event),
        f"STATUS:{event.status}",
        "TRANSP:OPAQUE",
        "CLASS:PRIVATE",
    ]


def vevent_lines(event: Event, *, dtstamp: datetime | None = None) -> list[str]:
    """The event (and, for a series, its overrides) as unfolded content lines."""
    stamp = dtstamp or event.last_modified
    tz = event.timezone
    lines = component(
        event,
        dtstamp=stamp,
        start=event.start,
        end=event.end,
        sequence=event.sequence,
        last_modified=event.last_modified,
        description=event.description,
        anchored=event.recurrence is not None,
    )
    if event.recurrence is not None:
        lines.append(f"RRULE:{event.recurrence.text()}")
        excluded = [local_text(d, tz) for d in event.exdates]
        excluded += [wall.strftime("%Y%m%dT%H%M%S") for wall in event.skipped]
        if excluded:
            lines.append(f"EXDATE;TZID={tz}:{','.join(sorted(set(excluded)))}")
    lines.append("END:VEVENT")
    if event.recurrence is not None:
        for o in sorted(event.overrides, key=lambda o: o.recurrence_id):
            lines += component(
                event,
                dtstamp=dtstamp or o.last_modified,
                start=o.start,
                end=o.end,
                sequence=o.sequence,
                last_modified=o.last_modified,
                description=event.description if o.description is None else o.description,
                head=[f"RECURRENCE-ID;TZID={tz}:{local_text(o.recurrence_id, tz)}"],
            )
            lines.append("END:VEVENT")
    return lines


def vevent(event: Event, *, dtstamp: datetime | None = None) -> bytes:
    return b"".join(fold(line) for line in vevent_lines(event, dtstamp=dtstamp))
