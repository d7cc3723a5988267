"""Calendar feeds' use cases: create, rotate and revoke, and whose feeds a change touches.

A feed is reached by a secret token that only its owner is shown; the database keeps
the token's SHA-256, which also names the feed's file (``files``). The content
depends only on the database (``build`` reads the rows, the pure ``builder`` writes
the bytes), so two processes writing the same feed write the same bytes. Whoever
changes what a person's calendar shows calls ``calendars_changed``; each process's
``listener`` then rewrites that person's files.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import String, Text, cast, delete, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.config import Settings
from server.core.bus import EventBus
from server.core.db import Database
from server.core.errors import NotFound
from server.core.ids import hash_token, new_id, new_token
from server.ical.feeds.builder import FeedBuilder, Plan
from server.ical.feeds.files import FeedFiles
from server.ical.invites import booking_row, series_row
from server.ical.models import CalendarFeed
from server.ical.sessions import BookingRow, Links, SeriesRow, Who
from server.scheduling.models import Booking, BookingSeries

FEEDS_CHANNEL = "calendar:feeds"
"""Feeds were created, rotated or revoked: listeners resubscribe and drop stale files."""
HISTORY = timedelta(days=400)


def channel(user_id: str) -> str:
    return f"calendar:{user_id}"


async def calendars_changed(bus: EventBus, *user_ids: str) -> None:
    """Tell every process that these people's calendars changed (bookings, agenda, profile)."""
    for user_id in dict.fromkeys(user_ids):
        await bus.publish(channel(user_id), {"kind": "changed", "user_id": user_id})


def feed_urls(settings: Settings, token: str) -> tuple[str, str]:
    """The https:// (or http:// in development) and webcal:// addresses of a feed."""
    url = f"{settings.public_url}/calendars/{token}.ics"
    parts = urlsplit(url)
    return url, "webcal://" + parts.netloc + parts.path


@dataclass(frozen=True, slots=True)
class CreatedFeed:
    feed: CalendarFeed
    token: str


