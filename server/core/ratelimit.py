"""Fixed-window rate limits: in memory for one process, in Redis for several."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

from server.config import RateLimit
from server.core.clock import Clock

if TYPE_CHECKING:
    import redis.asyncio as aioredis


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: RateLimit) -> int | None:
        """Count one attempt; return the seconds to wait if over the limit, else None."""
        ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, limit: RateLimit) -> int | None:
        now = self._clock.now().timestamp()
        if len(self._windows) > 100_000:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        ends, count = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, count = now + limit.seconds, 0
        count += 1
        self._windows[key] = (ends, count)
        if count > limit.count:
            return max(1, math.ceil(ends - now))
        return None

    async def close(self) -> None:
        self._windows.clear()


class RedisRateLimiter:
    PREFIX = "meridian:rate:"

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis  # loaded only when Redis is configured

        self._client: aioredis.Redis = aioredis.Redis.from_url(url)

    async def hit(self, key: str, limit: RateLimit) -> int | None:
        name = self.PREFIX + key
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, limit.seconds, nx=True)
            pipe.ttl(name)
            count, _, ttl = await pipe.execute()
        if int(count) > limit.count:
            return max(1, int(ttl))
        return None

    async def close(self) -> None:
        await self._client.aclose()
