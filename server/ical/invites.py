"""The invitation of one booking, as its participants' calendar apps should receive it."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.config import Settings
from server.core.db import Database
from server.core.errors import NotFound
from server.ical.sessions import (
    BookingRow,
    Links,
    SeriesRow,
    Who,
    agenda_texts,
    expected_starts,
    series_event,
    single_event,
)
from server.ical.vcalendar import invitation, occurrence_cancellation
from server.scheduling.models import Booking, BookingSeries


def links_for(settings: Settings) -> Links:
    return Links(settings.public_url, urlsplit(settings.public_url).hostname or "meridian")


def booking_row(b: Booking) -> BookingRow:
    return BookingRow(
        b.id,
        b.series_id,
        b.occurrence_index,
        b.start_at,
        b.end_at,
        b.status,
        b.sequence,
        agenda_texts(b.agenda),
        b.created_at,
        b.updated_at,
        b.mentor_id,
        b.mentee_id,
    )


def series_row(x: BookingSeries) -> SeriesRow:
    return SeriesRow(
        x.id,
        "monthly" if x.frequency == "monthly" else "weekly",
        x.interval,
        x.count,
        x.until,
        x.timezone,
        x.first_start,
        x.duration_minutes,
        x.created_at,
    )


def _who(u: User) -> Who:
    return Who(u.id, u.name, u.email, u.timezone)


async def invitation_for(
    *, db: Database, settings: Settings, user_id: str, booking_id: str, now: datetime
) -> bytes:
    """REQUEST for a booking (its whole series if it has one), CANCEL once cancelled.

    Only the booking's two participants may read it; anyone else learns nothing (404).
    """
    async with db.read() as s:
        return await invitation_in(
            s, settings=settings, user_id=user_id, booking_id=booking_id, now=now
        )


async def invitation_in(
    s: AsyncSession, *, settings: Settings, user_id: str, booking_id: str, now: datetime
) -> bytes:
    """`invitation_for` read in the caller's transaction (the outbox's, when mailing it)."""
    booking = await s.get(Booking, booking_id)
    if booking is None or user_id not in (booking.mentor_id, booking.mentee_id):
        raise NotFound("There is no such booking.")
    mentor = await s.get(User, booking.mentor_id)
    mentee = await s.get(User, booking.mentee_id)
    series = await s.get(BookingSeries, booking.series_id) if booking.series_id else None
    siblings = (
        list(await s.scalars(select(Booking).where(Booking.series_id == series.id)))
        if series is not None
        else []
    )
    if mentor is None or mentee is None:
        raise NotFound("There is no such booking.")
    links = links_for(settings)
    row = booking_row(booking)
    if series is None:
        return invitation(single_event(row, _who(mentor), _who(mentee), links), now=now)
    rows = [booking_row(b) for b in siblings]
    event = series_event(series_row(series), rows, _who(mentor), _who(mentee), links)
    if row.live or event.status == "CANCELLED":
        return invitation(event, now=now)
    # One cancelled occurrence of a series that goes on: cancel just that occurrence.
    expected = expected_starts(series_row(series))
    original = expected.get(row.occurrence_index or 0, row.start)
    return occurrence_cancellation(
        event, recurrence_id=original, sequence=max(r.sequence for r in rows), now=now
    )
