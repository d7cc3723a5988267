"""``MemoryBus``: the bus of a single process, the embedded default."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable

from server.core.bus.contract import Event, Lost, Message, Restored, Subscription
from server.core.bus.fanout import Callbacks, Fanout


class MemoryBus:
    def __init__(self) -> None:
        self._fanout = Fanout()
        self._callbacks = Callbacks()  # never called: a process cannot lose itself

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
