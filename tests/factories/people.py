"""People and mentorships made through the API, the way the browser app makes them.

Every builder takes a client that speaks to one server: the tests' ``TestClient`` or,
in the benchmarks, an ``aiohttp.ClientSession`` opened with ``base_url=`` and the
server's ``Origin`` (both resolve ``/api/...`` paths and keep the sign-in cookie).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.core.keys import DB
from server.db.base import Base
from tests.factories import rows

Http = TestClient[Any, Any] | aiohttp.ClientSession

_counter = itertools.count(1)
PASSWORD = "correct horse battery"
NINE_TO_FIVE = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
OPEN = {
    "weekly": NINE_TO_FIVE,
    "notice_minutes": 0,
    "horizon_days": 365,
    "slot_step_minutes": 30,
}
"""Availability a mentor can be booked in at once: weekdays 9 to 5, a year ahead."""
AGREEMENT = {
    "cadence": "biweekly",
    "session_minutes": 45,
    "channel": "live",
    "recording_allowed": False,
    "confidential_topics": ["salary"],
    "media_retention_days": 30,
    "review_date": "2027-03-01",
}


@dataclass
class Person:
    client: Any  # Http: the client signed in as this person
    user: dict[str, Any]
    email: str
    password: str = PASSWORD

    @property
    def id(self) -> str:
        return str(self.user["id"])


@dataclass
class Pair:
    mentor: Person
    mentee: Person
    mentorship_id: str


def unique_email(stem: str = "person") -> str:
    return f"{stem}{next(_counter)}@example.org"


async def ok(resp: Any, status: int = 200) -> Any:
    """The JSON body of a response that must have ``status``."""
    assert resp.status == status, await resp.text()
    return await resp.json()


async def sign_up(
    client: Http,
    *,
    name: str = "Ada Lovelace",
    timezone: str = "Europe/Berlin",
    email: str | None = None,
) -> Person:
    email = email or unique_email(name.split()[0].lower())
    resp = await client.post(
        "/api/auth/signup",
        json={"email": email, "password": PASSWORD, "name": name, "timezone": timezone},
    )
    body = await ok(resp, 201)
    return Person(client=client, user=body["user"], email=email)


async def profile(person: Person, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = await ok(await person.client.put("/api/me/profile", json=fields))
    return body


async def mentor(
    client: Http,
    *,
    name: str = "Grace Hopper",
    timezone: str = "America/New_York",
    capacity: int = 2,
    **fields: Any,
) -> Person:
    """A mentor with a profile; ``fields`` add to it or replace its defaults."""
    person = await sign_up(client, name=name, timezone=timezone)
    await profile(
        person,
        roles=["mentor"],
        languages=fields.pop("languages", ["en"]),
        topics=fields.pop("topics", ["python", "career"]),
        working_hours=fields.pop("working_hours", NINE_TO_FIVE),
        capacity=capacity,
        **fields,
    )
    return person


async def mentee(
    client: Http,
    *,
    name: str = "Ada Lovelace",
    timezone: str = "Europe/Berlin",
    **fields: Any,
) -> Person:
    """A mentee with a profile; ``fields`` add to it or replace its defaults."""
    person = await sign_up(client, name=name, timezone=timezone)
    await profile(
        person,
        roles=["mentee"],
        languages=fields.pop("languages", ["en-GB"]),
        topics=fields.pop("topics", ["python"]),
        working_hours=fields.pop("working_hours", NINE_TO_FIVE),
        **fields,
    )
    return person


async def ask(
    who: Person, whom: Person, *, goals: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """``who`` asks ``whom`` to mentor them; the request as the API returns it."""
    resp = await who.client.post(
        "/api/mentorships",
        json={
            "mentor_id": whom.id,
            "goals": goals or ["Ship a library"],
            "message": "Hello!",
            **extra,
        },
    )
    body: dict[str, Any] = await ok(resp, 201)
    return body


async def act(who: Person, mentorship_id: str, action: str, **body: Any) -> Any:
    """The response to ``POST /api/mentorships/{id}/{action}`` (accept, decline, end…)."""
    return await who.client.post(f"/api/mentorships/{mentorship_id}/{action}", json=body)


async def make_pair(
    client: Http,
    other: Http,
    *,
    mentor_zone: str = "Europe/Berlin",
    mentee_zone: str = "America/New_York",
    mentor: Person | None = None,
    availability: dict[str, Any] | None = None,
) -> Pair:
    """Sign both up, mentee asks, mentor accepts (through the API), mentor sets hours."""
    if mentor is None:
        mentor = await sign_up(client, name="Greta Berlin", timezone=mentor_zone)
        await profile(
            mentor, roles=["mentor"], languages=["en"], working_hours=NINE_TO_FIVE, capacity=5
        )
        await ok(await mentor.client.put("/api/me/availability", json=availability or OPEN))
    person = await sign_up(other, name="Nora York", timezone=mentee_zone)
    await profile(person, roles=["mentee"], languages=["en"], working_hours=NINE_TO_FIVE)
    asked = await ok(
        await person.client.post(
            "/api/mentorships", json={"mentor_id": mentor.id, "goals": ["Ship a product"]}
        ),
        201,
    )
    await ok(await act(mentor, asked["id"], "accept"))
    return Pair(mentor, person, asked["id"])


async def count(client: TestClient[Any, Any], model: type[Base]) -> int:
    """How many rows ``model``'s table holds in the client's app."""
    async with client.app[DB].read() as s:  # type: ignore[index]
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def make_mentorship(
    app: web.Application,
    mentor: Person,
    mentee: Person,
    *,
    state: str = "active",
    retention_days: int | None = None,
) -> str:
    """A mentorship between two signed-up people, stored directly (rows.store_mentorship)."""
    return await rows.store_mentorship(
        app, mentor.id, mentee.id, state=state, retention_days=retention_days
    )


async def set_working_hours(
    app: web.Application, person: Person, hours: list[dict[str, Any]], now: datetime
) -> None:
    await rows.set_working_hours(app, person.id, hours, now)
