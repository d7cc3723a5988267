"""Mentorship use cases: requests and their lifecycle, agreements, goals and action
items (profiles and discovery are in profiles.py). Each opens its own transaction;
notifications are staged in the same transaction as the change they report and
announced after it commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.bus import EventBus
from server.core.db import Database
from server.core.errors import Conflict, Forbidden, NotFound, field_error
from server.core.ids import new_id
from server.db.models import (
    ActionItem,
    AgreementConfirmation,
    AgreementVersion,
    Goal,
    Mentorship,
    Notification,
    Profile,
    User,
)
from server.mentorship import lifecycle
from server.mentorship.lifecycle import Action, IllegalTransition, NotYourMove, Role, State
from server.mentorship.profiles import occupied_places
from server.mentorship.schemas import (
    ActionItemIn,
    ActionItemOut,
    ActionItemPatch,
    AgreementIn,
    AgreementOut,
    GoalOut,
    GoalsIn,
    MentorshipIn,
    MentorshipOut,
    Party,
)
from server.notifications import service as notifications
from server.scheduling import changes as scheduling

log = logging.getLogger(__name__)
NO_MENTORSHIP = "There is no such mentorship."
OPEN = tuple(lifecycle.OPEN_STATES)
WORKING = ("active", "paused")


# --- mentorships: loading and shaping ---------------------------------------------------


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


async def _agreement_out(s: AsyncSession, m: Mentorship, version: AgreementVersion) -> AgreementOut:
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


async def _detail(s: AsyncSession, m: Mentorship, viewer_id: str, now: datetime) -> MentorshipOut:
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
        agreement=await _agreement_out(s, m, latest) if latest else None,
        agreement_in_force=await _agreement_out(s, m, in_force) if in_force else None,
    )


# --- expiry ------------------------------------------------------------------------------


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


async def _settle(db: Database, bus: EventBus, now: datetime, mentorship_id: str) -> None:
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


# --- mentorships: use cases --------------------------------------------------------------


def _new_version(
    m: Mentorship, number: int, proposer: str, now: datetime, data: AgreementIn
) -> AgreementVersion:
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
                version = _new_version(m, 1, mentee.id, now, data.proposal)
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
            out = await _detail(s, m, mentee.id, now)
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
        return [await _detail(s, m, user_id, now) for m in rows]


async def get_mentorship(
    *, db: Database, bus: EventBus, now: datetime, user_id: str, mentorship_id: str
) -> MentorshipOut:
    async with db.read() as s:
        await participant_mentorship(s, mentorship_id, user_id)
    await _settle(db, bus, now, mentorship_id)
    async with db.read() as s:
        m = await participant_mentorship(s, mentorship_id, user_id)
        return await _detail(s, m, user_id, now)


_ANSWERS: dict[Action, str] = {
    "accept": "{actor} accepted your request",
    "decline": "{actor} declined your request",
    "withdraw": "{actor} withdrew their request",
    "pause": "{actor} paused your mentorship",
    "resume": "{actor} resumed your mentorship",
    "complete": "{actor} marked your mentorship completed",
    "end": "{actor} ended your mentorship",
}


async def act(
    *,
    db: Database,
    bus: EventBus,
    now: datetime,
    user: User,
    mentorship_id: str,
    action: Action,
    reason: str,
) -> MentorshipOut:
    """Move the mentorship through its lifecycle; 409 names the state when it cannot."""
    async with db.read() as s:
        await participant_mentorship(s, mentorship_id, user.id)
    await _settle(db, bus, now, mentorship_id)
    async with db.write() as s:
        m = await participant_mentorship(s, mentorship_id, user.id, for_update=True)
        state: State = lifecycle.effective_state(m.state, m.expires_at, now)  # type: ignore[arg-type]
        try:
            move = lifecycle.transition(state, action, role_in(m, user.id))
        except IllegalTransition as exc:
            raise Conflict(str(exc), extra={"state": state}) from None
        except NotYourMove as exc:
            raise Forbidden(str(exc), extra={"state": state}) from None
        if action == "accept":  # paused mentorships keep their place, so resume needs none
            profile = await s.scalar(
                select(Profile).where(Profile.user_id == m.mentor_id).with_for_update()
            )
            capacity = profile.capacity if profile else 0
            taken = await occupied_places(s, m.mentor_id)
            if taken >= capacity:
                raise Conflict(
                    f"All your places are taken ({taken} of {capacity}); raise your capacity "
                    "in your profile or finish a mentorship first.",
                    extra={"state": state},
                )
        m.state = move.after
        m.state_changed_at = now
        m.state_changed_by = user.id
        m.state_reason = reason
        cancelled = scheduling.Cancelled([], [], [])
        if state in WORKING and move.after not in WORKING:
            # Ended or completed: its upcoming sessions go with it (a pause keeps them).
            cancelled = await scheduling.cancel_upcoming(
                s,
                mentorship_id=m.id,
                now=now,
                actor=user,
                reason=_session_reason(move.after, reason),
            )
        note = notifications.stage(
            s,
            now=now,
            user_id=other_party(m, user.id),
            kind=f"mentorship.{move.after}",
            title=_ANSWERS[action].format(actor=user.name),
            body=reason,
            link=f"/mentorships/{m.id}",
            data={"mentorship_id": m.id, "state": move.after},
        )
        await s.flush()
        out = await _detail(s, m, user.id, now)
    await notifications.announce(bus, [note])
    await scheduling.announce_cancelled(bus, cancelled)
    return out


def _session_reason(after: str, reason: str) -> str:
    why = "The mentorship ended." if after == "ended" else "The mentorship was completed."
    return f"{why} {reason}" if reason else why


# --- agreement ---------------------------------------------------------------------------


def _require_open(m: Mentorship, now: datetime, what: str) -> None:
    state = lifecycle.effective_state(m.state, m.expires_at, now)  # type: ignore[arg-type]
    if state not in lifecycle.OPEN_STATES:
        raise Conflict(f"This mentorship is {state}; {what}.", extra={"state": state})


def _require_working(m: Mentorship, what: str) -> None:
    if m.state not in WORKING:
        raise Conflict(f"This mentorship is {m.state}; {what}.", extra={"state": m.state})


async def propose_agreement(
    *, db: Database, bus: EventBus, now: datetime, user: User, mentorship_id: str, data: AgreementIn
) -> MentorshipOut:
    """A new version, confirmed by its proposer; in force once the other side confirms it."""
    async with db.read() as s:
        await participant_mentorship(s, mentorship_id, user.id)
    await _settle(db, bus, now, mentorship_id)
    async with db.write() as s:
        m = await participant_mentorship(s, mentorship_id, user.id, for_update=True)
        _require_open(m, now, "its agreement can no longer change")
        last = await s.scalar(
            select(func.max(AgreementVersion.version)).where(AgreementVersion.mentorship_id == m.id)
        )
        version = _new_version(m, int(last or 0) + 1, user.id, now, data)
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
        out = await _detail(s, m, user.id, now)
    await notifications.announce(bus, [note])
    return out


async def confirm_agreement(
    *, db: Database, bus: EventBus, now: datetime, user: User, mentorship_id: str, version: int
) -> MentorshipOut:
    async with db.read() as s:
        await participant_mentorship(s, mentorship_id, user.id)
    await _settle(db, bus, now, mentorship_id)
    notes: list[Notification] = []
    async with db.write() as s:
        m = await participant_mentorship(s, mentorship_id, user.id, for_update=True)
        _require_open(m, now, "its agreement can no longer change")
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
        out = await _detail(s, m, user.id, now)
    await notifications.announce(bus, notes)
    return out


# --- goals and action items ----------------------------------------------------------------


async def put_goals(
    *, db: Database, now: datetime, user: User, mentorship_id: str, data: GoalsIn
) -> MentorshipOut:
    """Replace the goal list; goals keep their ids so links to them survive edits."""
    async with db.write() as s:
        m = await participant_mentorship(s, mentorship_id, user.id, for_update=True)
        _require_working(m, "goals change once the mentorship is active")
        current = {g.id: g for g in await s.scalars(select(Goal).where(Goal.mentorship_id == m.id))}
        keep: set[str] = set()
        for i, item in enumerate(data.goals):
            if item.id is not None:
                goal = current.get(item.id)
                if goal is None:
                    raise field_error(
                        f"goals.{i}.id", "This goal does not belong to the mentorship."
                    )
                goal.text, goal.achieved, goal.position, goal.updated_at = (
                    item.text,
                    item.achieved,
                    i,
                    now,
                )
                keep.add(goal.id)
            else:
                s.add(
                    Goal(
                        id=new_id(),
                        mentorship_id=m.id,
                        position=i,
                        text=item.text,
                        achieved=item.achieved,
                        created_at=now,
                        updated_at=now,
                    )
                )
        for goal_id, goal in current.items():
            if goal_id not in keep:
                await s.delete(goal)
        await s.flush()
        return await _detail(s, m, user.id, now)


def action_item_out(item: ActionItem) -> ActionItemOut:
    return ActionItemOut.model_validate(item, from_attributes=True)


async def list_action_items(*, db: Database, user_id: str, mentorship_id: str) -> list[ActionItem]:
    async with db.read() as s:
        await participant_mentorship(s, mentorship_id, user_id)
        rows = await s.scalars(
            select(ActionItem)
            .where(ActionItem.mentorship_id == mentorship_id)
            .order_by(
                ActionItem.done,
                ActionItem.due_date.is_(None),
                ActionItem.due_date,
                ActionItem.created_at,
            )
        )
        return list(rows)


def _owner(m: Mentorship, owner_id: str) -> str:
    if owner_id not in (m.mentor_id, m.mentee_id):
        raise field_error("owner_id", "The owner must be one of the two participants.")
    return owner_id


async def add_action_item(
    *, db: Database, now: datetime, user: User, mentorship_id: str, data: ActionItemIn
) -> ActionItem:
    async with db.write() as s:
        m = await participant_mentorship(s, mentorship_id, user.id)
        _require_working(m, "action items are added while it is active or paused")
        item = ActionItem(
            id=new_id(),
            mentorship_id=m.id,
            title=data.title,
            owner_id=_owner(m, data.owner_id or user.id),
            due_date=data.due_date,
            done=False,
            done_at=None,
            created_by=user.id,
            created_at=now,
        )
        s.add(item)
    return item


async def update_action_item(
    *, db: Database, now: datetime, user: User, item_id: str, data: ActionItemPatch
) -> ActionItem:
    async with db.write() as s:
        row = (
            await s.execute(
                select(ActionItem, Mentorship)
                .join(Mentorship, Mentorship.id == ActionItem.mentorship_id)
                .where(
                    ActionItem.id == item_id,
                    (Mentorship.mentor_id == user.id) | (Mentorship.mentee_id == user.id),
                )
            )
        ).first()
        if row is None:
            raise NotFound("There is no such action item.")
        item: ActionItem = row[0]
        m: Mentorship = row[1]
        _require_working(m, "its action items can no longer change")
        if data.title is not None:
            item.title = data.title
        if data.owner_id is not None:
            item.owner_id = _owner(m, data.owner_id)
        if data.clear_due_date:
            item.due_date = None
        elif data.due_date is not None:
            item.due_date = data.due_date
        if data.done is not None and data.done != item.done:
            item.done = data.done
            item.done_at = now if data.done else None
    return item
