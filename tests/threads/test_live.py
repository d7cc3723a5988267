"""An open thread page hears new messages, receipts and removals live, across processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from tests.factories import Pair, make_mentorship, sign_up

Client = TestClient[web.Request, web.Application]


async def _next(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(ws.receive(), 10)
        assert msg.type == WSMsgType.TEXT, msg
        event: dict[str, Any] = msg.json()
        if event["type"] == kind:
            return event


async def test_open_page_receives_messages_and_receipts(pair: Pair) -> None:
    thread = f"/api/mentorships/{pair.mentorship_id}"
    mentor_ws = await pair.mentor.client.ws_connect(f"{thread}/thread/ws")
    mentee_ws = await pair.mentee.client.ws_connect(f"{thread}/thread/ws")
    await _next(mentor_ws, "ready")
    await _next(mentee_ws, "ready")
    resp = await pair.mentee.client.post(
        f"{thread}/messages", json={"kind": "text", "body": "Good morning from São Paulo"}
    )
    sent = await resp.json()
    event = await _next(mentor_ws, "message")
    assert event["message"] == sent
    await pair.mentor.client.post(f"/api/messages/{sent['id']}/seen")
    seen = await _next(mentee_ws, "seen")
    assert seen["message_id"] == sent["id"] and seen["user_id"] == pair.mentor.id
    await pair.mentee.client.delete(f"/api/messages/{sent['id']}")
    removed = await _next(mentor_ws, "removed")
    assert removed["message"]["removed"] is True
    await mentor_ws.close()
    await mentee_ws.close()


@pytest.mark.redis
async def test_live_updates_cross_processes_through_redis(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    postgres_url: str,
    redis_url: str,
    clock: FrozenClock,
) -> None:
    settings = make_settings(postgres_url, redis_url=redis_url)
    first: Client = await aiohttp_client(create_app(settings, clock=clock))
    second: Client = await aiohttp_client(create_app(settings, clock=clock))
    mentor = await sign_up(first, name="Greta Berlin")
    mentee_client: Client = await aiohttp_client(second.server)
    mentee = await sign_up(mentee_client, name="Paulo Santos", timezone="America/Sao_Paulo")
    mentorship_id = await make_mentorship(first.app, mentor, mentee)
    thread = f"/api/mentorships/{mentorship_id}"
    # The mentor's page is open on process one; the mentee writes through process two.
    ws = await first.ws_connect(f"{thread}/thread/ws")
    await _next(ws, "ready")
    resp = await mentee_client.post(f"{thread}/messages", json={"kind": "text", "body": "Olá"})
    assert resp.status == 201
    event = await _next(ws, "message")
    assert event["message"]["body"] == "Olá"
    mentee_ws = await mentee_client.ws_connect(f"{thread}/thread/ws")
    await _next(mentee_ws, "ready")
    await first.post(f"/api/messages/{event['message']['id']}/seen")
    seen = await _next(mentee_ws, "seen")
    assert seen["user_id"] == mentor.id
    await ws.close()
    await mentee_ws.close()


async def test_shutdown_closes_thread_sockets_going_away(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
) -> None:
    client: Client = await aiohttp_client(create_app(make_settings(sqlite_url), clock=clock))
    other: Client = await aiohttp_client(client.server)
    mentor = await sign_up(client)
    mentee = await sign_up(other, name="Paulo Santos")
    mentorship_id = await make_mentorship(client.app, mentor, mentee)
    ws = await client.ws_connect(f"/api/mentorships/{mentorship_id}/thread/ws")
    await _next(ws, "ready")
    closing = asyncio.create_task(client.server.close())
    msg = await asyncio.wait_for(ws.receive(), 10)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert ws.close_code == WSCloseCode.GOING_AWAY
    await closing
