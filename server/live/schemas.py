"""Wire models of live sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IceServer(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class RoomOut(BaseModel):
    room_id: str
    booking_id: str
    ws_url: str = Field(description="The signalling WebSocket, token included.")
    token: str = Field(description="Room-scoped, short-lived; needed to open ws_url.")
    token_expires_at: datetime
    ice_servers: list[IceServer]
    opens_at: datetime
    closes_at: datetime
    starts_at: datetime
    ends_at: datetime
    is_open: bool
    recording_allowed: bool


class SocketQuery(BaseModel):
    token: str = Field(description="The token from GET /api/bookings/{id}/room.")


class DeviceCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sdp: str = Field(min_length=10, max_length=200_000)
    type: Literal["offer"]


class DeviceCheckOut(BaseModel):
    id: str
    sdp: str
    type: str


class RecordingOut(BaseModel):
    id: str
    media_id: str
    user_id: str = Field(description="Whose camera and microphone this file holds.")
    url: str = Field(description="Where the WebM file plays (GET /api/media/{id}).")
    content_type: str
    started_at: datetime
    ended_at: datetime
    duration_seconds: float
    size: int
    message_id: str | None = Field(
        description="The video message that posted it to the mentorship's thread."
    )


class RecordingList(BaseModel):
    items: list[RecordingOut]
