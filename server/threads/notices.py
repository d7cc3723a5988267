"""New-message notices: due at the recipient's next working hours, delivered once.

A notice is stored with its message; whichever process finds it due claims it with a
conditional UPDATE in the same transaction that stores the in-app notification, so it
is delivered exactly once however many processes look. The email (when SMTP is set up)
follows the commit, so a crash between the two can cost an email, never double it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.core.bus import EventBus
from server.core.db import Database
from server.db.models import Message, MessageNotice, Profile, User
from server.notifications import email
from server.notifications import service as notifications
from server.threads import quiet

log = logging.getLogger(__name__)


async def delivery_time(s: AsyncSession, user_id: str, now: datetime) -> datetime:
    row = (
        await s.execute(
            select(User.timezone, Profile.working_hours)
            .outerjoin(Profile, Profile.user_id == User.id)
            .where(User.id == user_id)
        )
    ).first()
    if row is None:
        return now
    zone, hours = row
    return quiet.next_delivery(now, zone, quiet.weekly_hours(hours or []))


async def deliver_due(
    *,
    db: Database,
    bus: EventBus,
    now: datetime,
    only: Sequence[str] | None = None,
    settings: Settings | None = None,
) -> int:
    """Turn each due notice into an in-app notification (and an email), once."""
    async with db.read() as s:
        query = select(MessageNotice.id).where(
            MessageNotice.delivered_at.is_(None), MessageNotice.due_at <= now
        )
        if only is not None:
            query = query.where(MessageNotice.id.in_(list(only)))
        due = list(await s.scalars(query.order_by(MessageNotice.due_at).limit(200)))
    delivered = 0
    for notice_id in due:
        note = None
        mail: _Mail | None = None
        async with db.write() as s:
            claimed = await s.execute(
                update(MessageNotice)
                .where(MessageNotice.id == notice_id, MessageNotice.delivered_at.is_(None))
                .values(delivered_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            row = (
                await s.execute(
                    select(MessageNotice, Message, User)
                    .join(Message, Message.id == MessageNotice.message_id)
                    .join(User, User.id == Message.author_id)
                    .where(MessageNotice.id == notice_id)
                )
            ).first()
            if row is None:
                continue
            notice, message, author = row
            recipient = await s.get(User, notice.user_id)
            if message.removed_at is None and recipient is not None:
                mail = _Mail(
                    to=recipient.email,
                    subject=_title(author.name, message.kind),
                    body=_preview(message),
                    link=f"/mentorships/{message.mentorship_id}/thread",
                )
                note = notifications.stage(
                    s,
                    now=now,
                    user_id=notice.user_id,
                    kind="thread.message",
                    title=_title(author.name, message.kind),
                    body=_preview(message),
                    link=f"/mentorships/{message.mentorship_id}/thread",
                    data={"mentorship_id": message.mentorship_id, "message_id": message.id},
                )
        if note is not None:
            delivered += 1
            await notifications.announce(bus, [note])
            if mail is not None and settings is not None and settings.smtp_host:
                await _send_email(settings, mail)
    return delivered


@dataclass(frozen=True, slots=True)
class _Mail:
    to: str
    subject: str
    body: str
    link: str


async def _send_email(settings: Settings, mail: _Mail) -> bool:
    text = (mail.body + "\n\n") if mail.body else ""
    text += f"Open the thread: {settings.public_url}{mail.link}\n"
    message = email.new_message(settings, to=mail.to, subject=mail.subject, text=text)
    return await email.send(settings, message, what="a message notice")


def _title(name: str, kind: str) -> str:
    what = {"text": "a message", "audio": "a voice message", "video": "a video message"}[kind]
    return f"{name} sent you {what}"


def _preview(message: Message) -> str:
    if message.kind == "text":
        body = " ".join(message.body.split())
        return body if len(body) <= 140 else body[:139] + "…"
    return ""
