"""Busy-calendar import against a real HTTP server on loopback serving .ics files."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from server.config import Settings
from server.core.clock import FrozenClock
from server.core.keys import DB
from server.ical.busy_fetch import FetchError, check_host
from server.ical.keys import BUSY_CALENDARS
from server.ical.models import BusyCalendar, BusyInterval
from server.scheduling.keys import BUSY_SOURCES
from tests.dates import DEFAULT_NOW, stands_on
from tests.factories import Person, sign_up
from tests.ical.ics import calendar, sample, vevent

Client = Any
MB = 1024 * 1024
# The sample calendar's events fall in December 2026 and March 2027: these tests stand
# on the default now, before them.
SAMPLE_DAYS = stands_on(DEFAULT_NOW)


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    # The calendar server these tests fetch from listens on loopback.
    return make_settings(
        database_url, busy_fetch_timeout_seconds=1, busy_allow_private_addresses=True
    )


@dataclass
class Remote:
    """A calendar server elsewhere: serves ``body`` with an ETag, counts what it was asked."""

    body: bytes = field(default_factory=sample)
    requests: list[dict[str, str]] = field(default_factory=list)
    base: str = ""

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    async def ics(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        etag = f'"v{hash(self.body) & 0xFFFFFF:x}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=self.body,
            content_type="text/calendar",
            headers={"ETag": etag, "Last-Modified": "Mon, 23 Nov 2026 10:00:00 GMT"},
        )

    async def big(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/calendar"})
        await response.prepare(request)
        await response.write(b"BEGIN:VCALENDAR\r\n")
        line = b"X-FILLER:" + b"x" * 1014 + b"\r\n"
        with_chunks = line * 1024  # 1 MiB
        try:
            for _ in range(50):
                await response.write(with_chunks)
        except (ConnectionError, RuntimeError):
            pass
        return response

    async def hang(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(30)
        return web.Response(text="too late")


def _to(location: str) -> Callable[[web.Request], Any]:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    return redirect


@pytest.fixture
async def remote(aiohttp_server: Callable[..., Any]) -> Remote:
    state = Remote()
    app = web.Application()
    app.router.add_get("/cal.ics", state.ics)
    app.router.add_get("/big.ics", state.big)
    app.router.add_get("/hang.ics", state.hang)
    app.router.add_get("/moved.ics", _to("/cal.ics"))
    app.router.add_get("/loop.ics", _to("/loop.ics"))
    server = await aiohttp_server(app)
    state.base = str(server.make_url("")).rstrip("/")
    return state


async def add(person: Person, url: str, **extra: str) -> tuple[int, dict[str, Any]]:
    resp = await person.client.post("/api/me/busy-calendars", json={"url": url, **extra})
    body: dict[str, Any] = await resp.json()
    return resp.status, body


async def busy(client: Client, person: Person, days: int = 180) -> list[tuple[datetime, datetime]]:
    start = datetime(2026, 11, 25, tzinfo=UTC)
    sources = client.app[BUSY_SOURCES]
    out: list[tuple[datetime, datetime]] = []
    for source in sources:
        out += await source([person.id], start, start + timedelta(days=days))
    return sorted(out)


async def stored(client: Client) -> tuple[int, int]:
    async with client.app[DB].read() as s:
        calendars = await s.scalar(select(func.count()).select_from(BusyCalendar))
        intervals = await s.scalar(select(func.count()).select_from(BusyInterval))
    return int(calendars or 0), int(intervals or 0)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@SAMPLE_DAYS
async def test_recurring_all_day_and_transparent_events_by_url(
    client: Client, remote: Remote
) -> None:
    person = await sign_up(client, timezone="Europe/Berlin")
    status, body = await add(person, remote.url("cal.ics"), name="Work")
    assert status == 201, body
    assert body["status"] == "ok" and body["error"] == "" and body["name"] == "Work"
    assert body["source"] == "url" and body["last_success_at"] is not None
    found = await busy(client, person)
    assert (utc(2026, 12, 2, 14, 0), utc(2026, 12, 2, 14, 30)) in found  # standup, EST
    assert (utc(2027, 3, 17, 13, 0), utc(2027, 3, 17, 13, 30)) in found  # standup, EDT
    assert (utc(2026, 12, 2, 15, 0), utc(2026, 12, 3, 15, 0)) in found  # all day in Tokyo
    assert not any(a == utc(2026, 12, 4, 12, 0) for a, _ in found)  # transparent
    assert not any(a == utc(2026, 12, 5, 12, 0) for a, _ in found)  # cancelled
    assert body["event_count"] == len(found)
    listed = await (await person.client.get("/api/me/busy-calendars")).json()
    assert [c["id"] for c in listed["items"]] == [body["id"]]


async def test_refresh_is_a_conditional_get(client: Client, remote: Remote) -> None:
    person = await sign_up(client)
    _, body = await add(person, remote.url("cal.ics"))
    before = await busy(client, person)
    resp = await person.client.post(f"/api/me/busy-calendars/{body['id']}/refresh")
    assert resp.status == 200
    assert "If-None-Match" not in remote.requests[0]
    assert remote.requests[-1]["If-None-Match"].startswith('"v')  # the ETag it was given
    assert remote.requests[-1]["If-Modified-Since"] == "Mon, 23 Nov 2026 10:00:00 GMT"
    assert (await resp.json())["status"] == "ok"
    assert await busy(client, person) == before


@SAMPLE_DAYS
async def test_malformed_text_is_a_clear_error_and_the_last_good_copy_keeps_counting(
    client: Client, remote: Remote
) -> None:
    person = await sign_up(client)
    _, body = await add(person, remote.url("cal.ics"))
    good = await busy(client, person)
    assert good
    remote.body = b"<html><body>Service temporarily unavailable</body></html>"
    resp = await person.client.post(f"/api/me/busy-calendars/{body['id']}/refresh")
    refreshed = await resp.json()
    assert refreshed["status"] == "error"
    assert "not an iCalendar file" in refreshed["error"]
    assert refreshed["last_success_at"] == body["last_success_at"]
    assert await busy(client, person) == good
    listed = await (await person.client.get("/api/me/busy-calendars")).json()
    assert listed["items"][0]["error"] == refreshed["error"]

    remote.body = calendar(vevent("new", "DTSTART:20261210T100000Z", "DTEND:20261210T110000Z"))
    resp = await person.client.post(f"/api/me/busy-calendars/{body['id']}/refresh")
    assert (await resp.json())["status"] == "ok"
    assert await busy(client, person) == [(utc(2026, 12, 10, 10), utc(2026, 12, 10, 11))]


async def test_a_50_megabyte_calendar_is_refused(client: Client, remote: Remote) -> None:
    person = await sign_up(client)
    status, body = await add(person, remote.url("big.ics"))
    assert status == 201
    assert body["status"] == "error" and "larger than the 10 MiB" in body["error"]
    assert await busy(client, person) == []

    resp = await person.client.post(
        "/api/me/busy-calendars",
        data=b"BEGIN:VCALENDAR\r\n" + b"x" * (50 * MB),
        headers={"Content-Type": "text/calendar"},
    )
    assert resp.status == 413
    assert resp.content_type == "application/problem+json"
    assert await stored(client) == (1, 0)


async def test_a_server_that_hangs_times_out(client: Client, remote: Remote) -> None:
    person = await sign_up(client)
    began = time.monotonic()
    status, body = await add(person, remote.url("hang.ics"))
    assert time.monotonic() - began < 10
    assert status == 201
    assert body["status"] == "error" and "did not answer within 1 seconds" in body["error"]


async def test_unreachable_and_missing_calendars_show_their_error(
    client: Client, remote: Remote
) -> None:
    person = await sign_up(client)
    _, missing = await add(person, remote.url("nothing-here.ics"))
    assert missing["status"] == "error" and "404" in missing["error"]


@SAMPLE_DAYS
async def test_redirects_are_followed_a_few_times(client: Client, remote: Remote) -> None:
    person = await sign_up(client)
    _, moved = await add(person, remote.url("moved.ics"))
    assert moved["status"] == "ok" and moved["event_count"] > 0
    _, looping = await add(person, remote.url("loop.ics"))
    assert looping["status"] == "error" and "redirected more than 5 times" in looping["error"]


@SAMPLE_DAYS
async def test_uploaded_file_counts_and_bad_uploads_store_nothing(client: Client) -> None:
    person = await sign_up(client, timezone="America/Sao_Paulo")
    resp = await person.client.post(
        "/api/me/busy-calendars?name=Holidays",
        data=sample(),
        headers={"Content-Type": "text/calendar"},
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["source"] == "upload" and body["status"] == "ok" and body["name"] == "Holidays"
    assert (utc(2026, 12, 2, 15, 0), utc(2026, 12, 3, 15, 0)) in await busy(client, person)
    before = await stored(client)

    for data in (b"not a calendar", b"", calendar(vevent("x", "DTSTART:garbage"))):
        resp = await person.client.post(
            "/api/me/busy-calendars", data=data, headers={"Content-Type": "text/calendar"}
        )
        assert resp.status == 422, await resp.text()
        problem = await resp.json()
        assert problem["errors"][0]["field"] == "file"
    assert await stored(client) == before


async def test_a_form_upload_works_like_a_file_upload(client: Client) -> None:
    person = await sign_up(client)
    form = aiohttp.FormData()
    form.add_field("file", sample(), filename="Team holidays.ics", content_type="text/calendar")
    resp = await person.client.post("/api/me/busy-calendars", data=form)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["name"] == "Team holidays" and body["status"] == "ok"

    before = await stored(client)
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("notes", "no file here")
    resp = await person.client.post("/api/me/busy-calendars", data=form)
    assert resp.status == 422
    assert (await resp.json())["errors"][0]["field"] == "file"
    assert await stored(client) == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "ftp://example.org/cal.ics"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": ""}, "url"),
        ({}, "url"),
        ({"url": "https://example.org/a.ics", "colour": "red"}, "colour"),
    ],
)
async def test_bad_urls_are_refused_and_store_nothing(
    client: Client, payload: dict[str, str], field: str
) -> None:
    person = await sign_up(client)
    resp = await person.client.post("/api/me/busy-calendars", json=payload)
    assert resp.status == 422
    problem = await resp.json()
    assert problem["errors"][0]["field"] == field
    assert await stored(client) == (0, 0)


async def test_due_calendars_are_polled_once_per_period(
    client: Client, remote: Remote, clock: FrozenClock
) -> None:
    person = await sign_up(client)
    await add(person, remote.url("cal.ics"))
    service = client.app[BUSY_CALENDARS]
    asked = len(remote.requests)
    assert await service.poll_once() == 0
    clock.advance(timedelta(minutes=31))
    assert await service.poll_once() == 1
    assert len(remote.requests) == asked + 1
    assert "If-None-Match" in remote.requests[-1]
    assert await service.poll_once() == 0  # claimed until the next period


@SAMPLE_DAYS
async def test_removing_a_calendar_forgets_its_busy_time(
    client: Client, remote: Remote, another_client: Callable[[], Any]
) -> None:
    person = await sign_up(client)
    stranger = await sign_up(await another_client(), name="Eve Outsider")
    _, body = await add(person, remote.url("cal.ics"))
    path = f"/api/me/busy-calendars/{body['id']}"
    assert (await stranger.client.delete(path)).status == 404
    assert (await stranger.client.post(path + "/refresh")).status == 404
    assert await busy(client, person)
    assert (await person.client.delete(path)).status == 204
    assert await busy(client, person) == []
    assert await stored(client) == (0, 0)


async def test_addresses_inside_the_network_are_refused_unless_allowed() -> None:
    for url in ("http://127.0.0.1:6379/", "http://10.0.0.8/cal.ics", "http://localhost/cal.ics"):
        with pytest.raises(FetchError, match="private network"):
            await check_host(url, allow_private=False)
    await check_host("http://127.0.0.1/cal.ics", allow_private=True)
