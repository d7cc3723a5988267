"""In-app notifications: stored with the change that caused them, then announced live.

A feature calls ``stage(...)`` inside its own write transaction, so a notification
exists exactly when the change it reports was committed, and ``announce(...)`` after
the commit to push it to the person's open pages on the bus channel ``user:<id>``.
``notify(...)`` does both for callers without a transaction of their own. Delivery
policy (such as holding a notice until the recipient's working hours) belongs in
``announce``, the one place a stored notification leaves for a person.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.bus import EventBus, publish_or_log
from server.core.db import Database
from server.core.ids import new_id
from server.notifications.models import Notification
from server.notifications.schemas import NotificationOut


def channel(user_id: str) -> str:
    return f"user:{user_id}"


def stage(
    s: AsyncSession,
    *,
    now: datetime,
    user_id: str,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    data: dict[str, Any] | None = None,
) -> Notification:
    note = Notification(
        id=new_id(),
        user_id=user_id,
        kind=kind,
        title=title[:200],
        body=body,
        link=link[:300],
        data=data or {},
        created_at=now,
        read_at=None,
    )
    s.add(note)
    return note


def wire(note: Notification) -> NotificationOut:
    return NotificationOut.model_validate(note, from_attributes=True)


async def announce(bus: EventBus, notes: Iterable[Notification]) -> None:
    for note in notes:
        await publish_or_log(
            bus,
            channel(note.user_id),
            {"type": "notification", "notification": wire(note).model_dump(mode="json")},
        )


async def notify(
    *,
    db: Database,
    bus: EventBus,
    now: datetime,
    user_id: str,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    data: dict[str, Any] | None = None,
) -> Notification:
    async with db.write() as s:
        note = stage(
            s, now=now, user_id=user_id, kind=kind, title=title, body=body, link=link, data=data
        )
    await announce(bus, [note])
    return note


async def unread_count(s: AsyncSession, user_id: str) -> int:
    count = await s.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def list_for(
    *, db: Database, user_id: str, unread_only: bool, limit: int
) -> tuple[list[Notification], int]:
    async with db.read() as s:
        query = select(Notification).where(Notification.user_id == user_id)
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        rows = await s.scalars(
            query.order_by(Notification.created_at.desc(), Notification.id).limit(limit)
        )
        return list(rows), await unread_count(s, user_id)


async def mark_read(
    *, db: Database, bus: EventBus, now: datetime, user_id: str, ids: Sequence[str] | None
) -> tuple[int, int]:
    """Mark some (or all) of the person's unread notifications read; others' are untouched."""
    async with db.write() as s:
        query = (
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=now)
        )
        if ids is not None:
            query = query.where(Notification.id.in_(list(ids)))
        result = await s.execute(query)
        marked = int(result.rowcount or 0)  # type: ignore[attr-defined]
        left = await unread_count(s, user_id)
    if marked:
        event = {"type": "notifications-read", "unread_count": left}
        await publish_or_log(bus, channel(user_id), event)
    return marked, left
