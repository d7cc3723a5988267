"""A killed server loses no acknowledged byte: SIGKILL mid-PATCH, restart, resume, compare."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.factories import PASSWORD
from tests.services import free_port, wait_for_port
from tests.threads.samples import padded_mp4
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


@contextmanager
def serve(tmp: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/meridian.db",
        "MEDIA_DIR": str(tmp / "media"),
        "CALENDARS_DIR": str(tmp / "calendars"),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / f"server-{port}.log").open("ab"),
    )
    try:
        wait_for_port(port, timeout=60)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _offset(http: aiohttp.ClientSession, url: str, auth: dict[str, str]) -> int:
    async with http.head(url, headers={**TUS, **auth}) as resp:
        assert resp.status == 200
        return int(resp.headers["Upload-Offset"])


async def test_sigkill_mid_patch_loses_no_acknowledged_byte(
    tmp_path: Path, samples: dict[str, Path]
) -> None:
    source = padded_mp4(samples["video.mp4"], tmp_path / "source.mp4", 6 << 20)
    data = source.read_bytes()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stalled = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        # Two and a half MiB, then the connection hangs while the server is killed.
        for i in range(0, 5 * 512 * 1024, 64 * 1024):
            yield data[i : i + 64 * 1024]
            await asyncio.sleep(0.01)
        stalled.set()
        await asyncio.sleep(3600)

    with serve(tmp_path, port) as proc:
        async with aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": base}
        ) as http:
            resp = await http.post(
                f"{base}/api/auth/signup",
                json={
                    "email": "crash@example.org",
                    "password": PASSWORD,
                    "name": "Crash Test",
                    "timezone": "Europe/Berlin",
                },
            )
            assert resp.status == 201
            resp = await http.post(f"{base}/api/auth/tokens", json={"name": "crash"})
            auth = {"Authorization": f"Bearer {(await resp.json())['token']}"}
        async with aiohttp.ClientSession() as http:
            resp = await http.post(
                f"{base}/api/uploads/", headers={**TUS, **auth, "Upload-Length": str(len(data))}
            )
            assert resp.status == 201
            url = base + resp.headers["Location"]
            patch = asyncio.create_task(
                http.patch(
                    url,
                    data=body(),
                    headers={**TUS, **auth, "Content-Type": OCTETS, "Upload-Offset": "0"},
                )
            )
            await asyncio.wait_for(stalled.wait(), 30)
            async with aiohttp.ClientSession() as probe:
                acknowledged = await eventually(
                    lambda: _offset(probe, url, auth),
                    lambda offset: offset > 0,
                    what="the server checkpointing the bytes it received",
                )
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            with pytest.raises(aiohttp.ClientError):
                await patch

    part = tmp_path / "media" / "uploads" / f"{url.rsplit('/', 1)[1]}.part"
    with serve(tmp_path, port):
        async with aiohttp.ClientSession() as http:
            resumed = await _offset(http, url, auth)
            # Never behind what was acknowledged, never ahead of what is on disk.
            assert acknowledged <= resumed <= part.stat().st_size
            assert part.read_bytes()[:resumed] == data[:resumed]
            resp = await http.patch(
                url,
                data=data[resumed:],
                headers={**TUS, **auth, "Content-Type": OCTETS, "Upload-Offset": str(resumed)},
            )
            assert resp.status == 204, await resp.text()
            assert int(resp.headers["Upload-Offset"]) == len(data)
    stored = list((tmp_path / "media" / "media").glob("*.mp4"))
    assert len(stored) == 1
    assert hashlib.sha256(stored[0].read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert not part.exists()
