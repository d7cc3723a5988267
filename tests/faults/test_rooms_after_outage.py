"""Who is in a room, across two processes, when people come and go while Redis is away."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.keys import BUS
from server.live.keys import HUB
from server.live.presence import RedisPresence
from server.live.rooms import RoomInfo
from tests.factories import Person, sign_up
from tests.live.conftest import Client, add_room, join, receive
from tests.services import RedisServer

pytestmark = pytest.mark.redis
BOUND = 10.0  # a failure bound only


@dataclass
class TwoProcesses:
    left: Client
    right: Client
    mentor: Person  # signs in on the left
    mentee: Person  # signs in on the right
    room: RoomInfo

    def buses_available(self) -> list[bool]:
        return [c.app[BUS].available for c in (self.left, self.right)]  # type: ignore[index]


@pytest.fixture
async def two(
    own_redis: RedisServer,
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> TwoProcesses:
    settings = make_settings(sqlite_url, redis_url=own_redis.url, stun_urls=())
    left: Client = await aiohttp_client(create_app(settings, clock=clock))
    right: Client = await aiohttp_client(create_app(settings, clock=clock))
    mentor = await sign_up(left, name="Maria Mentor")
    mentee = await sign_up(right, name="Sam Mentee", timezone="America/Sao_Paulo")
    assert left.app is not None
    room = await add_room(left.app, mentor.id, mentee.id)
    return TwoProcesses(left, right, mentor, mentee, room)


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {BOUND} s")
        await asyncio.sleep(0.02)


async def outage(own_redis: RedisServer, two: TwoProcesses) -> None:
    own_redis.kill()
    await until(lambda: not any(two.buses_available()), "both buses noticing the outage")


async def test_someone_who_joined_during_the_outage_is_met_once_redis_is_back(
    own_redis: RedisServer, two: TwoProcesses
) -> None:
    ws_mentor, first = await join(two.mentor, two.room.booking_id)
    await outage(own_redis, two)
    # Joining the other process works at once; the mentor is not visible from there yet.
    ws_mentee, second = await join(two.mentee, two.room.booking_id)
    assert second["peers"] == []
    own_redis.restart()
    met = await receive(ws_mentor, "peer-joined", BOUND)
    assert met["peer"]["peer_id"] == second["you"]["peer_id"]
    met = await receive(ws_mentee, "peer-joined", BOUND)
    assert met["peer"]["peer_id"] == first["you"]["peer_id"]
    await ws_mentor.send_json(
        {"type": "signal", "to": second["you"]["peer_id"], "data": {"sdp": "offer"}}
    )
    assert (await receive(ws_mentee, "signal", BOUND))["data"] == {"sdp": "offer"}
    await ws_mentor.close()
    await ws_mentee.close()


async def test_someone_who_left_during_the_outage_is_gone_once_redis_is_back(
    own_redis: RedisServer, two: TwoProcesses
) -> None:
    ws_mentor, _ = await join(two.mentor, two.room.booking_id)
    ws_mentee, second = await join(two.mentee, two.room.booking_id)
    mentee_peer = second["you"]["peer_id"]
    assert (await receive(ws_mentor, "peer-joined"))["peer"]["peer_id"] == mentee_peer
    await outage(own_redis, two)
    await ws_mentee.send_json({"type": "bye"})
    await ws_mentee.close()
    assert mentee_peer in two.left.app[HUB].roster(two.room.room_id)  # type: ignore[index]
    own_redis.restart()
    assert (await receive(ws_mentor, "peer-left", BOUND))["peer_id"] == mentee_peer
    assert mentee_peer not in two.left.app[HUB].roster(two.room.room_id)  # type: ignore[index]
    await ws_mentor.close()


async def test_a_new_join_after_the_restart_sees_who_was_there_before(
    own_redis: RedisServer, two: TwoProcesses
) -> None:
    """A restarted Redis is empty: presence is put back as soon as the bus reconnects."""
    ws_mentor, first = await join(two.mentor, two.room.booking_id)
    await outage(own_redis, two)
    own_redis.restart()
    await until(lambda: all(two.buses_available()), "both buses reconnecting")
    presence = RedisPresence(own_redis.url)
    try:
        deadline = time.monotonic() + BOUND
        while first["you"]["peer_id"] not in await presence.members(two.room.room_id):
            assert time.monotonic() < deadline, "the mentor's presence was not put back"
            await asyncio.sleep(0.02)
    finally:
        await presence.close()
    ws_mentee, second = await join(two.mentee, two.room.booking_id)
    assert [p["peer_id"] for p in second["peers"]] == [first["you"]["peer_id"]]
    await ws_mentor.close()
    await ws_mentee.close()
