"""Thread use cases: post, list, see, delete, play, count unread.

Every change is published on the bus channel ``thread:<mentorship id>`` after its
transaction commits, so open thread pages in any process see it live.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.core.bus import EventBus, publish_or_log
from server.core.db import Database
from server.core.errors import Conflict, Forbidden, NotFound, Problem, field_error
from server.core.ids import new_id
from server.db.models import (
    ActionItem,
    Goal,
    MediaFile,
    Mentorship,
    Message,
    MessageSeen,
    Upload,
    User,
)
from server.threads import notices
from server.threads.schemas import (
    MediaOut,
    MessageIn,
    MessageOut,
    MessagePage,
    SeenOut,
    SeenResult,
    ThreadUnread,
)
from server.threads.storage import MediaStore, remove

log = logging.getLogger(__name__)

WRITABLE = ("active", "paused")
DELETED_TOMBSTONE = "This message was deleted."
NOT_FOUND = "There is no such thread."


def channel(mentorship_id: str) -> str:
    return f"thread:{mentorship_id}"


# --- access ------------------------------------------------------------------------------


async def _mentorship(s: AsyncSession, mentorship_id: str, user_id: str) -> Mentorship:
    found = await s.get(Mentorship, mentorship_id)
    if found is None or user_id not in (found.mentor_id, found.mentee_id):
        raise NotFound(NOT_FOUND)
    return found


async def thread_of(*, db: Database, mentorship_id: str, user_id: str) -> Mentorship:
    """The mentorship if ``user_id`` takes part in it; 404 for anyone else."""
    async with db.read() as s:
        return await _mentorship(s, mentorship_id, user_id)


async def _message(s: AsyncSession, message_id: str, user_id: str) -> tuple[Message, Mentorship]:
    message = await s.get(Message, message_id)
    if message is None:
        raise NotFound("There is no such message.")
    try:
        mentorship = await _mentorship(s, message.mentorship_id, user_id)
    except NotFound:
        raise NotFound("There is no such message.") from None
    return message, mentorship


# --- wire --------------------------------------------------------------------------------


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


def _unread_query(user_id: str, mentorship_ids: Sequence[str]) -> Any:
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


async def _unread(s: AsyncSession, user_id: str, mentorship_id: str) -> int:
    rows = (await s.execute(_unread_query(user_id, [mentorship_id]))).all()
    return int(rows[0][1]) if rows else 0


# --- use cases ---------------------------------------------------------------------------


async def post_message(
    *,
    db: Database,
    bus: EventBus,
    now: datetime,
    user: User,
    mentorship_id: str,
    data: MessageIn,
    settings: Settings | None = None,
) -> MessageOut:
    async with db.write() as s:
        mentorship = await _mentorship(s, mentorship_id, user.id)
        if mentorship.state not in WRITABLE:
            raise Conflict(
                f"This mentorship is {mentorship.state}; its thread can be read but not written."
            )
        await _check_links(s, mentorship.id, data)
        media_id: str | None = None
        if data.upload_id is not None:
            media_id = await _claim_upload(s, user.id, data.upload_id, data.kind, now)
        message = Message(
            id=new_id(),
            mentorship_id=mentorship.id,
            author_id=user.id,
            kind=data.kind,
            body=data.body,
            media_id=media_id,
            reply_to_id=data.reply_to,
            goal_id=data.goal_id,
            action_item_id=data.action_item_id,
            created_at=now,
            removed_at=None,
            removed_reason=None,
        )
        s.add(message)
        recipient_id = (
            mentorship.mentee_id if user.id == mentorship.mentor_id else mentorship.mentor_id
        )
        await s.flush()
        notice_id, due = await notices.queue(
            s, message_id=message.id, recipient_id=recipient_id, now=now
        )
        (out,) = await wire(s, [message])
    await publish_or_log(
        bus, channel(mentorship.id), {"type": "message", "message": out.model_dump(mode="json")}
    )
    if due <= now and notice_id is not None and settings is not None:
        await notices.deliver_now(db=db, bus=bus, settings=settings, now=now, ids=[notice_id])
    return out


async def post_recorded(
    *,
    db: Database,
    bus: EventBus,
    now: datetime,
    mentorship_id: str,
    author_id: str,
    media: MediaFile,
    body: str,
    with_rows: Sequence[object] = (),
    settings: Settings | None = None,
) -> MessageOut | None:
    """Post a recording Meridian made itself (a live session's) as ``author_id``'s message.

    The media file, the message, the other participant's notice and ``with_rows`` (the
    caller's rows that belong with them) are stored in one transaction, whatever state
    the mentorship is in: the session took place. A media file that is already stored
    was already posted, so posting it again does nothing and returns None.
    """
    try:
        async with db.write() as s:
            mentorship = await _mentorship(s, mentorship_id, author_id)
            if await s.get(MediaFile, media.id) is not None:
                return None
            s.add(media)
            message = Message(
                id=new_id(),
                mentorship_id=mentorship.id,
                author_id=author_id,
                kind=media.kind,
                body=body,
                media_id=media.id,
                reply_to_id=None,
                goal_id=None,
                action_item_id=None,
                created_at=now,
                removed_at=None,
                removed_reason=None,
            )
            s.add(message)
            s.add_all(with_rows)
            recipient_id = (
                mentorship.mentee_id if author_id == mentorship.mentor_id else mentorship.mentor_id
            )
            await s.flush()
            notice_id, due = await notices.queue(
                s, message_id=message.id, recipient_id=recipient_id, now=now
            )
            (out,) = await wire(s, [message])
    except IntegrityError:
        async with db.read() as s:
            if await s.get(MediaFile, media.id) is not None:
                return None  # another request stored it first
        raise
    await publish_or_log(
        bus, channel(mentorship.id), {"type": "message", "message": out.model_dump(mode="json")}
    )
    if due <= now and notice_id is not None and settings is not None:
        await notices.deliver_now(db=db, bus=bus, settings=settings, now=now, ids=[notice_id])
    return out


async def _check_links(s: AsyncSession, mentorship_id: str, data: MessageIn) -> None:
    if data.reply_to is not None:
        target = await s.get(Message, data.reply_to)
        if target is None or target.mentorship_id != mentorship_id:
            raise field_error("reply_to", "there is no such message in this thread")
    if data.goal_id is not None:
        goal = await s.get(Goal, data.goal_id)
        if goal is None or goal.mentorship_id != mentorship_id:
            raise field_error("goal_id", "there is no such goal in this mentorship")
    if data.action_item_id is not None:
        item = await s.get(ActionItem, data.action_item_id)
        if item is None or item.mentorship_id != mentorship_id:
            raise field_error("action_item_id", "there is no such action item in this mentorship")


async def _claim_upload(
    s: AsyncSession, user_id: str, upload_id: str, kind: str, now: datetime
) -> str:
    upload = await s.get(Upload, upload_id)
    if upload is None or upload.user_id != user_id or upload.state == "expired":
        raise field_error("upload_id", "there is no such upload of yours")
    if upload.state == "open":
        raise Conflict("The recording is still uploading; send it once the upload is complete.")
    if upload.state == "sent" or upload.media_id is None:
        raise Conflict("This recording was already sent.")
    record = await s.get(MediaFile, upload.media_id)
    if record is None or record.removed_at is not None:
        raise field_error("upload_id", "the recording of this upload was removed")
    if record.kind != kind:
        raise field_error(
            "kind", f"the upload is a {record.kind} recording; send it with kind {record.kind}"
        )
    claimed = await s.execute(
        update(Upload)
        .where(Upload.id == upload.id, Upload.state == "complete")
        .values(state="sent", updated_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This recording was already sent.")
    return record.id


async def list_messages(
    *, db: Database, user_id: str, mentorship_id: str, before: str | None, limit: int
) -> MessagePage:
    async with db.read() as s:
        await _mentorship(s, mentorship_id, user_id)
        query = select(Message).where(Message.mentorship_id == mentorship_id)
        if before is not None:
            anchor = await s.get(Message, before)
            if anchor is None or anchor.mentorship_id != mentorship_id:
                raise field_error("before", "there is no such message in this thread")
            query = query.where(
                or_(
                    Message.created_at < anchor.created_at,
                    and_(Message.created_at == anchor.created_at, Message.id < anchor.id),
                )
            )
        rows = list(
            await s.scalars(
                query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit + 1)
            )
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = await wire(s, rows)
        unread = await _unread(s, user_id, mentorship_id)
    return MessagePage(
        items=items, next_before=rows[-1].id if more and rows else None, unread_count=unread
    )


async def mark_seen(
    *, db: Database, bus: EventBus, now: datetime, user_id: str, message_id: str
) -> SeenResult:
    fresh = False
    async with db.write() as s:
        message, mentorship = await _message(s, message_id, user_id)
        existing = await s.get(MessageSeen, (message_id, user_id))
        seen_at = existing.seen_at if existing is not None else now
        if existing is None and message.author_id != user_id:
            s.add(MessageSeen(message_id=message_id, user_id=user_id, seen_at=now))
            fresh = True
            # Once read, a notification still waiting for working hours has nothing to say.
            await notices.forget(s, message_id=message_id, user_id=user_id)
        try:
            await s.flush()
        except IntegrityError:
            raise Conflict("This message was just marked seen by another request.") from None
        unread = await _unread(s, user_id, mentorship.id)
    if fresh:
        await publish_or_log(
            bus,
            channel(mentorship.id),
            {
                "type": "seen",
                "message_id": message_id,
                "user_id": user_id,
                "seen_at": seen_at.isoformat().replace("+00:00", "Z"),
            },
        )
    return SeenResult(message_id=message_id, seen_at=seen_at, unread_count=unread)


async def delete_message(
    *, db: Database, bus: EventBus, store: MediaStore, now: datetime, user_id: str, message_id: str
) -> MessageOut:
    async with db.write() as s:
        message, mentorship = await _message(s, message_id, user_id)
        if message.author_id != user_id:
            raise Forbidden("Only its author can delete a message.")
        if message.removed_at is not None:
            (out,) = await wire(s, [message])
            return out
        paths = await remove_media(s, store, message.media_id, now)
        message.removed_at = now
        message.removed_reason = "deleted"
        message.body = ""
        await s.flush()
        (out,) = await wire(s, [message])
    await asyncio.to_thread(remove, *paths)
    await publish_or_log(
        bus, channel(mentorship.id), {"type": "removed", "message": out.model_dump(mode="json")}
    )
    return out


async def remove_media(
    s: AsyncSession, store: MediaStore, media_id: str | None, now: datetime
) -> list[Any]:
    if media_id is None:
        return []
    record = await s.get(MediaFile, media_id)
    if record is None or record.removed_at is not None:
        return []
    record.removed_at = now
    paths = [store.absolute(record.path)]
    if record.poster_path:
        paths.append(store.absolute(record.poster_path))
    return paths


async def playable(*, db: Database, user_id: str, media_id: str) -> MediaFile:
    """The recording, for its uploader or a participant of a thread it was sent in."""
    async with db.read() as s:
        record = await s.get(MediaFile, media_id)
        if record is None:
            raise NotFound("There is no such recording.")
        if record.owner_id != user_id:
            allowed = await s.scalar(
                select(func.count())
                .select_from(Message)
                .join(Mentorship, Mentorship.id == Message.mentorship_id)
                .where(
                    Message.media_id == media_id,
                    or_(Mentorship.mentor_id == user_id, Mentorship.mentee_id == user_id),
                )
            )
            if not allowed:
                raise Forbidden("Only the people in this mentorship can play this recording.")
    if record.removed_at is not None:
        raise Problem(410, "This recording was removed.")
    return record


async def unread_counts(*, db: Database, user_id: str) -> list[ThreadUnread]:
    async with db.read() as s:
        ids = list(
            await s.scalars(
                select(Mentorship.id).where(
                    or_(Mentorship.mentor_id == user_id, Mentorship.mentee_id == user_id)
                )
            )
        )
        if not ids:
            return []
        counts = dict((await s.execute(_unread_query(user_id, ids))).tuples().all())
        last = dict(
            (
                await s.execute(
                    select(Message.mentorship_id, func.max(Message.created_at))
                    .where(Message.mentorship_id.in_(ids))
                    .group_by(Message.mentorship_id)
                )
            )
            .tuples()
            .all()
        )
    return [
        ThreadUnread(
            mentorship_id=i, unread_count=int(counts.get(i, 0)), last_message_at=last.get(i)
        )
        for i in ids
    ]
