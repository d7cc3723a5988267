"""Shared pieces of the benchmarks: servers in subprocesses, a load generator, reporting.

Every benchmark prints its figure beside a reference measured in the same run on the
same machine (an aiohttp hello-world, the raw disk, the obvious implementation), because
absolute times on a shared machine are noise while ratios hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

HELLO_WORLD = """
from aiohttp import web
import sys
async def hello(request):
    return web.Response(text="Hello, world")
app = web.Application()
app.router.add_get("/", hello)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def process(
    args: list[str], env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def hello_world() -> Iterator[str]:
    """The reference: the smallest aiohttp app, in its own process."""
    port = free_port()
    with process([PYTHON, "-c", HELLO_WORLD, str(port)]):
        url = f"http://127.0.0.1:{port}/"
        wait_http(url)
        yield url


@contextlib.contextmanager
def meridian(env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Meridian itself (`python -m server serve`) in its own process; yields its base URL."""
    port = free_port()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meridian-bench-")))
        full_env = {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "MEDIA_DIR": str(tmp / "media"),
            "CALENDARS_DIR": str(tmp / "calendars"),
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        stack.enter_context(
            process([PYTHON, "-m", "server", "serve", "--port", str(port)], full_env)
        )
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz")
        yield base


@dataclass
class Load:
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def load(
    url: str,
    *,
    requests: int = 2000,
    concurrency: int = 8,
    headers: Mapping[str, str] | None = None,
    expect: int = 200,
) -> Load:
    """Send ``requests`` GETs with ``concurrency`` in flight; every answer must be ``expect``."""
    latencies: list[float] = []
    remaining = requests
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=dict(headers or {})) as http:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                async with http.get(url) as resp:
                    await resp.read()
                    if resp.status != expect:
                        raise RuntimeError(f"{url} answered {resp.status}, expected {expect}")
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return Load(requests, elapsed, latencies)


def report(title: str, rows: list[tuple[str, str, str]]) -> str:
    """Print and return a small Markdown table: what, measured, target."""
    lines = [f"### {title}", "", "| what | measured | target |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / (title.lower().replace(" ", "-") + ".md")).write_text(text)
    return text
