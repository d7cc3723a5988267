"""The database engine and its sessions.

``Database.read()`` opens a session for queries; ``Database.write()`` opens a
transaction that commits on success. On SQLite a write transaction starts with
``BEGIN IMMEDIATE`` so concurrent writers — threads or processes — are serialized by the
database itself rather than failing at commit time.

A database that is away (PostgreSQL stopped or restarting, a connection cut mid-query,
no connection free in the pool) raises ``DatabaseUnavailable``, a 503 with
``Retry-After``: failing to get a connection at all is always an outage, and a query
error counts as one when SQLAlchemy has found its connection dead. The pool checks each
connection before lending it (``pool_pre_ping``) and drops the dead ones, so service
comes back by itself once the database does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from server.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)
_IMMEDIATE = "meridian_immediate"


class DatabaseUnavailable(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("The database is not answering. Try again in a few seconds.")


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            ensure_sqlite_parent(url)
            self.engine: AsyncEngine = create_async_engine(
                url,
                echo=echo,
                connect_args={"timeout": 30},
            )
            _install_sqlite_hooks(self.engine)
        else:
            self.engine = create_async_engine(
                url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True
            )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with (
            self.connection() as conn,
            AsyncSession(bind=conn, expire_on_commit=False) as session,
        ):
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits when the block ends and rolls back if it raises."""
        async with self.connection() as conn:
            if self.is_sqlite:
                conn = await conn.execution_options(**{_IMMEDIATE: True})
            async with (
                AsyncSession(bind=conn, expire_on_commit=False) as session,
                session.begin(),
            ):
                yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection; ``DatabaseUnavailable`` when the database is away."""
        conn = self.engine.connect()
        try:
            await conn.start()
        except Exception as exc:
            log.warning("no database connection: %r", exc)
            raise DatabaseUnavailable() from exc
        try:
            yield conn
        except DBAPIError as exc:
            if exc.connection_invalidated:
                log.warning("the database connection was lost: %r", exc.orig)
                raise DatabaseUnavailable() from exc
            raise
        finally:
            await conn.close()

    async def ping(self) -> None:
        async with self.connection() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def ensure_sqlite_parent(url: str) -> None:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    """Take transaction control from pysqlite so BEGIN is ours to choose."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
