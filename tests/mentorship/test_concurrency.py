"""Racing requests never break the rules: one open request per pair, capacity holds."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from server.mentorship.models import Mentorship
from tests.factories import act, ask, count, mentee, mentor

Client = TestClient[Any, Any]


async def test_simultaneous_requests_to_one_mentor_store_one(
    client: Client, another_client: Any
) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    body = {"mentor_id": grace.id, "goals": ["Learn"], "message": "hi"}
    answers = await asyncio.gather(
        *(ada.client.post("/api/mentorships", json=body) for _ in range(6))
    )
    statuses = sorted(r.status for r in answers)
    assert statuses == [201, 409, 409, 409, 409, 409]
    assert await count(client, Mentorship) == 1


async def test_simultaneous_accepts_respect_capacity(client: Client, another_client: Any) -> None:
    grace = await mentor(client, capacity=1)
    ids = []
    for name in ("Ada Lovelace", "Bob Example", "Cleo Example"):
        person = await mentee(await another_client(), name=name)
        ids.append((await ask(person, grace))["id"])
    answers = await asyncio.gather(*(act(grace, mid, "accept") for mid in ids))
    assert sorted(r.status for r in answers) == [200, 409, 409]
    listed = await (await grace.client.get("/api/mentorships?state=active")).json()
    assert len(listed["items"]) == 1
