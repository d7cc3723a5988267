"""Imported busy calendars: fetched by URL on a schedule (conditional GET, a timeout, a
size cap: ``busy_fetch``) or uploaded once, read in worker processes (``busy_reader``);
their busy intervals feed the slot engine.

When a fetch fails, the intervals of the last good copy stay in place and keep
counting; the calendar's ``status`` and ``error`` tell its owner what went wrong.
Due fetches are claimed with a conditional UPDATE of ``next_poll_at``, so with several
processes each calendar is fetched by one of them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractResolver
from sqlalchemy import delete, func, select, update

from server.accounts.models import User
from server.config import Settings
from server.core import periodic
from server.core.clock import Clock
from server.core.db import Database
from server.core.errors import NotFound, Problem, field_error
from server.core.ids import new_id
from server.core.keys import BUS, CLOCK, DB, SETTINGS
from server.ical.busy import Interval, Reading
from server.ical.busy_fetch import CalendarFetcher, FetchError, PrivateAddress, normalize_url
from server.ical.busy_parse import BusyCalendarError
from server.ical.busy_reader import CalendarReader
from server.ical.keys import BUSY_CALENDARS
from server.ical.models import BusyCalendar, BusyInterval
from server.scheduling import events as bookings_events
from server.scheduling.keys import BUSY_SOURCES

log = logging.getLogger(__name__)

HORIZON = timedelta(days=365)
PAST = timedelta(days=1)
POLL_TICK_SECONDS = 30.0
JOB = "busy-calendar-poller"
CLAIM_BATCH = 10
MAX_CALENDARS = 20


class BusyCalendars:
    """Busy-calendar imports of one process: an HTTP client and the polling task."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        *,
        dns: AbstractResolver | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.fetcher = CalendarFetcher(settings, dns=dns)
        self.reader = CalendarReader(
            workers=settings.busy_readers, seconds=settings.busy_read_milliseconds / 1000
        )
        self.on_change: Callable[[str], Awaitable[None]] | None = None
        """Told whose imported busy time changed (the slot engine drops cached answers)."""

    async def _changed(self, user_id: str) -> None:
        if self.on_change is not None:
            await self.on_change(user_id)

    async def start(self) -> None:
        await self.fetcher.start()

    async def close(self) -> None:
        await self.fetcher.close()
        await self.reader.close()

    # --- use cases ------------------------------------------------------------------

    async def _check_room(self, user_id: str) -> None:
        async with self.db.read() as s:
            count = await s.scalar(
                select(func.count())
                .select_from(BusyCalendar)
                .where(BusyCalendar.user_id == user_id)
            )
        if (count or 0) >= MAX_CALENDARS:
            raise Problem(
                409,
                f"You already import {MAX_CALENDARS} calendars, the most Meridian keeps per "
                "person; remove one before adding another.",
            )

    async def add_url(self, *, user_id: str, url: str, name: str | None) -> BusyCalendar:
        url = normalize_url(url)
        await self._check_room(user_id)
        try:
            await self.fetcher.resolver.check(url)
        except PrivateAddress as exc:
            raise field_error("url", str(exc)) from None
        now = self.clock.now()
        row = BusyCalendar(
            id=new_id(),
            user_id=user_id,
            name=(name or urlsplit(url).hostname or "Calendar")[:100],
            url=url,
            status="pending",
            error="",
            event_count=0,
            created_at=now,
            next_poll_at=now + timedelta(minutes=self.settings.busy_poll_minutes),
        )
        async with self.db.write() as s:
            s.add(row)
        return await self.refresh(row.id, named=name is not None)

    async def add_upload(self, *, user_id: str, data: bytes, name: str | None) -> BusyCalendar:
        """Store an uploaded file's busy time; a file that cannot be read stores nothing."""
        await self._check_room(user_id)
        zone = await self._zone(user_id)
        now = self.clock.now()
        try:
            found = await self._read(data, zone, now, wait=False)
        except BusyCalendarError as exc:
            raise field_error("file", str(exc)) from None
        intervals, calname = found.intervals, found.name
        row = BusyCalendar(
            id=new_id(),
            user_id=user_id,
            name=(name or calname or "Uploaded calendar")[:100],
            url=None,
            status="ok",
            error="",
            event_count=len(intervals),
            created_at=now,
            last_attempt_at=now,
            last_success_at=now,
            next_poll_at=None,
        )
        async with self.db.write() as s:
            s.add(row)
            await s.flush()
            s.add_all(_interval_rows(row.id, user_id, intervals))
        await self._changed(user_id)
        return row

    async def _read(self, data: bytes, zone: str, now: datetime, *, wait: bool) -> Reading:
        """Read in a worker process, bounded in work, time and memory (``busy_reader``)."""
        return await self.reader.read(
            data, zone=zone, start=now - PAST, end=now + HORIZON, wait=wait
        )

    async def _zone(self, user_id: str) -> str:
        async with self.db.read() as s:
            zone = await s.scalar(select(User.timezone).where(User.id == user_id))
        return zone or "UTC"

    async def refresh(self, calendar_id: str, *, named: bool = True) -> BusyCalendar:
        """Fetch one calendar now; on failure keep the last good intervals and say why."""
        async with self.db.read() as s:
            row = await s.get(BusyCalendar, calendar_id)
        if row is None or row.url is None:
            raise NotFound("There is no such calendar to refresh.")
        zone = await self._zone(row.user_id)
        now = self.clock.now()
        changes: dict[str, object] = {"last_attempt_at": now}
        intervals: list[Interval] | None = None
        try:
            fetched = await self.fetcher.fetch(row.url, row.etag, row.last_modified)
            if fetched.data is not None:
                found = await self._read(fetched.data, zone, now, wait=True)
                intervals = found.intervals
                changes["event_count"] = len(found.intervals)
                if not named and found.name:
                    changes["name"] = found.name[:100]
            changes.update(
                status="ok",
                error="",
                last_success_at=now,
                etag=(fetched.etag or "")[:200] or None,
                last_modified=(fetched.last_modified or "")[:100] or None,
            )
        except (FetchError, BusyCalendarError) as exc:
            changes.update(status="error", error=str(exc)[:1000])
        async with self.db.write() as s:
            await s.execute(update(BusyCalendar).where(BusyCalendar.id == row.id).values(changes))
            if intervals is not None:
                await s.execute(delete(BusyInterval).where(BusyInterval.calendar_id == row.id))
                s.add_all(_interval_rows(row.id, row.user_id, intervals))
        if intervals is not None:
            await self._changed(row.user_id)
        async with self.db.read() as s:
            fresh = await s.get(BusyCalendar, row.id)
        if fresh is None:
            raise NotFound("There is no such calendar.")
        return fresh

    async def of_user(self, *, user_id: str) -> list[BusyCalendar]:
        async with self.db.read() as s:
            return list(
                await s.scalars(
                    select(BusyCalendar)
                    .where(BusyCalendar.user_id == user_id)
                    .order_by(BusyCalendar.created_at, BusyCalendar.id)
                )
            )

    async def owned(self, *, user_id: str, calendar_id: str) -> BusyCalendar:
        async with self.db.read() as s:
            row = await s.get(BusyCalendar, calendar_id)
        if row is None or row.user_id != user_id:
            raise NotFound("There is no such calendar.")
        return row

    async def remove(self, *, user_id: str, calendar_id: str) -> None:
        async with self.db.write() as s:
            result = await s.execute(
                delete(BusyCalendar).where(
                    BusyCalendar.id == calendar_id, BusyCalendar.user_id == user_id
                )
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound("There is no such calendar.")
        await self._changed(user_id)

    # --- polling --------------------------------------------------------------------

    async def claim_due(self) -> list[str]:
        """Calendars due for a fetch, each claimed by this process alone."""
        now = self.clock.now()
        lease = now + timedelta(minutes=self.settings.busy_poll_minutes)
        async with self.db.read() as s:
            due = (
                await s.execute(
                    select(BusyCalendar.id, BusyCalendar.next_poll_at)
                    .where(BusyCalendar.url.is_not(None), BusyCalendar.next_poll_at <= now)
                    .order_by(BusyCalendar.next_poll_at)
                    .limit(CLAIM_BATCH)
                )
            ).all()
        claimed = []
        for calendar_id, was in due:
            async with self.db.write() as s:
                result = await s.execute(
                    update(BusyCalendar)
                    .where(BusyCalendar.id == calendar_id, BusyCalendar.next_poll_at == was)
                    .values(next_poll_at=lease)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(calendar_id)
        return claimed

    async def poll_once(self) -> int:
        claimed = await self.claim_due()
        for calendar_id in claimed:
            try:
                await self.refresh(calendar_id)
            except NotFound:
                continue
        return len(claimed)


def _interval_rows(
    calendar_id: str, user_id: str, intervals: Sequence[Interval]
) -> list[BusyInterval]:
    return [
        BusyInterval(calendar_id=calendar_id, user_id=user_id, start_at=i.start, end_at=i.end)
        for i in intervals
    ]


async def busy_between(
    *, db: Database, user_ids: Sequence[str], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Imported busy time of these people overlapping [start, end), for the slot engine."""
    if not user_ids:
        return []
    async with db.read() as s:
        rows = (
            await s.execute(
                select(BusyInterval.start_at, BusyInterval.end_at)
                .where(
                    BusyInterval.user_id.in_(list(user_ids)),
                    BusyInterval.start_at < end,
                    BusyInterval.end_at > start,
                )
                .order_by(BusyInterval.start_at)
            )
        ).all()
    return [(a, b) for a, b in rows]


async def busy_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the HTTP client for imports and the task that polls due calendars."""
    service = BusyCalendars(app[DB], app[CLOCK], app[SETTINGS])
    await service.start()
    app[BUSY_CALENDARS] = service
    db = app[DB]

    async def imported(
        user_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        return await busy_between(db=db, user_ids=user_ids, start=start, end=end)

    sources = app.get(BUSY_SOURCES)
    if sources is not None:
        sources.append(imported)
    bus = app[BUS]

    async def changed(user_id: str) -> None:
        # Imported busy time changes what can be booked, as a booking does.
        await bus.publish(bookings_events.CHANNEL, bookings_events.message([user_id]))

    service.on_change = changed
    job = periodic.start(app, JOB, POLL_TICK_SECONDS, service.poll_once)
    yield
    await job.stop()
    await service.close()
