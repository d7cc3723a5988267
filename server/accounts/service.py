"""Account use cases: each opens its own transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from server.accounts.passwords import hash_password, verify_password
from server.accounts.schemas import AccountUpdate, SignupIn
from server.core.db import Database
from server.core.errors import Conflict, NotFound, Unauthorized
from server.core.ids import hash_token, new_id, new_token
from server.db.models import ApiToken, User, UserSession

DUPLICATE_EMAIL = "An account with this email already exists. Sign in instead?"


async def signup(*, db: Database, now: datetime, data: SignupIn) -> User:
    password_hash = await hash_password(data.password)
    user = User(
        id=new_id(),
        email=data.email,
        password_hash=password_hash,
        name=data.name,
        timezone=data.timezone,
        created_at=now,
    )
    try:
        async with db.write() as s:
            taken = await s.scalar(select(User.id).where(User.email == data.email))
            if taken is not None:
                raise Conflict(DUPLICATE_EMAIL)
            s.add(user)
    except IntegrityError:
        raise Conflict(DUPLICATE_EMAIL) from None
    return user


async def authenticate(*, db: Database, email: str, password: str) -> User:
    async with db.read() as s:
        user = await s.scalar(select(User).where(User.email == email))
    if not await verify_password(user.password_hash if user else None, password):
        raise Unauthorized("That email and password do not match an account.")
    assert user is not None
    return user


async def start_session(
    *, db: Database, now: datetime, user_id: str, ttl: timedelta, user_agent: str
) -> tuple[str, datetime]:
    """Create a server-side session; return the cookie secret and its expiry."""
    secret = new_token()
    expires = now + ttl
    async with db.write() as s:
        s.add(
            UserSession(
                id=hash_token(secret),
                user_id=user_id,
                created_at=now,
                expires_at=expires,
                user_agent=user_agent[:300],
            )
        )
        await s.execute(delete(UserSession).where(UserSession.expires_at <= now))
    return secret, expires


async def end_session(*, db: Database, session_id: str) -> None:
    async with db.write() as s:
        await s.execute(delete(UserSession).where(UserSession.id == session_id))


async def update_account(*, db: Database, user_id: str, data: AccountUpdate) -> User:
    async with db.write() as s:
        user = await s.get(User, user_id)
        if user is None:
            raise NotFound()
        if data.name is not None:
            user.name = data.name
        if data.timezone is not None:
            user.timezone = data.timezone
    return user


async def create_token(
    *, db: Database, now: datetime, user_id: str, name: str
) -> tuple[ApiToken, str]:
    secret = new_token()
    token = ApiToken(
        id=new_id(),
        user_id=user_id,
        name=name,
        token_hash=hash_token(secret),
        created_at=now,
        last_used_at=None,
    )
    async with db.write() as s:
        s.add(token)
    return token, secret


async def list_tokens(*, db: Database, user_id: str) -> list[ApiToken]:
    async with db.read() as s:
        rows = await s.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)
        )
        return list(rows)


async def revoke_token(*, db: Database, user_id: str, token_id: str) -> None:
    async with db.write() as s:
        result = await s.execute(
            delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound("There is no such token.")
