"""Reading bookings and their content: lists, one booking, agenda, notes and feedback.

Bookings are served as ``BookingOut`` (``booking_out``), the wire model the OpenAPI
document describes, so what is served is what is documented.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.core.bus import EventBus, publish_or_log
from server.core.db import Database
from server.core.errors import Conflict, NotFound, field_error
from server.scheduling import recurrence as rec
from server.scheduling import slots as sl
from server.scheduling.models import Booking, BookingFeedback
from server.scheduling.schemas import (
    AgendaIn,
    AgendaItem,
    BookingList,
    BookingOut,
    BookingsQuery,
    FeedbackIn,
    FeedbackOut,
    NotesIn,
    PersonOut,
    ShiftOut,
)

NO_BOOKING = "There is no such booking."


# --- bookings: shaping ------------------------------------------------------------------------


def local_text(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).isoformat()


def _person(user: User) -> PersonOut:
    return PersonOut(id=user.id, name=user.name, timezone=user.timezone)


def booking_out(
    b: Booking,
    people: dict[str, User],
    feedback: Sequence[BookingFeedback] = (),
    shift: ShiftOut | None = None,
) -> BookingOut:
    mentor, mentee = people[b.mentor_id], people[b.mentee_id]
    return BookingOut(
        id=b.id,
        mentorship_id=b.mentorship_id,
        series_id=b.series_id,
        occurrence_index=b.occurrence_index,
        status=b.status,
        sequence=b.sequence,
        start=_utc(b.start_at),
        end=_utc(b.end_at),
        duration_minutes=int((b.end_at - b.start_at).total_seconds() // 60),
        original_start=_utc(b.original_start) if b.original_start else None,
        mentor=_person(mentor),
        mentee=_person(mentee),
        mentor_local=local_text(b.start_at, mentor.timezone),
        mentee_local=local_text(b.start_at, mentee.timezone),
        agenda=[AgendaItem.model_validate(i) for i in b.agenda],
        notes=b.notes,
        feedback=[
            FeedbackOut(
                user_id=f.user_id,
                rating=f.rating,
                comment=f.comment,
                created_at=_utc(f.created_at),
            )
            for f in feedback
        ],
        cancel_reason=b.cancel_reason,
        created_at=_utc(b.created_at),
        updated_at=_utc(b.updated_at),
        shift=shift,
    )


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def shift_out(shift: rec.Shift) -> ShiftOut:
    return ShiftOut.model_validate(shift_wire(shift))


def shift_wire(shift: rec.Shift) -> dict[str, object]:
    """A shift as stored with its reminder (and served, through ``ShiftOut``)."""
    return {
        "index": shift.index,
        "start": sl.utc_iso(shift.start),
        "previous_local": shift.previous_local,
        "local": shift.local,
        "minutes": shift.minutes,
        "cause": shift.cause,
    }


async def people_by_id(s: AsyncSession, ids: Collection[str]) -> dict[str, User]:
    rows = await s.scalars(select(User).where(User.id.in_(list(ids))))
    return {u.id: u for u in rows}


def when_text(instant: datetime, zone: str) -> str:
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({zone})"


# --- bookings: reading -----------------------------------------------------------------------


async def participant_booking(s: AsyncSession, booking_id: str, user_id: str) -> Booking:
    b = await s.get(Booking, booking_id)
    if b is None or user_id not in (b.mentor_id, b.mentee_id):
        raise NotFound(NO_BOOKING)
    return b


async def shifts_by_series(
    s: AsyncSession, bookings: Sequence[Booking], people: dict[str, User]
) -> list[tuple[list[Booking], list[rec.Shift]]]:
    """For each series among ``bookings``: its confirmed occurrences as they now are, and
    where the mentee's wall time moves between them."""
    out: list[tuple[list[Booking], list[rec.Shift]]] = []
    for series_id in {b.series_id for b in bookings if b.series_id}:
        rows = list(
            await s.scalars(
                select(Booking)
                .where(Booking.series_id == series_id, Booking.status == "confirmed")
                .order_by(Booking.start_at)
            )
        )
        if len(rows) < 2:
            continue
        mentor, mentee = people[rows[0].mentor_id], people[rows[0].mentee_id]
        found = rec.guest_shifts(
            [(b.occurrence_index or 0, sl.to_minute(b.start_at)) for b in rows],
            mentor.timezone,
            mentee.timezone,
        )
        out.append((rows, found))
    return out


