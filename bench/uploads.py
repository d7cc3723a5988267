"""tus upload of 1 GiB against the raw sequential write rate of the same disk; RSS; Range reads.

Targets (bench/README.md): the upload reaches at least 50 % of the rate at which
Python writes and fsyncs the same number of bytes to the same file system, measured
in the same run; the server's resident memory grows by less than 50 MB while it
receives the gigabyte. Range playback throughput is reported beside the raw read rate.

The uploaded file is a real recording: a short MP4 followed by a ``free`` box holding
the rest of the gigabyte, which players skip, so the upload is accepted as media at
the end just as a long recording would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import struct
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from fractions import Fraction
from pathlib import Path

import aiohttp
import av

from bench.common import PYTHON, free_port, process, report, wait_http

SIZE = 1024**3
RUNS = 3
BLOCK = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
MB = 1_000_000


def recording() -> bytes:
    """Two seconds of H.264 video in an MP4, made with PyAV."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        out = av.open(str(path), mode="w")
        stream = out.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(30):
            frame = av.VideoFrame(320, 240, "rgb24")
            frame.planes[0].update(bytes([i * 8 % 256, 90, 200]) * (320 * 240))
            frame = frame.reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, 15)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        out.close()
        return path.read_bytes()


def raw_write_rate(directory: Path, size: int, sync_every: int | None = None) -> float:
    """Bytes per second for writing ``size`` bytes in 1 MiB blocks and fsyncing them.

    With ``sync_every`` the file is also fsync'ed after each that many bytes, which
    lets the disk write back while Python writes (as the server does); the faster of
    the two ways is the reference.
    """
    block = os.urandom(BLOCK)
    path = directory / "raw.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        started = time.perf_counter()
        written = 0
        while written < size:
            written += os.write(fd, block)
            if sync_every and written % sync_every == 0:
                os.fsync(fd)
        os.fsync(fd)
        elapsed = time.perf_counter() - started
    finally:
        os.close(fd)
        path.unlink()
    return size / elapsed


def raw_read_rate(path: Path) -> float:
    fd = os.open(path, os.O_RDONLY)
    try:
        started = time.perf_counter()
        total = 0
        while chunk := os.read(fd, 8 * BLOCK):
            total += len(chunk)
        return total / (time.perf_counter() - started)
    finally:
        os.close(fd)


def cpu_seconds(pid: int) -> float:
    """User plus system time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class RssWatch:
    """Samples a process's resident set every 20 ms in a thread; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def server(tmp: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
        "MEDIA_DIR": str(tmp / "media"),
        "CALENDARS_DIR": str(tmp / "calendars"),
        "LOG_LEVEL": "WARNING",
        "UPLOAD_MAX_BYTES": str(2 * SIZE),
        "UPLOAD_QUOTA_BYTES": str(8 * SIZE),
    }
    with process([PYTHON, "-m", "server", "serve", "--port", str(port)], env) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz")
        yield base, proc.pid


async def body(head: bytes, size: int) -> AsyncIterator[bytes]:
    yield head + struct.pack(">I4s", size - len(head), b"free")
    filler = os.urandom(BLOCK)
    left = size - len(head) - 8
    while left > 0:
        piece = filler[: min(left, BLOCK)]
        left -= len(piece)
        yield piece


async def upload(
    http: aiohttp.ClientSession, base: str, head: bytes, size: int
) -> tuple[str, float]:
    """One tus upload of ``size`` bytes in a single streamed PATCH; returns (url, seconds)."""
    resp = await http.post(f"{base}/api/uploads/", headers={**TUS, "Upload-Length": str(size)})
    assert resp.status == 201, await resp.text()
    url = base + resp.headers["Location"]
    started = time.perf_counter()
    resp = await http.patch(
        url,
        data=body(head, size),
        headers={
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
            # As tus clients do: a known length rather than chunked encoding.
            "Content-Length": str(size),
        },
    )
    elapsed = time.perf_counter() - started
    assert resp.status == 204, await resp.text()
    return url, elapsed


