"""Wire models of threads: messages, media, receipts, unread counts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from server.core.wire import Strict

Ref = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class MessageIn(Strict):
    kind: Literal["text", "audio", "video"]
    body: str = Field(default="", max_length=5000)
    upload_id: Ref | None = None
    reply_to: Ref | None = None
    goal_id: Ref | None = None
    action_item_id: Ref | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MessageIn:
        if self.kind == "text":
            if not self.body.strip():
                raise ValueError("a text message needs a body")
            if self.upload_id is not None:
                raise ValueError("a text message has no upload_id; send kind audio or video")
        elif self.upload_id is None:
            raise ValueError(f"an {self.kind} message needs the upload_id of its recording")
        if self.goal_id is not None and self.action_item_id is not None:
            raise ValueError("link a message to a goal or to an action item, not both")
        self.body = self.body.strip()
        return self


class MessagesQuery(Strict):
    before: str | None = Field(
        default=None, max_length=32, description="Return messages older than this message id."
    )
    limit: int = Field(default=30, ge=1, le=100)


class MediaOut(BaseModel):
    id: str
    kind: Literal["audio", "video"]
    content_type: str
    url: str
    poster_url: str | None
    duration_seconds: float
    width: int | None
    height: int | None
    size: int
    waveform: list[float]


class SeenOut(BaseModel):
    user_id: str
    seen_at: datetime


class MessageOut(BaseModel):
    id: str
    mentorship_id: str
    author_id: str
    kind: Literal["text", "audio", "video"]
    body: str
    media: MediaOut | None
    reply_to: str | None
    goal_id: str | None
    action_item_id: str | None
    created_at: datetime
    removed: bool
    removed_reason: Literal["deleted", "retention"] | None
    tombstone: str | None = Field(description="What a person sees where a removed message was.")
    seen_by: list[SeenOut]


class MessagePage(BaseModel):
    items: list[MessageOut] = Field(description="Newest first.")
    next_before: str | None = Field(description="Pass as ?before= for the next (older) page.")
    unread_count: int


class SeenResult(BaseModel):
    message_id: str
    seen_at: datetime
    unread_count: int


class ThreadUnread(BaseModel):
    mentorship_id: str
    unread_count: int
    last_message_at: datetime | None


class UnreadList(BaseModel):
    items: list[ThreadUnread]
    total: int


# Every media type a recording can be served as (``media._content_type`` names them), for
# the API's description of playback; kept here so describing it does not load PyAV.
SERVED_TYPES = tuple(
    f"{kind}/{subtype}"
    for kind in ("audio", "video")
    for subtype in ("webm", "x-matroska", "ogg", "mp4")
)
