"""How a mentorship is loaded for one of its participants and shaped for the wire, and
the state checks the use cases share; no use case of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.core.errors import Conflict, NotFound
from server.mentorship import lifecycle
from server.mentorship.lifecycle import Role, State
from server.mentorship.models import AgreementConfirmation, AgreementVersion, Goal, Mentorship
from server.mentorship.schemas import AgreementOut, GoalOut, MentorshipOut, Party

NO_MENTORSHIP = "There is no such mentorship."
OPEN = tuple(lifecycle.OPEN_STATES)
WORKING = ("active", "paused")


async def participant_mentorship(
    s: AsyncSession, mentorship_id: str, user_id: str, *, for_update: bool = False
) -> Mentorship:
    """The mentorship if ``user_id`` takes part in it; everyone else learns nothing (404)."""
    q = select(Mentorship).where(
        Mentorship.id == mentorship_id,
        (Mentorship.mentor_id == user_id) | (Mentorship.mentee_id == user_id),
    )
    if for_update:
        q = q.with_for_update()
    found = await s.scalar(q)
    if found is None:
        raise NotFound(NO_MENTORSHIP)
    return found


async def agreement_in_force(s: AsyncSession, mentorship_id: str) -> AgreementVersion | None:
    """The agreement version both participants confirmed last, if any."""
    found: AgreementVersion | None = await s.scalar(
        select(AgreementVersion)
        .join(Mentorship, Mentorship.id == AgreementVersion.mentorship_id)
        .where(
            AgreementVersion.mentorship_id == mentorship_id,
            AgreementVersion.version == Mentorship.agreed_version,
        )
    )
    return found


def role_in(m: Mentorship, user_id: str) -> Role:
    return "mentor" if m.mentor_id == user_id else "mentee"


def other_party(m: Mentorship, user_id: str) -> str:
    return m.mentee_id if m.mentor_id == user_id else m.mentor_id


async def agreement_out(s: AsyncSession, m: Mentorship, version: AgreementVersion) -> AgreementOut:
    """One version for the wire, with who confirmed it and whether it is in force."""
    rows = (
        await s.execute(
            select(AgreementConfirmation.user_id, AgreementConfirmation.confirmed_at).where(
                AgreementConfirmation.version_id == version.id
            )
        )
    ).all()
    # In the order given; the proposer confirmed first.
    confirmed = [uid for uid, at in sorted(rows, key=lambda r: (r[1], r[0] != version.proposed_by))]
    return AgreementOut(
        version=version.version,
        proposed_by=version.proposed_by,
        proposed_at=version.proposed_at,
        cadence=version.cadence,
        session_minutes=version.session_minutes,
        channel=version.channel,
        recording_allowed=version.recording_allowed,
        confidential_topics=list(version.confidential_topics),
        media_retention_days=version.media_retention_days,
        review_date=version.review_date,
        note=version.note,
        confirmed_by=confirmed,
        in_force=m.agreed_version == version.version,
    )


async def detail(s: AsyncSession, m: Mentorship, viewer_id: str, now: datetime) -> MentorshipOut:
    """The mentorship as ``viewer_id`` sees it, in its effective state (a request past
    its time reads as expired even before the sweeper stores that)."""
    users = {
        u.id: u
        for u in await s.scalars(select(User).where(User.id.in_([m.mentor_id, m.mentee_id])))
    }
    goals = await s.scalars(
        select(Goal).where(Goal.mentorship_id == m.id).order_by(Goal.position, Goal.created_at)
    )
    latest = await s.scalar(
        select(AgreementVersion)
        .where(AgreementVersion.mentorship_id == m.id)
        .order_by(AgreementVersion.version.desc())
        .limit(1)
    )
    in_force = await agreement_in_force(s, m.id)
    state: State = lifecycle.effective_state(m.state, m.expires_at, now)  # type: ignore[arg-type]
    role = role_in(m, viewer_id)

    def party(user_id: str) -> Party:
        u = users[user_id]
        return Party(id=u.id, name=u.name, timezone=u.timezone)

    return MentorshipOut(
        id=m.id,
        state=state,
        mentor=party(m.mentor_id),
        mentee=party(m.mentee_id),
        my_role=role,
        allowed_actions=list(lifecycle.allowed_actions(state, role)),
        message=m.message,
        goals=[GoalOut(id=g.id, text=g.text, achieved=g.achieved) for g in goals],
        created_at=m.created_at,
        expires_at=m.expires_at,
        state_changed_at=m.expires_at if state != m.state else m.state_changed_at,
        state_changed_by=m.state_changed_by,
        state_reason=m.state_reason,
        agreement=await agreement_out(s, m, latest) if latest else None,
        agreement_in_force=await agreement_out(s, m, in_force) if in_force else None,
    )


def require_open(m: Mentorship, now: datetime, what: str) -> None:
    """Refuse (409, naming the state) unless requested, active or paused."""
    state = lifecycle.effective_state(m.state, m.expires_at, now)  # type: ignore[arg-type]
    if state not in lifecycle.OPEN_STATES:
        raise Conflict(f"This mentorship is {state}; {what}.", extra={"state": state})


def require_working(m: Mentorship, what: str) -> None:
    """Refuse (409, naming the state) unless active or paused."""
    if m.state not in WORKING:
        raise Conflict(f"This mentorship is {m.state}; {what}.", extra={"state": m.state})
