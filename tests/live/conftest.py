"""A room between two signed-up people, on the real app, database and WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.keys import CLOCK
from server.live.keys import ROOMS
from server.live.rooms import RoomInfo
from tests.factories import Person, rows, sign_up
from tests.waiting import DEADLINE_SECONDS

Client = TestClient[Any, Any]


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> web.Application:
    # No STUN: tests run on loopback, and gathering against an unreachable server only waits.
    return create_app(settings.replace(stun_urls=()), clock=clock)


async def add_room(
    app: web.Application,
    mentor_id: str,
    mentee_id: str,
    *,
    starts_in: timedelta = timedelta(minutes=5),
    minutes: int = 60,
    recording_allowed: bool = False,
    status: str = "confirmed",
) -> RoomInfo:
    """A booking of the pair's mentorship (made active, with an agreement in force)."""
    booking = await rows.store_booking(
        app,
        mentor_id,
        mentee_id,
        app[CLOCK].now() + starts_in,
        minutes=minutes,
        status=status,
        terms={"session_minutes": minutes, "recording_allowed": recording_allowed},
    )
    room = await app[ROOMS].room(booking.id)
    assert room is not None or status == "cancelled"
    return room  # type: ignore[return-value]


@dataclass
class Call:
    mentor: Person
    mentee: Person
    room: RoomInfo


@pytest.fixture
async def call(client: Client, another_client: Callable[[], Any]) -> Call:
    mentor = await sign_up(client, name="Maria Mentor", timezone="Europe/Berlin")
    mentee = await sign_up(await another_client(), name="Sam Mentee", timezone="America/Sao_Paulo")
    assert client.app is not None
    room = await add_room(client.app, mentor.id, mentee.id)
    return Call(mentor, mentee, room)


async def room_token(person: Person, booking_id: str) -> dict[str, Any]:
    resp = await person.client.get(f"/api/bookings/{booking_id}/room")
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def connect(person: Person, booking_id: str, **kw: Any) -> Any:
    room = await room_token(person, booking_id)
    return await person.client.ws_connect(
        f"/api/rooms/{room['room_id']}/ws?token={room['token']}", **kw
    )


async def receive(
    ws: Any, kind: str | None = None, wait: float = DEADLINE_SECONDS
) -> dict[str, Any]:
    """The next message (of type ``kind``, skipping others); the wait only bounds a failure."""
    while True:
        msg = await asyncio.wait_for(ws.receive(), wait)
        if msg.type.name != "TEXT":
            raise AssertionError(f"expected a text message, got {msg.type.name} {msg.data!r}")
        data: dict[str, Any] = json.loads(msg.data)
        if kind is None or data["type"] == kind:
            return data


async def join(person: Person, booking_id: str, **fields: Any) -> tuple[Any, dict[str, Any]]:
    ws = await connect(person, booking_id)
    await ws.send_json({"type": "join", **fields})
    return ws, await receive(ws, "peers")
