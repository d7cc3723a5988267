"""Run Alembic migrations from code, for ``python -m server migrate`` and for ``serve``."""

from __future__ import annotations

import asyncio
import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``; blocking, so call it outside the event loop.

    Several processes may start at once on one database: on SQLite a file lock beside
    the database makes them take turns (PostgreSQL uses an advisory lock in env.py), so
    the first migrates and the others find the schema already current.
    """
    path = sqlite_path(database_url)
    if path is None:
        command.upgrade(alembic_config(database_url), revision)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            command.upgrade(alembic_config(database_url), revision)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def sqlite_path(database_url: str) -> Path | None:
    if not database_url.startswith("sqlite"):
        return None
    path = database_url.split("///", 1)[1] if "///" in database_url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, database_url, revision)
