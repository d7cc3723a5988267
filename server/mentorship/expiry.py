"""Expiry of unanswered requests: stored by the sweeper, or on read when a participant
looks before the sweeper got to it; each request expires, and is announced, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from server.accounts.models import User
from server.core.bus import EventBus
from server.core.db import Database
from server.mentorship.models import Mentorship
from server.notifications import service as notifications
from server.notifications.models import Notification

EXPIRED_REASON = "No answer within 14 days."


async def expire_due(
    *,
    db: Database,
    bus: EventBus,
    now: datetime,
    ids: Sequence[str] | None = None,
    limit: int = 200,
) -> int:
    """Store ``expired`` on unanswered requests past their time; return how many.

    Each row is claimed with a conditional UPDATE, so when several processes sweep at
    once every request expires, and is announced, exactly once.
    """
    notes: list[Notification] = []
    async with db.write() as s:
        q = select(Mentorship).where(Mentorship.state == "requested", Mentorship.expires_at <= now)
        if ids is not None:
            q = q.where(Mentorship.id.in_(list(ids)))
        due = list(await s.scalars(q.order_by(Mentorship.expires_at).limit(limit)))
        for m in due:
            result = await s.execute(
                update(Mentorship)
                .where(Mentorship.id == m.id, Mentorship.state == "requested")
                .values(
                    state="expired",
                    state_changed_at=m.expires_at,
                    state_changed_by=None,
                    state_reason=EXPIRED_REASON,
                )
                .execution_options(synchronize_session=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                continue
            names = {
                u.id: u.name
                for u in await s.scalars(
                    select(User).where(User.id.in_([m.mentor_id, m.mentee_id]))
                )
            }
            link = f"/mentorships/{m.id}"
            notes.append(
                notifications.stage(
                    s,
                    now=now,
                    user_id=m.mentee_id,
                    kind="mentorship.expired",
                    title=f"Your request to {names.get(m.mentor_id, 'your mentor')} expired",
                    body=EXPIRED_REASON,
                    link=link,
                    data={"mentorship_id": m.id},
                )
            )
            notes.append(
                notifications.stage(
                    s,
                    now=now,
                    user_id=m.mentor_id,
                    kind="mentorship.expired",
                    title=f"The request from {names.get(m.mentee_id, 'a mentee')} expired",
                    body=EXPIRED_REASON,
                    link=link,
                    data={"mentorship_id": m.id},
                )
            )
    await notifications.announce(bus, notes)
    return len(notes) // 2


async def settle(db: Database, bus: EventBus, now: datetime, mentorship_id: str) -> None:
    """Expire this request on read if its time is up and no sweeper got to it yet."""
    async with db.read() as s:
        due = await s.scalar(
            select(Mentorship.id).where(
                Mentorship.id == mentorship_id,
                Mentorship.state == "requested",
                Mentorship.expires_at <= now,
            )
        )
    if due is not None:
        await expire_due(db=db, bus=bus, now=now, ids=[mentorship_id])
