"""Calendar feeds: secret tokens, and the .ics files materialized under CALENDARS_DIR.

A feed file is named by the SHA-256 of its token, so neither the database nor the disk
holds a usable token. Files are rewritten atomically (a temporary file, then
``os.replace``) whenever a change touches their owner: any process that changes a
booking, a series, an agenda or a profile publishes ``calendar:<user id>`` on the
event bus, and every process's listener rewrites that person's files. The content
depends only on the database, so two processes writing the same feed write the same
bytes, and a rewrite that changes nothing leaves the file (and its ETag) alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import String, Text, cast, delete, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from server import keys
from server.config import Settings
from server.core.auth import ACCOUNTS_CHANNEL
from server.core.bus import Event as BusEvent
from server.core.bus import EventBus, Subscription
from server.core.db import Database
from server.core.errors import NotFound
from server.core.ids import hash_token, new_id, new_token
from server.db.models import Booking, BookingSeries, CalendarFeed, User
from server.ical.invites import booking_row, series_row
from server.ical.render import Event, EventCache, FeedHeader, Piece, feed
from server.ical.sessions import (
    BookingRow,
    Links,
    SeriesRow,
    Who,
    series_event,
    single_event,
)

log = logging.getLogger(__name__)

FEEDS_CHANNEL = "calendar:feeds"
"""Feeds were created, rotated or revoked: listeners resubscribe and drop stale files."""
HISTORY = timedelta(days=400)
COALESCE_SECONDS = 0.02


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


# --- the files --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Served:
    body: bytes
    etag: str
    last_modified: str
    modified_at: datetime


class FeedFiles:
    """The feed files of one CALENDARS_DIR, and a small cache of what was served."""

    def __init__(self, directory: Path, cache_size: int = 256) -> None:
        self.directory = directory
        self._cache: OrderedDict[str, tuple[tuple[int, int, int], Served]] = OrderedDict()
        self._written: OrderedDict[str, tuple[tuple[int, int, int], bytes]] = OrderedDict()
        self._cache_size = cache_size

    def path(self, token_hash: str) -> Path:
        return self.directory / f"{token_hash}.ics"

    def write(self, token_hash: str, data: bytes) -> bool:
        """Replace the file atomically; return False when it already held ``data``.

        No fsync: a feed is derived data. A file a crash left empty is rewritten when
        the process starts again (``Feeds.repair``).
        """
        target = self.path(token_hash)
        try:
            st = os.stat(target)
            if st.st_size == len(data):
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
                known = self._written.get(token_hash)
                old = known[1] if known is not None and known[0] == stamp else target.read_bytes()
                if old == data:
                    return False
        except FileNotFoundError:
            pass
        self.directory.mkdir(parents=True, exist_ok=True)
        temp = self.directory / f".{token_hash}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        with open(temp, "wb") as f:
            f.write(data)
        os.replace(temp, target)
        st = os.stat(target)
        self._written[token_hash] = ((st.st_ino, st.st_mtime_ns, st.st_size), data)
        if len(self._written) > self._cache_size:
            self._written.popitem(last=False)
        return True

    def damaged(self, token_hash: str) -> bool:
        try:
            return os.stat(self.path(token_hash)).st_size == 0
        except FileNotFoundError:
            return True

    def remove(self, token_hash: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(token_hash).unlink()
        self._cache.pop(token_hash, None)
        self._written.pop(token_hash, None)

    def read(self, token_hash: str) -> Served | None:
        """The file's bytes with a strong ETag (a hash of the bytes), or None if absent."""
        try:
            st = os.stat(self.path(token_hash))
        except FileNotFoundError:
            self._cache.pop(token_hash, None)
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._cache.get(token_hash)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            body = self.path(token_hash).read_bytes()
        except FileNotFoundError:
            return None
        etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
        modified = datetime.fromtimestamp(int(st.st_mtime), UTC)
        served = Served(body, etag, format_datetime(modified, usegmt=True), modified)
        self._cache[token_hash] = (stamp, served)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return served


# --- the content ------------------------------------------------------------------------


