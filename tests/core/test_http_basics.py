"""What every response shares: security headers, problem+json errors, health, metrics, OpenAPI."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate as validate_openapi
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.config import Settings
from server.core.api import Routes, endpoint_of
from server.core.errors import PROBLEM_JSON
from server.core.openapi import build_document
from tests.factories import PASSWORD
from tests.services import start_redis, unavailable

Client = TestClient[Any, Any]
STATIC = Path(__file__).resolve().parents[2] / "static"
ALLOWED_SOURCES = {"'self'", "'none'", "data:", "blob:"}


@pytest.fixture
async def sqlite_client(
    make_settings: Callable[..., Settings], sqlite_url: str, aiohttp_client: Callable[..., Any]
) -> Client:
    """For checks that do not depend on the database engine."""
    client: Client = await aiohttp_client(create_app(make_settings(sqlite_url)))
    return client


def assert_security_headers(resp: Any) -> None:
    headers = resp.headers
    csp = {
        d.split()[0]: d.split()[1:]
        for d in (p.strip() for p in headers["Content-Security-Policy"].split(";"))
        if d
    }
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"], "no inline or foreign scripts"
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    for directive, sources in csp.items():
        foreign = set(sources) - ALLOWED_SOURCES
        assert not foreign, f"{directive} allows {foreign}"
    assert headers["Referrer-Policy"] in (
        "no-referrer",
        "same-origin",
        "strict-origin-when-cross-origin",
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    policy = dict(item.strip().split("=", 1) for item in headers["Permissions-Policy"].split(","))
    assert policy["camera"] == "(self)"
    assert policy["microphone"] == "(self)"
    assert policy.get("geolocation") == "()"


async def assert_problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status
    assert resp.content_type == PROBLEM_JSON
    text = await resp.text()
    assert "<html" not in text.lower()
    body: dict[str, Any] = await resp.json(content_type=None)
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    assert_security_headers(resp)
    return body


# --- security headers ------------------------------------------------------------------------


async def test_security_headers_on_api_responses(client: Client) -> None:
    for path in ("/healthz", "/api/openapi.json"):
        resp = await client.get(path)
        assert resp.status == 200
        assert_security_headers(resp)
    resp = await client.post(
        "/api/auth/signup",
        json={"email": "ada@example.org", "password": PASSWORD, "name": "Ada", "timezone": "UTC"},
    )
    assert resp.status == 201
    assert_security_headers(resp)


async def test_security_headers_on_static_files(sqlite_client: Client) -> None:
    assets = sorted(p for p in STATIC.rglob("*") if p.is_file() and p.suffix in (".js", ".css"))
    paths = ["/", "/index.html", "/account"] + [
        "/" + str(p.relative_to(STATIC)) for p in assets[:3]
    ]
    for path in paths:
        resp = await sqlite_client.get(path)
        assert resp.status == 200, path
        assert_security_headers(resp)
    js = await sqlite_client.get("/index.js")
    assert js.content_type in ("application/javascript", "text/javascript")


async def test_security_headers_on_errors(sqlite_client: Client) -> None:
    for resp in (
        await sqlite_client.get("/api/me"),
        await sqlite_client.get("/api/no-such-thing"),
        await sqlite_client.get("/no-such-file.js"),
    ):
        assert resp.status in (401, 404)
        assert_security_headers(resp)


# --- errors are problem+json, never HTML -----------------------------------------------------


async def test_unknown_api_path_is_a_problem_even_for_a_browser(sqlite_client: Client) -> None:
    resp = await sqlite_client.get("/api/no-such-thing", headers={"Accept": "text/html"})
    await assert_problem(resp, 404)


async def test_missing_static_file_is_a_problem(sqlite_client: Client) -> None:
    await assert_problem(await sqlite_client.get("/components/nothing/nothing.js"), 404)


async def test_static_files_never_escape_the_static_folder(sqlite_client: Client) -> None:
    for path in ("/..%2Fpyproject.toml", "/%2e%2e/%2e%2e/etc/passwd", "/lib/../../README.md"):
        resp = await sqlite_client.get(path)
        text = await resp.text()
        assert "[project]" not in text and "root:" not in text and "# Meridian" not in text


async def test_wrong_method_is_a_problem_naming_the_allowed_ones(sqlite_client: Client) -> None:
    resp = await sqlite_client.post("/healthz")
    await assert_problem(resp, 405)
    assert "GET" in resp.headers["Allow"]
    resp = await sqlite_client.delete("/api/auth/login")
    await assert_problem(resp, 405)
    assert "POST" in resp.headers["Allow"]


async def test_oversized_body_is_a_413_problem(sqlite_client: Client) -> None:
    body = b'{"email": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    resp = await sqlite_client.post(
        "/api/auth/signup", data=body, headers={"Content-Type": "application/json"}
    )
    problem = await assert_problem(resp, 413)
    assert "KiB" in problem["detail"]


async def test_an_unexpected_failure_is_a_500_problem_without_details(
    make_settings: Callable[..., Settings], sqlite_url: str, aiohttp_client: Callable[..., Any]
) -> None:
    app = create_app(make_settings(sqlite_url))

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret internal state")

    app.router.add_post("/api/broken", broken)
    client: Client = await aiohttp_client(app)
    resp = await client.post("/api/broken")
    problem = await assert_problem(resp, 500)
    assert "secret internal state" not in str(problem)


# --- health ----------------------------------------------------------------------------------


async def test_healthz_answers_without_touching_anything(client: Client) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ok"


async def test_readyz_checks_the_database(client: Client) -> None:
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.redis
async def test_readyz_checks_redis_when_configured(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    redis_url: str,
    aiohttp_client: Callable[..., Any],
) -> None:
    client: Client = await aiohttp_client(
        create_app(make_settings(sqlite_url, redis_url=redis_url))
    )
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.redis
async def test_readyz_is_a_503_problem_once_redis_stops(
    make_settings: Callable[..., Settings], sqlite_url: str, aiohttp_client: Callable[..., Any]
) -> None:
    server = start_redis()
    if isinstance(server, str):
        unavailable(server)
        return
    try:
        client: Client = await aiohttp_client(
            create_app(make_settings(sqlite_url, redis_url=server.url))
        )
        assert (await client.get("/readyz")).status == 200
    finally:
        server.stop()
    resp = await client.get("/readyz")
    problem = await assert_problem(resp, 503)
    assert problem["checks"] == {"database": "ok", "redis": "failing"}
    assert "redis" in problem["detail"]
    assert (await client.get("/healthz")).status == 200, "liveness does not depend on Redis"


# --- metrics ---------------------------------------------------------------------------------


async def test_metrics_expose_request_latency_histograms(sqlite_client: Client) -> None:
    for _ in range(3):
        assert (await sqlite_client.get("/healthz")).status == 200
    assert (await sqlite_client.get("/api/me")).status == 401
    resp = await sqlite_client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(await resp.text())}
    latency = families["meridian_http_request_duration_seconds"]
    assert latency.type == "histogram"
    counts = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in latency.samples
        if s.name.endswith("_count")
    }
    assert counts[("GET", "/healthz", "200")] == 3
    assert counts[("GET", "/api/me", "401")] == 1
    buckets = [s for s in latency.samples if s.name.endswith("_bucket")]
    assert {s.labels["le"] for s in buckets} >= {"0.005", "0.1", "+Inf"}
    assert "meridian_websocket_connections" in families


# --- OpenAPI ---------------------------------------------------------------------------------


def openapi_path(canonical: str) -> str:
    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", r"{\1}", canonical)


def registered_operations(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers, except the static catch-all.

    aiohttp adds a HEAD route beside each ``add_get``; those are skipped, but a HEAD that
    a feature declares itself (tus does) counts like any other method.
    """
    operations = set()
    for route in app.router.routes():
        if route.name == "static":
            continue
        declared = endpoint_of(route.handler)
        if route.method == "HEAD" and (declared is None or declared.method != "HEAD"):
            continue
        resource = route.resource
        assert resource is not None
        operations.add((route.method.lower(), openapi_path(resource.canonical)))
    return operations


