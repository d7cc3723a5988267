"""A thread's rows as wire models: messages with their media and read receipts, and
the unread counts, in as few queries as a page of messages allows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.threads.models import MediaFile, Message, MessageSeen
from server.threads.schemas import MediaOut, MessageOut, SeenOut

DELETED_TOMBSTONE = "This message was deleted."


def media_out(record: MediaFile) -> MediaOut:
    return MediaOut(
        id=record.id,
        kind=record.kind,
        content_type=record.content_type,
        url=f"/api/media/{record.id}",
        poster_url=f"/api/media/{record.id}/poster.jpg" if record.poster_path else None,
        duration_seconds=record.duration_seconds,
        width=record.width,
        height=record.height,
        size=record.size,
        waveform=list(record.waveform or []),
    )


async def wire(s: AsyncSession, messages: Sequence[Message]) -> list[MessageOut]:
    ids = [m.id for m in messages]
    media_ids = [m.media_id for m in messages if m.media_id and m.removed_at is None]
    media: dict[str, MediaFile] = {}
    if media_ids:
        rows = await s.scalars(select(MediaFile).where(MediaFile.id.in_(media_ids)))
        media = {r.id: r for r in rows}
    seen: dict[str, list[SeenOut]] = defaultdict(list)
    if ids:
        receipts = await s.scalars(
            select(MessageSeen).where(MessageSeen.message_id.in_(ids)).order_by(MessageSeen.seen_at)
        )
        for r in receipts:
            seen[r.message_id].append(SeenOut(user_id=r.user_id, seen_at=r.seen_at))
    out = []
    for m in messages:
        record = media.get(m.media_id) if m.media_id else None
        removed = m.removed_at is not None
        out.append(
            MessageOut(
                id=m.id,
                mentorship_id=m.mentorship_id,
                author_id=m.author_id,
                kind=m.kind,
                body="" if removed else m.body,
                media=media_out(record)
                if record is not None and record.removed_at is None
                else None,
                reply_to=m.reply_to_id,
                goal_id=m.goal_id,
                action_item_id=m.action_item_id,
                created_at=m.created_at,
                removed=removed,
                removed_reason=m.removed_reason,
                tombstone=(m.body or DELETED_TOMBSTONE) if removed else None,
                seen_by=seen.get(m.id, []),
            )
        )
    return out


def unread_query(user_id: str, mentorship_ids: Sequence[str]) -> Any:
    seen = select(MessageSeen.message_id).where(
        MessageSeen.message_id == Message.id, MessageSeen.user_id == user_id
    )
    return (
        select(Message.mentorship_id, func.count())
        .where(
            Message.mentorship_id.in_(list(mentorship_ids)),
            Message.author_id != user_id,
            Message.removed_at.is_(None),
            ~seen.exists(),
        )
        .group_by(Message.mentorship_id)
    )


async def unread_in(s: AsyncSession, user_id: str, mentorship_id: str) -> int:
    rows = (await s.execute(unread_query(user_id, [mentorship_id]))).all()
    return int(rows[0][1]) if rows else 0
