"""Who is asking: a session cookie (browsers) or a bearer token (scripts).

Resolution is lazy, so static files and health checks never touch the database, and
cached twice: on the request, and per credential in ``IdentityCache`` for up to
``IDENTITY_SECONDS`` so a page making many calls does not pay a lookup for each.
Whatever ends or changes a credential — sign-out, a revoked token, an account edit —
calls ``forget_credential``/``forget_user``, which drops the entry here at once and, through
the event bus, in every other process.

While the bus is away a forget cannot reach the other processes, so no process trusts
its cache then (every request reads the database), and the forgets that could not be
sent are sent once the bus is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web
from sqlalchemy import select, update

from server.accounts.keys import IDENTITY_CACHE
from server.accounts.models import ApiToken, User, UserSession
from server.core.bus import BusUnavailable, Message
from server.core.credentials import SESSION_COOKIE, bearer_token
from server.core.errors import Unauthorized
from server.core.ids import hash_token
from server.core.keys import BUS, CLOCK, DB

log = logging.getLogger(__name__)
IDENTITY_SECONDS = 30
# A token's last use is recorded to the minute: one write a minute, not one per request.
LAST_USED_RESOLUTION_SECONDS = 60
# Account events, for every process: {"digest": d} a credential ended;
# {"user_id": u} that person's account changed (name, zone) or lost a credential.
ACCOUNTS_CHANNEL = "accounts"
MAX_ENTRIES = 10_000
_CACHE: web.RequestKey[Identity | None] = web.RequestKey("identity")


@dataclass(frozen=True, slots=True)
class Identity:
    user: User
    via: Literal["cookie", "bearer"]
    credential_id: str


class IdentityCache:
    """Resolved credentials by digest, each valid until a deadline on the app's clock."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[datetime, Identity]] = OrderedDict()
        # False while forgets from other processes cannot arrive (the bus is away).
        self.trusted = True
        # Forgets this process could not announce; sent when the bus is back.
        self.unsent: list[Message] = []

    def get(self, digest: str, now: datetime) -> Identity | None:
        if not self.trusted:
            return None
        found = self._entries.get(digest)
        if found is None:
            return None
        if found[0] <= now:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return found[1]

    def put(self, digest: str, identity: Identity, until: datetime) -> None:
        if not self.trusted:
            return
        self._entries[digest] = (until, identity)
        self._entries.move_to_end(digest)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)

    def forget(self, *, digest: str | None = None, user_id: str | None = None) -> None:
        if digest is not None:
            self._entries.pop(digest, None)
        if user_id is not None:
            for key in [k for k, (_, i) in self._entries.items() if i.user.id == user_id]:
                del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()


async def forget_credential(app: web.Application, digest: str) -> None:
    """A session or token has ended: no process may honour it from its cache."""
    app[IDENTITY_CACHE].forget(digest=digest)
    await _announce(app, {"digest": digest})


async def forget_user(app: web.Application, user_id: str) -> None:
    """A user's account changed (name, zone) or lost a credential: re-read it everywhere."""
    app[IDENTITY_CACHE].forget(user_id=user_id)
    await _announce(app, {"user_id": user_id})


async def _announce(app: web.Application, forget: Message) -> None:
    cache = app[IDENTITY_CACHE]
    try:
        await app[BUS].publish(ACCOUNTS_CHANNEL, forget)
    except BusUnavailable:
        # Stored already; the other processes do not trust their caches meanwhile.
        log.warning("the bus is away: a credential change is announced when it is back")
        if len(cache.unsent) < MAX_ENTRIES:
            cache.unsent.append(forget)


async def identity_cache(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the cache, and a listener applying other processes' forgets."""
    cache = IdentityCache()
    app[IDENTITY_CACHE] = cache
    bus = app[BUS]

    def lost() -> None:
        cache.trusted = False
        cache.clear()

    async def restored() -> None:
        unsent, cache.unsent = cache.unsent, []
        for forget in unsent:
            await _announce(app, forget)
        cache.clear()
        cache.trusted = bus.available

    stop_lost, stop_restored = bus.on_lost(lost), bus.on_restored(restored)
    async with bus.subscribe(ACCOUNTS_CHANNEL) as sub:

        async def listen() -> None:
            async for event in sub:
                digest, user_id = event.data.get("digest"), event.data.get("user_id")
                cache.forget(
                    digest=digest if isinstance(digest, str) else None,
                    user_id=user_id if isinstance(user_id, str) else None,
                )

        task = asyncio.create_task(listen(), name="identity-cache-forgets")
        yield
        stop_lost()
        stop_restored()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def current_identity(request: web.Request) -> Identity | None:
    if _CACHE in request:
        return request[_CACHE]
    identity = await _resolve(request)
    request[_CACHE] = identity
    return identity


async def require_user(request: web.Request) -> User:
    identity = await current_identity(request)
    if identity is None:
        raise Unauthorized()
    return identity.user


async def _resolve(request: web.Request) -> Identity | None:
    app = request.app
    now = app[CLOCK].now()
    token = bearer_token(request)
    secret = token if token is not None else request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    digest = hash_token(secret)
    cache = app[IDENTITY_CACHE]
    cached = cache.get(digest, now)
    if cached is not None and cached.via == ("bearer" if token is not None else "cookie"):
        return cached
    if token is not None:
        identity, expires = await _from_token(app, digest, now)
        cache.put(digest, identity, min(expires, now + timedelta(seconds=IDENTITY_SECONDS)))
        return identity
    found = await _from_session(app, digest, now)
    if found is not None:
        identity, expires = found
        cache.put(digest, identity, min(expires, now + timedelta(seconds=IDENTITY_SECONDS)))
        return identity
    return None


async def _from_token(
    app: web.Application, digest: str, now: datetime
) -> tuple[Identity, datetime]:
    """The token's owner and its expiry; ``last_used_at`` is written at most once a minute."""
    db = app[DB]
    async with db.read() as s:
        row = (
            await s.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == digest)
            )
        ).first()
    if row is None:
        raise Unauthorized("This bearer token is not valid.")
    api_token, user = row
    if api_token.expires_at <= now:
        raise Unauthorized(
            f"This bearer token expired on {api_token.expires_at:%Y-%m-%d %H:%M} UTC. "
            "Create a new one on your Account page."
        )
    last = api_token.last_used_at
    if last is None or (now - last).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
        async with db.write() as s:
            await s.execute(
                update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_at=now)
            )
    return Identity(user, "bearer", api_token.id), api_token.expires_at


async def _from_session(
    app: web.Application, digest: str, now: datetime
) -> tuple[Identity, datetime] | None:
    async with app[DB].read() as s:
        found = (
            await s.execute(
                select(UserSession, User)
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.id == digest, UserSession.expires_at > now)
            )
        ).first()
    if found is None:
        return None
    session, user = found
    return Identity(user, "cookie", session.id), session.expires_at
