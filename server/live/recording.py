"""When to record a room, and what happens to the file afterwards.

Recording runs only while the room's agreement allows it and every participant has
consented; the moment either withdraws, leaves or drops, it stops. The process that
handled the consent completing the set starts the recorder; any process that sees the
set broken stops its own. Each participant's finished WebM is checked like any
uploaded recording (duration, poster), posted to the mentorship's thread as that
participant's video message (announced on ``thread:<mentorship id>``) and listed on
the booking; one that cannot be read is deleted. Being a thread message, it follows
the agreement's retention like any other recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from server.accounts.models import User
from server.core.ids import new_id
from server.core.keys import BUS, CLOCK, DB, SETTINGS
from server.live.hub import Hub
from server.live.models import BookingRecording
from server.live.protocol import PeerInfo
from server.live.rooms import RoomInfo
from server.live.turn import ice_servers
from server.scheduling.models import Booking
from server.threads.keys import MEDIA_STORE
from server.threads.models import MediaFile
from server.threads.storage import remove

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


def session_date(starts_at: datetime, person: User) -> str:
    """The day a session took place, in ``person``'s time zone ("25 November 2026")."""
    try:
        zone: tzinfo = ZoneInfo(person.timezone)
    except (ValueError, ZoneInfoNotFoundError):
        zone = UTC
    day = starts_at.replace(tzinfo=starts_at.tzinfo or UTC).astimezone(zone)
    return f"{day.day} {day:%B %Y}"


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

    async def idle(self) -> None:
        """Wait until every start, stop and posting of a file under way has finished."""
        while self._work:
            await asyncio.gather(*self._work, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _start(self, hub: Hub, room: RoomInfo) -> None:
        from server.live.recorder import RoomRecorder  # aiortc loads with the first recording

        settings = self._app[SETTINGS]
        store = self._app[MEDIA_STORE]
        recorder = RoomRecorder(
            hub=hub,
            room=room,
            path_for=lambda: store.media(new_id(), "webm"),
            ice_servers=ice_servers(
                stun_urls=settings.stun_urls,
                turn_urls=settings.turn_urls,
                turn_secret=settings.turn_secret,
                user_id="meridian-recorder",
                expires=self._app[CLOCK].now() + timedelta(seconds=settings.turn_ttl_seconds),
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
                await self.post(recorder, take)
            except Exception:
                log.exception("a recording of room %s could not be stored", recorder.room.room_id)

    async def post(self, recorder: RoomRecorder, take: Take) -> None:
        """Probe the file and post it to the mentorship's thread; drop it if it is unplayable."""
        from server.threads import media
        from server.threads.service import post_recorded

        room = recorder.room
        store = self._app[MEDIA_STORE]
        media_id = take.path.stem
        poster = store.poster(media_id)
        try:
            info = await asyncio.to_thread(media.inspect, take.path)
            has_poster = await asyncio.to_thread(media.poster_jpeg, take.path, poster)
            size = take.path.stat().st_size
        except Exception as exc:
            log.warning("discarded a recording of room %s: %s", room.room_id, exc)
            await asyncio.to_thread(remove, take.path, poster)
            return
        now = self._app[CLOCK].now()
        started = datetime.fromtimestamp(recorder.started or 0, UTC)
        ended = datetime.fromtimestamp(recorder.stopped or 0, UTC)
        async with self._app[DB].read() as s:
            booking = await s.get(Booking, room.booking_id)
            author = await s.get(User, take.user_id) if take.user_id in room.participants else None
        if booking is None or author is None:
            log.warning(
                "discarded a recording of room %s: its booking or participant is gone",
                room.room_id,
            )
            await asyncio.to_thread(remove, take.path, poster)
            return
        record = MediaFile(
            id=media_id,
            owner_id=author.id,
            kind=info.kind,
            content_type=info.content_type,
            path=store.relative(take.path),
            size=size,
            duration_seconds=info.duration_seconds,
            width=info.width,
            height=info.height,
            poster_path=store.relative(poster) if has_poster else None,
            waveform=[],
            created_at=now,
            removed_at=None,
        )
        listed = BookingRecording(
            id=new_id(),
            booking_id=booking.id,
            media_id=media_id,
            user_id=author.id,
            started_at=started,
            ended_at=ended,
        )
        try:
            await post_recorded(
                db=self._app[DB],
                bus=self._app[BUS],
                now=now,
                mentorship_id=booking.mentorship_id,
                author_id=author.id,
                media=record,
                body=f"Recording of the session on {session_date(booking.start_at, author)}.",
                with_rows=[listed],
                settings=self._app[SETTINGS],
            )
        except Exception:
            await asyncio.to_thread(remove, take.path, poster)
            raise

    async def close(self) -> None:
        """On shutdown: stop every recording and keep what was recorded."""
        for room_id in list(self.active):
            self._spawn(self._stop(self.active.pop(room_id)))
        for task in list(self._work):
            with contextlib.suppress(Exception):
                await task
