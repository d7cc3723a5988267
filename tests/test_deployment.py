"""docker-compose.yml, deploy/ and the Dockerfile describe the deployment the app expects.

Docker is not needed to run these: the files are parsed and checked against the app's
own settings, so a renamed setting, a lost volume or a missing WebSocket header fails
here instead of in production. Where nginx is installed, deploy/nginx.conf also runs
for real in front of two `serve` processes sharing PostgreSQL and Redis, as compose
runs them.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest
import redis
import yaml

from server.config import ENV_VARS, Settings
from tests.factories import PASSWORD
from tests.services import PostgresServer, RedisServer, free_port, unavailable

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"

# Values a person would put in .env, for the variables compose requires (`${X:?...}`).
PLACEHOLDERS = {
    "PUBLIC_URL": "https://meridian.example.org",
    "SECRET_KEY": "0123456789abcdef0123456789abcdef0123456789abcdef",
    "POSTGRES_PASSWORD": "5f3b2c1d9e8a7b6c",
    "TURN_HOST": "turn.example.org",
    "TURN_SECRET": "a-long-random-turn-secret-0123456789",
}
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


# --- helpers ------------------------------------------------------------------------------


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${X}, ${X:-default} and ${X:?error} substitution, for the values given."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise AssertionError(f"compose would refuse to start: {name} is required ({arg})")
        return ""

    return _VARIABLE.sub(one, value).replace("$$", "$")


def required_variables(text: str) -> set[str]:
    return {m["name"] for m in _VARIABLE.finditer(text) if m["op"] in (":?", "?")}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else [str(c) for c in command]


def app_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services that run the web server."""
    return {
        name: s
        for name, s in services.items()
        if command_of(s)[:4] == ["python", "-m", "server", "serve"]
    }


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def resolved_environment(service: dict[str, Any]) -> dict[str, str]:
    return {k: interpolate(v, PLACEHOLDERS) for k, v in environment(service).items()}


def settings_of(service: dict[str, Any]) -> Settings:
    return Settings.from_env(resolved_environment(service))


def volume_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → source (a named volume or a host path) for each short-form mount."""
    mounts = {}
    for entry in service.get("volumes", []):
        source, target = str(entry).split(":")[:2]
        mounts[target] = source
    return mounts


def volume_holding(service: dict[str, Any], path: Path) -> str | None:
    for target, source in volume_mounts(service).items():
        if path == Path(target) or Path(target) in path.parents:
            return source
    return None


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] = field(default_factory=list)

    def find(self, name: str) -> Iterator[Directive]:
        for d in self.block:
            if d.name == name:
                yield d

    def value(self, name: str) -> list[str] | None:
        return next((d.args for d in self.find(name)), None)

    def headers(self) -> dict[str, str]:
        return {d.args[0].lower(): " ".join(d.args[1:]) for d in self.find("proxy_set_header")}


def parse_nginx(text: str) -> Directive:
    """Enough of nginx's grammar for its configuration files: directives and blocks."""
    tokens = re.findall(r"'[^']*'|\"[^\"]*\"|[{};]|[^\s{};]+", re.sub(r"#[^\n]*", "", text))
    root = Directive("main", [])
    stack = [root]
    words: list[str] = []
    for token in tokens:
        if token in (";", "{"):
            directive = Directive(words[0], [w.strip("'\"") for w in words[1:]])
            stack[-1].block.append(directive)
            if token == "{":
                stack.append(directive)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        else:
            words.append(token)
    assert len(stack) == 1 and not words, "unbalanced braces in nginx.conf"
    return root


@pytest.fixture(scope="module")
def nginx(services: dict[str, dict[str, Any]]) -> Directive:
    mounts = volume_mounts(services["nginx"])
    source = mounts.get("/etc/nginx/nginx.conf") or mounts.get("/etc/nginx/conf.d/default.conf")
    assert source, "nginx must mount Meridian's nginx.conf"
    return parse_nginx((ROOT / source).read_text())


def http_block(nginx: Directive) -> Directive:
    return next(nginx.find("http"))


def location(nginx: Directive, path: str) -> Directive:
    server = next(http_block(nginx).find("server"))
    for loc in server.find("location"):
        if loc.args[-1] == path:
            return loc
    raise AssertionError(f"nginx.conf has no location {path}")


# --- services ------------------------------------------------------------------------------


