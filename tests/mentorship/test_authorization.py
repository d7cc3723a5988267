"""Only the two participants see or change a mentorship; everyone else gets 404."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from server.mentorship.models import ActionItem, AgreementVersion, Goal
from tests.factories import AGREEMENT, act, ask, count, mentee, mentor, sign_up

Client = TestClient[Any, Any]


async def test_a_third_person_gets_404_everywhere(client: Client, another_client: Any) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    mid = (await ask(ada, grace, proposal=AGREEMENT))["id"]
    assert (await act(grace, mid, "accept")).status == 200
    item = await (
        await ada.client.post(f"/api/mentorships/{mid}/action-items", json={"title": "Read"})
    ).json()
    eve = await sign_up(await another_client(), name="Eve Outsider")
    # Eve is a mentor too, so role checks cannot be what stops her.
    await eve.client.put("/api/me/profile", json={"roles": ["mentor", "mentee"], "capacity": 5})
    before = [await count(client, t) for t in (Goal, AgreementVersion, ActionItem)]

    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/api/mentorships/{mid}", None),
        ("PUT", f"/api/mentorships/{mid}/agreement", AGREEMENT),
        ("POST", f"/api/mentorships/{mid}/agreement/confirm", {"version": 1}),
        ("PUT", f"/api/mentorships/{mid}/goals", {"goals": [{"text": "Mine now"}]}),
        ("GET", f"/api/mentorships/{mid}/action-items", None),
        ("POST", f"/api/mentorships/{mid}/action-items", {"title": "Snoop"}),
        ("PATCH", f"/api/action-items/{item['id']}", {"done": True}),
    ]
    calls += [
        ("POST", f"/api/mentorships/{mid}/{action}", {})
        for action in ("accept", "decline", "withdraw", "pause", "resume", "complete", "end")
    ]
    for method, path, body in calls:
        resp = await eve.client.request(method, path, json=body)
        assert resp.status == 404, (method, path, resp.status)
        problem = await resp.json()
        assert grace.id not in str(problem) and ada.id not in str(problem)

    listed = await (await eve.client.get("/api/mentorships")).json()
    assert listed["items"] == []
    assert [await count(client, t) for t in (Goal, AgreementVersion, ActionItem)] == before
    state = await (await ada.client.get(f"/api/mentorships/{mid}")).json()
    assert state["state"] == "active"
    items = await (await ada.client.get(f"/api/mentorships/{mid}/action-items")).json()
    assert [i["done"] for i in items["items"]] == [False]
