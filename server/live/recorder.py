"""The recording peer: an aiortc peer that joins a room and writes what it receives to WebM.

It is a member of the room like any other, behind the hub's ``Connection`` interface:
the participants' pages negotiate with it through the same signalling (it only ever
answers, so it never collides with their offers) and send it their camera and
microphone. Each participant is written to a WebM file of their own (one video and one
audio stream) by aiortc's ``MediaRecorder``; tracks are rebased to the moment recording
began, so every stream starts near zero and lasts as long as the recording did.

(One file per participant, not one for the room: a WebM encoder's picture size is fixed
when its file header is written, which happens with the first packet, so every video
stream of a file must have seen its first frame by then. With one video per file, the
video's first frame is simply read before recording starts.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRecorder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from server.live.echo import rtc_configuration
from server.live.hub import Hub
from server.live.members import Member, Person
from server.live.protocol import Join, Media, Signal
from server.live.rooms import RoomInfo

log = logging.getLogger(__name__)

RECORDER_USER = "meridian-recorder"
WAIT_FOR_MEDIA_SECONDS = 20.0
DRAIN_SECONDS = 5.0


class RebasedTrack(MediaStreamTrack):
    """A received track whose timestamps count from the start of the recording."""

    def __init__(self, source: Any) -> None:
        super().__init__()
        self.kind = source.kind
        self._source = source
        self.started = time.monotonic()
        self.stop_at: float | None = None  # monotonic time at which the take ends
        self.ended = asyncio.Event()
        self.frames = 0  # frames handed to the file so far
        self._offset: int | None = None
        self._first: Any = None

    async def prime(self) -> None:
        """Read the first frame now, so the recorder learns the picture size at once."""
        self._first = await self._source.recv()

    async def recv(self) -> Any:
        try:
            if self._first is not None:
                frame, self._first = self._first, None
            else:
                frame = await self._source.recv()
        except MediaStreamError:
            self.ended.set()
            raise
        if self._offset is None:
            elapsed = time.monotonic() - self.started
            self._offset = frame.pts - int(elapsed / frame.time_base)
        frame.pts -= self._offset
        if self.stop_at is not None and frame.pts * frame.time_base >= self.stop_at - self.started:
            # Frames captured before the stop are all written, even if encoding lags.
            self.ended.set()
            raise MediaStreamError
        self.frames += 1
        return frame


@dataclass
class Take:
    """One participant's file."""

    peer_id: str
    user_id: str
    path: Path
    tracks: list[Any] = field(default_factory=list)
    rebased: list[RebasedTrack] = field(default_factory=list)
    recorder: MediaRecorder | None = None


class _Inbox:
    """The recorder's end of the hub: what the room says to it goes into a queue."""

    def __init__(self, queue: asyncio.Queue[str]) -> None:
        self._queue = queue

    async def send(self, text: str) -> None:
        self._queue.put_nowait(text)

    async def close(self, code: int, reason: str) -> None:
        self._queue.put_nowait("")


