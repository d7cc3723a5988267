"""New-message notifications wait for the recipient's working hours, and arrive once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.hours import WeeklyInterval
from server.core.keys import DB, PERIODIC
from server.notifications import outbox, quiet
from server.notifications.models import Notification, OutboxItem
from server.threads.notices import KIND
from tests.dates import berlin
from tests.factories import Pair, make_mentorship, set_working_hours, sign_up
from tests.mail import smtp_server
from tests.waiting import eventually

Client = TestClient[web.Request, web.Application]
OFFICE = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
WEEKDAYS_9_TO_5 = [WeeklyInterval(d, 9 * 60, 17 * 60) for d in range(5)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def wednesday_night(now: datetime) -> datetime:
    return berlin(now, "23:30", day=2)


def thursday(now: datetime, clock: str) -> datetime:
    return berlin(now, clock, day=3)


def test_inside_working_hours_is_now() -> None:
    now = utc(2026, 11, 25, 12, 0)  # Wednesday 13:00 in Berlin
    assert quiet.next_delivery(now, "Europe/Berlin", WEEKDAYS_9_TO_5) == now


def test_late_evening_waits_for_next_morning_in_the_recipients_zone() -> None:
    now = utc(2026, 11, 25, 22, 30)  # Wednesday 23:30 in Berlin (UTC+1)
    assert quiet.next_delivery(now, "Europe/Berlin", WEEKDAYS_9_TO_5) == utc(2026, 11, 26, 8, 0)
    # The same instant is 19:30 in São Paulo, after hours there too: next 09:00 is 12:00Z.
    assert quiet.next_delivery(now, "America/Sao_Paulo", WEEKDAYS_9_TO_5) == utc(
        2026, 11, 26, 12, 0
    )


def test_friday_night_waits_for_monday_across_a_dst_change() -> None:
    # Berlin moves to summer time on Sunday 2027-03-28: Monday 09:00 is then 07:00Z.
    now = utc(2027, 3, 26, 20, 0)
    assert quiet.next_delivery(now, "Europe/Berlin", WEEKDAYS_9_TO_5) == utc(2027, 3, 29, 7, 0)


def test_no_working_hours_means_reachable_any_time() -> None:
    now = utc(2026, 11, 29, 3, 0)
    assert quiet.next_delivery(now, "Europe/Berlin", []) == now
    assert quiet.weekly_hours([{"weekday": 9, "start": "x"}, {"start": "09:00"}]) == []


async def run_due_work(app: web.Application) -> None:
    """One pass of the app's outbox, as its loop would make."""
    await app[PERIODIC][outbox.JOB].run_once()


async def _notes(client: Client, user_id: str) -> list[Notification]:
    async with client.app[DB].read() as s:
        return list(await s.scalars(select(Notification).where(Notification.user_id == user_id)))


async def test_message_inside_hours_notifies_at_once(pair: Pair, clock: FrozenClock) -> None:
    clock.set(berlin(clock.now(), "13:00", day=2))  # Wednesday afternoon in Berlin
    await set_working_hours(pair.mentor.client.app, pair.mentor, OFFICE, clock.now())
    resp = await pair.mentee.client.post(
        f"/api/mentorships/{pair.mentorship_id}/messages", json={"kind": "text", "body": "Hi!"}
    )
    assert resp.status == 201
    notes = await _notes(pair.mentor.client, pair.mentor.id)
    assert [n.kind for n in notes] == ["thread.message"]
    assert notes[0].title == "Paulo Santos sent you a message"
    assert notes[0].body == "Hi!"
    assert notes[0].link == f"/mentorships/{pair.mentorship_id}/thread"


@pytest.mark.anyday
async def test_message_at_night_waits_until_the_morning(
    pair: Pair, clock: FrozenClock, now: datetime
) -> None:
    app = pair.mentor.client.app
    clock.set(wednesday_night(now))
    await set_working_hours(app, pair.mentor, OFFICE, clock.now())
    resp = await pair.mentee.client.post(
        f"/api/mentorships/{pair.mentorship_id}/messages", json={"kind": "text", "body": "Late!"}
    )
    assert resp.status == 201
    assert await _notes(pair.mentor.client, pair.mentor.id) == []
    clock.set(thursday(now, "08:59"))
    await run_due_work(app)
    assert await _notes(pair.mentor.client, pair.mentor.id) == []
    clock.set(thursday(now, "09:00"))
    await run_due_work(app)
    await run_due_work(app)
    notes = await _notes(pair.mentor.client, pair.mentor.id)
    assert len(notes) == 1 and notes[0].created_at == thursday(now, "09:00")


