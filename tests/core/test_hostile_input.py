"""Hostile input at the edge: NUL characters anywhere and JSON nested without end.

PostgreSQL cannot store U+0000 in text, SQLite can; either way a NUL is refused before
any handler sees it, with the same 422 on both databases, and nothing is written.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.accounts.models import UserSession
from server.core.jsontext import TooDeep, loads, nesting_exceeds
from server.core.keys import DB
from server.db.base import Base
from server.ical.models import BusyCalendar
from server.mentorship.models import ActionItem, Profile
from server.scheduling.models import Availability, Booking
from server.threads.models import Message, Upload
from tests.factories import PASSWORD, Pair, make_pair, ok, sign_up

Client = TestClient[Any, Any]
NUL = "\x00"
TUS = {"Tus-Resumable": "1.0.0"}
MONDAY_10_BERLIN = "2026-11-30T09:00:00Z"


async def problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


async def refused_nul(resp: Any, field: str) -> None:
    body = await problem(resp, 422)
    assert [e["field"] for e in body["errors"]] == [field], body
    assert "NUL" in body["detail"], body


async def count(client: Client, table: type[Base]) -> int:
    async with client.app[DB].read() as s:
        return int(await s.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
async def pair(client: Client, another_client: Any) -> Pair:
    return await make_pair(client, await another_client())


# --- NUL in JSON bodies -------------------------------------------------------------------


async def test_nul_in_the_login_email_is_422_and_signs_nobody_in(client: Client) -> None:
    ada = await sign_up(client)
    before = await count(client, UserSession)
    resp = await client.post(
        "/api/auth/login", json={"email": ada.email + NUL, "password": PASSWORD}
    )
    await refused_nul(resp, "email")
    assert await count(client, UserSession) == before


async def test_nul_in_a_headline_is_422_and_the_profile_is_unchanged(client: Client) -> None:
    ada = await sign_up(client)
    await ok(await ada.client.put("/api/me/profile", json={"headline": "Engineer"}))
    resp = await ada.client.put("/api/me/profile", json={"headline": "Evil" + NUL + "twin"})
    await refused_nul(resp, "headline")
    async with client.app[DB].read() as s:
        profile = await s.get(Profile, ada.id)
    assert profile is not None and profile.headline == "Engineer"


async def test_nul_in_a_message_body_is_422_and_posts_nothing(pair: Pair) -> None:
    resp = await pair.mentee.client.post(
        f"/api/mentorships/{pair.mentorship_id}/messages",
        json={"kind": "text", "body": "hello" + NUL},
    )
    await refused_nul(resp, "body")
    assert await count(pair.mentor.client, Message) == 0


async def test_nul_in_an_action_item_title_is_422_and_adds_nothing(pair: Pair) -> None:
    resp = await pair.mentor.client.post(
        f"/api/mentorships/{pair.mentorship_id}/action-items", json={"title": NUL}
    )
    await refused_nul(resp, "title")
    assert await count(pair.mentor.client, ActionItem) == 0


async def test_nul_in_notes_and_nested_agenda_is_422_and_the_booking_is_unchanged(
    pair: Pair,
) -> None:
    created = await pair.mentee.client.post(
        "/api/bookings",
        json={
            "mentorship_id": pair.mentorship_id,
            "start": MONDAY_10_BERLIN,
            "duration_minutes": 60,
        },
    )
    booking = (await ok(created, 201))["booking"]
    url = f"/api/bookings/{booking['id']}"
    await ok(await pair.mentor.client.put(url + "/notes", json={"text": "Bring numbers"}))

    await refused_nul(await pair.mentor.client.put(url + "/notes", json={"text": NUL}), "text")
    agenda = {"items": [{"text": "Fine"}, {"text": "Not" + NUL}]}
    await refused_nul(await pair.mentee.client.put(url + "/agenda", json=agenda), "items.1.text")

    async with pair.mentor.client.app[DB].read() as s:
        row = await s.get(Booking, booking["id"])
    assert row is not None and row.notes == "Bring numbers" and not row.agenda


async def test_nul_in_a_key_is_named_too(client: Client) -> None:
    ada = await sign_up(client)
    resp = await ada.client.put("/api/me/profile", json={"head" + NUL + "line": "x"})
    await refused_nul(resp, "head\\u0000line")
    async with client.app[DB].read() as s:
        assert await s.get(Profile, ada.id) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"name": "Ada \\udc80"}', "name"),
        (b'{"name": "\\ud800x"}', "name"),
        (b'{"timezone": "Europe/Berlin", "n\\udfffme": "x"}', "n\ufffdme"),
    ],
)
async def test_a_lone_surrogate_is_422_and_changes_nothing(
    client: Client, body: bytes, field: str
) -> None:
    ada = await sign_up(client)
    resp = await ada.client.patch(
        "/api/me", data=body, headers={"Content-Type": "application/json"}
    )
    problem_doc = await problem(resp, 422)
    assert [e["field"] for e in problem_doc["errors"]] == [field]
    assert "surrogate" in problem_doc["detail"]
    me = await ok(await ada.client.get("/api/me"))
    assert me["user"]["name"] == "Ada Lovelace"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
async def test_nan_and_infinity_are_not_json(client: Client, constant: bytes) -> None:
    ada = await sign_up(client)
    resp = await ada.client.put(
        "/api/me/profile",
        data=b'{"capacity": ' + constant + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert "not valid JSON" in (await problem(resp, 400))["detail"]
    async with client.app[DB].read() as s:
        assert await s.get(Profile, ada.id) is None


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/me/profile", {"capacity": False}, "capacity"),
        ("/api/me/profile", {"capacity": "3"}, "capacity"),
        ("/api/me/profile", {"capacity": 2.5}, "capacity"),
        ("/api/me/availability", {"weekly": [], "notice_minutes": True}, "notice_minutes"),
        ("/api/me/availability", {"weekly": [], "horizon_days": "30"}, "horizon_days"),
        ("/api/me/profile", {"headline": 7}, "headline"),
    ],
)
async def test_json_values_must_have_the_documented_type(
    client: Client, path: str, body: dict[str, Any], field: str
) -> None:
    ada = await sign_up(client)
    resp = await ada.client.put(path, json=body)
    problem_doc = await problem(resp, 422)
    assert [e["field"] for e in problem_doc["errors"]] == [field]
    async with client.app[DB].read() as s:
        assert await s.get(Profile, ada.id) is None
        assert await s.get(Availability, ada.id) is None


# --- NUL in query and path parameters ------------------------------------------------------


async def test_nul_in_query_parameters_is_422(pair: Pair) -> None:
    mentee = pair.mentee.client
    await refused_nul(await mentee.get("/api/mentors?topic=py%00thon"), "topic")
    await refused_nul(
        await mentee.get(f"/api/mentorships/{pair.mentorship_id}/messages?before=%00"), "before"
    )
    await refused_nul(
        await mentee.get(f"/api/mentors/{pair.mentor.id}/slots?tz=Europe/Berlin%00"), "tz"
    )
    # A parameter no model declares, or a NUL in its name, is refused just the same.
    await refused_nul(await mentee.get("/api/me?x%00y=1"), "x\\u0000y")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/mentorships/%00"),
        ("GET", "/api/mentorships/a%00b/messages"),
        ("GET", "/api/users/%00"),
        ("PATCH", "/api/action-items/%00"),
        ("PUT", "/api/bookings/%00/notes"),
        ("GET", "/api/bookings/%00/invite.ics"),
        ("GET", "/api/media/%00"),
        ("HEAD", "/api/uploads/%00"),
        ("DELETE", "/api/me/busy-calendars/%00"),
        ("GET", "/api/rooms/%00/ws?token=a.b"),
        ("GET", "/%00"),
        ("GET", "/static/%00.js"),
    ],
)
async def test_nul_in_a_path_parameter_is_a_clean_4xx(
    client: Client, method: str, path: str
) -> None:
    await sign_up(client)
    resp = await client.request(method, path, json={"text": "x"}, headers=TUS)
    assert resp.status in (404, 422), await resp.text()
    if method != "HEAD":
        assert resp.content_type == "application/problem+json"


# --- NUL in header values and form fields --------------------------------------------------


async def test_nul_in_tus_metadata_is_422_and_creates_no_upload(
    client: Client, tmp_path: Path
) -> None:
    ada = await sign_up(client)
    evil = base64.b64encode(b"clip\x00.webm").decode()
    resp = await ada.client.post(
        "/api/uploads/",
        headers={**TUS, "Upload-Length": "10", "Upload-Metadata": f"filename {evil}"},
    )
    await refused_nul(resp, "Upload-Metadata.filename")
    assert resp.headers["Tus-Resumable"] == "1.0.0"
    assert await count(client, Upload) == 0
    media = tmp_path / "media"
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize(
    "disposition",
    ['filename="team%00.ics"', "filename*=UTF-8''team%00.ics"],
    ids=["percent-encoded", "rfc-5987"],
)
async def test_nul_in_a_form_file_name_is_422_and_imports_nothing(
    client: Client, disposition: str
) -> None:
    ada = await sign_up(client)
    calendar = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        b"UID:1@t\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261201T100000Z\r\n"
        b"DTEND:20261201T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    form = (
        b"--b0undary\r\n"
        + f'Content-Disposition: form-data; name="file"; {disposition}\r\n'.encode()
        + b"Content-Type: text/calendar\r\n\r\n"
        + calendar
        + b"\r\n--b0undary--\r\n"
    )
    resp = await ada.client.post(
        "/api/me/busy-calendars",
        data=form,
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    await refused_nul(resp, "file")
    assert await count(client, BusyCalendar) == 0


async def raw_request(client: Client, head: bytes, body: bytes = b"") -> tuple[int, bytes, bytes]:
    """Send bytes no HTTP client library would: header values that are not UTF-8."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(head + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    headers, _, content = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), headers, content