class Feeds:
    """Feed tokens and files of one process."""

    def __init__(self, db: Database, bus: EventBus, settings: Settings) -> None:
        self.db = db
        self.bus = bus
        self.settings = settings
        self.files = FeedFiles(settings.calendars_dir)
        host = urlsplit(settings.public_url).hostname or "meridian"
        self.builder = FeedBuilder(Links(settings.public_url, host))
        self._lock = asyncio.Lock()

    async def create(self, *, user_id: str, now: datetime) -> CreatedFeed:
        token = new_token()
        row = CalendarFeed(
            id=new_id(), user_id=user_id, token_hash=hash_token(token), created_at=now
        )
        async with self.db.write() as s:
            s.add(row)
        await self.write_files(user_id, now)
        await self.bus.publish(FEEDS_CHANNEL, {"user_id": user_id, "removed": []})
        return CreatedFeed(row, token)

    async def of_user(self, *, user_id: str) -> list[CalendarFeed]:
        async with self.db.read() as s:
            return list(
                await s.scalars(
                    select(CalendarFeed)
                    .where(CalendarFeed.user_id == user_id)
                    .order_by(CalendarFeed.created_at, CalendarFeed.id)
                )
            )

    async def revoke(self, *, user_id: str, feed_id: str) -> None:
        async with self.db.write() as s:
            old = await s.scalar(
                select(CalendarFeed.token_hash).where(
                    CalendarFeed.id == feed_id, CalendarFeed.user_id == user_id
                )
            )
            if old is None:
                raise NotFound("There is no such calendar feed.")
            await s.execute(delete(CalendarFeed).where(CalendarFeed.id == feed_id))
        await self._forget(old)
        await self.bus.publish(FEEDS_CHANNEL, {"user_id": user_id, "removed": [old]})

    async def rotate(self, *, user_id: str, feed_id: str, now: datetime) -> CreatedFeed:
        token = new_token()
        async with self.db.write() as s:
            row = await s.scalar(
                select(CalendarFeed).where(
                    CalendarFeed.id == feed_id, CalendarFeed.user_id == user_id
                )
            )
            if row is None:
                raise NotFound("There is no such calendar feed.")
            old = row.token_hash
            row.token_hash = hash_token(token)
            row.rotated_at = now
        await self._forget(old)
        await self.write_files(user_id, now)
        await self.bus.publish(FEEDS_CHANNEL, {"user_id": user_id, "removed": [old]})
        return CreatedFeed(row, token)

    async def _forget(self, token_hash: str) -> None:
        """Remove a revoked feed's file once no write that still saw it is under way.

        A write reads the valid tokens and writes their files under the lock, so one
        that began before the revocation committed finishes first and its file is
        removed here; any later one no longer sees the token.
        """
        async with self._lock:
            self.files.remove(token_hash)

    async def hashes(self, user_id: str) -> list[str]:
        async with self.db.read() as s:
            return list(
                await s.scalars(
                    select(CalendarFeed.token_hash).where(CalendarFeed.user_id == user_id)
                )
            )

    async def build(self, user_id: str, now: datetime) -> bytes | None:
        """The feed's bytes; only sessions whose fingerprint changed are loaded whole.

        The first query reads each session's fingerprint (id, sequence, change time,
        status, agenda) as raw column values, with no type conversion; sessions whose
        bytes are cached cost one dictionary look-up.
        """
        async with self.db.read() as s:
            marks = (
                await s.execute(
                    FINGERPRINTS.where(
                        or_(Booking.mentor_id == user_id, Booking.mentee_id == user_id),
                        Booking.end_at >= now - HISTORY,
                    )
                )
            ).all()
            people_ids = {m[6] for m in marks} | {m[7] for m in marks} | {user_id}
            people = {
                p.id: Who(p.id, p.name, p.email, p.timezone)
                for p in (
                    await s.execute(
                        select(User.id, User.name, User.email, User.timezone).where(
                            User.id.in_(people_ids)
                        )
                    )
                ).all()
            }
            owner = people.get(user_id)
            if owner is None:
                return None
            plan = self.builder.plan(marks, people)
            if not plan.complete:
                series, rows = await _whole_rows(s, plan)
                self.builder.attach(plan, series, rows, people)
        return self.builder.assemble(plan, owner, now)

    async def write_files(self, user_id: str, now: datetime, *, recheck: bool = True) -> int:
        """Rewrite every feed file of ``user_id``; return how many files changed.

        ``recheck`` looks again for feeds revoked while the file was being written. The
        listener skips it: it handles the revocation's announcement after this write.
        """
        async with self._lock:
            hashes = await self.hashes(user_id)
            if not hashes:
                return 0
            data = await self.build(user_id, now)
            if data is None:
                return 0
            changed = sum(self.files.write(h, data) for h in hashes)
            if not recheck:
                return changed
            # A feed revoked while this one was being written must not come back.
            still = set(await self.hashes(user_id))
            for h in hashes:
                if h not in still:
                    self.files.remove(h)
            return changed

    async def repair(self, now: datetime) -> int:
        """Write the feeds whose file is missing or empty (a new disk, a crash)."""
        async with self.db.read() as s:
            rows = (await s.execute(select(CalendarFeed.user_id, CalendarFeed.token_hash))).all()
        users = {user_id for user_id, token_hash in rows if self.files.damaged(token_hash)}
        for user_id in users:
            await self.write_files(user_id, now)
        return len(users)

    async def people_sharing_sessions(self, user_id: str) -> list[str]:
        """The person and everyone they have a session with: whose feeds show their name."""
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    select(Booking.mentor_id, Booking.mentee_id)
                    .where(or_(Booking.mentor_id == user_id, Booking.mentee_id == user_id))
                    .distinct()
                )
            ).all()
        return [user_id, *sorted({u for row in rows for u in row} - {user_id})]

    async def owners(self) -> list[str]:
        async with self.db.read() as s:
            return list(await s.scalars(select(CalendarFeed.user_id).distinct()))


FINGERPRINTS = select(
    Booking.id,
    Booking.series_id,
    type_coerce(Booking.start_at, String),
    Booking.sequence,
    type_coerce(Booking.updated_at, String),
    Booking.status,
    Booking.mentor_id,
    Booking.mentee_id,
    cast(Booking.agenda, Text),
)
"""What identifies a session's bytes, read as raw column values (no type conversion)."""


async def _whole_rows(s: AsyncSession, plan: Plan) -> tuple[dict[str, SeriesRow], list[BookingRow]]:
    """Whole rows for the sessions whose bytes are not cached: their series and bookings."""
    series: dict[str, SeriesRow] = {}
    if plan.missing_series:
        for x in await s.scalars(
            select(BookingSeries).where(BookingSeries.id.in_(list(plan.missing_series)))
        ):
            series[x.id] = series_row(x)
    rows = await s.scalars(
        select(Booking).where(
            or_(
                Booking.id.in_(list(plan.missing_bookings)),
                Booking.series_id.in_(list(plan.missing_series)),
            )
        )
    )
    return series, [booking_row(r) for r in rows]
