"""`python -m server serve|migrate` as real processes, the way people and compose run them."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from server.config import ENV_VARS
from server.db.migrate import alembic_config
from server.db.tables import metadata
from tests.services import free_port

START_TIMEOUT = 60.0


def clean_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The caller's environment without any Meridian setting, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db' / 'meridian.db'}",
            "MEDIA_DIR": str(tmp_path / "media"),
            "CALENDARS_DIR": str(tmp_path / "calendars"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(settings)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows}


def stamped_revisions(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://")).get_heads())


@pytest.mark.parametrize(
    ("command", "settings", "variable"),
    [
        (["serve"], {"PORT": "eighty"}, "PORT"),
        (["serve"], {"DATABASE_URL": "mysql://db/meridian"}, "DATABASE_URL"),
        (["serve"], {"MERIDIAN_ENV": "production"}, "SECRET_KEY"),
        (["serve"], {"TURN_URLS": "turn:turn.example.org"}, "TURN_SECRET"),
        (["serve", "--port", "70000"], {}, "--port"),
        (["migrate"], {"REDIS_URL": "http://cache"}, "REDIS_URL"),
    ],
)
def test_a_bad_setting_prints_one_line_and_exits_2(
    tmp_path: Path, command: list[str], settings: dict[str, str], variable: str
) -> None:
    result = run(command, clean_env(tmp_path, **settings), tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "db").exists(), "nothing is created when the settings are wrong"


def test_migrate_creates_the_schema_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "db" / "meridian.db"
    result = run(["migrate"], clean_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    (head,) = head_revisions()
    assert result.stdout == f"meridian: database schema upgraded from empty to {head}\n"
    assert set(metadata.tables) <= tables(path)
    assert stamped_revisions(path) == {head}

    again = run(["migrate"], clean_env(tmp_path), tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"meridian: database schema is up to date ({head})\n"
    assert stamped_revisions(path) == {head}


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


def test_serve_starts_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,  # nothing depends on the current directory
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"serve exited early: {process.communicate()[1]}"
            try:
                status, _, body = get(base + "/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, f"/healthz not up within {START_TIMEOUT}s"
                time.sleep(0.2)
        assert status == 200 and b'"ok"' in body

        status, content_type, page = get(base + "/")
        assert status == 200
        assert content_type.startswith("text/html")
        assert page == (Path(__file__).resolve().parent.parent / "static/index.html").read_bytes()

        status, _, _ = get(base + "/readyz")
        assert status == 200
        # serve upgraded the SQLite database itself
        assert set(metadata.tables) <= tables(tmp_path / "db" / "meridian.db")

        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "shutting down" in err
