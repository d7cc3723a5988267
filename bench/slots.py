"""Slots for 90 days: GET /api/mentors/{id}/slots end to end over HTTP.

A mentor in Berlin (Monday to Friday 09:00-17:00, 30-minute grid) with 300 booked
sessions, viewed by a mentee in New York, over the 90 days from 1 March 2027: both the
US (14 March) and the EU (28 March) change their clocks inside the range. Reference, in
the same run: an aiohttp hello-world's requests/s, and the pure slot engine alone (in
this process) for the same data.

Target (bench/README.md): p50 ≤ 5 ms; ≥ 40 % of the hello-world's requests/s.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Load, hello_world, load, meridian, report
from tests.factories import OPEN, make_pair

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
BOOKINGS = 300
FIRST_DAY = datetime(2027, 3, 1, tzinfo=ZoneInfo("Europe/Berlin"))
DAYS = 90


async def call(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with http.request(method, url, json=body) as resp:
        if resp.status >= 300:
            raise RuntimeError(f"{method} {url}: {resp.status} {await resp.text()}")
        return await resp.json()


def slots_url(prefix: str, shift_minutes: int = 0) -> str:
    """90 days of slots from 1 March 2027 (Berlin), in New York time."""
    begin = FIRST_DAY.astimezone(UTC) + timedelta(minutes=shift_minutes)
    end = FIRST_DAY.astimezone(UTC) + timedelta(days=DAYS)
    return (
        f"{prefix}?start={begin:%Y-%m-%dT%H:%M:%SZ}"
        f"&end={end:%Y-%m-%dT%H:%M:%SZ}&duration=60&tz=America/New_York"
    )


def session_starts() -> list[datetime]:
    """300 one-hour sessions on weekdays, five a day, in Berlin wall time."""
    berlin = ZoneInfo("Europe/Berlin")
    starts: list[datetime] = []
    day = FIRST_DAY.date()
    while len(starts) < BOOKINGS:
        if day.weekday() < 5:
            for hour, minute in ((9, 0), (10, 30), (12, 0), (13, 30), (15, 0)):
                starts.append(datetime(day.year, day.month, day.day, hour, minute, tzinfo=berlin))
        day += timedelta(days=1)
    return starts[:BOOKINGS]


async def prepare(base: str) -> tuple[str, str]:
    """The mentor, the mentee, their mentorship and 300 bookings; returns (url, token)."""
    async with (
        # Like pages of the site, which send its Origin with the sign-in cookie.
        aiohttp.ClientSession(
            base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": base}
        ) as mentor,
        aiohttp.ClientSession(
            base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": base}
        ) as mentee,
    ):
        pair = await make_pair(mentor, mentee, availability=OPEN)
        mentor_id = pair.mentor.id
        for start in session_starts():
            await call(
                mentee,
                "POST",
                base + "/api/bookings",
                {
                    "mentorship_id": pair.mentorship_id,
                    "start": start.astimezone(UTC).isoformat(),
                    "duration_minutes": 60,
                },
            )
        token = await call(mentee, "POST", base + "/api/auth/tokens", {"name": "bench"})
    url = slots_url(f"{base}/api/mentors/{mentor_id}/slots")
    return url, token["token"]


async def cold(url: str, headers: dict[str, str], requests: int) -> Load:
    """Every request a different range (start moved by a minute), so none is a cached answer."""
    latencies: list[float] = []
    prefix = url.split("?", 1)[0]
    urls = [slots_url(prefix, i + 1) for i in range(requests)]
    queue = list(reversed(urls))
    async with aiohttp.ClientSession(headers=headers) as http:

        async def worker() -> None:
            while queue:
                target = queue.pop()
                started = time.perf_counter()
                async with http.get(target) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"{target} answered {resp.status}")
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - began
    return Load(requests, elapsed, latencies)


def engine_alone_ms() -> tuple[float, int]:
    """The pure engine for the same rules and bookings (median of 50 runs)."""
    from server.scheduling import slots as sl

    weekly = tuple(((9 * 60, 17 * 60),) if d < 5 else () for d in range(7))
    rules = sl.Rules("Europe/Berlin", weekly, horizon_days=365, step=30)
    bookings = [(sl.to_minute(s), sl.to_minute(s) + 60) for s in session_starts()]
    begin = sl.to_minute(FIRST_DAY)
    query = sl.Query(
        begin,
        begin + DAYS * sl.DAY,
        60,
        begin - sl.DAY,
        sl.Person("America/New_York", weekly),
    )
    runs = []
    found: list[sl.Slot] = []
    for _ in range(50):
        started = time.perf_counter()
        found = sl.free_slots(rules, sl.Busy(taken=bookings, host_sessions=bookings), query)
        runs.append((time.perf_counter() - started) * 1000)
    return sorted(runs)[len(runs) // 2], len(found)


async def main() -> None:
    """Both servers run side by side; rounds alternate between them, so a burst of load
    from elsewhere on a shared machine hits both figures alike. Medians of the rounds."""
    with (
        meridian({"AUTH_RATE_LIMIT_IP": "1000/60", "LOG_LEVEL": "ERROR"}) as base,
        hello_world() as hello_url,
    ):
        url, token = await prepare(base)
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            body = await call(http, "GET", url)
        slots = len(body["items"])
        offsets = {(s["viewer_local"][-6:], s["host_local"][-6:]) for s in body["items"]}
        await load(url, requests=200, concurrency=CONCURRENCY, headers=headers)  # warm up
        await load(hello_url, requests=200, concurrency=CONCURRENCY)
        ours: list[Load] = []
        hello: list[Load] = []
        per_round = max(REQUESTS // ROUNDS, 100)
        for _ in range(ROUNDS):
            ours.append(
                await load(url, requests=per_round, concurrency=CONCURRENCY, headers=headers)
            )
            hello.append(await load(hello_url, requests=per_round, concurrency=CONCURRENCY))
        computed = await cold(url, headers, min(REQUESTS, 500))
    engine_ms, engine_slots = engine_alone_ms()
    latencies = sorted(x for run in ours for x in run.latencies_ms)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    ours_rps = statistics.median(r.rps for r in ours)
    hello_rps = statistics.median(r.rps for r in hello)
    ratio = ours_rps / hello_rps
    report(
        "Slots",
        [
            ("slots returned (90 days, 300 bookings)", f"{slots}", "—"),
            ("zone offset pairs seen (viewer, host)", f"{len(offsets)}", "3 (two DST changes)"),
            ("GET slots p50", f"{p50:.2f} ms", "≤ 5 ms"),
            ("GET slots p99", f"{p99:.2f} ms", "—"),
            ("GET slots requests/s (median of rounds)", f"{ours_rps:.0f}", "—"),
            ("hello-world requests/s (median of rounds)", f"{hello_rps:.0f}", "reference"),
            ("ratio to hello-world", f"{ratio:.0%}", "≥ 40 %"),
            ("GET slots computed every time: p50", f"{computed.p50:.2f} ms", "—"),
            ("GET slots computed every time: requests/s", f"{computed.rps:.0f}", "—"),
            ("slot engine alone (in process)", f"{engine_ms:.2f} ms ({engine_slots} slots)", "—"),
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
