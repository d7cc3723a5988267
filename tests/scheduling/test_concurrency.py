"""A booking storm against two real server processes sharing one database.

200 requests for overlapping times of one mentor, from ten mentees, spread over two
`python -m server serve` processes: exactly one wins, every other gets 409, and the
database holds one booking — on SQLite (serialized write transactions) and on
PostgreSQL (the exclusion constraint).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import func, select

from server.core.db import Database
from server.core.wire import utc_text
from server.scheduling.models import Booking, BookingParticipant
from tests.conftest import TEST_SECRET
from tests.dates import BERLIN, MONDAY, upcoming
from tests.factories import NINE_TO_FIVE, OPEN, PASSWORD
from tests.services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
MENTEES = 10
REQUESTS = 200


@contextmanager
def server(database_url: str, tmp: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "MERIDIAN_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "MEDIA_DIR": str(tmp / "media"),
        "CALENDARS_DIR": str(tmp / "calendars"),
        "AUTH_RATE_LIMIT_IP": "1000/60",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errors = proc.stderr.read().decode() if proc.stderr else ""
        assert "Traceback" not in errors, errors


def page_of(url: str) -> dict[str, str]:
    """The Origin a page served by that process sends with the sign-in cookie."""
    parts = urlsplit(url)
    return {"Origin": f"{parts.scheme}://{parts.netloc}"}


async def call(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with http.request(method, url, json=body, headers=page_of(url)) as resp:
        assert resp.status < 300, await resp.text()
        return await resp.json()


async def person(base: str, name: str, zone: str, profile: dict[str, Any]) -> tuple[Any, str]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    email = f"{name.lower()}-{os.getpid()}@example.org"
    user = await call(
        http,
        "POST",
        base + "/api/auth/signup",
        {"email": email, "password": PASSWORD, "name": name, "timezone": zone},
    )
    await call(http, "PUT", base + "/api/me/profile", profile)
    return http, user["user"]["id"]


async def server_now(http: aiohttp.ClientSession, base: str) -> datetime:
    """The serving process's own time (its system clock), from its Date header."""
    async with http.get(base + "/healthz") as resp:
        return parsedate_to_datetime(resp.headers["Date"])


async def storm(first: str, second: str) -> Counter[int]:
    mentor_http, mentor_id = await person(
        first,
        "Greta",
        "Europe/Berlin",
        {"roles": ["mentor"], "languages": ["en"], "working_hours": NINE_TO_FIVE, "capacity": 20},
    )
    await call(mentor_http, "PUT", first + "/api/me/availability", OPEN)
    mentees: list[tuple[aiohttp.ClientSession, str]] = []
    for i in range(MENTEES):
        http, _ = await person(
            second if i % 2 else first,
            f"Mentee{i}",
            "America/New_York",
            {"roles": ["mentee"], "languages": ["en"]},
        )
        asked = await call(
            http, "POST", first + "/api/mentorships", {"mentor_id": mentor_id, "goals": ["Grow"]}
        )
        await call(mentor_http, "POST", f"{first}/api/mentorships/{asked['id']}/accept", {})
        mentees.append((http, asked["id"]))
    # A Monday 09:00 in Berlin at least a week after the servers' today.
    start = upcoming(await server_now(mentor_http, first), MONDAY, "09:00", BERLIN, weeks=1)
    starts = [start, start + timedelta(minutes=30)]  # every pair of these overlaps

    async def one(n: int) -> int:
        http, mentorship_id = mentees[n % MENTEES]
        base = first if n % 2 == 0 else second
        body = {
            "mentorship_id": mentorship_id,
            "start": utc_text(starts[n % 2]),
            "duration_minutes": 60,
        }
        async with http.post(base + "/api/bookings", json=body, headers=page_of(base)) as resp:
            await resp.read()
            return resp.status

    try:
        statuses = await asyncio.gather(*(one(n) for n in range(REQUESTS)))
    finally:
        for http, _ in mentees:
            await http.close()
        await mentor_http.close()
    return Counter(statuses)


async def test_two_hundred_requests_two_processes_one_booking(
    database_url: str, tmp_path: Path
) -> None:
    """``database_url`` runs this once on SQLite and once on PostgreSQL."""
    with ExitStack() as stack:
        first = stack.enter_context(server(database_url, tmp_path / "a"))
        # Started once the first has migrated and is serving, as a deployment would.
        second = stack.enter_context(server(database_url, tmp_path / "b"))
        statuses = await storm(first, second)
    assert statuses == Counter({201: 1, 409: REQUESTS - 1})
    db = Database(database_url)
    try:
        async with db.read() as s:
            bookings = await s.scalar(select(func.count()).select_from(Booking))
            taken = await s.scalar(select(func.count()).select_from(BookingParticipant))
    finally:
        await db.close()
    assert bookings == 1
    assert taken == 2
