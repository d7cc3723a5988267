"""The device check's echo peer, driven by a real aiortc peer on the other end."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack

from server.live.keys import ECHO
from tests.factories import sign_up
from tests.live.conftest import Client
from tests.waiting import eventually


async def offer_peer() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def count_frames(track: Any, counts: dict[str, int], enough: asyncio.Event) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()
            counts[track.kind] = counts.get(track.kind, 0) + 1
            if counts.get("video", 0) >= 30 and counts.get("audio", 0) >= 50:
                enough.set()


async def test_the_echo_peer_sends_back_audio_and_video(
    client: Client, app: web.Application
) -> None:
    await sign_up(client)
    pc = await offer_peer()
    counts: dict[str, int] = {}
    enough = asyncio.Event()
    readers: list[asyncio.Task[None]] = []
    pc.on(
        "track",
        lambda track: readers.append(asyncio.ensure_future(count_frames(track, counts, enough))),
    )
    resp = await client.post(
        "/api/device-check", json={"sdp": pc.localDescription.sdp, "type": "offer"}
    )
    assert resp.status == 200, await resp.text()
    answer = await resp.json()
    assert answer["type"] == "answer" and "a=candidate" in answer["sdp"]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    async with asyncio.timeout(20):
        await enough.wait()  # 30 video and 50 audio frames came back
    assert len(app[ECHO]) == 1
    hang = await client.delete(f"/api/device-check/{answer['id']}")
    assert hang.status == 204
    assert len(app[ECHO]) == 0
    assert (await client.delete(f"/api/device-check/{answer['id']}")).status == 404
    await pc.close()
    for task in readers:
        task.cancel()


async def test_a_bad_offer_is_refused_and_leaves_no_peer(
    client: Client, app: web.Application
) -> None:
    await sign_up(client)
    for body, status in [
        ({"sdp": "this is not sdp at all", "type": "offer"}, 422),
        ({"sdp": "v=0", "type": "answer"}, 422),
        ({"sdp": "v=0\r\n" * 5, "type": "offer", "extra": 1}, 422),
    ]:
        resp = await client.post("/api/device-check", json=body)
        assert resp.status == status, body
        assert resp.content_type == "application/problem+json"
    assert len(app[ECHO]) == 0


async def test_signed_out_visitors_cannot_start_a_check(client: Client) -> None:
    resp = await client.post("/api/device-check", json={"sdp": "v=0 something", "type": "offer"})
    assert resp.status == 401


async def test_beyond_the_cap_the_answer_is_503_with_retry_after(
    client: Client, app: web.Application
) -> None:
    await sign_up(client)
    app[ECHO].limit = 1
    first = await offer_peer()
    second = await offer_peer()
    ok = await client.post(
        "/api/device-check", json={"sdp": first.localDescription.sdp, "type": "offer"}
    )
    assert ok.status == 200
    busy = await client.post(
        "/api/device-check", json={"sdp": second.localDescription.sdp, "type": "offer"}
    )
    assert busy.status == 503
    assert busy.headers["Retry-After"] == "10"
    assert len(app[ECHO]) == 1
    await first.close()
    await second.close()


async def test_peers_end_after_the_time_limit(client: Client, app: web.Application) -> None:
    await sign_up(client)
    app[ECHO].max_seconds = 0.5
    pc = await offer_peer()
    resp = await client.post(
        "/api/device-check", json={"sdp": pc.localDescription.sdp, "type": "offer"}
    )
    assert resp.status == 200
    assert (await resp.json())["id"]  # a peer answered (on a slow run it may be ending already)

    async def peers() -> int:
        return len(app[ECHO])

    # The limit is a timer inside the app: wait for it to end the peer.
    await eventually(peers, lambda n: n == 0, what="the time limit ending the peer")
    await pc.close()


async def test_shutdown_closes_every_peer(client: Client, app: web.Application) -> None:
    await sign_up(client)
    pc = await offer_peer()
    resp = await client.post(
        "/api/device-check", json={"sdp": pc.localDescription.sdp, "type": "offer"}
    )
    assert resp.status == 200
    await app[ECHO].close()
    assert len(app[ECHO]) == 0
    await pc.close()