@pytest.mark.parametrize(
    "credential",
    [b"Cookie: meridian_session=caf\xe9", b"Authorization: Bearer caf\xe9"],
    ids=["cookie", "bearer"],
)
async def test_a_credential_that_is_not_utf8_is_401(client: Client, credential: bytes) -> None:
    status, headers, content = await raw_request(
        client, b"GET /api/me HTTP/1.1\r\nHost: meridian.test\r\n" + credential
    )
    assert status == 401, content
    assert b"application/problem+json" in headers


async def test_a_user_agent_that_is_not_utf8_is_stored_readably(client: Client) -> None:
    ada = await sign_up(client)
    body = json.dumps({"email": ada.email, "password": PASSWORD}).encode()
    status, _, content = await raw_request(
        client,
        b"POST /api/auth/login HTTP/1.1\r\nHost: meridian.test\r\n"
        b"Content-Type: application/json\r\nUser-Agent: Caf\xe9Browser/1.0\r\n"
        + f"Content-Length: {len(body)}".encode(),
        body,
    )
    assert status == 200, content
    async with client.app[DB].read() as s:
        agents = set((await s.scalars(select(UserSession.user_agent))).all())
    assert "Caf\ufffdBrowser/1.0" in agents


# --- JSON nested without end ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"a":' * 50_000,
        b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"[" * 33 + b"]" * 33,
    ],
    ids=["arrays", "objects", "balanced-in-a-field", "just-too-deep"],
)
async def test_deeply_nested_json_is_400(client: Client, body: bytes) -> None:
    ada = await sign_up(client)
    resp = await ada.client.patch(
        "/api/me", data=body, headers={"Content-Type": "application/json"}
    )
    problem_doc = await problem(resp, 400)
    assert "nested" in problem_doc["detail"]
    me = await ok(await ada.client.get("/api/me"))
    assert me["user"]["name"] == "Ada Lovelace"


