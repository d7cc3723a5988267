"""Hostile busy calendars against a real `python -m server serve` process.

The serving process's resident memory is read from /proc before and after many hostile
uploads; meanwhile other requests and media uploads must keep succeeding, and SIGTERM
must stop the server even while a calendar is being read.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.ical.hostile import HOSTILE, SPINNING, ordinary
from tests.services import free_port
from tests.test_cli import START_TIMEOUT, clean_env
from tests.threads.samples import record

MB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
ANSWER_BOUND = 10.0
"""Far above the 1.5 s read budget, far below "never": holds under `stress-ng --cpu 2`."""


@dataclass
class Server:
    process: asyncio.subprocess.Process
    base: str

    def rss(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "serve",
        "--port",
        str(port),
        env=clean_env(tmp_path, PUBLIC_URL=base),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        async with aiohttp.ClientSession() as http:
            while True:
                assert process.returncode is None, "the server exited early"
                try:
                    async with http.get(base + "/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                await asyncio.sleep(0.2)
        yield Server(process, base)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def person(server: Server, name: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(
        server.base, cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": server.base}
    )
    email = f"{name.lower().replace(' ', '.')}@example.org"
    async with http.post(
        "/api/auth/signup",
        json={
            "email": email,
            "password": "correct horse battery",
            "name": name,
            "timezone": "Europe/Berlin",
        },
    ) as resp:
        assert resp.status == 201, await resp.text()
    return http


async def upload_calendar(http: aiohttp.ClientSession, data: bytes) -> tuple[int, float]:
    started = time.monotonic()
    async with http.post(
        "/api/me/busy-calendars", data=data, headers={"Content-Type": "text/calendar"}
    ) as resp:
        await resp.read()
        return resp.status, time.monotonic() - started


async def upload_media(http: aiohttp.ClientSession, data: bytes) -> int:
    async with http.post("/api/uploads/", headers={**TUS, "Upload-Length": str(len(data))}) as resp:
        assert resp.status == 201, await resp.text()
        location = resp.headers["Location"]
    async with http.patch(
        location,
        data=data,
        headers={
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
        },
    ) as resp:
        return resp.status


async def test_hostile_calendars_leave_the_serving_process_small_and_responsive(
    server: Server, tmp_path: Path
) -> None:
    media = record(tmp_path / "voice.webm", container="webm", video=None, audio="libopus")
    recording = media.read_bytes()
    honest = await person(server, "Honest Person")
    attackers = [await person(server, f"Hostile {i}") for i in range(6)]
    try:
        # Warm up what every process loads once: the readers, PyAV, the routes.
        assert (await upload_calendar(honest, ordinary()))[0] == 201
        assert await upload_media(honest, recording) == 204
        for name, data in HOSTILE.items():
            assert (await upload_calendar(attackers[0], data))[0] == 422, name
        before = server.rss()

        answers: list[tuple[str, int, float]] = []
        for round_ in range(3):
            for i, (name, data) in enumerate(HOSTILE.items()):
                sender = attackers[1 + (round_ * len(HOSTILE) + i) % 5]
                attack = asyncio.create_task(upload_calendar(sender, data))
                if i % 4 == 0:
                    assert await upload_media(honest, recording) == 204
                async with honest.get("/api/me/busy-calendars") as resp:
                    assert resp.status == 200
                status, seconds = await attack
                answers.append((name, status, seconds))
        after = server.rss()
    finally:
        for http in [honest, *attackers]:
            await http.close()

    assert all(status == 422 for _, status, _ in answers), answers
    slowest = max(answers, key=lambda a: a[2])
    assert slowest[2] < ANSWER_BOUND, slowest
    assert after - before < 50 * MB, f"grew {(after - before) / MB:.1f} MB"


async def test_sigterm_stops_the_server_while_a_calendar_is_being_read(server: Server) -> None:
    http = await person(server, "Hostile Person")
    try:
        attack = asyncio.create_task(upload_calendar(http, HOSTILE[SPINNING[0]]))
        # Wait until the read is under way: a worker process below the fork server.
        deadline = time.monotonic() + START_TIMEOUT
        while len(readers := _descendants(server.process.pid)) < 2:
            assert time.monotonic() < deadline, "no calendar reader was started"
            await asyncio.sleep(0.05)
        server.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            code = await server.process.wait()
        assert code == 0
        attack.cancel()
    finally:
        await http.close()
    # The fork server and its workers follow their parent out.
    deadline = time.monotonic() + 10
    while left := [pid for pid in readers if _alive(pid)]:
        assert time.monotonic() < deadline, f"calendar readers outlived the server: {left}"
        await asyncio.sleep(0.05)


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
