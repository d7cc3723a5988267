"""The thread WebSocket refuses handshakes from pages on other sites."""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from tests.factories import Pair


def _handshake(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }


async def test_handshake_from_another_site_is_403_before_upgrade(pair: Pair) -> None:
    client = pair.mentor.client
    path = f"/api/mentorships/{pair.mentorship_id}/thread/ws"
    resp = await client.get(path, headers=_handshake("https://evil.example"))
    assert resp.status == 403
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    problem: dict[str, Any] = await resp.json(content_type=None)
    assert "https://evil.example" in problem["detail"]
    assert "Sec-WebSocket-Accept" not in resp.headers

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(path, headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(path, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.value.status == 403


async def test_handshake_from_this_site_is_accepted(pair: Pair) -> None:
    client = pair.mentor.client
    own = f"http://{client.server.host}:{client.server.port}"
    ws = await client.ws_connect(
        f"/api/mentorships/{pair.mentorship_id}/thread/ws",
        headers={"Origin": own, "Sec-Fetch-Site": "same-origin"},
    )
    msg = await asyncio.wait_for(ws.receive(), 10)
    assert msg.type == WSMsgType.TEXT
    assert msg.json() == {"type": "ready", "mentorship_id": pair.mentorship_id}
    await ws.close()
