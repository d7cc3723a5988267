"""Agreement versions: proposed (and confirmed by the proposer) while the mentorship is
open, in force once both participants confirmed the latest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from server.accounts.models import User
from server.core.bus import EventBus
from server.core.db import Database
from server.core.errors import Conflict, field_error
from server.core.ids import new_id
from server.mentorship.expiry import settle
from server.mentorship.models import AgreementConfirmation, AgreementVersion, Mentorship
from server.mentorship.records import detail, other_party, participant_mentorship, require_open
from server.mentorship.schemas import AgreementIn, MentorshipOut
from server.notifications import service as notifications
from server.notifications.models import Notification


def new_version(
    m: Mentorship, number: int, proposer: str, now: datetime, data: AgreementIn
) -> AgreementVersion:
    """A version row, shared by a request's proposal and every later one."""
    return AgreementVersion(
        id=new_id(),
        mentorship_id=m.id,
        version=number,
        proposed_by=proposer,
        proposed_at=now,
        cadence=data.cadence,
        session_minutes=data.session_minutes,
        channel=data.channel,
        recording_allowed=data.recording_allowed,
        confidential_topics=list(data.confidential_topics),
        media_retention_days=data.media_retention_days,
        review_date=data.review_date,
        note=data.note,
    )


async def propose_agreement(
    *, db: Database, bus: EventBus, now: datetime, user: User, mentorship_id: str, data: AgreementIn
) -> MentorshipOut:
    """A new version, confirmed by its proposer; in force once the other side confirms it."""
    async with db.read() as s:
        await participant_mentorship(s, mentorship_id, user.id)
    await settle(db, bus, now, mentorship_id)
    async with db.write() as s:
        m = await participant_mentorship(s, mentorship_id, user.id, for_update=True)
        require_open(m, now, "its agreement can no longer change")
        last = await s.scalar(
            select(func.max(AgreementVersion.version)).where(AgreementVersion.mentorship_id == m.id)
        )
        version = new_version(m, int(last or 0) + 1, user.id, now, data)
        s.add(version)
        await s.flush()
        s.add(AgreementConfirmation(version_id=version.id, user_id=user.id, confirmed_at=now))
        note = notifications.stage(
            s,
            now=now,
            user_id=other_party(m, user.id),
            kind="agreement.proposed",
            title=f"{user.name} proposed agreement version {version.version}",
            body="Review it and confirm it to put it in force.",
            link=f"/mentorships/{m.id}",
            data={"mentorship_id": m.id, "version": version.version},
        )
        await s.flush()
        out = await detail(s, m, user.id, now)
    await notifications.announce(bus, [note])
    return out


async def confirm_agreement(
    *, db: Database, bus: EventBus, now: datetime, user: User, mentorship_id: str, version: int
) -> MentorshipOut:
    async with db.read() as s:
        await participant_mentorship(s, mentorship_id, user.id)
    await settle(db, bus, now, mentorship_id)
    notes: list[Notification] = []
    async with db.write() as s:
        m = await participant_mentorship(s, mentorship_id, user.id, for_update=True)
        require_open(m, now, "its agreement can no longer change")
        latest = await s.scalar(
            select(AgreementVersion)
            .where(AgreementVersion.mentorship_id == m.id)
            .order_by(AgreementVersion.version.desc())
            .limit(1)
        )
        if latest is None or version > latest.version:
            raise field_error("version", f"There is no agreement version {version} to confirm.")
        if version < latest.version:
            raise Conflict(
                f"Version {version} was replaced by version {latest.version}; "
                "review the new version and confirm that one.",
                extra={"latest_version": latest.version},
            )
        already = await s.get(AgreementConfirmation, (latest.id, user.id))
        if already is None:
            s.add(AgreementConfirmation(version_id=latest.id, user_id=user.id, confirmed_at=now))
            await s.flush()
        confirmed = set(
            await s.scalars(
                select(AgreementConfirmation.user_id).where(
                    AgreementConfirmation.version_id == latest.id
                )
            )
        )
        if {m.mentor_id, m.mentee_id} <= confirmed and m.agreed_version != latest.version:
            m.agreed_version = latest.version
            for uid in (m.mentor_id, m.mentee_id):
                notes.append(
                    notifications.stage(
                        s,
                        now=now,
                        user_id=uid,
                        kind="agreement.in_force",
                        title=f"Agreement version {latest.version} is in force",
                        body="Both of you confirmed it.",
                        link=f"/mentorships/{m.id}",
                        data={"mentorship_id": m.id, "version": latest.version},
                    )
                )
        await s.flush()
        out = await detail(s, m, user.id, now)
    await notifications.announce(bus, notes)
    return out
