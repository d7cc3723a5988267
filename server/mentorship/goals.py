"""Goals and action items: what the two participants work on while the mentorship is
active or paused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from server.accounts.models import User
from server.core.db import Database
from server.core.errors import NotFound, field_error
from server.core.ids import new_id
from server.mentorship.models import ActionItem, Goal, Mentorship
from server.mentorship.records import detail, participant_mentorship, require_working
from server.mentorship.schemas import (
    ActionItemIn,
    ActionItemOut,
    ActionItemPatch,
    GoalsIn,
    MentorshipOut,
)


async def put_goals(
    *, db: Database, now: datetime, user: User, mentorship_id: str, data: GoalsIn
) -> MentorshipOut:
    """Replace the goal list; goals keep their ids so links to them survive edits."""
    async with db.write() as s:
        m = await participant_mentorship(s, mentorship_id, user.id, for_update=True)
        require_working(m, "goals change once the mentorship is active")
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
        return await detail(s, m, user.id, now)


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
        require_working(m, "action items are added while it is active or paused")
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
        require_working(m, "its action items can no longer change")
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
