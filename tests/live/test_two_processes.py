"""Two app instances with a real Redis between them: people on different processes meet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from tests.factories import sign_up
from tests.live.conftest import Client, add_room, join, receive

pytestmark = pytest.mark.redis


@pytest.fixture
async def two_servers(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    redis_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> tuple[Client, Client, web.Application]:
    settings = make_settings(sqlite_url, redis_url=redis_url, stun_urls=())
    first = create_app(settings, clock=clock)
    second = create_app(settings, clock=clock)
    return await aiohttp_client(first), await aiohttp_client(second), first


async def test_peers_on_two_processes_talk_as_if_on_one(
    two_servers: tuple[Client, Client, web.Application], aiohttp_client: Callable[..., Any]
) -> None:
    left, right, app = two_servers
    mentor = await sign_up(left, name="Maria Mentor")
    mentee = await sign_up(right, name="Sam Mentee", timezone="America/Sao_Paulo")
    room = await add_room(app, mentor.id, mentee.id)

    ws1, first = await join(mentor, room.booking_id)
    ws2, second = await join(mentee, room.booking_id)
    assert [p["peer_id"] for p in second["peers"]] == [first["you"]["peer_id"]]
    joined = await receive(ws1, "peer-joined")
    assert joined["peer"]["name"] == "Sam Mentee"

    mentor_peer, mentee_peer = first["you"]["peer_id"], second["you"]["peer_id"]
    await ws1.send_json({"type": "signal", "to": mentee_peer, "data": {"candidate": "c1"}})
    relayed = await receive(ws2, "signal")
    assert relayed["from"] == mentor_peer and relayed["data"] == {"candidate": "c1"}
    await ws2.send_json({"type": "chat", "text": "Olá from São Paulo"})
    assert (await receive(ws1, "chat"))["text"] == "Olá from São Paulo"
    await ws2.send_json({"type": "media-state", "audio": False})
    assert (await receive(ws1, "media-state"))["audio"] is False

    # The mentee's connection drops; it comes back on the other process and resumes.
    await ws2.close()
    assert (await receive(ws1)) == {
        "type": "peer-reconnecting",
        "peer_id": mentee_peer,
        "seconds": 30,
    }
    path = await _socket_path(mentee.client, room.booking_id)
    elsewhere: Client = await aiohttp_client(left.server)  # no cookie: the token is enough
    ws3 = await elsewhere.ws_connect(path)
    await ws3.send_json({"type": "join", "peer_id": mentee_peer})
    again = await receive(ws3, "peers")
    assert again["resumed"] is True and again["you"]["media"]["audio"] is True
    back = await receive(ws1)
    assert back["type"] == "peer-joined" and back["resumed"] is True
    await ws1.send_json({"type": "signal", "to": mentee_peer, "data": {"candidate": "c2"}})
    assert (await receive(ws3, "signal"))["data"] == {"candidate": "c2"}

    await ws1.send_json({"type": "bye"})
    assert (await receive(ws3, "peer-left"))["peer_id"] == mentor_peer
    await ws3.close()
    await ws1.close()


async def _socket_path(client: Client, booking_id: str) -> str:
    room = await (await client.get(f"/api/bookings/{booking_id}/room")).json()
    return f"/api/rooms/{room['room_id']}/ws?token={room['token']}"
