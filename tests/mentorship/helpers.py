"""Builders for mentorship tests: people with profiles, and requests between them."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server import keys
from server.db.models import Base
from tests.factories import Person, sign_up

NINE_TO_FIVE = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
AGREEMENT = {
    "cadence": "biweekly",
    "session_minutes": 45,
    "channel": "live",
    "recording_allowed": False,
    "confidential_topics": ["salary"],
    "media_retention_days": 30,
    "review_date": "2027-03-01",
}


async def profile(person: Person, **fields: Any) -> dict[str, Any]:
    resp = await person.client.put("/api/me/profile", json=fields)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def mentor(
    client: TestClient[Any, Any],
    *,
    name: str = "Grace Hopper",
    timezone: str = "America/New_York",
    capacity: int = 2,
    **fields: Any,
) -> Person:
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
    client: TestClient[Any, Any],
    *,
    name: str = "Ada Lovelace",
    timezone: str = "Europe/Berlin",
    **fields: Any,
) -> Person:
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
    resp = await who.client.post(
        "/api/mentorships",
        json={
            "mentor_id": whom.id,
            "goals": goals or ["Ship a library"],
            "message": "Hello!",
            **extra,
        },
    )
    assert resp.status == 201, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def act(who: Person, mentorship_id: str, action: str, **body: Any) -> Any:
    return await who.client.post(f"/api/mentorships/{mentorship_id}/{action}", json=body)


async def count(client: TestClient[Any, Any], table: type[Base]) -> int:
    async with client.app[keys.DB].read() as s:  # type: ignore[index]
        return int(await s.scalar(select(func.count()).select_from(table)) or 0)
