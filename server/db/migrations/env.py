"""Alembic environment: runs migrations on the async engine for SQLite and PostgreSQL.

It compares against every feature's tables (``server.db.tables`` imports each
feature's ``models.py``), so autogenerate sees the whole schema.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from server.db.tables import metadata

config = context.config
target_metadata = metadata


MIGRATION_LOCK = 7_302_446  # an arbitrary advisory-lock key for schema changes


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Processes starting together take turns; the later ones find nothing to do.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        migration = context.get_context()
        config.attributes["revision_before"] = ",".join(migration.get_current_heads())
        context.run_migrations()
        config.attributes["revision_after"] = ",".join(migration.get_current_heads())


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_async(config.attributes["database_url"]))


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
