"""In-app notifications: listed for their owner only, marked read, announced on the bus."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.keys import BUS, CLOCK
from server.notifications.models import Notification
from tests.factories import ask, count, mentee, mentor

Client = TestClient[Any, Any]


async def test_owner_lists_and_marks_read_others_cannot(
    client: Client, another_client: Any
) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    bob = await mentee(await another_client(), name="Bob Example")
    clock: FrozenClock = client.app[CLOCK]  # type: ignore[index,assignment]
    await ask(ada, grace)
    clock.advance(timedelta(minutes=1))
    await ask(bob, grace)
    notes = await (await grace.client.get("/api/notifications")).json()
    assert notes["unread_count"] == 2
    assert [n["title"] for n in notes["items"]] == [
        "Bob Example asks you to be their mentor",
        "Ada Lovelace asks you to be their mentor",
    ]
    first = notes["items"][0]["id"]

    # Someone else cannot mark Grace's notification read.
    resp = await ada.client.post("/api/notifications/read", json={"ids": [first]})
    assert (await resp.json())["marked"] == 0
    assert (await (await grace.client.get("/api/notifications")).json())["unread_count"] == 2
    assert (await (await ada.client.get("/api/notifications")).json())["items"] == []

    resp = await grace.client.post("/api/notifications/read", json={"ids": [first]})
    assert await resp.json() == {"marked": 1, "unread_count": 1}
    unread = await (await grace.client.get("/api/notifications?unread=true")).json()
    assert len(unread["items"]) == 1 and unread["items"][0]["id"] != first
    resp = await grace.client.post("/api/notifications/read", json={})
    assert await resp.json() == {"marked": 1, "unread_count": 0}


async def test_bad_notification_input_is_refused(client: Client) -> None:
    await mentee(client)
    assert (await client.get("/api/notifications?limit=0")).status == 422
    resp = await client.post("/api/notifications/read", json={"ids": "all"})
    assert resp.status == 422
    assert await count(client, Notification) == 0


async def _requests_are_announced(client: Client, another_client: Any) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    bus = client.app[BUS]  # type: ignore[index]
    async with bus.subscribe(f"user:{grace.id}") as sub:
        await ask(ada, grace)
        event = await asyncio.wait_for(sub.get(), 5)
    assert event.data["type"] == "notification"
    assert event.data["notification"]["kind"] == "mentorship.requested"
    stored = await (await grace.client.get("/api/notifications")).json()
    assert stored["items"][0]["id"] == event.data["notification"]["id"]


async def test_requests_are_announced_on_the_memory_bus(
    client: Client, another_client: Any
) -> None:
    await _requests_are_announced(client, another_client)


async def test_requests_are_announced_through_redis(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    redis_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    app: web.Application = create_app(make_settings(sqlite_url, redis_url=redis_url), clock=clock)
    client: Client = await aiohttp_client(app)

    async def another() -> Client:
        other: Client = await aiohttp_client(client.server)
        return other

    await _requests_are_announced(client, another)
