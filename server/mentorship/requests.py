"""Asking a mentor, and reading one's mentorships: a request checks the mentor's free
places and any open mentorship between the two; stale requests expire first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.accounts.models import User
from server.core.bus import EventBus
from server.core.db import Database
from server.core.errors import Conflict, field_error
from server.core.ids import new_id
from server.mentorship import lifecycle
from server.mentorship.agreements import new_version
from server.mentorship.expiry import expire_due, settle
from server.mentorship.models import AgreementConfirmation, Goal, Mentorship, Profile
from server.mentorship.profiles import occupied_places
from server.mentorship.records import OPEN, detail, participant_mentorship
from server.mentorship.schemas import MentorshipIn, MentorshipOut
from server.notifications import service as notifications


async def request_mentorship(
    *, db: Database, bus: EventBus, now: datetime, mentee: User, data: MentorshipIn
) -> MentorshipOut:
    if data.mentor_id == mentee.id:
        raise field_error("mentor_id", "You cannot ask yourself to be your mentor.")
    # A stale request between the two must not block a new one.
    async with db.read() as s:
        stale = list(
            await s.scalars(
                select(Mentorship.id).where(
                    Mentorship.mentor_id == data.mentor_id,
                    Mentorship.mentee_id == mentee.id,
                    Mentorship.state == "requested",
                    Mentorship.expires_at <= now,
                )
            )
        )
    if stale:
        await expire_due(db=db, bus=bus, now=now, ids=stale)
    try:
        async with db.write() as s:
            row = (
                await s.execute(
                    select(Profile, User)
                    .join(User, User.id == Profile.user_id)
                    .where(Profile.user_id == data.mentor_id, Profile.is_mentor.is_(True))
                    .with_for_update(of=Profile)
                )
            ).first()
            if row is None:
                raise field_error("mentor_id", "There is no mentor with this id.")
            mentor_profile, mentor = row
            existing = await s.scalar(
                select(Mentorship).where(
                    Mentorship.mentor_id == mentor.id,
                    Mentorship.mentee_id == mentee.id,
                    Mentorship.state.in_(OPEN),
                )
            )
            if existing is not None:
                raise Conflict(
                    f"You already have a {existing.state} mentorship with {mentor.name}.",
                    extra={"mentorship_id": existing.id, "state": existing.state},
                )
            taken = await occupied_places(s, mentor.id)
            if taken >= mentor_profile.capacity:
                raise Conflict(
                    f"{mentor.name} has no free places right now "
                    f"({taken} of {mentor_profile.capacity} taken)."
                )
            m = Mentorship(
                id=new_id(),
                mentor_id=mentor.id,
                mentee_id=mentee.id,
                state="requested",
                message=data.message,
                created_at=now,
                expires_at=now + lifecycle.REQUEST_TTL,
                state_changed_at=now,
                state_reason="",
                state_changed_by=mentee.id,
                agreed_version=None,
            )
            s.add(m)
            await s.flush()
            s.add_all(
                Goal(
                    id=new_id(),
                    mentorship_id=m.id,
                    position=i,
                    text=text,
                    achieved=False,
                    created_at=now,
                    updated_at=now,
                )
                for i, text in enumerate(data.goals)
            )
            if data.proposal is not None:
                version = new_version(m, 1, mentee.id, now, data.proposal)
                s.add(version)
                await s.flush()
                s.add(
                    AgreementConfirmation(
                        version_id=version.id, user_id=mentee.id, confirmed_at=now
                    )
                )
            note = notifications.stage(
                s,
                now=now,
                user_id=mentor.id,
                kind="mentorship.requested",
                title=f"{mentee.name} asks you to be their mentor",
                body=data.message[:300],
                link=f"/mentorships/{m.id}",
                data={"mentorship_id": m.id},
            )
            await s.flush()
            out = await detail(s, m, mentee.id, now)
    except IntegrityError:
        raise Conflict("You already have an open mentorship with this mentor.") from None
    await notifications.announce(bus, [note])
    return out


async def list_mentorships(
    *, db: Database, bus: EventBus, now: datetime, user_id: str, state: str | None = None
) -> list[MentorshipOut]:
    async with db.read() as s:
        due = list(
            await s.scalars(
                select(Mentorship.id).where(
                    (Mentorship.mentor_id == user_id) | (Mentorship.mentee_id == user_id),
                    Mentorship.state == "requested",
                    Mentorship.expires_at <= now,
                )
            )
        )
    if due:
        await expire_due(db=db, bus=bus, now=now, ids=due)
    async with db.read() as s:
        q = select(Mentorship).where(
            (Mentorship.mentor_id == user_id) | (Mentorship.mentee_id == user_id)
        )
        if state:
            q = q.where(Mentorship.state == state)
        rows = list(await s.scalars(q.order_by(Mentorship.state_changed_at.desc())))
        return [await detail(s, m, user_id, now) for m in rows]


async def get_mentorship(
    *, db: Database, bus: EventBus, now: datetime, user_id: str, mentorship_id: str
) -> MentorshipOut:
    async with db.read() as s:
        await participant_mentorship(s, mentorship_id, user_id)
    await settle(db, bus, now, mentorship_id)
    async with db.read() as s:
        m = await participant_mentorship(s, mentorship_id, user_id)
        return await detail(s, m, user_id, now)