async def test_reading_the_message_first_cancels_the_waiting_notice(
    pair: Pair, clock: FrozenClock, now: datetime
) -> None:
    app = pair.mentor.client.app
    clock.set(wednesday_night(now))
    await set_working_hours(app, pair.mentor, OFFICE, clock.now())
    resp = await pair.mentee.client.post(
        f"/api/mentorships/{pair.mentorship_id}/messages", json={"kind": "text", "body": "Late!"}
    )
    message = await resp.json()
    await pair.mentor.client.post(f"/api/messages/{message['id']}/seen")
    clock.set(thursday(now, "10:00"))
    await run_due_work(app)
    assert await _notes(pair.mentor.client, pair.mentor.id) == []


async def test_two_processes_deliver_each_notice_once_after_a_restart(
    database_url: str,
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    now: datetime,
) -> None:
    settings = make_settings(database_url)
    night = FrozenClock(wednesday_night(now))
    first: Client = await aiohttp_client(create_app(settings, clock=night))
    mentor = await sign_up(first, name="Greta Berlin")
    mentee_client: Client = await aiohttp_client(first.server)
    mentees = []
    for i in range(6):
        jar: Client = await aiohttp_client(first.server) if i else mentee_client
        mentees.append(await sign_up(jar, name=f"Mentee {i}"))
    await set_working_hours(first.app, mentor, OFFICE, night.now())
    for mentee in mentees:
        mentorship_id = await make_mentorship(first.app, mentor, mentee)
        resp = await mentee.client.post(
            f"/api/mentorships/{mentorship_id}/messages", json={"kind": "text", "body": "hello"}
        )
        assert resp.status == 201
    # The process that stored the notices stops before they are due.
    await first.close()
    morning = FrozenClock(thursday(now, "09:00"))
    one = create_app(settings, clock=morning)
    two = create_app(settings, clock=morning)
    a: Client = await aiohttp_client(one)
    b: Client = await aiohttp_client(two)
    await asyncio.gather(*(run_due_work(app) for app in (one, two, one, two)))
    async with a.app[DB].read() as s:
        count = await s.scalar(
            select(func.count()).select_from(Notification).where(Notification.user_id == mentor.id)
        )
        waiting = await s.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.kind == KIND, OutboxItem.delivered_at.is_(None))
        )
    assert count == 6
    assert waiting == 0
    await b.close()


async def test_background_task_delivers_without_being_asked(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    now: datetime,
) -> None:
    clock = FrozenClock(wednesday_night(now))
    settings = make_settings(sqlite_url, outbox_interval_seconds=0.05)
    client: Client = await aiohttp_client(create_app(settings, clock=clock))
    other: Client = await aiohttp_client(client.server)
    mentor = await sign_up(client, name="Greta Berlin")
    mentee = await sign_up(other, name="Paulo Santos")
    mentorship_id = await make_mentorship(client.app, mentor, mentee)
    await set_working_hours(client.app, mentor, OFFICE, clock.now())
    await other.post(
        f"/api/mentorships/{mentorship_id}/messages", json={"kind": "text", "body": "Late!"}
    )
    await client.app[PERIODIC][outbox.JOB].next_pass()  # a pass at night
    assert await _notes(client, mentor.id) == []
    # Nobody asks: the app's own loop, every 50 ms, finds the due notice in the database.
    clock.set(thursday(now, "09:00"))
    notes = await eventually(lambda: _notes(client, mentor.id), what="the morning's notice")
    assert len(notes) == 1


async def test_email_follows_the_in_app_notice_in_working_hours(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    now: datetime,
) -> None:
    async with smtp_server(ignore_account_mail=True) as sink:
        settings = make_settings(
            sqlite_url, smtp_host="127.0.0.1", smtp_port=sink.port, smtp_starttls=False
        )
        clock = FrozenClock(wednesday_night(now))
        client: Client = await aiohttp_client(create_app(settings, clock=clock))
        other: Client = await aiohttp_client(client.server)
        mentor = await sign_up(client, name="Greta Berlin")
        mentee = await sign_up(other, name="Paulo Santos")
        mentorship_id = await make_mentorship(client.app, mentor, mentee)
        await set_working_hours(client.app, mentor, OFFICE, clock.now())
        await other.post(
            f"/api/mentorships/{mentorship_id}/messages",
            json={"kind": "text", "body": "Can we move Thursday?"},
        )
        await run_due_work(client.app)
        assert sink.messages == []
        clock.set(thursday(now, "09:00"))
        await run_due_work(client.app)
        await run_due_work(client.app)
        assert len(sink.messages) == 1
        mail = sink.messages[0]
        assert mail["To"] == mentor.email
        assert mail["Subject"] == "Paulo Santos sent you a message"
        text = mail.get_payload(decode=True).decode()
        assert "Can we move Thursday?" in text
        assert f"/mentorships/{mentorship_id}/thread" in text
