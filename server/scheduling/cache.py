"""Computed slot answers kept for a few seconds, dropped the moment their inputs change.

A slot answer depends on the host's availability and both people's sessions. Every
change to those (booking, reschedule, cancel, availability) bumps the generation of
the people concerned in this process at once and is announced on the bus channel
``scheduling``, so every other process (through Redis) drops its copies too. Changes
made elsewhere without an announcement — a profile's zone or hours, imported busy
time — are picked up when an answer's short lifetime ends. Booking itself never trusts
a cached answer: it checks again inside its transaction.

The identity of a credential asking for slots is also remembered for a moment, so a
page paging through weeks does not pay a session lookup per request; it is never
longer than ``IDENTITY_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable, Iterable
from dataclasses import dataclass, field

from aiohttp import web

from server import keys
from server.core.auth import SESSION_COOKIE, bearer_token, require_user
from server.core.bus import EventBus
from server.db.models import User

log = logging.getLogger(__name__)
CHANNEL = "scheduling"
ANSWER_SECONDS = 10.0
IDENTITY_SECONDS = 2.0
MAX_ENTRIES = 4096


@dataclass
class SlotCache:
    answers: OrderedDict[Hashable, tuple[float, tuple[int, ...], bytes]] = field(
        default_factory=OrderedDict
    )
    generations: dict[str, int] = field(default_factory=dict)
    identities: OrderedDict[str, tuple[float, User]] = field(default_factory=OrderedDict)

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

    def remember(self, credential: str, user: User) -> None:
        self.identities[credential] = (time.monotonic() + IDENTITY_SECONDS, user)
        while len(self.identities) > MAX_ENTRIES:
            self.identities.popitem(last=False)

    def recall(self, credential: str) -> User | None:
        found = self.identities.get(credential)
        if found is None:
            return None
        if found[0] < time.monotonic():
            del self.identities[credential]
            return None
        return found[1]


def _credential(request: web.Request) -> str | None:
    secret = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    return hashlib.sha256(secret.encode()).hexdigest()


async def viewer(request: web.Request) -> User:
    """The signed-in user, remembered per credential for at most ``IDENTITY_SECONDS``."""
    cache = request.app[keys.SLOT_CACHE]
    credential = _credential(request)
    if credential is not None:
        user = cache.recall(credential)
        if user is not None:
            return user
    user = await require_user(request)
    if credential is not None:
        cache.remember(credential, user)
    return user


async def changed(app: web.Application, user_ids: Iterable[str]) -> None:
    """Slot answers involving these people are stale, here and in every process."""
    people = sorted(set(user_ids))
    app[keys.SLOT_CACHE].bump(people)
    await app[keys.BUS].publish(CHANNEL, {"users": people})


async def _listen(bus: EventBus, cache: SlotCache) -> None:
    async with bus.subscribe(CHANNEL) as sub:
        async for event in sub:
            users = event.data.get("users")
            if isinstance(users, list):
                cache.bump(str(u) for u in users)


async def slot_cache(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context: follows changes announced by other processes."""
    cache = app[keys.SLOT_CACHE]
    task = asyncio.create_task(_listen(app[keys.BUS], cache), name="slot-cache-listener")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
