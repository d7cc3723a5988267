"""What every bus promises: events, subscriptions, the errors, and the ``EventBus`` protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from server.core.errors import ServiceUnavailable

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
