"""Mentor discovery with many mentors: GET /api/mentors over 2,000 mentor profiles.

The candidate set is narrowed in SQL (role, capacity, a common language) and ranked in
the pure matching module, where overlap hours are computed on the real dates of the
coming week in both zones. Reference, in the same run: an aiohttp hello-world's
requests/s, and the pure ranking alone (in this process) for the same mentors.

Target (issue 3, "must stay fast with many mentors"): p50 ≤ 100 ms with 2,000 mentors.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, ROOT, hello_world, load, meridian, report

MENTORS = int(os.environ.get("BENCH_MENTORS", "2000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
ZONES = [
    "Europe/Berlin", "Europe/London", "Europe/Dublin", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "America/Sao_Paulo", "America/Mexico_City", "Africa/Lagos",
    "Africa/Nairobi", "Asia/Kolkata", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney",
    "Pacific/Auckland", "Asia/Kathmandu", "America/St_Johns",
]  # fmt: skip
TOPICS = ["python", "career", "leadership", "design", "rust", "machine learning", "product"]
LANGS = ["en", "es", "pt", "de", "fr", "ja", "hi"]


def seed(database: Path) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(database) as conn:
        for i in range(MENTORS):
            uid = f"mentor{i:05d}"
            zone = rng.choice(ZONES)
            topics = rng.sample(TOPICS, 3)
            langs = (
                ["en", *rng.sample(LANGS[1:], 1)] if rng.random() < 0.8 else rng.sample(LANGS, 2)
            )
            start = rng.choice(["07:00", "08:00", "09:00", "10:00"])
            hours = [{"weekday": d, "start": start, "end": "17:00"} for d in range(5)]
            conn.execute(
                "INSERT INTO users (id, email, password_hash, name, timezone, created_at)"
                " VALUES (?, ?, 'x', ?, ?, ?)",
                (uid, f"{uid}@bench.example", f"Mentor {i}", zone, now),
            )
            conn.execute(
                "INSERT INTO profiles (user_id, is_mentor, is_mentee, headline, bio, languages,"
                ' topics, goals, "values", style, cadence, working_hours, capacity, updated_at)'
                " VALUES (?, 1, 0, 'Mentor', '', ?, ?, '[]', ?, ?, ?, ?, ?, ?)",
                (
                    uid,
                    json.dumps(langs),
                    json.dumps(topics),
                    json.dumps(rng.sample(["craft", "candour", "curiosity"], 2)),
                    rng.choice(["live", "async", "mixed"]),
                    rng.choice(["weekly", "biweekly", "monthly"]),
                    json.dumps(hours),
                    rng.randint(1, 4),
                    now,
                ),
            )
            tags = {("topic", t) for t in topics} | {("language", lang) for lang in langs}
            conn.executemany(
                "INSERT INTO profile_tags VALUES (?, ?, ?)", [(uid, k, v) for k, v in tags]
            )


async def mentee_cookie(base: str) -> str:
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            base + "/api/auth/signup",
            json={
                "email": "bench@example.org",
                "password": "bench password 123",
                "name": "Bench Mentee",
                "timezone": "Europe/Berlin",
            },
        )
        assert resp.status == 201, await resp.text()
        cookie = resp.cookies["meridian_session"].value
        resp = await http.put(
            base + "/api/me/profile",
            headers={"Cookie": f"meridian_session={cookie}", "Origin": base},
            json={
                "roles": ["mentee"],
                "languages": ["en"],
                "topics": ["python", "career"],
                "working_hours": [
                    {"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)
                ],
            },
        )
        assert resp.status == 200, await resp.text()
        return cookie


def pure_ranking_ms(database: Path) -> float:
    """The ranking alone, for the same mentors, in this process (median of 5)."""
    from server.core import hours
    from server.mentorship import matching

    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            'SELECT u.id, u.timezone, p.languages, p.topics, p."values", p.style, p.cadence,'
            " p.working_hours, p.capacity FROM users u JOIN profiles p ON p.user_id = u.id"
            " WHERE p.is_mentor"
        ).fetchall()

    def person(uid: str, zone: str, langs: str, topics: str, values: str, style: str,
               cadence: str, wh: str) -> matching.Person:  # fmt: skip
        return matching.Person(
            uid, zone, tuple(json.loads(langs)), tuple(json.loads(topics)),
            tuple(json.loads(values)), style, cadence,
            hours.normalize(
                hours.WeeklyInterval(h["weekday"], hours.parse_clock(h["start"]),
                                     hours.parse_clock(h["end"]))
                for h in json.loads(wh)
            ),
        )  # fmt: skip

    mentors = [matching.Mentor(person(*r[:8]), r[8], 0) for r in rows]
    me = matching.Person(
        "me", "Europe/Berlin", ("en",), ("python", "career"),
        hours=tuple(hours.WeeklyInterval(d, 540, 1020) for d in range(5)),
    )  # fmt: skip
    times = []
    for i in range(5):
        hours.offset_segments.cache_clear()
        start = datetime(2026, 11, 25, 12, i, tzinfo=UTC)
        began = time.perf_counter()
        matching.rank(me, mentors, start, limit=20)
        times.append((time.perf_counter() - began) * 1000)
    return sorted(times)[2]


def prepare(database: Path) -> str:
    url = f"sqlite+aiosqlite:///{database}"
    subprocess.run(
        [PYTHON, "-m", "server", "migrate"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seed(database)
    return url


async def measure(url: str, pure: float) -> None:
    with hello_world() as hello_url:
        hello = await load(hello_url, requests=2000)
    with meridian({"DATABASE_URL": url}) as base:
        cookie = await mentee_cookie(base)
        headers = {"Cookie": f"meridian_session={cookie}"}
        await load(base + "/api/mentors?limit=20", requests=10, headers=headers)
        one = await load(
            base + "/api/mentors?limit=20", requests=REQUESTS, concurrency=1, headers=headers
        )
        busy = await load(
            base + "/api/mentors?limit=20", requests=REQUESTS, concurrency=4, headers=headers
        )
    report(
        "Mentor discovery",
        [
            (
                f"GET /api/mentors, {MENTORS} mentors, p50 (one at a time)",
                f"{one.p50:.1f} ms",
                "≤ 100 ms",
            ),
            ("GET /api/mentors p99 (one at a time)", f"{one.p99:.1f} ms", "—"),
            ("GET /api/mentors requests/s (4 in flight)", f"{busy.rps:.1f}", "—"),
            ("hello-world requests/s (reference)", f"{hello.rps:.0f}", "—"),
            (f"pure ranking of {MENTORS} mentors (reference)", f"{pure:.1f} ms", "—"),
        ],
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="meridian-bench-mentors-") as tmp:
        database = Path(tmp) / "mentors.db"
        url = prepare(database)
        pure = pure_ranking_ms(database)
        asyncio.run(measure(url, pure))


if __name__ == "__main__":
    main()
