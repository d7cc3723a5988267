"""The event bus: publish a JSON message to a channel; receive while a subscription is open.

Two implementations share one contract (tests/core/test_bus.py runs against both):

* ``MemoryBus`` — the embedded default; one process, no dependencies.
* ``RedisBus`` — several processes. Each process keeps one dedicated pub/sub connection
  and one reader task doing blocking reads; local subscribers are fanned out from it,
  so a process subscribes to a Redis channel once however many local listeners it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)

Message = dict[str, Any]
_CLOSED = object()


@dataclass(frozen=True, slots=True)
class Event:
    channel: str
    data: Message


class Subscription:
    """Events for the channels subscribed to, in publish order per channel."""

    def __init__(self, channels: tuple[str, ...], maxsize: int = 1000) -> None:
        self.channels = channels
        self._queue: asyncio.Queue[Event | object] = asyncio.Queue(maxsize)

    def deliver(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("subscriber on %s is not keeping up; dropped an event", event.channel)

    def close(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_CLOSED)

    async def get(self) -> Event:
        item = await self._queue.get()
        if item is _CLOSED:
            self.close()
            raise BusClosed("the event bus closed")
        assert isinstance(item, Event)
        return item

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            try:
                yield await self.get()
            except BusClosed:
                return


class BusClosed(Exception):
    pass


class EventBus(Protocol):
    async def publish(self, channel: str, data: Message) -> None: ...

    def subscribe(self, *channels: str) -> contextlib.AbstractAsyncContextManager[Subscription]:
        """Receive events published to ``channels`` after this context is entered."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class _Fanout:
    """Local subscribers per channel; shared by both buses."""

    def __init__(self) -> None:
        self.subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)

    def add(self, sub: Subscription) -> list[str]:
        """Register ``sub``; return the channels that had no local subscriber before."""
        fresh = [c for c in sub.channels if not self.subscribers.get(c)]
        for c in sub.channels:
            self.subscribers[c].add(sub)
        return fresh

    def remove(self, sub: Subscription) -> list[str]:
        """Unregister ``sub``; return the channels left with no local subscriber."""
        emptied = []
        for c in sub.channels:
            subs = self.subscribers.get(c)
            if subs is None:
                continue
            subs.discard(sub)
            if not subs:
                del self.subscribers[c]
                emptied.append(c)
        return emptied

    def deliver(self, event: Event) -> None:
        for sub in tuple(self.subscribers.get(event.channel, ())):
            sub.deliver(event)

    def close_all(self) -> None:
        for subs in self.subscribers.values():
            for sub in subs:
                sub.close()
        self.subscribers.clear()


class MemoryBus:
    def __init__(self) -> None:
        self._fanout = _Fanout()

    async def publish(self, channel: str, data: Message) -> None:
        # A round trip through JSON keeps both buses honest about what may be sent.
        self._fanout.deliver(Event(channel, json.loads(json.dumps(data))))

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        sub = Subscription(channels)
        self._fanout.add(sub)
        try:
            yield sub
        finally:
            self._fanout.remove(sub)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._fanout.close_all()


class RedisBus:
    """Redis pub/sub with one connection for publishing and one for subscriptions."""

    PREFIX = "meridian:bus:"

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis  # loaded only when Redis is configured

        self._client: aioredis.Redis = aioredis.Redis.from_url(url)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=False)
        self._fanout = _Fanout()
        self._lock = asyncio.Lock()
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None
        # A private channel keeps the pub/sub connection subscribed, so the reader's
        # blocking read always has something to wait on.
        self._anchor = f"{self.PREFIX}process:{id(self)}"

    async def start(self) -> None:
        await self._client.ping()
        waiter = self._expect(self._anchor)
        await self._pubsub.subscribe(self._anchor)
        self._reader = asyncio.create_task(self._read(), name="redis-bus-reader")
        await waiter

    async def publish(self, channel: str, data: Message) -> None:
        await self._client.publish(self.PREFIX + channel, json.dumps(data))

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        sub = Subscription(channels)
        async with self._lock:
            fresh = self._fanout.add(sub)
            if fresh:
                waiters = [self._expect(self.PREFIX + c) for c in fresh]
                await self._pubsub.subscribe(*(self.PREFIX + c for c in fresh))
                await asyncio.wait_for(asyncio.gather(*waiters), 10)
        try:
            yield sub
        finally:
            async with self._lock:
                emptied = self._fanout.remove(sub)
                if emptied and self._reader is not None and not self._reader.done():
                    await self._pubsub.unsubscribe(*(self.PREFIX + c for c in emptied))

    def _expect(self, channel: str) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[channel] = fut
        return fut

    async def _read(self) -> None:
        """Blocking reads on the pub/sub connection; never a polling loop."""
        try:
            async for raw in self._pubsub.listen():
                kind = raw["type"]
                channel = raw["channel"].decode()
                if kind == "subscribe":
                    fut = self._pending.pop(channel, None)
                    if fut is not None and not fut.done():
                        fut.set_result(None)
                elif kind == "message":
                    try:
                        data = json.loads(raw["data"])
                    except ValueError:
                        log.warning("ignored a non-JSON message on %s", channel)
                        continue
                    self._fanout.deliver(Event(channel.removeprefix(self.PREFIX), data))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the Redis bus reader stopped")
            self._fanout.close_all()

    async def ping(self) -> None:
        await self._client.ping()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._fanout.close_all()
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._client.aclose()
