"""Builders for scheduling tests: a mentor and a mentee in an active mentorship."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server import keys
from server.db.models import Base
from tests.dates import berlin
from tests.factories import Person, sign_up

__all__ = ["OPEN", "Pair", "berlin", "count", "make_pair", "ok"]
NINE_TO_FIVE = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
OPEN = {
    "weekly": NINE_TO_FIVE,
    "notice_minutes": 0,
    "horizon_days": 365,
    "slot_step_minutes": 30,
}


@dataclass
class Pair:
    mentor: Person
    mentee: Person
    mentorship_id: str


async def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def make_pair(
    client: TestClient[Any, Any],
    other: TestClient[Any, Any],
    *,
    mentor_zone: str = "Europe/Berlin",
    mentee_zone: str = "America/New_York",
    mentor: Person | None = None,
    availability: dict[str, Any] | None = None,
) -> Pair:
    """Sign both up, mentee asks, mentor accepts (through the API), mentor sets hours."""
    if mentor is None:
        mentor = await sign_up(client, name="Greta Berlin", timezone=mentor_zone)
        await ok(
            await mentor.client.put(
                "/api/me/profile",
                json={
                    "roles": ["mentor"],
                    "languages": ["en"],
                    "working_hours": NINE_TO_FIVE,
                    "capacity": 5,
                },
            )
        )
        await ok(await mentor.client.put("/api/me/availability", json=availability or OPEN))
    mentee = await sign_up(other, name="Nora York", timezone=mentee_zone)
    await ok(
        await mentee.client.put(
            "/api/me/profile",
            json={"roles": ["mentee"], "languages": ["en"], "working_hours": NINE_TO_FIVE},
        )
    )
    asked = await ok(
        await mentee.client.post(
            "/api/mentorships", json={"mentor_id": mentor.id, "goals": ["Ship a product"]}
        ),
        201,
    )
    await ok(await mentor.client.post(f"/api/mentorships/{asked['id']}/accept", json={}))
    return Pair(mentor, mentee, asked["id"])


@pytest.fixture
async def pair(client: TestClient[Any, Any], another_client: Any) -> Pair:
    """A mentor in Berlin (this client) and a mentee in New York."""
    return await make_pair(client, await another_client())


async def count(client: TestClient[Any, Any], model: type[Base]) -> int:
    async with client.app[keys.DB].read() as s:  # type: ignore[index]
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)