async def range_reads(http: aiohttp.ClientSession, url: str, size: int) -> tuple[float, float]:
    """Sequential 8 MiB ranges (bytes/s) and random 64 KiB seeks by 8 players (requests/s)."""
    started = time.perf_counter()
    total = 0
    for start in range(0, size, 8 * BLOCK):
        end = min(size, start + 8 * BLOCK) - 1
        async with http.get(url, headers={"Range": f"bytes={start}-{end}"}) as resp:
            assert resp.status == 206
            async for chunk in resp.content.iter_chunked(BLOCK):
                total += len(chunk)
    sequential = total / (time.perf_counter() - started)
    rng = random.Random(7)
    count = 2000

    async def seeker(n: int) -> None:
        for _ in range(n):
            start = rng.randrange(0, size - 65536)
            async with http.get(url, headers={"Range": f"bytes={start}-{start + 65535}"}) as resp:
                assert resp.status == 206
                await resp.read()

    started = time.perf_counter()
    await asyncio.gather(*(seeker(count // 8) for _ in range(8)))
    seeks = count / (time.perf_counter() - started)
    return sequential, seeks


async def references(tmp: Path) -> tuple[float, float]:
    """The disk's rate written as ``dd conv=fsync`` does, and with an fsync every 64 MiB."""
    dd = await asyncio.to_thread(raw_write_rate, tmp, SIZE)
    periodic = await asyncio.to_thread(raw_write_rate, tmp, SIZE, 64 * BLOCK)
    return dd, periodic


async def run() -> None:
    head = await asyncio.to_thread(recording)
    with tempfile.TemporaryDirectory(prefix="meridian-bench-uploads-") as tmp_name:
        tmp = Path(tmp_name)
        before = await references(tmp)
        with server(tmp) as (base, pid):
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": base}) as http:
                resp = await http.post(
                    f"{base}/api/auth/signup",
                    json={
                        "email": "bench@example.org",
                        "password": "correct horse battery",
                        "name": "Bench",
                        "timezone": "UTC",
                    },
                )
                assert resp.status == 201, await resp.text()
                # Warm up: the first upload loads PyAV and fills the connection pools.
                await upload(http, base, head, 8 * BLOCK)
                baseline = rss_bytes(pid)
                times = []
                cpu_before = cpu_seconds(pid)
                with RssWatch(pid) as watch:
                    for _ in range(RUNS):
                        _, seconds = await upload(http, base, head, SIZE)
                        times.append(seconds)
                cpu = (cpu_seconds(pid) - cpu_before) / RUNS
                growth = max(0, watch.peak - baseline)
                after = await references(tmp)
                stored = max(
                    (tmp / "media" / "media").glob("*.mp4"), key=lambda p: p.stat().st_size
                )
                read = await asyncio.to_thread(raw_read_rate, stored)
                # The uploader may play their own recording; its id is the file's name.
                media_url = f"{base}/api/media/{stored.stem}"
                sequential, seeks = await range_reads(http, media_url, SIZE)
    rate = SIZE / statistics.mean(times)
    dd = (before[0] + after[0]) / 2
    periodic = (before[1] + after[1]) / 2
    report(
        "tus upload of 1 GiB",
        [
            ("raw write then fsync (dd conv=fsync), same disk", _mbs(dd), "reference"),
            ("raw write with an fsync every 64 MiB, same disk", _mbs(periodic), "reference"),
            (
                f"tus upload, one streamed PATCH (mean of {RUNS})",
                f"{_mbs(rate)}: {rate / dd:.0%} of dd, {rate / periodic:.0%} of periodic",
                ">= 50 % of raw",
            ),
            (
                "server CPU time per GiB received (user + system, all threads)",
                f"{cpu:.2f} s, so {_mbs(SIZE / cpu)} on a core of its own",
                "reported",
            ),
            ("server RSS growth during the uploads", f"{growth / MB:.1f} MB", "< 50 MB"),
            ("raw sequential read of the stored file", _mbs(read), "reference"),
            (
                "Range playback, sequential 8 MiB ranges",
                f"{_mbs(sequential)} ({sequential / read:.0%} of raw read)",
                "reported",
            ),
            ("Range seeks, 64 KiB at random, 8 players", f"{seeks:.0f} requests/s", "reported"),
        ],
    )


def _mbs(rate: float) -> str:
    return f"{rate / MB:.0f} MB/s"


if __name__ == "__main__":
    asyncio.run(run())
