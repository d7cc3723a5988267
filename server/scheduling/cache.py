"""Computed slot answers kept for a few seconds, dropped the moment their inputs change.

A slot answer depends on the host's availability and both people's sessions. Every
change to those (booking, reschedule, cancel, availability) bumps the generation of
the people concerned in this process at once and is announced on the bus channel
``scheduling``, so every other process (through Redis) drops its copies too. Changes
made elsewhere without an announcement — a profile's zone or hours, imported busy
time — are picked up when an answer's short lifetime ends. Booking itself never trusts
a cached answer: it checks again inside its transaction.
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

from server import keys
from server.core.bus import EventBus, publish_or_log

log = logging.getLogger(__name__)
CHANNEL = "scheduling"
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


async def changed(app: web.Application, user_ids: Iterable[str]) -> None:
    """Slot answers involving these people are stale, here and in every process."""
    people = sorted(set(user_ids))
    app[keys.SLOT_CACHE].bump(people)
    await publish_or_log(app[keys.BUS], CHANNEL, {"users": people})


async def _listen(bus: EventBus, cache: SlotCache) -> None:
    async with bus.subscribe(CHANNEL) as sub:
        async for event in sub:
            users = event.data.get("users")
            if isinstance(users, list):
                cache.bump(str(u) for u in users)


async def slot_cache(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context: follows changes announced by other processes."""
    cache = app[keys.SLOT_CACHE]
    bus = app[keys.BUS]

    async def restored() -> None:
        cache.answers.clear()  # changes announced while the bus was away never arrived

    stop_restored = bus.on_restored(restored)
    task = asyncio.create_task(_listen(bus, cache), name="slot-cache-listener")
    yield
    stop_restored()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
