"""Open pages receive notifications live as Server-Sent Events, and shutdown ends them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from server.notifications.keys import NOTIFICATION_STREAMS
from tests.factories import ask, mentee, mentor
from tests.waiting import DEADLINE_SECONDS

Client = TestClient[Any, Any]


async def read_event(resp: Any) -> tuple[str, dict[str, Any]]:
    """The next `event:`/`data:` pair, skipping comments and the retry hint."""
    kind = ""
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), DEADLINE_SECONDS)).decode()
        if line.startswith("event: "):
            kind = line.removeprefix("event: ").strip()
        elif line.startswith("data: "):
            return kind, json.loads(line.removeprefix("data: "))


async def wait_connected(resp: Any) -> None:
    while (
        await asyncio.wait_for(resp.content.readline(), DEADLINE_SECONDS)
    ).decode() != ": connected\n":
        pass
    assert await resp.content.readline() == b"\n"


async def test_a_request_reaches_the_mentors_open_page(client: Client, another_client: Any) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    resp = await grace.client.get("/api/notifications/events")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/event-stream"
    await wait_connected(resp)
    created = await ask(ada, grace)
    kind, data = await read_event(resp)
    assert kind == "notification"
    assert data["notification"]["kind"] == "mentorship.requested"
    assert data["notification"]["data"]["mentorship_id"] == created["id"]

    read = await grace.client.post("/api/notifications/read", json={})
    assert (await read.json())["marked"] == 1
    kind, data = await read_event(resp)
    assert (kind, data["unread_count"]) == ("notifications-read", 0)

    # Shutdown ends the stream at once instead of waiting for the timeout.
    await client.app[NOTIFICATION_STREAMS].close()  # type: ignore[index]
    assert (await asyncio.wait_for(resp.content.read(), 5)).strip() == b""
    assert client.app[NOTIFICATION_STREAMS].open == 0  # type: ignore[index]
    resp.close()


async def test_others_notifications_are_not_streamed(client: Client, another_client: Any) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    resp = await ada.client.get("/api/notifications/events")
    await wait_connected(resp)
    created = await ask(ada, grace)  # notifies Grace, not Ada
    # Then something for Ada: had Grace's notification reached her stream, it would have
    # come first, since a stream delivers in order.
    accepted = await grace.client.post(f"/api/mentorships/{created['id']}/accept", json={})
    assert accepted.status == 200, await accepted.text()
    kind, data = await read_event(resp)
    assert kind == "notification"
    assert data["notification"]["kind"] == "mentorship.active"  # Ada's, not Grace's
    assert data["notification"]["data"]["mentorship_id"] == created["id"]
    resp.close()


async def test_signed_out_stream_is_401(client: Client) -> None:
    resp = await client.get("/api/notifications/events")
    assert resp.status == 401


async def test_a_cancelled_stream_handler_stays_cancelled(
    aiohttp_client: Any, make_settings: Any, database_url: str, clock: Any
) -> None:
    """Cancellation (shutdown, a dropped connection) ends the stream and propagates."""
    from aiohttp import web

    from server.app import create_app

    handlers: list[asyncio.Task[Any]] = []

    @web.middleware
    async def remember(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/api/notifications/events":
            task = asyncio.current_task()
            assert task is not None
            handlers.append(task)
        response: web.StreamResponse = await handler(request)
        return response

    app = create_app(make_settings(database_url), clock=clock)
    app.middlewares.append(remember)
    client = await aiohttp_client(app)
    grace = await mentor(client)
    resp = await grace.client.get("/api/notifications/events")
    await wait_connected(resp)
    streams = client.app[NOTIFICATION_STREAMS]
    assert streams.open == 1 and len(handlers) == 1

    handlers[0].cancel()
    done, _ = await asyncio.wait(handlers, timeout=5)
    assert done, "the cancelled stream handler kept running"
    assert handlers[0].cancelled(), "the stream handler swallowed its cancellation"
    assert streams.open == 0
    # The connection ends (cut short: the handler did not finish the response).
    with contextlib.suppress(aiohttp.ClientPayloadError):
        assert (await asyncio.wait_for(resp.content.read(), 5)).strip() == b""
    resp.close()


async def test_shutdown_with_an_open_stream_is_prompt(
    aiohttp_client: Any, make_settings: Any, database_url: str, clock: Any
) -> None:
    from server.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url), clock=clock))
    grace = await mentor(client)
    resp = await grace.client.get("/api/notifications/events")
    await wait_connected(resp)
    streams = client.app[NOTIFICATION_STREAMS]
    assert streams.open == 1
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(client.server.close(), 10)
    assert asyncio.get_running_loop().time() - started < 5
    assert streams.open == 0
    assert (await asyncio.wait_for(resp.content.read(), 5)).strip() == b""
    resp.close()
