"""The Redis bus, the rate limiter and readiness while Redis is killed and started again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import RateLimit, Settings
from server.core.bus import BusUnavailable, RedisBus
from server.core.clock import FrozenClock
from server.core.keys import BUS
from server.core.ratelimit import RedisRateLimiter
from tests.services import RedisServer

pytestmark = pytest.mark.redis
Client = TestClient[Any, Any]
BOUND = 10.0  # a failure bound only: every wait below ends as soon as its condition holds


async def eventually(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {BOUND} s")
        await asyncio.sleep(0.02)


@pytest.fixture
async def buses(own_redis: RedisServer) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    """Two processes' worth of bus on one redis-server of this test's own."""
    made = [RedisBus(own_redis.url), RedisBus(own_redis.url)]
    for bus in made:
        await bus.start()
    yield made[0], made[1]
    for bus in made:
        await bus.close()


async def outage(own_redis: RedisServer, *buses: RedisBus) -> None:
    own_redis.kill()
    await eventually(lambda: not any(b.available for b in buses), "every bus noticing")


async def recovery(own_redis: RedisServer, *buses: RedisBus) -> None:
    own_redis.restart()
    await eventually(lambda: all(b.available for b in buses), "every bus reconnecting")


async def test_after_a_restart_every_channel_is_subscribed_again(
    own_redis: RedisServer, buses: tuple[RedisBus, RedisBus]
) -> None:
    sender, receiver = buses
    async with receiver.subscribe("room:1") as room, receiver.subscribe("user:7") as user:
        await outage(own_redis, sender, receiver)
        await recovery(own_redis, sender, receiver)
        await sender.publish("room:1", {"n": 1})
        await sender.publish("user:7", {"n": 2})
        assert (await asyncio.wait_for(room.get(), BOUND)).data == {"n": 1}
        assert (await asyncio.wait_for(user.get(), BOUND)).data == {"n": 2}


async def test_while_redis_is_away_publish_and_ping_fail_at_once(
    own_redis: RedisServer, buses: tuple[RedisBus, RedisBus]
) -> None:
    bus, _ = buses
    await outage(own_redis, bus)
    with pytest.raises(BusUnavailable) as failed:
        await asyncio.wait_for(bus.publish("room:1", {"n": 1}), 1)
    assert failed.value.status == 503 and failed.value.headers["Retry-After"]
    with pytest.raises(BusUnavailable):
        await asyncio.wait_for(bus.ping(), 1)
    with pytest.raises(TypeError):
        await bus.publish("room:1", {"not json": object()})  # still a programming error


async def test_while_redis_is_away_the_process_still_hears_itself(
    own_redis: RedisServer, buses: tuple[RedisBus, RedisBus]
) -> None:
    bus, other = buses
    async with bus.subscribe("thread:1") as mine, other.subscribe("thread:1") as theirs:
        await outage(own_redis, bus, other)
        with pytest.raises(BusUnavailable):
            await bus.publish("thread:1", {"type": "message"})
        assert (await asyncio.wait_for(mine.get(), BOUND)).data == {"type": "message"}
        await recovery(own_redis, bus, other)
        await bus.publish("thread:1", {"type": "after"})
        assert (await asyncio.wait_for(theirs.get(), BOUND)).data == {"type": "after"}
        assert (await asyncio.wait_for(mine.get(), BOUND)).data == {"type": "after"}


async def test_a_subscription_opened_during_the_outage_works_once_redis_is_back(
    own_redis: RedisServer, buses: tuple[RedisBus, RedisBus]
) -> None:
    sender, receiver = buses
    await outage(own_redis, sender, receiver)
    async with asyncio.timeout(1):  # recorded, not waited for
        opened = receiver.subscribe("late")
        sub = await opened.__aenter__()
    try:
        await recovery(own_redis, sender, receiver)
        await sender.publish("late", {"arrived": True})
        assert (await asyncio.wait_for(sub.get(), BOUND)).data == {"arrived": True}
    finally:
        await opened.__aexit__(None, None, None)


async def test_a_channel_left_during_the_outage_is_not_subscribed_again(
    own_redis: RedisServer, buses: tuple[RedisBus, RedisBus]
) -> None:
    sender, receiver = buses
    async with receiver.subscribe("stays") as stays:
        async with receiver.subscribe("leaves"):
            await outage(own_redis, sender, receiver)
        await recovery(own_redis, sender, receiver)
        async with aioredis.Redis.from_url(own_redis.url) as direct:
            numbers = await direct.pubsub_numsub(
                RedisBus.PREFIX + "stays", RedisBus.PREFIX + "leaves"
            )
        assert [int(n) for _, n in numbers] == [1, 0]
        await sender.publish("stays", {"ok": 1})
        assert (await asyncio.wait_for(stays.get(), BOUND)).data == {"ok": 1}


async def test_lost_and_restored_callbacks_frame_the_outage(
    own_redis: RedisServer, buses: tuple[RedisBus, RedisBus]
) -> None:
    bus, _ = buses
    seen: list[str] = []
    restored = asyncio.Event()

    async def on_restored() -> None:
        seen.append("restored")
        restored.set()

    bus.on_lost(lambda: seen.append("lost"))
    bus.on_restored(on_restored)
    await outage(own_redis, bus)
    assert seen == ["lost"]
    await recovery(own_redis, bus)
    await asyncio.wait_for(restored.wait(), BOUND)
    assert seen == ["lost", "restored"]


async def test_the_bus_keeps_trying_through_a_long_outage(
    own_redis: RedisServer, buses: tuple[RedisBus, RedisBus]
) -> None:
    """Many failed reconnections in a row (more than any fixed retry count) and still back."""
    sender, receiver = buses
    async with receiver.subscribe("long") as sub:
        await outage(own_redis, sender, receiver)
        await eventually(lambda: receiver.reconnect_failures >= 5, "five failed reconnections")
        await recovery(own_redis, sender, receiver)
        await sender.publish("long", {"after": "a while"})
        assert (await asyncio.wait_for(sub.get(), BOUND)).data == {"after": "a while"}


async def test_rate_limits_count_in_the_process_while_redis_is_away(
    own_redis: RedisServer, clock: FrozenClock
) -> None:
    limiter = RedisRateLimiter(own_redis.url, clock)
    limit = RateLimit(3, 60)
    try:
        assert await limiter.hit("login:ip", limit) is None
        own_redis.kill()
        # No exception: three attempts pass, the fourth waits, as with Redis.
        assert [await limiter.hit("login:ip", limit) for _ in range(3)] == [None, None, None]
        assert await limiter.hit("login:ip", limit) == 60
        own_redis.restart()
        # Counting in Redis again (a restarted, empty Redis).
        assert await limiter.hit("login:ip", limit) is None
        async with aioredis.Redis.from_url(own_redis.url) as direct:
            assert int(await direct.get(RedisRateLimiter.PREFIX + "login:ip")) == 1
    finally:
        await limiter.close()


async def test_readyz_says_503_while_away_and_200_only_when_events_cross_again(
    own_redis: RedisServer,
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    aiohttp_client: Callable[..., Any],
) -> None:
    settings = make_settings(sqlite_url, redis_url=own_redis.url)
    first: Client = await aiohttp_client(create_app(settings))
    second: Client = await aiohttp_client(create_app(settings))
    assert first.app is not None and second.app is not None

    async with second.app[BUS].subscribe("user:42") as sub:
        own_redis.kill()

        async def unready() -> bool:
            resp = await second.get("/readyz")
            body = await resp.json()
            return resp.status == 503 and body["checks"] == {"database": "ok", "redis": "failing"}

        await eventually(unready, "/readyz saying 503")
        assert "Retry-After" in (await second.get("/readyz")).headers
        own_redis.restart()

        async def ready() -> bool:
            return all([(await c.get("/readyz")).status == 200 for c in (first, second)])

        await eventually(ready, "/readyz saying 200")
        # Ready means working: the first event published now reaches the other process.
        await first.app[BUS].publish("user:42", {"type": "notification"})
        assert (await asyncio.wait_for(sub.get(), BOUND)).data == {"type": "notification"}
