"""What happens elsewhere when a mentorship stops working (it ends or is completed).

Mentorship knows nothing of sessions, calendars or calls; the features standing on it
register a hook under ``ON_STOP`` when the app is wired (scheduling cancels the upcoming
sessions). Each hook runs inside the transaction that stops the mentorship, so the stop
and what follows from it commit together, and returns what to announce once it has.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.core.bus import EventBus


@dataclass(frozen=True, slots=True)
class Stopping:
    """A mentorship stopping, seen from inside the transaction that stops it."""

    session: AsyncSession
    mentorship_id: str
    now: datetime
    actor: User
    reason: str
    """Why, in the words the people whose things are cancelled will read."""


AfterCommit = Callable[[EventBus], Awaitable[None]]
StopHook = Callable[[Stopping], Awaitable[AfterCommit]]