async def test_brackets_inside_strings_do_not_count_as_nesting(client: Client) -> None:
    ada = await sign_up(client)
    name = "[{" * 40 + '"\\'
    resp = await ada.client.patch("/api/me", json={"name": name})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["user"]["name"] == name


async def test_nesting_up_to_the_limit_is_parsed(client: Client) -> None:
    ada = await sign_up(client)
    deep: Any = "x"
    for _ in range(31):
        deep = [deep]
    resp = await ada.client.patch("/api/me", json={"name": deep})
    body = await problem(resp, 422)  # parsed, then refused by the model: not a string
    assert body["errors"][0]["field"] == "name"


# --- the nesting check itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "too_deep"),
    [
        (b"[" * 32 + b"]" * 32, False),
        (b"[" * 33 + b"]" * 33, True),
        (b"[" * 33, True),  # unterminated: the parser would still recurse
        (b"[]" * 10_000, False),
        (b'["' + b"[" * 100 + b'"]', False),
        (b'["\\"' + b"[" * 100 + b'"]', False),  # an escaped quote does not end the string
        (b'["\\\\"' + b"[" * 100 + b"]", True),  # an escaped backslash does
        (b'"' + b"[" * 100, False),  # an unterminated string swallows the rest
        (b"]" + b"[" * 100, False),  # the parser stops at the first character
        (b'{"a":{"b":' * 17 + b"1" + b"}}" * 17, True),
        ('{"é":' * 16 + "1" + "}" * 16, False),
    ],
)
def test_nesting_is_measured_outside_strings(raw: bytes | str, too_deep: bool) -> None:
    data = raw.encode() if isinstance(raw, str) else raw
    assert nesting_exceeds(data) is too_deep
    if too_deep:
        with pytest.raises(TooDeep):
            loads(raw)
