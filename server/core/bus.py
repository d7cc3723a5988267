"""The event bus: publish a JSON message to a channel; receive while a subscription is open.

Two implementations share one contract (tests/core/test_bus.py runs against both):

* ``MemoryBus`` — the embedded default; one process, no dependencies.
* ``RedisBus`` — several processes. Each process keeps one dedicated pub/sub connection
  and one reader task doing blocking reads; local subscribers are fanned out from it,
  so a process subscribes to a Redis channel once however many local listeners it has.

When Redis goes away the reader does not stop: it reconnects with capped, jittered
exponential backoff and subscribes again to every channel that still has a local
subscriber. Meanwhile ``available`` is False, ``ping`` and ``publish`` fail at once with
``BusUnavailable`` (a 503), and subscriptions opened are recorded and take effect on
reconnection; what this process publishes then reaches its own subscribers only.
The reconnecting loop is written here rather than left to redis-py's retries, which
give up after a fixed count and tell nobody that events may have been missed.
Redis pub/sub delivers at most once, so what was published during the outage does not
reach the other processes: features that keep state across processes register
``on_lost`` and ``on_restored`` to stop trusting, and then re-announce, that state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from server.core import redis_client
from server.core.errors import ServiceUnavailable

if TYPE_CHECKING:
    from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)

Message = dict[str, Any]
Restored = Callable[[], Awaitable[None]]
Lost = Callable[[], None]
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


class BusUnavailable(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "The connection between Meridian's servers (Redis) is away for a moment. "
            "Try again in a few seconds."
        )


class EventBus(Protocol):
    async def publish(self, channel: str, data: Message) -> None:
        """Send ``data`` to every subscriber of ``channel``; ``BusUnavailable`` if it cannot."""
        ...

    def subscribe(self, *channels: str) -> contextlib.AbstractAsyncContextManager[Subscription]:
        """Receive events published to ``channels`` after this context is entered."""
        ...

    @property
    def available(self) -> bool:
        """False while events cannot travel between processes."""
        ...

    def on_lost(self, callback: Lost) -> Callable[[], None]:
        """Call ``callback`` when the bus loses its connection; returns the un-registration."""
        ...

    def on_restored(self, callback: Restored) -> Callable[[], None]:
        """Run ``callback`` (in a task of its own) each time the bus is back after an outage."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


async def publish_or_log(bus: EventBus, channel: str, data: Message) -> bool:
    """Announce a change that is already stored; while the bus is away, log and go on.

    The change itself is safe in the database; only its live announcement is lost, and
    the features listening make up for it when the bus is back (``on_restored``) or at
    the page's next load. A 503 after the commit would invite a retry that repeats it.
    """
    try:
        await bus.publish(channel, data)
    except BusUnavailable:
        log.warning("the bus is away: an event on %s was not announced", channel)
        return False
    return True


class _Callbacks:
    """The ``on_lost``/``on_restored`` registrations of one bus."""

    def __init__(self) -> None:
        self.lost: list[Lost] = []
        self.restored: list[Restored] = []

    def add_lost(self, callback: Lost) -> Callable[[], None]:
        self.lost.append(callback)
        return lambda: _discard(self.lost, callback)

    def add_restored(self, callback: Restored) -> Callable[[], None]:
        self.restored.append(callback)
        return lambda: _discard(self.restored, callback)


def _discard(items: list[Any], item: Any) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)


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
        self._callbacks = _Callbacks()  # never called: a process cannot lose itself

    @property
    def available(self) -> bool:
        return True

    def on_lost(self, callback: Lost) -> Callable[[], None]:
        return self._callbacks.add_lost(callback)

    def on_restored(self, callback: Restored) -> Callable[[], None]:
        return self._callbacks.add_restored(callback)

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
    RECONNECT_BASE_SECONDS = 0.1
    RECONNECT_MAX_SECONDS = 2.0
    SUBSCRIBE_SECONDS = 10.0

    def __init__(self, url: str) -> None:
        from redis.backoff import EqualJitterBackoff

        self._client = redis_client.connect(url)
        # Reconnecting the subscriptions is this class's own loop, not redis-py's retries.
        self._listener = redis_client.connect(url, retries=0)
        self._pubsub: PubSub | None = None
        self._fanout = _Fanout()
        self._lock = asyncio.Lock()
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._was_up = False
        self._failures = 0
        self._backoff = EqualJitterBackoff(
            cap=self.RECONNECT_MAX_SECONDS, base=self.RECONNECT_BASE_SECONDS
        )
        self._callbacks = _Callbacks()
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
