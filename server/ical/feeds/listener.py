"""The listener that keeps every process's feed files current as calendars change.

Any process that changes a booking, a series, an agenda or a profile publishes
``calendar:<user id>`` on the event bus; each process's listener rewrites that
person's files (a name or zone change on the accounts channel rewrites the feeds of
everyone who shares a session with them). Events arriving within a few milliseconds
of each other are handled as one batch, so a burst of changes is one rewrite per
person. The listener waits on the bus rather than on a clock, so it is a task of its
own and not a ``core.periodic`` job: there is no interval to step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

from aiohttp import web

from server.accounts.auth import ACCOUNTS_CHANNEL
from server.core.bus import Event as BusEvent
from server.core.bus import EventBus, Subscription
from server.core.keys import BUS, CLOCK, DB, SETTINGS
from server.ical.feeds.service import FEEDS_CHANNEL, Feeds, channel
from server.ical.keys import FEEDS

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.02


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
    feeds = app[FEEDS]
    clock = app[CLOCK]
    async with contextlib.AsyncExitStack() as stack:
        inbox = _Inbox(app[BUS], stack)
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
    app[FEEDS] = Feeds(app[DB], app[BUS], app[SETTINGS])
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
