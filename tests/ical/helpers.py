"""Sessions for calendar tests, stored (tests.factories.rows) and announced as the service does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import update

from server.core.keys import BUS, CLOCK, DB
from server.ical.feeds.service import calendars_changed
from server.scheduling.models import Booking
from server.scheduling.recurrence import Rule, expand
from tests import waiting
from tests.factories import rows
from tests.waiting import DEADLINE_SECONDS

Client = Any


async def book(
    app: web.Application,
    mentor_id: str,
    mentee_id: str,
    start: datetime,
    *,
    minutes: int = 60,
    agenda: list[str] | None = None,
    announce: bool = True,
) -> str:
    """A confirmed single session, announced on the bus as the booking service does."""
    row = await rows.store_booking(
        app, mentor_id, mentee_id, start, minutes=minutes, agenda=agenda or []
    )
    if announce:
        await calendars_changed(app[BUS], mentor_id, mentee_id)
    return row.id


async def book_series(
    app: web.Application,
    mentor_id: str,
    mentee_id: str,
    first: datetime,
    *,
    zone: str,
    count: int,
    minutes: int = 60,
) -> tuple[str, list[str]]:
    """A weekly series anchored in ``zone`` with one booking row per occurrence."""
    now = app[CLOCK].now()
    epoch = datetime.fromtimestamp(0, first.tzinfo)
    # Periods whose wall time does not exist that day have no booking, as in the service.
    starts = [
        (o.index, epoch + timedelta(minutes=o.start))
        for o in expand(
            Rule("weekly", 1, count, None), int((first - epoch).total_seconds() // 60), zone
        )
        if o.start is not None
    ]
    async with app[DB].write() as s:
        ship = await rows.active_mentorship(s, mentor_id=mentor_id, mentee_id=mentee_id, now=now)
        series = rows.series(
            mentorship=ship, first=first, zone=zone, count=count, now=now, minutes=minutes
        )
        s.add(series)
        await s.flush()
        bookings = [
            rows.booking(
                mentorship=ship,
                start=start,
                now=now,
                minutes=minutes,
                series_id=series.id,
                occurrence_index=index,
            )
            for index, start in starts
        ]
        s.add_all(bookings)
    await calendars_changed(app[BUS], mentor_id, mentee_id)
    return series.id, [b.id for b in bookings]


async def change(app: web.Application, booking_id: str, **values: Any) -> None:
    """Change a booking as the scheduling service does: bump SEQUENCE, then announce it."""
    now = app[CLOCK].now()
    async with app[DB].write() as s:
        booking = await s.get(Booking, booking_id)
        assert booking is not None
        await s.execute(
            update(Booking)
            .where(Booking.id == booking_id)
            .values(sequence=booking.sequence + 1, updated_at=now, **values)
        )
        people = (booking.mentor_id, booking.mentee_id)
    await calendars_changed(app[BUS], *people)


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float = DEADLINE_SECONDS
) -> None:
    """Until `check()` holds (what another task or process does arrives a little later)."""
    await waiting.eventually(check, within=seconds)
