"""Reminders 24 h and 15 min before a session: found in the database, sent once by two apps.

Two app instances share one database and one clock, each with its own outbox loop;
the clock is moved, both loops make a pass at the same time, and each reminder must
arrive once in-app and once by email (through a small SMTP server on loopback), never
twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.keys import DB, PERIODIC
from server.notifications.models import Notification, OutboxItem
from server.notifications.outbox import JOB
from server.scheduling.reminders import KIND
from tests.dates import NEW_YORK, berlin, stands_on, wall
from tests.factories import OPEN, Pair, make_pair, ok
from tests.mail import SmtpSink


@pytest.fixture
def start(now: datetime) -> datetime:
    """The session: Monday 10:00 in Berlin, more than a week ahead."""
    return berlin(now, "10:00", week=1)


@pytest.fixture
def smtp(smtp: SmtpSink) -> SmtpSink:
    """Only the mail under test here: sign-up confirmations are tested in tests/accounts."""
    smtp.ignore_account_mail = True
    return smtp


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
    )


@pytest.fixture
async def second_app(
    settings: Settings, clock: FrozenClock, aiohttp_client: Callable[..., Any]
) -> web.Application:
    """Another instance of Meridian on the same database, with its own reminder task."""
    other = create_app(settings, clock=clock)
    await aiohttp_client(other)
    return other


def reminder_mail(smtp: SmtpSink) -> list[Any]:
    """The reminders among the mail (the outbox also mails the booking's invitations)."""
    return [m for m in smtp.messages if not m.is_multipart()]


async def reminders(app: web.Application, kind: str) -> list[Notification]:
    async with app[DB].read() as s:
        return list(
            await s.scalars(
                select(Notification).where(Notification.kind == f"booking.reminder.{kind}")
            )
        )


async def poll(*apps: web.Application) -> None:
    """Every app's own reminder loop makes one full pass, all at the same time, twice."""
    for _ in range(2):
        async with asyncio.timeout(30):
            await asyncio.gather(*(app[PERIODIC][JOB].next_pass() for app in apps))


async def settle(app: web.Application, kind: str, *others: web.Application) -> list[Notification]:
    """The reminders of `kind` once every app's loop has looked at the current time."""
    await poll(app, *others)
    return await reminders(app, kind)


@pytest.mark.anyday
async def test_each_reminder_once_with_two_apps(
    pair: Pair, second_app: web.Application, clock: FrozenClock, smtp: SmtpSink, start: datetime
) -> None:
    app = pair.mentor.client.app
    assert app is not None
    await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": start.isoformat(),
                "duration_minutes": 60,
            },
        ),
        201,
    )
    assert await settle(app, "24h", second_app) == []

    clock.set(start - timedelta(hours=24))
    sent = await settle(app, "24h", second_app)
    assert sorted(n.user_id for n in sent) == sorted([pair.mentor.id, pair.mentee.id])
    assert await reminders(app, "15m") == []
    assert len(reminder_mail(smtp)) == 2
    assert {m["To"] for m in reminder_mail(smtp)} == {pair.mentor.email, pair.mentee.email}
    mentee_mail = next(m for m in reminder_mail(smtp) if m["To"] == pair.mentee.email)
    assert f"{wall(start, NEW_YORK)} (America/New_York)" in mentee_mail["Subject"]

    clock.set(start - timedelta(minutes=14))
    sent = await settle(app, "15m", second_app)
    assert len(sent) == 2
    assert len(await reminders(second_app, "24h")) == 2
    assert len(reminder_mail(smtp)) == 4
    async with app[DB].read() as s:
        rows = list(await s.scalars(select(OutboxItem).where(OutboxItem.kind == KIND)))
    assert len(rows) == 4 and all(r.delivered_at is not None for r in rows)


async def test_cancelled_and_moved_sessions_remind_at_the_right_time(
    pair: Pair, second_app: web.Application, clock: FrozenClock, smtp: SmtpSink, start: datetime
) -> None:
    app = pair.mentor.client.app
    assert app is not None
    first = await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": start.isoformat(),
                "duration_minutes": 60,
            },
        ),
        201,
    )
    second = await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": (start + timedelta(hours=2)).isoformat(),
                "duration_minutes": 60,
            },
        ),
        201,
    )
    await ok(
        await pair.mentee.client.post(f"/api/bookings/{first['booking']['id']}/cancel", json={})
    )
    await ok(
        await pair.mentee.client.post(
            f"/api/bookings/{second['booking']['id']}/reschedule",
            json={"start": (start + timedelta(days=1)).isoformat()},
        )
    )
    clock.set(start - timedelta(hours=23))
    assert await settle(app, "24h", second_app) == []  # cancelled one and moved one: not yet
    clock.set(start + timedelta(hours=1))
    sent = await settle(app, "24h", second_app)
    assert len(sent) == 2
    assert {n.data["booking_id"] for n in sent} == {second["booking"]["id"]}


@stands_on(datetime.fromisoformat("2027-02-01T12:00:00Z"))  # before the series below
async def test_the_mentee_is_told_a_week_before_a_dst_shift(
    client: Any, another_client: Any, second_app: web.Application, clock: FrozenClock
) -> None:
    evenings = {**OPEN, "weekly": [{"weekday": 0, "start": "17:00", "end": "20:00"}]}
    pair = await make_pair(client, await another_client(), availability=evenings)
    await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": "2027-03-01T17:00:00Z",
                "duration_minutes": 60,
                "recurrence": {"frequency": "weekly", "count": 6},
            },
        ),
        201,
    )
    app = client.app
    clock.set(datetime.fromisoformat("2027-03-08T17:00:00+00:00"))
    sent = await settle(app, "shift", second_app)
    assert [n.user_id for n in sent] == [pair.mentee.id]
    assert "13:00 your time instead of 12:00" in sent[0].body
    clock.set(datetime.fromisoformat("2027-03-22T16:30:00+00:00"))
    sent = await settle(app, "shift", second_app)
    assert len(sent) == 2
    assert "12:00 your time instead of 13:00" in sorted(n.body for n in sent)[0]


async def test_a_dead_mail_server_costs_the_email_not_the_reminder(
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
    start: datetime,
) -> None:
    """Only this app runs here, so its reminder loop alone can send."""
    from tests.services import free_port

    dead = make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=free_port(),  # nothing listens there
        smtp_starttls=False,
    )
    client = await aiohttp_client(create_app(dead, clock=clock))
    pair = await make_pair(client, await aiohttp_client(client.server))
    await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": start.isoformat(),
                "duration_minutes": 60,
            },
        ),
        201,
    )
    clock.set(start - timedelta(minutes=10))
    sent = await settle(client.app, "15m")
    assert sorted(n.user_id for n in sent) == sorted([pair.mentor.id, pair.mentee.id])


async def test_a_session_moved_after_its_reminder_is_reminded_again(
    pair: Pair, second_app: web.Application, clock: FrozenClock, start: datetime
) -> None:
    app = pair.mentor.client.app
    assert app is not None
    created = await ok(
        await pair.mentee.client.post(
            "/api/bookings",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": start.isoformat(),
                "duration_minutes": 60,
            },
        ),
        201,
    )
    clock.set(start - timedelta(hours=20))
    assert len(await settle(app, "24h", second_app)) == 2
    await ok(
        await pair.mentee.client.post(
            f"/api/bookings/{created['booking']['id']}/reschedule",
            json={"start": (start + timedelta(days=2)).isoformat()},
        )
    )
    clock.set(start + timedelta(days=1, hours=1))
    sent = await settle(app, "24h", second_app)
    assert len(sent) == 4
