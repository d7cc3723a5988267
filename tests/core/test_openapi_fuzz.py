"""The whole HTTP API fuzzed from its own OpenAPI document with schemathesis.

Every operation of ``/api/openapi.json`` gets generated requests, schema-valid and not,
and every answer must pass all of schemathesis's checks: no server error, a declared
status, a declared content type, a body matching its schema, and the rest that apply.
It runs once anonymous and once with a bearer token, on SQLite and on PostgreSQL.

The app serves on a loopback port from a thread with its own event loop, because
schemathesis calls it synchronously. The document is built from the route declarations
when the module loads (operations become test parameters at collection) and checked to
be the one the running app serves. The run is bounded and repeatable: a fixed number of
examples per operation (``MERIDIAN_FUZZ_EXAMPLES``, see docs/DEVELOPING.md to run it
longer), a fixed seed, deterministic generation and no example database.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import schemathesis
from aiohttp import web
from aiosmtpd.controller import Controller
from hypothesis import settings
from schemathesis import Case

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.openapi import build_document
from tests.conftest import TEMPLATE_DB, TEST_SECRET
from tests.factories import PASSWORD
from tests.mail import SmtpSink
from tests.services import PostgresServer, free_port

EXAMPLES = int(os.environ.get("MERIDIAN_FUZZ_EXAMPLES", "5"))
# Any one generated request (and its checks' follow-ups) answers well within this.
DEADLINE = timedelta(seconds=10)
SEED = 20261125
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TITLE, VERSION = "Meridian API", "1"


def document() -> dict[str, Any]:
    """The OpenAPI document, from the route declarations of an app that never starts."""
    unused = Settings(
        environment="test", database_url="sqlite+aiosqlite:///unused.db", secret_key=TEST_SECRET
    )
    return build_document(create_app(unused), title=TITLE, version=VERSION)


# Operations no generated request may reach, and why.
NEVER = [
    # It fetches whatever address it is given, and the suite reaches nothing beyond
    # loopback; its input has its own tests in tests/ical.
    ("POST", "/api/me/busy-calendars"),
]
# Answered only once a signed-in client leaves: an event stream sends a comment and then
# a heartbeat every 20 s (strangers get their 401, so that run keeps it).
STREAMS = [("GET", "/api/notifications/events")]
# Words in the paths of operations that end or replace credentials.
_ENDING = re.compile(r"logout|password|reset|revoke|sessions", re.IGNORECASE)


def ends_a_credential(method: str, path: str) -> bool:
    """Whether an operation could end the run's own token (sign-out, deleting tokens,
    sessions or the account, changing the password): the run would go on as an
    anonymous one without saying so. The final check catches any that slip by."""
    method = method.upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    if method == "DELETE" and (
        path == "/api/me" or path.startswith(("/api/auth/", "/api/me/tokens"))
    ):
        return True
    return bool(_ENDING.search(path))


@dataclass(frozen=True)
class Live:
    base_url: str
    token: str


@contextmanager
def serving(app: web.Application) -> Iterator[str]:
    """``app`` on a loopback port, served from a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzzed-app", daemon=True)
    thread.start()
    runner = web.AppRunner(app, handle_signals=False)

    def run(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

    try:
        run(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        run(site.start())
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        run(runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def post_json(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as resp:  # loopback only
        return resp.headers, json.loads(resp.read())


def bearer_token(base_url: str) -> str:
    """Sign up through the API and make a token, as a script would."""
    headers, _ = post_json(
        f"{base_url}/api/auth/signup",
        {
            "email": "fuzz@example.org",
            "password": PASSWORD,
            "name": "Fuzz Tester",
            "timezone": "Europe/Berlin",
        },
    )
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    _, created = post_json(
        f"{base_url}/api/auth/tokens",
        {"name": "fuzzing"},
        headers={"Cookie": cookie, "Origin": base_url},
    )
    return str(created["token"])


def token_works(base_url: str, token: str) -> bool:
    request = urllib.request.Request(
        f"{base_url}/api/me", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return bool(resp.status == 200)
    except urllib.error.HTTPError:
        return False


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def fuzz_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for the whole module (one server takes every generated request)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("fuzz") / "meridian.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"fuzz_{uuid.uuid4().hex[:16]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server.admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
    try:
        yield server.url(name)
    finally:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="module")
def live(fuzz_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    files = tmp_path_factory.mktemp("fuzz-files")
    # Mail goes to a real SMTP server, so the operations that send links answer as they
    # do in a deployment rather than with "mail is not configured".
    mail = Controller(SmtpSink(), hostname="127.0.0.1", port=free_port())
    mail.start()
    settings = Settings(
        environment="test",
        database_url=fuzz_database,
        secret_key=TEST_SECRET,
        media_dir=files / "media",
        calendars_dir=files / "calendars",
        smtp_host="127.0.0.1",
        smtp_port=mail.port,
        smtp_starttls=False,
    )
    try:
        with serving(create_app(settings, clock=FrozenClock(NOW))) as base_url:
            yield Live(base_url, bearer_token(base_url))
    finally:
        mail.stop()


def _ends_the_runs_credential(ctx: Any) -> bool:
    return ends_a_credential(ctx.operation.method, ctx.operation.path)


# Schema-valid data may still be refused with 422 when it means nothing (an unknown time
# zone, an end before its start, a range too long): that is the documented answer, not
# a rejection of valid input. Schemathesis's default lists plus what this API answers.
ACCEPTS_VALID = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
# A body over MAX_BODY_BYTES is refused with 413 before it is read.
REJECTS_INVALID = [
    *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"),
    "5xx",
]
# tus fixes its own answers: 412 without Tus-Resumable, 400 for header combinations a
# schema cannot state (exactly one of Upload-Length and Upload-Defer-Length), 413 past
# UPLOAD_MAX_BYTES or the quota.
TUS = {
    "include-path-regex": "^/api/uploads/",
    "checks": {
        "positive_data_acceptance": {"expected-statuses": [*ACCEPTS_VALID, "400", "413"]},
        "negative_data_rejection": {"expected-statuses": [*REJECTS_INVALID, "412"]},
        "missing_required_header": {
            "expected-statuses": ["400", "401", "403", "406", "412", "415", "422"]
        },
    },
}


# Strings that break careless code, mixed into generated values: NULs (PostgreSQL cannot
# store them), a bidirectional override, a line break, brackets, an encoded NUL.
HOSTILE = ["\x00", "a\x00b", "\u202eevil", "line\r\nBreak: 1", "[[[{{{", "é", "%00", "."]


def string_inputs(doc: dict[str, Any]) -> set[str]:
    """Every string a client sends in a path, a query or a JSON body, as a dictionary
    binding key (``path.booking_id``, ``body.items[*].text``). Not headers: a line break
    or a NUL there is refused by the HTTP parser before the app, as plain text."""
    schemas = doc["components"]["schemas"]
    keys: set[str] = set()

    def walk(schema: Any, path: str, depth: int) -> None:
        if not isinstance(schema, dict) or depth > 6:
            return
        if "$ref" in schema:
            walk(schemas[schema["$ref"].rsplit("/", 1)[1]], path, depth + 1)
        for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
            walk(branch, path, depth + 1)
        if schema.get("type") == "string" and path:
            keys.add(f"body.{path}")
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{path}.{name}" if path else name, depth + 1)
        if "items" in schema and path:
            walk(schema["items"], f"{path}[*]", depth + 1)

    for operations in doc["paths"].values():
        for op in operations.values():
            for param in op.get("parameters", []):
                schema = param["schema"]
                branches = [schema, *schema.get("anyOf", [])]
                if param["in"] in ("path", "query") and any(
                    b.get("type") == "string" for b in branches
                ):
                    keys.add(f"{param['in']}.{param['name']}")
            for content in op.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema"), "", 0)
    return keys


def config(*, with_token: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "request-timeout": 10,
            "dictionaries": {"hostile": {"values": HOSTILE}},
            "parameters": {
                key: {"dictionary": "hostile", "probability": 0.2} for key in string_inputs(DOC)
            },
            "generation": {
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
                # Strangers send made-up cookies and tokens; the run with a token sends
                # only its own, so that a 2xx is known to come from a real credential.
                "with-security-parameters": not with_token,
            },
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ACCEPTS_VALID},
                "negative_data_rejection": {"expected-statuses": REJECTS_INVALID},
            },
            "operations": [TUS],
        }
    )


DOC = document()
# tus bodies are bytes, as application/octet-stream ones are.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
api = schemathesis.openapi.from_dict(DOC, config=config(with_token=False))
with_token = schemathesis.openapi.from_dict(DOC, config=config(with_token=True))
for _method, _path in NEVER:
    api = api.exclude(method=_method, path=_path)
    with_token = with_token.exclude(method=_method, path=_path)
with_token = with_token.exclude(_ends_the_runs_credential)
for _method, _path in STREAMS:
    with_token = with_token.exclude(method=_method, path=_path)


def test_the_fuzzed_document_is_the_served_one(live: Live) -> None:
    with urllib.request.urlopen(f"{live.base_url}/api/openapi.json", timeout=30) as resp:
        assert json.loads(resp.read()) == document()


@api.parametrize()
@settings(deadline=DEADLINE)
def test_every_operation_holds_to_its_document_for_strangers(case: Case, live: Live) -> None:
    case.call_and_validate(base_url=live.base_url)


@with_token.parametrize()
@settings(deadline=DEADLINE)
def test_every_operation_holds_to_its_document_with_a_token(case: Case, live: Live) -> None:
    case.call_and_validate(
        base_url=live.base_url, headers={"Authorization": f"Bearer {live.token}"}
    )


def test_the_run_kept_its_token(live: Live) -> None:
    """Runs after the fuzzing: had an operation ended the token, the authenticated run
    would have gone on as an anonymous one, and this says so."""
    assert token_works(live.base_url, live.token)


def test_the_token_guard_spares_only_what_could_end_the_credential() -> None:
    assert ends_a_credential("POST", "/api/auth/logout")
    assert ends_a_credential("DELETE", "/api/auth/tokens/{token_id}")
    assert ends_a_credential("DELETE", "/api/me")
    assert ends_a_credential("DELETE", "/api/me/tokens/{token_id}")
    assert ends_a_credential("POST", "/api/me/password")
    assert not ends_a_credential("POST", "/api/auth/tokens")
    assert not ends_a_credential("GET", "/api/auth/tokens")
    assert not ends_a_credential("PATCH", "/api/me")
    assert not ends_a_credential("DELETE", "/api/messages/{message_id}")
