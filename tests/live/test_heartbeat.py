"""The signalling socket's heartbeat: a peer that answers pings stays, one that does not goes.

The heartbeat is aiohttp's own, every ``SIGNAL_HEARTBEAT_SECONDS``; here it is one
second, and the test waits for what it looks for (a ping, the socket closed), never for
a length of time.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import WSMsgType, web

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from tests.live.conftest import Call, connect, receive
from tests.waiting import DEADLINE_SECONDS, eventually

HEARTBEAT_SECONDS = 1.0


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> web.Application:
    changed = settings.replace(stun_urls=(), signal_heartbeat_seconds=HEARTBEAT_SECONDS)
    return create_app(changed, clock=clock)


async def test_the_server_pings_and_drops_a_socket_that_never_answers(call: Call) -> None:
    # A client that answers pings (here by hand, counting them) stays.
    ws1 = await connect(call.mentor, call.room.booking_id, autoping=False)
    await ws1.send_json({"type": "join"})
    await receive(ws1, "peers")
    heard: list[str] = []
    pings = 0

    async def answer() -> None:
        nonlocal pings
        while True:
            msg = await ws1.receive()
            if msg.type == WSMsgType.PING:
                pings += 1
                await ws1.pong(msg.data)
            elif msg.type == WSMsgType.TEXT:
                heard.append(json.loads(msg.data)["type"])
            else:
                return

    answering = asyncio.create_task(answer())
    # One that does not (autoping off, and never a pong) is dropped.
    silent = await connect(call.mentee, call.room.booking_id, autoping=False)
    await silent.send_json({"type": "join"})
    silent_pings = 0
    while (msg := await asyncio.wait_for(silent.receive(), DEADLINE_SECONDS)).type in (
        WSMsgType.TEXT,
        WSMsgType.PING,
    ):
        silent_pings += msg.type == WSMsgType.PING
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR)
    assert silent_pings >= 1  # it was asked, and did not answer

    async def seen() -> tuple[list[str], int]:
        return heard, pings

    # The answering socket outlives two rounds of pings, and hears that the other went.
    await eventually(
        seen,
        lambda found: "peer-reconnecting" in found[0] and found[1] >= 2,
        what="two answered pings and word of the dropped socket",
    )
    assert heard == ["peer-joined", "peer-reconnecting"]
    assert not ws1.closed
    await ws1.send_json({"type": "join"})

    await eventually(seen, lambda found: found[0][-1:] == ["error"], what="the socket answering")
    await ws1.close()
    await answering
