"""Changing booked sessions: what a change applies to (this occurrence, the following
ones or all upcoming ones), telling both people, and cancelling, also of a mentorship's
upcoming sessions when it ends. Moving is ``moving.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.core.bus import EventBus
from server.core.errors import Conflict
from server.mentorship.stopping import AfterCommit, Stopping
from server.notifications import service as notifications
from server.notifications.models import Notification
from server.scheduling import reminders
from server.scheduling.models import Booking, BookingParticipant
from server.scheduling.schemas import CancelIn, ChangeOut
from server.scheduling.service import Context, announce, announce_on_bus
from server.scheduling.sessions import booking_out, participant_booking, people_by_id, when_text


async def targets_of(s: AsyncSession, b: Booking, scope: str, now: datetime) -> list[Booking]:
    """The confirmed, not yet started bookings a change with ``scope`` applies to."""
    if b.series_id is None or scope == "this":
        return [b]
    q = select(Booking).where(
        Booking.series_id == b.series_id,
        Booking.status == "confirmed",
        Booking.start_at > now,
    )
    if scope == "following":
        q = q.where(Booking.start_at >= b.start_at)
    found = list(await s.scalars(q.order_by(Booking.start_at)))
    if b not in found:
        found.insert(0, b)
    return found


def require_changeable(b: Booking, now: datetime) -> None:
    if b.status != "confirmed":
        raise Conflict("This session was cancelled; it cannot be changed.")
    if b.start_at <= now:
        raise Conflict("This session has already started; it cannot be changed.")


def stage_changed(
    s: AsyncSession,
    now: datetime,
    actor: User,
    people: dict[str, User],
    changed: Sequence[Booking],
    what: str,
    reason: str = "",
) -> list[Notification]:
    first = changed[0]
    notes = []
    for user_id in (first.mentor_id, first.mentee_id):
        person = people[user_id]
        other = people[first.mentee_id if user_id == first.mentor_id else first.mentor_id]
        who = "You" if user_id == actor.id else actor.name
        many = f" ({len(changed)} sessions)" if len(changed) > 1 else ""
        if what == "moved":
            moved_to = when_text(first.start_at, person.timezone)
            title = f"Session with {other.name} moved to {moved_to}{many}"
        else:
            when = when_text(first.start_at, person.timezone)
            title = f"Session with {other.name} on {when} cancelled{many}"
        notes.append(
            notifications.stage(
                s,
                now=now,
                user_id=user_id,
                kind=f"booking.{what}",
                title=title,
                body=f"{who} {what} it." + (f" Reason: {reason}" if reason else ""),
                link="/sessions",
                data={"booking_ids": [b.id for b in changed]},
            )
        )
    return notes


# --- cancelling -------------------------------------------------------------------------------


async def _cancel_rows(
    s: AsyncSession, targets: Sequence[Booking], now: datetime, actor_id: str, reason: str
) -> list[str]:
    """Cancel these bookings: the time is freed and unsent reminders are dropped."""
    ids = [t.id for t in targets]
    for t in targets:
        t.status = "cancelled"
        t.sequence += 1
        t.cancel_reason = reason
        t.cancelled_by = actor_id
        t.updated_at = now
    await s.execute(delete(BookingParticipant).where(BookingParticipant.booking_id.in_(ids)))
    await reminders.forget(s, ids, sent_too=False)
    return ids


async def cancel(ctx: Context, user: User, booking_id: str, data: CancelIn) -> ChangeOut:
    async with ctx.db.write() as s:
        b = await participant_booking(s, booking_id, user.id)
        require_changeable(b, ctx.now)
        targets = await targets_of(s, b, data.scope, ctx.now)
        ids = await _cancel_rows(s, targets, ctx.now, user.id, data.reason)
        people = await people_by_id(s, {b.mentor_id, b.mentee_id})
        notes = stage_changed(s, ctx.now, user, people, targets, "cancelled", data.reason)
    await announce(ctx, notes, [b.mentor_id, b.mentee_id], ids)
    return ChangeOut(items=[booking_out(t, people) for t in targets])


@dataclass
class Cancelled:
    """Sessions cancelled inside someone else's transaction, to announce after it commits."""

    booking_ids: list[str]
    people: list[str]
    notes: list[Notification]


async def cancel_upcoming(
    s: AsyncSession, *, mentorship_id: str, now: datetime, actor: User, reason: str
) -> Cancelled:
    """Cancel every confirmed session of a mentorship that has not started yet.

    Runs in the caller's transaction (a mentorship ending or completing), exactly as a
    cancel would: status, sequence, freed time, dropped reminders, both people told.
    """
    targets = list(
        await s.scalars(
            select(Booking)
            .where(
                Booking.mentorship_id == mentorship_id,
                Booking.status == "confirmed",
                Booking.start_at > now,
            )
            .order_by(Booking.id)
            .with_for_update()
        )
    )
    if not targets:
        return Cancelled([], [], [])
    targets.sort(key=lambda t: t.start_at)
    ids = await _cancel_rows(s, targets, now, actor.id, reason)
    first = targets[0]
    people = await people_by_id(s, {first.mentor_id, first.mentee_id})
    notes = stage_changed(s, now, actor, people, targets, "cancelled", reason)
    return Cancelled(ids, [first.mentor_id, first.mentee_id], notes)


async def announce_cancelled(bus: EventBus, cancelled: Cancelled) -> None:
    """What a cancel announces: notifications, both calendars, and "bookings changed"."""
    if not cancelled.booking_ids:
        return
    await announce_on_bus(bus, cancelled.notes, cancelled.people, cancelled.booking_ids)


async def when_mentorship_stops(stop: Stopping) -> AfterCommit:
    """A mentorship ended or completed: cancel its upcoming sessions in the same transaction."""
    cancelled = await cancel_upcoming(
        stop.session,
        mentorship_id=stop.mentorship_id,
        now=stop.now,
        actor=stop.actor,
        reason=stop.reason,
    )

    async def announce(bus: EventBus) -> None:
        await announce_cancelled(bus, cancelled)

    return announce
