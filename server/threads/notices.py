"""New-message notices: queued in the outbox for the recipient's next working hours.

A notice is queued with its message; when it is due at once, the posting request
delivers it right after the commit, else the outbox's job does when the recipient's
working hours begin. Reading the message first drops the notice still waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.config import Settings
from server.core.bus import EventBus
from server.core.db import Database
from server.notifications import email, outbox
from server.notifications.models import OutboxItem
from server.threads.models import Message

KIND = "thread.message"


async def queue(
    s: AsyncSession, *, message_id: str, recipient_id: str, now: datetime
) -> tuple[str | None, datetime]:
    """Queue the recipient's notice of a new message; its id and when it is due."""
    due = await outbox.working_hours_due(s, recipient_id, now)
    item_id = await outbox.enqueue(
        session=s,
        user_id=recipient_id,
        kind=KIND,
        key=f"{KIND}:{message_id}:{recipient_id}",
        subject=message_id,
        due_at=due,
        payload={"message_id": message_id},
    )
    return item_id, due


async def forget(s: AsyncSession, *, message_id: str, user_id: str) -> None:
    """Once read, a notice still waiting for working hours has nothing to say."""
    await outbox.cancel(session=s, subjects=[message_id], kinds=[KIND], user_id=user_id)


async def deliver_now(
    *, db: Database, bus: EventBus, settings: Settings, now: datetime, ids: Sequence[str]
) -> int:
    """Deliver these notices, due now, without waiting for the outbox's next pass."""
    return await outbox.deliver_due(
        db=db, bus=bus, settings=settings, now=now, kinds=[NOTICE], only=ids
    )


async def render(
    s: AsyncSession, item: OutboxItem, context: outbox.Context
) -> outbox.Delivery | None:
    """The notice in-app and by email, unless the message was removed meanwhile."""
    row = (
        await s.execute(
            select(Message, User)
            .join(User, User.id == Message.author_id)
            .where(Message.id == str(item.payload.get("message_id")))
        )
    ).first()
    recipient = await s.get(User, item.user_id)
    if row is None or recipient is None:
        return None
    message, author = row
    if message.removed_at is not None:
        return None
    title = _title(author.name, message.kind)
    body = _preview(message)
    link = f"/mentorships/{message.mentorship_id}/thread"
    text = (body + "\n\n") if body else ""
    text += f"Open the thread: {context.settings.public_url}{link}\n"
    return outbox.Delivery(
        notice=outbox.Notice(
            kind=KIND,
            title=title,
            body=body,
            link=link,
            data={"mentorship_id": message.mentorship_id, "message_id": message.id},
        ),
        email=email.new_message(context.settings, to=recipient.email, subject=title, text=text),
        what="a message notice",
    )


def _title(name: str, kind: str) -> str:
    what = {"text": "a message", "audio": "a voice message", "video": "a video message"}[kind]
    return f"{name} sent you {what}"


def _preview(message: Message) -> str:
    if message.kind == "text":
        body = " ".join(message.body.split())
        return body if len(body) <= 140 else body[:139] + "…"
    return ""


NOTICE = outbox.Kind(KIND, render)
