"""Imported calendars never reach the server's own network, and their use is bounded.

The calendar server here is a real aiohttp server on loopback. By default Meridian must
refuse to fetch from it (loopback is inside the network); with
BUSY_ALLOW_PRIVATE_ADDRESSES it may. DNS answers that change between look-ups (DNS
rebinding) are played by a small resolver standing in for a hostile name server.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from sqlalchemy import func, select

from server.app import create_app
from server.config import Settings
from server.core.ids import new_id
from server.core.keys import CLOCK, DB, SETTINGS
from server.ical.busy_fetch import FetchError, PrivateAddress, PublicResolver, is_public_address
from server.ical.busy_service import MAX_CALENDARS, BusyCalendars
from server.ical.http import BUSY_RATE
from server.ical.models import BusyCalendar, BusyInterval
from tests.factories import Person, sign_up
from tests.ical.ics import sample

Client = Any


class Loopback:
    """A calendar server on 127.0.0.1 that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.port = 0

    async def ics(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.Response(body=sample(), content_type="text/calendar")

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/cal.ics"


@pytest.fixture
async def loopback(aiohttp_server: Callable[..., Any]) -> Loopback:
    state = Loopback()
    app = web.Application()
    app.router.add_get("/cal.ics", state.ics)
    server = await aiohttp_server(app, host="127.0.0.1")
    state.port = server.port
    return state


class HostileDns(AbstractResolver):
    """Answers every name with the next list of addresses (the last one repeats)."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in answer
        ]

    async def close(self) -> None:
        return None


async def stored(client: Client) -> tuple[int, int]:
    async with client.app[DB].read() as s:
        calendars = await s.scalar(select(func.count()).select_from(BusyCalendar))
        intervals = await s.scalar(select(func.count()).select_from(BusyInterval))
    return int(calendars or 0), int(intervals or 0)


async def add(person: Person, url: str) -> tuple[int, dict[str, Any]]:
    resp = await person.client.post("/api/me/busy-calendars", json={"url": url})
    body: dict[str, Any] = await resp.json()
    return resp.status, body


# --- private addresses ---------------------------------------------------------------


def test_the_default_settings_refuse_private_addresses() -> None:
    assert Settings().busy_allow_private_addresses is False
    assert Settings.from_env({}).busy_allow_private_addresses is False
    assert Settings.from_env({"BUSY_ALLOW_PRIVATE_ADDRESSES": "true"}).busy_allow_private_addresses


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::1]", "169.254.169.254", "localhost", "[::ffff:127.0.0.1]", "2130706433"],
)
async def test_addresses_inside_the_network_are_refused_by_default(
    client: Client, loopback: Loopback, host: str
) -> None:
    assert client.app[SETTINGS].busy_allow_private_addresses is False
    person = await sign_up(client)
    status, problem = await add(person, loopback.url(host))
    assert status == 422, problem
    assert problem["errors"][0]["field"] == "url"
    assert "inside a private network" in problem["errors"][0]["message"]
    assert await stored(client) == (0, 0)
    assert loopback.requests == []


async def test_the_setting_lets_a_calendar_server_on_loopback_through(
    make_settings: Callable[..., Settings],
    database_url: str,
    aiohttp_client: Callable[..., Any],
    loopback: Loopback,
) -> None:
    settings = make_settings(database_url, busy_allow_private_addresses=True)
    client = await aiohttp_client(create_app(settings))
    person = await sign_up(client)
    status, body = await add(person, loopback.url())
    assert status == 201, body
    assert body["status"] == "ok" and body["event_count"] > 0
    assert loopback.requests == ["/cal.ics"]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("::ffff:93.184.216.34", True),
        ("2002:5db8:d822::1", True),  # 6to4 of a public IPv4
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("239.1.1.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b:1::5db8:d822", False),  # local-use NAT64
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("::127.0.0.1", False),  # IPv4-compatible
        ("ff0e::1", False),
        ("not an address", False),
    ],
)
def test_which_addresses_count_as_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


async def test_the_resolver_hands_on_only_the_public_addresses() -> None:
    dns = HostileDns(
        [
            "127.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::1",
            "93.184.216.34",
            "169.254.169.254",
        ]
    )
    resolver = PublicResolver(allow_private=False, dns=dns)
    found = await resolver.resolve("calendar.example", 443, socket.AF_UNSPEC)
    assert [r["host"] for r in found] == ["93.184.216.34"]

    only_private = PublicResolver(allow_private=False, dns=HostileDns(["10.0.0.1", "::1"]))
    with pytest.raises(PrivateAddress, match=r"calendar\.example is inside a private network"):
        await only_private.resolve("calendar.example", 443, socket.AF_UNSPEC)
    trusting = PublicResolver(allow_private=True, dns=HostileDns(["10.0.0.1"]))
    assert [r["host"] for r in await trusting.resolve("calendar.example")] == ["10.0.0.1"]


async def test_a_name_that_rebinds_to_loopback_after_the_check_is_never_fetched(
    client: Client, loopback: Loopback
) -> None:
    """The first answer is public (it passes the check), every later one is 127.0.0.1."""
    person = await sign_up(client)
    dns = HostileDns(["93.184.216.34"], ["127.0.0.1"])
    service = BusyCalendars(client.app[DB], client.app[CLOCK], client.app[SETTINGS], dns=dns)
    await service.start()
    try:
        row = await service.add_url(
            user_id=person.id, url=loopback.url("calendar.example"), name=None
        )
        assert len(dns.asked) == 2  # the check, then the connection's own look-up
        assert row.status == "error"
        assert "calendar.example is inside a private network" in row.error
        assert loopback.requests == []
        assert await stored(client) == (1, 0)

        # Literal addresses skip DNS; each request (every redirect hop) checks them.
        for host in ("127.0.0.1", "[::ffff:127.0.0.1]", "[::1]"):
            with pytest.raises(FetchError, match="private network"):
                await service.fetcher.fetch(loopback.url(host), None, None)
        assert loopback.requests == []
    finally:
        await service.close()


# --- limits ---------------------------------------------------------------------------


async def test_adding_and_refreshing_are_rate_limited_per_person(
    make_settings: Callable[..., Settings],
    database_url: str,
    aiohttp_client: Callable[..., Any],
    loopback: Loopback,
) -> None:
    app = create_app(make_settings(database_url, busy_allow_private_addresses=True))
    client = await aiohttp_client(app)
    person = await sign_up(client)
    status, body = await add(person, loopback.url())
    assert status == 201, body
    path = f"/api/me/busy-calendars/{body['id']}/refresh"
    for _ in range(BUSY_RATE.count - 1):
        assert (await person.client.post(path)).status == 200
    fetches = len(loopback.requests)
    assert fetches == BUSY_RATE.count

    resp = await person.client.post(path)
    assert resp.status == 429
    assert resp.content_type == "application/problem+json"
    assert "Too many calendar import attempts" in (await resp.json())["detail"]
    assert int(resp.headers["Retry-After"]) > 0
    status, _ = await add(person, loopback.url())
    assert status == 429
    assert len(loopback.requests) == fetches
    assert (await stored(client))[0] == 1

    other = await sign_up(await aiohttp_client(client.server), name="Grace Hopper")
    assert (await add(other, loopback.url()))[0] == 201


async def test_each_person_imports_at_most_a_fixed_number_of_calendars(
    client: Client, another_client: Callable[[], Any]
) -> None:
    person = await sign_up(client)
    now = client.app[CLOCK].now()
    async with client.app[DB].write() as s:
        s.add_all(
            BusyCalendar(
                id=new_id(),
                user_id=person.id,
                name=f"Calendar {i}",
                url=f"https://calendars.example/{i}.ics",
                status="ok",
                error="",
                event_count=0,
                created_at=now,
                next_poll_at=now + timedelta(minutes=30),
            )
            for i in range(MAX_CALENDARS)
        )
    before = await stored(client)

    status, problem = await add(person, "https://calendars.example/one-more.ics")
    assert status == 409
    assert f"already import {MAX_CALENDARS} calendars" in problem["detail"]
    resp = await person.client.post(
        "/api/me/busy-calendars", data=sample(), headers={"Content-Type": "text/calendar"}
    )
    assert resp.status == 409
    assert resp.content_type == "application/problem+json"
    assert await stored(client) == before

    other = await sign_up(await another_client(), name="Grace Hopper")
    resp = await other.client.post(
        "/api/me/busy-calendars", data=sample(), headers={"Content-Type": "text/calendar"}
    )
    assert resp.status == 201
