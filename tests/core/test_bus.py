"""One contract for both event buses; the Redis one runs on a real redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from server.app import create_app
from server.config import Settings
from server.core.bus import EventBus, MemoryBus, RedisBus
from server.core.keys import BUS


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus_factory(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[], Any]]:
    """Makes buses that share one backbone: one memory bus, or several Redis connections."""
    made: list[EventBus] = []
    if request.param == "memory":
        shared = MemoryBus()

        async def make() -> EventBus:
            return shared

    else:
        url = request.getfixturevalue("redis_url")

        async def make() -> EventBus:
            bus = RedisBus(url)
            await bus.start()
            made.append(bus)
            return bus

    yield make
    for bus in made:
        await bus.close()


async def receive(sub: Any) -> Any:
    return await asyncio.wait_for(sub.get(), 5.0)


async def test_subscriber_receives_what_is_published_after_subscribing(
    bus_factory: Callable[[], Any],
) -> None:
    bus = await bus_factory()
    async with bus.subscribe("room:1") as sub:
        await bus.publish("room:1", {"type": "hello", "n": 1})
        event = await receive(sub)
    assert event.channel == "room:1"
    assert event.data == {"type": "hello", "n": 1}


async def test_other_channels_are_not_delivered(bus_factory: Callable[[], Any]) -> None:
    bus = await bus_factory()
    async with bus.subscribe("a") as sub:
        await bus.publish("b", {"x": 1})
        await bus.publish("a", {"x": 2})
        event = await receive(sub)
    assert event.data == {"x": 2}


async def test_order_is_kept_per_channel(bus_factory: Callable[[], Any]) -> None:
    bus = await bus_factory()
    async with bus.subscribe("seq") as sub:
        for i in range(50):
            await bus.publish("seq", {"i": i})
        got = [(await receive(sub)).data["i"] for _ in range(50)]
    assert got == list(range(50))


async def test_every_local_subscriber_gets_a_copy(bus_factory: Callable[[], Any]) -> None:
    bus = await bus_factory()
    async with bus.subscribe("fan") as one, bus.subscribe("fan", "other") as two:
        await bus.publish("fan", {"v": "x"})
        assert (await receive(one)).data == {"v": "x"}
        assert (await receive(two)).data == {"v": "x"}


async def test_leaving_one_subscription_keeps_the_other(bus_factory: Callable[[], Any]) -> None:
    bus = await bus_factory()
    async with bus.subscribe("keep") as stays:
        async with bus.subscribe("keep"):
            pass
        await bus.publish("keep", {"still": True})
        assert (await receive(stays)).data == {"still": True}


async def test_nothing_arrives_after_unsubscribing(bus_factory: Callable[[], Any]) -> None:
    bus = await bus_factory()
    async with bus.subscribe("gone") as sub:
        pass
    async with bus.subscribe("gone") as probe:
        await bus.publish("gone", {"late": True})
        # Every subscriber of the channel gets an event at once: when the probe has it,
        # the old subscription would have it too.
        assert (await receive(probe)).data == {"late": True}
    assert sub._queue.empty()


async def test_two_bus_instances_exchange_events(bus_factory: Callable[[], Any]) -> None:
    sender = await bus_factory()
    receiver = await bus_factory()
    async with receiver.subscribe("cross") as sub:
        await sender.publish("cross", {"from": "sender"})
        assert (await receive(sub)).data == {"from": "sender"}


async def test_messages_must_be_json(bus_factory: Callable[[], Any]) -> None:
    bus = await bus_factory()
    with pytest.raises(TypeError):
        await bus.publish("x", {"not": object()})


@pytest.mark.redis
async def test_two_app_instances_share_events_through_redis(
    make_settings: Callable[..., Settings], sqlite_url: str, redis_url: str
) -> None:
    """Two processes' worth of app, one Redis: an event published by A reaches B."""
    settings = make_settings(sqlite_url, redis_url=redis_url)
    apps = [create_app(settings), create_app(settings)]
    runners = [web.AppRunner(a) for a in apps]
    for r in runners:
        await r.setup()
    try:
        a, b = apps
        async with b[BUS].subscribe("user:42") as sub:
            await a[BUS].publish("user:42", {"type": "notification", "text": "hi"})
            event = await receive(sub)
        assert event.data == {"type": "notification", "text": "hi"}
    finally:
        for r in runners:
            await r.cleanup()


@pytest.mark.redis
async def test_redis_reader_blocks_instead_of_polling(redis_url: str) -> None:
    """An idle bus sends no commands: its reader waits on the socket."""
    import redis.asyncio as aioredis

    bus = RedisBus(redis_url)
    await bus.start()
    monitor = aioredis.Redis.from_url(redis_url)
    try:
        before = int((await monitor.info("stats"))["total_commands_processed"])
        await asyncio.sleep(0.5)
        after = int((await monitor.info("stats"))["total_commands_processed"])
        # Only the INFO call itself is counted between the two readings.
        assert after - before <= 1
    finally:
        await monitor.aclose()
        await bus.close()