def test_every_service_of_the_scaled_deployment_is_there(
    services: dict[str, dict[str, Any]],
) -> None:
    assert {"migrate", "nginx", "postgres", "redis", "coturn"} <= set(services)
    apps = app_services(services)
    replicas = sum(int(s.get("deploy", {}).get("replicas", 1)) for s in apps.values())
    assert replicas == 2, f"two app replicas expected, found {sorted(apps)}"
    assert all(s.get("build") for s in apps.values()), "apps are built from the Dockerfile"
    assert all("0.0.0.0" in command_of(s) for s in apps.values()), "apps listen beyond loopback"


def test_app_environment_uses_only_real_settings(services: dict[str, dict[str, Any]]) -> None:
    for name in ["migrate", *app_services(services)]:
        unknown = set(environment(services[name])) - set(ENV_VARS)
        assert not unknown, f"{name} sets variables Meridian does not read: {sorted(unknown)}"


def test_apps_and_migrate_share_one_configuration(services: dict[str, dict[str, Any]]) -> None:
    apps = app_services(services)
    envs = [environment(services[n]) for n in ["migrate", *apps]]
    assert all(env == envs[0] for env in envs), "migrate and the apps must see the same settings"


def test_compose_environment_passes_the_apps_own_validation(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ["migrate", *app_services(services)]:
        settings = settings_of(services[name])
        assert settings.environment == "production"
        assert not settings.is_sqlite
        assert settings.redis_url is not None
        assert settings.secure_cookies, "the example PUBLIC_URL is https"
        assert settings.trust_proxy_headers, "behind nginx the client address is forwarded"
        assert settings.turn_urls and settings.turn_secret


def test_production_secrets_are_required_not_defaulted(
    services: dict[str, dict[str, Any]],
) -> None:
    env = environment(services["app1"])
    for name in ("SECRET_KEY", "PUBLIC_URL", "TURN_SECRET"):
        assert name in required_variables(env[name]), f"{name} must be ${{{name}:?...}}"
    assert "POSTGRES_PASSWORD" in required_variables(env["DATABASE_URL"])
    with pytest.raises(AssertionError, match="SECRET_KEY is required"):
        interpolate(env["SECRET_KEY"], {})


def test_database_url_points_at_the_postgres_service(services: dict[str, dict[str, Any]]) -> None:
    pg = resolved_environment(services["postgres"])
    for name in ["migrate", *app_services(services)]:
        url = urlsplit(resolved_environment(services[name])["DATABASE_URL"])
        assert url.scheme == "postgresql+asyncpg"
        assert url.hostname == "postgres"
        assert url.port in (None, 5432)
        assert url.username == pg["POSTGRES_USER"]
        assert url.password == pg["POSTGRES_PASSWORD"] == PLACEHOLDERS["POSTGRES_PASSWORD"]
        assert url.path == "/" + pg["POSTGRES_DB"]
    assert str(services["postgres"]["image"]).startswith("postgres:"), (
        "the stock image ships contrib (btree_gist for booking exclusion constraints)"
    )


def test_redis_url_points_at_the_redis_service(services: dict[str, dict[str, Any]]) -> None:
    for name in app_services(services):
        url = urlsplit(environment(services[name])["REDIS_URL"])
        assert url.scheme == "redis"
        assert url.hostname == "redis"
        assert url.port in (None, 6379)


def test_media_and_calendars_live_on_one_shared_named_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    holders = set()
    for name, service in app_services(services).items():
        settings = settings_of(service)
        media = volume_holding(service, settings.media_dir)
        calendars = volume_holding(service, settings.calendars_dir)
        assert media is not None, f"{name}: MEDIA_DIR {settings.media_dir} is on no volume"
        assert calendars == media, f"{name}: MEDIA_DIR and CALENDARS_DIR on different volumes"
        holders.add(media)
    assert len(holders) == 1, f"replicas must share one volume, found {holders}"
    assert holders <= set(compose["volumes"]), "the shared volume is a declared named volume"


def test_every_named_volume_is_declared(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for source in volume_mounts(service).values():
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing file {source}"
            else:
                assert source in declared, f"{name} mounts undeclared volume {source}"
    pg_data = volume_mounts(services["postgres"]).get("/var/lib/postgresql/data")
    assert pg_data in declared, "the database outlives its container on a named volume"


def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name == "migrate":
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name}: no healthcheck"
    for service in app_services(services).values():
        test = " ".join(service["healthcheck"]["test"])
        port = settings_of(service).port
        assert f"127.0.0.1:{port}/readyz" in test


def test_start_order_waits_for_health_and_for_migrations(
    services: dict[str, dict[str, Any]],
) -> None:
    migrate = services["migrate"]
    assert command_of(migrate) == ["python", "-m", "server", "migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart", "no") == "no"
    apps = app_services(services)
    for service in apps.values():
        deps = service["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
    nginx_deps = services["nginx"]["depends_on"]
    assert {n: nginx_deps[n]["condition"] for n in apps} == dict.fromkeys(apps, "service_healthy")


def test_only_nginx_and_coturn_face_the_network(services: dict[str, dict[str, Any]]) -> None:
    exposed = {n for n, s in services.items() if s.get("ports") or s.get("network_mode") == "host"}
    assert exposed == {"nginx", "coturn"}
    assert any(str(p).endswith(":80") for p in services["nginx"]["ports"])


# --- nginx -----------------------------------------------------------------------------------


def test_nginx_balances_across_both_replicas_on_the_apps_port(
    nginx: Directive, services: dict[str, dict[str, Any]]
) -> None:
    upstreams = {u.args[0]: u for u in http_block(nginx).find("upstream")}
    assert len(upstreams) == 1
    (name, upstream) = next(iter(upstreams.items()))
    targets = {d.args[0] for d in upstream.find("server")}
    apps = app_services(services)
    expected = {f"{s.get('hostname', n)}:{settings_of(s).port}" for n, s in apps.items()}
    assert targets == expected
    assert upstream.value("zone"), "without a shared zone each worker balances on its own"
    assert location(nginx, "/").value("proxy_pass") == [f"http://{name}"]


def test_nginx_upgrades_websockets(nginx: Directive) -> None:
    maps = {m.args[-1]: m for m in http_block(nginx).find("map")}
    upgrade_map = maps["$connection_upgrade"]
    assert upgrade_map.args[0] == "$http_upgrade"
    assert upgrade_map.value("default") == ["upgrade"]
    server = next(http_block(nginx).find("server"))
    headers = server.headers()
    assert headers["upgrade"] == "$http_upgrade"
    assert headers["connection"] == "$connection_upgrade"
    assert server.value("proxy_http_version") == ["1.1"]
    rooms = location(nginx, "/api/rooms/")
    assert rooms.value("proxy_pass") == location(nginx, "/").value("proxy_pass")
    assert rooms.headers() == {}, "a location's own proxy_set_header would drop the upgrade"
    timeout = (rooms.value("proxy_read_timeout") or ["60s"])[0]
    assert timeout.endswith("h") or int(timeout.rstrip("s")) >= 300


def test_nginx_streams_tus_uploads(nginx: Directive) -> None:
    uploads = location(nginx, "/api/uploads/")
    assert uploads.value("proxy_request_buffering") == ["off"]
    assert uploads.value("client_max_body_size") == ["0"], "the app enforces Tus-Max-Size"
    assert uploads.headers() == {}


def test_nginx_forwards_the_client_address_and_scheme(nginx: Directive) -> None:
    headers = next(http_block(nginx).find("server")).headers()
    # Replaced rather than appended to: the app trusts the first entry.
    assert headers["x-forwarded-for"] == "$remote_addr"
    assert headers["x-forwarded-proto"] in ("$scheme", "$forwarded_proto")
    assert headers["host"] == "$host"


def test_nginx_sends_hsts_for_a_year_with_subdomains(nginx: Directive) -> None:
    http_level = {h.args[0]: h.args[1:] for h in http_block(nginx).find("add_header")}
    assert http_level["Strict-Transport-Security"][1:] == ["always"]
    for server in http_block(nginx).find("server"):
        assert not list(server.find("add_header")), "a server's own add_header drops HSTS"


def test_nginx_never_logs_feed_tokens_or_query_strings(nginx: Directive) -> None:
    assert location(nginx, "/calendars/").value("access_log") == ["off"]
    formats = {f.args[0]: " ".join(f.args[1:]) for f in http_block(nginx).find("log_format")}
    used = (http_block(nginx).value("access_log") or ["", "combined"])[1]
    assert used in formats, "the default format logs $request, query string included"
    leaks = re.findall(
        r"\$(?:request(?![_a-z])|request_uri|args|query_string|arg_\w+)", formats[used]
    )
    assert not leaks, f"the access log would record query strings via {leaks}"


# --- coturn ----------------------------------------------------------------------------------


def test_coturn_checks_the_same_secret_the_apps_sign_with(
    services: dict[str, dict[str, Any]],
) -> None:
    coturn = services["coturn"]
    conf_source = volume_mounts(coturn)["/etc/coturn/turnserver.conf"]
    lines = [
        line.strip()
        for line in (ROOT / conf_source).read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "use-auth-secret" in lines
    assert "lt-cred-mech" not in lines
    options = dict(arg.removeprefix("--").split("=", 1) for arg in command_of(coturn) if "=" in arg)
    secret = options.get("static-auth-secret") or next(
        (line.split("=", 1)[1] for line in lines if line.startswith("static-auth-secret=")), None
    )
    assert secret is not None
    assert interpolate(secret, PLACEHOLDERS) == settings_of(services["app1"]).turn_secret
    for url in settings_of(services["app1"]).turn_urls:
        assert ":3478" in url
    assert any(line == "listening-port=3478" for line in lines)


# --- the image ----------------------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_image_with_the_browser_app() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the app does not run as root"
    assert any(re.match(r"COPY static/? \S*static", line) for line in lines)
    assert any(line.startswith("COPY server") for line in lines)
    assert lines[-1] == 'CMD ["python", "-m", "server", "serve", "--host", "0.0.0.0"]'


def test_dockerignore_keeps_what_the_image_needs() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".env", "var", "calendars"} <= ignored
    assert not {"server", "static", "pyproject.toml", "README.md"} & ignored


def test_readme_explains_every_variable_compose_requires() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying with docker-compose", 1)[1].split("\n## ", 1)[0]
    for name in required_variables(COMPOSE.read_text()):
        assert f"`{name}`" in section, f"README's deployment section does not explain {name}"
    example = (ROOT / "deploy" / "env.example").read_text()
    assert required_variables(COMPOSE.read_text()) <= set(re.findall(r"^(\w+)=", example, re.M))


# --- nginx.conf in a real nginx, in front of two real replicas ------------------------------------


@dataclass
class Stack:
    """deploy/nginx.conf in front of two `serve` processes, as compose runs them."""

    base: str
    replica_ports: list[int]
    access_log: Path


def nginx_for_test(conf: str, replicas: list[str], port: int, directory: Path) -> str:
    """The deployed nginx.conf, with compose's host names and ports swapped for loopback."""
    targets = iter(replicas)
    conf, swapped = re.subn(r"server app\w*:\d+", lambda _: f"server {next(targets)}", conf)
    assert swapped == len(replicas)
    conf = re.sub(r"^\s*listen \[::\][^;]*;\n", "", conf, flags=re.M)
    conf, listens = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", conf)
    assert listens == 1
    conf = conf.replace("access_log /dev/stdout", f"access_log {directory / 'access.log'}")
    conf = conf.replace("error_log /dev/stderr", f"error_log {directory / 'error.log'}")
    return f"pid {directory / 'nginx.pid'};\n" + conf


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, f"{process.args} exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        assert time.monotonic() < deadline, f"{url} did not answer within {timeout}s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def empty_postgres(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"d_{uuid.uuid4().hex[:16]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(postgres_server.admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name}"))
    yield postgres_server.url(name)
    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="module")