class RoomRecorder:
    def __init__(
        self,
        *,
        hub: Hub,
        room: RoomInfo,
        path_for: Callable[[], Path],
        ice_servers: list[dict[str, Any]],
    ) -> None:
        self.hub = hub
        self.room = room
        self._path_for = path_for
        self._ice = ice_servers
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._member: Member | None = None
        self._pcs: dict[str, RTCPeerConnection] = {}
        self.takes: dict[str, Take] = {}
        self._track_arrived = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.started: float | None = None  # time.time() when recording began
        self.stopped: float | None = None
        self._stopping: asyncio.Future[list[Take]] | None = None

    @property
    def recording(self) -> bool:
        return self.started is not None and self.stopped is None

    async def join(self) -> None:
        person = Person(RECORDER_USER, "Recording", "UTC", recorder=True)
        self._member = await self.hub.join(
            self.room, person, _Inbox(self._queue), Join(media=Media(False, False, False))
        )
        self._tasks.append(asyncio.create_task(self._listen()))
        self._tasks.append(asyncio.create_task(self._start_when_ready()))

    async def _listen(self) -> None:
        while text := await self._queue.get():
            message = json.loads(text)
            if message.get("type") != "signal":
                continue
            try:
                await self._signal(message["from"], message["data"])
            except Exception:
                log.warning(
                    "recorder could not use a signal from %s", message["from"], exc_info=True
                )

    def _peer(self, peer_id: str) -> RTCPeerConnection:
        pc = self._pcs.get(peer_id)
        if pc is None:
            pc = RTCPeerConnection(rtc_configuration(self._ice))
            self._pcs[peer_id] = pc
            info = self.hub.roster(self.room.room_id).get(peer_id)
            take = Take(peer_id, info.user_id if info else "", self._path_for())
            self.takes[peer_id] = take

            @pc.on("track")
            def on_track(track: Any) -> None:
                take.tracks.append(track)
                self._track_arrived.set()

        return pc

    async def _signal(self, peer_id: str, data: dict[str, Any]) -> None:
        pc = self._peer(peer_id)
        description = data.get("description")
        candidate = data.get("candidate")
        if isinstance(description, dict):
            await pc.setRemoteDescription(
                RTCSessionDescription(sdp=description["sdp"], type=description["type"])
            )
            if description["type"] == "offer":
                await pc.setLocalDescription(await pc.createAnswer())
                answer = {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}
                if self._member is not None:
                    await self.hub.handle(self._member, Signal(peer_id, {"description": answer}))
        elif isinstance(candidate, dict) and candidate.get("candidate"):
            found = candidate_from_sdp(str(candidate["candidate"]).removeprefix("candidate:"))
            found.sdpMid = candidate.get("sdpMid")
            found.sdpMLineIndex = candidate.get("sdpMLineIndex")
            await pc.addIceCandidate(found)

    def _complete(self) -> bool:
        people = {p.user_id for p in self.hub.roster(self.room.room_id).values() if not p.recorder}
        with_media = [t for t in self.takes.values() if len(t.tracks) >= 2]
        return len(with_media) >= len(people)

    async def _start_when_ready(self) -> None:
        """Record once every participant's media arrived and flows (or what came in time)."""
        deadline = time.monotonic() + WAIT_FOR_MEDIA_SECONDS
        while not self._complete() and time.monotonic() < deadline:
            self._track_arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._track_arrived.wait(), deadline - time.monotonic())
        takes = [t for t in self.takes.values() if t.tracks]
        if not takes:
            log.warning("no media reached the recorder of room %s", self.room.room_id)
            return
        # Media flows once each connection is up; only then does the recording (and the
        # indicator the participants see) begin.
        while any(self._pcs[t.peer_id].connectionState != "connected" for t in takes):
            if time.monotonic() > deadline:
                log.warning("the recorder of room %s could not connect", self.room.room_id)
                return
            await asyncio.sleep(0.05)
        # Each picture's first decodable frame (after a key frame) is read first, and the
        # recording's clock starts after that, so no file begins with a gap.
        rebased = {t.peer_id: [RebasedTrack(track) for track in t.tracks] for t in takes}
        for tracks in rebased.values():
            for track in tracks:
                if track.kind == "video":
                    await asyncio.wait_for(track.prime(), WAIT_FOR_MEDIA_SECONDS)
        began = time.monotonic()
        for take in takes:
            take.path.parent.mkdir(parents=True, exist_ok=True)
            recorder = MediaRecorder(str(take.path), format="webm")
            for track in sorted(rebased[take.peer_id], key=lambda t: t.kind != "video"):
                track.started = began
                recorder.addTrack(track)  # the picture first: it fixes the frame size
                take.rebased.append(track)
            take.recorder = recorder
        for take in takes:
            assert take.recorder is not None
            await take.recorder.start()
        self.started = time.time()
        await self.hub.set_recording(self.room.room_id, True)

    async def stop(self) -> list[Take]:
        """Stop at once; the takes whose files were written, to the first caller only.

        Stopping again (or while a stop is under way) waits for it and returns nothing,
        so each file is handed over exactly once.
        """
        if self._stopping is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._stopping)
            return []
        self._stopping = asyncio.ensure_future(self._stop())
        return await asyncio.shield(self._stopping)

    async def _stop(self) -> list[Take]:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, MediaStreamError, TimeoutError):
                await task
        written = []
        if self.started is not None:
            self.stopped = time.time()
            stop_at = time.monotonic()
            tracks = [t for take in self.takes.values() for t in take.rebased]
            for track in tracks:
                track.stop_at = stop_at
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(t.ended.wait() for t in tracks)), DRAIN_SECONDS
                )
            for take in self.takes.values():
                if take.recorder is None:
                    continue
                try:
                    await take.recorder.stop()
                    written.append(take)
                except Exception:
                    log.exception("a recording of room %s did not close", self.room.room_id)
        await asyncio.gather(*(pc.close() for pc in self._pcs.values()), return_exceptions=True)
        self._pcs.clear()
        if self._member is not None:
            await self.hub.disconnect(self._member, graceful=True)
            self._member = None
        await self.hub.set_recording(self.room.room_id, False)
        return written
