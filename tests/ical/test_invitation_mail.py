"""Invitation emails with invite.ics attached: once per version and participant, even
with two processes, REQUEST then CANCEL, through a small SMTP server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from aiohttp import web
from sqlalchemy import func, select

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.keys import DB, PERIODIC
from server.ical.mail import KIND
from server.notifications.models import OutboxItem
from server.notifications.outbox import JOB
from tests.dates import berlin, wall
from tests.factories import sign_up
from tests.ical.helpers import book, book_series, change
from tests.ical.helpers import eventually as settle
from tests.mail import SmtpSink
from tests.waiting import DEADLINE_SECONDS


@pytest.fixture
def start(now: datetime) -> datetime:
    """A session on the coming Thursday at 18:00 in Berlin."""
    return berlin(now, "18:00", day=3)


@pytest.fixture
def smtp(smtp: SmtpSink) -> SmtpSink:
    """Only the mail under test here: sign-up confirmations are tested in tests/accounts."""
    smtp.ignore_account_mail = True
    return smtp


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings],
    database_url: str,
    smtp: SmtpSink,
) -> Settings:
    return make_settings(
        database_url, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False
    )


def subject(message: Any) -> str:
    return " ".join(str(message["Subject"]).split())


def attachment(message: Any) -> icalendar.Calendar:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "invite.ics"
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


async def eventually(check: Callable[[], bool], seconds: float = DEADLINE_SECONDS) -> None:
    async def ready() -> bool:
        return check()

    await settle(ready, seconds)


async def mail_once(app: web.Application) -> int:
    """One pass of the app's outbox: invitations collected, then mailed."""
    delivered: int = await app[PERIODIC][JOB].run_once()  # type: ignore[assignment]
    return delivered


async def test_each_version_is_mailed_once_to_each_participant(
    client: Any,
    another_client: Callable[[], Any],
    smtp: SmtpSink,
    settings: Settings,
    clock: FrozenClock,
    start: datetime,
) -> None:
    mentor = await sign_up(client, name="Maria Mentor", timezone="Europe/Berlin")
    mentee = await sign_up(await another_client(), name="Sam Mentee", timezone="Asia/Kolkata")
    booking = await book(client.app, mentor.id, mentee.id, start)
    second = create_app(settings, clock=clock)  # another process on the same database
    runner = web.AppRunner(second)
    await runner.setup()
    try:
        # Both processes' background mailers run too; every sender races for each email.
        await asyncio.gather(mail_once(client.app), mail_once(second))
        await eventually(lambda: len(smtp.messages) == 2)
        assert await mail_once(client.app) == 0 and await mail_once(second) == 0
        assert len(smtp.messages) == 2
    finally:
        await runner.cleanup()
    assert sorted(m["To"] for m in smtp.messages) == sorted([mentor.email, mentee.email])
    to_mentee = next(m for m in smtp.messages if m["To"] == mentee.email)
    when = wall(start, "Asia/Kolkata", "%A %d %B %Y, %H:%M")  # "Thursday 03 December 2026, 22:30"
    assert f"{when} (Asia/Kolkata)" in subject(to_mentee)
    cal = attachment(to_mentee)
    assert str(cal["METHOD"]) == "REQUEST"
    (event,) = cal.walk("VEVENT")
    assert event["DTSTART"].dt.astimezone(UTC) == start

    await change(client.app, booking, status="cancelled")
    await mail_once(client.app)
    await eventually(lambda: len(smtp.messages) == 4)
    cancels = [attachment(m) for m in smtp.messages[2:]]
    assert [str(c["METHOD"]) for c in cancels] == ["CANCEL", "CANCEL"]
    assert all(subject(m).startswith("Cancelled:") for m in smtp.messages[2:])


async def test_a_series_is_mailed_as_one_invitation(
    client: Any,
    another_client: Callable[[], Any],
    smtp: SmtpSink,
    start: datetime,
) -> None:
    mentor = await sign_up(client, name="Maria Mentor")
    mentee = await sign_up(await another_client(), name="Sam Mentee")
    _, ids = await book_series(
        client.app, mentor.id, mentee.id, start, zone="Europe/Berlin", count=8
    )
    await mail_once(client.app)
    await eventually(lambda: len(smtp.messages) == 2)
    (event,) = attachment(smtp.messages[0]).walk("VEVENT")
    assert "RRULE" in event
    moved = start + timedelta(days=7, hours=1)
    await change(client.app, ids[1], start_at=moved, end_at=moved + timedelta(hours=1))
    await mail_once(client.app)
    await eventually(lambda: len(smtp.messages) == 4)
    updated = attachment(smtp.messages[2])
    assert len(list(updated.walk("VEVENT"))) == 2  # the rule and the moved occurrence
    assert subject(smtp.messages[2]).startswith("Updated:")


async def test_without_smtp_no_invitation_is_queued(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
    start: datetime,
) -> None:
    client = await aiohttp_client(create_app(make_settings(sqlite_url), clock=clock))
    mentor = await sign_up(client, name="Maria Mentor")
    mentee = await sign_up(await aiohttp_client(client.server), name="Sam Mentee")
    await book(client.app, mentor.id, mentee.id, start)
    assert await mail_once(client.app) == 0
    async with client.app[DB].read() as s:
        queued = await s.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.kind == KIND)
        )
    assert queued == 0
