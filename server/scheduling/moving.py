"""Moving booked sessions: one occurrence, the following ones or all upcoming ones.

A move is planned from one read (``plan_move``) and written in a second transaction
(``apply_move``) that first checks nothing it planned from has changed since, then
judges the new times against what is taken then, as booking does. Every target moves
by the same wall-clock step in the mentor's zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.core.errors import Conflict
from server.core.ids import new_id
from server.mentorship.models import Mentorship
from server.scheduling import reminders
from server.scheduling import slots as sl
from server.scheduling.availability import Plan, load_plan
from server.scheduling.busy import imported_busy, load_taken
from server.scheduling.changes import require_changeable, stage_changed, targets_of
from server.scheduling.conflicts import Refusal, available, judge
from server.scheduling.models import Booking, BookingParticipant, BookingSeries
from server.scheduling.schemas import ChangeOut, RescheduleIn
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
from server.scheduling.sessions import (
    booking_out,
    participant_booking,
    people_by_id,
    shifts_by_series,
)


@dataclass
class Move:
    """A reschedule worked out from one read: what moves where, still to be written."""

    user: User
    data: RescheduleIn
    booking: Booking
    host: Plan
    targets: list[Booking]
    moves: list[tuple[Booking, int]]
    gaps: list[Refusal]
    starts: list[tuple[int, int]]
    new_start: int
    duration: int
    lo: datetime
    hi: datetime
    imported: list[sl.Interval]


async def reschedule(ctx: Context, user: User, booking_id: str, data: RescheduleIn) -> ChangeOut:
    return await apply_move(ctx, await plan_move(ctx, user, booking_id, data))


async def plan_move(ctx: Context, user: User, booking_id: str, data: RescheduleIn) -> Move:
    """The first half of a reschedule: read, and work out every target's new time."""
    new_start = check_start(data.start, ctx.now)
    async with ctx.db.read() as s:
        b = await participant_booking(s, booking_id, user.id)
        require_changeable(b, ctx.now)
        require_active(await s.get(Mentorship, b.mentorship_id), "moved")
        host = await load_plan(s, b.mentor_id)
        targets = await targets_of(s, b, data.scope, ctx.now)
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
        Refusal(
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
        raise outside_availability()
    starts.sort(key=lambda x: (x[1] != new_start, x[1]))
    lo, hi = span(sorted(starts, key=lambda x: x[1]), duration)
    imported = await imported_busy(ctx.sources, [b.mentor_id, b.mentee_id], lo, hi)
    return Move(
        user, data, b, host, targets, moves, gaps, starts, new_start, duration, lo, hi, imported
    )


async def _currenttargets_of(s: AsyncSession, plan: Move, now: datetime) -> dict[str, Booking]:
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


async def apply_move(ctx: Context, plan: Move) -> ChangeOut:
    """The second half of a reschedule: check the plan still holds, judge it, write it."""
    b, user, data, host, duration = plan.booking, plan.user, plan.data, plan.host, plan.duration
    moves, targets, new_start = plan.moves, plan.targets, plan.new_start
    people = [b.mentor_id, b.mentee_id]
    exclude = {t.id for t in targets}

    async def race() -> Refused:
        return Refused([Refusal(0, new_start, new_start + duration, "busy")], series=False)

    async with (
        as_conflict(ctx, viewer=user, mentor_id=b.mentor_id, duration=duration, race=race),
        ctx.db.write() as s,
    ):
        require_active(await lock_mentorship(s, b.mentorship_id), "moved")
        rows = await _currenttargets_of(s, plan, ctx.now)
        taken = await load_taken(
            s, host_id=b.mentor_id, user_ids=people, lo=plan.lo, hi=plan.hi, exclude=exclude
        )
        taken.padded.extend(plan.imported)
        problems = plan.gaps + judge(
            host.rules, taken, plan.starts, duration, sl.to_minute(ctx.now)
        )
        if problems:
            raise Refused(problems, series=len(targets) > 1)
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
            s.add_all(holds(row, host.rules))
            await reminders.schedule(s, row, ctx.now)
        people_map = await people_by_id(s, set(people))
        await s.flush()
        await _moved_shift_reminders(s, changed, people_map, ctx.now)
        notes = stage_changed(s, ctx.now, user, people_map, changed, "moved")
    await announce(ctx, notes, people, [r.id for r in changed])
    return ChangeOut(items=[booking_out(r, people_map) for r in changed])


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
