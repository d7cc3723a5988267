"""Reminders 24 hours and 15 minutes before each session, and DST-shift notices.

They are queued in the outbox with the booking (one row per person and reminder, keyed
by booking, person and kind, so none is queued twice) and delivered by the outbox's
job, once however many processes run. A cancelled session's waiting reminders are
dropped; a moved one is reminded afresh, even if its old time was reminded of.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.notifications import email, outbox
from server.notifications.models import OutboxItem
from server.scheduling import recurrence as rec
from server.scheduling import slots as sl
from server.scheduling.models import Booking
from server.scheduling.sessions import shift_wire

KIND = "booking.reminder"
REMINDERS = (("24h", timedelta(hours=24)), ("15m", timedelta(minutes=15)))
SHIFT_NOTICE = timedelta(days=7)


async def _queue(
    s: AsyncSession, b: Booking, user_id: str, which: str, due: datetime, shift: object = None
) -> None:
    payload: dict[str, object] = {"booking_id": b.id, "reminder": which}
    if shift is not None:
        payload["shift"] = shift
    await outbox.enqueue(
        session=s,
        user_id=user_id,
        kind=KIND,
        key=f"{KIND}:{b.id}:{user_id}:{which}",
        subject=b.id,
        due_at=due,
        payload=payload,
    )


async def schedule(s: AsyncSession, b: Booking, now: datetime) -> None:
    """Queue both people's 24-hour and 15-minute reminders that are still ahead."""
    for which, ahead in REMINDERS:
        due = b.start_at - ahead
        if due <= now:
            continue
        for user_id in (b.mentor_id, b.mentee_id):
            await _queue(s, b, user_id, which, due)


async def schedule_shifts(
    s: AsyncSession,
    bookings: Sequence[Booking],
    shifts: Sequence[rec.Shift],
    mentee_id: str,
    now: datetime,
) -> None:
    """Tell the mentee a week ahead (or now) of each session a DST change moves for them."""
    by_start = {sl.to_minute(b.start_at): b for b in bookings}
    for shift in shifts:
        b = by_start.get(shift.start)
        if b is None:
            continue
        due = max(now, b.start_at - SHIFT_NOTICE)
        await _queue(s, b, mentee_id, "shift", due, shift_wire(shift))


async def forget(s: AsyncSession, booking_ids: Iterable[str], *, sent_too: bool) -> None:
    """Drop the bookings' waiting reminders (with ``sent_too``, the sent ones' keys too)."""
    await outbox.cancel(session=s, subjects=booking_ids, kinds=[KIND], delivered_too=sent_too)


def _text(
    which: str, shift: dict[str, object], booking: Booking, person: User, other: User
) -> tuple[str, str]:
    zone = ZoneInfo(person.timezone)
    local = booking.start_at.astimezone(zone)
    when = f"{local:%a} {local.day} {local:%b, %H:%M} ({person.timezone})"
    if which == "shift":
        return (
            f"Your session time with {other.name} changes on {local:%a} {local.day} {local:%b}",
            f"Because of a daylight-saving change it starts at {shift.get('local')} your time "
            f"instead of {shift.get('previous_local')}; {other.name}'s time stays the same.",
        )
    soon = "in 24 hours" if which == "24h" else "in 15 minutes"
    return (f"Session with {other.name} {soon}: {when}", f"Your session starts {when}.")


async def render(
    s: AsyncSession, item: OutboxItem, context: outbox.Context
) -> outbox.Delivery | None:
    """The reminder in-app and by email, unless the session is gone, cancelled or begun."""
    booking = await s.get(Booking, str(item.payload.get("booking_id")))
    if booking is None or booking.status != "confirmed" or booking.start_at <= context.now:
        return None  # too late to remind
    person = await s.get(User, item.user_id)
    other_id = booking.mentee_id if item.user_id == booking.mentor_id else booking.mentor_id
    other = await s.get(User, other_id)
    if person is None or other is None:
        return None
    which = str(item.payload.get("reminder"))
    shift = item.payload.get("shift")
    title, body = _text(which, shift if isinstance(shift, dict) else {}, booking, person, other)
    settings = context.settings
    text = body + "\n\n" + settings.public_url + "/sessions\n"
    return outbox.Delivery(
        notice=outbox.Notice(
            kind=f"booking.reminder.{which}",
            title=title,
            body=body,
            link="/sessions",
            data={"booking_id": booking.id, "kind": which},
        ),
        email=email.new_message(settings, to=person.email, subject=title, text=text),
        what="a reminder",
    )


REMINDER = outbox.Kind(KIND, render)
