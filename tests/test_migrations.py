"""The Alembic chain builds exactly the schema of the models, and unwinds cleanly.

Runs on SQLite and on PostgreSQL, each on a database that starts empty.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from server.db import tables
from server.db.migrate import alembic_config, upgrade
from server.db.tables import metadata
from tests.services import PostgresServer


@pytest.fixture
def empty_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"m_{uuid.uuid4().hex[:16]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(postgres_server.admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name}"))
    yield postgres_server.url(name)
    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with nothing in it yet, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    url: str = request.getfixturevalue("empty_postgres_url")
    return url


def inspect_database(url: str, look: Any) -> Any:
    """Run ``look(connection)`` on a sync connection to the database at ``url``."""

    async def go() -> Any:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def schema_differences(url: str) -> list[Any]:
    def compare(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False}
        )
        return list(compare_metadata(context, metadata))

    result: list[Any] = inspect_database(url, compare)
    return result


def table_names(url: str) -> set[str]:
    return set(inspect_database(url, lambda conn: inspect(conn).get_table_names()))


def postgres_enum_types(url: str) -> set[str]:
    def enums(conn: Connection) -> set[str]:
        rows = conn.execute(
            text(
                "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = 'public' AND t.typtype = 'e'"
            )
        )
        return {r[0] for r in rows}

    return set(inspect_database(url, enums))


def current_revisions(url: str) -> set[str]:
    def current(conn: Connection) -> set[str]:
        return set(MigrationContext.configure(conn).get_current_heads())

    return set(inspect_database(url, current))


def heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://")).get_heads())


def test_migrated_schema_matches_the_models(empty_url: str) -> None:
    upgrade(empty_url)
    assert current_revisions(empty_url) == heads()
    assert table_names(empty_url) == set(metadata.tables) | {"alembic_version"}
    differences = schema_differences(empty_url)
    assert differences == [], "migrations and models disagree; write the missing revision"


def test_downgrade_to_base_then_upgrade_again(empty_url: str) -> None:
    upgrade(empty_url)
    command.downgrade(alembic_config(empty_url), "base")
    assert table_names(empty_url) <= {"alembic_version"}, "a downgrade left tables behind"
    assert current_revisions(empty_url) == set()
    if not empty_url.startswith("sqlite"):
        assert postgres_enum_types(empty_url) == set(), "a downgrade left enum types behind"

    upgrade(empty_url)
    assert current_revisions(empty_url) == heads()
    assert schema_differences(empty_url) == []


def test_tokens_from_before_expiry_get_an_expiry_date_not_a_sudden_end(empty_url: str) -> None:
    upgrade(empty_url, "0008")

    def seed(conn: Connection) -> None:
        conn.execute(
            text(
                "INSERT INTO users (id, email, password_hash, name, timezone, created_at) "
                "VALUES ('u1', 'ada@example.org', 'x', 'Ada', 'UTC', '2020-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) "
                "VALUES ('t1', 'u1', 'old script', 'h1', '2020-01-01 00:00:00')"
            )
        )
        conn.commit()

    inspect_database(empty_url, seed)
    upgrade(empty_url)

    def read(conn: Connection) -> Any:
        return conn.execute(
            text(
                "SELECT t.expires_at, u.email_verified_at "
                "FROM api_tokens t JOIN users u ON u.id = t.user_id"
            )
        ).one()

    expires_at, verified_at = inspect_database(empty_url, read)
    assert expires_at is not None and verified_at is None
    # 90 days from the upgrade, not from its creation (which would have ended it in 2020).
    assert str(expires_at) > "2020-04", "an old token gets its grace period from the upgrade"


def test_waiting_deliveries_move_into_the_outbox(empty_url: str) -> None:
    """0010: waiting reminders and notices, and every mailed invitation, become outbox rows."""
    upgrade(empty_url, "0009")

    def seed(conn: Connection) -> None:
        tables = MetaData()
        tables.reflect(conn)

        def add(table_name: str, **values: Any) -> None:
            """A row with ``values``, every other required column given a placeholder."""
            table = tables.tables[table_name]
            for column in table.columns:
                if column.name in values or column.nullable or column.server_default:
                    continue
                try:
                    kind = column.type.python_type
                except NotImplementedError:
                    kind = str
                values[column.name] = {
                    int: 0,
                    bool: False,
                    datetime: datetime(2026, 1, 1, tzinfo=UTC),
                    dict: {},
                    list: [],
                }.get(kind, "x")
            conn.execute(table.insert().values(**values))

        add("users", id="u1", email="ada@example.org", name="Ada", timezone="UTC")
        add("users", id="u2", email="bob@example.org", name="Bob", timezone="UTC")
        add("mentorships", id="m1", mentor_id="u1", mentee_id="u2", state="active")
        add(
            "bookings", id="b1", mentorship_id="m1", mentor_id="u1", mentee_id="u2", created_by="u2"
        )
        add("messages", id="g1", mentorship_id="m1", author_id="u2", kind="text")
        due = datetime(2026, 12, 1, 9, tzinfo=UTC)
        add("booking_reminders", id="r1", booking_id="b1", user_id="u1", kind="24h", due_at=due)
        add(
            "booking_reminders",
            id="r2",
            booking_id="b1",
            user_id="u2",
            kind="shift",
            due_at=due,
            data={"local": "13:00"},
        )
        add(
            "booking_reminders",
            id="r3",
            booking_id="b1",
            user_id="u2",
            kind="15m",
            due_at=due,
            sent_at=due,
        )
        add("message_notices", id="n1", message_id="g1", user_id="u1", due_at=due)
        add("message_notices", id="n2", message_id="g1", user_id="u2", due_at=due, delivered_at=due)
        add("calendar_invitations", subject_id="b1", sequence=2, user_id="u2", sent_at=due)
        conn.commit()

    inspect_database(empty_url, seed)
    upgrade(empty_url)

    def read(conn: Connection) -> Any:
        return conn.execute(
            text("SELECT dedupe_key, delivered_at IS NULL FROM outbox ORDER BY dedupe_key")
        ).all()

    rows = [(key, bool(waiting)) for key, waiting in inspect_database(empty_url, read)]
    assert rows == [
        ("booking.reminder:b1:u1:24h", True),
        ("booking.reminder:b1:u2:shift", True),
        ("calendar.invitation:b1:2:u2", False),
        ("thread.message:g1:u1", True),
    ]


def test_the_schema_loads_every_features_models() -> None:
    """A feature's models.py missing from server/db/tables.py would be invisible to Alembic."""
    server = Path(tables.__file__).resolve().parents[1]
    declared = {f"server.{p.parent.name}.models" for p in server.glob("*/models.py")}
    assert declared == {m.__name__ for m in tables.FEATURE_MODELS}
