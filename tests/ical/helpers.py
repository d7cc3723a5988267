"""Booking rows for calendar tests, written to the real database, and feed fetching."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select, update

from server import keys
from server.core.ids import new_id
from server.db.models import Booking, BookingSeries, Mentorship
from server.ical.feeds.service import calendars_changed
from server.scheduling.recurrence import Rule, expand
from tests import waiting
from tests.waiting import DEADLINE_SECONDS

Client = Any


async def mentorship(app: web.Application, mentor_id: str, mentee_id: str) -> str:
    now = app[keys.CLOCK].now()
    async with app[keys.DB].write() as s:
        found = await s.scalar(
            select(Mentorship.id).where(
                Mentorship.mentor_id == mentor_id, Mentorship.mentee_id == mentee_id
            )
        )
        if found is not None:
            return found
        row = Mentorship(
            id=new_id(),
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            state="active",
            message="",
            created_at=now,
            expires_at=now + timedelta(days=14),
            state_changed_at=now,
            state_reason="",
            agreed_version=None,
        )
        s.add(row)
    return row.id


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
    mid = await mentorship(app, mentor_id, mentee_id)
    now = app[keys.CLOCK].now()
    row = Booking(
        id=new_id(),
        mentorship_id=mid,
        mentor_id=mentor_id,
        mentee_id=mentee_id,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        status="confirmed",
        sequence=0,
        agenda=[{"text": t, "done": False} for t in agenda or []],
        notes="",
        cancel_reason="",
        created_by=mentee_id,
        created_at=now,
        updated_at=now,
    )
    async with app[keys.DB].write() as s:
        s.add(row)
    if announce:
        await calendars_changed(app[keys.BUS], mentor_id, mentee_id)
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
    mid = await mentorship(app, mentor_id, mentee_id)
    now = app[keys.CLOCK].now()
    epoch = datetime.fromtimestamp(0, first.tzinfo)
    # Periods whose wall time does not exist that day have no booking, as in the service.
    starts = [
        (o.index, epoch + timedelta(minutes=o.start))
        for o in expand(
            Rule("weekly", 1, count, None), int((first - epoch).total_seconds() // 60), zone
        )
        if o.start is not None
    ]
    series = BookingSeries(
        id=new_id(),
        mentorship_id=mid,
        frequency="weekly",
        interval=1,
        count=count,
        until=None,
        timezone=zone,
        first_start=first,
        duration_minutes=minutes,
        created_by=mentee_id,
        created_at=now,
    )
    ids = []
    async with app[keys.DB].write() as s:
        s.add(series)
        await s.flush()
        for index, start in starts:
            booking = Booking(
                id=new_id(),
                mentorship_id=mid,
                mentor_id=mentor_id,
                mentee_id=mentee_id,
                series_id=series.id,
                occurrence_index=index,
                start_at=start,
                end_at=start + timedelta(minutes=minutes),
                status="confirmed",
                sequence=0,
                agenda=[],
                notes="",
                cancel_reason="",
                created_by=mentee_id,
                created_at=now,
                updated_at=now,
            )
            s.add(booking)
            ids.append(booking.id)
    await calendars_changed(app[keys.BUS], mentor_id, mentee_id)
    return series.id, ids


async def change(app: web.Application, booking_id: str, **values: Any) -> None:
    """Change a booking as the scheduling service does: bump SEQUENCE, then announce it."""
    now = app[keys.CLOCK].now()
    async with app[keys.DB].write() as s:
        booking = await s.get(Booking, booking_id)
        assert booking is not None
        await s.execute(
            update(Booking)
            .where(Booking.id == booking_id)
            .values(sequence=booking.sequence + 1, updated_at=now, **values)
        )
        people = (booking.mentor_id, booking.mentee_id)
    await calendars_changed(app[keys.BUS], *people)


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float = DEADLINE_SECONDS
) -> None:
    """Until `check()` holds (what another task or process does arrives a little later)."""
    await waiting.eventually(check, within=seconds)
