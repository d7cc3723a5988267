"""Bad requests get a clear 4xx problem and store nothing."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.mentorship.models import ActionItem, AgreementVersion, Goal, Mentorship, Profile
from server.notifications.models import Notification
from tests.factories import AGREEMENT, act, ask, count, mentee, mentor, profile, sign_up

Client = TestClient[Any, Any]


async def problem(resp: Any, status: int, *words: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json()
    for word in words:
        assert word in body["detail"], body
    return body


async def nothing_stored(client: Client) -> None:
    for table in (Mentorship, Goal, AgreementVersion, Notification):
        assert await count(client, table) == 0, table.__name__


async def test_unknown_mentor(client: Client) -> None:
    ada = await mentee(client)
    resp = await client.post("/api/mentorships", json={"mentor_id": "nobody", "goals": ["Learn"]})
    body = await problem(resp, 422, "no mentor")
    assert body["errors"][0]["field"] == "mentor_id"
    await nothing_stored(client)
    assert ada.id


async def test_someone_who_is_not_a_mentor(client: Client, another_client: Any) -> None:
    bob = await mentee(client, name="Bob Example")
    ada = await mentee(await another_client())
    resp = await ada.client.post("/api/mentorships", json={"mentor_id": bob.id, "goals": ["x"]})
    await problem(resp, 422, "no mentor")
    await nothing_stored(client)


async def test_request_to_oneself(client: Client) -> None:
    both = await mentor(client)
    await profile(both, roles=["mentor", "mentee"])
    resp = await client.post("/api/mentorships", json={"mentor_id": both.id, "goals": ["Grow"]})
    await problem(resp, 422, "yourself")
    await nothing_stored(client)


async def test_second_open_request_to_the_same_mentor(client: Client, another_client: Any) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    first = await ask(ada, grace)
    resp = await ada.client.post(
        "/api/mentorships", json={"mentor_id": grace.id, "goals": ["Again"], "message": "2nd"}
    )
    body = await problem(resp, 409, "already have a requested mentorship")
    assert body["mentorship_id"] == first["id"]
    assert await count(client, Mentorship) == 1
    assert await count(client, Goal) == 1
    assert await count(client, Notification) == 1


async def test_mentor_at_capacity(client: Client, another_client: Any) -> None:
    grace = await mentor(client, capacity=1)
    ada = await mentee(await another_client())
    bob = await mentee(await another_client(), name="Bob Example")
    mid = (await ask(ada, grace))["id"]
    assert (await act(grace, mid, "accept")).status == 200
    before = (await count(client, Mentorship), await count(client, Notification))
    resp = await bob.client.post("/api/mentorships", json={"mentor_id": grace.id, "goals": ["x"]})
    await problem(resp, 409, "no free places", "1 of 1")
    assert (await count(client, Mentorship), await count(client, Notification)) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"goals": []}, "goals"),
        ({"goals": ["   "]}, "goals.0"),
        ({"goals": ["g"] * 11}, "goals"),
        ({"goals": ["x" * 301]}, "goals.0"),
        ({"goals": ["ok"], "message": "m" * 2001}, "message"),
        ({"goals": ["ok"], "surprise": 1}, "surprise"),
        (
            {"goals": ["ok"], "proposal": {**AGREEMENT, "session_minutes": 5}},
            "proposal.session_minutes",
        ),
        ({"goals": ["ok"], "proposal": {**AGREEMENT, "channel": "fax"}}, "proposal.channel"),
    ],
)
async def test_bad_request_bodies(
    client: Client, another_client: Any, body: dict[str, Any], field: str
) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    resp = await ada.client.post("/api/mentorships", json={"mentor_id": grace.id, **body})
    problem_doc = await problem(resp, 422)
    assert problem_doc["errors"][0]["field"] == field
    await nothing_stored(client)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"languages": ["english!"]}, "languages.0"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"roles": ["guru"]}, "roles.0"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": 51}, "capacity"),
        ({"style": "telepathy"}, "style"),
        (
            {"working_hours": [{"weekday": 7, "start": "09:00", "end": "10:00"}]},
            "working_hours.0.weekday",
        ),
        ({"working_hours": [{"weekday": 1, "start": "10:00", "end": "09:00"}]}, "working_hours.0"),
        (
            {"working_hours": [{"weekday": 1, "start": "9am", "end": "10:00"}]},
            "working_hours.0.start",
        ),
        (
            {"working_hours": [{"weekday": 1, "start": "09:00", "end": "24:30"}]},
            "working_hours.0.end",
        ),
        ({"bio": "b" * 4001}, "bio"),
        ({"topics": ["t" * 61]}, "topics.0"),
    ],
)
async def test_bad_profiles_change_nothing(
    client: Client, fields: dict[str, Any], field: str
) -> None:
    ada = await sign_up(client)
    await profile(ada, headline="Before", capacity=1)
    resp = await client.put("/api/me/profile", json={"headline": "After", **fields})
    body = await problem(resp, 422)
    assert body["errors"][0]["field"] == field
    kept = await (await client.get("/api/me/profile")).json()
    assert kept["headline"] == "Before" and kept["capacity"] == 1
    assert kept["timezone"] == "Europe/Berlin"
    assert await count(client, Profile) == 1


async def test_bad_working_material_changes_nothing(client: Client, another_client: Any) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    mid = (await ask(ada, grace))["id"]
    # Goals and action items wait until the mentorship is active.
    resp = await ada.client.put(f"/api/mentorships/{mid}/goals", json={"goals": [{"text": "x"}]})
    await problem(resp, 409, "requested")
    resp = await ada.client.post(f"/api/mentorships/{mid}/action-items", json={"title": "x"})
    await problem(resp, 409, "requested")
    assert (await act(grace, mid, "accept")).status == 200
    stranger = await sign_up(await another_client(), name="Eve Outsider")
    resp = await ada.client.post(
        f"/api/mentorships/{mid}/action-items", json={"title": "x", "owner_id": stranger.id}
    )
    await problem(resp, 422, "participants")
    resp = await ada.client.put(
        f"/api/mentorships/{mid}/goals", json={"goals": [{"id": "forged", "text": "x"}]}
    )
    await problem(resp, 422)
    resp = await ada.client.put(f"/api/mentorships/{mid}/goals", json={"goals": []})
    await problem(resp, 422)
    resp = await ada.client.put(
        f"/api/mentorships/{mid}/agreement", json={**AGREEMENT, "media_retention_days": 0}
    )
    await problem(resp, 422)
    resp = await ada.client.post(f"/api/mentorships/{mid}/agreement/confirm", json={"version": 1})
    await problem(resp, 422, "no agreement version 1")
    resp = await act(ada, mid, "pause", reason="r" * 1001)
    await problem(resp, 422)
    detail = await (await ada.client.get(f"/api/mentorships/{mid}")).json()
    assert detail["state"] == "active"
    assert [g["text"] for g in detail["goals"]] == ["Ship a library"]
    assert await count(client, ActionItem) == 0
    assert await count(client, AgreementVersion) == 0


async def test_signed_out_is_401(client: Client) -> None:
    for method, path in [
        ("GET", "/api/me/profile"),
        ("GET", "/api/mentors"),
        ("GET", "/api/mentorships"),
        ("GET", "/api/notifications"),
    ]:
        resp = await client.request(method, path)
        assert resp.status == 401, path


async def test_bad_discovery_queries(client: Client) -> None:
    await mentee(client)
    for query in ("limit=0", "limit=1000", "language=%%%", "include_unavailable=maybe"):
        resp = await client.get(f"/api/mentors?{query}")
        await problem(resp, 422)
