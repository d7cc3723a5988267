"""Consented recording, with two real aiortc peers as the participants."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from sqlalchemy import update

from server.core.ids import new_id
from server.core.keys import BUS, CLOCK, DB
from server.live.keys import HUB, RECORDINGS
from server.live.rooms import RoomInfo
from server.mentorship.models import AgreementVersion
from server.threads.keys import MEDIA_STORE
from tests.factories import Person, sign_up
from tests.live.conftest import Client, add_room, join
from tests.waiting import DEADLINE_SECONDS, eventually

# The longest frame the test's tracks send: video at 30 frames a second (audio is 20 ms).
LAST_FRAME_SECONDS = 1 / 30


class SmallVideo(VideoStreamTrack):
    """A camera of 160x120: real VP8 both ways, without a test machine's CPU falling behind."""

    async def recv(self) -> Any:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=160, height=120, format="yuv420p")
        for plane in frame.planes:
            plane.update(bytes([pts // 3000 % 256]) * plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        return frame


@dataclass
class Participant:
    """A participant's page, reduced to what recording needs: it sends media to the recorder."""

    ws: Any
    peer_id: str
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    pcs: list[RTCPeerConnection] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        links: dict[str, RTCPeerConnection] = {}
        async for msg in self.ws:
            message = json.loads(msg.data)
            if message["type"] == "peer-joined" and message["peer"]["recorder"]:
                pc = RTCPeerConnection()
                pc.addTrack(AudioStreamTrack())
                pc.addTrack(SmallVideo())
                await pc.setLocalDescription(await pc.createOffer())
                links[message["peer"]["peer_id"]] = pc
                self.pcs.append(pc)
                offer = {"type": "offer", "sdp": pc.localDescription.sdp}
                await self.ws.send_json(
                    {
                        "type": "signal",
                        "to": message["peer"]["peer_id"],
                        "data": {"description": offer},
                    }
                )
            elif message["type"] == "signal" and message["from"] in links:
                answer = message["data"]["description"]
                await links[message["from"]].setRemoteDescription(
                    RTCSessionDescription(sdp=answer["sdp"], type=answer["type"])
                )
            self.inbox.put_nowait(message)

    async def expect(
        self, kind: str, wait: float = DEADLINE_SECONDS, **fields: Any
    ) -> dict[str, Any]:
        async with asyncio.timeout(wait):
            while True:
                message = await self.inbox.get()
                if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
                    return message

    async def close(self) -> None:
        for pc in self.pcs:
            await pc.close()
        await self.ws.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def participant(person: Person, booking_id: str) -> Participant:
    ws, peers = await join(person, booking_id)
    p = Participant(ws, peers["you"]["peer_id"])
    p.task = asyncio.create_task(p.run())
    return p


async def media_flows_into_the_files(
    app: web.Application, room: RoomInfo, frames: int = 10
) -> None:
    """Both participants' picture and sound have reached the recorder's files."""
    recorder = app[RECORDINGS].active[room.room_id]

    async def written() -> list[int]:
        return [track.frames for take in recorder.takes.values() for track in take.rebased]

    await eventually(
        written,
        lambda counts: len(counts) == 4 and min(counts) >= frames,
        what="frames of both participants reaching the recorder",
    )


def measure(path: Path) -> dict[str, list[float]]:
    """Seconds of media in each stream, by kind, from the packets themselves."""
    found: dict[str, list[float]] = {"audio": [], "video": []}
    with av.open(str(path)) as container:
        ends: dict[int, float] = {}
        starts: dict[int, float] = {}
        for packet in container.demux():
            if packet.pts is None or packet.stream.type not in found:
                continue
            t = float(packet.pts * packet.time_base)
            starts.setdefault(packet.stream.index, t)
            ends[packet.stream.index] = max(ends.get(packet.stream.index, 0.0), t)
        for stream in container.streams:
            if stream.index in ends:
                found[stream.type].append(ends[stream.index])
    return found


async def test_both_consent_media_flows_then_one_withdraws(
    client: Client, another_client: Callable[[], Any], app: web.Application, tmp_path: Path
) -> None:
    mentor = await sign_up(client, name="Maria Mentor")
    mentee = await sign_up(await another_client(), name="Sam Mentee")
    stranger = await sign_up(await another_client(), name="Eve Outsider")
    room = await add_room(app, mentor.id, mentee.id, recording_allowed=True)
    starts = room.starts_at.astimezone(ZoneInfo("Europe/Berlin"))  # where both are
    session_day = f"{starts.day} {starts:%B %Y}"  # "25 November 2026"
    first = await participant(mentor, room.booking_id)
    second = await participant(mentee, room.booking_id)
    thread = app[BUS].subscribe(f"thread:{room.mentorship_id}")
    thread_events = await thread.__aenter__()
    try:
        await first.expect("peer-joined")
        await first.ws.send_json({"type": "record-consent", "consent": True})
        assert (await second.expect("record-consent"))["consent"] is True
        assert app[RECORDINGS].active == {}  # one consent is not enough

        # The recording can last no longer than from this consent to the indicator going off.
        consented = asyncio.get_running_loop().time()
        await second.ws.send_json({"type": "record-consent", "consent": True})

        # The recorder joins, both send it their media, and the indicator goes on for both.
        for p in (first, second):
            await p.expect("recording", active=True)
        recorder = app[RECORDINGS].active[room.room_id]
        await media_flows_into_the_files(app, room)
        await second.ws.send_json({"type": "record-consent", "consent": False})
        # What was recorded ends the moment consent is withdrawn.
        for p in (first, second):
            left = await p.expect("peer-left")
            assert left["peer_id"] not in (first.peer_id, second.peer_id)  # the recorder left
            await p.expect("recording", active=False)
        elapsed = asyncio.get_running_loop().time() - consented

        # Stopping again (the other participant leaving too) posts nothing more.
        assert await recorder.stop() == []
        await second.ws.send_json({"type": "bye"})

        await app[RECORDINGS].idle()  # both files checked and posted
        listed = await (await client.get(f"/api/bookings/{room.booking_id}/recordings")).json()
        # One file per participant, each with their picture and sound, no longer than the take.
        assert {item["user_id"] for item in listed["items"]} == {mentor.id, mentee.id}
        assert len(listed["items"]) == 2
        for item in listed["items"]:
            assert item["content_type"] == "video/webm"
            # A file's duration runs to the end of its last frame: the frames' time stamps
            # span at most the take, and the last frame adds its own length (1/30 s of
            # video at most), written to the millisecond. None of this depends on load.
            longest = elapsed + LAST_FRAME_SECONDS + 0.001
            assert 0 < item["duration_seconds"] <= longest, (item, elapsed)
            path = app[MEDIA_STORE].media(item["media_id"], "webm")
            assert path.exists()
            streams = await asyncio.to_thread(measure, path)
            assert len(streams["audio"]) == 1 and len(streams["video"]) == 1
            for seconds in streams["audio"] + streams["video"]:
                assert 0 < seconds <= elapsed, (seconds, elapsed)
        # The other participant sees the listing too; outsiders do not.
        theirs = await mentee.client.get(f"/api/bookings/{room.booking_id}/recordings")
        assert (await theirs.json())["items"] == listed["items"]

        # Each file is its participant's video message in the mentorship's thread, once.
        announced: list[dict[str, Any]] = []
        async with asyncio.timeout(DEADLINE_SECONDS):
            while len(announced) < 2:
                event = await thread_events.get()
                if event.data["type"] == "message":
                    announced.append(event.data["message"])
        page = await (await client.get(f"/api/mentorships/{room.mentorship_id}/messages")).json()
        messages = page["items"]
        assert len(messages) == 2
        assert {m["id"] for m in messages} == {m["id"] for m in announced}
        by_media = {m["media"]["id"]: m for m in messages}
        assert set(by_media) == {item["media_id"] for item in listed["items"]}
        for item in listed["items"]:
            message = by_media[item["media_id"]]
            assert item["message_id"] == message["id"]
            assert message["author_id"] == item["user_id"]
            assert message["kind"] == "video"
            assert message["body"] == f"Recording of the session on {session_day}."
            assert message["media"]["url"] == f"/api/media/{item['media_id']}"
            assert message["media"]["poster_url"] is not None
            assert message["media"]["duration_seconds"] == item["duration_seconds"]
        # The mentee has the mentor's recording unread, as with any new message.
        theirs_page = await (
            await mentee.client.get(f"/api/mentorships/{room.mentorship_id}/messages")
        ).json()
        assert theirs_page["unread_count"] == 1

        # Both participants can play both files (with Range) and the poster; outsiders not.
        for item in listed["items"]:
            url = f"/api/media/{item['media_id']}"
            for person in (mentor, mentee):
                part = await person.client.get(url, headers={"Range": "bytes=0-99"})
                assert part.status == 206
                assert len(await part.read()) == 100
                assert (await person.client.get(f"{url}/poster.jpg")).status == 200
            assert (await stranger.client.get(url)).status == 403
            assert (await stranger.client.get(f"{url}/poster.jpg")).status == 403
            whole = await mentee.client.get(url)
            assert whole.status == 200
            played = tmp_path / f"{item['media_id']}.webm"
            played.write_bytes(await whole.read())
            streams = await asyncio.to_thread(measure, played)
            assert len(streams["audio"]) == 1 and len(streams["video"]) == 1
            for seconds in streams["audio"] + streams["video"]:
                assert 0 < seconds <= elapsed, (seconds, elapsed)
        outsider = await stranger.client.get(f"/api/mentorships/{room.mentorship_id}/messages")
        assert outsider.status == 404
    finally:
        await thread.__aexit__(None, None, None)
        await first.close()
        await second.close()


async def test_recording_stops_when_a_participant_leaves(
    client: Client, another_client: Callable[[], Any], app: web.Application
) -> None:
    mentor = await sign_up(client, name="Maria Mentor")
    mentee = await sign_up(await another_client(), name="Sam Mentee")
    room = await add_room(app, mentor.id, mentee.id, recording_allowed=True)
    first = await participant(mentor, room.booking_id)
    second = await participant(mentee, room.booking_id)
    try:
        for p in (first, second):
            await p.ws.send_json({"type": "record-consent", "consent": True})
        await first.expect("recording", active=True)
        await media_flows_into_the_files(app, room)
        await second.ws.send_json({"type": "bye"})
        await first.expect("recording", active=False)
        assert app[RECORDINGS].active == {}
    finally:
        await first.close()
        await second.close()


async def test_outsiders_see_no_recordings(
    client: Client, another_client: Callable[[], Any], app: web.Application
) -> None:
    mentor = await sign_up(client, name="Maria Mentor")
    mentee = await sign_up(await another_client(), name="Sam Mentee")
    stranger = await sign_up(await another_client(), name="Eve Outsider")
    room = await add_room(app, mentor.id, mentee.id, recording_allowed=True)
    resp = await stranger.client.get(f"/api/bookings/{room.booking_id}/recordings")
    assert resp.status == 404
    mine = await mentor.client.get(f"/api/bookings/{room.booking_id}/recordings")
    assert (await mine.json()) == {"items": []}


def _recorder(app: web.Application, room: RoomInfo) -> Any:
    from server.live.recorder import RoomRecorder

    recorder = RoomRecorder(
        hub=app[HUB], room=room, path_for=lambda: Path("unused"), ice_servers=[]
    )
    recorder.started = recorder.stopped = 1_764_072_000.0
    return recorder


async def test_an_unreadable_recording_is_deleted_and_not_posted(
    client: Client, another_client: Callable[[], Any], app: web.Application
) -> None:
    from server.live.recorder import Take

    mentor = await sign_up(client, name="Maria Mentor")
    mentee = await sign_up(await another_client(), name="Sam Mentee")
    room = await add_room(app, mentor.id, mentee.id, recording_allowed=True)
    store = app[MEDIA_STORE]
    path = store.media(new_id(), "webm")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x1a\x45\xdf\xa3" + b"not a recording" * 100)
    await app[RECORDINGS].post(_recorder(app, room), Take("p", mentor.id, path))
    assert not path.exists()
    assert not store.poster(path.stem).exists()
    listed = await (await client.get(f"/api/bookings/{room.booking_id}/recordings")).json()
    assert listed == {"items": []}
    page = await (await client.get(f"/api/mentorships/{room.mentorship_id}/messages")).json()
    assert page["items"] == []


async def test_the_same_file_is_posted_once(
    client: Client, another_client: Callable[[], Any], app: web.Application
) -> None:
    from server.live.recorder import Take

    mentor = await sign_up(client, name="Maria Mentor")
    mentee = await sign_up(await another_client(), name="Sam Mentee")
    room = await add_room(app, mentor.id, mentee.id, recording_allowed=True)
    store = app[MEDIA_STORE]
    path = store.media(new_id(), "webm")
    await asyncio.to_thread(_write_webm, path, seconds=2)
    recorder = _recorder(app, room)
    for _ in range(2):
        await app[RECORDINGS].post(recorder, Take("p", mentee.id, path))
    page = await (await client.get(f"/api/mentorships/{room.mentorship_id}/messages")).json()
    assert len(page["items"]) == 1
    (message,) = page["items"]
    assert message["author_id"] == mentee.id and message["media"]["id"] == path.stem
    listed = await (await client.get(f"/api/bookings/{room.booking_id}/recordings")).json()
    assert [i["message_id"] for i in listed["items"]] == [message["id"]]


async def test_a_posted_recording_follows_the_agreements_retention(
    client: Client, another_client: Callable[[], Any], app: web.Application
) -> None:
    from server.live.recorder import Take
    from server.threads import retention

    mentor = await sign_up(client, name="Maria Mentor")
    mentee = await sign_up(await another_client(), name="Sam Mentee")
    room = await add_room(app, mentor.id, mentee.id, recording_allowed=True)
    async with app[DB].write() as s:
        await s.execute(
            update(AgreementVersion)
            .where(AgreementVersion.mentorship_id == room.mentorship_id)
            .values(media_retention_days=1)
        )
    store = app[MEDIA_STORE]
    path = store.media(new_id(), "webm")
    await asyncio.to_thread(_write_webm, path, seconds=1)
    await app[RECORDINGS].post(_recorder(app, room), Take("p", mentor.id, path))
    assert store.poster(path.stem).exists()
    now = app[CLOCK].now()
    kept = await retention.apply(
        db=app[DB], bus=app[BUS], store=store, now=now + timedelta(hours=23)
    )
    assert kept == 0 and path.exists()
    removed = await retention.apply(
        db=app[DB], bus=app[BUS], store=store, now=now + timedelta(days=1, hours=1)
    )
    assert removed == 1
    assert not path.exists() and not store.poster(path.stem).exists()
    listed = await (await client.get(f"/api/bookings/{room.booking_id}/recordings")).json()
    assert listed == {"items": []}
    page = await (await client.get(f"/api/mentorships/{room.mentorship_id}/messages")).json()
    (message,) = page["items"]
    assert message["removed_reason"] == "retention" and message["media"] is None
    assert (await mentee.client.get(f"/api/media/{path.stem}")).status == 410


def _write_webm(path: Path, seconds: int) -> None:
    """A small VP8 and Opus WebM, as the recorder writes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="webm") as out:
        video = out.add_stream("libvpx", rate=10)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        audio = out.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        for i in range(seconds * 10):
            frame = av.VideoFrame(width=160, height=120, format="yuv420p")
            frame.pts = i
            out.mux(video.encode(frame))
        samples = 960
        for i in range(seconds * 48000 // samples):
            sound = av.AudioFrame(format="s16", layout="mono", samples=samples)
            sound.planes[0].update(bytes(samples * 2))
            sound.sample_rate = 48000
            sound.pts = i * samples
            out.mux(audio.encode(sound))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
