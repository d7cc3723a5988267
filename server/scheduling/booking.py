"""Booking a session or a series, and previewing what a booking would give.

A booking is judged twice: once before the write, to refuse early what cannot be had
(a 422), and again inside the write transaction against what is taken then (a 409,
through ``service.as_conflict``). A series is expanded in the mentor's zone first; with
``skip_conflicts`` its free occurrences are booked and the others reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.core.errors import Conflict, NotFound, field_error
from server.core.ids import new_id
from server.mentorship.models import Mentorship
from server.notifications import service as notifications
from server.notifications.models import Notification
from server.scheduling import recurrence as rec
from server.scheduling import reminders
from server.scheduling import slots as sl
from server.scheduling.availability import Plan, load_plan
from server.scheduling.busy import imported_busy, load_taken
from server.scheduling.conflicts import Refusal, available, judge
from server.scheduling.models import Booking, BookingSeries
from server.scheduling.schemas import (
    BookingCreated,
    BookingIn,
    BookingPreview,
    PreviewOccurrence,
    RecurrenceIn,
    SkippedOut,
)
from server.scheduling.service import (
    Context,
    Refused,
    announce,
    as_conflict,
    check_start,
    holds,
    lock_mentorship,
    outside_availability,
    require_active,
    span,
)
from server.scheduling.sessions import booking_out, local_text, shift_out, shift_wire, when_text


def _expand(
    data: RecurrenceIn | None, start: int, zone: str
) -> tuple[list[tuple[int, int]], list[rec.Occurrence]]:
    if data is None:
        return [(0, start)], []
    rule = rec.Rule(data.frequency, data.interval, data.count, data.until)
    try:
        found = rec.expand(rule, start, zone)
    except rec.RecurrenceError as exc:
        raise field_error(exc.field, str(exc)) from None
    starts = [(o.index, o.start) for o in found if o.start is not None]
    return starts, [o for o in found if o.start is None]


async def _mentorship_for_booking(s: AsyncSession, mentorship_id: str, user_id: str) -> Mentorship:
    m = await s.scalar(
        select(Mentorship).where(
            Mentorship.id == mentorship_id,
            (Mentorship.mentor_id == user_id) | (Mentorship.mentee_id == user_id),
        )
    )
    if m is None:
        raise NotFound("There is no such mentorship.")
    if m.state != "active":
        raise Conflict(
            f"Sessions can only be booked in an active mentorship; this one is {m.state}."
        )
    return m


async def _prepare(
    ctx: Context, user: User, data: BookingIn
) -> tuple[Mentorship, Plan, User, list[tuple[int, int]], list[rec.Occurrence], int]:
    async with ctx.db.read() as s:
        m = await _mentorship_for_booking(s, data.mentorship_id, user.id)
        host = await load_plan(s, m.mentor_id)
        mentee = await s.get(User, m.mentee_id)
        assert mentee is not None
    start = check_start(data.start, ctx.now)
    starts, skipped = _expand(data.recurrence, start, host.rules.timezone)
    if not starts or starts[0][1] != start:
        raise field_error("start", "the first session's time does not exist in the mentor's zone")
    if not available(host.rules, start, data.duration_minutes, sl.to_minute(ctx.now), True):
        raise outside_availability()
    return m, host, mentee, starts, skipped, start


def _skipped(o: rec.Occurrence) -> SkippedOut:
    return SkippedOut.model_validate({"index": o.index, "date": o.when, "reason": o.skipped})


async def preview(ctx: Context, user: User, data: BookingIn) -> BookingPreview:
    m, host, mentee, starts, skipped, _ = await _prepare(ctx, user, data)
    duration = data.duration_minutes
    lo, hi = span(starts, duration)
    people = [m.mentor_id, m.mentee_id]
    async with ctx.db.read() as s:
        taken = await load_taken(s, host_id=m.mentor_id, user_ids=people, lo=lo, hi=hi)
    taken.padded.extend(await imported_busy(ctx.sources, people, lo, hi))
    problems = {
        p.index: p.reason for p in judge(host.rules, taken, starts, duration, sl.to_minute(ctx.now))
    }
    shifts = rec.guest_shifts(starts, host.rules.timezone, mentee.timezone)
    items = []
    for index, start in starts:
        when = sl.from_minute(start)
        items.append(
            PreviewOccurrence(
                index=index,
                start=when,
                end=sl.from_minute(start + duration),
                mentor_local=local_text(when, host.user.timezone),
                mentee_local=local_text(when, mentee.timezone),
                problem=problems.get(index),
            )
        )
    return BookingPreview(
        items=items,
        skipped=[_skipped(o) for o in skipped],
        shifts=[shift_out(x) for x in shifts],
    )


def _new_booking(m: Mentorship, user: User, now: datetime, start: int, duration: int) -> Booking:
    return Booking(
        id=new_id(),
        mentorship_id=m.id,
        mentor_id=m.mentor_id,
        mentee_id=m.mentee_id,
        series_id=None,
        occurrence_index=None,
        original_start=None,
        start_at=sl.from_minute(start),
        end_at=sl.from_minute(start + duration),
        status="confirmed",
        sequence=0,
        agenda=[],
        notes="",
        cancel_reason="",
        cancelled_by=None,
        created_by=user.id,
        created_at=now,
        updated_at=now,
    )


async def create_booking(ctx: Context, user: User, data: BookingIn) -> BookingCreated:
    m, host, mentee, starts, skipped, _ = await _prepare(ctx, user, data)
    duration = data.duration_minutes
    lo, hi = span(starts, duration)
    people = [m.mentor_id, m.mentee_id]
    imported = await imported_busy(ctx.sources, people, lo, hi)
    now_minute = sl.to_minute(ctx.now)
    series = data.recurrence is not None

    async def race() -> Refused:
        # Judged again against what the winner stored.
        async with ctx.db.read() as s:
            taken = await load_taken(s, host_id=m.mentor_id, user_ids=people, lo=lo, hi=hi)
        taken.padded.extend(imported)
        found = judge(host.rules, taken, starts, duration, now_minute) or [
            Refusal(starts[0][0], starts[0][1], starts[0][1] + duration, "busy")
        ]
        return Refused(found, series=series)

    async with (
        as_conflict(ctx, viewer=user, mentor_id=m.mentor_id, duration=duration, race=race),
        ctx.db.write() as s,
    ):
        # Ending the mentorship cancels its sessions; none may be added as it ends.
        require_active(await lock_mentorship(s, m.id), "booked")
        taken = await load_taken(s, host_id=m.mentor_id, user_ids=people, lo=lo, hi=hi)
        taken.padded.extend(imported)
        problems = judge(host.rules, taken, starts, duration, now_minute)
        if problems and (not data.skip_conflicts or len(problems) == len(starts)):
            raise Refused(problems, series=series)
        refused = {p.index for p in problems}
        chosen = [(i, st) for i, st in starts if i not in refused]
        series_row = None
        if data.recurrence is not None:
            r = data.recurrence
            series_row = BookingSeries(
                id=new_id(),
                mentorship_id=m.id,
                frequency=r.frequency,
                interval=r.interval,
                count=r.count,
                until=r.until,
                timezone=host.rules.timezone,
                first_start=sl.from_minute(starts[0][1]),
                duration_minutes=duration,
                created_by=user.id,
                created_at=ctx.now,
            )
            s.add(series_row)
            await s.flush()
        bookings = []
        for index, start in chosen:
            b = _new_booking(m, user, ctx.now, start, duration)
            if series_row is not None:
                b.series_id, b.occurrence_index = series_row.id, index
            bookings.append(b)
        s.add_all(bookings)
        await s.flush()
        for b in bookings:
            s.add_all(holds(b, host.rules))
            await reminders.schedule(s, b, ctx.now)
        await s.flush()
        shifts = rec.guest_shifts(
            [(b.occurrence_index or 0, sl.to_minute(b.start_at)) for b in bookings],
            host.rules.timezone,
            mentee.timezone,
        )
        await reminders.schedule_shifts(s, bookings, shifts, m.mentee_id, ctx.now)
        notes = _stage_created(s, ctx.now, user, host.user, mentee, bookings, shifts)
    await announce(ctx, notes, people, [b.id for b in bookings])
    users = {host.user.id: host.user, mentee.id: mentee}
    shift_at = {x.start: shift_out(x) for x in shifts}
    items = [booking_out(b, users, shift=shift_at.get(sl.to_minute(b.start_at))) for b in bookings]
    return BookingCreated(
        booking=items[0],
        items=items,
        series_id=series_row.id if series_row else None,
        skipped=[_skipped(o) for o in skipped]
        + [
            SkippedOut(
                index=p.index,
                date=local_text(sl.from_minute(p.start), host.rules.timezone)[:10],
                reason=p.reason,
            )
            for p in problems
        ],
        shifts=[shift_out(x) for x in shifts],
    )


def _stage_created(
    s: AsyncSession,
    now: datetime,
    actor: User,
    mentor: User,
    mentee: User,
    bookings: Sequence[Booking],
    shifts: Sequence[rec.Shift],
) -> list[Notification]:
    first = bookings[0]
    notes = []
    for person, other in ((mentor, mentee), (mentee, mentor)):
        many = f" and {len(bookings) - 1} more in the series" if len(bookings) > 1 else ""
        who = "You booked" if person.id == actor.id else f"{actor.name} booked"
        when = when_text(first.start_at, person.timezone)
        notes.append(
            notifications.stage(
                s,
                now=now,
                user_id=person.id,
                kind="booking.created",
                title=f"Session with {other.name}: {when}{many}",
                body=f"{who} {len(bookings)} session(s).",
                link="/sessions",
                data={"booking_ids": [b.id for b in bookings], "series_id": first.series_id},
            )
        )
    if shifts:
        where = {"guest": " on your side", "host": f" in {mentor.timezone}", "both": ""}
        lines = [
            f"From {when_text(sl.from_minute(x.start), mentee.timezone)} the session is at "
            f"{x.local} "
            f"instead of {x.previous_local} your time, because of a daylight-saving change"
            f"{where[x.cause]}."
            for x in shifts
        ]
        notes.append(
            notifications.stage(
                s,
                now=now,
                user_id=mentee.id,
                kind="booking.dst-shift",
                title="Your session time moves with daylight saving",
                body="\n".join(lines),
                link="/sessions",
                data={"shifts": [shift_wire(x) for x in shifts]},
            )
        )
    return notes
