"""`python -m server seed-demo` fills an empty database once and refuses a second time."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from server.mentorship.demo import DEMO_PASSWORD, PEOPLE


def run(database: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "MERIDIAN_ENV": "development",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "server", "seed-demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_seed_demo_runs_once_then_refuses(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    first = run(database)
    assert first.returncode == 0, first.stderr
    for person in PEOPLE:
        assert person.email in first.stdout
    assert DEMO_PASSWORD in first.stdout

    with sqlite3.connect(database) as conn:
        users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
        zones = {z for (z,) in conn.execute("SELECT timezone FROM users")}
        continents = {z.split("/")[0] for z in zones}
        states = conn.execute("SELECT state, agreed_version FROM mentorships").fetchall()
        hours = conn.execute("SELECT count(*) FROM profiles WHERE working_hours != '[]'").fetchone()
        items = conn.execute("SELECT count(*) FROM action_items").fetchone()[0]
    assert users == len(PEOPLE)
    assert {"Africa", "Asia", "America", "Europe", "Australia"} <= continents
    assert states == [("active", 1)]
    assert hours[0] == len(PEOPLE)
    assert items == 1

    second = run(database)
    assert second.returncode == 1
    assert "refused" in second.stderr and "already holds 9 account" in second.stderr
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == users
        assert conn.execute("SELECT count(*) FROM mentorships").fetchone()[0] == 1