async def _series_shifts(
    s: AsyncSession, bookings: Sequence[Booking], people: dict[str, User]
) -> dict[str, ShiftOut]:
    """Where the mentee's wall time moves inside each series shown."""
    out: dict[str, ShiftOut] = {}
    for rows, found in await shifts_by_series(s, bookings, people):
        by_start = {sl.to_minute(b.start_at): b.id for b in rows}
        for x in found:
            if x.start in by_start:
                out[by_start[x.start]] = shift_out(x)
    return out


async def list_bookings(
    *, db: Database, now: datetime, user: User, query: BookingsQuery
) -> BookingList:
    start = query.start or now - timedelta(days=30)
    end = query.end or now + timedelta(days=365)
    if (end - start).days > 800:
        raise field_error("end", "ask for at most 800 days at a time")
    async with db.read() as s:
        q = select(Booking).where(
            (Booking.mentor_id == user.id) | (Booking.mentee_id == user.id),
            Booking.end_at > start,
            Booking.start_at < end,
        )
        if not query.include_cancelled:
            q = q.where(Booking.status == "confirmed")
        bookings = list(await s.scalars(q.order_by(Booking.start_at, Booking.id).limit(2000)))
        people = await people_by_id(
            s, {b.mentor_id for b in bookings} | {b.mentee_id for b in bookings}
        )
        shifts = await _series_shifts(s, bookings, people)
        feedback = await _feedback(s, [b.id for b in bookings])
    return BookingList(
        items=[booking_out(b, people, feedback.get(b.id, ()), shifts.get(b.id)) for b in bookings]
    )


async def _feedback(s: AsyncSession, ids: Sequence[str]) -> dict[str, list[BookingFeedback]]:
    out: dict[str, list[BookingFeedback]] = {}
    if not ids:
        return out
    for f in await s.scalars(
        select(BookingFeedback).where(BookingFeedback.booking_id.in_(list(ids)))
    ):
        out.setdefault(f.booking_id, []).append(f)
    return out


async def get_booking(*, db: Database, user: User, booking_id: str) -> BookingOut:
    async with db.read() as s:
        b = await participant_booking(s, booking_id, user.id)
        people = await people_by_id(s, {b.mentor_id, b.mentee_id})
        shifts = await _series_shifts(s, [b], people)
        feedback = await _feedback(s, [b.id])
    return booking_out(b, people, feedback.get(b.id, ()), shifts.get(b.id))


# --- session content --------------------------------------------------------------------------


async def put_agenda(
    *, db: Database, bus: EventBus, now: datetime, user: User, booking_id: str, data: AgendaIn
) -> BookingOut:
    async with db.write() as s:
        b = await participant_booking(s, booking_id, user.id)
        if b.status != "confirmed":
            raise Conflict("This session was cancelled.")
        b.agenda = [i.model_dump() for i in data.items]
        b.updated_at = now
        people = (b.mentor_id, b.mentee_id)
    # The agenda is the description of the session in both people's calendars.
    event = {"type": "agenda-changed", "booking_ids": [booking_id]}
    for user_id in people:
        await publish_or_log(bus, f"calendar:{user_id}", event)
    return await get_booking(db=db, user=user, booking_id=booking_id)


async def put_notes(
    *, db: Database, now: datetime, user: User, booking_id: str, data: NotesIn
) -> BookingOut:
    async with db.write() as s:
        b = await participant_booking(s, booking_id, user.id)
        if b.status != "confirmed":
            raise Conflict("This session was cancelled.")
        b.notes = data.text
        b.updated_at = now
    return await get_booking(db=db, user=user, booking_id=booking_id)


async def add_feedback(
    *, db: Database, now: datetime, user: User, booking_id: str, data: FeedbackIn
) -> BookingOut:
    try:
        async with db.write() as s:
            b = await participant_booking(s, booking_id, user.id)
            if b.status != "confirmed":
                raise Conflict("This session was cancelled; there is nothing to rate.")
            if b.start_at > now:
                raise Conflict("Feedback opens once the session has started.")
            exists = await s.get(BookingFeedback, (booking_id, user.id))
            if exists is not None:
                raise Conflict("You already gave feedback on this session.")
            s.add(
                BookingFeedback(
                    booking_id=booking_id,
                    user_id=user.id,
                    rating=data.rating,
                    comment=data.comment,
                    created_at=now,
                )
            )
    except IntegrityError:
        raise Conflict("You already gave feedback on this session.") from None
    return await get_booking(db=db, user=user, booking_id=booking_id)
