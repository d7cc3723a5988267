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

from server import keys
from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.ids import new_id
from server.live.rooms import MemoryRooms, RoomInfo, room_window
from tests.factories import Person, sign_up

Client = TestClient[Any, Any]


@pytest.fixture
def rooms() -> MemoryRooms:
    return MemoryRooms()


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, rooms: MemoryRooms) -> web.Application:
    # No STUN: tests run on loopback, and gathering against an unreachable server only waits.
    app = create_app(settings.replace(stun_urls=()), clock=clock)
    app[keys.ROOMS] = rooms
    return app


def add_room(
    rooms: MemoryRooms,
    clock: FrozenClock,
    participants: tuple[str, ...],
    *,
    starts_in: timedelta = timedelta(minutes=5),
    minutes: int = 60,
    recording_allowed: bool = False,
) -> RoomInfo:
    starts = clock.now() + starts_in
    ends = starts + timedelta(minutes=minutes)
    opens, closes = room_window(starts, ends, opens_before_minutes=10, closes_after_minutes=30)
    booking_id = new_id()
    room = RoomInfo(
        room_id=booking_id,
        booking_id=booking_id,
        mentorship_id=new_id(),
        participants=frozenset(participants),
        starts_at=starts,
        ends_at=ends,
        opens_at=opens,
        closes_at=closes,
        recording_allowed=recording_allowed,
    )
    rooms.add(room)
    return room


@dataclass
class Call:
    mentor: Person
    mentee: Person
    room: RoomInfo


@pytest.fixture
async def call(
    client: Client, another_client: Callable[[], Any], rooms: MemoryRooms, clock: FrozenClock
) -> Call:
    mentor = await sign_up(client, name="Maria Mentor", timezone="Europe/Berlin")
    mentee = await sign_up(await another_client(), name="Sam Mentee", timezone="America/Sao_Paulo")
    room = add_room(rooms, clock, (mentor.id, mentee.id))
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


async def receive(ws: Any, kind: str | None = None, wait: float = 5.0) -> dict[str, Any]:
    """The next message (of type ``kind``, skipping others)."""
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
