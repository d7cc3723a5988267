"""The room socket follows the site's one Origin rule, and a room token still admits scripts."""

from __future__ import annotations

import aiohttp
import pytest

from server.core.keys import SETTINGS
from tests.live.conftest import Call, receive, room_token


async def test_a_handshake_from_public_urls_origin_is_accepted(call: Call) -> None:
    client = call.mentor.client
    assert client.app is not None
    room = await room_token(call.mentor, call.room.booking_id)
    ws = await client.ws_connect(
        f"/api/rooms/{room['room_id']}/ws?token={room['token']}",
        headers={"Origin": client.app[SETTINGS].public_origin},
    )
    await ws.send_json({"type": "join"})
    assert (await receive(ws, "peers"))["you"]["user_id"] == call.mentor.id
    await ws.close()


async def test_a_handshake_from_another_port_is_refused(call: Call) -> None:
    """Another port of the same host is another origin, as it is for unsafe requests."""
    client = call.mentor.client
    room = await room_token(call.mentor, call.room.booking_id)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(
            f"/api/rooms/{room['room_id']}/ws?token={room['token']}",
            headers={"Origin": f"http://{client.host}:1"},
        )
    assert refused.value.status == 403


async def test_a_script_without_origin_is_admitted_by_its_room_token(call: Call) -> None:
    """Not a browser (no Origin, even with the cookie): the token is the credential."""
    client = call.mentor.client
    room = await room_token(call.mentor, call.room.booking_id)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["meridian_session"]
    url = client.make_url(f"/api/rooms/{room['room_id']}/ws?token={room['token']}")
    async with (
        aiohttp.ClientSession(headers={"Cookie": f"meridian_session={cookie.value}"}) as script,
        script.ws_connect(url) as ws,
    ):
        await ws.send_json({"type": "join"})
        assert (await receive(ws, "peers"))["you"]["user_id"] == call.mentor.id
