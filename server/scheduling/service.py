"""Scheduling use cases: slots, booking single sessions and series, moving and cancelling.

Never two overlapping sessions for one person: every confirmed booking writes one
``booking_participants`` row per person holding the time it takes (buffers included).
On SQLite the check and the insert run in one ``BEGIN IMMEDIATE`` transaction, so all
writers — threads or processes — take turns; on PostgreSQL an exclusion constraint on
those rows refuses the loser of a race even when both checks passed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.bus import EventBus, publish_or_log
from server.core.db import Database
from server.core.errors import Conflict, NotFound, Problem, field_error
from server.core.ids import new_id
from server.db.models import (
    Booking,
    BookingParticipant,
    BookingSeries,
    Mentorship,
    Notification,
    User,
)
from server.notifications import service as notifications
from server.scheduling import recurrence as rec
from server.scheduling import reminders
from server.scheduling import slots as sl
from server.scheduling.availability import NO_MENTOR, Plan, load_plan, load_plans
from server.scheduling.busy import BusySource as BusySource
from server.scheduling.busy import Taken, imported_busy, load_taken
from server.scheduling.cache import CHANNEL as SLOT_CHANNEL
from server.scheduling.schemas import (
    BookingIn,
    CancelIn,
    RecurrenceIn,
    RescheduleIn,
    SlotsQuery,
)
from server.scheduling.sessions import (
    booking_out,
    local_text,
    participant_booking,
    people_by_id,
    shift_wire,
    shifts_by_series,
    when_text,
)

FAR = 100 * 365


# --- slots ----------------------------------------------------------------------------------


def _slot_wire(slot: sl.Slot) -> dict[str, Any]:
    return {
        "start": sl.utc_iso(slot.start),
        "end": sl.utc_iso(slot.end),
        "viewer_local": sl.local_iso(slot.start, slot.viewer_offset),
        "host_local": sl.local_iso(slot.start, slot.host_offset),
        "comfort": {"host": slot.host_comfort, "viewer": slot.viewer_comfort},
    }


async def find_slots(
    *,
    db: Database,
    now: datetime,
    sources: Sequence[BusySource],
    viewer: User,
    mentor_id: str,
    query: SlotsQuery,
) -> dict[str, Any]:
    duration = query.duration
    async with db.read() as s:
        mentee = None if viewer.id == mentor_id else viewer.id
        plans, paired = await load_plans(
            s, mentor_id, viewer.id, pair=(mentor_id, viewer.id) if mentee else None
        )
        if mentor_id not in plans or not paired:
            raise NotFound(NO_MENTOR)
        host, guest = plans[mentor_id], plans[viewer.id]
        horizon = now + timedelta(days=host.rules.horizon_days)
        if query.start >= horizon or query.end > horizon + timedelta(minutes=1):
            raise Problem(
                422,
                f"Slots can be asked for up to {horizon.isoformat()} "
                f"({host.rules.horizon_days} days ahead); choose an earlier end.",
                title="Invalid input",
                errors=[{"field": "end", "message": "beyond the booking horizon"}],
                extra={"horizon_end": horizon.isoformat()},
            )
        pad = timedelta(minutes=host.rules.buffer_before + host.rules.buffer_after)
        lo = query.start - pad - timedelta(days=9)
        hi = query.end + timedelta(minutes=duration) + pad + timedelta(days=9)
        people = [mentor_id] if viewer.id == mentor_id else [mentor_id, viewer.id]
        taken = await load_taken(s, host_id=mentor_id, user_ids=people, lo=lo, hi=hi)
    taken.padded.extend(await imported_busy(sources, people, lo, hi))
    # Comfort is the viewer's own: their zone and hours, whatever zone times are shown in.
    viewer_person = sl.Person(viewer.timezone, guest.comfort.weekly)
    display = query.tz or viewer.timezone
    found = sl.free_slots(
        host.rules,
        taken.busy(),
        sl.Query(
            sl.to_minute(query.start),
            sl.to_minute(query.end),
            duration,
            sl.to_minute(now),
            viewer_person,
            host.comfort,
            display_timezone=display,
        ),
    )
    return {
        "mentor_id": mentor_id,
        "timezone": host.user.timezone,
        "viewer_timezone": display,
        "duration": duration,
        "horizon_end": horizon.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "items": [_slot_wire(x) for x in found],
    }


# --- bookings: checking ------------------------------------------------------------------------


@dataclass
class Problem_:
    index: int
    start: int
    end: int
    reason: str
    overlaps: list[sl.Interval] = dataclasses.field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": sl.utc_iso(self.start),
            "end": sl.utc_iso(self.end),
            "reason": self.reason,
            "conflicting": [
                {"start": sl.utc_iso(a), "end": sl.utc_iso(b)} for a, b in self.overlaps
            ],
        }


def _rules_for(rules: sl.Rules, first: bool) -> sl.Rules:
    """Later occurrences of a series are held to the hours, not to notice or horizon."""
    if first:
        return rules
    return dataclasses.replace(rules, notice=0, horizon_days=FAR)


def available(rules: sl.Rules, start: int, duration: int, now: int, first: bool) -> bool:
    return sl.is_bookable(_rules_for(rules, first), sl.Busy(), start, duration, now)


def judge(
    rules: sl.Rules,
    taken: Taken,
    starts: Sequence[tuple[int, int]],
    duration: int,
    now: int,
    *,
    first_strict: bool = True,
) -> list[Problem_]:
    """Problems of each ``(index, start)``; free ones are added to ``taken`` as they pass."""
    problems: list[Problem_] = []
    before, after = rules.buffer_before, rules.buffer_after
    for n, (index, start) in enumerate(starts):
        end = start + duration
        strict = first_strict and n == 0
        if not available(rules, start, duration, now, strict):
            problems.append(Problem_(index, start, end, "unavailable"))
            continue
        if not sl.is_bookable(_rules_for(rules, strict), taken.busy(), start, duration, now):
            overlaps = [
                taken.owners.get((a, b), (a, b))
                for a, b in taken.padded
                if a < end + after and start - before < b
            ]
            problems.append(
                Problem_(index, start, end, "busy" if overlaps else "limit", sorted(set(overlaps)))
            )
            continue
        padded = (start - before, end + after)
        taken.padded.append(padded)
        taken.owners[padded] = (start, end)
        taken.host_sessions.append((start, end))
    return problems


class _Refused(Exception):
    def __init__(self, problems: list[Problem_]) -> None:
        super().__init__("conflicts")
        self.problems = problems


async def _nearest(
    *,
    db: Database,
    now: datetime,
    sources: Sequence[BusySource],
    viewer: User,
    mentor_id: str,
    around: int,
    duration: int,
) -> list[dict[str, Any]]:
    """Up to three free slots closest to ``around``, from three days either side."""
    async with db.read() as s:
        plans, _ = await load_plans(s, mentor_id, viewer.id)
        if mentor_id not in plans:
            raise NotFound(NO_MENTOR)
        host = plans[mentor_id]
        # Comfort on the viewer's side is judged by the viewer's own hours, as in find_slots.
        guest = plans.get(viewer.id, host)
        people = [mentor_id] if viewer.id == mentor_id else [mentor_id, viewer.id]
        lo, hi = around - 3 * sl.DAY, around + 3 * sl.DAY
        taken = await load_taken(
            s,
            host_id=mentor_id,
            user_ids=people,
            lo=sl.from_minute(lo - 10 * sl.DAY),
            hi=sl.from_minute(hi + 10 * sl.DAY),
        )
    taken.padded.extend(
        await imported_busy(
            sources, people, sl.from_minute(lo - sl.DAY), sl.from_minute(hi + sl.DAY)
        )
    )
    viewer_person = sl.Person(viewer.timezone, guest.comfort.weekly)
    found = sl.free_slots(
        host.rules,
        taken.busy(),
        sl.Query(lo, hi, duration, sl.to_minute(now), viewer_person, host.comfort),
    )
    return [_slot_wire(x) for x in sl.nearest(found, around)]


async def _conflict(
    problems: list[Problem_],
    *,
    db: Database,
    now: datetime,
    sources: Sequence[BusySource],
    viewer: User,
    mentor_id: str,
    duration: int,
    series: bool,
) -> Conflict:
    first = problems[0]
    nearest = await _nearest(
        db=db,
        now=now,
        sources=sources,
        viewer=viewer,
        mentor_id=mentor_id,
        around=first.start,
        duration=duration,
    )
    if series:
        detail = (
            f"{len(problems)} occurrence(s) of this series cannot be booked; change the series "
            "or send skip_conflicts to book the others."
        )
    elif first.reason == "limit":
        detail = "The mentor's session limit for that day or week is reached."
    else:
        detail = "This time was just booked by someone else — here are the nearest free slots."
    return Conflict(
        detail,
        extra={"conflicts": [p.wire() for p in problems], "nearest": nearest},
    )


# --- bookings: creating ----------------------------------------------------------------------


def _check_start(start: datetime, now: datetime, field: str = "start") -> int:
    if start.second or start.microsecond:
        raise field_error(field, "start on a whole minute")
    if start < now:
        raise field_error(field, "this time is in the past")
    return sl.to_minute(start)


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


def _participants(b: Booking, rules: sl.Rules) -> list[BookingParticipant]:
    busy_from = b.start_at - timedelta(minutes=rules.buffer_before)
    busy_until = b.end_at + timedelta(minutes=rules.buffer_after)
    return [
        BookingParticipant(
            booking_id=b.id,
            user_id=u,
            busy_from=busy_from,
            busy_until=busy_until,
            from_minute=sl.to_minute(busy_from),
            until_minute=sl.to_minute(busy_until),
            start_minute=sl.to_minute(b.start_at),
            end_minute=sl.to_minute(b.end_at),
        )
        for u in (b.mentor_id, b.mentee_id)
    ]


@dataclass
class Context:
    db: Database
    bus: EventBus
    now: datetime
    sources: Sequence[BusySource]


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
    start = _check_start(data.start, ctx.now)
    starts, skipped = _expand(data.recurrence, start, host.rules.timezone)
    if not starts or starts[0][1] != start:
        raise field_error("start", "the first session's time does not exist in the mentor's zone")
    if not available(host.rules, start, data.duration_minutes, sl.to_minute(ctx.now), True):
        raise field_error(
            "start",
            "this time is outside the mentor's availability (hours, notice, horizon or slot grid)",
        )
    return m, host, mentee, starts, skipped, start


def _span(starts: Sequence[tuple[int, int]], duration: int) -> tuple[datetime, datetime]:
    return (
        sl.from_minute(starts[0][1] - 8 * sl.DAY),
        sl.from_minute(starts[-1][1] + duration + 8 * sl.DAY),
    )


async def preview(ctx: Context, user: User, data: BookingIn) -> dict[str, Any]:
    m, host, mentee, starts, skipped, _ = await _prepare(ctx, user, data)
    duration = data.duration_minutes
    lo, hi = _span(starts, duration)
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
            {
                "index": index,
                "start": sl.utc_iso(start),
                "end": sl.utc_iso(start + duration),
                "mentor_local": local_text(when, host.user.timezone),
                "mentee_local": local_text(when, mentee.timezone),
                "problem": problems.get(index),
            }
        )
    return {
        "items": items,
        "skipped": [_skipped(o) for o in skipped],
        "shifts": [shift_wire(x) for x in shifts],
    }


def _skipped(o: rec.Occurrence) -> dict[str, Any]:
    return {"index": o.index, "date": o.when, "reason": o.skipped}


async def create_booking(ctx: Context, user: User, data: BookingIn) -> dict[str, Any]:
    m, host, mentee, starts, skipped, _ = await _prepare(ctx, user, data)
    duration = data.duration_minutes
    lo, hi = _span(starts, duration)
    people = [m.mentor_id, m.mentee_id]
    imported = await imported_busy(ctx.sources, people, lo, hi)
    now_minute = sl.to_minute(ctx.now)
    series = data.recurrence is not None
    try:
        async with ctx.db.write() as s:
            # Ending the mentorship cancels its sessions; none may be added as it ends.
            _require_active(await _lock_mentorship(s, m.id), "booked")
            taken = await load_taken(s, host_id=m.mentor_id, user_ids=people, lo=lo, hi=hi)
            taken.padded.extend(imported)
            problems = judge(host.rules, taken, starts, duration, now_minute)
            if problems and (not data.skip_conflicts or len(problems) == len(starts)):
                raise _Refused(problems)
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
                b = Booking(
                    id=new_id(),
                    mentorship_id=m.id,
                    mentor_id=m.mentor_id,
                    mentee_id=m.mentee_id,
                    series_id=series_row.id if series_row else None,
                    occurrence_index=index if series_row else None,
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
                    created_at=ctx.now,
                    updated_at=ctx.now,
                )
                bookings.append(b)
            s.add_all(bookings)
            await s.flush()
            for b in bookings:
                s.add_all(_participants(b, host.rules))
                await reminders.schedule(s, b, ctx.now)
            await s.flush()
            shifts = rec.guest_shifts(
                [(b.occurrence_index or 0, sl.to_minute(b.start_at)) for b in bookings],
                host.rules.timezone,
                mentee.timezone,
            )
            await reminders.schedule_shifts(s, bookings, shifts, m.mentee_id, ctx.now)
            notes = _stage_created(s, ctx.now, user, host.user, mentee, bookings, shifts)
    except _Refused as refused_:
        raise await _conflict(
            refused_.problems,
            db=ctx.db,
            now=ctx.now,
            sources=ctx.sources,
            viewer=user,
            mentor_id=m.mentor_id,
            duration=duration,
            series=series,
        ) from None
    except IntegrityError:
        # PostgreSQL's exclusion constraint: another process won the race.
        async with ctx.db.read() as s:
            taken = await load_taken(s, host_id=m.mentor_id, user_ids=people, lo=lo, hi=hi)
        taken.padded.extend(imported)
        problems = judge(host.rules, taken, starts, duration, now_minute) or [
            Problem_(starts[0][0], starts[0][1], starts[0][1] + duration, "busy")
        ]
        raise await _conflict(
            problems,
            db=ctx.db,
            now=ctx.now,
            sources=ctx.sources,
            viewer=user,
            mentor_id=m.mentor_id,
            duration=duration,
            series=series,
        ) from None
    await _announce(ctx, notes, people, [b.id for b in bookings])
    users = {host.user.id: host.user, mentee.id: mentee}
    shift_at = {x.start: shift_wire(x) for x in shifts}
    items = [booking_out(b, users, shift=shift_at.get(sl.to_minute(b.start_at))) for b in bookings]
    return {
        "booking": items[0],
        "items": items,
        "series_id": series_row.id if series_row else None,
        "skipped": [_skipped(o) for o in skipped]
        + [
            {
                "index": p.index,
                "date": local_text(sl.from_minute(p.start), host.rules.timezone)[:10],
                "reason": p.reason,
            }
            for p in problems
        ],
        "shifts": [shift_wire(x) for x in shifts],
    }


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


async def _announce(
    ctx: Context, notes: Sequence[Notification], people: Sequence[str], booking_ids: list[str]
) -> None:
    await _publish(ctx.bus, notes, people, booking_ids)


async def _publish(
    bus: EventBus, notes: Sequence[Notification], people: Sequence[str], booking_ids: list[str]
) -> None:
    await notifications.announce(bus, notes)
    for user_id in people:
        event = {"type": "bookings-changed", "booking_ids": booking_ids}
        await publish_or_log(bus, f"user:{user_id}", event)
        await publish_or_log(bus, f"calendar:{user_id}", event)


# --- bookings: changing ----------------------------------------------------------------------


async def _targets(s: AsyncSession, b: Booking, scope: str, now: datetime) -> list[Booking]:
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


def _require_changeable(b: Booking, now: datetime) -> None:
    if b.status != "confirmed":
        raise Conflict("This session was cancelled; it cannot be changed.")
    if b.start_at <= now:
        raise Conflict("This session has already started; it cannot be changed.")


def _require_active(m: Mentorship | None, what: str) -> None:
    if m is None or m.state != "active":
        state = m.state if m is not None else "gone"
        raise Conflict(
            f"Sessions can only be {what} in an active mentorship; this one is {state}.",
            extra={"state": state},
        )


async def _lock_mentorship(s: AsyncSession, mentorship_id: str) -> Mentorship | None:
    """The mentorship, share-locked on PostgreSQL so it cannot end until this commits."""
    found: Mentorship | None = await s.scalar(
        select(Mentorship).where(Mentorship.id == mentorship_id).with_for_update(read=True)
    )
    return found


@dataclass
class _Move:
    """A reschedule worked out from one read: what moves where, still to be written."""

    user: User
    data: RescheduleIn
    booking: Booking
    host: Plan
    targets: list[Booking]
    moves: list[tuple[Booking, int]]
    gaps: list[Problem_]
    starts: list[tuple[int, int]]
    new_start: int
    duration: int
    lo: datetime
    hi: datetime
    imported: list[sl.Interval]


async def reschedule(
    ctx: Context, user: User, booking_id: str, data: RescheduleIn
) -> dict[str, Any]:
    return await _apply_move(ctx, await _plan_move(ctx, user, booking_id, data))


async def _plan_move(ctx: Context, user: User, booking_id: str, data: RescheduleIn) -> _Move:
    new_start = _check_start(data.start, ctx.now)
    async with ctx.db.read() as s:
        b = await participant_booking(s, booking_id, user.id)
        _require_changeable(b, ctx.now)
        _require_active(await s.get(Mentorship, b.mentorship_id), "moved")
        host = await load_plan(s, b.mentor_id)
        targets = await _targets(s, b, data.scope, ctx.now)
    duration = int((b.end_at - b.start_at).total_seconds() // 60)
    table = sl.ZoneTable.build(
        host.rules.timezone,
        sl.to_minute(targets[0].start_at) - 2 * sl.DAY,
        max(new_start, sl.to_minute(targets[-1].start_at)) + 60 * sl.DAY,
    )
    # Move every target by the same wall-clock step in the mentor's zone.
    delta = table.local(new_start) - table.local(sl.to_minute(b.start_at))
    found: list[tuple[Booking, int | None]] = [
        (
            t,
            new_start
            if t.id == b.id
            else table.first_instant(table.local(sl.to_minute(t.start_at)) + delta),
        )
        for t in targets
    ]
    gaps = [
        Problem_(
            t.occurrence_index or 0,
            sl.to_minute(t.start_at),
            sl.to_minute(t.end_at),
            "nonexistent-time",
        )
        for t, moved in found
        if moved is None
    ]
    moves = [(t, moved) for t, moved in found if moved is not None]
    starts = [(n, moved) for n, (_, moved) in enumerate(found) if moved is not None]
    if not available(host.rules, new_start, duration, sl.to_minute(ctx.now), True):
        raise field_error(
            "start",
            "this time is outside the mentor's availability (hours, notice, horizon or slot grid)",
        )
    starts.sort(key=lambda x: (x[1] != new_start, x[1]))
    lo, hi = _span(sorted(starts, key=lambda x: x[1]), duration)
    imported = await imported_busy(ctx.sources, [b.mentor_id, b.mentee_id], lo, hi)
    return _Move(
        user, data, b, host, targets, moves, gaps, starts, new_start, duration, lo, hi, imported
    )


async def _current_targets(s: AsyncSession, plan: _Move, now: datetime) -> dict[str, Booking]:
    """The targets locked as they are now; 409 if any was cancelled, moved or has started.

    The plan was read in an earlier transaction; a cancel or another move may have
    committed since, and writing over it would revive a cancelled session's hold on the
    time. On PostgreSQL the rows stay locked until this transaction ends; on SQLite the
    write transaction already excludes every other writer.
    """
    seen = {t.id: t.sequence for t in plan.targets}
    rows = {
        r.id: r
        for r in await s.scalars(
            select(Booking)
            .where(
                Booking.id.in_(list(seen)),
                Booking.status == "confirmed",
                Booking.start_at > now,
            )
            .order_by(Booking.id)
            .with_for_update()
        )
    }
    stale = sorted(
        i for i, sequence in seen.items() if i not in rows or rows[i].sequence != sequence
    )
    if stale:
        raise Conflict(
            "This session was cancelled, moved or started while you were moving it; "
            "nothing was changed. Reload it and try again.",
            extra={"booking_ids": stale},
        )
    return rows


async def _apply_move(ctx: Context, plan: _Move) -> dict[str, Any]:
    b, user, data, host, duration = plan.booking, plan.user, plan.data, plan.host, plan.duration
    moves, targets, new_start = plan.moves, plan.targets, plan.new_start
    people = [b.mentor_id, b.mentee_id]
    exclude = {t.id for t in targets}
    try:
        async with ctx.db.write() as s:
            _require_active(await _lock_mentorship(s, b.mentorship_id), "moved")
            rows = await _current_targets(s, plan, ctx.now)
            taken = await load_taken(
                s, host_id=b.mentor_id, user_ids=people, lo=plan.lo, hi=plan.hi, exclude=exclude
            )
            taken.padded.extend(plan.imported)
            problems = plan.gaps + judge(
                host.rules, taken, plan.starts, duration, sl.to_minute(ctx.now)
            )
            if problems:
                raise _Refused(problems)
            changed = []
            split = data.scope != "this" and b.series_id is not None and len(targets) > 1
            holder = None
            if split:
                ordered = [rows[t.id] for t, _ in moves]
                first_moved = min(m for _, m in moves)
                holder = await _split_series(s, ordered, first_moved, ctx.now, user.id)
            for t, moved in moves:
                row = rows[t.id]
                if row.series_id and not split and row.original_start is None:
                    row.original_start = row.start_at
                row.start_at = sl.from_minute(moved)
                row.end_at = sl.from_minute(moved + duration)
                row.sequence += 1
                row.updated_at = ctx.now
                if holder is not None:
                    series, offset = holder
                    row.series_id = series.id
                    row.occurrence_index = (row.occurrence_index or 0) - offset
                    row.original_start = None
                changed.append(row)
            await s.execute(
                delete(BookingParticipant).where(BookingParticipant.booking_id.in_(list(exclude)))
            )
            # A moved session is reminded afresh, even if its old time was reminded of.
            await reminders.forget(s, exclude, sent_too=True)
            await s.flush()
            for row in changed:
                s.add_all(_participants(row, host.rules))
                await reminders.schedule(s, row, ctx.now)
            people_map = await people_by_id(s, set(people))
            await s.flush()
            await _moved_shift_reminders(s, changed, people_map, ctx.now)
            notes = _stage_changed(s, ctx.now, user, people_map, changed, "moved")
    except _Refused as refused_:
        raise await _conflict(
            refused_.problems,
            db=ctx.db,
            now=ctx.now,
            sources=ctx.sources,
            viewer=user,
            mentor_id=b.mentor_id,
            duration=duration,
            series=len(targets) > 1,
        ) from None
    except IntegrityError:
        raise await _conflict(
            [Problem_(0, new_start, new_start + duration, "busy")],
            db=ctx.db,
            now=ctx.now,
            sources=ctx.sources,
            viewer=user,
            mentor_id=b.mentor_id,
            duration=duration,
            series=False,
        ) from None
    await _announce(ctx, notes, people, [r.id for r in changed])
    return {"items": [booking_out(r, people_map) for r in changed]}


async def _moved_shift_reminders(
    s: AsyncSession, changed: Sequence[Booking], people: dict[str, User], now: datetime
) -> None:
    """DST-shift notices for moved occurrences, judged against their series as it now is."""
    ids = {b.id for b in changed}
    for rows, shifts in await shifts_by_series(s, changed, people):
        moved = [b for b in rows if b.id in ids]
        await reminders.schedule_shifts(s, moved, shifts, rows[0].mentee_id, now)


async def _split_series(
    s: AsyncSession, targets: Sequence[Booking], first_start: int, now: datetime, user_id: str
) -> tuple[BookingSeries, int] | None:
    """Moving several occurrences of a series: the series from the first of them on.

    When they begin with the series' first occurrence the series itself moves; else the
    old series ends before them and a new one (same rule) holds them. Returns the
    series holding them and the index offset of their occurrences in it.
    """
    old = await s.get(BookingSeries, targets[0].series_id)
    if old is None:
        return None
    first_index = min(t.occurrence_index or 0 for t in targets)
    last_index = max(t.occurrence_index or 0 for t in targets)
    if first_index == 0:
        old.first_start = sl.from_minute(first_start)
        return old, 0
    fresh = BookingSeries(
        id=new_id(),
        mentorship_id=old.mentorship_id,
        frequency=old.frequency,
        interval=old.interval,
        count=last_index - first_index + 1,
        until=None,
        timezone=old.timezone,
        first_start=sl.from_minute(first_start),
        duration_minutes=old.duration_minutes,
        created_by=user_id,
        created_at=now,
    )
    s.add(fresh)
    old.count, old.until = first_index, None
    await s.flush()
    return fresh, first_index


def _stage_changed(
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


async def cancel(ctx: Context, user: User, booking_id: str, data: CancelIn) -> dict[str, Any]:
    async with ctx.db.write() as s:
        b = await participant_booking(s, booking_id, user.id)
        _require_changeable(b, ctx.now)
        targets = await _targets(s, b, data.scope, ctx.now)
        ids = await _cancel_rows(s, targets, ctx.now, user.id, data.reason)
        people = await people_by_id(s, {b.mentor_id, b.mentee_id})
        notes = _stage_changed(s, ctx.now, user, people, targets, "cancelled", data.reason)
    await _announce(ctx, notes, [b.mentor_id, b.mentee_id], ids)
    return {"items": [booking_out(t, people) for t in targets]}


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
    notes = _stage_changed(s, now, actor, people, targets, "cancelled", reason)
    return Cancelled(ids, [first.mentor_id, first.mentee_id], notes)


async def announce_cancelled(bus: EventBus, cancelled: Cancelled) -> None:
    """What a cancel announces: notifications, both calendars, and stale slot answers."""
    if not cancelled.booking_ids:
        return
    await _publish(bus, cancelled.notes, cancelled.people, cancelled.booking_ids)
    await publish_or_log(bus, SLOT_CHANNEL, {"users": sorted(cancelled.people)})
