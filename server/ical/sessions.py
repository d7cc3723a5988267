"""Bookings as calendar events: a single session is one VEVENT, a series is one VEVENT
with its RRULE, EXDATEs for the occurrences that do not happen and RECURRENCE-ID
overrides for the ones that were moved.

Pure: plain rows in, ``render.Event`` out. The series rule is the scheduling rule
(``server.scheduling.recurrence``) written as RRULE: the expected start of every period
is computed with the same code that created the bookings, so any period without a
confirmed booking at its expected time becomes an EXDATE or an override.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from server.ical.render import Event, Override, Person, Recurrence, Status, unsteady
from server.scheduling.recurrence import Rule, expand

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BookingRow:
    id: str
    series_id: str | None
    occurrence_index: int | None
    start: datetime
    end: datetime
    status: str
    sequence: int
    agenda: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    mentor_id: str
    mentee_id: str

    @property
    def live(self) -> bool:
        return self.status != "cancelled"


@dataclass(frozen=True, slots=True)
class SeriesRow:
    id: str
    frequency: Literal["weekly", "monthly"]
    interval: int
    count: int | None
    until: date | None
    timezone: str
    first_start: datetime
    duration_minutes: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Who:
    id: str
    name: str
    email: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Links:
    """Where a session lives on this server, and the host part of its UIDs."""

    public_url: str
    uid_domain: str

    def room(self, booking_id: str) -> str:
        return f"{self.public_url}/sessions/{booking_id}/call"


def agenda_texts(agenda: Any) -> tuple[str, ...]:
    items = agenda if isinstance(agenda, list) else []
    texts = []
    for item in items:
        text = item.get("text") if isinstance(item, dict) else item
        if isinstance(text, str) and text.strip():
            texts.append(text.strip())
    return tuple(texts)


def _description(agenda: Sequence[str], url: str) -> str:
    lines = []
    if agenda:
        lines.append("Agenda:")
        lines += [f"- {text}" for text in agenda]
        lines.append("")
    lines.append(f"Join the session: {url}")
    return "\n".join(lines)


def _summary(mentor: Who, mentee: Who) -> str:
    return f"Mentoring: {mentor.name} & {mentee.name}"


def _status(row: BookingRow) -> Status:
    return "CONFIRMED" if row.live else "CANCELLED"


def single_event(row: BookingRow, mentor: Who, mentee: Who, links: Links) -> Event:
    url = links.room(row.id)
    return Event(
        uid=f"booking-{row.id}@{links.uid_domain}",
        sequence=row.sequence,
        start=row.start,
        end=row.end,
        timezone=mentor.timezone,
        summary=_summary(mentor, mentee),
        description=_description(row.agenda, url),
        url=url,
        organizer=Person(mentor.name, mentor.email),
        attendees=(Person(mentor.name, mentor.email), Person(mentee.name, mentee.email)),
        status=_status(row),
        created=row.created_at,
        last_modified=row.updated_at,
    )


def _minute(instant: datetime) -> int:
    return int((instant - EPOCH).total_seconds() // 60)


def _instant(minute: int) -> datetime:
    return EPOCH + timedelta(minutes=minute)


def series_uid(series_id: str, links: Links) -> str:
    return f"series-{series_id}@{links.uid_domain}"


def expected_starts(series: SeriesRow) -> dict[int, datetime]:
    """Where each period of the series starts by its rule (periods that exist only)."""
    rule = Rule(series.frequency, series.interval, series.count, series.until)
    periods = expand(rule, _minute(series.first_start), series.timezone)
    return {p.index: _instant(p.start) for p in periods if p.start is not None}


def skipped_walls(series: SeriesRow) -> list[datetime]:
    """The wall times (naive, in the series' zone) the rule names on days that skip them.

    Dates that do not exist (31 February) need nothing: RRULE skips them itself.
    """
    rule = Rule(series.frequency, series.interval, series.count, series.until)
    periods = expand(rule, _minute(series.first_start), series.timezone)
    clock = series.first_start.astimezone(ZoneInfo(series.timezone)).time()
    return [
        datetime.combine(p.local_date, clock) for p in periods if p.skipped == "nonexistent-time"
    ]


def series_event(
    series: SeriesRow, rows: Sequence[BookingRow], mentor: Who, mentee: Who, links: Links
) -> Event:
    """The whole series as one event; STATUS:CANCELLED once no occurrence is left."""
    by_index = {r.occurrence_index: r for r in rows if r.live and r.occurrence_index is not None}
    duration = timedelta(minutes=series.duration_minutes)
    expected = sorted(expected_starts(series).items())
    exdates: list[datetime] = []
    overrides: list[Override] = []
    for index, start in expected:
        row = by_index.get(index)
        if row is None:
            exdates.append(start)
        elif (
            row.start != start
            or row.end != start + duration
            # Wall times apps read differently: this occurrence gets explicit instants.
            or unsteady(start, start + duration, series.timezone)
        ):
            overrides.append(
                Override(
                    recurrence_id=start,
                    start=row.start,
                    end=row.end,
                    sequence=row.sequence,
                    last_modified=row.updated_at,
                    description=_description(row.agenda, links.room(row.id)),
                )
            )
    first = min(rows, key=lambda r: (r.occurrence_index is None, r.occurrence_index or 0))
    head = by_index.get(0, first)
    url = links.room(head.id)
    last_start = expected[-1][1] if expected else series.first_start
    return Event(
        uid=series_uid(series.id, links),
        sequence=max(r.sequence for r in rows),
        start=series.first_start,
        end=series.first_start + duration,
        timezone=series.timezone,
        summary=_summary(mentor, mentee),
        description=_description(head.agenda, url),
        url=url,
        organizer=Person(mentor.name, mentor.email),
        attendees=(Person(mentor.name, mentor.email), Person(mentee.name, mentee.email)),
        status="CONFIRMED" if any(r.live for r in rows) else "CANCELLED",
        created=series.created_at,
        last_modified=max(r.updated_at for r in rows),
        recurrence=Recurrence(
            "WEEKLY" if series.frequency == "weekly" else "MONTHLY",
            interval=series.interval,
            until=last_start,
        ),
        exdates=tuple(exdates),
        overrides=tuple(overrides),
        skipped=tuple(skipped_walls(series)),
    )
