"""Retention: recordings older than the agreement's days are removed; the message says so."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update

from server.core.bus import EventBus, publish_or_log
from server.core.db import Database
from server.mentorship.models import AgreementVersion, Mentorship
from server.threads.models import Message
from server.threads.service import channel, remove_media
from server.threads.storage import MediaStore, remove
from server.threads.wire import wire

log = logging.getLogger(__name__)


async def apply(*, db: Database, bus: EventBus, store: MediaStore, now: datetime) -> int:
    """Remove recordings older than their agreement's retention; the message says so."""
    async with db.read() as s:
        rows = (
            await s.execute(
                select(Message.id, Message.created_at, AgreementVersion.media_retention_days)
                .join(Mentorship, Mentorship.id == Message.mentorship_id)
                .join(
                    AgreementVersion,
                    and_(
                        AgreementVersion.mentorship_id == Mentorship.id,
                        AgreementVersion.version == Mentorship.agreed_version,
                    ),
                )
                .where(
                    Message.media_id.is_not(None),
                    Message.removed_at.is_(None),
                    AgreementVersion.media_retention_days.is_not(None),
                )
            )
        ).all()
    due = [
        (message_id, days)
        for message_id, created_at, days in rows
        if created_at <= now - timedelta(days=days)
    ]
    removed = 0
    for message_id, days in due:
        async with db.write() as s:
            tombstone = (
                f"This recording was removed after {days} day{'s' if days != 1 else ''}, "
                "as the mentorship's agreement says."
            )
            claimed = await s.execute(
                update(Message)
                .where(Message.id == message_id, Message.removed_at.is_(None))
                .values(removed_at=now, removed_reason="retention", body=tombstone)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            message = await s.get(Message, message_id)
            assert message is not None
            paths = await remove_media(s, store, message.media_id, now)
            await s.flush()
            (out,) = await wire(s, [message])
        await asyncio.to_thread(remove, *paths)
        await publish_or_log(
            bus,
            channel(out.mentorship_id),
            {"type": "removed", "message": out.model_dump(mode="json")},
        )
        removed += 1
    if removed:
        log.info("removed %d recordings past their retention", removed)
    return removed
