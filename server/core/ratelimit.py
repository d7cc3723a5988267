"""Fixed-window rate limits: in memory for one process, in Redis for several.

While Redis is away the Redis limiter counts in the process instead (the same limits,
per process): sign-in stays possible and stays limited. It neither fails closed, which
would lock everybody out during an outage, nor open, which would hand a password
guesser every outage unlimited; the cost is that with N processes the limit is N times
looser until Redis is back.
"""

from __future__ import annotations

import logging
import math
from typing import Protocol

from server.config import RateLimit
from server.core import redis_client
from server.core.clock import Clock

log = logging.getLogger(__name__)


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

    def __init__(self, url: str, clock: Clock) -> None:
        self._client = redis_client.connect(url)
        self._fallback = MemoryRateLimiter(clock)
        self._degraded = False

    async def hit(self, key: str, limit: RateLimit) -> int | None:
        name = self.PREFIX + key
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, limit.seconds, nx=True)
                pipe.ttl(name)
                count, _, ttl = await pipe.execute()
        except redis_client.redis_errors() as exc:
            if not self._degraded:
                log.warning("rate limits count in this process while Redis is away: %r", exc)
                self._degraded = True
            return await self._fallback.hit(key, limit)
        if self._degraded:
            log.warning("rate limits count in Redis again")
            self._degraded = False
            await self._fallback.close()
        if int(count) > limit.count:
            return max(1, int(ttl))
        return None

    async def close(self) -> None:
        await self._client.aclose()
