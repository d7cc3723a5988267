"""Wire models of calendars: feeds and imported busy calendars."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from server.core.wire import Strict


class FeedCreated(BaseModel):
    id: str
    url: str = Field(description="The https:// address; shown once, only its hash is stored.")
    webcal_url: str = Field(description="The same feed as webcal://, for one-click subscribing.")
    created_at: datetime
    rotated_at: datetime | None


class FeedOut(BaseModel):
    id: str
    created_at: datetime
    rotated_at: datetime | None


class FeedList(BaseModel):
    items: list[FeedOut]


class BusyUrlIn(Strict):
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None


class BusyCalendarOut(BaseModel):
    id: str
    name: str
    source: Literal["url", "upload"]
    url: str | None
    status: Literal["pending", "ok", "error"]
    error: str
    event_count: int = Field(description="Busy intervals of the last good copy in the next year.")
    created_at: datetime
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None


class BusyCalendarList(BaseModel):
    items: list[BusyCalendarOut]
