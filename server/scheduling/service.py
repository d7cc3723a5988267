"""What every scheduling use case shares: its context, the rows a session holds, the
one way a refused booking or move becomes a 409, and the announcement of a change.

The use cases themselves are ``finding.py`` (slots), ``booking.py`` (a session or a
series) and ``changes.py`` (moving and cancelling).

Never two overlapping sessions for one person: every confirmed booking writes one
``booking_participants`` row per person holding the time it takes (buffers included).
On SQLite the check and the insert run in one ``BEGIN IMMEDIATE`` transaction, so all
writers — threads or processes — take turns; on PostgreSQL an exclusion constraint on
those rows refuses the loser of a race even when both checks passed.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.core.bus import EventBus, publish_or_log
from server.core.db import Database
from server.core.errors import Conflict, Invalid, field_error
from server.mentorship.models import Mentorship
from server.notifications import service as notifications
from server.notifications.models import Notification
from server.scheduling import events
from server.scheduling import slots as sl
from server.scheduling.busy import BusySource as BusySource
from server.scheduling.conflicts import Refusal, refusal_detail
from server.scheduling.events import BookingsChanged
from server.scheduling.finding import nearest_slots
from server.scheduling.models import Booking, BookingParticipant


@dataclass
class Context:
    db: Database
    bus: EventBus
    now: datetime
    sources: Sequence[BusySource]
    changed: BookingsChanged = dataclasses.field(default_factory=BookingsChanged)
    """This process's side of the "bookings changed" event (the app's, when serving)."""


# --- refused as a conflict --------------------------------------------------------------------


class Refused(Exception):
    """Raised inside a write to refuse it; ``as_conflict`` turns it into the 409."""

    def __init__(self, refusals: list[Refusal], *, series: bool) -> None:
        super().__init__("conflicts")
        self.refusals = refusals
        self.series = series


@contextlib.asynccontextmanager
async def as_conflict(
    ctx: Context,
    *,
    viewer: User,
    mentor_id: str,
    duration: int,
    race: Callable[[], Awaitable[Refused]],
) -> AsyncIterator[None]:
    """A write that may be refused: ``Refused``, or losing a race, becomes one 409.

    The 409 lists the refusals and offers the nearest free slots around the first one.
    ``race`` says what was refused when PostgreSQL's exclusion constraint stopped the
    write because another process won the race (an ``IntegrityError``).
    """
    try:
        yield
    except Refused as exc:
        refused = exc
    except IntegrityError:
        refused = await race()
    else:
        return
    first = refused.refusals[0]
    nearest = await nearest_slots(
        db=ctx.db,
        now=ctx.now,
        sources=ctx.sources,
        viewer=viewer,
        mentor_id=mentor_id,
        around=first.start,
        duration=duration,
    )
    raise Conflict(
        refusal_detail(refused.refusals, refused.series),
        extra={
            "conflicts": [p.wire() for p in refused.refusals],
            "nearest": [x.model_dump(mode="json") for x in nearest],
        },
    ) from None


# --- checks -----------------------------------------------------------------------------------


def check_start(start: datetime, now: datetime, field: str = "start") -> int:
    if start.second or start.microsecond:
        raise field_error(field, "start on a whole minute")
    if start < now:
        raise field_error(field, "this time is in the past")
    return sl.to_minute(start)


def outside_availability() -> Invalid:
    return field_error(
        "start",
        "this time is outside the mentor's availability (hours, notice, horizon or slot grid)",
    )


def span(starts: Sequence[tuple[int, int]], duration: int) -> tuple[datetime, datetime]:
    """The stretch of time whose sessions can touch these occurrences."""
    return (
        sl.from_minute(starts[0][1] - 8 * sl.DAY),
        sl.from_minute(starts[-1][1] + duration + 8 * sl.DAY),
    )


def require_active(m: Mentorship | None, what: str) -> None:
    if m is None or m.state != "active":
        state = m.state if m is not None else "gone"
        raise Conflict(
            f"Sessions can only be {what} in an active mentorship; this one is {state}.",
            extra={"state": state},
        )


async def lock_mentorship(s: AsyncSession, mentorship_id: str) -> Mentorship | None:
    """The mentorship, share-locked on PostgreSQL so it cannot end until this commits."""
    found: Mentorship | None = await s.scalar(
        select(Mentorship).where(Mentorship.id == mentorship_id).with_for_update(read=True)
    )
    return found


# --- what a session holds ---------------------------------------------------------------------


def holds(b: Booking, rules: sl.Rules) -> list[BookingParticipant]:
    """One row per person holding the session's time, buffers included."""
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


# --- announcing -------------------------------------------------------------------------------


async def announce(
    ctx: Context, notes: Sequence[Notification], people: Sequence[str], ids: list[str]
) -> None:
    """After the commit: notifications, both calendars, and the "bookings changed" event."""
    await _tell_people(ctx.bus, notes, people, ids)
    await ctx.changed.publish(ctx.bus, people)


async def announce_on_bus(
    bus: EventBus, notes: Sequence[Notification], people: Sequence[str], ids: list[str]
) -> None:
    """``announce`` for a caller that holds only the bus (a mentorship ending)."""
    await _tell_people(bus, notes, people, ids)
    await events.announce(bus, people)


async def _tell_people(
    bus: EventBus, notes: Sequence[Notification], people: Sequence[str], ids: list[str]
) -> None:
    await notifications.announce(bus, notes)
    for user_id in people:
        event = {"type": "bookings-changed", "booking_ids": ids}
        await publish_or_log(bus, f"user:{user_id}", event)
        await publish_or_log(bus, f"calendar:{user_id}", event)
