"""Redis is killed and started again between two real server processes.

Two ``python -m server serve`` processes share one SQLite file and one redis-server of
this test's own. With a call open between them, a thread socket and a notification
stream on the second, the redis-server is SIGKILLed: both processes say they are not
ready and sign-in still works; a fresh redis-server on the same port then brings
everything back without restarting anything: the open call relays again within five
seconds, and thread events, notifications and a revoked token cross processes again.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from server.core.clock import FrozenClock
from server.core.db import Database
from server.core.keys import CLOCK, DB
from server.live.keys import ROOMS
from server.live.rooms import BookingRooms
from server.mentorship.models import Mentorship
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, unique_email
from tests.live.conftest import add_room
from tests.services import RedisServer, free_port, wait_for_port

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[2]
RECOVERY_SECONDS = 5.0
OUTAGE_SECONDS = 20.0  # how long the processes may take to notice that Redis is gone


@contextmanager
def serve(database_url: str, redis_url: str, tmp: Path) -> Iterator[str]:
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": TEST_SECRET,
        "MERIDIAN_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "MEDIA_DIR": str(tmp / "media"),
        "CALENDARS_DIR": str(tmp / "calendars"),
    }
    log = tmp / "server.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        try:
            wait_for_port(port, timeout=60)
        except TimeoutError:
            raise AssertionError(log.read_text()[-3000:]) from None
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    errors = log.read_text()
    assert "Traceback" not in errors, errors


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> float:
    """Repeat ``check`` until it holds; fail after ``seconds``. Returns the time it took."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def sign_up(http: aiohttp.ClientSession, base: str, name: str) -> tuple[str, str]:
    email = unique_email(name.split()[0].lower())
    async with http.post(
        f"{base}/api/auth/signup",
        json={
            "email": email,
            "password": PASSWORD,
            "name": name,
            "timezone": "Europe/Berlin",
        },
    ) as resp:
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["user"]["id"]), email


async def new_token(http: aiohttp.ClientSession, base: str) -> tuple[str, dict[str, str]]:
    async with http.post(f"{base}/api/auth/tokens", json={"name": "script"}) as resp:
        assert resp.status == 201, await resp.text()
        body = await resp.json()
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


async def status_of(http: aiohttp.ClientSession, url: str, **kw: Any) -> int:
    async with http.get(url, **kw) as resp:
        await resp.read()
        return resp.status


async def join(http: aiohttp.ClientSession, base: str, booking_id: str) -> tuple[Any, str]:
    async with http.get(f"{base}/api/bookings/{booking_id}/room") as resp:
        assert resp.status == 200, await resp.text()
        room = await resp.json()
    ws = await http.ws_connect(
        f"{base.replace('http', 'ws')}/api/rooms/{room['room_id']}/ws?token={room['token']}"
    )
    await ws.send_json({"type": "join"})
    peers = await receive(ws, "peers")
    return ws, str(peers["you"]["peer_id"])


async def receive(ws: Any, kind: str, wait: float = 10.0) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(ws.receive(), wait)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        data: dict[str, Any] = json.loads(msg.data)
        if data["type"] == kind:
            return data


async def next_event(stream: aiohttp.ClientResponse, wait: float) -> tuple[str, dict[str, Any]]:
    kind = ""
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), wait)).decode()
        assert line, "the notification stream ended"
        if line.startswith("event: "):
            kind = line.removeprefix("event: ").strip()
        elif line.startswith("data: "):
            return kind, json.loads(line.removeprefix("data: "))


async def relays(ws_from: Any, ws_to: Any, to_peer: str, probe: str, wait: float) -> bool:
    """Send one signal; True if it arrived within ``wait`` seconds."""
    await ws_from.send_json({"type": "signal", "to": to_peer, "data": {"probe": probe}})
    try:
        while True:
            got = await receive(ws_to, "signal", wait)
            if got["data"] == {"probe": probe}:
                return True
    except TimeoutError:
        return False


async def server_now(http: aiohttp.ClientSession, base: str) -> datetime:
    """The serving process's own time (its system clock), from its Date header."""
    async with http.get(base + "/healthz") as resp:
        return parsedate_to_datetime(resp.headers["Date"])


async def add_booking(
    database_url: str, mentor_id: str, mentee_id: str, now: datetime
) -> tuple[str, str]:
    """A confirmed booking starting five minutes after ``now``, the servers' own time."""
    db = Database(database_url)
    app = web.Application()
    app[CLOCK] = FrozenClock(now)
    app[DB] = db
    app[ROOMS] = BookingRooms(lambda: db, opens_before_minutes=10, closes_after_minutes=30)
    try:
        room = await add_room(app, mentor_id, mentee_id, starts_in=timedelta(minutes=5))
        async with db.read() as s:
            mentorship_id = await s.scalar(
                select(Mentorship.id).where(Mentorship.mentor_id == mentor_id)
            )
    finally:
        await db.close()
    assert mentorship_id is not None
    return room.booking_id, mentorship_id


