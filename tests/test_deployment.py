"""docker-compose.yml, deploy/ and the Dockerfile describe the deployment the app expects.

Docker is not needed to run these: the files are parsed and checked against the app's
own settings, so a renamed setting, a lost volume or a missing WebSocket header fails
here instead of in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from server.config import ENV_VARS, Settings

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