async def test_openapi_document_is_valid_openapi_3_1(sqlite_client: Client) -> None:
    resp = await sqlite_client.get("/api/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1.")
    validate_openapi(doc)  # raises with the offending part when the document is malformed
    operation_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


async def test_openapi_covers_every_route_the_app_serves(sqlite_client: Client) -> None:
    doc = await (await sqlite_client.get("/api/openapi.json")).json()
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    served = registered_operations(sqlite_client.app)  # type: ignore[arg-type]
    undeclared = sorted(served - documented)
    assert not undeclared, (
        f"routes without a Routes.route declaration (so missing from OpenAPI): {undeclared}"
    )
    assert documented <= served, f"documented but not served: {sorted(documented - served)}"
    for method, path in [("get", "/healthz"), ("get", "/readyz"), ("post", "/api/auth/login")]:
        assert method in doc["paths"][path]


def test_openapi_paths_drop_parameter_patterns_even_with_braces_inside() -> None:
    app = web.Application()
    table = Routes("things")

    @table.route("GET", "/api/things/{code:[a-z]{3}}.txt", summary="A thing", auth=False)
    async def thing(request: web.Request) -> web.Response:
        return web.Response()

    table.install(app)
    doc = build_document(app, title="t", version="1")
    assert list(doc["paths"]) == ["/api/things/{code}.txt"]
    params = doc["paths"]["/api/things/{code}.txt"]["get"]["parameters"]
    assert [p["name"] for p in params] == ["code"]
    validate_openapi(doc)


async def test_openapi_documents_request_bodies_from_the_wire_models(
    sqlite_client: Client,
) -> None:
    doc = await (await sqlite_client.get("/api/openapi.json")).json()
    signup = doc["paths"]["/api/auth/signup"]["post"]
    ref = signup["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"email", "password", "name", "timezone"} <= set(schema["properties"])


# --- cookies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [("https://meridian.example.org", True), ("http://127.0.0.1:8080", False)],
)
async def test_session_cookie_is_secure_exactly_when_public_url_is_https(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    aiohttp_client: Callable[..., Any],
    public_url: str,
    secure: bool,
) -> None:
    client: Client = await aiohttp_client(
        create_app(make_settings(sqlite_url, public_url=public_url))
    )
    resp = await client.post(
        "/api/auth/signup",
        json={"email": "ada@example.org", "password": PASSWORD, "name": "Ada", "timezone": "UTC"},
    )
    assert resp.status == 201
    cookie = resp.headers["Set-Cookie"]
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert ("secure" in attributes) is secure
    assert {"httponly", "samesite"} <= attributes
