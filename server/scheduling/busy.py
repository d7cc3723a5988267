"""What is already taken: stored sessions of the people concerned, and imported busy time."""

from __future__ import annotations

from collections.abc import Awaitable, Collection, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from server.scheduling import slots as sl
from server.scheduling.conflicts import Taken
from server.scheduling.models import BookingParticipant


class BusySource(Protocol):
    """Busy time from outside Meridian (the calendars feature registers one).

    Returns UTC intervals during which any of ``user_ids`` is busy, within
    ``[start, end)``; they count as taken, without buffers of their own.
    """

    def __call__(
        self, user_ids: Sequence[str], start: datetime, end: datetime
    ) -> Awaitable[list[tuple[datetime, datetime]]]: ...


# --- what is taken ------------------------------------------------------------------------


async def load_taken(
    s: AsyncSession,
    *,
    host_id: str,
    user_ids: Sequence[str],
    lo: datetime,
    hi: datetime,
    exclude: Collection[str] = (),
) -> Taken:
    p = BookingParticipant
    # One row per booking even when both people are in it (the same minutes twice).
    rows = await s.execute(
        select(
            p.from_minute,
            p.until_minute,
            p.start_minute,
            p.end_minute,
            func.max(case((p.user_id == host_id, 1), else_=0)),
        )
        .where(
            p.user_id.in_(list(user_ids)),
            p.until_minute > sl.to_minute(lo),
            p.from_minute < sl.to_minute(hi) + 1,
            p.booking_id.not_in(list(exclude)) if exclude else true(),
        )
        .group_by(p.booking_id, p.from_minute, p.until_minute, p.start_minute, p.end_minute)
    )
    taken = Taken([], [], {})
    for busy_from, busy_until, start, end, hosts in rows:
        padded = (busy_from, busy_until)
        taken.padded.append(padded)
        taken.owners[padded] = (start, end)
        if hosts:
            taken.host_sessions.append((start, end))
    return taken


async def imported_busy(
    sources: Sequence[BusySource], user_ids: Sequence[str], lo: datetime, hi: datetime
) -> list[sl.Interval]:
    out: list[sl.Interval] = []
    for source in sources:
        for a, b in await source(user_ids, lo, hi):
            out.append((sl.to_minute(a), -(-int(b.timestamp()) // 60)))
    return out
