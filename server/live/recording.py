"""When to record a room, and what happens to the file afterwards.

Recording runs only while the room's agreement allows it and every participant has
consented; the moment either withdraws, leaves or drops, it stops. The process that
handled the consent completing the set starts the recorder; any process that sees the
set broken stops its own. The finished WebM is checked like any uploaded recording,
stored as a media file and listed on the booking.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from server import keys
from server.core.ids import new_id
from server.db.models import Booking, BookingRecording, MediaFile
from server.live.hub import Hub
from server.live.protocol import PeerInfo
from server.live.rooms import RoomInfo
from server.live.turn import ice_servers

if TYPE_CHECKING:
    from server.live.recorder import RoomRecorder, Take

log = logging.getLogger(__name__)


def everyone_consents(room: RoomInfo, roster: dict[str, PeerInfo]) -> bool:
    people = [p for p in roster.values() if not p.recorder]
    return (
        room.recording_allowed
        and bool(people)
        and {p.user_id for p in people} >= room.participants
        and all(p.consent for p in people)
    )


class Recordings:
    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.active: dict[str, RoomRecorder] = {}
        self._starting: dict[str, asyncio.Task[Any]] = {}
        self._work: set[asyncio.Task[None]] = set()

    async def consent_changed(
        self, hub: Hub, room: RoomInfo, roster: dict[str, PeerInfo], local: bool
    ) -> None:
        agreed = everyone_consents(room, roster)
        if agreed and local and room.room_id not in self.active:
            self._spawn(self._start(hub, room))
        elif not agreed and room.room_id in self.active:
            self._spawn(self._stop(self.active.pop(room.room_id)))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _start(self, hub: Hub, room: RoomInfo) -> None:
        from server.live.recorder import RoomRecorder  # aiortc loads with the first recording

        settings = self._app[keys.SETTINGS]
        store = self._app[keys.MEDIA_STORE]
        recorder = RoomRecorder(
            hub=hub,
            room=room,
            path_for=lambda: store.media(new_id(), "webm"),
            ice_servers=ice_servers(
                stun_urls=settings.stun_urls,
                turn_urls=settings.turn_urls,
                turn_secret=settings.turn_secret,
                user_id="meridian-recorder",
                expires=self._app[keys.CLOCK].now() + timedelta(seconds=settings.turn_ttl_seconds),
            ),
        )
        self.active[room.room_id] = recorder
        starting = asyncio.current_task()
        assert starting is not None
        self._starting[room.room_id] = starting
        try:
            await recorder.join()
        finally:
            self._starting.pop(room.room_id, None)

    async def _stop(self, recorder: RoomRecorder) -> None:
        starting = self._starting.get(recorder.room.room_id)
        if starting is not None:
            with contextlib.suppress(Exception):
                await starting
        for take in await recorder.stop():
            try:
                await self._save(recorder, take)
            except Exception:
                log.exception("a recording of room %s could not be stored", recorder.room.room_id)

    async def _save(self, recorder: RoomRecorder, take: Take) -> None:
        from server.threads.media import Refused, inspect

        try:
            info = await asyncio.to_thread(inspect, take.path)
        except Refused as exc:
            log.warning("discarded a recording of room %s: %s", recorder.room.room_id, exc)
            take.path.unlink(missing_ok=True)
            return
        store = self._app[keys.MEDIA_STORE]
        size = take.path.stat().st_size
        media_id = take.path.stem
        now = self._app[keys.CLOCK].now()
        started = datetime.fromtimestamp(recorder.started or 0, UTC)
        ended = datetime.fromtimestamp(recorder.stopped or 0, UTC)
        async with self._app[keys.DB].write() as s:
            booking = await s.get(Booking, recorder.room.booking_id)
            if booking is None:
                take.path.unlink(missing_ok=True)
                return
            owner = take.user_id if take.user_id in recorder.room.participants else None
            s.add(
                MediaFile(
                    id=media_id,
                    owner_id=owner or booking.mentor_id,
                    kind="video",
                    content_type=info.content_type,
                    path=store.relative(take.path),
                    size=size,
                    duration_seconds=info.duration_seconds,
                    width=info.width,
                    height=info.height,
                    poster_path=None,
                    waveform=[],
                    created_at=now,
                    removed_at=None,
                )
            )
            s.add(
                BookingRecording(
                    id=new_id(),
                    booking_id=booking.id,
                    media_id=media_id,
                    user_id=owner or booking.mentor_id,
                    started_at=started,
                    ended_at=ended,
                )
            )

    async def close(self) -> None:
        """On shutdown: stop every recording and keep what was recorded."""
        for room_id in list(self.active):
            self._spawn(self._stop(self.active.pop(room_id)))
        for task in list(self._work):
            with contextlib.suppress(Exception):
                await task
