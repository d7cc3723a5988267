"""Unanswered requests expire in the background, even across a restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.keys import DB, PERIODIC
from server.mentorship import sweeper
from server.mentorship.models import Mentorship
from server.notifications.models import Notification
from tests.factories import ask, mentee, mentor


async def test_a_restarted_process_expires_requests_without_being_asked(
    settings: Settings, clock: FrozenClock, aiohttp_client: Callable[..., Any]
) -> None:
    first = await aiohttp_client(create_app(settings, clock=clock))
    grace = await mentor(first)
    ada = await mentee(await aiohttp_client(first.server))
    mid = (await ask(ada, grace))["id"]
    await first.close()

    later = FrozenClock(clock.now() + timedelta(days=14, minutes=1))
    app = create_app(settings, clock=later)
    await aiohttp_client(app)
    # Nobody asks: the new process's own sweeper finds the request in the database.
    await app[PERIODIC][sweeper.JOB].next_pass()
    async with app[DB].read() as s:
        state = await s.scalar(select(Mentorship.state).where(Mentorship.id == mid))
    assert state == "expired"
    async with app[DB].read() as s:
        kinds = sorted(await s.scalars(select(Notification.kind)))
        stored = await s.scalar(select(Mentorship).where(Mentorship.id == mid))
    assert kinds == ["mentorship.expired", "mentorship.expired", "mentorship.requested"]
    assert stored is not None and stored.state_changed_at == clock.now() + timedelta(days=14)
