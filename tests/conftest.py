"""Fixtures shared by every test: real databases, Redis, the app, and a browser."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.db.migrate import upgrade
from tests.clients import PageClient
from tests.mail import SmtpSink, smtp_server
from tests.services import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PostgresServer,
    RedisServer,
    start_postgres,
    start_redis,
    unavailable,
)

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEMPLATE_DB = "meridian_template"


# --- servers, once per run -------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    if isinstance(server, str):
        unavailable(server)
        raise AssertionError("unreachable")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    if isinstance(server, str):
        unavailable(server)
        raise AssertionError("unreachable")
    import asyncio

    async def create_template() -> None:
        conn = await asyncpg.connect(server.admin_dsn)
        try:
            await conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        finally:
            await conn.close()

    try:
        asyncio.run(create_template())
        upgrade(server.url(TEMPLATE_DB))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


# --- one clean database per test ----------------------------------------------------------


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "meridian.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(postgres_server.admin_dsn)
    try:
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    finally:
        await conn.close()
    yield postgres_server.url(name)
    conn = await asyncpg.connect(postgres_server.admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


# --- the app ----------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(database_url: str, **changes: Any) -> Settings:
        base = Settings(
            environment="test",
            database_url=database_url,
            secret_key=TEST_SECRET,
            media_dir=tmp_path / "media",
            calendars_dir=tmp_path / "calendars",
        )
        return base.replace(**changes)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> web.Application:
    return create_app(settings, clock=clock)


@pytest.fixture
def aiohttp_client_cls() -> type[TestClient[Any, Any]]:
    """Every client made with ``aiohttp_client`` sends its server's Origin (tests/clients.py)."""
    return PageClient


@pytest.fixture
async def client(
    app: web.Application, aiohttp_client: Callable[..., Any]
) -> TestClient[web.Request, web.Application]:
    test_client: TestClient[web.Request, web.Application] = await aiohttp_client(app)
    return test_client


@pytest.fixture
def another_client(
    client: TestClient[web.Request, web.Application], aiohttp_client: Callable[..., Any]
) -> Callable[[], Any]:
    """A second browser on the same server, with its own cookie jar."""

    async def make() -> TestClient[web.Request, web.Application]:
        server: TestServer = client.server  # type: ignore[assignment]
        other: TestClient[web.Request, web.Application] = await aiohttp_client(server)
        return other

    return make


# --- mail ----------------------------------------------------------------------------------


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    """A real SMTP server on loopback for this test (tests/mail.py)."""
    async with smtp_server() as sink:
        yield sink


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - a single stat at fixture setup
        unavailable(
            "Chromium is not installed: run `make test` as root or `apt-get install chromium`"
        )
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def live_server(app: web.Application, aiohttp_server: Callable[..., Any]) -> str:
    """The app on a real loopback port; returns its base URL without a trailing slash."""
    server: TestServer = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")
