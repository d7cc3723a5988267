"""Small facts about a request that several features need."""

from __future__ import annotations

import math

from aiohttp import web

from server.config import RateLimit
from server.core.errors import TooManyRequests
from server.core.keys import RATE_LIMITER, SETTINGS


def client_ip(request: web.Request) -> str:
    if request.app[SETTINGS].trust_proxy_headers:
        forwarded = request.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return first
    return request.remote or "unknown"


def in_words(seconds: int) -> str:
    """A wait as a person says it: "a few seconds", "1 minute", "5 minutes", "2 hours"."""
    if seconds < 45:
        return "a few seconds"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    hours = round(minutes / 60)
    return f"{hours} hours"


async def enforce_rate(request: web.Request, key: str, limit: RateLimit, what: str) -> None:
    wait = await request.app[RATE_LIMITER].hit(key, limit)
    if wait is not None:
        raise TooManyRequests(
            f"Too many {what} attempts. Try again in {in_words(wait)}.", retry_after=wait
        )
