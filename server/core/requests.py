"""Small facts about a request that several features need."""

from __future__ import annotations

from aiohttp import web

from server import keys
from server.config import RateLimit
from server.core.errors import TooManyRequests


def client_ip(request: web.Request) -> str:
    if request.app[keys.SETTINGS].trust_proxy_headers:
        forwarded = request.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return first
    return request.remote or "unknown"


async def enforce_rate(request: web.Request, key: str, limit: RateLimit, what: str) -> None:
    wait = await request.app[keys.RATE_LIMITER].hit(key, limit)
    if wait is not None:
        raise TooManyRequests(
            f"Too many {what} attempts. Try again in {wait} seconds.", retry_after=wait
        )
