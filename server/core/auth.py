"""Who is asking: a session cookie (browsers) or a bearer token (scripts).

Resolution is lazy and cached on the request, so static files and health checks never
touch the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from sqlalchemy import select, update

from server import keys
from server.core.errors import Unauthorized
from server.core.ids import hash_token
from server.db.models import ApiToken, User, UserSession

SESSION_COOKIE = "meridian_session"
_CACHE: web.RequestKey[Identity | None] = web.RequestKey("identity")


@dataclass(frozen=True, slots=True)
class Identity:
    user: User
    via: Literal["cookie", "bearer"]
    credential_id: str


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


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
    db = request.app[keys.DB]
    now = request.app[keys.CLOCK].now()
    token = bearer_token(request)
    if token is not None:
        digest = hash_token(token)
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
        last = api_token.last_used_at
        if last is None or (now - last).total_seconds() > 60:
            async with db.write() as s:
                await s.execute(
                    update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_at=now)
                )
        return Identity(user, "bearer", api_token.id)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    digest = hash_token(cookie)
    async with db.read() as s:
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
    return Identity(user, "cookie", session.id)
