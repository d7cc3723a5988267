"""Plain event builders for the pure iCalendar tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.ical.render import Event, Person

ADA = Person("Ada Lovelace", "ada@example.org")
GRACE = Person("Grace Hopper", "grace@example.org")
MADE = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


def local(zone: str, *args: int) -> datetime:
    """A wall-clock time in ``zone`` as a UTC instant."""
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[misc]


def event(
    *,
    uid: str = "b1@meridian.example",
    start: datetime | None = None,
    minutes: int = 60,
    zone: str = "Europe/Berlin",
    **changes: Any,
) -> Event:
    begin = start or local(zone, 2027, 3, 11, 18, 0)
    base = Event(
        uid=uid,
        sequence=0,
        start=begin,
        end=begin + timedelta(minutes=minutes),
        timezone=zone,
        summary="Mentoring session: Ada Lovelace & Grace Hopper",
        description="Agenda:\n1. Career goals; next steps, and reading\n2. Review",
        url="https://meridian.example/sessions/b1",
        organizer=ADA,
        attendees=(ADA, GRACE),
        status="CONFIRMED",
        created=MADE,
        last_modified=MADE,
    )
    return replace(base, **changes)
