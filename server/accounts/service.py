"""Account use cases: each opens its own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from server.accounts.models import ApiToken, EmailToken, User, UserSession
from server.accounts.passwords import hash_password, require_strong, verify_password
from server.accounts.schemas import AccountUpdate, SignupIn
from server.core.db import Database
from server.core.errors import Conflict, NotFound, Unauthorized, field_error
from server.core.ids import hash_token, new_id, new_token

DUPLICATE_EMAIL = "An account with this email already exists. Sign in instead?"
WRONG_CREDENTIALS = "That email and password do not match an account."
VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)
Purpose = Literal["verify", "reset"]
LINK_LIFETIMES: dict[Purpose, timedelta] = {"verify": VERIFY_TTL, "reset": RESET_TTL}
DEAD_LINK = {
    "verify": "This confirmation link has expired or was already used. "
    "Send a new one from your Account page.",
    "reset": "This reset link has expired or was already used. Ask for a new one.",
}


async def signup(*, db: Database, now: datetime, data: SignupIn, min_score: int) -> User:
    await require_strong(data.password, email=data.email, name=data.name, min_score=min_score)
    password_hash = await hash_password(data.password)
    user = User(
        id=new_id(),
        email=data.email,
        password_hash=password_hash,
        name=data.name,
        timezone=data.timezone,
        created_at=now,
        email_verified_at=None,
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
        raise Unauthorized(WRONG_CREDENTIALS)
    assert user is not None
    return user


async def find_user(*, db: Database, email: str) -> User | None:
    async with db.read() as s:
        user: User | None = await s.scalar(select(User).where(User.email == email))
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


async def change_password(
    *,
    db: Database,
    user: User,
    current: str,
    new: str,
    min_score: int,
    keep_session: str | None,
) -> None:
    """Set a new password after checking the current one; every other session ends.

    Bearer tokens stay: they are listed on the Account page, where they can be revoked.
    """
    async with db.read() as s:
        stored = await s.scalar(select(User.password_hash).where(User.id == user.id))
    if not await verify_password(stored, current):
        raise field_error("current_password", "That is not your current password.")
    await require_strong(new, email=user.email, name=user.name, min_score=min_score)
    password_hash = await hash_password(new)
    async with db.write() as s:
        await s.execute(update(User).where(User.id == user.id).values(password_hash=password_hash))
        ended = delete(UserSession).where(UserSession.user_id == user.id)
        if keep_session is not None:
            ended = ended.where(UserSession.id != keep_session)
        await s.execute(ended)


# --- bearer tokens ----------------------------------------------------------------------


async def create_token(
    *, db: Database, now: datetime, user_id: str, name: str, ttl: timedelta
) -> tuple[ApiToken, str]:
    secret = new_token()
    token = ApiToken(
        id=new_id(),
        user_id=user_id,
        name=name,
        token_hash=hash_token(secret),
        created_at=now,
        last_used_at=None,
        expires_at=now + ttl,
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


async def revoke_token(*, db: Database, user_id: str, token_id: str) -> str:
    """Delete one of the person's tokens; return its digest so caches can forget it."""
    async with db.write() as s:
        digest = await s.scalar(
            select(ApiToken.token_hash).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
        )
        if digest is None:
            raise NotFound("There is no such token.")
        await s.execute(delete(ApiToken).where(ApiToken.id == token_id))
    return digest


# --- links sent by mail -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Link:
    """A freshly issued mail link: the secret goes into the mail only."""

    secret: str
    email: str
    name: str
    expires_at: datetime


async def issue_link(*, db: Database, now: datetime, user: User, purpose: Purpose) -> Link:
    """A new single-use link for ``user``; earlier links of the same purpose stop working."""
    secret = new_token()
    expires = now + LINK_LIFETIMES[purpose]
    async with db.write() as s:
        await s.execute(
            delete(EmailToken).where(
                EmailToken.user_id == user.id,
                (EmailToken.purpose == purpose) | (EmailToken.expires_at <= now),
            )
        )
        s.add(
            EmailToken(
                id=hash_token(secret),
                user_id=user.id,
                purpose=purpose,
                email=user.email,
                created_at=now,
                expires_at=expires,
            )
        )
    return Link(secret=secret, email=user.email, name=user.name, expires_at=expires)


async def _live_link(
    *, db: Database, now: datetime, secret: str, purpose: Purpose
) -> tuple[EmailToken, User]:
    async with db.read() as s:
        found = (
            await s.execute(
                select(EmailToken, User)
                .join(User, User.id == EmailToken.user_id)
                .where(
                    EmailToken.id == hash_token(secret),
                    EmailToken.purpose == purpose,
                    EmailToken.expires_at > now,
                )
            )
        ).first()
    if found is None:
        raise field_error("token", DEAD_LINK[purpose])
    token, user = found
    return token, user


async def verify_email(*, db: Database, now: datetime, secret: str) -> User:
    """Confirm the address the link was sent to; the link then stops working."""
    token, user = await _live_link(db=db, now=now, secret=secret, purpose="verify")
    async with db.write() as s:
        used = await s.execute(delete(EmailToken).where(EmailToken.id == token.id))
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise field_error("token", DEAD_LINK["verify"])  # a concurrent use won
        current = await s.get(User, user.id)
        if current is None or current.email != token.email:
            raise field_error("token", "This link was for an address the account no longer uses.")
        if current.email_verified_at is None:
            current.email_verified_at = now
        return current


async def reset_password(
    *, db: Database, now: datetime, secret: str, password: str, min_score: int
) -> User:
    """Set a new password through a reset link; the link and every session then end.

    Receiving the link proves the address too, so it counts as confirmed.
    """
    token, user = await _live_link(db=db, now=now, secret=secret, purpose="reset")
    await require_strong(password, email=user.email, name=user.name, min_score=min_score)
    password_hash = await hash_password(password)
    async with db.write() as s:
        used = await s.execute(delete(EmailToken).where(EmailToken.id == token.id))
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise field_error("token", DEAD_LINK["reset"])  # a concurrent use won
        current = await s.get(User, user.id)
        if current is None:
            raise field_error("token", DEAD_LINK["reset"])
        current.password_hash = password_hash
        if current.email == token.email and current.email_verified_at is None:
            current.email_verified_at = now
        await s.execute(
            delete(EmailToken).where(EmailToken.user_id == user.id, EmailToken.purpose == "reset")
        )
        await s.execute(delete(UserSession).where(UserSession.user_id == user.id))
        return current
