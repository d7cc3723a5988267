"""Profiles, discovery, requests and their lifecycle, agreements, goals and action items."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from server.core.clock import FrozenClock
from server.core.keys import BUS, CLOCK, DB
from tests.dates import local_iso, today
from tests.factories import AGREEMENT, act, ask, mentee, mentor, profile, sign_up

Client = TestClient[Any, Any]


def offset(now: datetime, zone: str) -> timedelta:
    found = now.astimezone(ZoneInfo(zone)).utcoffset()
    assert found is not None
    return found


async def test_profile_round_trips_and_sets_the_time_zone(client: Client) -> None:
    ada = await sign_up(client, timezone="Europe/Berlin")
    body = await profile(
        ada,
        roles=["mentee", "mentor"],
        headline="Compiler engineer",
        timezone="America/Sao_Paulo",
        languages=["pt-BR", "EN"],
        topics=["Compilers", "compilers", "career"],
        working_hours=[
            {"weekday": 0, "start": "09:00", "end": "12:00"},
            {"weekday": 0, "start": "12:00", "end": "17:00"},
        ],
        capacity=3,
    )
    assert body["roles"] == ["mentee", "mentor"]
    assert body["timezone"] == "America/Sao_Paulo"
    assert body["languages"] == ["pt-BR", "en"]
    assert body["topics"] == ["Compilers", "career"]
    assert body["working_hours"] == [{"weekday": 0, "start": "09:00", "end": "17:00"}]
    me = await (await client.get("/api/me")).json()
    assert me["user"]["timezone"] == "America/Sao_Paulo"
    again = await (await client.get("/api/me/profile")).json()
    assert again["headline"] == "Compiler engineer" and again["capacity"] == 3
    # Fields left out keep their value.
    kept = await profile(ada, bio="Hello")
    assert kept["headline"] == "Compiler engineer" and kept["bio"] == "Hello"


async def test_a_new_mentor_gets_places_unless_she_says_how_many(client: Client) -> None:
    """Becoming a mentor with no capacity given opens three places, so she can be found;
    a number given, even 0, is kept, and so is a capacity she set before."""
    ada = await sign_up(client)
    assert (await profile(ada, roles=["mentee"]))["capacity"] == 0
    assert (await profile(ada, roles=["mentee", "mentor"]))["capacity"] == 3
    assert (await profile(ada, capacity=0))["capacity"] == 0
    assert (await profile(ada, roles=["mentee"]))["capacity"] == 0
    assert (await profile(ada, roles=["mentor"], capacity=0))["capacity"] == 0
    assert (await profile(ada, roles=["mentee"], capacity=5))["capacity"] == 5
    assert (await profile(ada, roles=["mentor"]))["capacity"] == 5


async def test_public_profile_hides_the_email(
    client: Client, another_client: Any, now: datetime
) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    resp = await ada.client.get(f"/api/users/{grace.id}")
    body = await resp.json()
    assert resp.status == 200 and body["name"] == "Grace Hopper"
    assert "email" not in body
    assert body["local_time"].endswith(local_iso(now, "America/New_York")[-6:])  # -05:00
    assert (await ada.client.get("/api/users/nobody")).status == 404


async def test_discovery_ranks_with_reasons_overlap_and_a_strip(
    client: Client, another_client: Any, now: datetime
) -> None:
    near = await mentor(client, name="Near Mentor", timezone="Europe/Paris", topics=["python"])
    far = await mentor(
        await another_client(), name="Far Mentor", timezone="Asia/Tokyo", topics=["python"]
    )
    await mentor(await another_client(), name="German Only", languages=["de"])
    full = await mentor(await another_client(), name="Full Mentor", capacity=0)
    ada = await mentee(await another_client())
    resp = await ada.client.get("/api/mentors")
    assert resp.status == 200
    body = await resp.json()
    names = [i["mentor"]["name"] for i in body["items"]]
    assert names == ["Near Mentor", "Far Mentor"]
    first = body["items"][0]
    assert 0 <= first["score"] <= 1
    assert first["overlap_hours_per_week"] == 40.0
    assert {r["component"] for r in first["reasons"]} == {
        "topics", "values", "language", "style", "cadence", "overlap", "capacity"
    }  # fmt: skip
    assert any("English" in r["text"] for r in first["reasons"])
    assert first["strip"]["timezone"] == "Europe/Berlin"
    assert first["strip"]["both"] == [[9 * 60, 17 * 60]]
    # Tokyo's 09:00-17:00 is Berlin's 01:00-09:00 in winter, 02:00-10:00 in summer.
    ahead = (offset(now, "Asia/Tokyo") - offset(now, "Europe/Berlin")) / timedelta(hours=1)
    assert body["items"][1]["overlap_hours_per_week"] == 5 * max(0, 8 - ahead)
    everyone = await (await ada.client.get("/api/mentors?include_unavailable=true")).json()
    assert {i["mentor"]["name"] for i in everyone["items"]} == {
        "Near Mentor", "Far Mentor", "German Only", "Full Mentor"
    }  # fmt: skip
    assert not next(i for i in everyone["items"] if i["mentor"]["user_id"] == full.id)["available"]
    by_topic = await (await ada.client.get("/api/mentors?topic=Career")).json()
    assert [i["mentor"]["name"] for i in by_topic["items"]] == []
    blank = await ada.client.get("/api/mentors?topic=&language=&limit=")
    assert [i["mentor"]["name"] for i in (await blank.json())["items"]] == names
    by_lang = await (await ada.client.get("/api/mentors?language=en-US&limit=1")).json()
    assert [i["mentor"]["user_id"] for i in by_lang["items"]] == [near.id]
    assert far.id != near.id


async def test_request_accept_agree_and_work(
    client: Client, another_client: Any, now: datetime
) -> None:
    next_week = today(now, "Europe/Berlin") + timedelta(days=6)
    grace = await mentor(client)
    ada = await mentee(await another_client())
    created = await ask(ada, grace, goals=["Ship a library", "Speak at a meetup"])
    assert created["state"] == "requested"
    assert created["my_role"] == "mentee"
    assert created["allowed_actions"] == ["withdraw"]
    assert [g["text"] for g in created["goals"]] == ["Ship a library", "Speak at a meetup"]
    mid = created["id"]

    notes = await (await grace.client.get("/api/notifications")).json()
    assert notes["unread_count"] == 1
    assert notes["items"][0]["kind"] == "mentorship.requested"
    assert notes["items"][0]["link"] == f"/mentorships/{mid}"

    resp = await act(grace, mid, "accept")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["state"] == "active"
    answer = await (await ada.client.get("/api/notifications")).json()
    assert answer["items"][0]["title"] == "Grace Hopper accepted your request"

    resp = await grace.client.put(f"/api/mentorships/{mid}/agreement", json=AGREEMENT)
    assert resp.status == 201, await resp.text()
    proposed = await resp.json()
    assert proposed["agreement"]["version"] == 1
    assert proposed["agreement"]["confirmed_by"] == [grace.id]
    assert proposed["agreement_in_force"] is None
    resp = await ada.client.post(f"/api/mentorships/{mid}/agreement/confirm", json={"version": 1})
    agreed = await resp.json()
    assert agreed["agreement_in_force"]["version"] == 1
    assert agreed["agreement"]["confirmed_by"] == [grace.id, ada.id]

    # A newer proposal does not replace the agreement in force until both confirm it.
    changed = await (
        await ada.client.put(
            f"/api/mentorships/{mid}/agreement", json={**AGREEMENT, "recording_allowed": True}
        )
    ).json()
    assert changed["agreement"]["version"] == 2
    assert changed["agreement_in_force"]["version"] == 1
    stale = await grace.client.post(
        f"/api/mentorships/{mid}/agreement/confirm", json={"version": 1}
    )
    assert stale.status == 409
    assert "replaced by version 2" in (await stale.json())["detail"]

    goals = await (await ada.client.get(f"/api/mentorships/{mid}")).json()
    first = goals["goals"][0]
    resp = await grace.client.put(
        f"/api/mentorships/{mid}/goals",
        json={
            "goals": [{"id": first["id"], "text": first["text"], "achieved": True}, {"text": "New"}]
        },
    )
    body = await resp.json()
    assert [(g["text"], g["achieved"]) for g in body["goals"]] == [
        ("Ship a library", True),
        ("New", False),
    ]
    assert body["goals"][0]["id"] == first["id"]

    resp = await grace.client.post(
        f"/api/mentorships/{mid}/action-items",
        json={"title": "Read chapter 3", "owner_id": ada.id, "due_date": next_week.isoformat()},
    )
    assert resp.status == 201, await resp.text()
    item = await resp.json()
    assert item["owner_id"] == ada.id and item["done"] is False
    resp = await ada.client.patch(f"/api/action-items/{item['id']}", json={"done": True})
    done = await resp.json()
    assert done["done"] is True and done["done_at"] is not None
    listed = await (await grace.client.get(f"/api/mentorships/{mid}/action-items")).json()
    assert [i["done"] for i in listed["items"]] == [True]

    for who, action, state in [
        (ada, "pause", "paused"),
        (grace, "resume", "active"),
        (ada, "complete", "completed"),
    ]:
        resp = await act(who, mid, action, reason="fine")
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["state"] == state


async def test_illegal_transition_is_409_naming_the_state(
    client: Client, another_client: Any
) -> None:
    grace = await mentor(client)
    ada = await mentee(await another_client())
    mid = (await ask(ada, grace))["id"]
    resp = await act(grace, mid, "pause")
    assert resp.status == 409
    body = await resp.json()
    assert body["state"] == "requested" and "requested" in body["detail"]
    resp = await act(ada, mid, "accept")
    assert resp.status == 403
    assert "Only the mentor" in (await resp.json())["detail"]
    resp = await act(grace, mid, "decline", reason="No time this quarter")
    declined = await resp.json()
    assert declined["state"] == "declined" and declined["state_reason"] == "No time this quarter"
    resp = await act(grace, mid, "accept")
    assert resp.status == 409 and "declined" in (await resp.json())["detail"]
    note = (await (await ada.client.get("/api/notifications")).json())["items"][0]
    assert note["kind"] == "mentorship.declined" and note["body"] == "No time this quarter"


async def test_requests_expire_after_fourteen_days_on_read_and_by_sweeper(
    client: Client, another_client: Any
) -> None:
    clock: FrozenClock = client.app[CLOCK]  # type: ignore[index,assignment]
    grace = await mentor(client)
    ada = await mentee(await another_client())
    first = (await ask(ada, grace))["id"]
    clock.advance(timedelta(days=14))
    read = await (await ada.client.get(f"/api/mentorships/{first}")).json()
    assert read["state"] == "expired"
    resp = await act(grace, first, "accept")
    assert resp.status == 409 and "expired" in (await resp.json())["detail"]
    kinds = [
        n["kind"] for n in (await (await ada.client.get("/api/notifications")).json())["items"]
    ]
    assert kinds == ["mentorship.expired"]

    # A new request is possible once the old one expired; the sweeper stores expiry too.
    from server.mentorship import expiry

    second = (await ask(ada, grace))["id"]
    clock.advance(timedelta(days=15))
    app = client.app
    assert await expiry.expire_due(db=app[DB], bus=app[BUS], now=clock.now()) == 1  # type: ignore[index]
    assert await expiry.expire_due(db=app[DB], bus=app[BUS], now=clock.now()) == 0  # type: ignore[index]
    listed = await (await grace.client.get("/api/mentorships")).json()
    assert {m["id"]: m["state"] for m in listed["items"]} == {first: "expired", second: "expired"}


async def test_capacity_is_checked_when_accepting(client: Client, another_client: Any) -> None:
    grace = await mentor(client, capacity=1)
    ada = await mentee(await another_client())
    bob = await mentee(await another_client(), name="Bob Example")
    one = (await ask(ada, grace))["id"]
    two = (await ask(bob, grace))["id"]
    assert (await act(grace, one, "accept")).status == 200
    resp = await act(grace, two, "accept")
    assert resp.status == 409 and "places are taken" in (await resp.json())["detail"]


async def test_discovery_sees_every_profile_change_even_within_one_instant(
    client: Client, another_client: Any
) -> None:
    grace = await mentor(client, topics=["python"])
    ada = await mentee(await another_client(), topics=["python", "rust"])

    async def topics_reason() -> str:
        body = await (await ada.client.get("/api/mentors")).json()
        reason = next(r for r in body["items"][0]["reasons"] if r["component"] == "topics")
        return str(reason["text"])

    assert "1 of your 2 topics" in await topics_reason()
    await profile(grace, topics=["python", "rust"])  # the clock has not moved
    assert "2 of your 2 topics" in await topics_reason()
    await profile(grace, languages=["de"])
    assert (await (await ada.client.get("/api/mentors")).json())["items"] == []


async def test_a_paused_mentorship_keeps_its_place(client: Client, another_client: Any) -> None:
    grace = await mentor(client, capacity=1)
    ada = await mentee(await another_client())
    bob = await mentee(await another_client(), name="Bob Example")
    mid = (await ask(ada, grace))["id"]
    assert (await act(grace, mid, "accept")).status == 200
    assert (await act(ada, mid, "pause")).status == 200
    resp = await bob.client.post("/api/mentorships", json={"mentor_id": grace.id, "goals": ["x"]})
    assert resp.status == 409
    resp = await act(grace, mid, "resume")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["state"] == "active"