async def test_a_redis_restart_heals_every_cross_process_feature(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/meridian.db"
    with ExitStack() as stack:
        first = stack.enter_context(serve(database_url, own_redis.url, tmp_path / "a"))
        second = stack.enter_context(serve(database_url, own_redis.url, tmp_path / "b"))
        async with (
            # Each person's pages come from the process they use, so they send its Origin.
            aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": first}
            ) as maria,
            aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": second}
            ) as sam,
            aiohttp.ClientSession() as anyone,
        ):
            maria_id, maria_email = await sign_up(maria, first, "Maria Mentor")
            sam_id, _ = await sign_up(sam, second, "Sam Mentee")
            booking_id, mentorship_id = await add_booking(
                database_url, maria_id, sam_id, await server_now(anyone, first)
            )

            # Maria's call runs on the first process, Sam's on the second.
            ws_maria, maria_peer = await join(maria, first, booking_id)
            ws_sam, sam_peer = await join(sam, second, booking_id)
            assert (await receive(ws_maria, "peer-joined"))["peer"]["peer_id"] == sam_peer
            assert await relays(ws_maria, ws_sam, sam_peer, "before", 10)
            # Sam also has his thread and his notifications open, on the second process.
            thread = await sam.ws_connect(
                f"{second.replace('http', 'ws')}/api/mentorships/{mentorship_id}/thread/ws"
            )
            assert (await receive(thread, "ready"))["mentorship_id"] == mentorship_id
            notices = await sam.get(f"{second}/api/notifications/events")
            assert notices.status == 200
            while (await asyncio.wait_for(notices.content.readline(), 10)) != b": connected\n":
                pass
            during_id, during = await new_token(maria, first)

            own_redis.kill()
            for base in (first, second):

                async def unready(base: str = base) -> bool:
                    async with anyone.get(f"{base}/readyz") as resp:
                        body = await resp.json()
                        return resp.status == 503 and body["checks"]["redis"] == "failing"

                await eventually(unready, OUTAGE_SECONDS, f"{base}/readyz saying 503")
            # Signing in needs the rate limiter, which lives in Redis: no 500 for that.
            for base in (first, second):
                async with aiohttp.ClientSession() as fresh:
                    resp = await fresh.post(
                        f"{base}/api/auth/login",
                        json={"email": maria_email, "password": PASSWORD},
                    )
                    assert resp.status == 200, await resp.text()
            # A token revoked meanwhile is refused at once by the other process too.
            assert await status_of(anyone, f"{second}/api/me", headers=during) == 200
            async with maria.delete(f"{first}/api/auth/tokens/{during_id}") as resp:
                assert resp.status == 204, await resp.text()
            assert await status_of(anyone, f"{second}/api/me", headers=during) == 401
            # The open sockets stay open through the outage.
            await ws_maria.send_json({"type": "signal", "to": sam_peer, "data": {"lost": 1}})
            assert not ws_maria.closed and not ws_sam.closed and not thread.closed

            own_redis.restart()
            probes = iter(range(1_000_000))
            took = await eventually(
                lambda: relays(ws_maria, ws_sam, sam_peer, f"after-{next(probes)}", 0.2),
                RECOVERY_SECONDS,
                "the open call relaying again",
            )
            assert took <= RECOVERY_SECONDS
            assert await relays(ws_sam, ws_maria, maria_peer, "back", 5)
            for base in (first, second):
                assert await status_of(anyone, f"{base}/readyz") == 200

            # Maria writes in the thread on the first process; Sam's open thread socket
            # and his open notification stream, both on the second, hear of it.
            async with maria.post(
                f"{first}/api/mentorships/{mentorship_id}/messages",
                json={"kind": "text", "body": "Redis is back"},
            ) as resp:
                assert resp.status == 201, await resp.text()
            event = await receive(thread, "message", RECOVERY_SECONDS)
            assert event["message"]["body"] == "Redis is back"
            kind, data = await next_event(notices, RECOVERY_SECONDS)
            assert kind == "notification"
            assert data["notification"]["kind"] == "thread.message"

            # A token the second process has just honoured (and cached) is refused there
            # soon after the first process revokes it.
            token_id, after = await new_token(maria, first)
            assert await status_of(anyone, f"{second}/api/me", headers=after) == 200
            async with maria.delete(f"{first}/api/auth/tokens/{token_id}") as resp:
                assert resp.status == 204

            async def refused() -> bool:
                return await status_of(anyone, f"{second}/api/me", headers=after) == 401

            await eventually(refused, RECOVERY_SECONDS, "the revoked token being refused")

            notices.close()
            await thread.close()
            await ws_maria.close()
            await ws_sam.close()
