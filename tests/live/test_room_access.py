"""Who may enter a room, and when: every refusal happens before the WebSocket upgrade."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError, web

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.keys import DB
from server.live import tokens
from server.scheduling.models import Booking
from tests.conftest import TEST_SECRET
from tests.dates import iso
from tests.factories import sign_up
from tests.live.conftest import Call, Client, add_room, join, receive, room_token


async def refused(client: Client, url: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    """Open ``url`` as a WebSocket; it must be refused with a problem document, not upgraded."""
    resp = await client.get(
        url,
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
            **kw.get("headers", {}),
        },
    )
    assert resp.status != 101
    assert resp.content_type == "application/problem+json"
    return resp.status, await resp.json()


async def test_room_details_for_a_participant(call: Call, clock: FrozenClock) -> None:
    room = await room_token(call.mentee, call.room.booking_id)
    assert room["room_id"] == call.room.room_id
    assert room["ws_url"].startswith("ws://") and room["ws_url"].endswith(room["token"])
    starts = clock.now() + timedelta(minutes=5)  # the session lasts an hour
    assert room["opens_at"] == iso(starts - timedelta(minutes=10))  # 10 minutes before
    assert room["closes_at"] == iso(starts + timedelta(minutes=60 + 30))  # 30 minutes after
    assert room["is_open"] is True
    assert room["ice_servers"] == []  # no STUN configured in these tests, no TURN


async def test_outsiders_get_nothing(call: Call, another_client: Callable[[], Any]) -> None:
    stranger = await sign_up(await another_client(), name="Eve Outsider")
    resp = await stranger.client.get(f"/api/bookings/{call.room.booking_id}/room")
    assert resp.status == 404
    assert (await stranger.client.get("/api/bookings/nope/room")).status == 404
    anonymous = await another_client()
    assert (await anonymous.get(f"/api/bookings/{call.room.booking_id}/room")).status == 401


async def test_turn_credentials_follow_the_coturn_rest_scheme(
    settings: Settings,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
    another_client: Callable[[], Any],
) -> None:
    app = create_app(
        settings.replace(
            turn_urls=("turn:turn.example.org:3478?transport=udp",),
            turn_secret="coturn-shared-secret",
            stun_urls=("stun:stun.example.org:3478",),
        ),
        clock=clock,
    )
    test_client = await aiohttp_client(app)
    mentor = await sign_up(test_client)
    mentee = await sign_up(await aiohttp_client(test_client.server), name="Sam Mentee")
    room_info = await add_room(app, mentor.id, mentee.id)
    room = await room_token(mentor, room_info.booking_id)
    stun, turn = room["ice_servers"]
    assert stun == {"urls": ["stun:stun.example.org:3478"], "username": None, "credential": None}
    expiry, user = turn["username"].split(":")
    assert user == mentor.id
    assert int(expiry) == int(clock.now().timestamp()) + 3600  # TURN_TTL_SECONDS
    expected = base64.b64encode(
        hmac.new(b"coturn-shared-secret", turn["username"].encode(), hashlib.sha1).digest()
    ).decode()
    assert turn["credential"] == expected
    assert turn["urls"] == ["turn:turn.example.org:3478?transport=udp"]


async def test_no_token_is_refused_before_the_upgrade(call: Call) -> None:
    status, problem = await refused(call.mentor.client, f"/api/rooms/{call.room.room_id}/ws")
    assert status == 401 and "token" in problem["detail"]


async def test_a_forged_token_is_refused(call: Call) -> None:
    forged = tokens.issue(
        secret_key="another-secret-key-that-is-long-enough-000",
        room_id=call.room.room_id,
        user_id=call.mentor.id,
        expires=call.room.closes_at,
    )
    status, _ = await refused(
        call.mentor.client, f"/api/rooms/{call.room.room_id}/ws?token={forged}"
    )
    assert status == 401


@pytest.mark.parametrize(
    "token",
    ["a.%C3%A9", "%C3%A9.abc", "%F0%9F%98%80", "a.%ED%A0%80", "..", ".", "a." + "%C3%A9" * 600],
)
async def test_a_malformed_token_is_refused_not_a_crash(call: Call, token: str) -> None:
    status, problem = await refused(
        call.mentor.client, f"/api/rooms/{call.room.room_id}/ws?token={token}"
    )
    assert status == 401, problem


def test_verify_refuses_non_ascii_tokens_with_a_token_error() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    for token in ("a.\u00e9", "\u00e9.x", "a.\udc80", "\udc80.x", "\x00.\x00"):
        with pytest.raises(tokens.TokenError):
            tokens.verify(token, secret_key=TEST_SECRET, room_id="room", now=now)


async def test_an_expired_token_is_refused(call: Call, clock: FrozenClock) -> None:
    room = await room_token(call.mentor, call.room.booking_id)
    clock.advance(timedelta(minutes=6))  # tokens live five minutes
    status, problem = await refused(
        call.mentor.client, f"/api/rooms/{room['room_id']}/ws?token={room['token']}"
    )
    assert status == 401 and "expired" in problem["detail"]


async def test_another_rooms_token_is_refused(call: Call, app: web.Application) -> None:
    other = await add_room(app, call.mentor.id, call.mentee.id, starts_in=timedelta(0))
    room = await room_token(call.mentor, other.booking_id)
    status, problem = await refused(
        call.mentor.client, f"/api/rooms/{call.room.room_id}/ws?token={room['token']}"
    )
    assert status == 401 and "another room" in problem["detail"]


async def test_a_third_user_cannot_use_a_participants_token(
    call: Call, another_client: Callable[[], Any]
) -> None:
    stranger = await sign_up(await another_client(), name="Eve Outsider")
    room = await room_token(call.mentor, call.room.booking_id)
    status, problem = await refused(
        stranger.client, f"/api/rooms/{room['room_id']}/ws?token={room['token']}"
    )
    assert status == 403 and "someone else" in problem["detail"]


async def test_a_token_for_someone_outside_the_room_is_refused(call: Call) -> None:
    outsider = tokens.issue(
        secret_key=TEST_SECRET,
        room_id=call.room.room_id,
        user_id="not-a-participant",
        expires=call.room.closes_at,
    )
    status, _ = await refused(
        call.mentor.client, f"/api/rooms/{call.room.room_id}/ws?token={outsider}"
    )
    assert status == 403


@pytest.mark.parametrize(
    ("starts_in", "word"),
    [(timedelta(minutes=11), "not open yet"), (timedelta(hours=-2), "closed")],
)
async def test_the_room_is_shut_outside_its_window(
    call: Call, app: web.Application, starts_in: timedelta, word: str
) -> None:
    room_info = await add_room(app, call.mentor.id, call.mentee.id, starts_in=starts_in)
    room = await room_token(call.mentor, room_info.booking_id)
    assert room["is_open"] is False
    status, problem = await refused(
        call.mentor.client, f"/api/rooms/{room['room_id']}/ws?token={room['token']}"
    )
    assert status == 403 and word in problem["detail"]


async def test_a_foreign_origin_is_refused(call: Call) -> None:
    room = await room_token(call.mentor, call.room.booking_id)
    status, problem = await refused(
        call.mentor.client,
        f"/api/rooms/{room['room_id']}/ws?token={room['token']}",
        headers={"Origin": "https://evil.example"},
    )
    assert status == 403 and "evil.example" in problem["detail"]


async def test_an_unknown_room_is_not_found(call: Call) -> None:
    token = tokens.issue(
        secret_key=TEST_SECRET, room_id="gone", user_id=call.mentor.id, expires=call.room.closes_at
    )
    status, _ = await refused(call.mentor.client, f"/api/rooms/gone/ws?token={token}")
    assert status == 404


async def test_a_valid_token_upgrades_and_the_server_sends_no_compression(call: Call) -> None:
    room = await room_token(call.mentor, call.room.booking_id)
    with pytest.raises(WSServerHandshakeError):
        await call.mentor.client.ws_connect(f"/api/rooms/{room['room_id']}/ws?token=bad")
    ws = await call.mentor.client.ws_connect(
        f"/api/rooms/{room['room_id']}/ws?token={room['token']}", compress=15
    )
    assert ws.compress == 0  # the server declined permessage-deflate
    await ws.send_json({"type": "join"})
    peers = await receive(ws, "peers")
    assert peers["peers"] == [] and peers["you"]["user_id"] == call.mentor.id
    await ws.close()


async def test_a_participant_in_the_room_gets_its_peers(call: Call) -> None:
    ws1, first = await join(call.mentor, call.room.booking_id)
    ws2, second = await join(call.mentee, call.room.booking_id)
    assert [p["user_id"] for p in second["peers"]] == [call.mentor.id]
    assert second["peers"][0]["timezone"] == "Europe/Berlin"
    joined = await receive(ws1, "peer-joined")
    assert joined["peer"]["peer_id"] == second["you"]["peer_id"]
    assert joined["peer"]["joined"] > first["you"]["joined"]  # the later one is polite
    await ws1.close()
    await ws2.close()


async def test_a_cancelled_booking_has_no_room(call: Call, app: web.Application) -> None:
    room = await room_token(call.mentor, call.room.booking_id)
    async with app[DB].write() as s:
        booking = await s.get(Booking, call.room.booking_id)
        assert booking is not None
        booking.status = "cancelled"
    assert (
        await call.mentor.client.get(f"/api/bookings/{call.room.booking_id}/room")
    ).status == 404
    status, _ = await refused(
        call.mentor.client, f"/api/rooms/{room['room_id']}/ws?token={room['token']}"
    )
    assert status == 404


async def test_the_room_knows_whether_the_agreement_allows_recording(
    call: Call, app: web.Application
) -> None:
    assert call.room.recording_allowed is False
    allowed = await add_room(app, call.mentor.id, call.mentee.id, recording_allowed=True)
    room = await room_token(call.mentee, allowed.booking_id)
    assert room["recording_allowed"] is True
