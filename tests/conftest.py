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
from tests.dates import ANYDAY_NAMES, DEFAULT_NOW, anyday_nows
from tests.mail import SmtpSink, smtp_server
from tests.openapi_responses import Checker
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
CHECKER = pytest.StashKey[Checker]()


# --- the chosen "now" ---------------------------------------------------------------------


def _instant(text: str) -> datetime:
    found = datetime.fromisoformat(text)
    if found.tzinfo is None:
        raise ValueError("give the instant with its offset, e.g. 2031-06-01T12:00:00Z")
    return found.astimezone(UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--now",
        type=_instant,
        default=DEFAULT_NOW,
        help="the instant tests stand on unless they choose their own (default %(default)s)",
    )
    parser.addoption(
        "--anyday-year",
        type=int,
        default=DEFAULT_NOW.year,
        help="the year whose DST changes, year end and leap day `anyday` tests run at",
    )


@pytest.hookimpl(tryfirst=True)  # before the fixtures' own parameters are applied
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.anyday` runs a test at every chosen now (or at the names given).

    The calendar is the question there, not the storage: on the database fixture the
    default now runs on SQLite and PostgreSQL, every other chosen now on SQLite.
    """
    marker = metafunc.definition.get_closest_marker("anyday")
    if marker is None or _stands_on_its_own(metafunc):
        return
    if "now" not in metafunc.fixturenames:
        raise pytest.UsageError(f"{metafunc.definition.nodeid} is anyday but uses no clock")
    unknown = set(marker.args) - set(ANYDAY_NAMES)
    if unknown:
        raise pytest.UsageError(f"unknown anyday names {sorted(unknown)}: use {ANYDAY_NAMES}")
    chosen = [
        c
        for c in anyday_nows(
            metafunc.config.getoption("anyday_year"), default=metafunc.config.getoption("now")
        )
        if not marker.args or c.name in marker.args
    ]
    if "database_url" not in metafunc.fixturenames:
        mark = pytest.mark.parametrize(
            "now", [c.instant for c in chosen], ids=[c.id for c in chosen], indirect=True
        )
    else:
        params = []
        for c in chosen:
            params.append(pytest.param(c.instant, "sqlite", id=f"sqlite-{c.id}"))
            if c.name == "default":
                postgres = pytest.mark.postgres
                params.append(
                    pytest.param(c.instant, "postgres", id=f"postgres-{c.id}", marks=postgres)
                )
        mark = pytest.mark.parametrize(("now", "database_url"), params, indirect=True)
    # As a mark, so the database fixture's own two parameters give way to these.
    metafunc.definition.add_marker(mark)


def _stands_on_its_own(metafunc: pytest.Metafunc) -> bool:
    """A test given its own `now` (`stands_on`) is not moved to other days."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if "now" in ([n.strip() for n in names.split(",")] if isinstance(names, str) else names):
            return True
    return False


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
def now(request: pytest.FixtureRequest) -> datetime:
    """The instant the test stands on: `--now` (DEFAULT_NOW), or each of the anyday set."""
    chosen: datetime = getattr(request, "param", request.config.getoption("now"))
    return chosen


@pytest.fixture
def clock(now: datetime) -> FrozenClock:
    """The app's clock, frozen at `now`; browsers opened with `open_page` share it."""
    return FrozenClock(now)


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


@pytest.fixture(scope="session")
def openapi_checker(request: pytest.FixtureRequest) -> Checker:
    """One checker for the run, so the summary can say how many responses it compared."""
    checker = Checker()
    request.config.stash[CHECKER] = checker
    return checker


@pytest.fixture(autouse=True)
def responses_match_the_document(openapi_checker: Checker) -> Iterator[None]:
    """A test fails if any response it received differs from the OpenAPI document."""
    openapi_checker.take()
    yield
    found = openapi_checker.take()
    assert not found, "responses the OpenAPI document does not describe:\n" + "\n".join(found)


@pytest.fixture
def aiohttp_client(
    aiohttp_client: Callable[..., Any], openapi_checker: Checker
) -> Callable[..., Any]:
    """pytest-aiohttp's, with every app it serves checked against its OpenAPI document."""

    async def make(target: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(target, web.Application):
            openapi_checker.watch(target)
        return await aiohttp_client(target, *args, **kwargs)

    return make


@pytest.fixture
def aiohttp_server(
    aiohttp_server: Callable[..., Any], openapi_checker: Checker
) -> Callable[..., Any]:
    """pytest-aiohttp's, with every app it serves checked against its OpenAPI document."""

    async def make(app: web.Application, *args: Any, **kwargs: Any) -> Any:
        openapi_checker.watch(app)
        return await aiohttp_server(app, *args, **kwargs)

    return make


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    checker = config.stash.get(CHECKER, None)
    if checker is not None:
        terminalreporter.write_line(
            f"OpenAPI: {checker.checked} responses checked against the document"
        )


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
