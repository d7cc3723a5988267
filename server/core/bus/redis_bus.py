"""``RedisBus``: events between processes through Redis pub/sub.

Each process keeps one dedicated pub/sub connection and one reader task doing blocking
reads; local subscribers are fanned out from it, so a process subscribes to a Redis
channel once however many local listeners it has.

When Redis goes away the reader does not stop: it reconnects with capped, jittered
exponential backoff and subscribes again to every channel that still has a local
subscriber. Meanwhile ``available`` is False, ``ping`` and ``publish`` fail at once with
``BusUnavailable`` (a 503), and subscriptions opened are recorded and take effect on
reconnection; what this process publishes then reaches its own subscribers only.
The reconnecting loop is written here rather than left to redis-py's retries, which
give up after a fixed count and tell nobody that events may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from server.core import redis_client
from server.core.bus.contract import (
    BusUnavailable,
    Event,
    Lost,
    Message,
    Restored,
    Subscription,
)
from server.core.bus.fanout import Callbacks, Fanout

if TYPE_CHECKING:
    from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)


class RedisBus:
    """Redis pub/sub with one connection for publishing and one for subscriptions."""

    PREFIX = "meridian:bus:"
    RECONNECT_BASE_SECONDS = 0.1
    RECONNECT_MAX_SECONDS = 2.0
    SUBSCRIBE_SECONDS = 10.0

    def __init__(self, url: str) -> None:
        from redis.backoff import EqualJitterBackoff

        self._client = redis_client.connect(url)
        # Reconnecting the subscriptions is this class's own loop, not redis-py's retries.
        self._listener = redis_client.connect(url, retries=0)
        self._pubsub: PubSub | None = None
        self._fanout = Fanout()
        self._lock = asyncio.Lock()
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._was_up = False
        self._failures = 0
        self._backoff = EqualJitterBackoff(
            cap=self.RECONNECT_MAX_SECONDS, base=self.RECONNECT_BASE_SECONDS
        )
        self._callbacks = Callbacks()
        self._background: set[asyncio.Task[None]] = set()
        # A private channel keeps the pub/sub connection subscribed, so the reader's
        # blocking read always has something to wait on. It is subscribed last: its
        # confirmation says every channel before it is subscribed too.
        self._anchor = f"{self.PREFIX}process:{id(self)}"

    @property
    def available(self) -> bool:
        return self._up.is_set()

    @property
    def reconnect_failures(self) -> int:
        """Failed attempts to reconnect in the current outage; 0 while connected."""
        return self._failures

    def on_lost(self, callback: Lost) -> Callable[[], None]:
        return self._callbacks.add_lost(callback)

    def on_restored(self, callback: Restored) -> Callable[[], None]:
        return self._callbacks.add_restored(callback)

    async def start(self) -> None:
        """Connect and subscribe; raises if Redis does not answer at startup."""
        await self._client.ping()
        pubsub = await self._connect()
        self._reader = asyncio.create_task(self._run(pubsub), name="redis-bus-reader")
        try:
            await asyncio.wait_for(self._up.wait(), self.SUBSCRIBE_SECONDS)
        except TimeoutError:
            await self.close()
            raise

    async def publish(self, channel: str, data: Message) -> None:
        payload = json.dumps(data)
        if not self._up.is_set():
            # This process's own subscribers still hear it; the others cannot.
            self._fanout.deliver(Event(channel, json.loads(payload)))
            raise BusUnavailable()
        try:
            await self._client.publish(self.PREFIX + channel, payload)
        except redis_client.redis_errors() as exc:
            raise BusUnavailable() from exc

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        sub = Subscription(channels)
        async with self._lock:
            fresh = self._fanout.add(sub)
            if fresh and self._up.is_set() and self._pubsub is not None:
                await self._subscribe_now(self._pubsub, [self.PREFIX + c for c in fresh])
            # Otherwise the channels are recorded in the fan-out, and the next connection
            # subscribes to them.
        try:
            yield sub
        finally:
            async with self._lock:
                emptied = self._fanout.remove(sub)
                if emptied and self._up.is_set() and self._pubsub is not None:
                    # If this fails the connection is gone, and the next one subscribes
                    # only to the channels that still have a subscriber.
                    with contextlib.suppress(*redis_client.redis_errors()):
                        await self._pubsub.unsubscribe(*(self.PREFIX + c for c in emptied))

    async def _subscribe_now(self, pubsub: PubSub, names: list[str]) -> None:
        waiters = [self._expect(name) for name in names]
        errors: tuple[type[Exception], ...] = (TimeoutError, *redis_client.redis_errors())
        try:
            await pubsub.subscribe(*names)
            # Released early if the connection drops meanwhile (see ``_went_down``).
            await asyncio.wait_for(asyncio.gather(*waiters), self.SUBSCRIBE_SECONDS)
        except errors as exc:
            log.warning("subscribing to %s waits for the Redis connection: %r", names, exc)
        finally:
            for name in names:
                self._pending.pop(name, None)

    def _expect(self, channel: str) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[channel] = fut
        return fut

    async def _connect(self) -> PubSub:
        """A new pub/sub connection subscribed to every channel with a local subscriber."""
        async with self._lock:
            pubsub = self._listener.pubsub(ignore_subscribe_messages=False)
            names = [self.PREFIX + c for c in self._fanout.subscribers]
            try:
                await pubsub.subscribe(*names, self._anchor)
            except BaseException:
                await _discard_pubsub(pubsub)
                raise
            self._pubsub = pubsub
            return pubsub

    async def _run(self, pubsub: PubSub | None) -> None:
        """Read, and when the connection is lost, reconnect until the bus is closed."""
        while True:
            try:
                if pubsub is None:
                    pubsub = await self._connect()
                await self._read(pubsub)
                raise ConnectionError("the pub/sub connection ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._up.is_set():
                    log.warning("the Redis bus lost its connection (%r); reconnecting", exc)
                elif not isinstance(exc, redis_client.redis_errors()):
                    log.exception("the Redis bus reader failed; reconnecting")
                self._went_down()
                if pubsub is not None:
                    self._pubsub = None
                    await _discard_pubsub(pubsub)
                    pubsub = None
                self._failures += 1
                await asyncio.sleep(self._backoff.compute(self._failures))

    async def _read(self, pubsub: PubSub) -> None:
        """Blocking reads on the pub/sub connection; never a polling loop."""
        async for raw in pubsub.listen():
            kind = raw["type"]
            channel = raw["channel"].decode()
            if kind == "subscribe":
                if channel == self._anchor:
                    self._came_up()
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

    def _came_up(self) -> None:
        if self._up.is_set():
            return
        self._up.set()
        self._failures = 0
        if not self._was_up:
            self._was_up = True
            return
        log.warning("the Redis bus is connected again")
        for callback in list(self._callbacks.restored):
            task = asyncio.create_task(_run_callback(callback), name="bus-restored")
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _went_down(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_result(None)  # recorded; subscribed again on reconnection
        self._pending.clear()
        if not self._up.is_set():
            return
        self._up.clear()
        for callback in list(self._callbacks.lost):
            try:
                callback()
            except Exception:
                log.exception("a lost-connection callback of the bus failed")

    async def ping(self) -> None:
        if not self._up.is_set():
            raise BusUnavailable()
        try:
            await self._client.ping()
        except redis_client.redis_errors() as exc:
            raise BusUnavailable() from exc

    async def close(self) -> None:
        tasks = [t for t in (self._reader, *self._background) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fanout.close_all()
        if self._pubsub is not None:
            await _discard_pubsub(self._pubsub)
        await self._listener.aclose()
        await self._client.aclose()


async def _run_callback(callback: Restored) -> None:
    try:
        await callback()
    except Exception:
        log.exception("a restored-connection callback of the bus failed")


async def _discard_pubsub(pubsub: PubSub) -> None:
    with contextlib.suppress(Exception):
        await pubsub.aclose()  # type: ignore[no-untyped-call]
