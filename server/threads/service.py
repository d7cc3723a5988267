"""Thread use cases: post, list, see, delete, play, count unread.

Who may see a thread is ``access.py``; how its rows read on the wire, ``wire.py``.

Every change is published on the bus channel ``thread:<mentorship id>`` after its
transaction commits, so open thread pages in any process see it live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.config import Settings
from server.core.bus import EventBus, publish_or_log
from server.core.db import Database
from server.core.errors import Conflict, Forbidden, NotFound, Problem, field_error
from server.core.ids import new_id
from server.core.wire import utc_text
from server.mentorship.models import ActionItem, Goal, Mentorship
from server.threads import notices
from server.threads.access import mentorship_of, message_of
from server.threads.models import MediaFile, Message, MessageSeen, Upload
from server.threads.schemas import MessageIn, MessageOut, MessagePage, SeenResult, ThreadUnread
from server.threads.storage import MediaStore, remove
from server.threads.wire import unread_in, unread_query, wire

log = logging.getLogger(__name__)

WRITABLE = ("active", "paused")


def channel(mentorship_id: str) -> str:
    return f"thread:{mentorship_id}"


async def thread_of(*, db: Database, mentorship_id: str, user_id: str) -> Mentorship:
    """The mentorship if ``user_id`` takes part in it; 404 for anyone else."""
    async with db.read() as s:
        return await mentorship_of(s, mentorship_id, user_id)


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
        mentorship = await mentorship_of(s, mentorship_id, user.id)
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
        notice = await _notice(s, mentorship, user.id, message.id, now)
        await s.flush()
        (out,) = await wire(s, [message])
    await _announce(db, bus, now, out, notice, settings)
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
            mentorship = await mentorship_of(s, mentorship_id, author_id)
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
            notice = await _notice(s, mentorship, author_id, message.id, now)
            await s.flush()
            (out,) = await wire(s, [message])
    except IntegrityError:
        async with db.read() as s:
            if await s.get(MediaFile, media.id) is not None:
                return None  # another request stored it first
        raise
    await _announce(db, bus, now, out, notice, settings)
    return out


async def _notice(
    s: AsyncSession, mentorship: Mentorship, author_id: str, message_id: str, now: datetime
) -> tuple[str | None, datetime]:
    """Queue the other participant's notice of a new message, due when their quiet hours end."""
    recipient_id = (
        mentorship.mentee_id if author_id == mentorship.mentor_id else mentorship.mentor_id
    )
    await s.flush()
    return await notices.queue(s, message_id=message_id, recipient_id=recipient_id, now=now)


async def _announce(
    db: Database,
    bus: EventBus,
    now: datetime,
    out: MessageOut,
    notice: tuple[str | None, datetime],
    settings: Settings | None,
) -> None:
    """Show the committed message in open threads, and notify now unless it must wait."""
    await publish_or_log(
        bus,
        channel(out.mentorship_id),
        {"type": "message", "message": out.model_dump(mode="json")},
    )
    notice_id, due = notice
    if due <= now and notice_id is not None and settings is not None:
        await notices.deliver_now(db=db, bus=bus, settings=settings, now=now, ids=[notice_id])


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
        await mentorship_of(s, mentorship_id, user_id)
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
        unread = await unread_in(s, user_id, mentorship_id)
    return MessagePage(
        items=items, next_before=rows[-1].id if more and rows else None, unread_count=unread
    )


async def mark_seen(
    *, db: Database, bus: EventBus, now: datetime, user_id: str, message_id: str
) -> SeenResult:
    fresh = False
    async with db.write() as s:
        message, mentorship = await message_of(s, message_id, user_id)
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
        unread = await unread_in(s, user_id, mentorship.id)
    if fresh:
        await publish_or_log(
            bus,
            channel(mentorship.id),
            {
                "type": "seen",
                "message_id": message_id,
                "user_id": user_id,
                "seen_at": utc_text(seen_at),
            },
        )
    return SeenResult(message_id=message_id, seen_at=seen_at, unread_count=unread)


async def delete_message(
    *, db: Database, bus: EventBus, store: MediaStore, now: datetime, user_id: str, message_id: str
) -> MessageOut:
    async with db.write() as s:
        message, mentorship = await message_of(s, message_id, user_id)
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
        counts = dict((await s.execute(unread_query(user_id, ids))).tuples().all())
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
