"""Rate limits: in memory for one process, in Redis for several.

Two kinds: ``hit`` counts attempts in a fixed window; ``fail``/``penalty``/``clear``
keep a growing delay for a key after repeated failures (1 s, 2 s, 4 s … up to a cap),
which slows a guesser without ever shutting anyone else out, and which a success ends.

While Redis is away the Redis limiter counts in the process instead (the same limits,
per process): sign-in stays possible and stays limited. It neither fails closed, which
would lock everybody out during an outage, nor open, which would hand a password
guesser every outage unlimited; the cost is that with N processes the limit is N times
looser until Redis is back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from server.config import RateLimit
from server.core import redis_client
from server.core.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: RateLimit) -> int | None:
        """Count one attempt; return the seconds to wait if over the limit, else None."""
        ...

    async def penalty(self, key: str) -> int | None:
        """The seconds ``key`` must still wait after its failures, or None."""
        ...

    async def fail(self, key: str, free: int, cap: int) -> int | None:
        """Record a failure; beyond ``free`` of them, return the wait it now imposes.

        The wait doubles with each failure past ``free`` up to ``cap`` seconds; the count
        is forgotten ``cap`` seconds after the last wait ends.
        """
        ...

    async def clear(self, key: str) -> None:
        """Forget ``key``'s failures (a success)."""
        ...

    async def close(self) -> None: ...


def backoff(failures: int, free: int, cap: int) -> int | None:
    """The wait after ``failures`` failures, of which ``free`` cost nothing."""
    beyond = failures - free
    if beyond <= 0:
        return None
    wait: int = 2 ** min(beyond - 1, 30)
    return min(cap, wait)


class MemoryRateLimiter:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        # key -> (failures, wait ends at, forgotten at), timestamps on the app's clock
        self._failures: dict[str, tuple[int, float, float]] = {}

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

    async def penalty(self, key: str) -> int | None:
        now = self._clock.now().timestamp()
        found = self._failures.get(key)
        if found is None or found[1] <= now:
            return None
        return max(1, math.ceil(found[1] - now))

    async def fail(self, key: str, free: int, cap: int) -> int | None:
        now = self._clock.now().timestamp()
        if len(self._failures) > 100_000:
            self._failures = {k: v for k, v in self._failures.items() if v[2] > now}
        failures, _, forget = self._failures.get(key, (0, 0.0, 0.0))
        if forget <= now:
            failures = 0
        failures += 1
        wait = backoff(failures, free, cap)
        until = now + (wait or 0)
        self._failures[key] = (failures, until, until + cap)
        return wait

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    async def close(self) -> None:
        self._windows.clear()
        self._failures.clear()


class RedisRateLimiter:
    PREFIX = "meridian:rate:"

    def __init__(self, url: str, clock: Clock) -> None:
        self._client = redis_client.connect(url)
        self._fallback = MemoryRateLimiter(clock)
        self._degraded = False

    async def _guarded(
        self, in_redis: Callable[[], Awaitable[T]], in_memory: Callable[[], Awaitable[T]]
    ) -> T:
        """Run ``in_redis``; while Redis is away, ``in_memory`` answers instead."""
        try:
            result = await in_redis()
        except redis_client.redis_errors() as exc:
            if not self._degraded:
                log.warning("rate limits count in this process while Redis is away: %r", exc)
                self._degraded = True
            return await in_memory()
        if self._degraded:
            log.warning("rate limits count in Redis again")
            self._degraded = False
            await self._fallback.close()
        return result

    async def hit(self, key: str, limit: RateLimit) -> int | None:
        async def in_redis() -> int | None:
            name = self.PREFIX + key
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, limit.seconds, nx=True)
                pipe.ttl(name)
                count, _, ttl = await pipe.execute()
            if int(count) > limit.count:
                return max(1, int(ttl))
            return None

        return await self._guarded(in_redis, lambda: self._fallback.hit(key, limit))

    # Failures live in two keys: a counter, and a marker whose time to live is the wait.

    async def penalty(self, key: str) -> int | None:
        async def in_redis() -> int | None:
            ttl = int(await self._client.pttl(self.PREFIX + key + ":wait"))
            return max(1, math.ceil(ttl / 1000)) if ttl > 0 else None

        return await self._guarded(in_redis, lambda: self._fallback.penalty(key))

    async def fail(self, key: str, free: int, cap: int) -> int | None:
        async def in_redis() -> int | None:
            count_key = self.PREFIX + key + ":failures"
            failures = int(await self._client.incr(count_key))
            wait = backoff(failures, free, cap)
            async with self._client.pipeline(transaction=True) as pipe:
                if wait is not None:
                    pipe.set(self.PREFIX + key + ":wait", b"1", ex=wait)
                pipe.expire(count_key, (wait or 0) + cap)
                await pipe.execute()
            return wait

        return await self._guarded(in_redis, lambda: self._fallback.fail(key, free, cap))

    async def clear(self, key: str) -> None:
        async def in_redis() -> None:
            await self._client.delete(self.PREFIX + key + ":failures", self.PREFIX + key + ":wait")

        await self._guarded(in_redis, lambda: self._fallback.clear(key))

    async def close(self) -> None:
        await self._client.aclose()