class FeedBuilder:
    """Builds a person's feed from the database, reusing each event's bytes."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.cache = EventCache()
        host = urlsplit(settings.public_url).hostname or "meridian"
        self.links = Links(settings.public_url, host)

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
            prints = {i: "\x1f".join(astuple(w)) for i, w in people.items()}
            plan = self._plan(marks, prints)
            if plan.missing_bookings or plan.missing_series:
                await self._load(s, plan, people)
        plan.order.sort(key=itemgetter(0))
        pieces = [
            piece if piece is not None else self.cache.get(key, plan.builders[key])
            for _, key, piece in plan.order
        ]
        header = FeedHeader(
            name=f"Meridian: {owner.name}",
            timezone=owner.timezone,
            year=now.year,
            description="Mentoring sessions booked in Meridian",
        )
        return feed(header, pieces)

    def _plan(self, marks: Sequence[Any], people: dict[str, str]) -> _Plan:
        plan = _Plan()
        grouped: dict[str, list[Any]] = {}
        for m in marks:
            (
                booking_id,
                series_id,
                start,
                sequence,
                updated,
                status,
                mentor_id,
                mentee_id,
                agenda,
            ) = m
            if mentor_id not in people or mentee_id not in people:
                continue
            if series_id is not None:
                grouped.setdefault(series_id, []).append(m)
                continue
            if status == "cancelled":
                continue  # a cancelled single session leaves the feed
            key = (
                "b",
                booking_id,
                sequence,
                updated,
                status,
                agenda,
                people[mentor_id],
                people[mentee_id],
            )
            piece = self.cache.peek(key)
            plan.order.append(((start, booking_id), key, piece))
            if piece is None:
                plan.missing_bookings[booking_id] = key
        for series_id, members in grouped.items():
            if all(m[5] == "cancelled" for m in members):
                continue
            first = members[0]
            state = tuple(sorted((m[0], m[3], m[4], m[5], m[8]) for m in members))
            series_key: tuple[object, ...] = (
                "s",
                series_id,
                state,
                people[first[6]],
                people[first[7]],
            )
            piece = self.cache.peek(series_key)
            plan.order.append(((min(m[2] for m in members), series_id), series_key, piece))
            if piece is None:
                plan.missing_series[series_id] = series_key
        return plan

    async def _load(self, s: AsyncSession, plan: _Plan, people: dict[str, Who]) -> None:
        """Whole rows for the sessions whose bytes are not cached, and their builders."""
        wanted = set(plan.missing_bookings)
        series: dict[str, SeriesRow] = {}
        if plan.missing_series:
            for x in await s.scalars(
                select(BookingSeries).where(BookingSeries.id.in_(list(plan.missing_series)))
            ):
                series[x.id] = series_row(x)
        rows = list(
            await s.scalars(
                select(Booking).where(
                    or_(
                        Booking.id.in_(list(wanted)),
                        Booking.series_id.in_(list(plan.missing_series)),
                    )
                )
            )
        )
        members: dict[str, list[BookingRow]] = {}
        for r in rows:
            row = booking_row(r)
            if r.series_id in plan.missing_series:
                members.setdefault(r.series_id, []).append(row)
            if r.id in wanted:
                plan.builders[plan.missing_bookings[r.id]] = partial(
                    single_event, row, people[r.mentor_id], people[r.mentee_id], self.links
                )
        for series_id, key in plan.missing_series.items():
            rows_of = members.get(series_id, [])
            if series_id not in series or not rows_of:
                plan.order = [o for o in plan.order if o[1] is not key]
                continue
            head = rows_of[0]
            plan.builders[key] = partial(
                series_event,
                series[series_id],
                rows_of,
                people[head.mentor_id],
                people[head.mentee_id],
                self.links,
            )


@dataclass
class _Plan:
    order: list[tuple[tuple[Any, str], tuple[object, ...], Piece | None]] = field(
        default_factory=list
    )
    missing_bookings: dict[str, tuple[object, ...]] = field(default_factory=dict)
    missing_series: dict[str, tuple[object, ...]] = field(default_factory=dict)
    builders: dict[tuple[object, ...], Callable[[], Event]] = field(
        default_factory=lambda: _Missing()
    )


class _Missing(dict[tuple[object, ...], Callable[[], Event]]):
    """Builders of missed keys; a cached key never needs one."""

    def __missing__(self, key: tuple[object, ...]) -> Callable[[], Event]:
        def cached() -> Event:
            raise LookupError(f"no builder for {key[:2]}")

        return cached


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


# --- the service ------------------------------------------------------------------------


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
        self.builder = FeedBuilder(db, settings)
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

    async def write_files(self, user_id: str, now: datetime, *, recheck: bool = True) -> int:
        """Rewrite every feed file of ``user_id``; return how many files changed.

        ``recheck`` looks again for feeds revoked while the file was being written. The
        listener skips it: it handles the revocation's announcement after this write.
        """
        async with self._lock:
            hashes = await self.hashes(user_id)
            if not hashes:
                return 0
            data = await self.builder.build(user_id, now)
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


# --- the listener -----------------------------------------------------------------------


class _Inbox:
    """Events of several subscriptions in one queue; channels are only ever added.

    Adding a channel opens one more subscription next to the open ones, so no event
    published meanwhile can fall between an old subscription and a new one.
    """

    def __init__(self, bus: EventBus, stack: contextlib.AsyncExitStack) -> None:
        self.bus = bus
        self.stack = stack
        self.queue: asyncio.Queue[BusEvent | None] = asyncio.Queue()
        self.channels: set[str] = set()
        self.readers: list[asyncio.Task[None]] = []
        self.open = 0

    async def add(self, channels: Iterable[str]) -> None:
        fresh = sorted(set(channels) - self.channels)
        if not fresh:
            return
        sub = await self.stack.enter_async_context(self.bus.subscribe(*fresh))
        self.channels.update(fresh)
        self.open += 1
        self.readers.append(asyncio.create_task(self._forward(sub)))

    async def _forward(self, sub: Subscription) -> None:
        try:
            async for event in sub:
                self.queue.put_nowait(event)
        finally:
            self.queue.put_nowait(None)

    async def batch(self, seconds: float) -> list[BusEvent] | None:
        """The next event and whatever else arrives within ``seconds``; None once closed."""
        first = await self.queue.get()
        if first is None:
            return None
        found = [first]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                item = await asyncio.wait_for(self.queue.get(), left)
            except TimeoutError:
                break
            if item is None:
                self.queue.put_nowait(None)
                break
            found.append(item)
        return found

    def cancel(self) -> None:
        for task in self.readers:
            task.cancel()


async def listen(app: web.Application, ready: asyncio.Event) -> None:
    """Rewrite feed files when ``calendar:<user id>`` is published, in every process.

    The listener holds one channel per feed owner. When a feed appears, the owner's
    channel is subscribed first and the owner's files written after, so a change
    published meanwhile is never lost. Revoked feeds' files are removed here too, after
    any rewrite that was under way.
    """
    feeds = app[keys.FEEDS]
    clock = app[keys.CLOCK]
    async with contextlib.AsyncExitStack() as stack:
        inbox = _Inbox(app[keys.BUS], stack)
        try:
            await inbox.add(
                [FEEDS_CHANNEL, ACCOUNTS_CHANNEL, *(channel(u) for u in await feeds.owners())]
            )
            if not ready.is_set():
                await feeds.repair(clock.now())
            ready.set()
            while (events := await inbox.batch(COALESCE_SECONDS)) is not None:
                users: set[str] = set()
                for event in events:
                    user_id = event.data.get("user_id")
                    if event.channel == ACCOUNTS_CHANNEL:
                        # A name or zone shows in this person's feeds and their partners'.
                        if isinstance(user_id, str):
                            users.update(await feeds.people_sharing_sessions(user_id))
                        continue
                    if event.channel != FEEDS_CHANNEL:
                        users.add(event.channel.removeprefix("calendar:"))
                        continue
                    removed = event.data.get("removed")
                    for h in removed if isinstance(removed, list) else []:
                        if isinstance(h, str) and len(h) == 64 and h.isalnum():
                            feeds.files.remove(h)
                    if isinstance(user_id, str):
                        await inbox.add([channel(user_id)])
                        users.add(user_id)
                await _rewrite(feeds, users, clock.now())
        finally:
            inbox.cancel()


async def _rewrite(feeds: Feeds, users: Iterable[str], now: datetime) -> None:
    for user_id in users:
        try:
            await feeds.write_files(user_id, now, recheck=False)
        except Exception:
            log.exception("could not rewrite the calendar feeds of a user")


async def feed_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the process's feeds, and the listener that keeps their files current."""
    app[keys.FEEDS] = Feeds(app[keys.DB], app[keys.BUS], app[keys.SETTINGS])
    ready = asyncio.Event()
    task = asyncio.create_task(_listen_forever(app, ready), name="calendar-feed-listener")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ready.wait(), 10)
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _listen_forever(app: web.Application, ready: asyncio.Event) -> None:
    while True:
        try:
            await listen(app, ready)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the calendar feed listener failed; restarting it")
            await asyncio.sleep(1)
