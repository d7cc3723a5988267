"""Wire models of in-app notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from server.core.wire import Strict


class NotificationOut(BaseModel):
    id: str
    kind: str
    title: str
    body: str
    link: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationOut]
    unread_count: int


class NotificationsQuery(Strict):
    unread: bool = False
    limit: int = Field(50, ge=1, le=200)


class ReadIn(Strict):
    ids: list[str] | None = Field(
        None, max_length=500, description="Notifications to mark read; all of them when left out"
    )


class ReadOut(BaseModel):
    marked: int
    unread_count: int