def stack(
    services: dict[str, dict[str, Any]], empty_postgres: str, redis_server: RedisServer
) -> Iterator[Stack]:
    """One stack for the module: starting it (migrate, two servers, nginx) takes seconds."""
    nginx_binary = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )
    if nginx_binary is None:
        unavailable(
            "nginx is not installed: run `make test` as root or `apt-get install nginx-light`"
        )
    # nginx's workers drop root and must reach their temp files: a world-readable prefix.
    directory = Path(tempfile.mkdtemp(prefix="meridian-nginx-"))
    directory.chmod(0o755)
    shared = directory / "data"
    ports = [free_port(), free_port()]
    nginx_port = free_port()
    base = f"http://127.0.0.1:{nginx_port}"
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(resolved_environment(services["app1"]))
    env.update(
        DATABASE_URL=empty_postgres,
        REDIS_URL=redis_server.url,
        PUBLIC_URL=base,
        MEDIA_DIR=str(shared / "media"),
        CALENDARS_DIR=str(shared / "calendars"),
        AUTH_RATE_LIMIT_IP="3/300",
    )
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()  # rate-limit windows left by earlier tests on this server
    processes: list[subprocess.Popen[bytes]] = []
    try:
        migrate = subprocess.run(
            [sys.executable, "-m", "server", "migrate"], env=env, capture_output=True, timeout=120
        )
        assert migrate.returncode == 0, migrate.stderr.decode()
        for port in ports:
            log = (directory / f"app-{port}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "server",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                    ],
                    env=env,
                    cwd=directory,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for port, process in zip(ports, processes, strict=True):
            wait_http(f"http://127.0.0.1:{port}/readyz", process)

        conf_text = nginx_for_test(
            (ROOT / "deploy" / "nginx.conf").read_text(),
            [f"127.0.0.1:{p}" for p in ports],
            nginx_port,
            directory,
        )
        conf = directory / "nginx.conf"
        conf.write_text(conf_text)
        command = [
            nginx_binary,
            "-p",
            str(directory),
            "-c",
            str(conf),
            "-e",
            str(directory / "error.log"),
        ]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"nginx -t refused deploy/nginx.conf: {check.stderr}"
        processes.append(
            subprocess.Popen(
                [*command, "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=(directory / "nginx.out").open("wb"),
            )
        )
        wait_http(base + "/healthz", processes[-1])
        yield Stack(base, ports, directory / "access.log")
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def access_log(stack: Stack, until: Callable[[list[str]], bool]) -> list[str]:
    """The access log's lines once `until` holds for them: nginx writes a line after its
    response (for a WebSocket, when it closes), so look again until it is there."""
    deadline = time.monotonic() + 30
    while True:
        lines = stack.access_log.read_text().splitlines()
        if until(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def raw_status(stack: Stack, request: bytes) -> int:
    """Send a hand-made request and return the status nginx answers with."""
    host, port = urlsplit(stack.base).hostname, urlsplit(stack.base).port
    assert host and port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1])


@pytest.mark.postgres
@pytest.mark.redis
def test_nginx_spreads_requests_over_both_replicas_that_share_sessions(stack: Stack) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    signup = urllib.request.Request(
        stack.base + "/api/auth/signup",
        data=json.dumps(
            {
                "email": "ada@example.org",
                "password": PASSWORD,
                "name": "Ada",
                "timezone": "Europe/Berlin",
            }
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    with opener.open(signup, timeout=10) as resp:
        assert resp.status == 201
    for _ in range(12):
        with opener.open(stack.base + "/api/me", timeout=10) as resp:
            assert json.load(resp)["user"]["email"] == "ada@example.org"
    lines = access_log(stack, lambda lines: sum(" /api/me " in line for line in lines) >= 12)
    served_by = {line.rsplit('"', 2)[-2] for line in lines if " /api/me " in line}
    assert served_by == {f"127.0.0.1:{p}" for p in stack.replica_ports}, (
        "both replicas answered the signed-in person, from the one shared database"
    )


@pytest.mark.postgres
@pytest.mark.redis
def test_nginx_replaces_a_forged_x_forwarded_for(stack: Stack) -> None:
    """With a forged address per attempt, the per-IP sign-in limit (3 here) still bites."""
    statuses = []
    for attempt in range(4):
        body = json.dumps({"email": f"nobody{attempt}@example.org", "password": "wrong-password"})
        request = urllib.request.Request(
            stack.base + "/api/auth/login",
            data=body.encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": f"10.9.8.{attempt}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                statuses.append(resp.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
    assert statuses == [401, 401, 401, 429]


@pytest.mark.postgres
@pytest.mark.redis
def test_nginx_streams_large_uploads_to_the_app_but_caps_other_bodies(stack: Stack) -> None:
    def patch(path: str) -> bytes:
        return (
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/offset+octet-stream\r\nTus-Resumable: 1.0.0\r\n"
            "Upload-Offset: 0\r\nContent-Length: 1000000000\r\n\r\n"
        ).encode()

    assert raw_status(stack, patch("/api/auth/signup")) == 413, "nginx caps ordinary bodies"
    upload_status = raw_status(stack, patch("/api/uploads/unknown-upload"))
    assert upload_status != 413, "a 1 GB tus PATCH must reach the app, which applies its limits"
    assert 400 <= upload_status < 500


@pytest.mark.postgres
@pytest.mark.redis
def test_nginx_sends_hsts_on_https_answers(stack: Stack) -> None:
    def hsts(headers: dict[str, str]) -> str | None:
        request = urllib.request.Request(stack.base + "/healthz", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as resp:
            value: str | None = resp.headers.get("Strict-Transport-Security")
            return value

    value = hsts({"X-Forwarded-Proto": "https"})
    assert value is not None, "behind a TLS-terminating proxy the answer carries HSTS"
    directives = {d.strip().split("=")[0].lower(): d.strip() for d in value.split(";")}
    assert int(directives["max-age"].split("=")[1]) >= 365 * 24 * 3600
    assert "includesubdomains" in directives
    assert hsts({}) is None, "plain http answers do not pretend to be https"


@pytest.mark.postgres
@pytest.mark.redis
def test_nginx_logs_no_tokens(stack: Stack) -> None:
    for path in ("/calendars/feed-token-abc123.ics", "/api/rooms/r1/ws?token=room-token-xyz789"):
        try:
            urllib.request.urlopen(stack.base + path, timeout=10).close()
        except urllib.error.HTTPError as exc:
            assert exc.code in (401, 404)
    lines = access_log(
        stack,
        lambda lines: (
            any("/calendars/" in line for line in lines)
            and any("/api/rooms/r1/ws" in line for line in lines)
        ),
    )
    text = "\n".join(lines)
    assert "/api/rooms/r1/ws" in text
    assert "room-token-xyz789" not in text and "feed-token-abc123" not in text


async def sign_up_through(session: aiohttp.ClientSession, base: str, name: str) -> str:
    resp = await session.post(
        base + "/api/auth/signup",
        json={
            "email": f"{name.lower()}@example.org",
            "password": PASSWORD,
            "name": name,
            "timezone": "Europe/Berlin",
        },
    )
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["user"]["id"])


@pytest.mark.postgres
@pytest.mark.redis
async def test_websockets_upgrade_through_nginx_and_events_cross_replicas(stack: Stack) -> None:
    """Two people's live thread sockets land on different replicas and still talk."""
    base = stack.base
    page = {"Origin": base}
    async with (
        # Pages of the site: their requests carry its Origin, as a browser's do.
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers=page) as mentor,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers=page) as mentee,
    ):
        mentor_id = await sign_up_through(mentor, base, "Grace")
        await sign_up_through(mentee, base, "Alan")
        resp = await mentor.put(base + "/api/me/profile", json={"roles": ["mentor"], "capacity": 3})
        assert resp.status == 200, await resp.text()
        resp = await mentee.post(
            base + "/api/mentorships", json={"mentor_id": mentor_id, "goals": ["Ship a compiler"]}
        )
        assert resp.status == 201, await resp.text()
        mentorship_id = (await resp.json())["id"]
        resp = await mentor.post(f"{base}/api/mentorships/{mentorship_id}/accept")
        assert resp.status == 200, await resp.text()

        url = f"{base}/api/mentorships/{mentorship_id}/thread/ws"
        async with mentor.ws_connect(url) as mentor_ws, mentee.ws_connect(url) as mentee_ws:
            for ws in (mentor_ws, mentee_ws):
                assert (await ws.receive_json(timeout=10))["type"] == "ready"
            await mentee_ws.send_str("ping")
            assert await mentee_ws.receive_str(timeout=10) == "pong"
            resp = await mentee.post(
                f"{base}/api/mentorships/{mentorship_id}/messages",
                json={"kind": "text", "body": "Hello from the other replica"},
            )
            assert resp.status == 201, await resp.text()
            event = await mentor_ws.receive_json(timeout=10)
            assert event["type"] == "message"
            assert event["message"]["body"] == "Hello from the other replica"

    lines = access_log(stack, lambda lines: sum("/thread/ws " in line for line in lines) >= 2)
    socket_lines = [line for line in lines if "/thread/ws " in line]
    assert len(socket_lines) == 2 and all('" 101 ' in line for line in socket_lines)
    replicas = {line.rsplit('"', 2)[-2] for line in socket_lines}
    assert replicas == {f"127.0.0.1:{p}" for p in stack.replica_ports}
