"""No stored value can end an iCalendar line early and add a property of its own.

Account validation refuses control characters in names and emails; the renderer is the
second guard, for rows that got into the database some other way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import icalendar
from sqlalchemy import update

from server.accounts.models import User
from server.core.keys import CLOCK, DB
from server.ical.render import Person, fold
from server.ical.vcalendar import invitation
from tests.dates import berlin
from tests.factories import sign_up
from tests.ical.builders import event
from tests.ical.helpers import book

Client = Any
NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
EVIL = "\r\nX-EVIL:1"


def unfolded_lines(data: bytes) -> list[bytes]:
    return data.replace(b"\r\n ", b"").split(b"\r\n")


def assert_no_injected_property(data: bytes) -> None:
    assert not any(line.upper().startswith(b"X-EVIL") for line in unfolded_lines(data))
    assert b"\n" not in data.replace(b"\r\n", b"")  # no bare line breaks either
    assert b"\r" not in data.replace(b"\r\n", b"")
    (parsed,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert "X-EVIL" not in parsed


async def test_an_invite_of_a_person_with_line_breaks_in_email_and_name_stays_intact(
    client: Client, another_client: Callable[[], Any]
) -> None:
    mentor = await sign_up(client, name="Maria Mentor")
    mentee = await sign_up(await another_client(), name="Sam Mentee")
    async with client.app[DB].write() as s:
        await s.execute(
            update(User)
            .where(User.id == mentor.id)
            .values(email=mentor.email + EVIL, name="Maria" + EVIL + '";X-EVIL=2:')
        )
    start = berlin(client.app[CLOCK].now(), "18:00", day=3)
    booking = await book(client.app, mentor.id, mentee.id, start)
    resp = await mentee.client.get(f"/api/bookings/{booking}/invite.ics")
    assert resp.status == 200
    data = await resp.read()
    assert_no_injected_property(data)
    (parsed,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(parsed["ORGANIZER"]) == f"mailto:{mentor.email}X-EVIL:1"
    assert "X-EVIL=2" not in parsed["ORGANIZER"].params
    assert [str(a) for a in parsed["ATTENDEE"]][1] == f"mailto:{mentee.email}"


def test_every_written_value_is_stripped_of_line_breaks() -> None:
    evil = Person("Ada" + EVIL, "ada@example.org" + EVIL)
    data = invitation(
        event(
            uid="b1@meridian.example" + EVIL,
            url="https://meridian.example/sessions/b1" + EVIL,
            organizer=evil,
            attendees=(evil,),
        ),
        now=NOW,
    )
    assert_no_injected_property(data)
    (parsed,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(parsed["UID"]) == "b1@meridian.exampleX-EVIL:1"
    assert fold("SUMMARY:a\r\nX-EVIL:1\x00") == b"SUMMARY:aX-EVIL:1\r\n"
    assert fold("DESCRIPTION:tab\tkept") == b"DESCRIPTION:tab\tkept\r\n"
