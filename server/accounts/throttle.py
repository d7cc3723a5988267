"""Failed sign-ins slow the (account, client address) pair that makes them.

A limit per account alone lets anyone lock the owner out by failing ten times; here a
stranger's failures only slow the stranger's own address. Past the free failures
(``AUTH_RATE_LIMIT_ACCOUNT``'s count) each further one doubles the wait before that
pair may try again, up to the limit's seconds; a successful sign-in clears it. Every
address also has its own ceiling on attempts (``AUTH_RATE_LIMIT_IP``), so guessing
many accounts from one place stays bounded. The owner signing in from anywhere else is
never affected; one sharing the guesser's address waits at most the cap.
"""

from __future__ import annotations

from aiohttp import web

from server.core.errors import TooManyRequests
from server.core.ids import hash_token
from server.core.keys import RATE_LIMITER, SETTINGS
from server.core.requests import client_ip, in_words


def pair_key(request: web.Request, email: str) -> str:
    """The limiter key of this account and this client; the address is hashed, not stored."""
    return f"login:pair:{hash_token(email)[:32]}:{client_ip(request)}"


async def refuse_while_slowed(request: web.Request, email: str) -> None:
    """429 before the password is even checked, so a slowed guesser learns nothing."""
    wait = await request.app[RATE_LIMITER].penalty(pair_key(request, email))
    if wait is not None:
        raise TooManyRequests(
            f"Too many wrong passwords for this account from here. Try again in {in_words(wait)}.",
            retry_after=wait,
        )


async def record_failure(request: web.Request, email: str) -> None:
    policy = request.app[SETTINGS].auth_rate_limit_account
    await request.app[RATE_LIMITER].fail(pair_key(request, email), policy.count, policy.seconds)


async def record_success(request: web.Request, email: str) -> None:
    await request.app[RATE_LIMITER].clear(pair_key(request, email))
