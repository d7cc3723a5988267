"""The signalling socket: relaying, stamping, resuming, and standing up to bad input."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from aiohttp import WSCloseCode, WSMsgType, web

from server.live.keys import HUB
from server.live.protocol import MAX_MESSAGE_BYTES
from tests.live.conftest import Call, add_room, join, receive
from tests.waiting import DEADLINE_SECONDS, eventually


async def test_signals_are_relayed_with_the_sender_stamped_by_the_server(call: Call) -> None:
    ws1, first = await join(call.mentor, call.room.booking_id)
    ws2, second = await join(call.mentee, call.room.booking_id)
    mentor_id, mentee_id = first["you"]["peer_id"], second["you"]["peer_id"]
    offer = {"description": {"type": "offer", "sdp": "v=0\r\n"}}
    await ws2.send_json({"type": "signal", "to": mentor_id, "from": "forged", "data": offer})
    relayed = await receive(ws1, "signal")
    assert relayed == {"type": "signal", "to": mentor_id, "from": mentee_id, "data": offer}
    await ws1.send_json({"type": "chat", "text": "Hello from Berlin"})
    chat = await receive(ws2, "chat")
    assert chat["from"] == mentor_id and chat["text"] == "Hello from Berlin" and chat["at"] > 0
    await ws2.send_json({"type": "media-state", "audio": False, "video": True})
    state = await receive(ws1, "media-state")
    assert state == {
        "type": "media-state",
        "from": mentee_id,
        "audio": False,
        "video": True,
        "screen": False,
    }
    await ws2.send_json({"type": "bye"})
    left = await receive(ws1, "peer-left")
    assert left["peer_id"] == mentee_id
    await ws1.close()


async def test_bad_input_gets_an_error_and_the_other_side_is_unaffected(call: Call) -> None:
    ws1, _ = await join(call.mentor, call.room.booking_id)
    ws2, _ = await join(call.mentee, call.room.booking_id)
    await receive(ws1, "peer-joined")
    for raw, code in [
        ("{oops", "bad-json"),
        ('{"type":"teleport"}', "unknown-type"),
        ('{"type":"signal","to":"nobody","data":{}}', "no-such-peer"),
        ('{"type":"join"}', "already-joined"),
        ('{"type":"record-consent","consent":true}', "recording-not-allowed"),
    ]:
        await ws2.send_str(raw)
        error = await receive(ws2)
        assert error["type"] == "error" and error["code"] == code, raw
    await ws2.send_bytes(b"\x00\x01")
    assert (await receive(ws2))["code"] == "bad-frame"
    # Still connected, and the other participant heard nothing of it.
    await ws2.send_json({"type": "chat", "text": "still here"})
    assert (await receive(ws1))["text"] == "still here"
    await ws1.close()
    await ws2.close()


async def test_a_message_over_64_kib_closes_with_1009(call: Call) -> None:
    ws1, _ = await join(call.mentor, call.room.booking_id)
    ws2, _ = await join(call.mentee, call.room.booking_id)
    await receive(ws1, "peer-joined")
    await ws2.send_str(json.dumps({"type": "chat", "text": "x" * (1024 * 1024)}))
    msg = await asyncio.wait_for(ws2.receive(), DEADLINE_SECONDS)
    while msg.type == WSMsgType.TEXT:
        msg = await asyncio.wait_for(ws2.receive(), DEADLINE_SECONDS)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert ws2.close_code == WSCloseCode.MESSAGE_TOO_BIG
    # The mentor sees the mentee reconnecting and can still talk in the room.
    assert (await receive(ws1))["type"] == "peer-reconnecting"
    await ws1.send_json({"type": "chat", "text": "anyone?"})
    await ws1.send_json({"type": "media-state", "audio": True, "video": False})
    assert not ws1.closed
    assert MAX_MESSAGE_BYTES == 64 * 1024
    await ws1.close()


async def test_a_flood_is_told_off_then_closed_with_1008(call: Call) -> None:
    ws1, _ = await join(call.mentor, call.room.booking_id)
    ws2, second = await join(call.mentee, call.room.booking_id)
    await receive(ws1, "peer-joined")
    for i in range(400):
        await ws2.send_json({"type": "media-state", "audio": i % 2 == 0})
    codes = []
    while True:
        msg = await asyncio.wait_for(ws2.receive(), DEADLINE_SECONDS)
        if msg.type != WSMsgType.TEXT:
            break
        codes.append(json.loads(msg.data).get("code"))
    assert "rate-limited" in codes
    assert ws2.close_code == WSCloseCode.POLICY_VIOLATION
    # The mentor's connection is fine: it got the relayed states, then the reconnect notice.
    seen = []
    while (message := await receive(ws1))["type"] == "media-state":
        seen.append(message)
    assert message == {
        "type": "peer-reconnecting",
        "peer_id": second["you"]["peer_id"],
        "seconds": 30,
    }
    assert 100 <= len(seen) < 400
    await ws1.send_json({"type": "chat", "text": "calm again"})
    assert not ws1.closed
    await ws1.close()


async def test_a_peer_that_comes_back_with_its_id_resumes_its_place(call: Call) -> None:
    ws1, first = await join(call.mentor, call.room.booking_id)
    ws2, second = await join(call.mentee, call.room.booking_id)
    await receive(ws1, "peer-joined")
    mentee_peer = second["you"]["peer_id"]
    await ws2.close()  # a reload: no bye
    gone = await receive(ws1)
    assert gone == {"type": "peer-reconnecting", "peer_id": mentee_peer, "seconds": 30}
    ws3, again = await join(call.mentee, call.room.booking_id, peer_id=mentee_peer)
    assert again["resumed"] is True and again["you"]["peer_id"] == mentee_peer
    assert [p["peer_id"] for p in again["peers"]] == [first["you"]["peer_id"]]
    back = await receive(ws1)
    assert back["type"] == "peer-joined" and back["resumed"] is True
    assert back["peer"]["peer_id"] == mentee_peer
    await ws1.close()
    await ws3.close()


async def test_a_peer_that_does_not_come_back_leaves(call: Call) -> None:
    call.mentor.client.app[HUB].resume_seconds = 0.3  # type: ignore[index]
    ws1, _ = await join(call.mentor, call.room.booking_id)
    ws2, second = await join(call.mentee, call.room.booking_id)
    await receive(ws1, "peer-joined")
    await ws2.close()
    assert (await receive(ws1))["type"] == "peer-reconnecting"
    left = await receive(ws1)
    assert left == {"type": "peer-left", "peer_id": second["you"]["peer_id"]}
    # Coming back later is a fresh join with a new id.
    ws3, again = await join(call.mentee, call.room.booking_id, peer_id=second["you"]["peer_id"])
    assert again["resumed"] is False and again["you"]["peer_id"] != second["you"]["peer_id"]
    await ws1.close()
    await ws3.close()


async def test_a_second_tab_of_the_same_person_replaces_the_first(call: Call) -> None:
    ws1, first = await join(call.mentor, call.room.booking_id)
    ws2, _ = await join(call.mentee, call.room.booking_id)
    await receive(ws1, "peer-joined")
    ws3, third = await join(call.mentee, call.room.booking_id)
    msg = await asyncio.wait_for(ws2.receive(), DEADLINE_SECONDS)
    while msg.type == WSMsgType.TEXT:
        msg = await asyncio.wait_for(ws2.receive(), DEADLINE_SECONDS)
    assert msg.type == WSMsgType.CLOSE and msg.data == 4001  # replaced
    assert (await receive(ws1))["type"] == "peer-left"
    assert (await receive(ws1))["peer"]["peer_id"] == third["you"]["peer_id"]
    assert len(third["peers"]) == 1 and third["peers"][0]["peer_id"] == first["you"]["peer_id"]
    await ws1.close()
    await ws3.close()


async def test_messages_before_join_are_refused(call: Call) -> None:
    from tests.live.conftest import connect

    ws = await connect(call.mentor, call.room.booking_id)
    await ws.send_json({"type": "chat", "text": "too early"})
    assert (await receive(ws))["code"] == "not-joined"
    await ws.close()


async def test_metrics_count_sockets_and_rooms(call: Call) -> None:
    ws1, _ = await join(call.mentor, call.room.booking_id)
    ws2, _ = await join(call.mentee, call.room.booking_id)
    await receive(ws1, "peer-joined")
    text = await (await call.mentor.client.get("/metrics")).text()
    assert "meridian_websocket_connections 2.0" in text
    assert "meridian_rooms_active 1.0" in text
    await ws2.send_json({"type": "bye"})
    await receive(ws1, "peer-left")
    await ws1.send_json({"type": "bye"})
    for ws in (ws1, ws2):  # after bye the server closes; answering lets it finish at once
        assert (await asyncio.wait_for(ws.receive(), DEADLINE_SECONDS)).type == WSMsgType.CLOSE

    async def metrics() -> str:
        return await (await call.mentor.client.get("/metrics")).text()

    # The handlers finish just after the close frames: wait for them, not for a while.
    text = await eventually(
        metrics, lambda text: "meridian_websocket_connections 0.0" in text, what="handlers ending"
    )
    assert "meridian_rooms_active 0.0" in text


async def test_shutdown_closes_sockets_with_going_away(call: Call) -> None:
    ws1, _ = await join(call.mentor, call.room.booking_id)
    app = call.mentor.client.app
    assert app is not None
    await app.shutdown()
    msg = await asyncio.wait_for(ws1.receive(), DEADLINE_SECONDS)
    assert msg.type == WSMsgType.CLOSE and msg.data == WSCloseCode.GOING_AWAY


async def test_sockets_are_closed_when_the_room_closes(call: Call, app: web.Application) -> None:
    # A session that ended 29 minutes and 59 seconds ago: its room closes in a second.
    ending = await add_room(
        app,
        call.mentor.id,
        call.mentee.id,
        starts_in=-timedelta(minutes=60 + 30) + timedelta(seconds=1),
    )
    ws, _ = await join(call.mentor, ending.booking_id)
    msg = await asyncio.wait_for(ws.receive(), DEADLINE_SECONDS)
    assert msg.type == WSMsgType.CLOSE and msg.data == 4002
