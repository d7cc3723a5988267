"""Computed slot answers kept for a few seconds, dropped the moment their inputs change.

A slot answer depends on the host's availability and both people's sessions. Every
change to those (booking, reschedule, cancel, availability, imported busy time) is the
"bookings changed" event of ``events.py``: heard here at once when it is published in
this process, and through the bus when another process (through Redis) published it,
it bumps the generation of the people concerned, so their answers are dropped. Changes
made without the event — a profile's zone or hours — are picked up when an answer's
short lifetime ends. Booking itself never trusts a cached answer: it checks again
inside its transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable, Iterable
from dataclasses import dataclass, field

from aiohttp import web

from server.core.bus import EventBus
from server.core.keys import BUS
from server.scheduling import events
from server.scheduling.keys import BOOKINGS_CHANGED, SLOT_CACHE

log = logging.getLogger(__name__)
ANSWER_SECONDS = 10.0
MAX_ENTRIES = 4096


@dataclass
class SlotCache:
    answers: OrderedDict[Hashable, tuple[float, tuple[int, ...], bytes]] = field(
        default_factory=OrderedDict
    )
    generations: dict[str, int] = field(default_factory=dict)

    def stamp(self, user_ids: Iterable[str]) -> tuple[int, ...]:
        return tuple(self.generations.get(u, 0) for u in user_ids)

    def get(self, key: Hashable, user_ids: Iterable[str]) -> bytes | None:
        found = self.answers.get(key)
        if found is None:
            return None
        expires, stamp, body = found
        if expires < time.monotonic() or stamp != self.stamp(user_ids):
            del self.answers[key]
            return None
        self.answers.move_to_end(key)
        return body

    def put(self, key: Hashable, stamp: tuple[int, ...], body: bytes) -> None:
        self.answers[key] = (time.monotonic() + ANSWER_SECONDS, stamp, body)
        self.answers.move_to_end(key)
        while len(self.answers) > MAX_ENTRIES:
            self.answers.popitem(last=False)

    def bump(self, user_ids: Iterable[str]) -> None:
        for u in user_ids:
            self.generations[u] = self.generations.get(u, 0) + 1


async def _listen(bus: EventBus, cache: SlotCache) -> None:
    async with bus.subscribe(events.CHANNEL) as sub:
        async for event in sub:
            users = events.users_in(event.data)
            if users is not None:
                cache.bump(users)


async def slot_cache(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context: follows the "bookings changed" event, here and from elsewhere."""
    cache = app[SLOT_CACHE]
    bus = app[BUS]
    stop_listening = app[BOOKINGS_CHANGED].listen(cache.bump)

    async def restored() -> None:
        cache.answers.clear()  # changes announced while the bus was away never arrived

    stop_restored = bus.on_restored(restored)
    task = asyncio.create_task(_listen(bus, cache), name="slot-cache-listener")
    yield
    stop_restored()
    stop_listening()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
