"""Live-session use cases: a booking's room for one participant; the app's live resources."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import select

from server.config import Settings
from server.core.db import Database
from server.core.errors import NotFound
from server.core.keys import BUS, DB, METRICS, SETTINGS
from server.live import tokens
from server.live.echo import EchoPeers
from server.live.hub import Hub
from server.live.keys import ECHO, HUB, RECORDINGS
from server.live.models import BookingRecording
from server.live.presence import RedisPresence
from server.live.recording import Recordings
from server.live.rooms import BookingRooms, RoomDirectory
from server.live.schemas import IceServer, RecordingList, RecordingOut, RoomOut
from server.live.turn import ice_servers
from server.threads.models import MediaFile, Message

TOKEN_TTL = timedelta(minutes=5)
DEVICE_CHECK_SECONDS = 120.0


async def room_details(
    *,
    directory: RoomDirectory,
    settings: Settings,
    now: datetime,
    booking_id: str,
    user_id: str,
    ws_base: str,
) -> RoomOut:
    room = await directory.room(booking_id)
    if room is None or user_id not in room.participants:
        raise NotFound("There is no such session among yours.")
    expires = now + TOKEN_TTL
    token = tokens.issue(
        secret_key=settings.secret_key, room_id=room.room_id, user_id=user_id, expires=expires
    )
    servers = ice_servers(
        stun_urls=settings.stun_urls,
        turn_urls=settings.turn_urls,
        turn_secret=settings.turn_secret,
        user_id=user_id,
        expires=now + timedelta(seconds=settings.turn_ttl_seconds),
    )
    return RoomOut(
        room_id=room.room_id,
        booking_id=room.booking_id,
        ws_url=f"{ws_base}/api/rooms/{room.room_id}/ws?token={token}",
        token=token,
        token_expires_at=expires,
        ice_servers=[IceServer.model_validate(s) for s in servers],
        opens_at=room.opens_at,
        closes_at=room.closes_at,
        starts_at=room.starts_at,
        ends_at=room.ends_at,
        is_open=room.is_open(now),
        recording_allowed=room.recording_allowed,
    )


def default_directory(app: web.Application) -> RoomDirectory:
    settings = app[SETTINGS]
    return BookingRooms(
        lambda: app[DB],
        opens_before_minutes=settings.room_opens_before_minutes,
        closes_after_minutes=settings.room_closes_after_minutes,
    )


async def live(app: web.Application) -> AsyncIterator[None]:
    """The hub, the presence store (with Redis), the device-check peers and the rooms."""
    settings = app[SETTINGS]
    presence = RedisPresence(settings.redis_url) if settings.redis_url else None
    metrics = app[METRICS]
    hub = Hub(
        bus=app[BUS] if presence is not None else None,
        presence=presence,
        on_rooms=metrics.rooms.set,
    )
    hub.start()
    app[HUB] = hub
    echo = EchoPeers(limit=settings.device_check_max, max_seconds=DEVICE_CHECK_SECONDS)
    app[ECHO] = echo
    recordings = Recordings(app)
    hub.consent_hooks.append(recordings.consent_changed)
    app[RECORDINGS] = recordings
    # Everything imported and built at startup lives as long as the process: keep it out
    # of the collector's way, or every full collection walks it and stalls relaying for
    # tens of milliseconds.
    gc.collect()
    gc.freeze()
    yield
    await recordings.close()
    await asyncio.gather(echo.close(), hub.close())
    if presence is not None:
        await presence.close()


async def recordings_of(
    *, db: Database, directory: RoomDirectory, booking_id: str, user_id: str
) -> RecordingList:
    room = await directory.room(booking_id)
    if room is None or user_id not in room.participants:
        raise NotFound("There is no such session among yours.")
    async with db.read() as s:
        rows = (
            await s.execute(
                select(BookingRecording, MediaFile, Message.id)
                .join(MediaFile, MediaFile.id == BookingRecording.media_id)
                .outerjoin(Message, Message.media_id == MediaFile.id)
                .where(BookingRecording.booking_id == booking_id, MediaFile.removed_at.is_(None))
                .order_by(BookingRecording.started_at)
            )
        ).all()
    return RecordingList(
        items=[
            RecordingOut(
                id=recording.id,
                media_id=media.id,
                user_id=recording.user_id,
                url=f"/api/media/{media.id}",
                content_type=media.content_type,
                started_at=recording.started_at,
                ended_at=recording.ended_at,
                duration_seconds=media.duration_seconds,
                size=media.size,
                message_id=message_id,
            )
            for recording, media, message_id in rows
        ]
    )
