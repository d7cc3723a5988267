"""Redis clients that fail fast, so a Redis that is away costs a request nothing but a
quick error.

redis-py retries a failed command ten times with backoff by default: seconds per call
while Redis restarts, on every request that touches it. Meridian's clients retry once,
at once (a pooled connection that went stale when Redis restarted is replaced), and
bound connecting and every command by a few seconds; longer waits are the caller's
decision (the event bus reconnects with its own backoff).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio as aioredis

CONNECT_SECONDS = 2.0
COMMAND_SECONDS = 5.0


def connect(url: str, *, retries: int = 1) -> aioredis.Redis:
    import redis.asyncio as aioredis  # loaded only when Redis is configured
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return aioredis.Redis.from_url(
        url,
        retry=Retry(NoBackoff(), retries),
        socket_connect_timeout=CONNECT_SECONDS,
        socket_timeout=COMMAND_SECONDS,
    )


def redis_errors() -> tuple[type[Exception], ...]:
    """What a Redis that is away (or restarting, or loading its data) raises."""
    from redis.exceptions import RedisError

    return (RedisError, OSError)
