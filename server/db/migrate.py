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


def upgrade(database_url: str, revision: str = "head") -> tuple[str, str]:
    """Bring the schema to ``revision``; blocking, so call it outside the event loop.

    Returns the revision found and the revision left ("" for an empty database).

    Several processes may start at once on one database: on SQLite a file lock beside
    the database makes them take turns (PostgreSQL uses an advisory lock in env.py), so
    the first migrates and the others find the schema already current.
    """
    cfg = alembic_config(database_url)
    path = sqlite_path(database_url)
    if path is None:
        command.upgrade(cfg, revision)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{path}.migrate-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                command.upgrade(cfg, revision)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    return cfg.attributes.get("revision_before", ""), cfg.attributes.get("revision_after", "")


def sqlite_path(database_url: str) -> Path | None:
    if not database_url.startswith("sqlite"):
        return None
    path = database_url.split("///", 1)[1] if "///" in database_url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path)


async def upgrade_async(database_url: str, revision: str = "head") -> tuple[str, str]:
    return await asyncio.to_thread(upgrade, database_url, revision)
