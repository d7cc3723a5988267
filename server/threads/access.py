"""Who sees a thread: the two people of its mentorship; anyone else gets a 404.

A thread or message someone may not see is indistinguishable from one that does not
exist, so its id reveals nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.core.errors import NotFound
from server.mentorship.models import Mentorship
from server.threads.models import Message

NOT_FOUND = "There is no such thread."


async def mentorship_of(s: AsyncSession, mentorship_id: str, user_id: str) -> Mentorship:
    found = await s.get(Mentorship, mentorship_id)
    if found is None or user_id not in (found.mentor_id, found.mentee_id):
        raise NotFound(NOT_FOUND)
    return found


async def message_of(s: AsyncSession, message_id: str, user_id: str) -> tuple[Message, Mentorship]:
    message = await s.get(Message, message_id)
    if message is None:
        raise NotFound("There is no such message.")
    try:
        mentorship = await mentorship_of(s, message.mentorship_id, user_id)
    except NotFound:
        raise NotFound("There is no such message.") from None
    return message, mentorship
